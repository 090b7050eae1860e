//! The sign-in path on SQLite without sqlx's connection worker: the two store operations every
//! sign-in makes ([`Store::credential_with_owner`](super::Store::credential_with_owner) and
//! [`Store::complete_sign_ins`](super::Store::complete_sign_ins)) on connections of their own,
//! driven directly through SQLite's C library (rusqlite).
//!
//! sqlx runs each SQLite connection on a worker thread and hands it every statement, and every
//! row back, through channels: each statement costs two thread hand-offs, and with the server
//! on one core those context switches, not SQLite, were a third of its CPU under sign-in load
//! (docs/performance.md). Here:
//!
//! * the credential lookup runs on the request's own thread, on a read-only connection taken
//!   from a small pool (a read of a few cached pages: microseconds; WAL readers never wait for
//!   the writer);
//! * a batch of sign-ins ([`crate::services::group_commit`]) is one closure sent to a thread
//!   that owns a write connection: one hand-off per batch, whatever its size, and the commit's
//!   `fsync` never blocks the threads serving requests.
//!
//! The statements and the row decoding are [`super::sql`]'s, shared with the sqlx backends.
//! Every other operation stays on sqlx's connection; SQLite serialises the two writers (the
//! second waits for the first's commit, up to the busy timeout).

use super::sql::{
    ADVANCE_COUNTER, AUDIT_SET_HEAD, AUDIT_TAKE_NUMBERS, CREDENTIAL_WITH_OWNER, Columns,
    INSERT_AUDIT, INSERT_SESSION, backend, chain_audits, credential_with_owner_from, unix_now,
};
use super::sqlite::{AUTOCHECKPOINT_PAGES, SqliteSync};
use super::{AuditEvent, Credential, SignInWrite, StoreError, User};
use passkeyd_webauthn::b64;
use rusqlite::{Connection, OpenFlags, TransactionBehavior, params};
use std::path::{Path, PathBuf};
use std::sync::{LazyLock, Mutex, mpsc};
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a write waits for the other writer's transaction before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

static INSERT_SESSION_ROW: LazyLock<String> = LazyLock::new(|| {
    format!("{INSERT_SESSION}VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)")
});
static INSERT_AUDIT_ROW: LazyLock<String> = LazyLock::new(|| {
    format!("{INSERT_AUDIT}VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
});
const REVOKE_SESSION: &str =
    "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND id_hash = $2";

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

enum Command {
    Run(Job),
    Close,
}

/// The sign-in path's connections to one database file.
pub(crate) struct SignInPath {
    path: PathBuf,
    /// Idle read connections; `None` once closed.
    readers: Mutex<Option<Vec<Connection>>>,
    writer: Mutex<Option<mpsc::Sender<Command>>>,
}

impl std::fmt::Debug for SignInPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInPath")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the database is closed".into())
}

fn open(path: &Path, read_only: bool, sync: SqliteSync) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| backend(format!("cannot open {}: {e}", path.display())))?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
    if !read_only {
        let sync = match sync {
            SqliteSync::Full => "FULL",
            SqliteSync::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync)
            .map_err(backend)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(backend)?;
        conn.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)
            .map_err(backend)?;
    }
    Ok(conn)
}

impl SignInPath {
    /// Opens the write connection (and its thread) on an existing, migrated database in WAL
    /// mode; readers are opened as requests need them.
    pub(crate) fn open(path: &Path, sync: SqliteSync) -> Result<Self, StoreError> {
        let mut conn = open(path, false, sync)?;
        let (writer, commands) = mpsc::channel::<Command>();
        std::thread::Builder::new()
            .name("sqlite-sign-ins".into())
            .spawn(move || {
                while let Ok(Command::Run(job)) = commands.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| backend(format!("cannot start the sign-in writer: {e}")))?;
        Ok(Self {
            path: path.to_owned(),
            readers: Mutex::new(Some(Vec::new())),
            writer: Mutex::new(Some(writer)),
        })
    }

    /// Closes the connections: readers at once, the writer after the writes already sent.
    pub(crate) fn close(&self) {
        if let Ok(mut readers) = self.readers.lock() {
            *readers = None;
        }
        if let Some(writer) = self.writer.lock().ok().and_then(|mut w| w.take()) {
            let _ = writer.send(Command::Close);
        }
    }

    /// Runs `read` on a read-only connection, on the calling thread.
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let pooled = match self.readers.lock().as_deref_mut() {
            Ok(Some(idle)) => idle.pop(),
            _ => return Err(closed()),
        };
        let conn = match pooled {
            Some(conn) => conn,
            None => open(&self.path, true, SqliteSync::Full)?,
        };
        let result = read(&conn);
        // Back to the pool unless the store closed meanwhile (then it is dropped: closed).
        if let Ok(Some(idle)) = self.readers.lock().as_deref_mut() {
            idle.push(conn);
        }
        result
    }

    /// Runs `write` on the write connection's thread; its result.
    async fn write<T: Send + 'static>(
        &self,
        write: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = reply.send(write(conn));
        });
        let sent = match self.writer.lock() {
            Ok(w) => w
                .as_ref()
                .is_some_and(|w| w.send(Command::Run(job)).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Err(closed());
        }
        answer.await.map_err(|_| closed())?
    }

    /// [`Store::credential_with_owner`](super::Store::credential_with_owner).
    pub(crate) fn credential_with_owner(
        &self,
        id: &[u8],
    ) -> Result<Option<(Credential, Option<User>)>, StoreError> {
        self.read(|conn| {
            let mut statement = conn
                .prepare_cached(CREDENTIAL_WITH_OWNER)
                .map_err(backend)?;
            let mut rows = statement.query(params![b64::encode(id)]).map_err(backend)?;
            match rows.next().map_err(backend)? {
                Some(row) => credential_with_owner_from(row).map(Some),
                None => Ok(None),
            }
        })
    }

    /// [`Store::complete_sign_ins`](super::Store::complete_sign_ins): one transaction on the
    /// write connection's thread.
    pub(crate) async fn complete_sign_ins(
        &self,
        batch: &[SignInWrite],
    ) -> Result<Vec<bool>, StoreError> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let batch = batch.to_vec();
        self.write(move |conn| complete_sign_ins(conn, &batch))
            .await
    }
}

fn complete_sign_ins(
    conn: &mut Connection,
    batch: &[SignInWrite],
) -> Result<Vec<bool>, StoreError> {
    // IMMEDIATE: the write lock from the start, so the transaction never has to upgrade (and
    // possibly fail) half-way.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(backend)?;
    let mut won = Vec::with_capacity(batch.len());
    {
        let mut advance = tx.prepare_cached(ADVANCE_COUNTER).map_err(backend)?;
        for w in batch {
            let a = &w.advance;
            let changed = advance
                .execute(params![
                    i64::from(a.new_sign_count),
                    a.backup_state,
                    a.uv_initialized,
                    a.last_used_at,
                    b64::encode(&w.credential_id),
                    i64::from(a.expected_sign_count),
                    a.expected_use_count,
                ])
                .map_err(backend)?;
            won.push(changed == 1);
        }
    }
    let winners: Vec<&SignInWrite> = batch
        .iter()
        .zip(&won)
        .filter_map(|(w, &ok)| ok.then_some(w))
        .collect();
    if winners.is_empty() {
        return Ok(won);
    }
    {
        let mut insert = tx.prepare_cached(&INSERT_SESSION_ROW).map_err(backend)?;
        let mut revoke = tx.prepare_cached(REVOKE_SESSION).map_err(backend)?;
        for w in &winners {
            let s = &w.session;
            let reasons = serde_json::to_string(&s.assurance_reasons).map_err(backend)?;
            insert
                .execute(params![
                    b64::encode(s.id_hash),
                    s.public_id,
                    b64::encode(&s.user_handle),
                    b64::encode(&s.credential_id),
                    s.user_verified,
                    s.authenticated_at,
                    s.last_seen_at,
                    s.expires_at,
                    s.revoked_at,
                    s.user_agent,
                    i64::from(s.aal),
                    s.tier,
                    reasons,
                ])
                .map_err(backend)?;
            if let Some(replaced) = &w.replacing {
                revoke
                    .execute(params![w.advance.last_used_at, b64::encode(replaced)])
                    .map_err(backend)?;
            }
        }
    }
    let events: Vec<&AuditEvent> = winners.iter().map(|w| &w.audit).collect();
    append_audits(&tx, &events)?;
    tx.commit().map_err(backend)?;
    Ok(won)
}

/// Numbers, chains and appends `events` (the sqlx backends' `append_audits_on`).
fn append_audits(conn: &Connection, events: &[&AuditEvent]) -> Result<(), StoreError> {
    let n = i64::try_from(events.len()).map_err(backend)?;
    let (last, prev_hash): (i64, String) = conn
        .prepare_cached(AUDIT_TAKE_NUMBERS)
        .and_then(|mut s| s.query_row(params![n], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(backend)?;
    let chained = chain_audits(last, prev_hash, events, unix_now());
    let Some(head) = chained.last() else {
        return Ok(());
    };
    conn.prepare_cached(AUDIT_SET_HEAD)
        .and_then(|mut s| s.execute(params![head.hash]))
        .map_err(backend)?;
    let mut insert = conn.prepare_cached(&INSERT_AUDIT_ROW).map_err(backend)?;
    for e in &chained {
        insert
            .execute(params![
                e.seq,
                e.at,
                e.actor,
                e.subject,
                e.event,
                e.outcome,
                e.credential_id,
                e.aaguid,
                e.counter,
                e.origin,
                e.client_addr,
                e.details,
                e.prev_hash,
                e.hash,
            ])
            .map_err(backend)?;
    }
    Ok(())
}

impl Columns for rusqlite::Row<'_> {
    fn text(&self, column: &str) -> Result<String, StoreError> {
        self.get(column).map_err(backend)
    }
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
        self.get(column).map_err(backend)
    }
    fn int(&self, column: &str) -> Result<i64, StoreError> {
        self.get(column).map_err(backend)
    }
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
        self.get(column).map_err(backend)
    }
    fn flag(&self, column: &str) -> Result<bool, StoreError> {
        self.get(column).map_err(backend)
    }
}
