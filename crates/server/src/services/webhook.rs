//! Outbound webhooks: the account-recovery notice (`recovery_used`) posted to the operator's
//! endpoint, signed, with a single-purpose token that cancels the recovery.
//!
//! ```text
//! POST <url>
//! Content-Type: application/json
//! Passkeyd-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>." + body)>
//! {"event": "recovery_used", "at": ..., "account": {...}, "cancel_url": ..., "cancel": {...}}
//! ```
//!
//! Delivery runs in the background (the recovery does not wait for it): up to
//! [`ATTEMPTS`] attempts, 5 seconds each, 1 and 4 seconds apart; a delivery that never
//! succeeds is logged and recorded in the audit trail (`webhook_failed`).

use super::audit::user_ref;
use crate::error::Error;
use crate::store::{AuditEvent, Store};
use aws_lc_rs::hmac;
use passkeyd_webauthn::b64;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Attempts per notice.
pub const ATTEMPTS: usize = 3;
/// Time allowed per attempt.
const TIMEOUT: Duration = Duration::from_secs(5);
/// Shortest secret accepted, in bytes.
const MIN_SECRET: usize = 32;

/// `[recovery_webhook]` in the configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookSection {
    /// Where to post: `https://...` (plain `http://` only to localhost).
    pub url: Option<String>,
    /// The HMAC key of the `Passkeyd-Signature` header, at least 32 characters.
    pub secret: Option<String>,
    /// PEM file of extra root certificates for the endpoint (a private CA); the system's roots
    /// are always trusted.
    pub ca_file: Option<std::path::PathBuf>,
}

/// A validated webhook target.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// Target URL.
    pub url: String,
    /// HMAC key.
    pub secret: Vec<u8>,
    /// Extra roots (PEM).
    pub ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl WebhookConfig {
    /// Validates `[recovery_webhook]`; `None` when no URL is set.
    pub fn from_section(s: &WebhookSection) -> Result<Option<Self>, String> {
        let Some(url) = s.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("recovery_webhook.url: not a URL (expected https://host/path)")?;
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let local = matches!(hostname, "localhost" | "127.0.0.1" | "[::1]");
        match scheme {
            "https" if !hostname.is_empty() => {}
            "http" if local => {}
            "http" => {
                return Err(
                    "recovery_webhook.url: https is required (plain http only to localhost)".into(),
                );
            }
            _ => return Err("recovery_webhook.url: not an https:// URL".into()),
        }
        let secret = s.secret.as_deref().unwrap_or_default();
        if secret.len() < MIN_SECRET {
            return Err(format!(
                "recovery_webhook.secret: at least {MIN_SECRET} characters (e.g. `openssl rand -base64 32`)"
            ));
        }
        if url.parse::<hyper::Uri>().is_err() {
            return Err("recovery_webhook.url: not a valid URL".into());
        }
        let ca_pem = match &s.ca_file {
            Some(p) => Some(
                std::fs::read(p)
                    .map_err(|e| format!("recovery_webhook.ca_file {}: {e}", p.display()))?,
            ),
            None => None,
        };
        Ok(Some(Self {
            url: url.to_owned(),
            secret: secret.as_bytes().to_vec(),
            ca_pem,
        }))
    }
}

/// The `Passkeyd-Signature` header value for `body` sent at `t`.
pub fn signature(secret: &[u8], t: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
    let mut ctx = hmac::Context::with_key(&key);
    ctx.update(t.to_string().as_bytes());
    ctx.update(b".");
    ctx.update(body);
    let tag = ctx.sign();
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Cancel tokens: `<link hash, base64url>.<HMAC of it under the server secret>`. They need no
/// storage; the recovery they name can be cancelled once.
#[derive(Clone)]
pub struct CancelTokens {
    key: hmac::Key,
}

impl std::fmt::Debug for CancelTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CancelTokens(..)")
    }
}

const CANCEL_LABEL: &[u8] = b"passkeyd recovery cancel\0";

impl CancelTokens {
    /// Keys derived from the server secret.
    pub fn new(secret: &[u8]) -> Self {
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// The token that cancels the recovery through the link with this hash.
    pub fn issue(&self, link_hash: &[u8; 32]) -> String {
        let mut msg = CANCEL_LABEL.to_vec();
        msg.extend_from_slice(link_hash);
        let tag = hmac::sign(&self.key, &msg);
        format!("{}.{}", b64::encode(link_hash), b64::encode(tag.as_ref()))
    }

    /// The link hash a token names, if its tag is right (compared in constant time).
    pub fn verify(&self, token: &str) -> Option<[u8; 32]> {
        let (hash, tag) = token.split_once('.')?;
        let hash: [u8; 32] = b64::decode(hash).ok()?.try_into().ok()?;
        let tag = b64::decode(tag).ok()?;
        let mut msg = CANCEL_LABEL.to_vec();
        msg.extend_from_slice(&hash);
        hmac::verify(&self.key, &msg, &tag).ok()?;
        Some(hash)
    }
}

/// The webhook sender.
pub struct Webhook {
    config: WebhookConfig,
    tls: tokio_rustls::TlsConnector,
    store: Arc<dyn Store>,
    delays: [Duration; ATTEMPTS - 1],
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// The roots an https endpoint is checked against: the system's, plus `extra_pem`.
fn roots(extra_pem: Option<&[u8]>) -> Result<rustls::RootCertStore, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    let (added, _ignored) = roots.add_parsable_certificates(native.certs);
    if let Some(pem) = extra_pem {
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("recovery_webhook.ca_file: {e}"))?;
        if certs.is_empty() {
            return Err("recovery_webhook.ca_file: no certificate in it".into());
        }
        for c in certs {
            roots
                .add(c)
                .map_err(|e| format!("recovery_webhook.ca_file: {e}"))?;
        }
    }
    if roots.is_empty() {
        tracing::warn!(
            system_roots = added,
            "webhook: no root certificates; https endpoints cannot be verified"
        );
    }
    Ok(roots)
}

impl Webhook {
    /// A sender for `config`.
    pub fn new(config: WebhookConfig, store: Arc<dyn Store>) -> Result<Self, Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Internal(format!("webhook TLS: {e}")))?
            .with_root_certificates(roots(config.ca_pem.as_deref()).map_err(Error::Internal)?)
            .with_no_client_auth();
        Ok(Self {
            config,
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            store,
            delays: [Duration::from_secs(1), Duration::from_secs(4)],
        })
    }

    /// Posts `payload` in the background. `subject` is the account the notice is about.
    pub fn notify(self: &Arc<Self>, subject: &[u8], payload: serde_json::Value) {
        let this = self.clone();
        let subject = user_ref(subject);
        tokio::spawn(async move {
            let event = payload["event"].as_str().unwrap_or("webhook").to_owned();
            let body = payload.to_string().into_bytes();
            let mut last_error = String::new();
            for attempt in 0..ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(this.delays[attempt - 1]).await;
                }
                let sent = tokio::time::timeout(TIMEOUT, this.post(&body))
                    .await
                    .unwrap_or_else(|_| Err(format!("no answer within {}s", TIMEOUT.as_secs())));
                match sent {
                    Ok(()) => {
                        tracing::info!(%event, attempt = attempt + 1, "webhook delivered");
                        return;
                    }
                    Err(e) => {
                        tracing::warn!(%event, attempt = attempt + 1, error = %e, "webhook attempt failed");
                        last_error = e;
                    }
                }
            }
            tracing::error!(%event, error = %last_error, "webhook not delivered");
            let mut e = AuditEvent::new("webhook_failed", "system", "failure");
            e.subject = Some(subject);
            e.details = serde_json::json!({
                "webhook_event": event,
                "attempts": ATTEMPTS,
                "error": last_error,
            })
            .to_string();
            if let Err(err) = this.store.append_audit(&e).await {
                tracing::error!(error = %err, "audit: cannot append webhook failure");
            }
        });
    }

    /// One HTTP/1.1 POST; any 2xx answer is a delivery. Redirects are not followed.
    async fn post(&self, body: &[u8]) -> Result<(), String> {
        use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HOST, USER_AGENT};
        let uri: hyper::Uri = self.config.url.parse().map_err(|e| format!("{e}"))?;
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().ok_or("no host")?;
        let bare = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = uri.authority().map_or(host, |a| a.as_str()).to_owned();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let t = super::now();
        let req = hyper::Request::post(path)
            .header(HOST, authority)
            .header(CONTENT_TYPE, "application/json")
            .header(CONTENT_LENGTH, body.len())
            .header(USER_AGENT, concat!("passkeyd/", env!("CARGO_PKG_VERSION")))
            .header(
                "Passkeyd-Signature",
                signature(&self.config.secret, t, body),
            )
            .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(
                body,
            )))
            .map_err(|e| format!("{e}"))?;
        let tcp = tokio::net::TcpStream::connect((bare.as_str(), port))
            .await
            .map_err(|e| format!("connect {bare}:{port}: {e}"))?;
        let status = if https {
            let name = rustls::pki_types::ServerName::try_from(bare.clone())
                .map_err(|e| format!("server name {bare}: {e}"))?;
            let tls = self
                .tls
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {bare}: {e}"))?;
            send(hyper_util::rt::TokioIo::new(tls), req).await?
        } else {
            send(hyper_util::rt::TokioIo::new(tcp), req).await?
        };
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("answered {status}"))
        }
    }
}

async fn send<I>(
    io: I,
    req: hyper::Request<http_body_util::Full<bytes::Bytes>>,
) -> Result<hyper::StatusCode, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(conn);
    let res = sender.send_request(req).await.map_err(|e| format!("{e}"));
    driver.abort();
    Ok(res?.status())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_secrets_are_checked() {
        let ok = |url: &str| {
            WebhookConfig::from_section(&WebhookSection {
                url: Some(url.into()),
                secret: Some("s".repeat(32)),
                ca_file: None,
            })
        };
        assert!(ok("https://hooks.example.com/passkeyd").unwrap().is_some());
        assert!(ok("http://127.0.0.1:9000/hook").unwrap().is_some());
        assert!(ok("http://localhost/hook").unwrap().is_some());
        for bad in [
            "http://hooks.example.com/",
            "ftp://x/",
            "hooks.example.com",
            "https://",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        let short = WebhookConfig::from_section(&WebhookSection {
            url: Some("https://hooks.example.com/".into()),
            secret: Some("short".into()),
            ca_file: None,
        });
        assert!(short.unwrap_err().contains("32"));
        assert_eq!(
            WebhookConfig::from_section(&WebhookSection::default()),
            Ok(None)
        );
    }

    #[test]
    fn signatures_follow_the_documented_form() {
        let s = signature(b"k", 1_800_000_000, b"{}");
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"k");
        let want = hmac::sign(&key, b"1800000000.{}");
        let hex: String = want.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(s, format!("t=1800000000,v1={hex}"));
    }

    #[test]
    fn cancel_tokens_verify_only_as_issued() {
        let tokens = CancelTokens::new(b"server secret");
        let hash = [9u8; 32];
        let t = tokens.issue(&hash);
        assert_eq!(tokens.verify(&t), Some(hash));
        assert_eq!(CancelTokens::new(b"other").verify(&t), None);
        let (h, tag) = t.split_once('.').unwrap();
        let other = b64::encode([8u8; 32]);
        assert_eq!(tokens.verify(&format!("{other}.{tag}")), None);
        assert_eq!(tokens.verify(&format!("{h}.")), None);
        assert_eq!(tokens.verify("garbage"), None);
        assert_eq!(tokens.verify(""), None);
    }
}
