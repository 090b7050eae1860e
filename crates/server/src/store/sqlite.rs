//! [`Store`](super::Store) on SQLite through sqlx: one file in the data directory, migrations
//! embedded in the binary and run at start. The statements are [`super::sql`]'s, shared with
//! PostgreSQL.

use super::sql::backend;
use super::{MIGRATOR, StoreError};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow};
use std::path::Path;
use std::time::Duration;

/// SQLite-backed storage.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs pending migrations.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5));
        // One connection: SQLite admits one writer at a time, and several connections made
        // writers wait by sleeping and retrying (up to the busy timeout, then "database is
        // locked"). Queueing on the pool instead is fair, never times out a write that merely
        // waited its turn, and keeps one page cache warm.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| backend(format!("migrations: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes the pool (waits for connections to be returned).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

super::sql::sql_store!(SqliteStore, sqlx::Sqlite, SqliteRow);
