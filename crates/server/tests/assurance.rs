//! Tiers, session assurance and step-up, through the router.

mod common;

use axum::http::StatusCode;
use common::*;
use passkeyd_server::config::FileConfig;
use passkeyd_server::services::policy::{Policy, PolicySection};
use passkeyd_testkit::{
    Alg, AssertParams, AttestationKind, RegisterParams, SoftAuthenticator, TestPki, b64url_decode,
};
use serde_json::{Value, json};
use std::time::Duration;

/// An app whose policy is `policy_toml` (a `[policy]` section body) and whose attestation roots
/// are `roots` (PEM files).
async fn app_with(policy_toml: &str, roots: Vec<std::path::PathBuf>) -> TestApp {
    let section: PolicySection = toml::from_str(policy_toml).expect("policy toml");
    let policy = Policy::from_section(&section).expect("policy");
    TestApp::with(
        move |c| {
            c.policy = policy;
            c.attestation_roots = roots;
        },
        Duration::from_secs(300),
    )
    .await
}

/// Signs up `username` with `auth` making the registration described by `params`.
async fn sign_up_with(
    client: &mut Client,
    username: &str,
    auth: SoftAuthenticator,
    params: impl FnOnce(Vec<u8>) -> RegisterParams,
) -> (SoftAuthenticator, Value, Resp) {
    let start = client
        .post(
            "/api/webauthn/register/start",
            &json!({"username": username, "displayName": username}),
        )
        .await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    let options = start.json;
    let handle = b64url_decode(options["user"]["id"].as_str().unwrap()).unwrap();
    let mut auth = auth.with_user_handle(handle);
    let reg = auth.register(&params(challenge_of(&options)));
    let finish = client
        .post("/api/webauthn/register/finish", &reg.json)
        .await;
    (auth, options, finish)
}

#[tokio::test]
async fn a_tier3_policy_refuses_synced_unverified_and_unattested_keys_and_accepts_an_attested_one()
{
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let app = app_with("default_tier = \"tier3\"\n", vec![root]).await;
    let aaguid = [0x42; 16];

    // The options ask for what tier3 needs.
    let mut c = app.client();
    let (_a, options, synced) = sign_up_with(
        &mut c,
        "sam",
        SoftAuthenticator::new(Alg::Es256)
            .with_aaguid(aaguid)
            .with_backup(true, true),
        |ch| {
            RegisterParams::new(ch, RP_ID, ORIGIN)
                .with_attestation(AttestationKind::PackedX5c(pki.attestation(aaguid)))
        },
    )
    .await;
    assert_eq!(options["attestation"], "direct");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options["hints"], json!(["security-key"]));
    assert_eq!(synced.status, StatusCode::FORBIDDEN, "{:?}", synced.json);
    assert_eq!(synced.json["error"], "policy_refused");
    assert!(
        synced.json["message"].as_str().unwrap().contains("synced"),
        "{:?}",
        synced.json
    );

    // Device-bound but only self attestation: no proof of the model.
    let mut c = app.client();
    let (_a, _, selfie) = sign_up_with(&mut c, "sam", SoftAuthenticator::new(Alg::Es256), |ch| {
        RegisterParams::new(ch, RP_ID, ORIGIN).with_attestation(AttestationKind::PackedSelf)
    })
    .await;
    assert_eq!(selfie.status, StatusCode::FORBIDDEN);
    assert!(selfie.json["message"].as_str().unwrap().contains("maker"));

    // A chain to an unknown root is recorded as untrusted and refused the same way.
    let mut c = app.client();
    let untrusted = pki.attestation_cert(&passkeyd_testkit::LeafOptions::new(aaguid).untrusted());
    let (_a, _, foreign) = sign_up_with(
        &mut c,
        "sam",
        SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid),
        |ch| {
            RegisterParams::new(ch, RP_ID, ORIGIN)
                .with_attestation(AttestationKind::PackedX5c(untrusted))
        },
    )
    .await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{:?}", foreign.json);

    // Nothing was created by the refusals.
    assert!(
        app.state
            .store
            .user_by_username("sam")
            .await
            .unwrap()
            .is_none()
    );

    // A device-bound, attested key: accepted, and the session is AAL3.
    let mut c = app.client();
    let (_a, _, ok) = sign_up_with(
        &mut c,
        "sam",
        SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid),
        |ch| {
            RegisterParams::new(ch, RP_ID, ORIGIN)
                .with_attestation(AttestationKind::PackedX5c(pki.attestation(aaguid)))
        },
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    let s = c.get("/api/session").await;
    assert_eq!(s.json["assurance"]["aal"], 3, "{:?}", s.json);
    assert_eq!(s.json["assurance"]["tier"], "tier3");
    let reasons = s.json["assurance"]["reasons"].as_array().unwrap();
    for r in ["user_verified", "device_bound", "attested"] {
        assert!(reasons.contains(&json!(r)), "{reasons:?}");
    }
}

#[tokio::test]
async fn the_default_tier_takes_synced_passkeys_at_aal2_and_without_verification_at_aal1() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, options, r) = sign_up_with(
        &mut c,
        "ann",
        SoftAuthenticator::new(Alg::Es256).with_backup(true, true),
        |ch| RegisterParams::new(ch, RP_ID, ORIGIN),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(options["attestation"], "none");
    let s = c.get("/api/session").await;
    assert_eq!(s.json["assurance"]["aal"], 2);
    assert_eq!(s.json["assurance"]["tier"], "tier1");
    assert!(
        s.json["assurance"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("synced"))
    );
    // A sign-in without user verification is AAL1, and the token says so.
    let mut other = app.client();
    let start = auth_start(&mut other, Some("ann")).await;
    let mut p = AssertParams::new(challenge_of(&start.json["options"]), RP_ID, ORIGIN);
    p.user_verified = false;
    let mut body = auth.assert(&p).json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    let fin = other.post("/api/webauthn/auth/finish", &body).await;
    assert_eq!(fin.status, StatusCode::OK, "{:?}", fin.json);
    let s = other.get("/api/session").await;
    assert_eq!(s.json["assurance"]["aal"], 1);
    let token = other.post("/api/token", &json!({})).await;
    let claims = decode_claims(token.json["token"].as_str().unwrap());
    assert_eq!(claims["aal"], 1);
    assert!(claims.get("elevations").is_none());
}

fn decode_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&b64url_decode(payload).unwrap()).unwrap()
}

/// Runs a step-up for `action` with `auth`; returns the finish answer.
async fn step_up(
    client: &mut Client,
    auth: &mut SoftAuthenticator,
    request: Value,
    tweak: impl FnOnce(&mut AssertParams),
) -> Resp {
    let start = client.post("/api/webauthn/stepup/start", &request).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    assert_eq!(start.json["options"]["userVerification"], "required");
    let mut p = AssertParams::new(challenge_of(&start.json["options"]), RP_ID, ORIGIN);
    tweak(&mut p);
    let mut body = auth.assert(&p).json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    client.post("/api/webauthn/stepup/finish", &body).await
}

#[tokio::test]
async fn deleting_the_account_needs_a_fresh_step_up() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, r) = sign_up(&mut c, "dan").await;
    assert_eq!(r.status, StatusCode::OK);

    let refused = c.delete("/api/account").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{:?}", refused.json);
    assert_eq!(refused.json["error"], "step_up_required");
    assert_eq!(refused.json["action"], "delete_account");
    assert_eq!(refused.json["level"], 2);

    // A step-up without user verification does not grant anything.
    let no_uv = step_up(
        &mut c,
        &mut auth,
        json!({"action": "delete_account"}),
        |p| p.user_verified = false,
    )
    .await;
    assert_eq!(no_uv.status, StatusCode::UNAUTHORIZED, "{:?}", no_uv.json);
    assert_eq!(c.delete("/api/account").await.status, StatusCode::FORBIDDEN);

    // A step-up for another action does not count for this one.
    let other = step_up(
        &mut c,
        &mut auth,
        json!({"action": "payments:send"}),
        |_| {},
    )
    .await;
    assert_eq!(other.status, StatusCode::OK, "{:?}", other.json);
    assert_eq!(c.delete("/api/account").await.status, StatusCode::FORBIDDEN);

    let ok = step_up(
        &mut c,
        &mut auth,
        json!({"action": "delete_account", "level": 2, "max_age": 120}),
        |_| {},
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.json);
    assert_eq!(ok.json["elevation"]["action"], "delete_account");
    assert_eq!(ok.json["elevation"]["aal"], 2);
    let s = c.get("/api/session").await;
    let actions: Vec<&str> = s.json["elevations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, vec!["delete_account", "payments:send"]);
    let token = c.post("/api/token", &json!({})).await;
    let claims = decode_claims(token.json["token"].as_str().unwrap());
    assert_eq!(claims["elevations"].as_array().unwrap().len(), 2);
    assert_eq!(claims["aal"], 2);

    let deleted = c.delete("/api/account").await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{:?}", deleted.json);
    assert!(
        app.state
            .store
            .user_by_username("dan")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        app.state
            .store
            .credential_by_id(auth.credential_id())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(c.get("/api/session").await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn elevations_expire_belong_to_one_session_and_need_a_passkey_able_to_reach_the_level() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "eve").await;

    // A one-second elevation is gone two seconds later.
    let short = step_up(
        &mut c,
        &mut auth,
        json!({"action": "delete_account", "max_age": 1}),
        |_| {},
    )
    .await;
    assert_eq!(short.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(c.delete("/api/account").await.status, StatusCode::FORBIDDEN);
    assert_eq!(c.get("/api/session").await.json["elevations"], json!([]));

    // A step-up started by one session cannot be finished by another of the same account.
    let mut laptop = app.client();
    assert_eq!(
        sign_in(&mut laptop, &mut auth, Some("eve")).await.status,
        StatusCode::OK
    );
    let start = c
        .post(
            "/api/webauthn/stepup/start",
            &json!({"action": "delete_account"}),
        )
        .await;
    let mut body = auth
        .assert(&AssertParams::new(
            challenge_of(&start.json["options"]),
            RP_ID,
            ORIGIN,
        ))
        .json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    let stolen = laptop.post("/api/webauthn/stepup/finish", &body).await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        laptop.get("/api/session").await.json["elevations"],
        json!([])
    );

    // Level 3 needs an attested device-bound key; eve has none.
    let impossible = c
        .post(
            "/api/webauthn/stepup/start",
            &json!({"action": "delete_account", "level": 3}),
        )
        .await;
    assert_eq!(impossible.status, StatusCode::FORBIDDEN);
    assert_eq!(impossible.json["error"], "step_up_impossible");

    // Bad requests.
    for bad in [
        json!({"action": "Delete Account"}),
        json!({"action": "x", "level": 4}),
        json!({"action": "x", "max_age": 100000}),
        json!({"action": ""}),
    ] {
        let r = c.post("/api/webauthn/stepup/start", &bad).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {:?}", r.json);
    }
    // Signed out: no step-up.
    let mut anon = app.client();
    let r = anon
        .post("/api/webauthn/stepup/start", &json!({"action": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[test]
fn the_config_file_takes_a_policy_section() {
    let file = FileConfig::from_toml(
        "[policy]\ndefault_tier = \"tier2\"\n[policy.groups]\nstaff = \"tier3\"\n\
         [policy.tiers.tier2]\nuser_verification = \"required\"\n",
    )
    .unwrap();
    let c = passkeyd_server::Config::resolve(file).unwrap();
    assert_eq!(c.policy.default_tier, "tier2");
    assert_eq!(c.policy.required_tier(None, Some("staff")).name, "tier3");
    let bad = FileConfig::from_toml("[policy]\ndefault_tier = \"gold\"\n").unwrap();
    assert!(passkeyd_server::Config::resolve(bad).is_err());
}

/// The same facts give the same assessment through the API's user (a group's tier applies).
#[tokio::test]
async fn a_groups_tier_applies_when_adding_a_passkey() {
    let app = app_with("[groups]\nstaff = \"tier2\"\n", Vec::new()).await;
    let mut c = app.client();
    let (_auth, r) = sign_up(&mut c, "gus").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        app.state
            .store
            .set_user_policy("gus", None, Some("staff"))
            .await
            .unwrap()
    );
    // The session's user is read per request, so the group applies at once.
    let start = c.post("/api/webauthn/register/start", &json!({})).await;
    assert_eq!(
        start.json["authenticatorSelection"]["userVerification"],
        "required"
    );
    let handle = b64url_decode(start.json["user"]["id"].as_str().unwrap()).unwrap();
    let mut synced = SoftAuthenticator::new(Alg::Es256)
        .with_user_handle(handle)
        .with_backup(true, false);
    let reg = synced.register(&RegisterParams::new(
        challenge_of(&start.json),
        RP_ID,
        ORIGIN,
    ));
    let refused = c.post("/api/webauthn/register/finish", &reg.json).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["error"], "policy_refused");
}

#[tokio::test]
async fn a_policy_requiring_two_passkeys_blocks_sensitive_actions_until_there_are_two() {
    let app = app_with("require_two_passkeys = true\n", Vec::new()).await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "fay").await;
    let ok = step_up(
        &mut c,
        &mut auth,
        json!({"action": "delete_account"}),
        |_| {},
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    let refused = c.delete("/api/account").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.json["error"], "second_passkey_required");
    let (_second, added) = add_passkey(&mut c).await;
    assert_eq!(added.status, StatusCode::OK);
    assert_eq!(
        c.delete("/api/account").await.status,
        StatusCode::NO_CONTENT
    );
}
