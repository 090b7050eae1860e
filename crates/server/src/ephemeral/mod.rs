//! Short-lived state that may be lost on restart: pending ceremony challenges (later also rate
//! limits). Backends: [`memory::MemoryChallenges`] (the embedded default, one process) and
//! [`redis::RedisChallenges`] (shared by many instances).

pub mod limits;
pub mod memory;
pub mod redis;

use async_trait::async_trait;
use std::time::Duration;

/// Why the ephemeral store could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EphemeralError {
    /// The store is full (too many pending ceremonies): refuse new ones rather than grow
    /// without bound.
    Full,
    /// The backend failed.
    Backend(String),
}

impl std::fmt::Display for EphemeralError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Full => f.write_str("too many pending ceremonies"),
            Self::Backend(e) => write!(f, "ephemeral store: {e}"),
        }
    }
}

impl std::error::Error for EphemeralError {}

/// Pending ceremony state, keyed by a random challenge key.
#[async_trait]
pub trait ChallengeStore: Send + Sync + 'static {
    /// Stores `state` under `key` for `ttl`, replacing any previous value.
    async fn put(&self, key: &str, state: Vec<u8>, ttl: Duration) -> Result<(), EphemeralError>;
    /// Removes and returns the state under `key`, atomically: of two concurrent calls at most
    /// one gets it. Expired state is never returned.
    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError>;
    /// How many unexpired entries are held (the metrics gauge); `None` when the backend
    /// cannot tell cheaply.
    async fn pending(&self) -> Result<Option<u64>, EphemeralError> {
        Ok(None)
    }
    /// Whether the backend answers (`GET /readyz`).
    async fn ping(&self) -> Result<(), EphemeralError> {
        Ok(())
    }
}
