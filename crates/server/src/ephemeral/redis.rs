//! [`ChallengeStore`] on Redis, shared by every passkeyd instance: `SET key value PX ttl` to
//! store, `GETDEL` to take (atomic on the server, so of two instances taking the same key at
//! once exactly one gets it). Expiry is Redis's own.
//!
//! One multiplexed connection per instance, re-established in the background when it drops;
//! connection attempts and responses time out after a second, so a stopped Redis makes
//! ceremonies fail fast (503) and they work again as soon as it is back, without a restart.

use super::{ChallengeStore, EphemeralError};
use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::time::Duration;

/// The key prefix unless configured otherwise.
pub const DEFAULT_PREFIX: &str = "passkeyd:";
/// Limit on one connection attempt and on one command's answer.
pub const TIMEOUT: Duration = Duration::from_secs(1);

/// Redis-backed challenge store.
#[derive(Clone)]
pub struct RedisChallenges {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisChallenges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisChallenges")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn backend(e: impl std::fmt::Display) -> EphemeralError {
    EphemeralError::Backend(format!("redis: {e}"))
}

impl RedisChallenges {
    /// Connects to `url` (`redis://host:port/db`); keys are `prefix` + `challenge:` + key.
    pub async fn open(url: &str, prefix: &str) -> Result<Self, EphemeralError> {
        let client = redis::Client::open(url).map_err(backend)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(2)
            .set_max_delay(500);
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(|e| backend(format!("cannot connect to {}: {e}", redact(url))))?;
        Ok(Self {
            conn,
            prefix: format!("{prefix}challenge:"),
        })
    }
}

impl RedisChallenges {
    /// The shared connection (the rate limiter uses it too).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }
}

/// `url` without a password, for messages.
fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rfind('@')) {
        (Some((scheme, _)), Some(at)) => format!("{scheme}://***{}", &url[at..]),
        _ => url.to_owned(),
    }
}

#[async_trait]
impl ChallengeStore for RedisChallenges {
    async fn put(&self, key: &str, state: Vec<u8>, ttl: Duration) -> Result<(), EphemeralError> {
        // PX 0 is refused by Redis; an already-expired entry is simply not stored.
        let ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return Ok(());
        }
        redis::cmd("SET")
            .arg(format!("{}{key}", self.prefix))
            .arg(state)
            .arg("PX")
            .arg(ms)
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(backend)
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        redis::cmd("GETDEL")
            .arg(format!("{}{key}", self.prefix))
            .query_async::<Option<Vec<u8>>>(&mut self.conn.clone())
            .await
            .map_err(backend)
    }

    async fn ping(&self) -> Result<(), EphemeralError> {
        redis::cmd("PING")
            .query_async::<String>(&mut self.conn.clone())
            .await
            .map(drop)
            .map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn passwords_stay_out_of_messages() {
        assert_eq!(
            redact("redis://:hunter2@cache:6379/0"),
            "redis://***@cache:6379/0"
        );
        assert_eq!(redact("redis://cache:6379"), "redis://cache:6379");
    }
}
