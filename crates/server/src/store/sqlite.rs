//! [`Store`](super::Store) on SQLite through sqlx: one file in the data directory, migrations
//! embedded in the binary and run at start. The statements are [`super::sql`]'s, shared with
//! PostgreSQL. The sign-in path's two operations run on connections of their own
//! ([`super::sqlite_signin`]).

use super::sql::backend;
use super::sqlite_signin::SignInPath;
use super::{Credential, MIGRATOR, SignInWrite, StoreError, User};
use sqlx::SqlitePool;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// SQLite-backed storage.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    checkpoints: SqlitePool,
    sign_ins: Arc<SignInPath>,
}

/// How often the background checkpointer copies the write-ahead log into the database.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);
/// WAL size (pages) at which the connection serving requests checkpoints by itself: a safety
/// net should the background checkpointer fall behind (SQLite's default is 1,000).
pub(crate) const AUTOCHECKPOINT_PAGES: &str = "20000";

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
            .pragma("wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
            .busy_timeout(Duration::from_secs(5));
        // One connection: SQLite admits one writer at a time, and several connections made
        // writers wait by sleeping and retrying (up to the busy timeout, then "database is
        // locked"). Queueing on the pool instead is fair, never times out a write that merely
        // waited its turn, and keeps one page cache warm.
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| backend(format!("migrations: {e}")))?;
        // Checkpoints (copying the log into the database file, with its fsync) run on a
        // connection of their own, in PASSIVE mode: beside the requests' connection rather than
        // on it, so sign-ins never queue behind one. PASSIVE takes no writer lock and never
        // waits; what it cannot copy yet, the next round does.
        let checkpoints = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
        tokio::spawn(checkpoint_loop(checkpoints.clone()));
        let sign_ins = Arc::new(SignInPath::open(path, sync)?);
        Ok(Self {
            pool,
            checkpoints,
            sign_ins,
        })
    }

    /// Copies what it can of the write-ahead log into the database file now (what the
    /// background checkpointer does every [`CHECKPOINT_INTERVAL`]): the log's size in pages
    /// and how many of them are now in the database file.
    pub async fn checkpoint(&self) -> Result<(i64, i64), StoreError> {
        checkpoint_on(&self.checkpoints).await
    }

    /// Closes the pools (waits for connections to be returned).
    pub async fn close(&self) {
        self.sign_ins.close();
        self.pool.close().await;
        self.checkpoints.close().await;
    }

    // The sign-in path (sql_store! calls these for Store::credential_with_owner and
    // Store::complete_sign_ins).
    async fn read_credential_with_owner(
        &self,
        id: &[u8],
    ) -> Result<Option<(Credential, Option<User>)>, StoreError> {
        self.sign_ins.credential_with_owner(id)
    }

    async fn write_sign_ins(&self, batch: &[SignInWrite]) -> Result<Vec<bool>, StoreError> {
        self.sign_ins.complete_sign_ins(batch).await
    }
}

async fn checkpoint_on(pool: &SqlitePool) -> Result<(i64, i64), StoreError> {
    let (_busy, log, done): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(PASSIVE)")
        .fetch_one(pool)
        .await
        .map_err(backend)?;
    Ok((log, done))
}

async fn checkpoint_loop(pool: SqlitePool) {
    let mut tick = tokio::time::interval(CHECKPOINT_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        if let Err(e) = checkpoint_on(&pool).await {
            if pool.is_closed() {
                return;
            }
            tracing::warn!(error = %e, "WAL checkpoint failed; retrying in a second");
        }
    }
}

super::sql::sql_store!(SqliteStore, sqlx::Sqlite, SqliteRow);
