//! Tokens for other applications: a short-lived JWT for the signed-in session
//! (`POST /api/token`), the public keys (`GET /.well-known/jwks.json`) and introspection
//! (`POST /api/session/introspect`). Signing and strict verification are [`crate::tokens`];
//! this service keeps the keys in the store (shared by every instance: one JWKS whichever
//! instance answers), rotates them when due and builds the claims from the session and its
//! credential.
//!
//! Rotation across instances: whichever instance finds the active key due generates the next
//! one and replaces the stored keyring by compare-and-set on its version; an instance that
//! loses adopts the winner's keyring. Every instance re-reads the keyring at most every
//! [`SYNC_INTERVAL_SECS`], and at once when a token names a key it does not hold.
//!
//! ```text
//!  session + credential ──► sub = user handle (base64url), sid = session public id,
//!                           auth_time, amr = amr_for(UV, BE, attested), acr = acr_for(amr)
//!                       ──► TokenSigner::sign (active key; rotated when due, keys persisted)
//!  introspect(token) ──► TokenSigner::verify (iss = first origin, aud ∈ token_audiences)
//!                    ──► session still live? ──► {"active": true, claims} | {"active": false}
//! ```

use super::behavior::Behavior;
use super::now;
use super::sessions::{CurrentSession, Sessions};
use crate::error::Error;
use crate::store::Store;
use crate::tokens::{Algorithm, Claims, ExportedKey, TokenConfig, TokenSigner, acr_for, amr_for};
use passkeyd_webauthn::b64;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// File in the data directory where versions before the shared keyring kept the signing keys;
/// imported into the store once, at the first start that finds no keyring there.
pub const KEYS_FILE: &str = "token-keys.json";
/// Name of the keyring in [`Store::load_secret`].
pub const KEYRING_SECRET: &str = "token-keys";
/// How often an instance re-reads the shared keyring (other instances may have rotated).
pub const SYNC_INTERVAL_SECS: u64 = 10;
/// Lifetime of an issued token, in seconds.
pub const TOKEN_LIFETIME_SECS: u64 = 300;

#[derive(Serialize, Deserialize)]
struct StoredKey {
    kid: String,
    algorithm: Algorithm,
    created: u64,
    pkcs8: String,
}

/// An issued token.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The compact JWS.
    pub token: String,
    /// Its claims.
    pub claims: Claims,
}

/// The token service.
pub struct Tokens {
    /// The keyring and its version in the store.
    signer: RwLock<(i64, TokenSigner)>,
    /// Unix seconds of the last read of the stored keyring.
    synced_at: AtomicU64,
    issuer: String,
    audiences: Vec<String>,
    store: Arc<dyn Store>,
    sessions: Arc<Sessions>,
    behavior: Arc<Behavior>,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    u64::try_from(now()).unwrap_or(0)
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("tokens: {e}"))
}

fn encode_keys(keys: &[ExportedKey]) -> Result<Vec<u8>, Error> {
    let stored: Vec<StoredKey> = keys
        .iter()
        .map(|k| StoredKey {
            kid: k.kid.clone(),
            algorithm: k.algorithm,
            created: k.created,
            pkcs8: b64::encode(&k.pkcs8),
        })
        .collect();
    serde_json::to_vec(&stored).map_err(internal)
}

fn decode_keys(bytes: &[u8], what: &str) -> Result<TokenSigner, Error> {
    let stored: Vec<StoredKey> =
        serde_json::from_slice(bytes).map_err(|e| internal(format!("{what}: {e}")))?;
    let keys = stored
        .into_iter()
        .map(|k| {
            Ok(ExportedKey {
                kid: k.kid,
                algorithm: k.algorithm,
                created: k.created,
                pkcs8: b64::decode(&k.pkcs8).map_err(internal)?,
            })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    TokenSigner::from_keys(TokenConfig::default(), keys).map_err(internal)
}

impl Tokens {
    /// Loads the keyring from the store: the first instance to start creates it (importing
    /// `data_dir`'s key file if an older version left one), the others read it. Rotates it if
    /// due. `issuer` is the `iss` of every token; `audiences` the accepted `aud` values.
    pub async fn open(
        data_dir: &Path,
        issuer: String,
        audiences: Vec<String>,
        store: Arc<dyn Store>,
        sessions: Arc<Sessions>,
        behavior: Arc<Behavior>,
    ) -> Result<Self, Error> {
        let (version, signer) = loop {
            if let Some((version, bytes)) = store.load_secret(KEYRING_SECRET).await? {
                break (version, decode_keys(&bytes, "stored token keys")?);
            }
            let keys_path = data_dir.join(KEYS_FILE);
            let initial = match std::fs::read(&keys_path) {
                Ok(bytes) => decode_keys(&bytes, &keys_path.display().to_string())?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    TokenSigner::new(TokenConfig::default(), unix_now()).map_err(internal)?
                }
                Err(e) => return Err(internal(format!("{}: {e}", keys_path.display()))),
            };
            let bytes = encode_keys(&initial.export_keys())?;
            if store.replace_secret(KEYRING_SECRET, None, &bytes).await? {
                break (0, initial);
            }
            // Another instance stored its keyring first: read that one.
        };
        let tokens = Self {
            signer: RwLock::new((version, signer)),
            synced_at: AtomicU64::new(unix_now()),
            issuer,
            audiences,
            store,
            sessions,
            behavior,
        };
        tokens.rotate_if_due().await?;
        Ok(tokens)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, (i64, TokenSigner)> {
        // Signing never leaves the signer half-changed, so a poisoned lock is still sound.
        self.signer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn install(&self, version: i64, signer: TokenSigner) {
        let mut slot = self
            .signer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Never go back to an older keyring (a slower concurrent read).
        if version > slot.0 {
            *slot = (version, signer);
        }
    }

    /// Re-reads the stored keyring when `force`d or when the last read is older than
    /// [`SYNC_INTERVAL_SECS`], adopting it if another instance replaced it.
    pub async fn sync(&self, force: bool) -> Result<(), Error> {
        let t = unix_now();
        if !force && t.saturating_sub(self.synced_at.load(Ordering::Relaxed)) < SYNC_INTERVAL_SECS {
            return Ok(());
        }
        self.synced_at.store(t, Ordering::Relaxed);
        if let Some((version, bytes)) = self.store.load_secret(KEYRING_SECRET).await?
            && version > self.read().0
        {
            let signer = decode_keys(&bytes, "stored token keys")?;
            tracing::info!(
                kid = signer.active_kid(),
                version,
                "token keys changed by another instance"
            );
            self.install(version, signer);
        }
        Ok(())
    }

    /// Rotates the signing key when due: the instance whose compare-and-set wins stores the
    /// new keyring, the others adopt it.
    async fn rotate_if_due(&self) -> Result<(), Error> {
        let t = unix_now();
        if !self.read().1.rotation_due(t) {
            return Ok(());
        }
        self.sync(true).await?;
        let (version, mut next) = {
            let guard = self.read();
            if !guard.1.rotation_due(t) {
                return Ok(());
            }
            (
                guard.0,
                TokenSigner::from_keys(TokenConfig::default(), guard.1.export_keys())
                    .map_err(internal)?,
            )
        };
        let kid = next.rotate(t).map_err(internal)?;
        let bytes = encode_keys(&next.export_keys())?;
        if self
            .store
            .replace_secret(KEYRING_SECRET, Some(version), &bytes)
            .await?
        {
            tracing::info!(%kid, "token signing key rotated");
            self.install(version + 1, next);
        } else {
            self.sync(true).await?;
        }
        Ok(())
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{"keys": [...]}`: every key that may have signed a live token (the keyring as
    /// last read from the store).
    pub fn jwks(&self) -> serde_json::Value {
        self.read().1.jwks()
    }

    /// A token for the signed-in session, for `audience` (default: the first configured one).
    pub async fn issue(
        &self,
        current: &CurrentSession,
        audience: Option<&str>,
    ) -> Result<IssuedToken, Error> {
        let aud = match audience {
            None => self
                .audiences
                .first()
                .cloned()
                .unwrap_or_else(|| self.issuer.clone()),
            Some(a) if self.audiences.iter().any(|x| x == a) => a.to_owned(),
            Some(_) => {
                return Err(Error::bad_request(
                    "invalid_request",
                    "This audience is not configured (token_audiences).",
                ));
            }
        };
        let credential = self
            .store
            .credential_by_id(&current.session.credential_id)
            .await?;
        // Hardware-backed only when the attestation chained to a trusted anchor; without the
        // credential (deleted since sign-in) claim nothing beyond a software key.
        let (backup_eligible, attested) = credential
            .as_ref()
            .map(|c| {
                (
                    c.backup_eligible,
                    c.attestation_trust.starts_with("trusted"),
                )
            })
            .unwrap_or((true, false));
        let amr = amr_for(current.session.user_verified, backup_eligible, attested);
        let iat = unix_now();
        let claims = Claims {
            iss: self.issuer.clone(),
            aud,
            sub: b64::encode(&current.user.handle),
            sid: current.session.public_id.clone(),
            iat,
            exp: iat + TOKEN_LIFETIME_SECS,
            nbf: None,
            auth_time: u64::try_from(current.session.authenticated_at)
                .unwrap_or(0)
                .min(iat),
            acr: acr_for(&amr),
            amr,
            extra: self.assurance_claims(current, iat).await?,
        };
        self.sync(false).await?;
        self.rotate_if_due().await?;
        let token = self.read().1.sign(&claims).map_err(internal)?;
        Ok(IssuedToken { token, claims })
    }

    /// `aal` (the sign-in's NIST level) and, when the session holds live step-up elevations,
    /// `elevations: [{action, aal, exp}]`.
    async fn assurance_claims(
        &self,
        current: &CurrentSession,
        now: u64,
    ) -> Result<serde_json::Map<String, serde_json::Value>, Error> {
        let mut extra = serde_json::Map::new();
        extra.insert("aal".into(), current.session.aal.into());
        let now = i64::try_from(now).unwrap_or(i64::MAX);
        let elevations: Vec<serde_json::Value> = self
            .store
            .elevations(&current.session.id_hash, now)
            .await?
            .iter()
            .map(|e| serde_json::json!({"action": e.action, "aal": e.aal, "exp": e.expires_at}))
            .collect();
        if !elevations.is_empty() {
            extra.insert("elevations".into(), elevations.into());
        }
        if self.behavior.enabled() {
            let c = self.behavior.confidence(&current.session).await?;
            extra.insert("confidence".into(), c.value.into());
            extra.insert("confidence_at".into(), c.computed_at.into());
        }
        Ok(extra)
    }

    /// The claims of `token` if it verifies for a configured audience and its session is
    /// still live; `None` otherwise (the reason is logged).
    pub async fn introspect(&self, token: &str) -> Result<Option<Claims>, Error> {
        self.sync(false).await?;
        if let Some(kid) = kid_of(token)
            && !self.read().1.kids().contains(&kid)
        {
            // Signed by a key another instance made since the last read.
            self.sync(true).await?;
        }
        let t = unix_now();
        let verified = {
            let signer = &self.read().1;
            let mut last = None;
            let mut ok = None;
            for aud in &self.audiences {
                match signer.verify(token, t, &self.issuer, aud) {
                    Ok(c) => {
                        ok = Some(c);
                        break;
                    }
                    Err(e) => last = Some(e),
                }
            }
            match (ok, last) {
                (Some(c), _) => Ok(c),
                (None, Some(e)) => Err(e.to_string()),
                (None, None) => Err("no audiences configured".to_owned()),
            }
        };
        let claims = match verified {
            Ok(c) => c,
            Err(reason) => {
                tracing::info!(%reason, "introspection: token refused");
                return Ok(None);
            }
        };
        let Ok(handle) = b64::decode(&claims.sub) else {
            return Ok(None);
        };
        if !self.sessions.is_live(&handle, &claims.sid).await? {
            tracing::info!(sid = %claims.sid, "introspection: session ended");
            return Ok(None);
        }
        Ok(Some(claims))
    }
}

/// The `kid` in a compact JWS's header, if it has a readable one.
fn kid_of(token: &str) -> Option<String> {
    let header = b64::decode(token.split('.').next()?).ok()?;
    let v: serde_json::Value = serde_json::from_slice(&header).ok()?;
    v.get("kid")?.as_str().map(str::to_owned)
}
