//! Which origins a relying party accepts (§7.1 step 9, §7.2 step 12; §5.11 related origins).
//!
//! - **Exact** origins, compared as the serialised origin string (`https://login.example.com`).
//! - Optionally **subdomains** of a registrable host (`https://*.example.com`), https only.
//! - Optionally **any port** on an otherwise matching origin (development set-ups).
//! - **Android apps**: `android:apk-key-hash:<base64url SHA-256 of the APK signing cert>`,
//!   which [`android_apk_origin`] derives from the certificate fingerprint.
//!
//! [`related_origins_document`] writes the `/.well-known/webauthn` JSON that lets other
//! origins use this RP ID (L3 §5.11.1).

use aws_lc_rs::digest;

/// The prefix of Android APK origins.
pub const ANDROID_APK_PREFIX: &str = "android:apk-key-hash:";

/// Origins a relying party accepts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    /// Exact serialised origins (and Android APK origins).
    pub exact: Vec<String>,
    /// Also accept https subdomains of the hosts of the exact https origins.
    pub allow_subdomains: bool,
    /// Accept any port on a matching scheme and host.
    pub allow_any_port: bool,
}

/// A parsed `scheme://host[:port]` origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin<'a> {
    scheme: &'a str,
    host: String,
    port: Option<&'a str>,
}

fn parse(origin: &str) -> Option<Origin<'_>> {
    let (scheme, rest) = origin.split_once("://")?;
    if scheme.is_empty() || rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return None;
    }
    let (host, port) = if let Some(stripped) = rest.strip_prefix('[') {
        // IPv6 literal.
        let (h, after) = stripped.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (h, port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        }
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(Origin {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
    })
}

impl OriginPolicy {
    /// A policy accepting exactly these origins.
    pub fn exact<I: IntoIterator<Item = S>, S: Into<String>>(origins: I) -> Self {
        Self {
            exact: origins.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Whether `origin` (as found in client data) is accepted.
    pub fn allows(&self, origin: &str) -> bool {
        if self.exact.iter().any(|o| o == origin) {
            return true;
        }
        if !(self.allow_subdomains || self.allow_any_port) || origin.starts_with(ANDROID_APK_PREFIX)
        {
            return false;
        }
        let Some(found) = parse(origin) else {
            return false;
        };
        self.exact.iter().filter_map(|o| parse(o)).any(|allowed| {
            if allowed.scheme != found.scheme {
                return false;
            }
            let port_ok = self.allow_any_port || allowed.port == found.port;
            let host_ok = allowed.host == found.host
                || (self.allow_subdomains
                    && found.scheme == "https"
                    && found
                        .host
                        .strip_suffix(allowed.host.as_str())
                        .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')));
            port_ok && host_ok
        })
    }
}

/// The Android origin for an APK signed with a certificate whose SHA-256 fingerprint is
/// `cert_sha256` (32 bytes).
pub fn android_apk_origin(cert_sha256: &[u8; 32]) -> String {
    format!("{ANDROID_APK_PREFIX}{}", crate::b64::encode(cert_sha256))
}

/// The Android origin from a fingerprint as `keytool`/Play Console print it
/// (`AB:CD:...`, 32 hex bytes, colons optional).
pub fn android_apk_origin_from_hex(fingerprint: &str) -> Option<String> {
    let hex: String = fingerprint.chars().filter(|c| *c != ':').collect();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(android_apk_origin(&out))
}

/// The Android origin for an APK signing certificate given as DER.
pub fn android_apk_origin_from_cert(cert_der: &[u8]) -> String {
    let d = digest::digest(&digest::SHA256, cert_der);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    android_apk_origin(&out)
}

/// The related origins document served at `https://{rp id}/.well-known/webauthn`
/// (L3 §5.11.1): `{"origins": [...]}` with web origins only, in the order given.
pub fn related_origins_document(origins: &[String]) -> String {
    let web: Vec<&String> = origins
        .iter()
        .filter(|o| !o.starts_with(ANDROID_APK_PREFIX))
        .collect();
    serde_json::json!({ "origins": web }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_origins_only_by_default() {
        let p = OriginPolicy::exact(["https://example.com"]);
        assert!(p.allows("https://example.com"));
        assert!(!p.allows("https://example.com:8443"));
        assert!(!p.allows("https://login.example.com"));
        assert!(!p.allows("http://example.com"));
        assert!(!p.allows("https://evil-example.com"));
    }

    #[test]
    fn subdomains_when_enabled() {
        let p = OriginPolicy {
            allow_subdomains: true,
            ..OriginPolicy::exact(["https://example.com"])
        };
        assert!(p.allows("https://login.example.com"));
        assert!(p.allows("https://a.b.example.com"));
        assert!(!p.allows("https://evilexample.com"));
        assert!(!p.allows("https://.example.com"));
        assert!(!p.allows("http://login.example.com"));
        assert!(!p.allows("https://login.example.com:444"));
    }

    #[test]
    fn any_port_when_enabled() {
        let p = OriginPolicy {
            allow_any_port: true,
            ..OriginPolicy::exact(["http://localhost:8080"])
        };
        assert!(p.allows("http://localhost:3000"));
        assert!(p.allows("http://localhost"));
        assert!(!p.allows("https://localhost:3000"));
        assert!(!p.allows("http://localhost.evil:3000"));
    }

    #[test]
    fn android_origins() {
        let o = android_apk_origin_from_hex(
            "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1A:1B:1C:1D:1E:1F",
        )
        .unwrap();
        assert_eq!(
            o,
            "android:apk-key-hash:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        );
        let p = OriginPolicy {
            allow_subdomains: true,
            allow_any_port: true,
            ..OriginPolicy::exact([o.clone()])
        };
        assert!(p.allows(&o));
        assert!(!p.allows("android:apk-key-hash:other"));
        assert!(android_apk_origin_from_hex("zz").is_none());
    }

    #[test]
    fn related_origins_lists_web_origins() {
        let doc = related_origins_document(&[
            "https://example.com".into(),
            "https://example.co.uk".into(),
            "android:apk-key-hash:abc".into(),
        ]);
        assert_eq!(
            doc,
            r#"{"origins":["https://example.com","https://example.co.uk"]}"#
        );
    }
}
