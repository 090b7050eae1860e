//! The SQL both relational backends share: one set of portable statements (`$N` placeholders,
//! which SQLite and PostgreSQL both accept) and one [`Store`] implementation, stamped out for
//! each sqlx driver by [`sql_store!`]. A macro rather than generic code because sqlx's
//! executor bounds over an abstract database would bury the queries under trait bounds; the
//! text is written once either way, so the backends cannot drift apart.
//!
//! Every multi-statement operation runs in one transaction: a dropped connection, a pool
//! timeout or a statement timeout rolls it back whole, never leaving half of it applied.

use super::{AuditEvent, Credential, CredentialStatus, StoreError, User};
use passkeyd_webauthn::aaguid::parse_aaguid;
use passkeyd_webauthn::b64;

pub(crate) fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Maps a unique-constraint violation to the domain error it means. SQLite names the column
/// (`UNIQUE constraint failed: users.username`), PostgreSQL the constraint
/// (`users_username_key`, `credentials_pkey`).
pub(crate) fn insert_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
    {
        let what = format!("{} {}", db.message(), db.constraint().unwrap_or_default());
        if what.contains("username") {
            return StoreError::UsernameTaken;
        }
        if what.contains("credentials.id") || what.contains("credentials_pkey") {
            return StoreError::CredentialExists;
        }
    }
    backend(e)
}

pub(crate) const INSERT_CREDENTIAL: &str = "INSERT INTO credentials (id, user_handle, public_key, alg, \
     sign_count, use_count, transports, aaguid, attestation_format, attestation_type, \
     attestation_trust, authenticator_attachment, backup_eligible, backup_state, uv_initialized, \
     name, status, status_reason, created_at, last_used_at, attestation_object, \
     attestation_client_data_json) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, \
     $20, $21, $22)";

/// Reads a row's columns by name, whichever driver produced it: the sqlx rows of both
/// backends ([`sql_store!`]) and the direct SQLite connections of the sign-in path
/// ([`super::sqlite_signin`]), so that a credential is decoded by one function.
pub(crate) trait Columns {
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;

    /// A base64url text column's bytes.
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        b64::decode(&self.text(column)?).map_err(|e| backend(format!("column {column}: {e}")))
    }

    /// A nullable base64url column; NULL (rows older than the column) reads as empty.
    fn opt_bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
        self.opt_text(column)?
            .map(|t| b64::decode(&t).map_err(|e| backend(format!("column {column}: {e}"))))
            .transpose()
            .map(Option::unwrap_or_default)
    }
}

/// A `credentials` row.
pub(crate) fn credential_from(row: &impl Columns) -> Result<Credential, StoreError> {
    let aaguid = row.text("aaguid")?;
    Ok(Credential {
        id: row.bytes("id")?,
        user_handle: row.bytes("user_handle")?,
        public_key_cose: row.bytes("public_key")?,
        alg: row.int("alg")?,
        sign_count: u32::try_from(row.int("sign_count")?).map_err(backend)?,
        use_count: row.int("use_count")?,
        transports: row
            .text("transports")?
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .collect(),
        aaguid: parse_aaguid(&aaguid).ok_or_else(|| backend("column aaguid: not a UUID"))?,
        attestation_format: row.text("attestation_format")?,
        attestation_type: row.text("attestation_type")?,
        attestation_trust: row.text("attestation_trust")?,
        authenticator_attachment: row.opt_text("authenticator_attachment")?,
        backup_eligible: row.flag("backup_eligible")?,
        backup_state: row.flag("backup_state")?,
        uv_initialized: row.flag("uv_initialized")?,
        name: row.text("name")?,
        status: CredentialStatus::parse(&row.text("status")?),
        status_reason: row.opt_text("status_reason")?,
        created_at: row.int("created_at")?,
        last_used_at: row.opt_int("last_used_at")?,
        attestation_object: row.opt_bytes("attestation_object")?,
        attestation_client_data_json: row.opt_bytes("attestation_client_data_json")?,
    })
}

/// A credential with its owner: a row of [`CREDENTIAL_WITH_OWNER`].
pub(crate) fn credential_with_owner_from(
    row: &impl Columns,
) -> Result<(Credential, Option<User>), StoreError> {
    let c = credential_from(row)?;
    let owner = match row.opt_text("owner_username")? {
        None => None,
        Some(username) => Some(User {
            handle: c.user_handle.clone(),
            username,
            display_name: row.text("owner_display_name")?,
            created_at: row.int("owner_created_at")?,
            required_tier: row.opt_text("owner_required_tier")?,
            group: row.opt_text("owner_group_name")?,
        }),
    };
    Ok((c, owner))
}

/// A credential and the account that owns it (NULL owner columns when it has none).
pub(crate) const CREDENTIAL_WITH_OWNER: &str = "SELECT c.*, u.username AS owner_username, \
     u.display_name AS owner_display_name, u.created_at AS owner_created_at, \
     u.required_tier AS owner_required_tier, u.group_name AS owner_group_name \
     FROM credentials c LEFT JOIN users u ON u.handle = c.user_handle WHERE c.id = $1";

/// The counter compare-and-set of a sign-in ([`super::Store::advance_counter`]).
pub(crate) const ADVANCE_COUNTER: &str = "UPDATE credentials SET sign_count = $1, backup_state = $2, \
     uv_initialized = $3, last_used_at = $4, use_count = use_count + 1 \
     WHERE id = $5 AND sign_count = $6 AND use_count = $7 AND status = 'active'";

/// The start of a session insert; the values follow, in this order.
pub(crate) const INSERT_SESSION: &str = "INSERT INTO sessions (id_hash, public_id, user_handle, \
     credential_id, user_verified, authenticated_at, last_seen_at, expires_at, revoked_at, \
     user_agent, aal, tier, assurance_reasons) ";

/// The start of an audit event insert; the values follow, in this order.
pub(crate) const INSERT_AUDIT: &str = "INSERT INTO audit_events (seq, at, actor, subject, event, \
     outcome, credential_id, aaguid, counter, origin, client_addr, details, prev_hash, hash) ";

/// Takes the next `n` audit numbers under the head's lock: the last one and the head's hash.
pub(crate) const AUDIT_TAKE_NUMBERS: &str =
    "UPDATE audit_head SET seq = seq + $1 WHERE id = 1 RETURNING seq, hash";

/// Moves the audit head's hash to the last appended event's.
pub(crate) const AUDIT_SET_HEAD: &str = "UPDATE audit_head SET hash = $1 WHERE id = 1";

/// Numbers and chains `events` after the head (whose numbers up to `last` were just taken and
/// whose hash is `prev_hash`); events without a time get `at`.
pub(crate) fn chain_audits(
    last: i64,
    mut prev_hash: String,
    events: &[&AuditEvent],
    at: i64,
) -> Vec<AuditEvent> {
    let n = i64::try_from(events.len()).unwrap_or(i64::MAX);
    let mut chained = Vec::with_capacity(events.len());
    for (i, e) in (last - n + 1..).zip(events) {
        let mut e = (*e).clone();
        e.seq = i;
        if e.at == 0 {
            e.at = at;
        }
        e.prev_hash = std::mem::take(&mut prev_hash);
        e.hash = e.compute_hash();
        prev_hash.clone_from(&e.hash);
        chained.push(e);
    }
    chained
}

/// Implements [`Store`](super::Store) for `$store` (a struct with a `pool` field) over the sqlx
/// driver `$db` whose rows are `$row`.
macro_rules! sql_store {
    ($store:ty, $db:ty, $row:ty) => {
        mod sql_impl {
            use super::*;
            use $crate::store::sql::{
                backend, chain_audits, credential_from, credential_with_owner_from, insert_error,
                unix_now, Columns, ADVANCE_COUNTER, AUDIT_SET_HEAD, AUDIT_TAKE_NUMBERS,
                CREDENTIAL_WITH_OWNER, INSERT_AUDIT, INSERT_CREDENTIAL, INSERT_SESSION,
            };
            use $crate::store::*;
            use async_trait::async_trait;
            use passkeyd_webauthn::aaguid::{format_aaguid, parse_aaguid};
            use passkeyd_webauthn::b64;
            use sqlx::Row;

        impl Columns for $row {
            fn text(&self, column: &str) -> Result<String, StoreError> {
                self.try_get(column).map_err(backend)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
                self.try_get(column).map_err(backend)
            }
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                self.try_get(column).map_err(backend)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
                self.try_get(column).map_err(backend)
            }
            fn flag(&self, column: &str) -> Result<bool, StoreError> {
                self.try_get(column).map_err(backend)
            }
        }

        fn audit_from_row(row: &$row) -> Result<AuditEvent, StoreError> {
            Ok(AuditEvent {
                seq: row.try_get("seq").map_err(backend)?,
                at: row.try_get("at").map_err(backend)?,
                actor: row.try_get("actor").map_err(backend)?,
                subject: row.try_get("subject").map_err(backend)?,
                event: row.try_get("event").map_err(backend)?,
                outcome: row.try_get("outcome").map_err(backend)?,
                credential_id: row.try_get("credential_id").map_err(backend)?,
                aaguid: row.try_get("aaguid").map_err(backend)?,
                counter: row.try_get("counter").map_err(backend)?,
                origin: row.try_get("origin").map_err(backend)?,
                client_addr: row.try_get("client_addr").map_err(backend)?,
                details: row.try_get("details").map_err(backend)?,
                prev_hash: row.try_get("prev_hash").map_err(backend)?,
                hash: row.try_get("hash").map_err(backend)?,
            })
        }

        fn recovery_from_row(row: &$row) -> Result<RecoveryLink, StoreError> {
            let hash = row.bytes("token_hash")?;
            let credential: Option<String> = row.try_get("credential_id").map_err(backend)?;
            Ok(RecoveryLink {
                token_hash: hash
                    .try_into()
                    .map_err(|_| backend("column token_hash: not 32 bytes"))?,
                user_handle: row.bytes("user_handle")?,
                proofing_id: row.try_get("proofing_id").map_err(backend)?,
                created_by: row.try_get("created_by").map_err(backend)?,
                created_at: row.try_get("created_at").map_err(backend)?,
                expires_at: row.try_get("expires_at").map_err(backend)?,
                used_at: row.try_get("used_at").map_err(backend)?,
                credential_id: credential
                    .map(|c| b64::decode(&c).map_err(backend))
                    .transpose()?,
                cancelled_at: row.try_get("cancelled_at").map_err(backend)?,
                purpose: row.try_get("purpose").map_err(backend)?,
            })
        }

        fn user_from_row(row: &$row) -> Result<User, StoreError> {
            Ok(User {
                handle: row.bytes("handle")?,
                username: row.try_get("username").map_err(backend)?,
                display_name: row.try_get("display_name").map_err(backend)?,
                created_at: row.try_get("created_at").map_err(backend)?,
                required_tier: row.try_get("required_tier").map_err(backend)?,
                group: row.try_get("group_name").map_err(backend)?,
            })
        }

        fn credential_from_row(row: &$row) -> Result<Credential, StoreError> {
            credential_from(row)
        }

        fn session_from_row(row: &$row) -> Result<Session, StoreError> {
            let hash = row.bytes("id_hash")?;
            Ok(Session {
                id_hash: hash
                    .try_into()
                    .map_err(|_| backend("column id_hash: not 32 bytes"))?,
                public_id: row.try_get("public_id").map_err(backend)?,
                user_handle: row.bytes("user_handle")?,
                credential_id: row.bytes("credential_id")?,
                user_verified: row.try_get("user_verified").map_err(backend)?,
                authenticated_at: row.try_get("authenticated_at").map_err(backend)?,
                last_seen_at: row.try_get("last_seen_at").map_err(backend)?,
                expires_at: row.try_get("expires_at").map_err(backend)?,
                revoked_at: row.try_get("revoked_at").map_err(backend)?,
                user_agent: row.try_get("user_agent").map_err(backend)?,
                aal: u8::try_from(row.try_get::<i64, _>("aal").map_err(backend)?)
                    .map_err(backend)?,
                tier: row.try_get("tier").map_err(backend)?,
                assurance_reasons: serde_json::from_str(
                    &row.try_get::<String, _>("assurance_reasons").map_err(backend)?,
                )
                .map_err(|e| backend(format!("column assurance_reasons: {e}")))?,
            })
        }
        async fn insert_credential_on<'c, E>(executor: E, c: &Credential) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(INSERT_CREDENTIAL)
                .bind(b64::encode(&c.id))
                .bind(b64::encode(&c.user_handle))
                .bind(b64::encode(&c.public_key_cose))
                .bind(c.alg)
                .bind(i64::from(c.sign_count))
                .bind(c.use_count)
                .bind(c.transports.join(","))
                .bind(format_aaguid(c.aaguid))
                .bind(&c.attestation_format)
                .bind(&c.attestation_type)
                .bind(&c.attestation_trust)
                .bind(&c.authenticator_attachment)
                .bind(c.backup_eligible)
                .bind(c.backup_state)
                .bind(c.uv_initialized)
                .bind(&c.name)
                .bind(c.status.as_str())
                .bind(&c.status_reason)
                .bind(c.created_at)
                .bind(c.last_used_at)
                .bind(b64::encode(&c.attestation_object))
                .bind(b64::encode(&c.attestation_client_data_json))
                .execute(executor)
                .await
                .map_err(insert_error)?;
            Ok(())
        }

        async fn append_audit_on(
            conn: &mut <$db as sqlx::Database>::Connection,
            e: &AuditEvent,
        ) -> Result<i64, StoreError> {
            append_audits_on(conn, &[e]).await
        }

        /// Appends `events` in order, numbered and chained after the head; the last one's
        /// number. Three statements whatever their count.
        async fn append_audits_on(
            conn: &mut <$db as sqlx::Database>::Connection,
            events: &[&AuditEvent],
        ) -> Result<i64, StoreError> {
            let n = i64::try_from(events.len()).map_err(backend)?;
            // Lock the head row (PostgreSQL row lock, SQLite write lock) and take the numbers.
            let (last, prev_hash): (i64, String) = sqlx::query_as(AUDIT_TAKE_NUMBERS)
                .bind(n)
                .fetch_one(&mut *conn)
                .await
                .map_err(backend)?;
            if n == 0 {
                return Ok(last);
            }
            let chained = chain_audits(last, prev_hash, events, unix_now());
            let head = chained.last().map(|e| e.hash.clone()).unwrap_or_default();
            sqlx::query(AUDIT_SET_HEAD)
                .bind(&head)
                .execute(&mut *conn)
                .await
                .map_err(backend)?;
            let mut q = sqlx::QueryBuilder::<$db>::new(INSERT_AUDIT);
            q.push_values(&chained, |mut row, e| {
                row.push_bind(e.seq)
                    .push_bind(e.at)
                    .push_bind(&e.actor)
                    .push_bind(&e.subject)
                    .push_bind(&e.event)
                    .push_bind(&e.outcome)
                    .push_bind(&e.credential_id)
                    .push_bind(&e.aaguid)
                    .push_bind(e.counter)
                    .push_bind(&e.origin)
                    .push_bind(&e.client_addr)
                    .push_bind(&e.details)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            q.build().execute(&mut *conn).await.map_err(backend)?;
            Ok(last)
        }

        async fn insert_user_on<'c, E>(executor: E, user: &User) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            sqlx::query(
                "INSERT INTO users (handle, username, display_name, created_at, required_tier, \
                 group_name) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(b64::encode(&user.handle))
            .bind(&user.username)
            .bind(&user.display_name)
            .bind(user.created_at)
            .bind(&user.required_tier)
            .bind(&user.group)
            .execute(executor)
            .await
            .map_err(insert_error)?;
            Ok(())
        }

        async fn advance_counter_on<'c, E>(
            executor: E,
            id: &[u8],
            a: &CounterAdvance,
        ) -> Result<bool, StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            let r = sqlx::query(ADVANCE_COUNTER)
            .bind(i64::from(a.new_sign_count))
            .bind(a.backup_state)
            .bind(a.uv_initialized)
            .bind(a.last_used_at)
            .bind(b64::encode(id))
            .bind(i64::from(a.expected_sign_count))
            .bind(a.expected_use_count)
            .execute(executor)
            .await
            .map_err(backend)?;
            Ok(r.rows_affected() == 1)
        }

        async fn insert_sessions_on<'c, 's, E>(
            executor: E,
            sessions: impl IntoIterator<Item = &'s Session>,
        ) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            let mut rows = Vec::new();
            for s in sessions {
                let reasons = serde_json::to_string(&s.assurance_reasons).map_err(backend)?;
                rows.push((s, reasons));
            }
            let mut q = sqlx::QueryBuilder::<$db>::new(INSERT_SESSION);
            q.push_values(rows, |mut row, (s, reasons)| {
                row.push_bind(b64::encode(s.id_hash))
                    .push_bind(s.public_id.clone())
                    .push_bind(b64::encode(&s.user_handle))
                    .push_bind(b64::encode(&s.credential_id))
                    .push_bind(s.user_verified)
                    .push_bind(s.authenticated_at)
                    .push_bind(s.last_seen_at)
                    .push_bind(s.expires_at)
                    .push_bind(s.revoked_at)
                    .push_bind(s.user_agent.clone())
                    .push_bind(i64::from(s.aal))
                    .push_bind(s.tier.clone())
                    .push_bind(reasons);
            });
            q.build().execute(executor).await.map_err(backend)?;
            Ok(())
        }

        async fn insert_session_on<'c, E>(executor: E, s: &Session) -> Result<(), StoreError>
        where
            E: sqlx::Executor<'c, Database = $db>,
        {
            insert_sessions_on(executor, std::iter::once(s)).await
        }

        /// [`Store::credential_with_owner`] on a pool (what the SQLite sign-in path does on
        /// its own connection).
        #[allow(dead_code)]
        pub(super) async fn credential_with_owner_on(
            pool: &sqlx::Pool<$db>,
            id: &[u8],
        ) -> Result<Option<(Credential, Option<User>)>, StoreError> {
            sqlx::query(CREDENTIAL_WITH_OWNER)
                .bind(b64::encode(id))
                .fetch_optional(pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(credential_with_owner_from)
                .transpose()
        }

        /// [`Store::complete_sign_ins`] on a pool.
        #[allow(dead_code)]
        pub(super) async fn complete_sign_ins_on(
            pool: &sqlx::Pool<$db>,
            batch: &[SignInWrite],
        ) -> Result<Vec<bool>, StoreError> {
            if batch.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = pool.begin().await.map_err(backend)?;
            let mut won = Vec::with_capacity(batch.len());
            for w in batch {
                won.push(advance_counter_on(&mut *tx, &w.credential_id, &w.advance).await?);
            }
            let winners: Vec<&SignInWrite> = batch
                .iter()
                .zip(&won)
                .filter_map(|(w, &ok)| ok.then_some(w))
                .collect();
            if winners.is_empty() {
                return Ok(won);
            }
            insert_sessions_on(&mut *tx, winners.iter().map(|w| &w.session)).await?;
            let replaced: Vec<String> = winners
                .iter()
                .filter_map(|w| w.replacing.as_ref().map(b64::encode))
                .collect();
            if !replaced.is_empty() {
                let mut q = sqlx::QueryBuilder::<$db>::new("UPDATE sessions SET revoked_at = ");
                q.push_bind(winners[0].advance.last_used_at);
                q.push(" WHERE revoked_at IS NULL AND id_hash IN (");
                let mut list = q.separated(", ");
                for h in replaced {
                    list.push_bind(h);
                }
                q.push(")");
                q.build().execute(&mut *tx).await.map_err(backend)?;
            }
            let events: Vec<&AuditEvent> = winners.iter().map(|w| &w.audit).collect();
            append_audits_on(&mut tx, &events).await?;
            tx.commit().await.map_err(backend)?;
            Ok(won)
        }

        #[async_trait]
        impl Store for $store {
            async fn ping(&self) -> Result<(), StoreError> {
                sqlx::query("SELECT 1")
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn create_account(
                &self,
                user: &User,
                credential: &Credential,
                audit: &AuditEvent,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                insert_user_on(&mut *tx, user).await?;
                insert_credential_on(&mut *tx, credential).await?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE username = $1")
                    .bind(username)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn user_by_handle(&self, handle: &[u8]) -> Result<Option<User>, StoreError> {
                sqlx::query("SELECT * FROM users WHERE handle = $1")
                    .bind(b64::encode(handle))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(user_from_row)
                    .transpose()
            }

            async fn insert_credential(
                &self,
                credential: &Credential,
                audit: &AuditEvent,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                insert_credential_on(&mut *tx, credential).await?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn credentials_for_user(
                &self,
                user_handle: &[u8],
            ) -> Result<Vec<Credential>, StoreError> {
                sqlx::query("SELECT * FROM credentials WHERE user_handle = $1 ORDER BY created_at, id")
                    .bind(b64::encode(user_handle))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(backend)?
                    .iter()
                    .map(credential_from_row)
                    .collect()
            }

            async fn credential_by_id(&self, id: &[u8]) -> Result<Option<Credential>, StoreError> {
                sqlx::query("SELECT * FROM credentials WHERE id = $1")
                    .bind(b64::encode(id))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(credential_from_row)
                    .transpose()
            }

            async fn credential_with_owner(
                &self,
                id: &[u8],
            ) -> Result<Option<(Credential, Option<User>)>, StoreError> {
                self.read_credential_with_owner(id).await
            }

            async fn rename_credential(
                &self,
                user_handle: &[u8],
                id: &[u8],
                name: &str,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE credentials SET name = $1 WHERE id = $2 AND user_handle = $3")
                    .bind(name)
                    .bind(b64::encode(id))
                    .bind(b64::encode(user_handle))
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_credential(
                &self,
                user_handle: &[u8],
                id: &[u8],
            ) -> Result<DeleteOutcome, StoreError> {
                let (user, id) = (b64::encode(user_handle), b64::encode(id));
                let mut tx = self.pool.begin().await.map_err(backend)?;
                // Lock the account first (a no-op write: a row lock in PostgreSQL, the write lock in
                // SQLite), so two concurrent deletes of a user's last two passkeys are serialised and
                // the second sees that only one remains.
                sqlx::query("UPDATE users SET created_at = created_at WHERE handle = $1")
                    .bind(&user)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let exists = sqlx::query("SELECT 1 FROM credentials WHERE id = $1 AND user_handle = $2")
                    .bind(&id)
                    .bind(&user)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?
                    .is_some();
                if !exists {
                    return Ok(DeleteOutcome::NotFound);
                }
                let (others,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM credentials WHERE user_handle = $1 AND id <> $2 \
                     AND status = 'active'",
                )
                .bind(&user)
                .bind(&id)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                if others == 0 {
                    return Ok(DeleteOutcome::LastActive);
                }
                sqlx::query("DELETE FROM credentials WHERE id = $1 AND user_handle = $2")
                    .bind(&id)
                    .bind(&user)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(DeleteOutcome::Deleted)
            }

            async fn advance_counter(&self, id: &[u8], a: &CounterAdvance) -> Result<bool, StoreError> {
                advance_counter_on(&self.pool, id, a).await
            }

            async fn complete_sign_ins(
                &self,
                batch: &[SignInWrite],
            ) -> Result<Vec<bool>, StoreError> {
                self.write_sign_ins(batch).await
            }

            async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
                sqlx::query(
                    "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (name) DO NOTHING",
                )
                .bind(name)
                .bind(b64::encode(candidate))
                .bind(unix_now())
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                let (value,): (String,) = sqlx::query_as("SELECT value FROM secrets WHERE name = $1")
                    .bind(name)
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)?;
                b64::decode(&value).map_err(|e| backend(format!("secret {name}: {e}")))
            }

            async fn load_secret(&self, name: &str) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
                let row: Option<(i64, String)> =
                    sqlx::query_as("SELECT version, value FROM secrets WHERE name = $1")
                        .bind(name)
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                row.map(|(version, value)| {
                    b64::decode(&value)
                        .map(|v| (version, v))
                        .map_err(|e| backend(format!("secret {name}: {e}")))
                })
                .transpose()
            }

            async fn replace_secret(
                &self,
                name: &str,
                expected: Option<i64>,
                value: &[u8],
            ) -> Result<bool, StoreError> {
                let r = match expected {
                    None => sqlx::query(
                        "INSERT INTO secrets (name, value, created_at, version) \
                         VALUES ($1, $2, $3, 0) ON CONFLICT (name) DO NOTHING",
                    )
                    .bind(name)
                    .bind(b64::encode(value))
                    .bind(unix_now())
                    .execute(&self.pool)
                    .await,
                    Some(v) => sqlx::query(
                        "UPDATE secrets SET value = $1, version = version + 1 \
                         WHERE name = $2 AND version = $3",
                    )
                    .bind(b64::encode(value))
                    .bind(name)
                    .bind(v)
                    .execute(&self.pool)
                    .await,
                }
                .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn purge_sessions(&self, before: i64) -> Result<u64, StoreError> {
                sqlx::query(
                    "DELETE FROM elevations WHERE expires_at < $1 OR session_hash IN \
                     (SELECT id_hash FROM sessions WHERE expires_at < $1 \
                      OR (revoked_at IS NOT NULL AND revoked_at < $1))",
                )
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                let r = sqlx::query(
                    "DELETE FROM sessions WHERE expires_at < $1 \
                     OR (revoked_at IS NOT NULL AND revoked_at < $1)",
                )
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(r.rows_affected())
            }

            async fn complete_step_up(
                &self,
                credential_id: &[u8],
                advance: &CounterAdvance,
                session_hash: &[u8; 32],
                e: &Elevation,
                audit: &AuditEvent,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                if !advance_counter_on(&mut *tx, credential_id, advance).await? {
                    return Ok(false);
                }
                let hash = b64::encode(session_hash);
                sqlx::query("DELETE FROM elevations WHERE session_hash = $1 AND action = $2")
                    .bind(&hash)
                    .bind(&e.action)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                sqlx::query(
                    "INSERT INTO elevations (session_hash, action, aal, credential_id, granted_at, \
                     expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&hash)
                .bind(&e.action)
                .bind(i64::from(e.aal))
                .bind(b64::encode(&e.credential_id))
                .bind(e.granted_at)
                .bind(e.expires_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            async fn append_audit(&self, event: &AuditEvent) -> Result<i64, StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                let seq = append_audit_on(&mut tx, event).await?;
                tx.commit().await.map_err(backend)?;
                Ok(seq)
            }

            async fn audit_events(
                &self,
                after_seq: i64,
                limit: i64,
            ) -> Result<Vec<AuditEvent>, StoreError> {
                sqlx::query(
                    "SELECT * FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
                )
                .bind(after_seq)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?
                .iter()
                .map(audit_from_row)
                .collect()
            }

            async fn audit_head(&self) -> Result<(i64, String), StoreError> {
                sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                    .fetch_one(&self.pool)
                    .await
                    .map_err(backend)
            }

            async fn insert_checkpoint(&self, c: &AuditCheckpoint) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO audit_checkpoints (seq, hash, key_id, signature, at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
                )
                .bind(c.seq)
                .bind(&c.hash)
                .bind(&c.key_id)
                .bind(&c.signature)
                .bind(c.at)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>, StoreError> {
                let rows: Vec<(i64, String, String, String, i64)> = sqlx::query_as(
                    "SELECT seq, hash, key_id, signature, at FROM audit_checkpoints ORDER BY seq",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                Ok(rows
                    .into_iter()
                    .map(|(seq, hash, key_id, signature, at)| AuditCheckpoint {
                        seq,
                        hash,
                        key_id,
                        signature,
                        at,
                    })
                    .collect())
            }

            async fn elevations(
                &self,
                session_hash: &[u8; 32],
                now: i64,
            ) -> Result<Vec<Elevation>, StoreError> {
                let rows: Vec<(String, i64, String, i64, i64)> = sqlx::query_as(
                    "SELECT action, aal, credential_id, granted_at, expires_at FROM elevations \
                     WHERE session_hash = $1 AND expires_at > $2 ORDER BY action",
                )
                .bind(b64::encode(session_hash))
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|(action, aal, credential_id, granted_at, expires_at)| {
                        Ok(Elevation {
                            action,
                            aal: u8::try_from(aal).map_err(backend)?,
                            credential_id: b64::decode(&credential_id)
                                .map_err(|e| backend(format!("column credential_id: {e}")))?,
                            granted_at,
                            expires_at,
                        })
                    })
                    .collect()
            }

            async fn set_user_policy(
                &self,
                username: &str,
                required_tier: Option<&str>,
                group: Option<&str>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE users SET required_tier = $1, group_name = $2 WHERE username = $3",
                )
                .bind(required_tier)
                .bind(group)
                .bind(username)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn delete_user(&self, handle: &[u8]) -> Result<bool, StoreError> {
                let handle = b64::encode(handle);
                let mut tx = self.pool.begin().await.map_err(backend)?;
                // Children first, so the result does not depend on foreign-key cascades.
                sqlx::query(
                    "DELETE FROM elevations WHERE session_hash IN \
                     (SELECT id_hash FROM sessions WHERE user_handle = $1)",
                )
                .bind(&handle)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                for table in [
                    "recovery_links",
                    "proofing_records",
                    "behavior_templates",
                    "sessions",
                    "credentials",
                ] {
                    sqlx::query(&format!("DELETE FROM {table} WHERE user_handle = $1"))
                        .bind(&handle)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                let r = sqlx::query("DELETE FROM users WHERE handle = $1")
                    .bind(&handle)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn set_credential_status(
                &self,
                id: &[u8],
                status: CredentialStatus,
                reason: Option<&str>,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query("UPDATE credentials SET status = $1, status_reason = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind(reason)
                    .bind(b64::encode(id))
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn aaguids_in_use(&self) -> Result<Vec<[u8; 16]>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT DISTINCT aaguid FROM credentials WHERE status = 'active' ORDER BY aaguid",
                )
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|(a,)| parse_aaguid(&a).ok_or_else(|| backend("column aaguid: not a UUID")))
                    .collect()
            }

            async fn suspend_aaguid(
                &self,
                aaguid: &[u8; 16],
                reason: &str,
            ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                let aaguid = format_aaguid(*aaguid);
                let rows: Vec<(String, String)> = sqlx::query_as(
                    "SELECT id, user_handle FROM credentials WHERE aaguid = $1 AND status = 'active' ORDER BY id",
                )
                .bind(&aaguid)
                .fetch_all(&mut *tx)
                .await
                .map_err(backend)?;
                sqlx::query(
                    "UPDATE credentials SET status = 'suspended', status_reason = $1 \
                     WHERE aaguid = $2 AND status = 'active'",
                )
                .bind(reason)
                .bind(&aaguid)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                tx.commit().await.map_err(backend)?;
                rows.into_iter()
                    .map(|(id, user)| {
                        Ok((
                            b64::decode(&id).map_err(backend)?,
                            b64::decode(&user).map_err(backend)?,
                        ))
                    })
                    .collect()
            }

            async fn behavior_template(
                &self,
                user_handle: &[u8],
            ) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT template FROM behavior_templates WHERE user_handle = $1")
                        .bind(b64::encode(user_handle))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                Ok(row.map(|r| r.0))
            }

            async fn put_behavior_template(
                &self,
                user_handle: &[u8],
                template: &str,
                now: i64,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO behavior_templates (user_handle, template, updated_at) \
                     VALUES ($1, $2, $3) ON CONFLICT (user_handle) \
                     DO UPDATE SET template = excluded.template, updated_at = excluded.updated_at",
                )
                .bind(b64::encode(user_handle))
                .bind(template)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            async fn session_risk(&self, id_hash: &[u8; 32]) -> Result<Option<String>, StoreError> {
                let row: Option<(Option<String>,)> =
                    sqlx::query_as("SELECT risk_state FROM sessions WHERE id_hash = $1")
                        .bind(b64::encode(id_hash))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                Ok(row.and_then(|r| r.0))
            }

            async fn put_session_risk(&self, id_hash: &[u8; 32], state: &str) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET risk_state = $1 WHERE id_hash = $2")
                    .bind(state)
                    .bind(b64::encode(id_hash))
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn list_users(&self, query: &str, limit: i64) -> Result<Vec<User>, StoreError> {
                let pattern = format!(
                    "%{}%",
                    query.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
                );
                sqlx::query(
                    "SELECT * FROM users WHERE username LIKE $1 ESCAPE '\\' ORDER BY username LIMIT $2",
                )
                .bind(pattern)
                .bind(limit)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?
                .iter()
                .map(user_from_row)
                .collect()
            }

            async fn add_proofing(
                &self,
                r: &ProofingRecord,
                audit: &AuditEvent,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                sqlx::query(
                    "INSERT INTO proofing_records (id, user_handle, ial, method, evidence_ref, \
                     verified_by, verified_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&r.id)
                .bind(b64::encode(&r.user_handle))
                .bind(i64::from(r.ial))
                .bind(&r.method)
                .bind(&r.evidence_ref)
                .bind(&r.verified_by)
                .bind(r.verified_at)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn proofing_records(
                &self,
                user_handle: &[u8],
            ) -> Result<Vec<ProofingRecord>, StoreError> {
                let rows: Vec<(String, i64, String, String, String, i64)> = sqlx::query_as(
                    "SELECT id, ial, method, evidence_ref, verified_by, verified_at \
                     FROM proofing_records WHERE user_handle = $1 ORDER BY verified_at DESC, id",
                )
                .bind(b64::encode(user_handle))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|(id, ial, method, evidence_ref, verified_by, verified_at)| {
                        Ok(ProofingRecord {
                            id,
                            user_handle: user_handle.to_vec(),
                            ial: u8::try_from(ial).map_err(backend)?,
                            method,
                            evidence_ref,
                            verified_by,
                            verified_at,
                        })
                    })
                    .collect()
            }

            async fn create_recovery_link(
                &self,
                l: &RecoveryLink,
                audit: &AuditEvent,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                sqlx::query(
                    "INSERT INTO recovery_links (token_hash, user_handle, proofing_id, created_by, \
                     created_at, expires_at, purpose) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(b64::encode(l.token_hash))
                .bind(b64::encode(&l.user_handle))
                .bind(&l.proofing_id)
                .bind(&l.created_by)
                .bind(l.created_at)
                .bind(l.expires_at)
                .bind(&l.purpose)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn recovery_link(
                &self,
                token_hash: &[u8; 32],
            ) -> Result<Option<RecoveryLink>, StoreError> {
                sqlx::query("SELECT * FROM recovery_links WHERE token_hash = $1")
                    .bind(b64::encode(token_hash))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(recovery_from_row)
                    .transpose()
            }

            async fn last_recovery(
                &self,
                user_handle: &[u8],
            ) -> Result<Option<RecoveryLink>, StoreError> {
                sqlx::query(
                    "SELECT * FROM recovery_links WHERE user_handle = $1 AND used_at IS NOT NULL \
                     AND cancelled_at IS NULL AND purpose = 'recovery' ORDER BY used_at DESC LIMIT 1",
                )
                .bind(b64::encode(user_handle))
                .fetch_optional(&self.pool)
                .await
                .map_err(backend)?
                .as_ref()
                .map(recovery_from_row)
                .transpose()
            }

            async fn complete_recovery(
                &self,
                token_hash: &[u8; 32],
                now: i64,
                credential: &Credential,
                session: &Session,
                audit: &AuditEvent,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                let r = sqlx::query(
                    "UPDATE recovery_links SET used_at = $1, credential_id = $2 \
                     WHERE token_hash = $3 AND used_at IS NULL AND cancelled_at IS NULL \
                     AND expires_at > $1",
                )
                .bind(now)
                .bind(b64::encode(&credential.id))
                .bind(b64::encode(token_hash))
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                insert_credential_on(&mut *tx, credential).await?;
                insert_session_on(&mut *tx, session).await?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            async fn cancel_recovery(
                &self,
                token_hash: &[u8; 32],
                now: i64,
                audit: &AuditEvent,
            ) -> Result<bool, StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                let hash = b64::encode(token_hash);
                let r = sqlx::query(
                    "UPDATE recovery_links SET cancelled_at = $1 \
                     WHERE token_hash = $2 AND cancelled_at IS NULL",
                )
                .bind(now)
                .bind(&hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                if r.rows_affected() != 1 {
                    return Ok(false);
                }
                sqlx::query(
                    "UPDATE credentials SET status = 'revoked', \
                     status_reason = 'recovery cancelled by the account owner' \
                     WHERE id = (SELECT credential_id FROM recovery_links WHERE token_hash = $1)",
                )
                .bind(&hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE revoked_at IS NULL AND credential_id = \
                     (SELECT credential_id FROM recovery_links WHERE token_hash = $2)",
                )
                .bind(now)
                .bind(&hash)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)?;
                Ok(true)
            }

            async fn replace_mds(
                &self,
                statuses: &[([u8; 16], String)],
                roots: &[([u8; 16], Vec<Vec<u8>>)],
                blob_no: i64,
                audit: &AuditEvent,
            ) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                for table in ["DELETE FROM mds_status", "DELETE FROM mds_roots"] {
                    sqlx::query(table)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                for (aaguid, certs) in roots {
                    for (position, der) in certs.iter().enumerate() {
                        sqlx::query(
                            "INSERT INTO mds_roots (aaguid, position, cert) VALUES ($1, $2, $3) \
                             ON CONFLICT (aaguid, position) DO UPDATE SET cert = excluded.cert",
                        )
                        .bind(format_aaguid(*aaguid))
                        .bind(i64::try_from(position).unwrap_or(i64::MAX))
                        .bind(b64::encode(der))
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    }
                }
                let t = unix_now();
                for (aaguid, status) in statuses {
                    sqlx::query(
                        "INSERT INTO mds_status (aaguid, status, blob_no, updated_at) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (aaguid) DO UPDATE SET status = excluded.status",
                    )
                    .bind(format_aaguid(*aaguid))
                    .bind(status)
                    .bind(blob_no)
                    .bind(t)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn mds_statuses(&self) -> Result<Vec<([u8; 16], String)>, StoreError> {
                let rows: Vec<(String, String)> =
                    sqlx::query_as("SELECT aaguid, status FROM mds_status")
                        .fetch_all(&self.pool)
                        .await
                        .map_err(backend)?;
                Ok(rows
                    .into_iter()
                    .filter_map(|(a, st)| Some((parse_aaguid(&a)?, st)))
                    .collect())
            }

            async fn mds_roots(&self, aaguid: &[u8; 16]) -> Result<Vec<Vec<u8>>, StoreError> {
                let rows: Vec<(String,)> = sqlx::query_as(
                    "SELECT cert FROM mds_roots WHERE aaguid = $1 ORDER BY position",
                )
                .bind(format_aaguid(*aaguid))
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|(c,)| {
                        b64::decode(&c).map_err(|e| backend(format!("column mds_roots.cert: {e}")))
                    })
                    .collect()
            }

            async fn mds_status(&self, aaguid: &[u8; 16]) -> Result<Option<String>, StoreError> {
                let row: Option<(String,)> =
                    sqlx::query_as("SELECT status FROM mds_status WHERE aaguid = $1")
                        .bind(format_aaguid(*aaguid))
                        .fetch_optional(&self.pool)
                        .await
                        .map_err(backend)?;
                Ok(row.map(|r| r.0))
            }

            async fn create_user(&self, user: &User, audit: &AuditEvent) -> Result<(), StoreError> {
                let mut tx = self.pool.begin().await.map_err(backend)?;
                insert_user_on(&mut *tx, user).await?;
                append_audit_on(&mut tx, audit).await?;
                tx.commit().await.map_err(backend)
            }

            async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
                insert_session_on(&self.pool, s).await
            }

            async fn session_by_hash(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError> {
                sqlx::query("SELECT * FROM sessions WHERE id_hash = $1")
                    .bind(b64::encode(id_hash))
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(backend)?
                    .as_ref()
                    .map(session_from_row)
                    .transpose()
            }

            async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), StoreError> {
                sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                    .bind(now)
                    .bind(b64::encode(id_hash))
                    .execute(&self.pool)
                    .await
                    .map_err(backend)?;
                Ok(())
            }

            async fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 WHERE id_hash = $2 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(b64::encode(id_hash))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn revoke_session_by_public_id(
                &self,
                user_handle: &[u8],
                public_id: &str,
                now: i64,
            ) -> Result<bool, StoreError> {
                let r = sqlx::query(
                    "UPDATE sessions SET revoked_at = $1 \
                     WHERE public_id = $2 AND user_handle = $3 AND revoked_at IS NULL",
                )
                .bind(now)
                .bind(public_id)
                .bind(b64::encode(user_handle))
                .execute(&self.pool)
                .await
                .map_err(backend)?;
                Ok(r.rows_affected() == 1)
            }

            async fn sessions_for_user(
                &self,
                user_handle: &[u8],
                now: i64,
            ) -> Result<Vec<Session>, StoreError> {
                sqlx::query(
                    "SELECT * FROM sessions WHERE user_handle = $1 AND revoked_at IS NULL \
                     AND expires_at > $2 ORDER BY authenticated_at DESC, public_id",
                )
                .bind(b64::encode(user_handle))
                .bind(now)
                .fetch_all(&self.pool)
                .await
                .map_err(backend)?
                .iter()
                .map(session_from_row)
                .collect()
            }

            async fn count_live_sessions(&self, now: i64, idle_cutoff: i64) -> Result<u64, StoreError> {
                let (n,): (i64,) = sqlx::query_as(
                    "SELECT COUNT(*) FROM sessions WHERE revoked_at IS NULL \
                     AND expires_at > $1 AND last_seen_at > $2",
                )
                .bind(now)
                .bind(idle_cutoff)
                .fetch_one(&self.pool)
                .await
                .map_err(backend)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
        }
        }
    };
}

pub(crate) use sql_store;
