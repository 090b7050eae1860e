//! The application state: configuration, storage and services, built once at start-up and
//! shared (cheaply cloned) by every request. [`crate::routes::app`] turns it into a router.

use crate::config::Config;
use crate::ephemeral::ChallengeStore;
use crate::ephemeral::limits::{MemoryLimiter, RateLimiter, RedisLimiter};
use crate::ephemeral::memory::MemoryChallenges;
use crate::ephemeral::redis::RedisChallenges;
use crate::metrics::Metrics;
use crate::services::admin::Admin;
use crate::services::audit::Audit;
use crate::services::behavior::Behavior;
use crate::services::ceremonies::{CHALLENGE_TTL, Ceremonies, CeremonySettings};
use crate::services::credentials::Credentials;
use crate::services::limits::Limits;
use crate::services::sessions::Sessions;
use crate::services::tokens::Tokens;
use crate::store::Store;
use crate::store::postgres::PgStore;
use crate::store::sqlite::SqliteStore;
use passkeyd_webauthn::relying_party::{AttestationRequirement, RelyingParty};
use passkeyd_webauthn::trust::TrustAnchors;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// File in the data directory holding the server secret (32 random bytes).
pub const SECRET_FILE: &str = "server-secret";

/// Everything a request handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The validated configuration.
    pub config: Arc<Config>,
    /// Durable storage.
    pub store: Arc<dyn Store>,
    /// Registration and sign-in.
    pub ceremonies: Arc<Ceremonies>,
    /// Sessions.
    pub sessions: Arc<Sessions>,
    /// The signed-in user's passkeys.
    pub credentials: Arc<Credentials>,
    /// JWTs for other applications, the JWKS, introspection.
    pub tokens: Arc<Tokens>,
    /// Pending ceremonies (read here only for the metrics gauge).
    pub challenges: Arc<dyn ChallengeStore>,
    /// Request and ceremony counters (`GET /metrics`).
    pub metrics: Arc<Metrics>,
    /// The audit trail.
    pub audit: Arc<Audit>,
    /// Abuse controls.
    pub limits: Arc<Limits>,
    /// Continuous authentication.
    pub behavior: Arc<Behavior>,
    /// Administration.
    pub admin: Arc<Admin>,
    backend: Backend,
}

/// The concrete store, kept to close it at shutdown.
#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// Formats whose certificate chains the configured attestation roots anchor.
const ATTESTATION_FORMATS: [&str; 6] = [
    "packed",
    "tpm",
    "android-key",
    "android-safetynet",
    "fido-u2f",
    "apple",
];

/// Name of the fake-credential secret in [`Store::shared_secret`].
const SERVER_SECRET_NAME: &str = "server-secret";

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub struct StartupError(pub String);

impl std::fmt::Display for StartupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

impl AppState {
    /// Opens the embedded defaults: creates the data directory, opens (and migrates) the
    /// SQLite database in it, loads or creates the server secret, keeps challenges in memory.
    pub async fn open(config: Config) -> Result<Self, StartupError> {
        Self::open_with_challenge_ttl(config, CHALLENGE_TTL).await
    }

    /// [`AppState::open`] with another challenge lifetime (tests of expiry).
    pub async fn open_with_challenge_ttl(
        config: Config,
        challenge_ttl: Duration,
    ) -> Result<Self, StartupError> {
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            StartupError(format!(
                "cannot create data directory {}: {e}",
                config.data_dir.display()
            ))
        })?;
        let (backend, store, candidate): (Backend, Arc<dyn Store>, Vec<u8>) =
            match &config.store_url {
                None => {
                    // The embedded default keeps its secret file (older installs have one) and
                    // records it in the database too.
                    let file_secret = load_or_create_secret(&config.data_dir.join(SECRET_FILE))?;
                    let s = SqliteStore::open_with(&config.database_path(), config.sqlite_sync)
                        .await
                        .map_err(|e| StartupError(e.to_string()))?;
                    (Backend::Sqlite(s.clone()), Arc::new(s), file_secret)
                }
                Some(url) => {
                    let s = PgStore::open(url)
                        .await
                        .map_err(|e| StartupError(e.to_string()))?;
                    let mut candidate = vec![0u8; 32];
                    aws_lc_rs::rand::fill(&mut candidate)
                        .map_err(|_| StartupError("system RNG failed".into()))?;
                    (Backend::Postgres(s.clone()), Arc::new(s), candidate)
                }
            };
        // Every instance sharing the store derives fake credential ids from the same secret,
        // so an unknown username looks the same whichever instance answers.
        let secret = store
            .shared_secret(SERVER_SECRET_NAME, &candidate)
            .await
            .map_err(|e| StartupError(e.to_string()))?;
        let (challenges, limiter): (Arc<dyn ChallengeStore>, Arc<dyn RateLimiter>) = match &config
            .ephemeral_url
        {
            None => (
                Arc::new(MemoryChallenges::default()),
                Arc::new(MemoryLimiter::default()),
            ),
            Some(url) => {
                let redis = RedisChallenges::open(url, &config.ephemeral_key_prefix)
                    .await
                    .map_err(|e| StartupError(e.to_string()))?;
                let limiter = RedisLimiter::new(redis.connection(), &config.ephemeral_key_prefix);
                (Arc::new(redis), Arc::new(limiter))
            }
        };
        let limits = Arc::new(Limits::new(limiter, config.rate_limits.clone()));
        let sessions = Arc::new(Sessions::new(
            store.clone(),
            config.session_idle_timeout,
            config.session_absolute_timeout,
        ));
        let mut rp = RelyingParty::new(&config.rp_id, config.origins.iter().cloned());
        // Attestation is assessed, never required by the verifier: the policy tier of each
        // account decides whether an unattested authenticator is acceptable.
        rp.attestation_requirement = AttestationRequirement::Assess;
        for path in &config.attestation_roots {
            let pem = std::fs::read(path)
                .map_err(|e| StartupError(format!("attestation root {}: {e}", path.display())))?;
            let anchors = TrustAnchors::from_pem(&pem)
                .map_err(|e| StartupError(format!("attestation root {}: {e}", path.display())))?;
            for fmt in ATTESTATION_FORMATS {
                rp = rp.with_format_anchors(fmt, anchors.clone());
            }
        }
        let ceremonies = Arc::new(Ceremonies::new(
            store.clone(),
            challenges.clone(),
            sessions.clone(),
            CeremonySettings {
                rp,
                rp_name: config.rp_name.clone(),
                signup_open: config.signup_open,
                challenge_ttl,
                secret: secret.clone(),
                policy: config.policy.clone(),
                limits: limits.clone(),
                recovery_webhook: match &config.recovery_webhook {
                    Some(w) => Some(Arc::new(
                        crate::services::webhook::Webhook::new(w.clone(), store.clone())
                            .map_err(|e| StartupError(e.to_string()))?,
                    )),
                    None => None,
                },
                public_url: config.public_url().to_owned(),
            },
        ));
        let behavior = Arc::new(Behavior::new(
            store.clone(),
            config.continuous_auth.clone(),
            &secret,
        ));
        let tokens = Arc::new(
            Tokens::open(
                &config.data_dir,
                config.public_url().to_owned(),
                config.token_audiences.clone(),
                store.clone(),
                sessions.clone(),
                behavior.clone(),
            )
            .await
            .map_err(|e| StartupError(e.to_string()))?,
        );
        let audit = Arc::new(
            Audit::open(store.clone(), config.audit_checkpoint_every)
                .await
                .map_err(|e| StartupError(e.to_string()))?,
        );
        Ok(Self {
            admin: Arc::new(Admin::new(store.clone(), config.policy.clone())),
            behavior,
            limits,
            audit,
            tokens,
            credentials: Arc::new(Credentials::new(store.clone())),
            config: Arc::new(config),
            store,
            ceremonies,
            sessions,
            challenges,
            metrics: Arc::new(Metrics::default()),
            backend,
        })
    }

    /// Closes the database (at shutdown).
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite(s) => s.close().await,
            Backend::Postgres(s) => s.close().await,
        }
    }
}

/// Opens the configured store alone (SQLite in the data directory, or PostgreSQL), running
/// migrations: for the offline commands (`passkeyd audit ...`).
pub async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartupError> {
    Ok(match &config.store_url {
        None => {
            let path = config.database_path();
            if !path.exists() {
                return Err(StartupError(format!(
                    "no database at {} (check --data-dir or --store)",
                    path.display()
                )));
            }
            Arc::new(
                SqliteStore::open(&path)
                    .await
                    .map_err(|e| StartupError(e.to_string()))?,
            )
        }
        Some(url) => Arc::new(
            PgStore::open(url)
                .await
                .map_err(|e| StartupError(e.to_string()))?,
        ),
    })
}

/// Reads the server secret, or creates it (mode 0600) on first start.
fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, StartupError> {
    match std::fs::read(path) {
        Ok(bytes) if bytes.len() >= 32 => return Ok(bytes),
        Ok(_) => {
            return Err(StartupError(format!(
                "{} is shorter than 32 bytes; delete it to have a new one made",
                path.display()
            )));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(StartupError(format!("cannot read {}: {e}", path.display())));
        }
    }
    let mut secret = [0u8; 32];
    aws_lc_rs::rand::fill(&mut secret).map_err(|_| StartupError("system RNG failed".into()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| StartupError(format!("cannot create {}: {e}", path.display())))?;
    file.write_all(&secret)
        .and_then(|()| file.sync_all())
        .map_err(|e| StartupError(format!("cannot write {}: {e}", path.display())))?;
    Ok(secret.to_vec())
}
