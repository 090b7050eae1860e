//! One conformance suite for the storage traits, run over every backend: [`Store`] on SQLite
//! (a file in a temporary directory) and on PostgreSQL (a database created for each test), and
//! [`ChallengeStore`] in memory and on Redis (a key prefix for each test).
//!
//! The servers are the real ones: PostgreSQL at `PASSKEYD_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`) and Redis at `PASSKEYD_TEST_REDIS_URL` (default
//! `redis://127.0.0.1:6379`). `.ci/run` starts them when they are down; a test fails, rather than
//! skips, when they do not answer.

use passkeyd_server::ephemeral::ChallengeStore;
use passkeyd_server::ephemeral::memory::MemoryChallenges;
use passkeyd_server::ephemeral::redis::RedisChallenges;
use passkeyd_server::store::postgres::PgStore;
use passkeyd_server::store::sqlite::SqliteStore;
use passkeyd_server::store::{
    AuditEvent, CounterAdvance, Credential, CredentialStatus, DeleteOutcome, Session, SignInWrite,
    Store, StoreError, User,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

mod backend {
    use super::*;
    use sqlx::Connection;

    pub fn postgres_admin_url() -> String {
        std::env::var("PASSKEYD_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
    }

    pub fn redis_url() -> String {
        std::env::var("PASSKEYD_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
    }

    /// A name no other test (or earlier run) uses.
    pub fn unique(tag: &str) -> String {
        static N: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "{tag}_{}_{nanos}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// A fresh PostgreSQL database; dropped by [`drop_database`].
    pub async fn create_database() -> (String, String) {
        let admin = postgres_admin_url();
        let name = unique("passkeyd_t");
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin} does not answer: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin.rsplit_once('/').expect("database in url").0;
        (name.clone(), format!("{base}/{name}"))
    }

    pub async fn drop_database(name: &str) {
        let mut conn = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .expect("admin connection");
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .expect("drop database");
    }

    /// Runs `case` over a store of each kind.
    pub async fn sqlite<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("t.db")).await.unwrap();
        case(Arc::new(store.clone())).await;
        store.close().await;
    }

    pub async fn postgres<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn Store>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let (name, url) = create_database().await;
        let store = PgStore::open(&url).await.unwrap();
        case(Arc::new(store.clone())).await;
        store.close().await;
        drop_database(&name).await;
    }

    pub async fn memory<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn ChallengeStore>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        case(Arc::new(MemoryChallenges::default())).await;
    }

    pub async fn redis<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn ChallengeStore>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let url = redis_url();
        let prefix = format!("{}:", unique("passkeyd_t"));
        let store = RedisChallenges::open(&url, &prefix)
            .await
            .unwrap_or_else(|e| panic!("Redis at {url} does not answer: {e}"));
        case(Arc::new(store)).await;
    }
}

/// Stamps out one test per (case, backend) pair: `$harness::$backend(case)` runs a case of
/// module `$kind` over that backend.
macro_rules! suite {
    ($kind:ident in $harness:ident: $($backend:ident),+ => $cases:tt) => {
        $( suite!(@one $kind $harness $backend $cases); )+
    };
    (@one $kind:ident $harness:ident $backend:ident [$($case:ident),+ $(,)?]) => {
        mod $backend {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$harness::$backend(super::$kind::$case).await;
                }
            )+
        }
    };
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn user(name: &str) -> User {
    let mut handle = name.as_bytes().to_vec();
    handle.resize(32, 7);
    User {
        handle,
        username: name.to_owned(),
        display_name: format!("{name} (display)"),
        created_at: 1_700_000_000,
        required_tier: Some("tier2".into()),
        group: Some("staff".into()),
    }
}

fn credential(owner: &User, id: &[u8]) -> Credential {
    Credential {
        id: id.to_vec(),
        user_handle: owner.handle.clone(),
        public_key_cose: vec![0xa5, 1, 2, 3, 0x26],
        alg: -7,
        sign_count: 0,
        use_count: 0,
        transports: vec!["internal".into(), "hybrid".into()],
        aaguid: [0x42; 16],
        attestation_format: "packed".into(),
        attestation_type: "basic".into(),
        attestation_trust: "trusted: CN=Test Root".into(),
        authenticator_attachment: Some("platform".into()),
        backup_eligible: true,
        backup_state: true,
        uv_initialized: true,
        name: "Laptop".into(),
        status: CredentialStatus::Active,
        status_reason: None,
        created_at: 1_700_000_000 + i64::from(id[0]),
        last_used_at: None,
        attestation_object: vec![0xa3, 9, 9],
        attestation_client_data_json: b"{\"type\":\"webauthn.create\"}".to_vec(),
    }
}

fn session(owner: &User, credential_id: &[u8], tag: u8) -> Session {
    let t = now();
    Session {
        id_hash: [tag; 32],
        public_id: format!("public-{tag}"),
        user_handle: owner.handle.clone(),
        credential_id: credential_id.to_vec(),
        user_verified: true,
        authenticated_at: t + i64::from(tag),
        last_seen_at: t,
        expires_at: t + 3600,
        revoked_at: None,
        user_agent: Some("Test/1.0".into()),
        aal: 2,
        tier: Some("tier2".into()),
        assurance_reasons: vec!["user_verified".into(), "device_bound".into()],
    }
}

fn ev() -> AuditEvent {
    AuditEvent::new("test", "system", "success")
}

fn advance(from: &Credential, to: u32) -> CounterAdvance {
    CounterAdvance {
        expected_sign_count: from.sign_count,
        expected_use_count: from.use_count,
        new_sign_count: to,
        backup_state: false,
        uv_initialized: true,
        last_used_at: now(),
    }
}

mod store_cases {
    use super::*;

    pub async fn accounts_round_trip_every_field(s: Arc<dyn Store>) {
        s.ping().await.unwrap();
        let u = user("ada");
        let c = credential(&u, b"\x01cred-a");
        s.create_account(&u, &c, &ev()).await.unwrap();
        assert_eq!(s.user_by_username("ada").await.unwrap(), Some(u.clone()));
        assert_eq!(s.user_by_handle(&u.handle).await.unwrap(), Some(u.clone()));
        assert_eq!(s.user_by_username("nobody").await.unwrap(), None);
        assert_eq!(s.credential_by_id(&c.id).await.unwrap(), Some(c.clone()));
        assert_eq!(s.credentials_for_user(&u.handle).await.unwrap(), vec![c]);
    }

    pub async fn a_failed_sign_up_leaves_nothing_behind(s: Arc<dyn Store>) {
        let ada = user("ada");
        s.create_account(&ada, &credential(&ada, b"\x01same"), &ev())
            .await
            .unwrap();
        // The same username again.
        let again = User {
            handle: vec![9; 32],
            ..ada.clone()
        };
        assert_eq!(
            s.create_account(&again, &credential(&again, b"\x02other"), &ev())
                .await,
            Err(StoreError::UsernameTaken)
        );
        assert_eq!(s.credential_by_id(b"\x02other").await.unwrap(), None);
        // A new user whose credential id is taken: the user row must not survive.
        let bob = user("bob");
        assert_eq!(
            s.create_account(&bob, &credential(&bob, b"\x01same"), &ev())
                .await,
            Err(StoreError::CredentialExists)
        );
        assert_eq!(s.user_by_username("bob").await.unwrap(), None);
    }

    pub async fn credential_ids_are_unique_across_users(s: Arc<dyn Store>) {
        let (ada, bob) = (user("ada"), user("bob"));
        s.create_account(&ada, &credential(&ada, b"\x01a"), &ev())
            .await
            .unwrap();
        s.create_account(&bob, &credential(&bob, b"\x02b"), &ev())
            .await
            .unwrap();
        assert_eq!(
            s.insert_credential(&credential(&bob, b"\x01a"), &ev())
                .await,
            Err(StoreError::CredentialExists)
        );
        s.insert_credential(&credential(&bob, b"\x03c"), &ev())
            .await
            .unwrap();
        let ids: Vec<_> = s
            .credentials_for_user(&bob.handle)
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        assert_eq!(ids, vec![b"\x02b".to_vec(), b"\x03c".to_vec()]);
    }

    pub async fn rename_touches_only_the_owners_credential(s: Arc<dyn Store>) {
        let (ada, bob) = (user("ada"), user("bob"));
        s.create_account(&ada, &credential(&ada, b"\x01a"), &ev())
            .await
            .unwrap();
        s.create_account(&bob, &credential(&bob, b"\x02b"), &ev())
            .await
            .unwrap();
        assert!(
            !s.rename_credential(&bob.handle, b"\x01a", "x")
                .await
                .unwrap()
        );
        assert!(
            s.rename_credential(&ada.handle, b"\x01a", "Phone")
                .await
                .unwrap()
        );
        let c = s.credential_by_id(b"\x01a").await.unwrap().unwrap();
        assert_eq!(c.name, "Phone");
    }

    pub async fn the_last_active_passkey_cannot_be_deleted(s: Arc<dyn Store>) {
        let ada = user("ada");
        s.create_account(&ada, &credential(&ada, b"\x01a"), &ev())
            .await
            .unwrap();
        assert_eq!(
            s.delete_credential(&ada.handle, b"\x01a").await.unwrap(),
            DeleteOutcome::LastActive
        );
        assert_eq!(
            s.delete_credential(&ada.handle, b"\x09none").await.unwrap(),
            DeleteOutcome::NotFound
        );
        s.insert_credential(&credential(&ada, b"\x02b"), &ev())
            .await
            .unwrap();
        assert_eq!(
            s.delete_credential(&ada.handle, b"\x01a").await.unwrap(),
            DeleteOutcome::Deleted
        );
        assert_eq!(s.credential_by_id(b"\x01a").await.unwrap(), None);
    }

    pub async fn concurrent_deletes_never_remove_the_last_passkey(s: Arc<dyn Store>) {
        for round in 0..10u8 {
            let u = user(&format!("user{round}"));
            let (a, b) = ([1, round], [2, round]);
            s.create_account(&u, &credential(&u, &a), &ev())
                .await
                .unwrap();
            s.insert_credential(&credential(&u, &b), &ev())
                .await
                .unwrap();
            let (s1, s2, h1, h2) = (s.clone(), s.clone(), u.handle.clone(), u.handle.clone());
            let (r1, r2) = tokio::join!(
                tokio::spawn(async move { s1.delete_credential(&h1, &a).await }),
                tokio::spawn(async move { s2.delete_credential(&h2, &b).await }),
            );
            let outcomes = [r1.unwrap().unwrap(), r2.unwrap().unwrap()];
            let deleted = outcomes
                .iter()
                .filter(|o| **o == DeleteOutcome::Deleted)
                .count();
            assert_eq!(deleted, 1, "round {round}: {outcomes:?}");
            assert_eq!(s.credentials_for_user(&u.handle).await.unwrap().len(), 1);
        }
    }

    pub async fn the_counter_advances_once_per_value_read(s: Arc<dyn Store>) {
        let ada = user("ada");
        let c = credential(&ada, b"\x01a");
        s.create_account(&ada, &c, &ev()).await.unwrap();
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (s, c) = (s.clone(), c.clone());
            tasks.push(tokio::spawn(async move {
                s.advance_counter(&c.id, &advance(&c, 5)).await.unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1);
        let after = s.credential_by_id(&c.id).await.unwrap().unwrap();
        assert_eq!((after.sign_count, after.use_count), (5, 1));
        assert!(!after.backup_state);
        assert!(after.last_used_at.is_some());
        // A counter that stays 0 (synced passkeys) still advances once per read.
        assert!(s.advance_counter(&c.id, &advance(&after, 5)).await.unwrap());
        assert!(!s.advance_counter(&c.id, &advance(&after, 5)).await.unwrap());
    }

    pub async fn sign_in_is_all_or_nothing(s: Arc<dyn Store>) {
        let ada = user("ada");
        let c = credential(&ada, b"\x01a");
        s.create_account(&ada, &c, &ev()).await.unwrap();
        let first = session(&ada, &c.id, 1);
        assert!(
            s.complete_sign_in(&c.id, &advance(&c, 1), &first, None, &ev())
                .await
                .unwrap()
        );
        // A stale read loses the compare-and-set: no session is written, the old one lives.
        let second = session(&ada, &c.id, 2);
        assert!(
            !s.complete_sign_in(&c.id, &advance(&c, 2), &second, Some(&first.id_hash), &ev())
                .await
                .unwrap()
        );
        assert_eq!(s.session_by_hash(&second.id_hash).await.unwrap(), None);
        let live = s.session_by_hash(&first.id_hash).await.unwrap().unwrap();
        assert_eq!(live.revoked_at, None);
        // A fresh read wins, stores the session and revokes the one it replaces.
        let current = s.credential_by_id(&c.id).await.unwrap().unwrap();
        assert!(
            s.complete_sign_in(
                &c.id,
                &advance(&current, 2),
                &second,
                Some(&first.id_hash),
                &ev()
            )
            .await
            .unwrap()
        );
        assert_eq!(
            s.session_by_hash(&second.id_hash).await.unwrap(),
            Some(second.clone())
        );
        assert!(
            s.session_by_hash(&first.id_hash)
                .await
                .unwrap()
                .unwrap()
                .revoked_at
                .is_some()
        );
    }

    pub async fn a_credential_comes_with_its_owner(s: Arc<dyn Store>) {
        let (ada, bob) = (user("ada"), user("bob"));
        let (a, b) = (credential(&ada, b"\x01a"), credential(&bob, b"\x02b"));
        s.create_account(&ada, &a, &ev()).await.unwrap();
        s.create_account(&bob, &b, &ev()).await.unwrap();
        assert_eq!(
            s.credential_with_owner(&a.id).await.unwrap(),
            Some((a.clone(), Some(ada.clone())))
        );
        assert_eq!(
            s.credential_with_owner(&b.id).await.unwrap(),
            Some((b, Some(bob)))
        );
        assert_eq!(s.credential_with_owner(b"\x09zz").await.unwrap(), None);
    }

    pub async fn batched_sign_ins_commit_together_in_order(s: Arc<dyn Store>) {
        assert!(s.complete_sign_ins(&[]).await.unwrap().is_empty());
        let (ada, bob) = (user("ada"), user("bob"));
        let (a, b) = (credential(&ada, b"\x01a"), credential(&bob, b"\x02b"));
        s.create_account(&ada, &a, &ev()).await.unwrap();
        s.create_account(&bob, &b, &ev()).await.unwrap();
        let old = session(&bob, &b.id, 9);
        s.create_session(&old).await.unwrap();
        let (head_seq, _) = s.audit_head().await.unwrap();
        let write = |c: &Credential, owner: &User, to: u32, tag: u8, replacing| SignInWrite {
            credential_id: c.id.clone(),
            advance: advance(c, to),
            session: session(owner, &c.id, tag),
            replacing,
            audit: AuditEvent::new("sign_in", format!("user:{}", owner.username), "success"),
        };
        let batch = [
            write(&a, &ada, 1, 1, None),
            // The same assertion again in the same batch: the first use won, this one loses.
            write(&a, &ada, 1, 2, None),
            write(&b, &bob, 3, 3, Some(old.id_hash)),
        ];
        assert_eq!(
            s.complete_sign_ins(&batch).await.unwrap(),
            vec![true, false, true]
        );
        assert!(
            s.session_by_hash(&batch[0].session.id_hash)
                .await
                .unwrap()
                .is_some()
        );
        assert_eq!(
            s.session_by_hash(&batch[1].session.id_hash).await.unwrap(),
            None
        );
        assert!(
            s.session_by_hash(&batch[2].session.id_hash)
                .await
                .unwrap()
                .is_some()
        );
        let old_now = s.session_by_hash(&old.id_hash).await.unwrap().unwrap();
        assert!(old_now.revoked_at.is_some());
        let (a2, b2) = (
            s.credential_by_id(&a.id).await.unwrap().unwrap(),
            s.credential_by_id(&b.id).await.unwrap().unwrap(),
        );
        assert_eq!((a2.sign_count, a2.use_count), (1, 1));
        assert_eq!((b2.sign_count, b2.use_count), (3, 1));
        // Two audit events, numbered after the head and chained to it, in batch order.
        let events = s.audit_events(head_seq, 10).await.unwrap();
        assert_eq!(
            events
                .iter()
                .map(|e| (e.seq, e.actor.as_str()))
                .collect::<Vec<_>>(),
            vec![(head_seq + 1, "user:ada"), (head_seq + 2, "user:bob")]
        );
        assert_eq!(events[1].prev_hash, events[0].hash);
        for e in &events {
            assert_eq!(e.hash, e.compute_hash());
        }
        assert_eq!(
            s.audit_head().await.unwrap(),
            (head_seq + 2, events[1].hash.clone())
        );
        // A batch where every compare-and-set loses writes nothing.
        let (seq_before, _) = s.audit_head().await.unwrap();
        assert_eq!(
            s.complete_sign_ins(&[write(&a, &ada, 1, 4, None)])
                .await
                .unwrap(),
            vec![false]
        );
        assert_eq!(s.audit_head().await.unwrap().0, seq_before);
    }

    pub async fn concurrent_sign_ins_share_commits_and_win_once(s: Arc<dyn Store>) {
        use passkeyd_server::services::group_commit::SignInWriter;
        let writer = SignInWriter::start(s.clone());
        let ada = user("ada");
        let a = credential(&ada, b"\x01a");
        s.create_account(&ada, &a, &ev()).await.unwrap();
        let mut others = Vec::new();
        for i in 0..8u8 {
            let u = user(&format!("user{i}"));
            let c = credential(&u, &[0x10, i]);
            s.create_account(&u, &c, &ev()).await.unwrap();
            others.push((u, c));
        }
        let (head_seq, _) = s.audit_head().await.unwrap();
        let mut tasks = Vec::new();
        // 16 uses of one assertion (same expected counter state) beside 8 independent sign-ins.
        for tag in 0..16u8 {
            let w = SignInWrite {
                credential_id: a.id.clone(),
                advance: advance(&a, 1),
                session: session(&ada, &a.id, tag),
                replacing: None,
                audit: ev(),
            };
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                (true, writer.complete(w).await.unwrap())
            }));
        }
        for (i, (u, c)) in others.iter().enumerate() {
            let w = SignInWrite {
                credential_id: c.id.clone(),
                advance: advance(c, 7),
                session: session(u, &c.id, 100 + u8::try_from(i).unwrap()),
                replacing: None,
                audit: ev(),
            };
            let writer = writer.clone();
            tasks.push(tokio::spawn(async move {
                (false, writer.complete(w).await.unwrap())
            }));
        }
        let (mut same_won, mut others_won) = (0, 0);
        for t in tasks {
            match t.await.unwrap() {
                (true, won) => same_won += usize::from(won),
                (false, won) => others_won += usize::from(won),
            }
        }
        assert_eq!((same_won, others_won), (1, 8));
        let events = s.audit_events(head_seq, 100).await.unwrap();
        assert_eq!(events.len(), 9);
        for pair in events.windows(2) {
            assert_eq!(pair[1].seq, pair[0].seq + 1);
            assert_eq!(pair[1].prev_hash, pair[0].hash);
        }
    }

    pub async fn suspended_credentials_do_not_advance(s: Arc<dyn Store>) {
        let ada = user("ada");
        let c = Credential {
            status: CredentialStatus::Suspended,
            status_reason: Some("counter regression".into()),
            ..credential(&ada, b"\x01a")
        };
        s.create_account(&ada, &c, &ev()).await.unwrap();
        assert_eq!(s.credential_by_id(&c.id).await.unwrap(), Some(c.clone()));
        assert!(!s.advance_counter(&c.id, &advance(&c, 1)).await.unwrap());
        assert!(
            !s.complete_sign_in(
                &c.id,
                &advance(&c, 1),
                &session(&ada, &c.id, 1),
                None,
                &ev()
            )
            .await
            .unwrap()
        );
    }

    pub async fn sessions_are_listed_touched_and_revoked(s: Arc<dyn Store>) {
        let (ada, bob) = (user("ada"), user("bob"));
        s.create_account(&ada, &credential(&ada, b"\x01a"), &ev())
            .await
            .unwrap();
        s.create_account(&bob, &credential(&bob, b"\x02b"), &ev())
            .await
            .unwrap();
        let (one, two) = (session(&ada, b"\x01a", 1), session(&ada, b"\x01a", 2));
        let expired = Session {
            expires_at: now() - 1,
            ..session(&ada, b"\x01a", 3)
        };
        for x in [&one, &two, &expired] {
            s.create_session(x).await.unwrap();
        }
        let t = now();
        let listed: Vec<_> = s
            .sessions_for_user(&ada.handle, t)
            .await
            .unwrap()
            .into_iter()
            .map(|x| x.public_id)
            .collect();
        assert_eq!(listed, vec![two.public_id.clone(), one.public_id.clone()]);
        assert_eq!(s.count_live_sessions(t, t - 60).await.unwrap(), 2);
        s.touch_session(&one.id_hash, t + 5).await.unwrap();
        assert_eq!(
            s.session_by_hash(&one.id_hash)
                .await
                .unwrap()
                .unwrap()
                .last_seen_at,
            t + 5
        );
        // Another user cannot revoke ada's session by its public id.
        assert!(
            !s.revoke_session_by_public_id(&bob.handle, &two.public_id, t)
                .await
                .unwrap()
        );
        assert!(
            s.revoke_session_by_public_id(&ada.handle, &two.public_id, t)
                .await
                .unwrap()
        );
        assert!(s.revoke_session(&one.id_hash, t).await.unwrap());
        assert!(!s.revoke_session(&one.id_hash, t).await.unwrap());
        assert!(
            s.sessions_for_user(&ada.handle, t)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(s.count_live_sessions(t, t - 60).await.unwrap(), 0);
    }

    pub async fn the_first_shared_secret_wins(s: Arc<dyn Store>) {
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.shared_secret("server-secret", &[i; 32]).await.unwrap()
            }));
        }
        let mut seen = Vec::new();
        for t in tasks {
            seen.push(t.await.unwrap());
        }
        assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
        assert_eq!(
            s.shared_secret("server-secret", &[99; 32]).await.unwrap(),
            seen[0]
        );
        assert_eq!(
            s.shared_secret("other", &[99; 32]).await.unwrap(),
            vec![99; 32]
        );
    }

    pub async fn secrets_are_replaced_by_compare_and_set(s: Arc<dyn Store>) {
        assert_eq!(s.load_secret("keys").await.unwrap(), None);
        assert!(s.replace_secret("keys", None, b"v0").await.unwrap());
        assert!(!s.replace_secret("keys", None, b"other").await.unwrap());
        assert_eq!(
            s.load_secret("keys").await.unwrap(),
            Some((0, b"v0".to_vec()))
        );
        // Eight instances rotating version 0 at once: one wins.
        let mut tasks = Vec::new();
        for i in 0..8u8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.replace_secret("keys", Some(0), &[i]).await.unwrap()
            }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1);
        let (version, _) = s.load_secret("keys").await.unwrap().unwrap();
        assert_eq!(version, 1);
        assert!(!s.replace_secret("keys", Some(0), b"late").await.unwrap());
    }

    pub async fn audit_events_form_one_chain_even_when_appended_concurrently(s: Arc<dyn Store>) {
        use passkeyd_server::services::audit::{Audit, verify_chain};
        assert_eq!(s.audit_head().await.unwrap().0, 0);
        let mut tasks = Vec::new();
        for i in 0..20 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                let mut e = AuditEvent::new("test", "system", "success");
                e.details = format!("{{\"i\":{i}}}");
                s.append_audit(&e).await.unwrap()
            }));
        }
        let mut seqs = Vec::new();
        for t in tasks {
            seqs.push(t.await.unwrap());
        }
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=20).collect::<Vec<i64>>());
        // A sign-in appends in its own transaction; a lost compare-and-set appends nothing.
        let ada = user("ada");
        let c = credential(&ada, b"\x01a");
        s.create_account(&ada, &c, &ev()).await.unwrap();
        assert!(
            s.complete_sign_in(
                &c.id,
                &advance(&c, 1),
                &session(&ada, &c.id, 1),
                None,
                &ev()
            )
            .await
            .unwrap()
        );
        assert!(
            !s.complete_sign_in(
                &c.id,
                &advance(&c, 1),
                &session(&ada, &c.id, 2),
                None,
                &ev()
            )
            .await
            .unwrap()
        );
        assert_eq!(s.audit_head().await.unwrap().0, 22);
        let audit = Audit::open(s.clone(), 5).await.unwrap();
        assert_eq!(audit.checkpoint().await.unwrap(), 4);
        assert_eq!(audit.checkpoint().await.unwrap(), 0);
        let report = verify_chain(s.as_ref(), &audit.public_key(), &[])
            .await
            .unwrap();
        assert_eq!(report.broken, None);
        assert_eq!((report.events, report.checkpoints), (22, 4));
        // A checkpoint recorded elsewhere that differs is reported.
        let report = verify_chain(s.as_ref(), &audit.public_key(), &[(3, "00".into())])
            .await
            .unwrap();
        assert!(report.broken.unwrap().contains("event 3"));
        // Another key does not verify the checkpoints.
        use aws_lc_rs::signature::KeyPair;
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let pkcs8 = aws_lc_rs::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let other = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let report = verify_chain(s.as_ref(), other.public_key().as_ref(), &[])
            .await
            .unwrap();
        assert!(report.broken.unwrap().contains("signature"));
    }
}

suite!(store_cases in backend: sqlite, postgres => [
    accounts_round_trip_every_field,
    a_failed_sign_up_leaves_nothing_behind,
    credential_ids_are_unique_across_users,
    rename_touches_only_the_owners_credential,
    the_last_active_passkey_cannot_be_deleted,
    concurrent_deletes_never_remove_the_last_passkey,
    the_counter_advances_once_per_value_read,
    sign_in_is_all_or_nothing,
    batched_sign_ins_commit_together_in_order,
    a_credential_comes_with_its_owner,
    concurrent_sign_ins_share_commits_and_win_once,
    suspended_credentials_do_not_advance,
    sessions_are_listed_touched_and_revoked,
    the_first_shared_secret_wins,
    secrets_are_replaced_by_compare_and_set,
    audit_events_form_one_chain_even_when_appended_concurrently,
]);

mod challenge_cases {
    use super::*;

    pub async fn a_challenge_is_taken_once(c: Arc<dyn ChallengeStore>) {
        c.ping().await.unwrap();
        c.put("k", b"state".to_vec(), Duration::from_secs(60))
            .await
            .unwrap();
        assert_eq!(c.take("k").await.unwrap().as_deref(), Some(&b"state"[..]));
        assert_eq!(c.take("k").await.unwrap(), None);
        assert_eq!(c.take("never").await.unwrap(), None);
    }

    pub async fn concurrent_takes_get_it_exactly_once(c: Arc<dyn ChallengeStore>) {
        for round in 0..20 {
            let key = format!("race-{round}");
            c.put(&key, vec![1, 2, 3], Duration::from_secs(60))
                .await
                .unwrap();
            let mut tasks = Vec::new();
            for _ in 0..8 {
                let (c, key) = (c.clone(), key.clone());
                tasks.push(tokio::spawn(async move { c.take(&key).await.unwrap() }));
            }
            let mut got = 0;
            for t in tasks {
                got += usize::from(t.await.unwrap().is_some());
            }
            assert_eq!(got, 1, "round {round}");
        }
    }

    pub async fn expired_challenges_are_gone(c: Arc<dyn ChallengeStore>) {
        c.put("short", vec![1], Duration::from_millis(50))
            .await
            .unwrap();
        c.put("zero", vec![1], Duration::ZERO).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(c.take("short").await.unwrap(), None);
        assert_eq!(c.take("zero").await.unwrap(), None);
    }

    pub async fn a_put_replaces_the_previous_state(c: Arc<dyn ChallengeStore>) {
        c.put("k", vec![1], Duration::from_secs(60)).await.unwrap();
        c.put("k", vec![2], Duration::from_secs(60)).await.unwrap();
        assert_eq!(c.take("k").await.unwrap(), Some(vec![2]));
    }
}

suite!(challenge_cases in backend: memory, redis => [
    a_challenge_is_taken_once,
    concurrent_takes_get_it_exactly_once,
    expired_challenges_are_gone,
    a_put_replaces_the_previous_state,
]);

mod limiter_cases {
    use super::*;
    use passkeyd_server::ephemeral::limits::RateLimiter;

    pub async fn a_bucket_empties_and_refills(l: Arc<dyn RateLimiter>) {
        for _ in 0..3 {
            assert_eq!(l.take("a:1", 3, 10.0).await.unwrap(), None);
        }
        let wait = l.take("a:1", 3, 10.0).await.unwrap().expect("empty");
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert_eq!(
            l.take("a:2", 3, 10.0).await.unwrap(),
            None,
            "keys are separate"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(l.take("a:1", 3, 10.0).await.unwrap(), None, "refilled");
    }

    pub async fn concurrent_takes_never_overdraw(l: Arc<dyn RateLimiter>) {
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let l = l.clone();
            tasks.push(tokio::spawn(async move {
                l.take("a:c", 10, 0.001).await.unwrap().is_none()
            }));
        }
        let mut allowed = 0;
        for t in tasks {
            allowed += usize::from(t.await.unwrap());
        }
        assert_eq!(allowed, 10);
    }

    pub async fn failures_count_expire_and_clear(l: Arc<dyn RateLimiter>) {
        assert_eq!(l.failures("u:x").await.unwrap().0, 0);
        for n in 1..=3 {
            assert_eq!(l.fail("u:x", Duration::from_secs(60)).await.unwrap(), n);
        }
        let (n, ago) = l.failures("u:x").await.unwrap();
        assert_eq!(n, 3);
        assert!(ago < Duration::from_secs(2));
        l.clear("u:x").await.unwrap();
        assert_eq!(l.failures("u:x").await.unwrap().0, 0);
        l.fail("u:y", Duration::from_millis(100)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(l.failures("u:y").await.unwrap().0, 0, "expired");
    }
}

mod limiter_backend {
    use super::*;
    use passkeyd_server::ephemeral::limits::{MemoryLimiter, RateLimiter, RedisLimiter};

    pub async fn memory_limiter<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn RateLimiter>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        case(Arc::new(MemoryLimiter::default())).await;
    }

    pub async fn redis_limiter<F, Fut>(case: F)
    where
        F: FnOnce(Arc<dyn RateLimiter>) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let url = backend::redis_url();
        let prefix = format!("{}:", backend::unique("passkeyd_t"));
        let redis = RedisChallenges::open(&url, &prefix).await.unwrap();
        case(Arc::new(RedisLimiter::new(redis.connection(), &prefix))).await;
    }
}

suite!(limiter_cases in limiter_backend: memory_limiter, redis_limiter => [
    a_bucket_empties_and_refills,
    concurrent_takes_never_overdraw,
    failures_count_expire_and_clear,
]);

/// Instances starting at once all migrate the same fresh database without error (sqlx takes a
/// PostgreSQL advisory lock around the migrations), and end with one migration history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_migrate_postgres_once() {
    let (name, url) = backend::create_database().await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move { PgStore::open(&url).await }));
    }
    let mut stores = Vec::new();
    for t in tasks {
        stores.push(t.await.unwrap().expect("every instance starts"));
    }
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let (applied,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        applied,
        i64::try_from(passkeyd_server::store::MIGRATOR.iter().count()).unwrap()
    );
    pool.close().await;
    for s in stores {
        s.close().await;
    }
    backend::drop_database(&name).await;
}

/// A sign-in whose row is locked by a slow transaction elsewhere fails after the statement
/// timeout, and writes nothing: no session, no counter advance. Once the lock is gone it works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_stuck_behind_a_slow_transaction_fails_whole() {
    use sqlx::Connection;
    let (name, url) = backend::create_database().await;
    let s = PgStore::open(&url).await.unwrap();
    let ada = user("ada");
    let c = credential(&ada, b"\x01a");
    s.create_account(&ada, &c, &ev()).await.unwrap();
    let mut slow = sqlx::PgConnection::connect(&url).await.unwrap();
    let mut tx = slow.begin().await.unwrap();
    sqlx::query("SELECT id FROM credentials FOR UPDATE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let first = session(&ada, &c.id, 1);
    let started = std::time::Instant::now();
    let r = s
        .complete_sign_in(&c.id, &advance(&c, 1), &first, None, &ev())
        .await;
    assert!(matches!(r, Err(StoreError::Backend(_))), "{r:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    tx.rollback().await.unwrap();
    assert_eq!(s.session_by_hash(&first.id_hash).await.unwrap(), None);
    let after = s.credential_by_id(&c.id).await.unwrap().unwrap();
    assert_eq!((after.sign_count, after.use_count), (0, 0));
    assert!(
        s.complete_sign_in(&c.id, &advance(&c, 1), &first, None, &ev())
            .await
            .unwrap()
    );
    s.close().await;
    slow.close().await.unwrap();
    backend::drop_database(&name).await;
}

/// The write-ahead log reaches the database file by the background checkpointer, without a
/// request having to do it (the automatic checkpoint of the requests' connection only starts at
/// 20,000 pages, which these few writes are far from).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("passkeyd.db");
    let s = SqliteStore::open(&path).await.unwrap();
    for i in 0..50u8 {
        let u = user(&format!("user{i}"));
        s.create_account(&u, &credential(&u, &[0x30, i]), &ev())
            .await
            .unwrap();
    }
    let written = std::fs::metadata(&path).unwrap().len();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::fs::metadata(&path).unwrap().len() == written {
        assert!(
            std::time::Instant::now() < deadline,
            "the database file stayed at {written} bytes: nothing was checkpointed"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Everything in the log is now in the database file.
    let (log, copied) = s.checkpoint().await.unwrap();
    assert!(log > 0 && copied == log, "log {log} pages, {copied} copied");
    s.close().await;
}

/// On SQLite, sign-ins are written on a connection of their own (the sign-in path) while other
/// writes go through the store's main connection: both at once must all commit, in one audit
/// chain without gaps; the sign-in path must see what the other connection wrote, and its
/// readers must not hold back checkpoints.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sign_ins_and_other_writes_commit_side_by_side() {
    use passkeyd_server::services::audit::verify_chain;
    use passkeyd_server::services::group_commit::SignInWriter;
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("p.db")).await.unwrap();
    let s: Arc<dyn Store> = Arc::new(store.clone());
    let writer = SignInWriter::start(s.clone());
    let mut signed_up = Vec::new();
    for i in 0..20u8 {
        let u = user(&format!("early{i}"));
        let c = credential(&u, &[0x40, i]);
        s.create_account(&u, &c, &ev()).await.unwrap();
        signed_up.push((u, c));
    }
    let mut tasks = Vec::new();
    for (i, (u, c)) in signed_up.into_iter().enumerate() {
        let writer = writer.clone();
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            // Read through the sign-in path what the main connection wrote.
            let (found, owner) = s.credential_with_owner(&c.id).await.unwrap().unwrap();
            assert_eq!(owner.unwrap().username, u.username);
            let w = SignInWrite {
                credential_id: found.id.clone(),
                advance: advance(&found, 5),
                session: session(&u, &found.id, u8::try_from(i).unwrap()),
                replacing: None,
                audit: ev(),
            };
            assert!(writer.complete(w).await.unwrap(), "sign-in {i} lost");
        }));
    }
    // Sign-ups on the main connection while those sign-ins are being written.
    for i in 0..20u8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let u = user(&format!("late{i}"));
            s.create_account(&u, &credential(&u, &[0x41, i]), &ev())
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for i in 0..20u8 {
        let c = s.credential_by_id(&[0x40, i]).await.unwrap().unwrap();
        assert_eq!((c.sign_count, c.use_count), (5, 1));
        assert!(s.credential_by_id(&[0x41, i]).await.unwrap().is_some());
    }
    // 20 + 20 sign-ups and 20 sign-ins, numbered and chained in one sequence.
    let report = verify_chain(s.as_ref(), &[], &[]).await.unwrap();
    assert_eq!((report.events, report.broken), (60, None));
    // The sign-in path's readers hold no read transaction open between reads (one would stop
    // checkpoints short of the log's end, and the log would grow without bound).
    let (log, copied) = store.checkpoint().await.unwrap();
    assert!(log > 0 && copied == log, "log {log} pages, {copied} copied");
}

/// A closed SQLite store answers the sign-in path's operations with an error, not a hang or a
/// panic.
#[tokio::test]
async fn a_closed_sqlite_store_refuses_sign_ins() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("p.db")).await.unwrap();
    let ada = user("ada");
    let a = credential(&ada, b"\x01a");
    s.create_account(&ada, &a, &ev()).await.unwrap();
    assert!(s.credential_with_owner(&a.id).await.unwrap().is_some());
    s.close().await;
    assert!(matches!(
        s.credential_with_owner(&a.id).await,
        Err(StoreError::Backend(_))
    ));
    let w = SignInWrite {
        credential_id: a.id.clone(),
        advance: advance(&a, 1),
        session: session(&ada, &a.id, 1),
        replacing: None,
        audit: ev(),
    };
    let written = tokio::time::timeout(Duration::from_secs(5), s.complete_sign_ins(&[w]))
        .await
        .expect("a write to a closed store must not hang");
    assert!(matches!(written, Err(StoreError::Backend(_))));
}
