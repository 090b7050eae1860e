//! [`Store`](super::Store) on PostgreSQL through sqlx, for several passkeyd instances sharing
//! one database. Same migrations and statements as SQLite ([`super::sql`]).
//!
//! Migrations run at start under sqlx's PostgreSQL advisory lock, so instances starting at
//! once take turns and each sees the schema complete. Connections carry a statement timeout
//! and the pool an acquire timeout, so a stopped or overloaded database makes requests fail
//! within seconds (503) instead of queueing without bound; a lost connection is replaced on
//! the next request, so passkeyd recovers by itself when the database returns.

use super::sql::backend;
use super::{Credential, MIGRATOR, SignInWrite, StoreError, User};
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use std::str::FromStr;
use std::time::Duration;

/// Connections per instance unless the URL's `max_connections` says otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// How long a request waits for a free connection (or a new one) before failing.
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);
/// Server-side limit on one statement; also bounds how long a row lock can be waited for.
pub const STATEMENT_TIMEOUT_MS: u64 = 5_000;

/// PostgreSQL-backed storage.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

/// Splits passkeyd's own `max_connections=N` query parameter off a PostgreSQL URL.
fn split_pool_size(url: &str) -> Result<(String, u32), StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), DEFAULT_MAX_CONNECTIONS));
    };
    let mut size = DEFAULT_MAX_CONNECTIONS;
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("max_connections=") {
            Some(n) => {
                size = n
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or_else(|| backend(format!("max_connections: not a count: {n:?}")))?;
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, size))
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`, optionally `?max_connections=N`) and
    /// runs pending migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let (url, size) = split_pool_size(url)?;
        let options = PgConnectOptions::from_str(&url)
            .map_err(|e| backend(format!("store url: {e}")))?
            .options([
                ("statement_timeout", STATEMENT_TIMEOUT_MS.to_string()),
                ("idle_in_transaction_session_timeout", "10000".to_owned()),
            ])
            .application_name("passkeyd");
        let pool = PgPoolOptions::new()
            .max_connections(size)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // A broken connection fails its request once and is then dropped; checking every
            // connection before use would cost a round trip on every request.
            .test_before_acquire(false)
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot connect to PostgreSQL: {e}")))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| backend(format!("migrations: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    // What sql_store! calls for Store::credential_with_owner and Store::complete_sign_ins
    // (on SQLite these have a path of their own).
    async fn read_credential_with_owner(
        &self,
        id: &[u8],
    ) -> Result<Option<(Credential, Option<User>)>, StoreError> {
        sql_impl::credential_with_owner_on(&self.pool, id).await
    }

    async fn write_sign_ins(&self, batch: &[SignInWrite]) -> Result<Vec<bool>, StoreError> {
        sql_impl::complete_sign_ins_on(&self.pool, batch).await
    }
}

super::sql::sql_store!(PgStore, sqlx::Postgres, PgRow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pool_size_is_taken_off_the_url() {
        assert_eq!(
            split_pool_size("postgres://u@h/db?max_connections=4&sslmode=disable").unwrap(),
            ("postgres://u@h/db?sslmode=disable".to_owned(), 4)
        );
        assert_eq!(
            split_pool_size("postgres://u@h/db").unwrap(),
            ("postgres://u@h/db".to_owned(), DEFAULT_MAX_CONNECTIONS)
        );
        assert!(split_pool_size("postgres://u@h/db?max_connections=0").is_err());
    }
}
