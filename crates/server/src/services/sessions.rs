//! Server-side sessions.
//!
//! ```text
//!  sign-in ──► token = 32 random bytes (base64url, the cookie `passkeyd_session`)
//!              store SHA-256(token) + user, credential, UV, times
//!  request ──► hash the cookie's token ──► row? not revoked? now < expires_at (absolute)?
//!              now < last_seen_at + idle? ──► signed in (last_seen_at refreshed)
//!  sign-out / revoke ──► revoked_at set (kept for the record, never valid again)
//! ```
//!
//! A database leak gives hashes, which cannot be presented as cookies.

use super::policy::Assurance;
use super::{now, random_bytes, sha256};
use crate::error::Error;
use crate::store::{Session, Store, User};
use passkeyd_webauthn::b64;
use std::sync::Arc;
use std::time::Duration;

/// Cookie name of the session token.
pub const SESSION_COOKIE: &str = "passkeyd_session";

/// Activity is written back at most this often (seconds), to spare the database a write per
/// request; the idle timeout is therefore accurate to this much.
const TOUCH_INTERVAL: i64 = 15;

/// A signed-in request's session and account.
#[derive(Debug, Clone)]
pub struct CurrentSession {
    /// The session row.
    pub session: Session,
    /// The account.
    pub user: User,
}

/// A session just created: the token goes into the cookie and nowhere else.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value.
    pub token: String,
    /// The stored session.
    pub session: Session,
}

/// The session service.
pub struct Sessions {
    store: Arc<dyn Store>,
    idle: i64,
    absolute: i64,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The stored hash of a session token (the cookie's value): SHA-256 of its 32 random bytes;
/// None when the value is not shaped like a token.
pub fn token_hash(token: &str) -> Option<[u8; 32]> {
    let raw = b64::decode(token).ok()?;
    (raw.len() == 32).then(|| sha256(&raw))
}

impl Sessions {
    /// Sessions that end after `idle` without a request or `absolute` after sign-in.
    pub fn new(store: Arc<dyn Store>, idle: Duration, absolute: Duration) -> Self {
        Self {
            store,
            idle: secs(idle),
            absolute: secs(absolute),
        }
    }

    /// The absolute session lifetime in seconds (the cookie's Max-Age).
    pub fn absolute_secs(&self) -> i64 {
        self.absolute
    }

    /// Starts a session for a verified sign-in.
    pub async fn create(
        &self,
        user_handle: &[u8],
        credential_id: &[u8],
        assurance: &Assurance,
        user_agent: Option<String>,
    ) -> Result<NewSession, Error> {
        let new = self.prepare(user_handle, credential_id, assurance, user_agent)?;
        self.store.create_session(&new.session).await?;
        Ok(new)
    }

    /// A new session (token and record) for a verified sign-in, not yet stored: the caller
    /// stores it in the same transaction as the sign-in's counter update
    /// ([`crate::store::Store::complete_sign_in`]).
    pub fn prepare(
        &self,
        user_handle: &[u8],
        credential_id: &[u8],
        assurance: &Assurance,
        user_agent: Option<String>,
    ) -> Result<NewSession, Error> {
        let token = random_bytes::<32>()?;
        let public_id = b64::encode(random_bytes::<16>()?);
        let t = now();
        let session = Session {
            id_hash: sha256(&token),
            public_id,
            user_handle: user_handle.to_vec(),
            credential_id: credential_id.to_vec(),
            user_verified: assurance.reasons.iter().any(|r| r == "user_verified"),
            authenticated_at: t,
            last_seen_at: t,
            expires_at: t.saturating_add(self.absolute),
            revoked_at: None,
            user_agent: user_agent.map(|ua| ua.chars().take(256).collect()),
            aal: assurance.aal,
            tier: assurance.tier.clone(),
            assurance_reasons: assurance.reasons.clone(),
        };
        Ok(NewSession {
            token: b64::encode(token),
            session,
        })
    }

    /// When `s` ends if no further request comes: the earlier of the absolute expiry and the
    /// idle deadline.
    pub fn expires_at(&self, s: &Session) -> i64 {
        s.expires_at.min(s.last_seen_at.saturating_add(self.idle))
    }

    /// The session a cookie token names, if it is valid now; refreshes its activity time.
    pub async fn authenticate(&self, token: &str) -> Result<Option<CurrentSession>, Error> {
        let Some(hash) = token_hash(token) else {
            return Ok(None);
        };
        let Some(mut session) = self.store.session_by_hash(&hash).await? else {
            return Ok(None);
        };
        let t = now();
        if session.revoked_at.is_some() || t >= self.expires_at(&session) {
            return Ok(None);
        }
        let Some(user) = self.store.user_by_handle(&session.user_handle).await? else {
            return Ok(None);
        };
        if t - session.last_seen_at >= TOUCH_INTERVAL {
            self.store.touch_session(&hash, t).await?;
            session.last_seen_at = t;
        }
        Ok(Some(CurrentSession { session, user }))
    }

    /// Whether the account's session with this public id is live (not revoked, not expired).
    pub async fn is_live(&self, user_handle: &[u8], public_id: &str) -> Result<bool, Error> {
        let t = now();
        Ok(self
            .store
            .sessions_for_user(user_handle, t)
            .await?
            .iter()
            .any(|s| s.public_id == public_id && self.expires_at(s) > t))
    }

    /// Ends the current session.
    pub async fn sign_out(&self, current: &CurrentSession) -> Result<(), Error> {
        self.store
            .revoke_session(&current.session.id_hash, now())
            .await?;
        Ok(())
    }

    /// The account's live sessions, newest first.
    pub async fn list(&self, current: &CurrentSession) -> Result<Vec<Session>, Error> {
        let t = now();
        let mut list = self
            .store
            .sessions_for_user(&current.user.handle, t)
            .await?;
        list.retain(|s| self.expires_at(s) > t);
        Ok(list)
    }

    /// How many sessions are live now (neither revoked, nor past the absolute or the idle
    /// timeout).
    pub async fn count_live(&self) -> Result<u64, Error> {
        let t = now();
        Ok(self
            .store
            .count_live_sessions(t, t.saturating_sub(self.idle))
            .await?)
    }

    /// Revokes one of the account's sessions by its public id.
    pub async fn revoke(&self, current: &CurrentSession, public_id: &str) -> Result<(), Error> {
        if self
            .store
            .revoke_session_by_public_id(&current.user.handle, public_id, now())
            .await?
        {
            Ok(())
        } else {
            Err(Error::NotFound("session"))
        }
    }
}
