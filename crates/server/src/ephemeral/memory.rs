//! [`ChallengeStore`] in process memory: a map behind a mutex, expired entries dropped when
//! read and swept when the map grows.

use super::{ChallengeStore, EphemeralError};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Default cap on pending ceremonies kept in memory.
pub const DEFAULT_CAPACITY: usize = 100_000;

/// In-memory challenge store for a single server process.
#[derive(Debug)]
pub struct MemoryChallenges {
    entries: Mutex<HashMap<String, (Instant, Vec<u8>)>>,
    capacity: usize,
}

impl Default for MemoryChallenges {
    fn default() -> Self {
        Self::with_capacity(DEFAULT_CAPACITY)
    }
}

impl MemoryChallenges {
    /// A store that holds at most `capacity` unexpired entries.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (Instant, Vec<u8>)>> {
        // A panic while holding the lock cannot leave the map inconsistent (every operation
        // is a single insert or remove), so a poisoned lock is still usable.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ChallengeStore for MemoryChallenges {
    async fn put(&self, key: &str, state: Vec<u8>, ttl: Duration) -> Result<(), EphemeralError> {
        let now = Instant::now();
        let mut map = self.lock();
        if map.len() >= self.capacity {
            map.retain(|_, (expires, _)| *expires > now);
            if map.len() >= self.capacity {
                return Err(EphemeralError::Full);
            }
        }
        map.insert(key.to_owned(), (now + ttl, state));
        Ok(())
    }

    async fn take(&self, key: &str) -> Result<Option<Vec<u8>>, EphemeralError> {
        let entry = self.lock().remove(key);
        Ok(entry
            .filter(|(expires, _)| *expires > Instant::now())
            .map(|(_, state)| state))
    }

    async fn pending(&self) -> Result<Option<u64>, EphemeralError> {
        let now = Instant::now();
        let n = self.lock().values().filter(|(e, _)| *e > now).count();
        Ok(Some(u64::try_from(n).unwrap_or(u64::MAX)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn take_returns_the_state_once() {
        let s = MemoryChallenges::default();
        s.put("k", b"state".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(s.take("k").await.unwrap().as_deref(), Some(&b"state"[..]));
        assert_eq!(s.take("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn expired_state_is_refused() {
        let s = MemoryChallenges::default();
        s.put("k", b"state".to_vec(), Duration::ZERO).await.unwrap();
        assert_eq!(s.take("k").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_full_store_refuses_new_entries_but_sweeps_expired_ones() {
        let s = MemoryChallenges::with_capacity(1);
        s.put("old", vec![], Duration::ZERO).await.unwrap();
        s.put("a", vec![], Duration::from_secs(60)).await.unwrap();
        assert_eq!(
            s.put("b", vec![], Duration::from_secs(60)).await,
            Err(EphemeralError::Full)
        );
    }
}
