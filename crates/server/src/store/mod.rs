//! Durable storage behind one trait written for what the services need. Each method is one
//! atomic operation in every backend: "create this account with its first passkey", "advance
//! this counter if it still has the value I read", "delete this passkey unless it is the last".
//!
//! Backends: [`sqlite::SqliteStore`] (the embedded default) and [`postgres::PgStore`] (shared by
//! many instances), both over the same migrations (`crates/server/migrations`, portable SQL)
//! and the same statements ([`sql`]).

pub mod postgres;
pub(crate) mod sql;
pub mod sqlite;
mod sqlite_signin;

use async_trait::async_trait;

/// The embedded migrations (`crates/server/migrations`), one history for every SQL backend.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// An account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The WebAuthn user handle: 32 random bytes, never personal data.
    pub handle: Vec<u8>,
    /// The unique username (normalised: trimmed, lower-case).
    pub username: String,
    /// The name shown to the user.
    pub display_name: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The policy tier this account requires; `None`: its group's, else the policy default.
    pub required_tier: Option<String>,
    /// The account's group (a group can carry a tier); `None`: none.
    pub group: Option<String>,
}

/// Whether a credential may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialStatus {
    /// Usable.
    Active,
    /// Temporarily unusable (e.g. a suspected clone), kept for audit.
    Suspended,
    /// Permanently unusable.
    Revoked,
}

impl CredentialStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
        }
    }

    /// Parses the stored name; anything unknown is treated as revoked (fail closed).
    pub fn parse(s: &str) -> Self {
        match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            _ => Self::Revoked,
        }
    }
}

/// A credential record: everything §7.1 step 27 asks to keep, plus what the account pages show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The credential id.
    pub id: Vec<u8>,
    /// The owning account's user handle.
    pub user_handle: Vec<u8>,
    /// The COSE_Key bytes as registered.
    pub public_key_cose: Vec<u8>,
    /// The COSE algorithm identifier.
    pub alg: i64,
    /// The signature counter last seen.
    pub sign_count: u32,
    /// How many assertions have been accepted: the version the counter compare-and-set checks,
    /// so that even counter-less (always 0) authenticators advance at most once per value read.
    pub use_count: i64,
    /// Transports reported at registration.
    pub transports: Vec<String>,
    /// The authenticator model.
    pub aaguid: [u8; 16],
    /// Attestation statement format (`none`, `packed`, ...).
    pub attestation_format: String,
    /// Attestation type (`none`, `self`, `basic`, `attca`, `anonca`).
    pub attestation_type: String,
    /// Trust summary: `trusted: <anchor subject>`, `no_trust_path` or `not_evaluated`.
    pub attestation_trust: String,
    /// `platform` or `cross-platform`, when reported.
    pub authenticator_attachment: Option<String>,
    /// BE: a synced (multi-device) passkey. Fixed at registration.
    pub backup_eligible: bool,
    /// BS: currently backed up.
    pub backup_state: bool,
    /// Whether user verification has been seen for this credential.
    pub uv_initialized: bool,
    /// The name the user sees.
    pub name: String,
    /// Whether it may be used.
    pub status: CredentialStatus,
    /// Why it is not active, if it is not.
    pub status_reason: Option<String>,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds of the last accepted assertion.
    pub last_used_at: Option<i64>,
    /// The registration's attestation object (CBOR), for re-verifying attestation later.
    pub attestation_object: Vec<u8>,
    /// The registration's client data JSON, which the attestation signature covers.
    pub attestation_client_data_json: Vec<u8>,
}

/// A compare-and-set on a credential's counter state after a verified assertion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterAdvance {
    /// The `sign_count` read before verification.
    pub expected_sign_count: u32,
    /// The `use_count` read before verification.
    pub expected_use_count: i64,
    /// The counter to store.
    pub new_sign_count: u32,
    /// BS to store.
    pub backup_state: bool,
    /// `uvInitialized` to store.
    pub uv_initialized: bool,
    /// Unix seconds.
    pub last_used_at: i64,
}

/// The writes of one verified sign-in ([`Store::complete_sign_ins`]).
#[derive(Debug, Clone)]
pub struct SignInWrite {
    /// The credential used.
    pub credential_id: Vec<u8>,
    /// Its counter compare-and-set.
    pub advance: CounterAdvance,
    /// The new session.
    pub session: Session,
    /// The hash of the browser's previous session, revoked by this sign-in.
    pub replacing: Option<[u8; 32]>,
    /// The `sign_in` audit event (numbered and chained when written).
    pub audit: AuditEvent,
}

/// What [`Store::delete_credential`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteOutcome {
    /// The credential is gone.
    Deleted,
    /// The user has no such credential.
    NotFound,
    /// Refused: it is the user's last active credential.
    LastActive,
}

/// A server-side session. The cookie holds a random token; only its SHA-256 is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token.
    pub id_hash: [u8; 32],
    /// A second random id, shown in session lists and used to revoke another session; it
    /// cannot be turned into a cookie.
    pub public_id: String,
    /// The signed-in account.
    pub user_handle: Vec<u8>,
    /// The credential used to sign in.
    pub credential_id: Vec<u8>,
    /// Whether the sign-in had user verification.
    pub user_verified: bool,
    /// Unix seconds.
    pub authenticated_at: i64,
    /// Unix seconds of the last request (for the idle timeout).
    pub last_seen_at: i64,
    /// Unix seconds: the absolute expiry.
    pub expires_at: i64,
    /// Unix seconds, when revoked (signed out).
    pub revoked_at: Option<i64>,
    /// The browser's User-Agent at sign-in, to recognise the session in a list.
    pub user_agent: Option<String>,
    /// NIST SP 800-63B authenticator assurance level of the sign-in (1-3).
    pub aal: u8,
    /// The highest policy tier the sign-in's credential and ceremony met.
    pub tier: Option<String>,
    /// Why the level is what it is (reason codes such as `user_verified`, `device_bound`).
    pub assurance_reasons: Vec<String>,
}

/// A step-up: a fresh ceremony that raised a session's assurance for one action, until
/// `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elevation {
    /// What it allows (`delete_account`, or an application's own action name).
    pub action: String,
    /// The assurance level the step-up ceremony reached.
    pub aal: u8,
    /// The credential used.
    pub credential_id: Vec<u8>,
    /// Unix seconds.
    pub granted_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
}

/// One audit event. `seq`, `prev_hash` and `hash` are assigned when it is appended.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEvent {
    /// Position in the chain, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who did it: `user:<handle>`, `admin:<name>`, `system`, `anonymous`.
    pub actor: String,
    /// Whom it concerns.
    pub subject: Option<String>,
    /// `sign_in`, `sign_up`, `passkey_added`, `step_up`, ...
    pub event: String,
    /// `success`, `failure` or `refused`.
    pub outcome: String,
    /// base64url.
    pub credential_id: Option<String>,
    /// The authenticator model.
    pub aaguid: Option<String>,
    /// The signature counter seen.
    pub counter: Option<i64>,
    /// The request's `Origin`.
    pub origin: Option<String>,
    /// The client's address.
    pub client_addr: Option<String>,
    /// A JSON object: the precise reason of a failure, names, levels.
    pub details: String,
    /// The previous event's hash (64 zeros before the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of this event's fields and `prev_hash`.
    pub hash: String,
}

/// The hash before the first event.
pub const AUDIT_GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

impl AuditEvent {
    /// A new event (not yet appended) of `event` by `actor` with `outcome`.
    pub fn new(event: &str, actor: impl Into<String>, outcome: &str) -> Self {
        Self {
            seq: 0,
            at: 0,
            actor: actor.into(),
            subject: None,
            event: event.to_owned(),
            outcome: outcome.to_owned(),
            credential_id: None,
            aaguid: None,
            counter: None,
            origin: None,
            client_addr: None,
            details: "{}".to_owned(),
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    /// SHA-256 (hex) over a JSON array of every field but `hash`, in a fixed order.
    pub fn compute_hash(&self) -> String {
        let canonical = serde_json::json!([
            self.seq,
            self.at,
            self.actor,
            self.subject,
            self.event,
            self.outcome,
            self.credential_id,
            self.aaguid,
            self.counter,
            self.origin,
            self.client_addr,
            self.details,
            self.prev_hash,
        ]);
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.to_string().as_bytes());
        digest
            .as_ref()
            .iter()
            .fold(String::with_capacity(64), |mut s, b| {
                use std::fmt::Write as _;
                let _ = write!(s, "{b:02x}");
                s
            })
    }
}

/// An identity-proofing record.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProofingRecord {
    /// Random id.
    pub id: String,
    /// The account.
    #[serde(skip)]
    pub user_handle: Vec<u8>,
    /// NIST SP 800-63A identity assurance level, 1-3.
    pub ial: u8,
    /// How identity was established.
    pub method: String,
    /// Where the evidence is kept (a reference, never the document).
    pub evidence_ref: String,
    /// Who verified.
    pub verified_by: String,
    /// Unix seconds.
    pub verified_at: i64,
}

/// An account-recovery enrolment link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryLink {
    /// SHA-256 of the link's token.
    pub token_hash: [u8; 32],
    /// The account.
    pub user_handle: Vec<u8>,
    /// The proofing record it is bound to.
    pub proofing_id: String,
    /// Who issued it (`admin:...`).
    pub created_by: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub expires_at: i64,
    /// When it was used.
    pub used_at: Option<i64>,
    /// The passkey enrolled through it.
    pub credential_id: Option<Vec<u8>>,
    /// When the owner cancelled it.
    pub cancelled_at: Option<i64>,
    /// `recovery` or `enrolment`.
    pub purpose: String,
}

/// A signed checkpoint of the audit chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditCheckpoint {
    /// The event it covers.
    pub seq: i64,
    /// That event's hash.
    pub hash: String,
    /// Which audit key signed.
    pub key_id: String,
    /// base64url Ed25519 signature over [`checkpoint_message`].
    pub signature: String,
    /// Unix seconds.
    pub at: i64,
}

/// The bytes a checkpoint signature covers.
pub fn checkpoint_message(seq: i64, hash: &str) -> Vec<u8> {
    format!("passkeyd audit checkpoint v1\n{seq}\n{hash}").into_bytes()
}

/// A storage failure the services can act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A user with this username already exists.
    UsernameTaken,
    /// A credential with this id already exists (for any user).
    CredentialExists,
    /// The backend failed (I/O, corruption, connection).
    Backend(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UsernameTaken => f.write_str("username already registered"),
            Self::CredentialExists => f.write_str("credential id already registered"),
            Self::Backend(e) => write!(f, "storage backend: {e}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// Durable storage of accounts, credentials and sessions.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Whether the backend answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates an account together with its first credential, atomically (a sign-up that
    /// fails half-way leaves nothing behind).
    async fn create_account(
        &self,
        user: &User,
        credential: &Credential,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The account with this (normalised) username.
    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// The account with this user handle.
    async fn user_by_handle(&self, handle: &[u8]) -> Result<Option<User>, StoreError>;

    /// Adds a credential to an existing account; [`StoreError::CredentialExists`] when the id
    /// is registered to anyone.
    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The account's credentials, oldest first.
    async fn credentials_for_user(&self, user_handle: &[u8])
    -> Result<Vec<Credential>, StoreError>;
    /// The credential with this id, whoever holds it.
    async fn credential_by_id(&self, id: &[u8]) -> Result<Option<Credential>, StoreError>;
    /// A credential with the account that owns it, in one query (a sign-in needs both).
    async fn credential_with_owner(
        &self,
        id: &[u8],
    ) -> Result<Option<(Credential, Option<User>)>, StoreError>;
    /// Renames one of the account's credentials; false when it has no such credential.
    async fn rename_credential(
        &self,
        user_handle: &[u8],
        id: &[u8],
        name: &str,
    ) -> Result<bool, StoreError>;
    /// Deletes one of the account's credentials unless it is the last active one.
    async fn delete_credential(
        &self,
        user_handle: &[u8],
        id: &[u8],
    ) -> Result<DeleteOutcome, StoreError>;
    /// Stores the new counter state if the stored state is still the expected one; true when
    /// it did. For one expected state this succeeds at most once, so a replayed or concurrent
    /// second use of the same assertion fails.
    async fn advance_counter(
        &self,
        id: &[u8],
        advance: &CounterAdvance,
    ) -> Result<bool, StoreError>;

    /// Completes a verified sign-in in one transaction: the counter compare-and-set of
    /// [`Store::advance_counter`], then the new session, then the revocation of the session it
    /// replaces, then the audit event. False (and nothing written) when the compare-and-set
    /// lost.
    async fn complete_sign_in(
        &self,
        credential_id: &[u8],
        advance: &CounterAdvance,
        session: &Session,
        replacing: Option<&[u8; 32]>,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError> {
        let write = SignInWrite {
            credential_id: credential_id.to_vec(),
            advance: *advance,
            session: session.clone(),
            replacing: replacing.copied(),
            audit: audit.clone(),
        };
        let won = self.complete_sign_ins(std::slice::from_ref(&write)).await?;
        Ok(won.first().copied().unwrap_or(false))
    }

    /// Completes several verified sign-ins in one transaction (group commit: one durable
    /// commit for all of them). Each is applied as [`Store::complete_sign_in`] would, in the
    /// order given, so of two sign-ins with the same expected counter state only the first
    /// wins. The answer has one element per sign-in: false when its compare-and-set lost
    /// (nothing of it is written). An error means nothing at all was written.
    async fn complete_sign_ins(&self, batch: &[SignInWrite]) -> Result<Vec<bool>, StoreError>;

    /// The secret stored under `name`, storing `candidate` first if there is none: every
    /// instance sharing the store gets the same value, whichever started first.
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// The secret stored under `name` with its version, if any.
    async fn load_secret(&self, name: &str) -> Result<Option<(i64, Vec<u8>)>, StoreError>;
    /// Stores `value` under `name` if the stored version is still `expected` (`None`: if there
    /// is none yet), bumping the version; true when it did. Of several instances replacing
    /// the same version at once, exactly one wins.
    async fn replace_secret(
        &self,
        name: &str,
        expected: Option<i64>,
        value: &[u8],
    ) -> Result<bool, StoreError>;

    /// Completes a verified step-up in one transaction: the counter compare-and-set, then the
    /// elevation for `session_hash` (replacing an older one for the same action). False (and
    /// nothing written) when the compare-and-set lost.
    async fn complete_step_up(
        &self,
        credential_id: &[u8],
        advance: &CounterAdvance,
        session_hash: &[u8; 32],
        elevation: &Elevation,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Appends `event` to the audit chain (assigning its sequence number, time when 0, previous
    /// hash and hash); returns the sequence number.
    async fn append_audit(&self, event: &AuditEvent) -> Result<i64, StoreError>;
    /// Up to `limit` events after `after_seq`, in order.
    async fn audit_events(&self, after_seq: i64, limit: i64)
    -> Result<Vec<AuditEvent>, StoreError>;
    /// The last sequence number and hash (`0` and [`AUDIT_GENESIS`] when empty).
    async fn audit_head(&self) -> Result<(i64, String), StoreError>;
    /// Stores a checkpoint (idempotent per sequence number).
    async fn insert_checkpoint(&self, checkpoint: &AuditCheckpoint) -> Result<(), StoreError>;
    /// Every checkpoint, in order.
    async fn audit_checkpoints(&self) -> Result<Vec<AuditCheckpoint>, StoreError>;
    /// The session's elevations that have not expired at `now`.
    async fn elevations(
        &self,
        session_hash: &[u8; 32],
        now: i64,
    ) -> Result<Vec<Elevation>, StoreError>;
    /// Sets the tier an account requires and its group; false when there is no such user.
    async fn set_user_policy(
        &self,
        username: &str,
        required_tier: Option<&str>,
        group: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Deletes an account with its credentials, sessions and elevations; false when there is
    /// no such account.
    async fn delete_user(&self, handle: &[u8]) -> Result<bool, StoreError>;

    /// Sets a credential's status and the reason; false when there is no such credential.
    async fn set_credential_status(
        &self,
        id: &[u8],
        status: CredentialStatus,
        reason: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// The distinct AAGUIDs of active credentials.
    async fn aaguids_in_use(&self) -> Result<Vec<[u8; 16]>, StoreError>;
    /// Suspends every active credential of model `aaguid` with `reason`; returns the
    /// credentials suspended (id, owner).
    async fn suspend_aaguid(
        &self,
        aaguid: &[u8; 16],
        reason: &str,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>, StoreError>;

    /// Accounts whose username contains `query` (all when empty), by username, at most `limit`.
    async fn list_users(&self, query: &str, limit: i64) -> Result<Vec<User>, StoreError>;
    /// Records an identity proofing (and its audit event, in one transaction).
    async fn add_proofing(
        &self,
        record: &ProofingRecord,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The account's proofing records, newest first.
    async fn proofing_records(&self, user_handle: &[u8])
    -> Result<Vec<ProofingRecord>, StoreError>;

    /// Stores a new recovery link (and its audit event).
    async fn create_recovery_link(
        &self,
        link: &RecoveryLink,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// The link whose token hashes to `token_hash`.
    async fn recovery_link(
        &self,
        token_hash: &[u8; 32],
    ) -> Result<Option<RecoveryLink>, StoreError>;
    /// The account's most recently used, not cancelled link.
    async fn last_recovery(&self, user_handle: &[u8]) -> Result<Option<RecoveryLink>, StoreError>;
    /// Uses a link, in one transaction: marks it used if it is unused, not cancelled and not
    /// expired at `now`, stores the credential and the session, and the audit event. False (and
    /// nothing written) when the link cannot be used.
    async fn complete_recovery(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        credential: &Credential,
        session: &Session,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;
    /// Cancels a used link: marks it, revokes its passkey and that passkey's sessions, and
    /// records the audit event, in one transaction. False when it was already cancelled.
    async fn cancel_recovery(
        &self,
        token_hash: &[u8; 32],
        now: i64,
        audit: &AuditEvent,
    ) -> Result<bool, StoreError>;

    /// Replaces what the last FIDO metadata BLOB (numbered `blob_no`) says about models: their
    /// latest statuses (AAGUID, MDS3 status name) and their attestation roots (AAGUID, DER
    /// certificates), with its audit event, in one transaction.
    async fn replace_mds(
        &self,
        statuses: &[([u8; 16], String)],
        roots: &[([u8; 16], Vec<Vec<u8>>)],
        blob_no: i64,
        audit: &AuditEvent,
    ) -> Result<(), StoreError>;
    /// A model's latest status in the last imported BLOB, if it lists the model.
    async fn mds_status(&self, aaguid: &[u8; 16]) -> Result<Option<String>, StoreError>;
    /// Every listed model's latest status in the last imported BLOB.
    async fn mds_statuses(&self) -> Result<Vec<([u8; 16], String)>, StoreError>;
    /// A model's attestation roots (DER) in the last imported BLOB.
    async fn mds_roots(&self, aaguid: &[u8; 16]) -> Result<Vec<Vec<u8>>, StoreError>;

    /// Creates an account without a credential (an administrator's, for enrolment through a
    /// link), with its audit event.
    async fn create_user(&self, user: &User, audit: &AuditEvent) -> Result<(), StoreError>;

    /// The account's behavioural template (JSON), if any.
    async fn behavior_template(&self, user_handle: &[u8]) -> Result<Option<String>, StoreError>;
    /// Stores the account's behavioural template.
    async fn put_behavior_template(
        &self,
        user_handle: &[u8],
        template: &str,
        now: i64,
    ) -> Result<(), StoreError>;
    /// A session's trust state (JSON), if any.
    async fn session_risk(&self, id_hash: &[u8; 32]) -> Result<Option<String>, StoreError>;
    /// Stores a session's trust state.
    async fn put_session_risk(&self, id_hash: &[u8; 32], state: &str) -> Result<(), StoreError>;

    /// Stores a new session.
    async fn create_session(&self, session: &Session) -> Result<(), StoreError>;
    /// The session whose token hashes to `id_hash` (revoked and expired ones included: the
    /// caller decides).
    async fn session_by_hash(&self, id_hash: &[u8; 32]) -> Result<Option<Session>, StoreError>;
    /// Records activity on a session.
    async fn touch_session(&self, id_hash: &[u8; 32], now: i64) -> Result<(), StoreError>;
    /// Revokes a session; false when it was not active.
    async fn revoke_session(&self, id_hash: &[u8; 32], now: i64) -> Result<bool, StoreError>;
    /// Revokes one of the account's sessions by its public id; false when there is no such
    /// active session.
    async fn revoke_session_by_public_id(
        &self,
        user_handle: &[u8],
        public_id: &str,
        now: i64,
    ) -> Result<bool, StoreError>;
    /// The account's sessions that are neither revoked nor past their absolute expiry, newest
    /// first.
    async fn sessions_for_user(
        &self,
        user_handle: &[u8],
        now: i64,
    ) -> Result<Vec<Session>, StoreError>;
    /// Deletes sessions that ended (revoked, or past their absolute expiry) before `before`;
    /// returns how many. Idempotent, so every instance may run it.
    async fn purge_sessions(&self, before: i64) -> Result<u64, StoreError>;
    /// How many sessions are live at `now`: not revoked, before their absolute expiry, and
    /// seen after `idle_cutoff` (the metrics gauge).
    async fn count_live_sessions(&self, now: i64, idle_cutoff: i64) -> Result<u64, StoreError>;
}
