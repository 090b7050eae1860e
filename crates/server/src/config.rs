//! Configuration: embedded defaults, a TOML file, a `PASSKEYD_*` environment overlay and
//! command-line flags, merged in that order (a later source wins) and validated into [`Config`].
//!
//! ```text
//!  defaults ◄── --config FILE (TOML, unknown keys refused) ◄── PASSKEYD_* ◄── flags
//!                                   │
//!                                   ▼
//!                       Config::resolve → validated Config
//! ```
//!
//! Every key, variable and flag is listed in `docs/configuration.md`; the annotated example is
//! `crates/server/passkeyd.example.toml`.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address `passkeyd serve` listens on by default.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The default relying-party id.
pub const DEFAULT_RP_ID: &str = "localhost";
/// The default relying-party name shown by authenticators.
pub const DEFAULT_RP_NAME: &str = "passkeyd";
/// The default data directory (relative to the working directory).
pub const DEFAULT_DATA_DIR: &str = "passkeyd-data";
/// Default idle timeout of a session: 30 minutes without a request ends it.
pub const DEFAULT_SESSION_IDLE_SECS: u64 = 30 * 60;
/// Default absolute lifetime of a session: 12 hours after sign-in, whatever the activity.
pub const DEFAULT_SESSION_ABSOLUTE_SECS: u64 = 12 * 60 * 60;

/// The TOML file (and, key for key, the environment overlay). Every key is optional; unknown
/// keys are an error so a typo does not silently fall back to a default.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `listen = "127.0.0.1:8080"`.
    pub listen: Option<String>,
    /// `rp_id = "example.com"`.
    pub rp_id: Option<String>,
    /// `rp_name = "Example"`.
    pub rp_name: Option<String>,
    /// `origins = ["https://example.com"]`.
    pub origins: Option<Vec<String>>,
    /// `data_dir = "/var/lib/passkeyd"`.
    pub data_dir: Option<PathBuf>,
    /// `signup_open = true`.
    pub signup_open: Option<bool>,
    /// `session_idle_timeout_secs = 1800`.
    pub session_idle_timeout_secs: Option<u64>,
    /// `session_absolute_timeout_secs = 43200`.
    pub session_absolute_timeout_secs: Option<u64>,
    /// `log_format = "compact"`, `"pretty"` or `"json"`.
    pub log_format: Option<String>,
    /// `log_level = "info"` (a `tracing` filter; `RUST_LOG` wins when set).
    pub log_level: Option<String>,
    /// `token_audiences = ["https://app.example.com"]`: the `aud` values `POST /api/token`
    /// may issue for and introspection accepts.
    pub token_audiences: Option<Vec<String>>,
    /// Request header naming the client's address when behind a proxy (e.g.
    /// `X-Forwarded-For`; its last entry is used). Unset: the peer address.
    pub client_ip_header: Option<String>,
    /// Audit checkpoint interval, in events (default 1000).
    pub audit_checkpoint_every: Option<u64>,
    /// Bearer token of the admin API (`/admin/api/...`); unset: the admin API is off. Prefer
    /// the environment (`PASSKEYD_ADMIN_TOKEN`) over the file.
    pub admin_token: Option<String>,
    /// `[store]`: where accounts, credentials and sessions live.
    pub store: Option<StoreSection>,
    /// `[ephemeral]`: where pending ceremonies live.
    pub ephemeral: Option<EphemeralSection>,
    /// `[continuous_auth]` (file; `PASSKEYD_CONTINUOUS_AUTH=off` turns it off).
    pub continuous_auth: Option<crate::services::behavior::ContinuousAuthSection>,
    /// `[rate_limits]` (file; `PASSKEYD_RATE_LIMITS=off` turns them off).
    pub rate_limits: Option<crate::services::limits::RateLimitSection>,
    /// `[policy]`: authenticator tiers, groups, step-up (file only).
    pub policy: Option<crate::services::policy::PolicySection>,
    /// `[attestation]`: roots attestation chains are checked against (file only).
    pub attestation: Option<AttestationSection>,
    /// `[recovery_webhook]`: where account recoveries are announced (file only).
    pub recovery_webhook: Option<crate::services::webhook::WebhookSection>,
}

/// `[attestation]` in the TOML file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AttestationSection {
    /// PEM files of root certificates: an attestation chaining to one of them is "attested"
    /// (what tiers with `attestation = "required"` need).
    pub roots: Option<Vec<PathBuf>>,
}

/// `[store]` in the TOML file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `postgres://...` for a shared PostgreSQL; unset for SQLite in the data directory.
    pub url: Option<String>,
    /// SQLite only: `"full"` (the default: every commit reaches the disk before the answer)
    /// or `"normal"` (no `fsync` per commit: a power cut or OS crash can undo the last
    /// commits; a passkeyd crash cannot).
    pub sqlite_sync: Option<String>,
}

/// `[ephemeral]` in the TOML file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EphemeralSection {
    /// `redis://...` for a shared Redis; unset for process memory.
    pub url: Option<String>,
    /// Prefix of every Redis key (several deployments can share one Redis).
    pub key_prefix: Option<String>,
}

impl FileConfig {
    /// Reads and parses a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("cannot read {}: {e}", path.display())))?;
        Self::from_toml(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(e.to_string()))
    }

    /// The `PASSKEYD_*` variables found through `get` (the process environment in production,
    /// a map in tests).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let parse_bool = |name: &str| -> Result<Option<bool>, ConfigError> {
            get(name)
                .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(ConfigError(format!(
                        "{name}: expected true or false, found {v:?}"
                    ))),
                })
                .transpose()
        };
        let parse_u64 = |name: &str| -> Result<Option<u64>, ConfigError> {
            get(name)
                .map(|v| {
                    v.trim()
                        .parse()
                        .map_err(|_| ConfigError(format!("{name}: expected seconds, found {v:?}")))
                })
                .transpose()
        };
        Ok(Self {
            listen: get("PASSKEYD_LISTEN"),
            rp_id: get("PASSKEYD_RP_ID"),
            rp_name: get("PASSKEYD_RP_NAME"),
            origins: get("PASSKEYD_ORIGINS").map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            data_dir: get("PASSKEYD_DATA_DIR").map(PathBuf::from),
            signup_open: parse_bool("PASSKEYD_SIGNUP_OPEN")?,
            session_idle_timeout_secs: parse_u64("PASSKEYD_SESSION_IDLE_TIMEOUT_SECS")?,
            session_absolute_timeout_secs: parse_u64("PASSKEYD_SESSION_ABSOLUTE_TIMEOUT_SECS")?,
            log_format: get("PASSKEYD_LOG_FORMAT"),
            log_level: get("PASSKEYD_LOG_LEVEL"),
            token_audiences: get("PASSKEYD_TOKEN_AUDIENCES").map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
            client_ip_header: get("PASSKEYD_CLIENT_IP_HEADER"),
            audit_checkpoint_every: parse_u64("PASSKEYD_AUDIT_CHECKPOINT_EVERY")?,
            admin_token: get("PASSKEYD_ADMIN_TOKEN"),
            store: match (get("PASSKEYD_STORE_URL"), get("PASSKEYD_STORE_SQLITE_SYNC")) {
                (None, None) => None,
                (url, sqlite_sync) => Some(StoreSection { url, sqlite_sync }),
            },
            ephemeral: match (
                get("PASSKEYD_EPHEMERAL_URL"),
                get("PASSKEYD_EPHEMERAL_KEY_PREFIX"),
            ) {
                (None, None) => None,
                (url, key_prefix) => Some(EphemeralSection { url, key_prefix }),
            },
            continuous_auth: parse_bool("PASSKEYD_CONTINUOUS_AUTH")?.map(|on| {
                crate::services::behavior::ContinuousAuthSection {
                    enabled: Some(on),
                    ..Default::default()
                }
            }),
            rate_limits: parse_bool("PASSKEYD_RATE_LIMITS")?.map(|on| {
                crate::services::limits::RateLimitSection {
                    enabled: Some(on),
                    ..Default::default()
                }
            }),
            policy: None,
            attestation: None,
            recovery_webhook: None,
        })
    }

    /// `self` with every key that `over` sets replaced by `over`'s value.
    pub fn overlay(self, over: FileConfig) -> Self {
        Self {
            listen: over.listen.or(self.listen),
            rp_id: over.rp_id.or(self.rp_id),
            rp_name: over.rp_name.or(self.rp_name),
            origins: over.origins.or(self.origins),
            data_dir: over.data_dir.or(self.data_dir),
            signup_open: over.signup_open.or(self.signup_open),
            session_idle_timeout_secs: over
                .session_idle_timeout_secs
                .or(self.session_idle_timeout_secs),
            session_absolute_timeout_secs: over
                .session_absolute_timeout_secs
                .or(self.session_absolute_timeout_secs),
            log_format: over.log_format.or(self.log_format),
            log_level: over.log_level.or(self.log_level),
            token_audiences: over.token_audiences.or(self.token_audiences),
            store: match (self.store, over.store) {
                (Some(base), Some(over)) => Some(StoreSection {
                    url: over.url.or(base.url),
                    sqlite_sync: over.sqlite_sync.or(base.sqlite_sync),
                }),
                (base, over) => over.or(base),
            },
            ephemeral: match (self.ephemeral, over.ephemeral) {
                (Some(base), Some(over)) => Some(EphemeralSection {
                    url: over.url.or(base.url),
                    key_prefix: over.key_prefix.or(base.key_prefix),
                }),
                (base, over) => over.or(base),
            },
            client_ip_header: over.client_ip_header.or(self.client_ip_header),
            audit_checkpoint_every: over.audit_checkpoint_every.or(self.audit_checkpoint_every),
            admin_token: over.admin_token.or(self.admin_token),
            continuous_auth: match (self.continuous_auth, over.continuous_auth) {
                (Some(base), Some(over)) => {
                    Some(crate::services::behavior::ContinuousAuthSection {
                        enabled: over.enabled.or(base.enabled),
                        enrol_samples: over.enrol_samples.or(base.enrol_samples),
                        min_digraphs: over.min_digraphs.or(base.min_digraphs),
                        trust: over.trust.or(base.trust),
                        mouse: over.mouse.or(base.mouse),
                        mouse_enrol_actions: over.mouse_enrol_actions.or(base.mouse_enrol_actions),
                        context_signals: over.context_signals.or(base.context_signals),
                        context: over.context.or(base.context),
                        geoip_csv: over.geoip_csv.or(base.geoip_csv),
                    })
                }
                (base, over) => over.or(base),
            },
            rate_limits: match (self.rate_limits, over.rate_limits) {
                (Some(base), Some(over)) => Some(crate::services::limits::RateLimitSection {
                    enabled: over.enabled.or(base.enabled),
                    per_address_burst: over.per_address_burst.or(base.per_address_burst),
                    per_address_per_second: over
                        .per_address_per_second
                        .or(base.per_address_per_second),
                    account_free_failures: over
                        .account_free_failures
                        .or(base.account_free_failures),
                    account_max_delay_secs: over
                        .account_max_delay_secs
                        .or(base.account_max_delay_secs),
                    registrations_per_address_per_hour: over
                        .registrations_per_address_per_hour
                        .or(base.registrations_per_address_per_hour),
                    registrations_per_minute: over
                        .registrations_per_minute
                        .or(base.registrations_per_minute),
                }),
                (base, over) => over.or(base),
            },
            policy: over.policy.or(self.policy),
            attestation: over.attestation.or(self.attestation),
            recovery_webhook: over.recovery_webhook.or(self.recovery_webhook),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One human-readable line per event.
    Compact,
    /// Several indented lines per event (development).
    Pretty,
    /// One JSON object per event.
    Json,
}

/// The validated runtime configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Socket address to listen on.
    pub listen: SocketAddr,
    /// Relying-party id (a registrable domain suffix of every origin's host).
    pub rp_id: String,
    /// Relying-party name shown by authenticators.
    pub rp_name: String,
    /// Origins accepted in client data (`scheme://host[:port]`).
    pub origins: Vec<String>,
    /// Directory for the database and the server secret.
    pub data_dir: PathBuf,
    /// Whether signed-out visitors may create accounts.
    pub signup_open: bool,
    /// A session ends after this long without a request.
    pub session_idle_timeout: Duration,
    /// A session ends this long after sign-in.
    pub session_absolute_timeout: Duration,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter (`tracing_subscriber::EnvFilter` syntax).
    pub log_level: String,
    /// Audiences tokens are issued for (default: the first origin).
    pub token_audiences: Vec<String>,
    /// Shared PostgreSQL (`postgres://...`); `None`: SQLite in the data directory.
    pub store_url: Option<String>,
    /// When SQLite commits reach the disk.
    pub sqlite_sync: crate::store::sqlite::SqliteSync,
    /// Shared Redis (`redis://...`); `None`: challenges in process memory.
    pub ephemeral_url: Option<String>,
    /// Prefix of every Redis key.
    pub ephemeral_key_prefix: String,
    /// Authenticator tiers and step-up limits.
    pub policy: crate::services::policy::Policy,
    /// Header naming the client address behind a proxy.
    pub client_ip_header: Option<String>,
    /// Abuse controls.
    pub rate_limits: crate::services::limits::RateLimits,
    /// Continuous authentication.
    pub continuous_auth: crate::services::behavior::ContinuousAuth,
    /// Audit checkpoint interval, in events.
    pub audit_checkpoint_every: i64,
    /// Bearer token of the admin API; `None`: off.
    pub admin_token: Option<String>,
    /// PEM files of attestation roots.
    pub attestation_roots: Vec<PathBuf>,
    /// Where account recoveries are announced, if anywhere.
    pub recovery_webhook: Option<crate::services::webhook::WebhookConfig>,
}

/// A configuration that cannot be used, with a sentence saying why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Validates merged settings, filling in defaults.
    ///
    /// Without `origins`, the RP id `localhost` gets `http://localhost:PORT` for the listening
    /// port (the zero-configuration development setup); any other RP id needs its origins.
    pub fn resolve(f: FileConfig) -> Result<Self, ConfigError> {
        let listen_text = f.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            ConfigError(format!(
                "listen: expected an address such as 127.0.0.1:8080, found {listen_text:?}"
            ))
        })?;
        let rp_id = f
            .rp_id
            .unwrap_or_else(|| DEFAULT_RP_ID.to_owned())
            .trim()
            .to_ascii_lowercase();
        if rp_id.is_empty() || rp_id.contains(['/', ':', ' ']) {
            return Err(ConfigError(format!(
                "rp_id: expected a domain such as example.com, found {rp_id:?}"
            )));
        }
        let rp_name = f.rp_name.unwrap_or_else(|| DEFAULT_RP_NAME.to_owned());
        let origins = match f.origins {
            Some(list) if !list.is_empty() => list,
            _ if rp_id == "localhost" => vec![format!("http://localhost:{}", listen.port())],
            _ => {
                return Err(ConfigError(format!(
                    "origins: rp_id {rp_id:?} needs at least one origin (e.g. --origin https://{rp_id})"
                )));
            }
        };
        let origins = origins
            .iter()
            .map(|o| validate_origin(o, &rp_id))
            .collect::<Result<Vec<_>, _>>()?;
        let idle = f
            .session_idle_timeout_secs
            .unwrap_or(DEFAULT_SESSION_IDLE_SECS);
        let absolute = f
            .session_absolute_timeout_secs
            .unwrap_or(DEFAULT_SESSION_ABSOLUTE_SECS);
        if idle == 0 || absolute == 0 {
            return Err(ConfigError(
                "session timeouts must be at least 1 second".into(),
            ));
        }
        let log_format = match f.log_format.as_deref().map(str::trim) {
            None | Some("compact") => LogFormat::Compact,
            Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError(format!(
                    "log_format: expected \"compact\", \"pretty\" or \"json\", found {other:?}"
                )));
            }
        };
        let token_audiences = match f.token_audiences {
            Some(list) if !list.is_empty() => list,
            _ => vec![origins[0].clone()],
        };
        let store = f.store.unwrap_or_default();
        let sqlite_sync = match store.sqlite_sync.as_deref().map(str::trim) {
            None | Some("full") => crate::store::sqlite::SqliteSync::Full,
            Some("normal") => crate::store::sqlite::SqliteSync::Normal,
            Some(other) => {
                return Err(ConfigError(format!(
                    "store sqlite_sync: expected \"full\" or \"normal\", found {other:?}"
                )));
            }
        };
        let store_url = store.url.filter(|u| !u.trim().is_empty());
        if let Some(url) = &store_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(ConfigError(format!(
                "store url: expected postgres://..., found {:?} (leave it unset for SQLite in the data directory)",
                scheme_of(url)
            )));
        }
        let (ephemeral_url, key_prefix) = match f.ephemeral {
            Some(e) => (e.url.filter(|u| !u.trim().is_empty()), e.key_prefix),
            None => (None, None),
        };
        if let Some(url) = &ephemeral_url
            && !url.starts_with("redis://")
        {
            return Err(ConfigError(format!(
                "ephemeral url: expected redis://..., found {:?} (leave it unset for process memory)",
                scheme_of(url)
            )));
        }
        let policy = crate::services::policy::Policy::from_section(&f.policy.unwrap_or_default())
            .map_err(ConfigError)?;
        let audit_checkpoint_every = match f.audit_checkpoint_every {
            None => crate::services::audit::DEFAULT_CHECKPOINT_EVERY,
            Some(0) => {
                return Err(ConfigError(
                    "audit_checkpoint_every: at least 1 event".into(),
                ));
            }
            Some(n) => i64::try_from(n).unwrap_or(i64::MAX),
        };
        let rate_limits =
            crate::services::limits::RateLimits::from_section(&f.rate_limits.unwrap_or_default())
                .map_err(ConfigError)?;
        let continuous_auth = crate::services::behavior::ContinuousAuth::from_section(
            &f.continuous_auth.unwrap_or_default(),
        )
        .map_err(ConfigError)?;
        let admin_token = f.admin_token.filter(|t| !t.is_empty());
        if let Some(t) = &admin_token
            && t.len() < 32
        {
            return Err(ConfigError(
                "admin_token: at least 32 characters (e.g. `openssl rand -base64 32`)".into(),
            ));
        }
        let recovery_webhook = crate::services::webhook::WebhookConfig::from_section(
            &f.recovery_webhook.unwrap_or_default(),
        )
        .map_err(ConfigError)?;
        Ok(Self {
            recovery_webhook,
            admin_token,
            continuous_auth,
            rate_limits,
            client_ip_header: f.client_ip_header.filter(|h| !h.trim().is_empty()),
            audit_checkpoint_every,
            policy,
            attestation_roots: f.attestation.and_then(|a| a.roots).unwrap_or_default(),
            store_url,
            sqlite_sync,
            ephemeral_url,
            ephemeral_key_prefix: key_prefix
                .unwrap_or_else(|| crate::ephemeral::redis::DEFAULT_PREFIX.to_owned()),
            token_audiences,
            listen,
            rp_id,
            rp_name,
            origins,
            data_dir: f
                .data_dir
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR)),
            signup_open: f.signup_open.unwrap_or(true),
            session_idle_timeout: Duration::from_secs(idle),
            session_absolute_timeout: Duration::from_secs(absolute),
            log_format,
            log_level: f.log_level.unwrap_or_else(|| "info".to_owned()),
        })
    }

    /// Whether cookies get the `Secure` attribute: when the (first) origin is https.
    pub fn cookies_secure(&self) -> bool {
        self.origins.iter().any(|o| o.starts_with("https://"))
    }

    /// The URL to open in a browser.
    pub fn public_url(&self) -> &str {
        self.origins.first().map(String::as_str).unwrap_or("")
    }

    /// The SQLite database file.
    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("passkeyd.db")
    }
}

/// The scheme of a URL (never the rest: it may hold a password).
fn scheme_of(url: &str) -> String {
    url.split_once("://")
        .map_or_else(|| "no scheme".to_owned(), |(s, _)| format!("{s}://"))
}

/// Checks `scheme://host[:port]` with nothing after it and a host within `rp_id`, and returns it
/// in the form browsers put in client data (lower-case, no trailing slash).
fn validate_origin(origin: &str, rp_id: &str) -> Result<String, ConfigError> {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    let bad = |why: &str| ConfigError(format!("origin {origin:?}: {why}"));
    let rest = o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
        .ok_or_else(|| bad("expected http:// or https://"))?;
    if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
        return Err(bad("expected scheme://host[:port] with no path"));
    }
    let host = match rest.rsplit_once(':') {
        Some((h, port)) if !h.ends_with(']') || rest.starts_with('[') => {
            if port.parse::<u16>().is_err() {
                return Err(bad("the port is not a number"));
            }
            h
        }
        _ => rest,
    };
    if host != rp_id && !host.ends_with(&format!(".{rp_id}")) {
        return Err(bad(&format!(
            "host {host:?} is not {rp_id:?} or a subdomain of it (the RP id must be a suffix of every origin's host)"
        )));
    }
    if o.starts_with("http://") && host != "localhost" && !host.ends_with(".localhost") {
        return Err(bad(
            "plain http is allowed only for localhost (WebAuthn needs a secure context)",
        ));
    }
    Ok(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_settings_give_the_localhost_defaults() {
        let c = Config::resolve(FileConfig::default()).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.rp_id, "localhost");
        assert_eq!(c.origins, vec!["http://localhost:8080"]);
        assert_eq!(
            c.database_path(),
            PathBuf::from("passkeyd-data/passkeyd.db")
        );
        assert!(c.signup_open);
        assert!(!c.cookies_secure());
    }

    #[test]
    fn localhost_origin_follows_the_listening_port() {
        let c = Config::resolve(FileConfig {
            listen: Some("127.0.0.1:9123".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.origins, vec!["http://localhost:9123"]);
    }

    #[test]
    fn the_example_file_parses_and_the_shared_backends_merge_key_by_key() {
        let example = include_str!("../passkeyd.example.toml");
        let file = FileConfig::from_toml(example).unwrap();
        let c = Config::resolve(file.clone()).unwrap();
        assert_eq!((c.store_url, c.ephemeral_url), (None, None));
        assert_eq!(c.ephemeral_key_prefix, "passkeyd:");
        let file = file.overlay(
            FileConfig::from_toml(
                "[store]\nurl = \"postgres://file@db/p\"\n[ephemeral]\nkey_prefix = \"prod:\"\n",
            )
            .unwrap(),
        );
        let env = FileConfig::from_env(|k| match k {
            "PASSKEYD_EPHEMERAL_URL" => Some("redis://env:6379".into()),
            "PASSKEYD_STORE_URL" => Some("postgres://env@db/p".into()),
            _ => None,
        })
        .unwrap();
        let flags = FileConfig {
            store: Some(StoreSection {
                url: Some("postgresql://flag@db/p".into()),
                ..StoreSection::default()
            }),
            ..FileConfig::default()
        };
        let c = Config::resolve(file.overlay(env).overlay(flags)).unwrap();
        assert_eq!(c.store_url.as_deref(), Some("postgresql://flag@db/p"));
        assert_eq!(c.ephemeral_url.as_deref(), Some("redis://env:6379"));
        assert_eq!(c.ephemeral_key_prefix, "prod:");
    }

    #[test]
    fn sqlite_sync_is_full_unless_set_and_env_wins_over_the_file() {
        use crate::store::sqlite::SqliteSync;
        assert_eq!(
            Config::resolve(FileConfig::default()).unwrap().sqlite_sync,
            SqliteSync::Full
        );
        let file = FileConfig::from_toml("[store]\nsqlite_sync = \"full\"\n").unwrap();
        let env = FileConfig::from_env(|k| {
            (k == "PASSKEYD_STORE_SQLITE_SYNC").then(|| "normal".to_owned())
        })
        .unwrap();
        let c = Config::resolve(file.overlay(env)).unwrap();
        assert_eq!((c.sqlite_sync, c.store_url), (SqliteSync::Normal, None));
        let e = Config::resolve(FileConfig::from_toml("[store]\nsqlite_sync = \"off\"\n").unwrap())
            .unwrap_err();
        assert!(
            e.0.contains("sqlite_sync") && e.0.contains("\"off\""),
            "{e}"
        );
    }

    #[test]
    fn backend_urls_of_another_kind_are_refused_without_echoing_them() {
        let e = Config::resolve(FileConfig {
            store: Some(StoreSection {
                url: Some("mysql://root:hunter2@db/p".into()),
                ..StoreSection::default()
            }),
            ..FileConfig::default()
        })
        .unwrap_err();
        assert!(e.0.contains("mysql://") && !e.0.contains("hunter2"), "{e}");
        let e = Config::resolve(FileConfig {
            ephemeral: Some(EphemeralSection {
                url: Some("memcached://x".into()),
                key_prefix: None,
            }),
            ..FileConfig::default()
        })
        .unwrap_err();
        assert!(e.0.contains("redis://"), "{e}");
    }

    #[test]
    fn unknown_toml_keys_are_refused() {
        let e = FileConfig::from_toml("listen = \"127.0.0.1:1\"\nlisten_addr = 3\n").unwrap_err();
        assert!(e.0.contains("listen_addr"), "{e}");
    }

    #[test]
    fn flags_win_over_env_and_env_over_file() {
        let file = FileConfig::from_toml(
            "rp_id = \"example.com\"\norigins = [\"https://example.com\"]\nlisten = \"127.0.0.1:1\"\nsignup_open = true\n",
        )
        .unwrap();
        let env = FileConfig::from_env(|k| match k {
            "PASSKEYD_LISTEN" => Some("127.0.0.1:2".into()),
            "PASSKEYD_ORIGINS" => Some("https://example.com, https://login.example.com".into()),
            "PASSKEYD_SIGNUP_OPEN" => Some("false".into()),
            _ => None,
        })
        .unwrap();
        let flags = FileConfig {
            listen: Some("127.0.0.1:3".into()),
            ..Default::default()
        };
        let c = Config::resolve(file.overlay(env).overlay(flags)).unwrap();
        assert_eq!(c.listen.port(), 3);
        assert_eq!(c.origins.len(), 2);
        assert!(!c.signup_open);
        assert!(c.cookies_secure());
    }

    #[test]
    fn origins_outside_the_rp_id_or_with_plain_http_are_refused() {
        for (rp, origin) in [
            ("example.com", "https://evil.com"),
            ("example.com", "http://example.com"),
            ("example.com", "https://example.com/path"),
            ("example.com", "example.com"),
        ] {
            let r = Config::resolve(FileConfig {
                rp_id: Some(rp.into()),
                origins: Some(vec![origin.into()]),
                ..Default::default()
            });
            assert!(r.is_err(), "{origin} accepted");
        }
        let c = Config::resolve(FileConfig {
            rp_id: Some("example.com".into()),
            origins: Some(vec!["https://Login.Example.com:8443/".into()]),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(c.origins, vec!["https://login.example.com:8443"]);
    }

    #[test]
    fn log_formats_are_compact_pretty_or_json() {
        for (text, format) in [
            (None, LogFormat::Compact),
            (Some("compact"), LogFormat::Compact),
            (Some("pretty"), LogFormat::Pretty),
            (Some("json"), LogFormat::Json),
        ] {
            let c = Config::resolve(FileConfig {
                log_format: text.map(str::to_owned),
                ..Default::default()
            })
            .unwrap();
            assert_eq!(c.log_format, format);
        }
        let e = Config::resolve(FileConfig {
            log_format: Some("xml".into()),
            ..Default::default()
        })
        .unwrap_err();
        assert!(e.0.contains("log_format"), "{e}");
    }

    #[test]
    fn example_file_parses() {
        let text = include_str!("../passkeyd.example.toml");
        let f = FileConfig::from_toml(text).unwrap();
        let c = Config::resolve(f).unwrap();
        // The example states the defaults.
        assert_eq!(
            c.continuous_auth,
            crate::services::behavior::ContinuousAuth::default()
        );
    }

    #[test]
    fn continuous_auth_keys_are_checked() {
        for bad in [
            "[continuous_auth.context]\nnew_devise = 5.0\n",
            "[continuous_auth.context]\nnew_device = 500.0\n",
            "[continuous_auth.trust]\nallow = 5.0\n",
            "[continuous_auth]\ngeoip_csv = [\"/nonexistent/geo.csv\"]\n",
        ] {
            let parsed = FileConfig::from_toml(bad);
            assert!(
                parsed.is_err() || Config::resolve(parsed.unwrap()).is_err(),
                "{bad} accepted"
            );
        }
        let f = FileConfig::from_toml(
            "[continuous_auth]\nmouse = false\n[continuous_auth.context]\nnew_device = 5.0\n",
        )
        .unwrap();
        let c = Config::resolve(f).unwrap();
        assert!(!c.continuous_auth.mouse);
        assert_eq!(c.continuous_auth.context.new_device, 5.0);
        assert_eq!(c.continuous_auth.context.new_network, 10.0);
    }
}
