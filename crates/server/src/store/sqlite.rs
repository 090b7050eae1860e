//! [`Store`](super::Store) on SQLite through sqlx: one file in the data directory, migrations
//! embedded in the binary and run at start. The statements are [`super::sql`]'s, shared with
//! PostgreSQL.

use super::sql::backend;
use super::{MIGRATOR, StoreError};
use sqlx::SqlitePool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::path::Path;
use std::time::Duration;

/// SQLite-backed storage.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

/// When a commit reaches the disk (SQLite's `synchronous` in WAL mode).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqliteSync {
    /// `fsync` of the write-ahead log at every commit, before passkeyd answers: nothing
    /// answered is ever lost. Sign-ins share commits ([`crate::services::group_commit`]).
    #[default]
    Full,
    /// No `fsync` per commit (only at WAL checkpoints): a crash of passkeyd loses nothing, a
    /// power cut or an OS crash can undo the last commits (sessions, counter advances, audit
    /// events of about the last second). The database stays consistent either way.
    Normal,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and runs pending migrations, with every
    /// commit durable ([`SqliteSync::Full`]).
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteSync::Full).await
    }

    /// [`SqliteStore::open`] with the given durability.
    pub async fn open_with(path: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .foreign_keys(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                SqliteSync::Full => SqliteSynchronous::Full,
                SqliteSync::Normal => SqliteSynchronous::Normal,
            })
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
