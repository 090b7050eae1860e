//! Two `passkeyd serve` processes on different ports over the same PostgreSQL database and
//! Redis: what one instance does, the other sees at once.

mod cluster;

use cluster::{Browser, Instance, TestDatabase, postgres_admin_url, redis_url, unique};
use serde_json::json;

/// Two instances over a fresh database and a fresh Redis key prefix.
async fn pair() -> (Instance, Instance, TestDatabase) {
    let db = TestDatabase::create(&postgres_admin_url()).await;
    let prefix = format!("{}:", unique("passkeyd_t"));
    let redis = redis_url();
    let (a, b) = tokio::join!(
        Instance::start(&db.url, &redis, &prefix),
        Instance::start(&db.url, &redis, &prefix),
    );
    (a, b, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ceremony_started_on_one_instance_finishes_on_the_other() {
    let (a, b, db) = pair().await;
    let browser = Browser::new();
    // Sign-up: started on A, finished on B; the session works on both.
    let mut auth = browser.sign_up(&a, &b, "ada").await;
    for at in [&a, &b] {
        let s = browser.get(at, "/api/session").await;
        assert_eq!(s.status, 200);
        assert_eq!(s.json["user"]["username"], "ada", "{:?}", s.json);
    }
    // Sign-in by username and discoverable, each across instances.
    let fresh = Browser::new();
    let r = fresh.sign_in(&b, &a, &mut auth, Some("ada")).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    let r = fresh.sign_in(&a, &b, &mut auth, None).await;
    assert_eq!(r.status, 200, "{:?}", r.json);
    // Adding a passkey: started on B, finished on A; both instances list two.
    let (_second, added) = fresh.register(&b, &a, json!({})).await;
    assert_eq!(added.status, 200, "{:?}", added.json);
    for at in [&a, &b] {
        let list = fresh.get(at, "/api/webauthn/credentials").await;
        assert_eq!(list.json.as_array().map(Vec::len), Some(2));
    }
    // One keyring for all: the same JWKS from both, and a token issued by one instance
    // introspects as active on the other.
    let (jwks_a, jwks_b) = (
        fresh.get(&a, "/.well-known/jwks.json").await,
        fresh.get(&b, "/.well-known/jwks.json").await,
    );
    assert_eq!(jwks_a.status, 200);
    assert_eq!(jwks_a.json, jwks_b.json);
    let token = fresh.post(&a, "/api/token", &json!({})).await;
    assert_eq!(token.status, 200, "{:?}", token.json);
    let seen = fresh
        .post(
            &b,
            "/api/session/introspect",
            &json!({"token": token.json["token"]}),
        )
        .await;
    assert_eq!(seen.json["active"], true, "{:?}", seen.json);
    // An unknown username gets the same fake credential ids from either instance (they share
    // the server secret).
    let fake_a = fresh
        .post(
            &a,
            "/api/webauthn/auth/start",
            &json!({"username": "nobody"}),
        )
        .await;
    let fake_b = fresh
        .post(
            &b,
            "/api/webauthn/auth/start",
            &json!({"username": "nobody"}),
        )
        .await;
    assert_eq!(fake_a.status, 200);
    assert_eq!(
        fake_a.json["options"]["allowCredentials"], fake_b.json["options"]["allowCredentials"],
        "fake ids differ between instances"
    );
    drop((a, b));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_assertion_sent_to_both_instances_succeeds_exactly_once() {
    let (a, b, db) = pair().await;
    let browser = Browser::new();
    let mut auth = browser.sign_up(&a, &b, "ada").await;
    for round in 0..200 {
        let start_at = if round % 2 == 0 { &a } else { &b };
        let body = browser
            .signed_assertion(start_at, &mut auth, Some("ada"))
            .await
            .unwrap_or_else(|r| panic!("auth/start: {r:?}"));
        // Two browsers (separate cookie jars) replaying the same bytes at once.
        let (x, y) = (Browser::new(), Browser::new());
        let (ra, rb) = tokio::join!(
            x.post(&a, "/api/webauthn/auth/finish", &body),
            y.post(&b, "/api/webauthn/auth/finish", &body),
        );
        let mut statuses = [ra.status.as_u16(), rb.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [200, 401], "round {round}: {ra:?} {rb:?}");
    }
    // Every success was recorded once: the sign-up's session plus one per round.
    assert_eq!(db.count("SELECT COUNT(*) FROM sessions").await, 201);
    assert_eq!(
        db.count("SELECT use_count FROM credentials").await,
        200,
        "the counter compare-and-set advanced once per round"
    );
    drop((a, b));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_revoked_on_one_instance_is_refused_by_the_other_at_once() {
    let (a, b, db) = pair().await;
    let browser = Browser::new();
    let mut auth = browser.sign_up(&a, &a, "ada").await;
    let laptop = Browser::new();
    assert_eq!(
        laptop.sign_in(&b, &b, &mut auth, Some("ada")).await.status,
        200
    );
    assert_eq!(laptop.get(&a, "/api/session").await.status, 200);
    // Sign out on B; A refuses the cookie on the very next request.
    assert_eq!(laptop.delete(&b, "/api/session").await.status, 204);
    assert_eq!(laptop.get(&a, "/api/session").await.status, 401);
    // Revoking another session by its public id on A is seen by B.
    let phone = Browser::new();
    assert_eq!(
        phone.sign_in(&a, &a, &mut auth, Some("ada")).await.status,
        200
    );
    let sessions = browser.get(&a, "/api/sessions").await;
    let other = sessions
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["current"] != true)
        .expect("the phone's session")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(phone.get(&b, "/api/session").await.status, 200);
    let revoked = browser.delete(&a, &format!("/api/sessions/{other}")).await;
    assert_eq!(revoked.status, 204, "{:?}", revoked.json);
    assert_eq!(phone.get(&b, "/api/session").await.status, 401);
    drop((a, b));
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_removed_on_one_instance_cannot_sign_in_on_the_other() {
    let (a, b, db) = pair().await;
    let browser = Browser::new();
    let mut first = browser.sign_up(&a, &a, "ada").await;
    let (mut second, added) = browser.register(&a, &a, json!({})).await;
    assert_eq!(added.status, 200, "{:?}", added.json);
    let id = added.json["credentialId"].as_str().unwrap().to_owned();
    assert_eq!(
        browser
            .delete(&a, &format!("/api/webauthn/credentials/{id}"))
            .await
            .status,
        204
    );
    let other = Browser::new();
    let refused = other.sign_in(&b, &b, &mut second, Some("ada")).await;
    assert_eq!(refused.status, 401, "{:?}", refused.json);
    let refused = other.sign_in(&b, &b, &mut second, None).await;
    assert_eq!(refused.status, 401, "{:?}", refused.json);
    // The remaining passkey still works on B, and B refuses to delete it (the last one).
    assert_eq!(other.sign_in(&b, &b, &mut first, None).await.status, 200);
    let last = b64url(first.credential_id());
    let refused = other
        .delete(&b, &format!("/api/webauthn/credentials/{last}"))
        .await;
    assert_eq!(refused.status, 409, "{:?}", refused.json);
    drop((a, b));
    db.drop_now().await;
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
