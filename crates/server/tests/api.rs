//! HTTP API tests: the router over a temporary SQLite database, driven without sockets
//! (`tower::ServiceExt::oneshot`), plus one test of the real `passkeyd serve` binary over HTTP.
//!
//! Run: `cargo test -p passkeyd --test api`

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use passkeyd_testkit::{AssertParams, Tamper};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn assert_error(r: &Resp, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{:?}", r.json);
    assert_eq!(r.json["error"], code, "{:?}", r.json);
    assert!(r.json["message"].is_string(), "{:?}", r.json);
}

/// Builds an auth/finish body from a start answer.
type MakeBody = Box<dyn Fn(&Value, &mut passkeyd_testkit::SoftAuthenticator) -> Value>;

fn assert_generic_auth_failure(r: &Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{:?}", r.json);
    assert_eq!(
        r.json,
        json!({"error": "authentication_failed", "message": "Sign-in failed."})
    );
}

#[tokio::test]
async fn sign_up_creates_the_account_signs_it_in_and_lists_the_passkey() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let start = c
        .post(
            "/api/webauthn/register/start",
            &json!({"username": "Alice", "displayName": "Alice A."}),
        )
        .await;
    assert_eq!(start.status, StatusCode::OK);
    let o = &start.json;
    assert_eq!(o["rp"]["id"], "localhost");
    assert_eq!(o["user"]["name"], "alice");
    assert_eq!(o["user"]["displayName"], "Alice A.");
    assert_eq!(o["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(o["authenticatorSelection"]["userVerification"], "preferred");
    assert_eq!(o["excludeCredentials"], json!([]));
    assert_eq!(
        passkeyd_testkit::b64url_decode(o["user"]["id"].as_str().unwrap())
            .unwrap()
            .len(),
        32
    );
    let ceremony_cookie = start
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("passkeyd_ceremony="))
        .expect("ceremony cookie");
    assert!(ceremony_cookie.contains("HttpOnly"));
    assert!(ceremony_cookie.contains("SameSite=Lax"));
    assert!(
        !ceremony_cookie.contains("Secure"),
        "http origin: no Secure"
    );
    c.cookies.clear();

    let (_auth, finish) = sign_up(&mut c, "alice2").await;
    assert_eq!(finish.status, StatusCode::OK, "{:?}", finish.json);
    assert_eq!(finish.json["success"], true);
    let cred_id = finish.json["credentialId"].as_str().unwrap().to_owned();
    let session_cookie = finish
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("passkeyd_session="))
        .expect("session cookie");
    assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax"));

    let s = c.get("/api/session").await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.json);
    assert_eq!(
        s.json["user"],
        json!({"username": "alice2", "displayName": "alice2 display"})
    );
    assert_eq!(s.json["credentialId"], cred_id);
    assert_eq!(s.json["userVerified"], true);
    assert!(s.json["authenticatedAt"].is_string() && s.json["expiresAt"].is_string());

    let list = c.get("/api/webauthn/credentials").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    let p = &list[0];
    assert_eq!(p["id"], cred_id);
    assert_eq!(p["name"], "Passkey");
    assert_eq!(p["synced"], false);
    assert_eq!(p["backedUp"], false);
    assert_eq!(p["transports"], json!(["internal", "hybrid"]));
    // The sign-up signed in with this passkey: it has been used.
    assert!(p["lastUsedAt"].is_string(), "{p}");
    for k in ["aaguid", "authenticatorName", "createdAt"] {
        assert!(p.get(k).is_some(), "missing {k}");
    }
}

#[tokio::test]
async fn taken_usernames_and_closed_signup_are_refused() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_a, f) = sign_up(&mut c, "bob").await;
    assert_eq!(f.status, StatusCode::OK);
    let mut other = app.client();
    let r = other
        .post(
            "/api/webauthn/register/start",
            &json!({"username": " BOB "}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "username_taken");

    let closed = TestApp::with(|c| c.signup_open = false, Duration::from_secs(300)).await;
    let r = closed
        .client()
        .post(
            "/api/webauthn/register/start",
            &json!({"username": "carol"}),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "signup_closed");
}

#[tokio::test]
async fn a_signed_in_user_adds_a_passkey_and_the_first_is_excluded() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_first, f) = sign_up(&mut c, "dana").await;
    let first_id = f.json["credentialId"].as_str().unwrap().to_owned();

    let start = c.post("/api/webauthn/register/start", &json!({})).await;
    assert_eq!(start.status, StatusCode::OK);
    assert_eq!(start.json["user"]["name"], "dana");
    assert_eq!(start.json["excludeCredentials"][0]["id"], first_id);
    assert_eq!(start.json["excludeCredentials"][0]["type"], "public-key");

    let (mut second, f2) = add_passkey(&mut c).await;
    assert_eq!(f2.status, StatusCode::OK, "{:?}", f2.json);
    assert!(
        f2.set_cookies()
            .iter()
            .all(|c| !c.starts_with("passkeyd_session="))
    );
    let list = c.get("/api/webauthn/credentials").await;
    assert_eq!(list.json.as_array().unwrap().len(), 2);

    // The new passkey signs in.
    let mut fresh = app.client();
    let r = sign_in(&mut fresh, &mut second, Some("dana")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}

#[tokio::test]
async fn an_add_passkey_ceremony_cannot_be_finished_by_another_account() {
    let app = TestApp::new().await;
    let mut erin = app.client();
    sign_up(&mut erin, "erin").await;
    let (_a, response) = start_and_create(&mut erin, json!({})).await;
    let ceremony = erin.cookies["passkeyd_ceremony"].clone();

    let mut frank = app.client();
    sign_up(&mut frank, "frank").await;
    frank.cookies.insert("passkeyd_ceremony".into(), ceremony);
    let r = frank.post("/api/webauthn/register/finish", &response).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "ceremony_expired");
    // The ceremony was used up by the attempt: the rightful owner must start again.
    let r = erin.post("/api/webauthn/register/finish", &response).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "ceremony_expired");
}

#[tokio::test]
async fn sign_in_without_username_uses_the_discoverable_passkey() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "gina").await;
    let mut b = app.client();
    let start = auth_start(&mut b, None).await;
    assert_eq!(start.status, StatusCode::OK);
    assert_eq!(start.json["options"]["allowCredentials"], json!([]));
    assert_eq!(start.json["options"]["rpId"], "localhost");
    assert_eq!(start.json["options"]["userVerification"], "preferred");
    assert!(start.json["challengeKey"].is_string());
    let body = assertion_body(&mut auth, &start.json);
    let r = b.post("/api/webauthn/auth/finish", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(
        r.json,
        json!({"success": true, "user": {"username": "gina", "displayName": "gina display"}})
    );
    assert!(b.cookies.contains_key("passkeyd_session"));
    assert_eq!(b.get("/api/session").await.status, StatusCode::OK);
    let list = b.get("/api/webauthn/credentials").await;
    assert!(list.json[0]["lastUsedAt"].is_string(), "{:?}", list.json);
}

#[tokio::test]
async fn sign_in_with_username_lists_the_users_passkeys() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, f) = sign_up(&mut c, "hank").await;
    let mut b = app.client();
    let start = auth_start(&mut b, Some("HANK")).await;
    let allow = start.json["options"]["allowCredentials"]
        .as_array()
        .unwrap();
    assert_eq!(allow.len(), 1);
    assert_eq!(allow[0]["id"], f.json["credentialId"]);
    let body = assertion_body(&mut auth, &start.json);
    let r = b.post("/api/webauthn/auth/finish", &body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
}

#[tokio::test]
async fn unknown_usernames_get_deterministic_options_shaped_like_real_ones() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "ivan").await;
    let mut b = app.client();
    let real = auth_start(&mut b, Some("ivan")).await.json;
    let fake1 = auth_start(&mut b, Some("nobody")).await.json;
    let fake2 = auth_start(&mut b, Some("Nobody")).await.json;
    assert_eq!(keys(&real), keys(&fake1));
    assert_eq!(keys(&real["options"]), keys(&fake1["options"]));
    let real_allow = real["options"]["allowCredentials"].as_array().unwrap();
    let fake_allow = fake1["options"]["allowCredentials"].as_array().unwrap();
    assert!((1..=2).contains(&fake_allow.len()));
    for d in fake_allow {
        assert_eq!(keys(d), keys(&real_allow[0]));
        assert_eq!(d["type"], "public-key");
        let id = passkeyd_testkit::b64url_decode(d["id"].as_str().unwrap()).unwrap();
        assert!(id.len() >= 16);
    }
    assert_eq!(
        fake1["options"]["allowCredentials"], fake2["options"]["allowCredentials"],
        "asking twice must give the same answer"
    );
    assert_ne!(fake1["options"]["challenge"], fake2["options"]["challenge"]);
    let other = auth_start(&mut b, Some("somebody-else")).await.json;
    assert_ne!(
        other["options"]["allowCredentials"],
        fake1["options"]["allowCredentials"]
    );
    // Finishing against a fake fails exactly like any other failure.
    let mut stranger = passkeyd_testkit::SoftAuthenticator::new(passkeyd_testkit::Alg::Es256);
    let body = assertion_body(&mut stranger, &fake1);
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &body).await);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "judy").await;
    let mut b = app.client();
    let start = auth_start(&mut b, None).await;
    let body = assertion_body(&mut auth, &start.json);
    assert_eq!(
        b.post("/api/webauthn/auth/finish", &body).await.status,
        StatusCode::OK
    );
    // The same body again: its challenge key was used up.
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &body).await);
    // The same assertion under a fresh challenge key: the signed challenge does not match.
    let fresh = auth_start(&mut b, None).await;
    let mut replay = body.clone();
    replay["challengeKey"] = fresh.json["challengeKey"].clone();
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &replay).await);
}

#[tokio::test]
async fn the_counter_compare_and_set_succeeds_once_per_stored_value() {
    use passkeyd_server::store::CounterAdvance;
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_auth, f) = sign_up(&mut c, "kate").await;
    let id = passkeyd_testkit::b64url_decode(f.json["credentialId"].as_str().unwrap()).unwrap();
    let advance = CounterAdvance {
        expected_sign_count: 0,
        expected_use_count: 0,
        new_sign_count: 0,
        backup_state: false,
        uv_initialized: true,
        last_used_at: 1,
    };
    assert!(
        app.state
            .store
            .advance_counter(&id, &advance)
            .await
            .unwrap()
    );
    assert!(
        !app.state
            .store
            .advance_counter(&id, &advance)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn an_expired_challenge_is_refused() {
    let app = TestApp::with(|_| {}, Duration::from_millis(300)).await;
    let mut c = app.client();
    let (_a, response) = start_and_create(&mut c, json!({"username": "leo"})).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = c.post("/api/webauthn/register/finish", &response).await;
    assert_error(&r, StatusCode::BAD_REQUEST, "ceremony_expired");

    let (mut auth, f) = sign_up(&mut c, "mia").await;
    assert_eq!(f.status, StatusCode::OK, "{:?}", f.json);
    let start = auth_start(&mut c, None).await;
    let body = assertion_body(&mut auth, &start.json);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_generic_auth_failure(&c.post("/api/webauthn/auth/finish", &body).await);
}

#[tokio::test]
async fn a_foreign_challenge_is_refused() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "nina").await;
    let mut b = app.client();
    // Response to ceremony A presented with the key of ceremony B.
    let a = auth_start(&mut b, None).await;
    let other = auth_start(&mut b, None).await;
    let mut body = assertion_body(&mut auth, &a.json);
    body["challengeKey"] = other.json["challengeKey"].clone();
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &body).await);
    // A registration's key used for a sign-in.
    let reg = b
        .post(
            "/api/webauthn/register/start",
            &json!({"username": "oscar"}),
        )
        .await;
    assert_eq!(reg.status, StatusCode::OK);
    let reg_key = b.cookies["passkeyd_ceremony"].clone();
    let fake_start = json!({"options": reg.json, "challengeKey": reg_key});
    let body = assertion_body(&mut auth, &fake_start);
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &body).await);
    // A key nobody issued.
    let mut body = assertion_body(&mut auth, &a.json);
    body["challengeKey"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert_generic_auth_failure(&b.post("/api/webauthn/auth/finish", &body).await);
}

#[tokio::test]
async fn every_sign_in_failure_is_the_same_generic_401() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "pia").await;
    let mut b = app.client();
    let tampered = |t: Tamper| {
        move |start: &Value, auth: &mut passkeyd_testkit::SoftAuthenticator| {
            let a = auth.assert(
                &AssertParams::new(challenge_of(&start["options"]), RP_ID, ORIGIN)
                    .with_tamper(t.clone()),
            );
            let mut body = a.json;
            body["challengeKey"] = start["challengeKey"].clone();
            body
        }
    };
    let cases: Vec<(&str, MakeBody)> = vec![
        (
            "bad signature",
            Box::new(tampered(Tamper::FlipSignatureBit)),
        ),
        (
            "wrong origin",
            Box::new(
                |start: &Value, auth: &mut passkeyd_testkit::SoftAuthenticator| {
                    let a = auth.assert(&AssertParams::new(
                        challenge_of(&start["options"]),
                        RP_ID,
                        "http://localhost:9999",
                    ));
                    let mut body = a.json;
                    body["challengeKey"] = start["challengeKey"].clone();
                    body
                },
            ),
        ),
        (
            "unknown credential",
            Box::new(
                |start: &Value, _auth: &mut passkeyd_testkit::SoftAuthenticator| {
                    let mut other =
                        passkeyd_testkit::SoftAuthenticator::new(passkeyd_testkit::Alg::Es256);
                    assertion_body(&mut other, start)
                },
            ),
        ),
        (
            "not an object",
            Box::new(|_: &Value, _: &mut passkeyd_testkit::SoftAuthenticator| json!([1, 2])),
        ),
        (
            "missing challengeKey",
            Box::new(
                |start: &Value, auth: &mut passkeyd_testkit::SoftAuthenticator| {
                    let mut body = assertion_body(auth, start);
                    body.as_object_mut().unwrap().remove("challengeKey");
                    body
                },
            ),
        ),
    ];
    for (name, make) in cases {
        let start = auth_start(&mut b, None).await;
        b.cookies.remove("passkeyd_ceremony");
        let body = make(&start.json, &mut auth);
        let r = b.post("/api/webauthn/auth/finish", &body).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}: {:?}", r.json);
        assert_generic_auth_failure(&r);
    }
    let r = b
        .send(
            Method::POST,
            "/api/webauthn/auth/finish",
            Some(b"{not json".to_vec()),
        )
        .await;
    assert_generic_auth_failure(&r);
}

#[tokio::test]
async fn a_passkey_can_be_renamed() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_a, f) = sign_up(&mut c, "quinn").await;
    let id = f.json["credentialId"].as_str().unwrap();
    let r = c
        .patch(
            &format!("/api/webauthn/credentials/{id}"),
            &json!({"name": "  Work laptop  "}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["name"], "Work laptop");
    assert_eq!(
        c.get("/api/webauthn/credentials").await.json[0]["name"],
        "Work laptop"
    );
    let r = c
        .patch(
            &format!("/api/webauthn/credentials/{id}"),
            &json!({"name": ""}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");
    let r = c
        .patch("/api/webauthn/credentials/AAAA", &json!({"name": "x"}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    // Another account cannot rename it.
    let mut other = app.client();
    sign_up(&mut other, "rita").await;
    let r = other
        .patch(
            &format!("/api/webauthn/credentials/{id}"),
            &json!({"name": "mine"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn deleting_the_last_passkey_is_refused() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_a, f) = sign_up(&mut c, "sam").await;
    let first = f.json["credentialId"].as_str().unwrap().to_owned();
    let r = c
        .delete(&format!("/api/webauthn/credentials/{first}"))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "last_passkey");
    assert!(r.json["message"].as_str().unwrap().contains("last passkey"));

    let (_b, f2) = add_passkey(&mut c).await;
    let second = f2.json["credentialId"].as_str().unwrap().to_owned();
    let r = c
        .delete(&format!("/api/webauthn/credentials/{first}"))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = c
        .delete(&format!("/api/webauthn/credentials/{second}"))
        .await;
    assert_error(&r, StatusCode::CONFLICT, "last_passkey");
    let r = c
        .delete(&format!("/api/webauthn/credentials/{first}"))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn sessions_are_listed_and_another_can_be_revoked() {
    let app = TestApp::new().await;
    let mut laptop = app.client();
    let (mut auth, _) = sign_up(&mut laptop, "tina").await;
    let mut phone = app.client();
    assert_eq!(
        sign_in(&mut phone, &mut auth, None).await.status,
        StatusCode::OK
    );

    let list = laptop.get("/api/sessions").await;
    assert_eq!(list.status, StatusCode::OK);
    let list = list.json.as_array().unwrap().clone();
    assert_eq!(list.len(), 2);
    assert_eq!(list.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_id = list.iter().find(|s| s["current"] == false).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = laptop.delete(&format!("/api/sessions/{phone_id}")).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(
        &phone.get("/api/session").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_eq!(laptop.get("/api/session").await.status, StatusCode::OK);
    let r = laptop.delete(&format!("/api/sessions/{phone_id}")).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not_found");
    assert_eq!(
        laptop
            .get("/api/sessions")
            .await
            .json
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn sign_out_ends_the_session() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "uma").await;
    let token = c.cookies["passkeyd_session"].clone();
    let r = c.delete("/api/session").await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert!(
        !c.cookies.contains_key("passkeyd_session"),
        "cookie cleared"
    );
    // The old token is dead on the server, not just forgotten by the browser.
    c.cookies.insert("passkeyd_session".into(), token);
    assert_error(
        &c.get("/api/session").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_error(
        &c.get("/api/webauthn/credentials").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // Signing out twice is fine.
    assert_eq!(
        c.delete("/api/session").await.status,
        StatusCode::NO_CONTENT
    );
}

#[tokio::test]
async fn bad_input_gets_a_4xx_json_error_never_a_5xx() {
    let app = TestApp::new().await;
    let mut signed_in = app.client();
    let (_a, f) = sign_up(&mut signed_in, "vera").await;
    let cred = f.json["credentialId"].as_str().unwrap().to_owned();
    let big = vec![b' '; 100 * 1024];
    let garbage_cbor = {
        let mut c = app.client();
        let (_a, mut response) = start_and_create(&mut c, json!({"username": "walt"})).await;
        response["response"]["attestationObject"] = json!("v_-_v_-_AAEC");
        (c, response)
    };
    let mut gc = garbage_cbor.0;
    let r = gc
        .post("/api/webauthn/register/finish", &garbage_cbor.1)
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "registration_failed");

    let cases: Vec<(&str, Method, String, Vec<u8>, StatusCode)> = vec![
        ("malformed JSON", Method::POST, "/api/webauthn/register/start".into(), b"{\"username\":".to_vec(), StatusCode::BAD_REQUEST),
        ("wrong type", Method::POST, "/api/webauthn/register/start".into(), br#"{"username": 5}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("wrong type auth", Method::POST, "/api/webauthn/auth/start".into(), br#"{"username": ["x"]}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("not JSON at all", Method::POST, "/api/webauthn/auth/start".into(), b"\xff\xfe".to_vec(), StatusCode::BAD_REQUEST),
        ("bad base64 in finish", Method::POST, "/api/webauthn/auth/finish".into(), br#"{"id":"***","rawId":"***","type":"public-key","response":{"clientDataJSON":"***","authenticatorData":"","signature":""},"challengeKey":"x"}"#.to_vec(), StatusCode::UNAUTHORIZED),
        ("bad base64 in register finish", Method::POST, "/api/webauthn/register/finish".into(), br#"{"id":"***","rawId":"***","type":"public-key","response":{"clientDataJSON":"***","attestationObject":"***"}}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("100 KiB body", Method::POST, "/api/webauthn/auth/start".into(), big.clone(), StatusCode::PAYLOAD_TOO_LARGE),
        ("100 KiB finish", Method::POST, "/api/webauthn/auth/finish".into(), big.clone(), StatusCode::PAYLOAD_TOO_LARGE),
        ("100 KiB rename", Method::PATCH, format!("/api/webauthn/credentials/{cred}"), big, StatusCode::PAYLOAD_TOO_LARGE),
        ("rename wrong type", Method::PATCH, format!("/api/webauthn/credentials/{cred}"), br#"{"name": {}}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("rename missing name", Method::PATCH, format!("/api/webauthn/credentials/{cred}"), b"{}".to_vec(), StatusCode::BAD_REQUEST),
        ("bad base64 id", Method::DELETE, "/api/webauthn/credentials/%2A%2A%2A".into(), vec![], StatusCode::BAD_REQUEST),
        ("unknown api path", Method::GET, "/api/nothing".into(), vec![], StatusCode::NOT_FOUND),
        ("wrong method", Method::GET, "/api/webauthn/auth/start".into(), vec![], StatusCode::METHOD_NOT_ALLOWED),
        ("username too long", Method::POST, "/api/webauthn/auth/start".into(), json!({"username": "x".repeat(65)}).to_string().into_bytes(), StatusCode::BAD_REQUEST),
        ("control characters", Method::POST, "/api/webauthn/register/start".into(), br#"{"username": "a\u0000b"}"#.to_vec(), StatusCode::BAD_REQUEST),
    ];
    for (name, method, path, body, status) in cases {
        let client = if path.contains("credentials") {
            &mut signed_in
        } else {
            &mut gc
        };
        let body = (!body.is_empty()).then_some(body);
        let r = client.send(method, &path, body).await;
        assert_eq!(
            r.status,
            status,
            "{name}: {:?} {:?}",
            r.json,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            r.json["error"].is_string(),
            "{name}: not a JSON error: {:?}",
            String::from_utf8_lossy(&r.body)
        );
        assert!(r.json["message"].is_string(), "{name}");
    }
}

#[tokio::test]
async fn cross_origin_state_changes_are_refused() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let r = c
        .send_with(
            Method::POST,
            "/api/webauthn/auth/start",
            Some(b"{}".to_vec()),
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "origin_not_allowed");
    let r = c
        .send_with(
            Method::POST,
            "/api/webauthn/auth/start",
            Some(b"{}".to_vec()),
            &[("origin", ORIGIN)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn health_readiness_openapi_and_request_ids() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let h = c.get("/healthz").await;
    assert_eq!(h.status, StatusCode::OK);
    assert_eq!(h.headers.get("x-request-id").map(|v| v.len()), Some(32));
    assert_eq!(h.headers["cache-control"], "no-store");
    assert_eq!(h.headers["x-content-type-options"], "nosniff");
    assert_eq!(
        h.headers["content-security-policy"],
        "frame-ancestors 'none'"
    );
    assert_eq!(c.get("/readyz").await.status, StatusCode::OK);
    let doc = c.get("/api/openapi.json").await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/webauthn/register/start",
        "/api/webauthn/register/finish",
        "/api/webauthn/auth/start",
        "/api/webauthn/auth/finish",
        "/api/webauthn/credentials",
        "/api/webauthn/credentials/{id}",
        "/api/session",
        "/api/sessions",
        "/api/sessions/{id}",
        "/api/token",
        "/api/session/introspect",
        "/.well-known/jwks.json",
    ] {
        assert!(
            doc.json["paths"].get(path).is_some(),
            "{path} missing from OpenAPI"
        );
    }
}

#[tokio::test]
async fn static_pages_are_served_from_web_or_404() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let index = c.get("/").await;
    let web = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../web");
    if web.join("index.html").exists() {
        assert_eq!(index.status, StatusCode::OK);
        assert!(
            index.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
    } else {
        assert_eq!(index.status, StatusCode::NOT_FOUND);
    }
    if web.join("passkeyd.js").exists() {
        let js = c.get("/static/passkeyd.js").await;
        assert_eq!(js.status, StatusCode::OK);
        assert!(
            js.headers["content-type"]
                .to_str()
                .unwrap()
                .contains("javascript")
        );
    }
    assert_eq!(
        c.get("/static/no-such-file.js").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/static/../Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get("/static/%2e%2e/Cargo.toml").await.status,
        StatusCode::NOT_FOUND
    );
}

/// The real binary: `passkeyd serve` on a free port with a temporary data directory, a full
/// sign-up and sign-in over HTTP with cookies, then SIGTERM and a clean exit.
#[tokio::test]
async fn serve_binary_signs_up_and_in_over_http_and_stops_cleanly_on_sigterm() {
    use passkeyd_testkit::{Alg, RegisterParams, SoftAuthenticator, b64url_decode};
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let origin = format!("http://localhost:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path().join("data"))
        .env_remove("PASSKEYD_CONFIG")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start passkeyd serve");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();

    let mut up = false;
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status() == 200
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !up {
        let _ = child.kill();
        panic!("passkeyd serve did not answer /healthz within 30 s");
    }
    assert!(dir.path().join("data/passkeyd.db").exists());
    assert_eq!(
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Sign-up.
    let options: Value = http
        .post(format!("{base}/api/webauthn/register/start"))
        .json(&json!({"username": "xena", "displayName": "Xena"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let handle = b64url_decode(options["user"]["id"].as_str().unwrap()).unwrap();
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_user_handle(handle);
    let reg = auth.register(&RegisterParams::new(challenge_of(&options), RP_ID, &origin));
    let r = http
        .post(format!("{base}/api/webauthn/register/finish"))
        .json(&reg.json)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let session: Value = http
        .get(format!("{base}/api/session"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(session["user"]["username"], "xena");

    // Sign out, then sign in with the passkey (discoverable).
    let r = http
        .delete(format!("{base}/api/session"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(
        http.get(format!("{base}/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let start: Value = http
        .post(format!("{base}/api/webauthn/auth/start"))
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a = auth.assert(&AssertParams::new(
        challenge_of(&start["options"]),
        RP_ID,
        &origin,
    ));
    let mut body = a.json;
    body["challengeKey"] = start["challengeKey"].clone();
    let r = http
        .post(format!("{base}/api/webauthn/auth/finish"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let signed_in: Value = r.json().await.unwrap();
    assert_eq!(signed_in["user"]["displayName"], "Xena");
    assert_eq!(
        http.get(format!("{base}/api/session"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // SIGTERM: graceful shutdown, exit status 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let mut status = None;
    for _ in 0..100 {
        if let Some(s) = child.try_wait().unwrap() {
            status = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Some(status) = status else {
        let _ = child.kill();
        panic!("passkeyd serve did not exit within 10 s of SIGTERM");
    };
    assert!(status.success(), "exit status {status:?}");
}

#[tokio::test]
async fn a_session_token_verifies_against_the_jwks_and_introspects_until_sign_out() {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};
    use passkeyd_testkit::b64url_decode;

    let app = TestApp::new().await;
    let mut c = app.client();
    assert_error(
        &c.post("/api/token", &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let (_auth, _) = sign_up(&mut c, "yara").await;
    let session = c.get("/api/session").await.json;
    let r = c.post("/api/token", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["tokenType"], "Bearer");
    assert_eq!(r.json["expiresIn"], 300);
    let token = r.json["token"].as_str().unwrap().to_owned();

    // Verify independently with the published key.
    let jwks = c.get("/.well-known/jwks.json").await;
    assert_eq!(jwks.status, StatusCode::OK);
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    let jwk = jwks.json["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("signing key in the JWKS")
        .clone();
    let mut point = vec![4u8];
    point.extend(b64url_decode(jwk["x"].as_str().unwrap()).unwrap());
    point.extend(b64url_decode(jwk["y"].as_str().unwrap()).unwrap());
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &point)
        .verify(
            format!("{}.{}", parts[0], parts[1]).as_bytes(),
            &b64url_decode(parts[2]).unwrap(),
        )
        .expect("signature verifies with the JWKS key");
    let claims: Value = serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], ORIGIN);
    assert_eq!(claims["aud"], ORIGIN);
    assert_eq!(claims["amr"], json!(["swk", "user", "mfa"]));
    assert_eq!(claims["acr"], "phr");
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        300
    );
    assert!(claims["auth_time"].as_u64().unwrap() <= claims["iat"].as_u64().unwrap());
    assert!(session["credentialId"].is_string());

    let r = c
        .post(
            "/api/token",
            &json!({"audience": "https://elsewhere.example"}),
        )
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid_request");

    let mut app_server = app.client();
    let i = app_server
        .post("/api/session/introspect", &json!({ "token": token }))
        .await;
    assert_eq!(i.status, StatusCode::OK);
    assert_eq!(i.json["active"], true, "{:?}", i.json);
    assert_eq!(i.json["sub"], claims["sub"]);
    let bad = app_server
        .post("/api/session/introspect", &json!({"token": "a.b.c"}))
        .await;
    assert_eq!(bad.json, json!({"active": false}));
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    let t = app_server
        .post("/api/session/introspect", &json!({ "token": tampered }))
        .await;
    assert_eq!(t.json, json!({"active": false}));

    assert_eq!(
        c.delete("/api/session").await.status,
        StatusCode::NO_CONTENT
    );
    let after = app_server
        .post("/api/session/introspect", &json!({ "token": token }))
        .await;
    assert_eq!(
        after.json,
        json!({"active": false}),
        "a signed-out session's token is inactive"
    );

    // The signing keys survive a restart.
    let again = passkeyd_server::AppState::open(test_config(app.dir.path()))
        .await
        .unwrap();
    assert_eq!(again.tokens.jwks(), jwks.json);
}

/// A data directory from before the shared keyring (keys in `token-keys.json`, none in the
/// database) keeps its keys: they are imported at start.
#[tokio::test]
async fn token_keys_from_an_older_key_file_are_imported() {
    let old = TestApp::new().await;
    let jwks = old.state.tokens.jwks();
    let keys = old.state.store.load_secret("token-keys").await.unwrap();
    let (_, bytes) = keys.expect("a keyring in the store");
    old.state.close().await;
    // The older layout: the keys as a file, a database without them.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token-keys.json"), &bytes).unwrap();
    let state = passkeyd_server::AppState::open(test_config(dir.path()))
        .await
        .unwrap();
    assert_eq!(state.tokens.jwks(), jwks);
}

#[tokio::test]
async fn a_credential_id_registered_to_anyone_cannot_be_registered_again() {
    use passkeyd_testkit::RegisterParams;
    let app = TestApp::new().await;
    let mut a = app.client();
    let (mut auth, f) = sign_up(&mut a, "zoe").await;
    assert_eq!(f.status, StatusCode::OK);
    // Another account tries to register the same authenticator credential.
    let mut b = app.client();
    let start = b
        .post("/api/webauthn/register/start", &json!({"username": "zack"}))
        .await;
    let reg = auth.register(&RegisterParams::new(
        challenge_of(&start.json),
        RP_ID,
        ORIGIN,
    ));
    let r = b.post("/api/webauthn/register/finish", &reg.json).await;
    assert_error(&r, StatusCode::CONFLICT, "credential_exists");
    // The account was not created half-way.
    let r = b
        .post("/api/webauthn/register/start", &json!({"username": "zack"}))
        .await;
    assert_eq!(r.status, StatusCode::OK);

    // The store refuses a duplicate id on its own too.
    let id = passkeyd_testkit::b64url_decode(f.json["credentialId"].as_str().unwrap()).unwrap();
    let existing = app
        .state
        .store
        .credential_by_id(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        app.state
            .store
            .insert_credential(
                &existing,
                &passkeyd_server::store::AuditEvent::new("test", "system", "success")
            )
            .await,
        Err(passkeyd_server::store::StoreError::CredentialExists)
    );
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    for (idle, absolute) in [(1, 3600), (3600, 1)] {
        let app = TestApp::with(
            |c| {
                c.session_idle_timeout = Duration::from_secs(idle);
                c.session_absolute_timeout = Duration::from_secs(absolute);
            },
            Duration::from_secs(300),
        )
        .await;
        let mut c = app.client();
        let (_a, f) = sign_up(&mut c, "ada").await;
        assert_eq!(f.status, StatusCode::OK);
        let cookie = f
            .set_cookies()
            .into_iter()
            .find(|c| c.starts_with("passkeyd_session="))
            .unwrap();
        assert!(cookie.contains(&format!("Max-Age={absolute}")), "{cookie}");
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_error(
            &c.get("/api/session").await,
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
        );
    }
}

#[tokio::test]
async fn the_stored_credential_keeps_the_attestation_evidence() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (_a, f) = sign_up(&mut c, "bea").await;
    let id = passkeyd_testkit::b64url_decode(f.json["credentialId"].as_str().unwrap()).unwrap();
    let cred = app
        .state
        .store
        .credential_by_id(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cred.attestation_format, "none");
    assert_eq!(cred.attestation_type, "none");
    assert_eq!(cred.alg, -7);
    assert!(cred.uv_initialized);
    assert!(!cred.attestation_object.is_empty());
    let client_data: Value = serde_json::from_slice(&cred.attestation_client_data_json).unwrap();
    assert_eq!(client_data["type"], "webauthn.create");
}

#[tokio::test]
async fn signing_in_again_replaces_the_browsers_previous_session() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "cleo").await;
    let first = c.cookies["passkeyd_session"].clone();
    assert_eq!(
        sign_in(&mut c, &mut auth, None).await.status,
        StatusCode::OK
    );
    assert_ne!(c.cookies["passkeyd_session"], first);
    let list = c.get("/api/sessions").await;
    assert_eq!(list.json.as_array().unwrap().len(), 1, "{:?}", list.json);
    let mut stale = app.client();
    stale
        .cookies
        .insert("passkeyd_session".into(), first.clone());
    assert_error(
        &stale.get("/api/session").await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // The old session is not looked up, only revoked by its hash: a cookie naming a revoked,
    // unknown or malformed session neither blocks the sign-in nor touches anyone else's.
    let current = c.cookies["passkeyd_session"].clone();
    for leftover in [first, "A".repeat(43), "not a token".into()] {
        let mut other = app.client();
        other.cookies.insert("passkeyd_session".into(), leftover);
        assert_eq!(
            sign_in(&mut other, &mut auth, None).await.status,
            StatusCode::OK
        );
        assert_eq!(other.get("/api/session").await.status, StatusCode::OK);
    }
    assert_eq!(c.cookies["passkeyd_session"], current);
    assert_eq!(c.get("/api/session").await.status, StatusCode::OK);
}
