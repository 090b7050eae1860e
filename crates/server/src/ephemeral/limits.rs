//! Rate-limit state: token buckets and failure counters, in process memory or in Redis (shared
//! by every instance). Both keep only counters and times, never request contents.

use super::EphemeralError;
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Token buckets and failure counters.
#[async_trait]
pub trait RateLimiter: Send + Sync + 'static {
    /// Takes one token from bucket `key` (holding at most `capacity`, refilled at `per_second`).
    /// `None` when allowed; otherwise how long until a token is back.
    async fn take(
        &self,
        key: &str,
        capacity: u32,
        per_second: f64,
    ) -> Result<Option<Duration>, EphemeralError>;
    /// Counts a failure for `key` (forgotten `ttl` after the first); returns the count.
    async fn fail(&self, key: &str, ttl: Duration) -> Result<u32, EphemeralError>;
    /// The failures counted for `key` and how long ago the last one was.
    async fn failures(&self, key: &str) -> Result<(u32, Duration), EphemeralError>;
    /// Forgets `key`'s failures (after a success).
    async fn clear(&self, key: &str) -> Result<(), EphemeralError>;
}

/// Most keys kept in memory; beyond it the oldest are dropped (a flood of addresses cannot
/// exhaust memory; at worst it forgets some buckets, which lets their owners through).
const MEMORY_CAPACITY: usize = 100_000;

#[derive(Debug, Default)]
struct Tables {
    buckets: HashMap<String, (f64, Instant)>,
    failures: HashMap<String, (u32, Instant, Instant)>, // count, expires, last
}

/// In-process rate-limit state.
#[derive(Debug, Default)]
pub struct MemoryLimiter {
    tables: Mutex<Tables>,
}

impl MemoryLimiter {
    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn trim<V>(map: &mut HashMap<String, V>, age: impl Fn(&V) -> Instant) {
    if map.len() < MEMORY_CAPACITY {
        return;
    }
    let mut times: Vec<Instant> = map.values().map(&age).collect();
    times.sort_unstable();
    let cutoff = times[times.len() / 2];
    map.retain(|_, v| age(v) > cutoff);
}

#[async_trait]
impl RateLimiter for MemoryLimiter {
    async fn take(
        &self,
        key: &str,
        capacity: u32,
        per_second: f64,
    ) -> Result<Option<Duration>, EphemeralError> {
        let now = Instant::now();
        let mut t = self.lock();
        trim(&mut t.buckets, |v| v.1);
        let cap = f64::from(capacity);
        let (tokens, at) = t.buckets.get(key).copied().unwrap_or((cap, now));
        let tokens = (tokens + now.duration_since(at).as_secs_f64() * per_second).min(cap);
        if tokens >= 1.0 {
            t.buckets.insert(key.to_owned(), (tokens - 1.0, now));
            Ok(None)
        } else {
            t.buckets.insert(key.to_owned(), (tokens, now));
            Ok(Some(Duration::from_secs_f64((1.0 - tokens) / per_second)))
        }
    }

    async fn fail(&self, key: &str, ttl: Duration) -> Result<u32, EphemeralError> {
        let now = Instant::now();
        let mut t = self.lock();
        trim(&mut t.failures, |v| v.2);
        let entry = t
            .failures
            .entry(key.to_owned())
            .or_insert((0, now + ttl, now));
        if entry.1 <= now {
            *entry = (0, now + ttl, now);
        }
        entry.0 = entry.0.saturating_add(1);
        entry.2 = now;
        Ok(entry.0)
    }

    async fn failures(&self, key: &str) -> Result<(u32, Duration), EphemeralError> {
        let now = Instant::now();
        Ok(match self.lock().failures.get(key) {
            Some((n, expires, last)) if *expires > now => (*n, now.duration_since(*last)),
            _ => (0, Duration::ZERO),
        })
    }

    async fn clear(&self, key: &str) -> Result<(), EphemeralError> {
        self.lock().failures.remove(key);
        Ok(())
    }
}

/// Redis rate-limit state: each bucket a hash updated by one Lua script (atomic, on Redis's
/// clock, so every instance sees the same bucket), failures an `INCR` with an expiry.
#[derive(Clone)]
pub struct RedisLimiter {
    conn: redis::aio::ConnectionManager,
    prefix: String,
    bucket: redis::Script,
    fail: redis::Script,
}

impl std::fmt::Debug for RedisLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimiter")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

const BUCKET_LUA: &str = r"
local cap = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(s[1]) or cap
local ts = tonumber(s[2]) or now
tokens = math.min(cap, tokens + (now - ts) / 1000 * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) / rate * 1000) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(cap / rate * 1000) + 1000)
return wait
";

const FAIL_LUA: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local t = redis.call('TIME')
redis.call('SET', KEYS[2], t[1], 'PX', ARGV[1])
return n
";

fn backend(e: impl std::fmt::Display) -> EphemeralError {
    EphemeralError::Backend(format!("redis: {e}"))
}

impl RedisLimiter {
    /// Uses the connection of an open [`super::redis::RedisChallenges`]; keys are `prefix` +
    /// `rl:` + key.
    pub fn new(conn: redis::aio::ConnectionManager, prefix: &str) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}rl:"),
            bucket: redis::Script::new(BUCKET_LUA),
            fail: redis::Script::new(FAIL_LUA),
        }
    }
}

#[async_trait]
impl RateLimiter for RedisLimiter {
    async fn take(
        &self,
        key: &str,
        capacity: u32,
        per_second: f64,
    ) -> Result<Option<Duration>, EphemeralError> {
        let wait_ms: u64 = self
            .bucket
            .key(format!("{}b:{key}", self.prefix))
            .arg(capacity)
            .arg(per_second)
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        Ok((wait_ms > 0).then(|| Duration::from_millis(wait_ms)))
    }

    async fn fail(&self, key: &str, ttl: Duration) -> Result<u32, EphemeralError> {
        let n: u32 = self
            .fail
            .key(format!("{}f:{key}", self.prefix))
            .key(format!("{}fl:{key}", self.prefix))
            .arg(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1))
            .invoke_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        Ok(n)
    }

    async fn failures(&self, key: &str) -> Result<(u32, Duration), EphemeralError> {
        let (n, last, now): (Option<u32>, Option<u64>, (u64, u64)) = redis::pipe()
            .get(format!("{}f:{key}", self.prefix))
            .get(format!("{}fl:{key}", self.prefix))
            .cmd("TIME")
            .query_async(&mut self.conn.clone())
            .await
            .map_err(backend)?;
        let ago = last.map_or(Duration::ZERO, |l| {
            Duration::from_secs(now.0.saturating_sub(l))
        });
        Ok((n.unwrap_or(0), ago))
    }

    async fn clear(&self, key: &str) -> Result<(), EphemeralError> {
        redis::cmd("DEL")
            .arg(format!("{}f:{key}", self.prefix))
            .arg(format!("{}fl:{key}", self.prefix))
            .query_async::<()>(&mut self.conn.clone())
            .await
            .map_err(backend)
    }
}
