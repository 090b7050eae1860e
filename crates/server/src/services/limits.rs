//! Abuse controls: a token bucket per client address on every ceremony endpoint, and growing
//! delays (never a lockout) for an account after repeated failed sign-ins.
//!
//! ```text
//!  any ceremony request ──► bucket "a:<address>" (burst, refill/s) ──► 429 + Retry-After
//!  auth/start {username} ──► failures of "u:<username>" beyond the free ones
//!                            ──► wait 2^(n - free - 1) s (at most max_delay) since the last one
//!  auth/finish failure ──► count a failure for the account (username, or the passkey's owner)
//!  auth/finish success ──► forget the account's failures
//! ```
//!
//! Why delays and not lockout: a lockout after N failures lets anyone lock any account out by
//! failing N times on purpose. A delay that grows with the failures and is capped at
//! `account_max_delay_secs` slows guessing to a crawl while the real owner, whose passkey
//! succeeds at the first try, waits at most that long. Passkeys cannot be guessed anyway; the
//! delays limit enumeration and noise. Unknown usernames are counted and delayed exactly like
//! real ones, so the answers reveal nothing.

use crate::ephemeral::limits::RateLimiter;
use crate::error::Error;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// `[rate_limits]` in the configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSection {
    /// Whether limits apply (default true).
    pub enabled: Option<bool>,
    /// Requests a client address may make at once (default 60).
    pub per_address_burst: Option<u32>,
    /// Sustained requests per second per client address (default 5).
    pub per_address_per_second: Option<f64>,
    /// Failed sign-ins of an account before delays start (default 5).
    pub account_free_failures: Option<u32>,
    /// The longest delay, in seconds (default 60).
    pub account_max_delay_secs: Option<u64>,
    /// Registrations a client address may complete per hour before further ones are refused
    /// and an anomaly is recorded (default 10).
    pub registrations_per_address_per_hour: Option<u32>,
    /// Registrations across all accounts per minute above which an anomaly is recorded
    /// (default 300).
    pub registrations_per_minute: Option<u32>,
}

/// Validated limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimits {
    /// Whether limits apply.
    pub enabled: bool,
    /// Bucket capacity per address.
    pub per_address_burst: u32,
    /// Refill per second per address.
    pub per_address_per_second: f64,
    /// Free failures per account.
    pub account_free_failures: u32,
    /// Longest delay.
    pub account_max_delay: Duration,
    /// Registrations per address per hour.
    pub registrations_per_address_per_hour: u32,
    /// Registrations per minute, all accounts.
    pub registrations_per_minute: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self::from_section(&RateLimitSection::default()).expect("defaults are valid")
    }
}

impl RateLimits {
    /// Validates `[rate_limits]`.
    pub fn from_section(s: &RateLimitSection) -> Result<Self, String> {
        let limits = Self {
            enabled: s.enabled.unwrap_or(true),
            per_address_burst: s.per_address_burst.unwrap_or(60),
            per_address_per_second: s.per_address_per_second.unwrap_or(5.0),
            account_free_failures: s.account_free_failures.unwrap_or(5),
            account_max_delay: Duration::from_secs(s.account_max_delay_secs.unwrap_or(60)),
            registrations_per_address_per_hour: s.registrations_per_address_per_hour.unwrap_or(10),
            registrations_per_minute: s.registrations_per_minute.unwrap_or(300),
        };
        if limits.per_address_burst == 0
            || !(limits.per_address_per_second > 0.0 && limits.per_address_per_second.is_finite())
        {
            return Err(
                "rate_limits: per_address_burst and per_address_per_second must be above 0".into(),
            );
        }
        Ok(limits)
    }

    /// The delay owed after `failures` failures.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures <= self.account_free_failures {
            return Duration::ZERO;
        }
        let exp = (failures - self.account_free_failures - 1).min(30);
        Duration::from_secs(1u64 << exp).min(self.account_max_delay)
    }
}

/// The abuse-control service.
pub struct Limits {
    limiter: Arc<dyn RateLimiter>,
    settings: RateLimits,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// How long failures are remembered.
const FAILURE_MEMORY: Duration = Duration::from_secs(3600);

impl Limits {
    /// Limits over `limiter`.
    pub fn new(limiter: Arc<dyn RateLimiter>, settings: RateLimits) -> Self {
        Self { limiter, settings }
    }

    /// Takes a token for a request from `address`; `Error::RateLimited` when its bucket is
    /// empty. Requests without a known address (in-process tests) are not limited. When the
    /// limiter's backend fails, the request goes through (the ceremony needs the same backend
    /// and fails on its own with a 503).
    pub async fn address(&self, address: Option<&str>) -> Result<(), Error> {
        let (true, Some(addr)) = (self.settings.enabled, address) else {
            return Ok(());
        };
        match self
            .limiter
            .take(
                &format!("a:{addr}"),
                self.settings.per_address_burst,
                self.settings.per_address_per_second,
            )
            .await
        {
            Ok(None) => Ok(()),
            Ok(Some(wait)) => Err(Error::RateLimited(wait)),
            Err(e) => {
                tracing::warn!(error = %e, "rate limits: backend failed; not limiting");
                Ok(())
            }
        }
    }

    /// `Error::RateLimited` while `account` owes a delay for its failures.
    pub async fn account(&self, account: &str) -> Result<(), Error> {
        if !self.settings.enabled {
            return Ok(());
        }
        match self.limiter.failures(account).await {
            Ok((n, ago)) => {
                let owed = self.settings.delay_after(n);
                if owed > ago {
                    Err(Error::RateLimited(owed - ago))
                } else {
                    Ok(())
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "rate limits: backend failed; not limiting");
                Ok(())
            }
        }
    }

    /// Counts a failed sign-in for `account`.
    pub async fn failed(&self, account: &str) {
        if self.settings.enabled
            && let Err(e) = self.limiter.fail(account, FAILURE_MEMORY).await
        {
            tracing::warn!(error = %e, "rate limits: cannot count a failure");
        }
    }

    /// Forgets `account`'s failures after a successful sign-in.
    pub async fn succeeded(&self, account: &str) {
        if self.settings.enabled
            && let Err(e) = self.limiter.clear(account).await
        {
            tracing::warn!(error = %e, "rate limits: cannot clear failures");
        }
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const MINUTE: Duration = Duration::from_secs(60);

/// A burst of registrations noticed by [`Limits::registered`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationBurst {
    /// One address reached its hourly allowance; its further registrations are refused.
    Address,
    /// Registrations across all accounts exceeded the per-minute threshold.
    Global,
}

impl RegistrationBurst {
    /// The anomaly kind in the audit trail.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Address => "registration_burst_address",
            Self::Global => "registration_burst_global",
        }
    }
}

impl Limits {
    /// `Error::RateLimited` when `address` has used its hourly registrations.
    pub async fn registration_allowed(&self, address: Option<&str>) -> Result<(), Error> {
        let (true, Some(addr)) = (self.settings.enabled, address) else {
            return Ok(());
        };
        match self.limiter.failures(&format!("r:a:{addr}")).await {
            Ok((n, ago)) if n >= self.settings.registrations_per_address_per_hour => {
                Err(Error::RateLimited(HOUR.saturating_sub(ago).max(MINUTE)))
            }
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(error = %e, "rate limits: backend failed; not limiting");
                Ok(())
            }
        }
    }

    /// Counts a completed registration; returns the bursts it made visible (each once, when
    /// its threshold is reached).
    pub async fn registered(&self, address: Option<&str>) -> Vec<RegistrationBurst> {
        let mut bursts = Vec::new();
        if !self.settings.enabled {
            return bursts;
        }
        if let Some(addr) = address {
            match self.limiter.fail(&format!("r:a:{addr}"), HOUR).await {
                Ok(n) if n == self.settings.registrations_per_address_per_hour => {
                    bursts.push(RegistrationBurst::Address);
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "rate limits: cannot count a registration"),
            }
        }
        match self.limiter.fail("r:all", MINUTE).await {
            Ok(n) if n == self.settings.registrations_per_minute.saturating_add(1) => {
                bursts.push(RegistrationBurst::Global);
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "rate limits: cannot count a registration"),
        }
        bursts
    }
}

/// The failure key of a username.
pub fn username_key(username: &str) -> String {
    format!("u:{username}")
}

/// The failure key of an account's user handle.
pub fn handle_key(handle: &[u8]) -> String {
    format!("h:{}", passkeyd_webauthn::b64::encode(handle))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ephemeral::limits::MemoryLimiter;

    #[test]
    fn delays_grow_and_stop_growing() {
        let l = RateLimits::default();
        let d: Vec<u64> = (0..14).map(|n| l.delay_after(n).as_secs()).collect();
        assert_eq!(d, vec![0, 0, 0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[tokio::test]
    async fn an_address_is_limited_after_its_burst_and_unknown_addresses_are_not() {
        let limits = Limits::new(
            Arc::new(MemoryLimiter::default()),
            RateLimits::from_section(&RateLimitSection {
                per_address_burst: Some(3),
                per_address_per_second: Some(0.5),
                ..RateLimitSection::default()
            })
            .unwrap(),
        );
        for _ in 0..3 {
            limits.address(Some("192.0.2.1")).await.unwrap();
        }
        match limits.address(Some("192.0.2.1")).await {
            Err(Error::RateLimited(wait)) => assert!(wait <= Duration::from_secs(2), "{wait:?}"),
            other => panic!("{other:?}"),
        }
        limits.address(Some("192.0.2.2")).await.unwrap();
        limits.address(None).await.unwrap();
    }

    #[tokio::test]
    async fn failures_delay_the_account_until_a_success() {
        let limits = Limits::new(Arc::new(MemoryLimiter::default()), RateLimits::default());
        for _ in 0..5 {
            limits.failed("u:ann").await;
        }
        limits.account("u:ann").await.unwrap();
        limits.failed("u:ann").await;
        assert!(matches!(
            limits.account("u:ann").await,
            Err(Error::RateLimited(_))
        ));
        limits.account("u:bob").await.unwrap();
        limits.succeeded("u:ann").await;
        limits.account("u:ann").await.unwrap();
    }
}
