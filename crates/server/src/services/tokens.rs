//! Tokens for other applications: a short-lived JWT for the signed-in session
//! (`POST /api/token`), the public keys (`GET /.well-known/jwks.json`) and introspection
//! (`POST /api/session/introspect`). Signing and strict verification are [`crate::tokens`];
//! this service keeps the keys in the data directory, rotates them when due and builds the
//! claims from the session and its credential.
//!
//! ```text
//!  session + credential ──► sub = user handle (base64url), sid = session public id,
//!                           auth_time, amr = amr_for(UV, BE, attested), acr = acr_for(amr)
//!                       ──► TokenSigner::sign (active key; rotated when due, keys persisted)
//!  introspect(token) ──► TokenSigner::verify (iss = first origin, aud ∈ token_audiences)
//!                    ──► session still live? ──► {"active": true, claims} | {"active": false}
//! ```

use super::now;
use super::sessions::{CurrentSession, Sessions};
use crate::error::Error;
use crate::store::Store;
use crate::tokens::{Algorithm, Claims, ExportedKey, TokenConfig, TokenSigner, acr_for, amr_for};
use passkeyd_webauthn::b64;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// File in the data directory holding the signing keys (PKCS#8, secret; mode 0600).
pub const KEYS_FILE: &str = "token-keys.json";
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
    signer: RwLock<TokenSigner>,
    keys_path: PathBuf,
    issuer: String,
    audiences: Vec<String>,
    store: Arc<dyn Store>,
    sessions: Arc<Sessions>,
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

impl Tokens {
    /// Loads the keys from `data_dir` (creating the first one on first start) and rotates them
    /// if due. `issuer` is the `iss` of every token; `audiences` the accepted `aud` values.
    pub fn open(
        data_dir: &Path,
        issuer: String,
        audiences: Vec<String>,
        store: Arc<dyn Store>,
        sessions: Arc<Sessions>,
    ) -> Result<Self, Error> {
        let keys_path = data_dir.join(KEYS_FILE);
        let config = TokenConfig::default();
        let t = unix_now();
        let signer = match std::fs::read(&keys_path) {
            Ok(bytes) => {
                let stored: Vec<StoredKey> = serde_json::from_slice(&bytes)
                    .map_err(|e| internal(format!("{}: {e}", keys_path.display())))?;
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
                TokenSigner::from_keys(config, keys).map_err(internal)?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                TokenSigner::new(config, t).map_err(internal)?
            }
            Err(e) => return Err(internal(format!("{}: {e}", keys_path.display()))),
        };
        let tokens = Self {
            signer: RwLock::new(signer),
            keys_path,
            issuer,
            audiences,
            store,
            sessions,
        };
        tokens.rotate_if_due(true)?;
        Ok(tokens)
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, TokenSigner> {
        // Signing never leaves the signer half-changed, so a poisoned lock is still sound.
        self.signer
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Rotates the signing key when due and writes the keys back (always when `persist`).
    fn rotate_if_due(&self, persist: bool) -> Result<(), Error> {
        let t = unix_now();
        if !persist && !self.read().rotation_due(t) {
            return Ok(());
        }
        let mut signer = self
            .signer
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rotated = signer.rotate_if_due(t).map_err(internal)?.is_some();
        if rotated {
            tracing::info!(kid = signer.active_kid(), "token signing key rotated");
        }
        if rotated || persist {
            write_keys(&self.keys_path, &signer.export_keys())?;
        }
        Ok(())
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// `{"keys": [...]}`: every key that may have signed a live token.
    pub fn jwks(&self) -> serde_json::Value {
        self.read().jwks()
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
            extra: serde_json::Map::new(),
        };
        self.rotate_if_due(false)?;
        let token = self.read().sign(&claims).map_err(internal)?;
        Ok(IssuedToken { token, claims })
    }

    /// The claims of `token` if it verifies for a configured audience and its session is
    /// still live; `None` otherwise (the reason is logged).
    pub async fn introspect(&self, token: &str) -> Result<Option<Claims>, Error> {
        let t = unix_now();
        let verified = {
            let signer = self.read();
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

/// Writes the keys atomically (temporary file, then rename), readable by the owner only.
fn write_keys(path: &Path, keys: &[ExportedKey]) -> Result<(), Error> {
    let stored: Vec<StoredKey> = keys
        .iter()
        .map(|k| StoredKey {
            kid: k.kid.clone(),
            algorithm: k.algorithm,
            created: k.created,
            pkcs8: b64::encode(&k.pkcs8),
        })
        .collect();
    let bytes = serde_json::to_vec_pretty(&stored).map_err(internal)?;
    let tmp = path.with_extension("json.tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut f = options
        .open(&tmp)
        .map_err(|e| internal(format!("{}: {e}", tmp.display())))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| internal(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, path).map_err(|e| internal(format!("{}: {e}", path.display())))
}
