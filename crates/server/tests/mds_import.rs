//! `passkeyd mds import`: a verified BLOB whose status for a model in use turns compromised
//! suspends that model's passkeys (an anomaly each) and makes registration refuse the model;
//! each tier's `mds_block` statuses; the roots the BLOB lists anchoring the model's attestation.

mod common;

use axum::http::StatusCode;
use common::*;
use passkeyd_server::store::CredentialStatus;
use passkeyd_testkit::mds::{MdsEntry, blob_payload};
use passkeyd_testkit::{Alg, RegisterParams, SoftAuthenticator, TestPki, b64url_decode};
use serde_json::{Value, json};
use std::process::Command;

const BAD_MODEL: [u8; 16] = [0xb1; 16];
const GOOD_MODEL: [u8; 16] = [0x60; 16];

#[tokio::test]
async fn a_compromised_model_is_blocked_and_its_passkeys_suspended() {
    let app = TestApp::new().await;
    // Two accounts, one on each model.
    let mut c = app.client();
    let start = c
        .post(
            "/api/webauthn/register/start",
            &json!({"username": "xena", "displayName": "Xena"}),
        )
        .await;
    let handle = b64url_decode(start.json["user"]["id"].as_str().unwrap()).unwrap();
    let mut bad = SoftAuthenticator::new(Alg::Es256)
        .with_aaguid(BAD_MODEL)
        .with_user_handle(handle);
    let reg = bad.register(&RegisterParams::new(
        challenge_of(&start.json),
        RP_ID,
        ORIGIN,
    ));
    assert_eq!(
        c.post("/api/webauthn/register/finish", &reg.json)
            .await
            .status,
        StatusCode::OK
    );
    let mut other = app.client();
    let (_good, r) = sign_up(&mut other, "yuri").await;
    assert_eq!(r.status, StatusCode::OK);
    let dir = app.dir.path().to_path_buf();
    app.state.close().await;

    // A BLOB signed by a test PKI: the bad model revoked, the good one certified.
    let pki = TestPki::new();
    let payload = blob_payload(
        42,
        "2099-01-01",
        &[
            MdsEntry::new(BAD_MODEL, vec![pki.root_der()]).with_status("REVOKED"),
            MdsEntry::new(GOOD_MODEL, vec![pki.root_der()]).with_status("FIDO_CERTIFIED_L1"),
        ],
    );
    let blob = pki.mds_signer().sign_jwt(payload.to_string().as_bytes());
    let files = tempfile::tempdir().unwrap();
    std::fs::write(files.path().join("blob.jwt"), &blob).unwrap();
    std::fs::write(files.path().join("root.pem"), pki.root_pem()).unwrap();
    let import = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_passkeyd"))
            .args(["mds", "import"])
            .arg(files.path().join("blob.jwt"))
            .args(extra)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("PASSKEYD_CONFIG")
            .env_remove("PASSKEYD_STORE_URL")
            .output()
            .unwrap()
    };
    // Without the test root (GlobalSign only) the BLOB does not verify, and nothing changes.
    let refused = import(&[]);
    assert_eq!(
        refused.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let root = files.path().join("root.pem");
    let out = import(&[
        "--root",
        root.to_str().unwrap(),
        "--signer-name",
        "passkeyd Test MDS Signer",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["no"], 42);
    assert_eq!(summary["blocked_models"], 1);
    assert_eq!(summary["suspended_passkeys"].as_array().unwrap().len(), 1);

    // Reopen the server's state: the bad model's passkey is suspended, an anomaly recorded, and
    // registering that model again is refused; the other account is untouched.
    let state = passkeyd_server::AppState::open(test_config(&dir))
        .await
        .unwrap();
    let stored = state
        .store
        .credential_by_id(bad.credential_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CredentialStatus::Suspended);
    assert!(stored.status_reason.unwrap().contains("REVOKED"));
    let events = state.store.audit_events(0, 1000).await.unwrap();
    let anomaly = events.iter().find(|e| e.event == "anomaly").unwrap();
    assert!(anomaly.details.contains("mds_compromised"));
    assert!(events.iter().any(|e| e.event == "mds_imported"));
    let yuri = state.store.user_by_username("yuri").await.unwrap().unwrap();
    let creds = state
        .store
        .credentials_for_user(&yuri.handle)
        .await
        .unwrap();
    assert_eq!(creds[0].status, CredentialStatus::Active);

    let router = passkeyd_server::app(state.clone());
    let mut c = Client {
        router,
        cookies: Default::default(),
    };
    let start = c
        .post("/api/webauthn/register/start", &json!({"username": "zed"}))
        .await;
    let handle = b64url_decode(start.json["user"]["id"].as_str().unwrap()).unwrap();
    let mut again = SoftAuthenticator::new(Alg::Es256)
        .with_aaguid(BAD_MODEL)
        .with_user_handle(handle);
    let reg = again.register(&RegisterParams::new(
        challenge_of(&start.json),
        RP_ID,
        ORIGIN,
    ));
    let r = c.post("/api/webauthn/register/finish", &reg.json).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("REVOKED"));
}

const STALE_MODEL: [u8; 16] = [0x5a; 16];
const CERTIFIED_MODEL: [u8; 16] = [0xc2; 16];

/// A browser on `state`'s router.
fn client_of(state: &passkeyd_server::AppState) -> Client {
    Client {
        router: passkeyd_server::app(state.clone()),
        cookies: Default::default(),
    }
}

/// Signs up `username` with a device-bound key of `model`, attesting with `attestation` if
/// given; returns the finish answer and the key.
async fn sign_up_model(
    c: &mut Client,
    username: &str,
    model: [u8; 16],
    attestation: Option<passkeyd_testkit::AttestationKind>,
) -> (Resp, SoftAuthenticator) {
    let start = c
        .post(
            "/api/webauthn/register/start",
            &json!({ "username": username }),
        )
        .await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    let handle = b64url_decode(start.json["user"]["id"].as_str().unwrap()).unwrap();
    let mut key = SoftAuthenticator::new(Alg::Es256)
        .with_aaguid(model)
        .with_user_handle(handle);
    let mut params = RegisterParams::new(challenge_of(&start.json), RP_ID, ORIGIN);
    if let Some(a) = attestation {
        params = params.with_attestation(a);
    }
    let reg = key.register(&params);
    (
        c.post("/api/webauthn/register/finish", &reg.json).await,
        key,
    )
}

/// Signs and imports a BLOB listing `entries` (roots from `pki`) into the data directory `dir`
/// with `passkeyd mds import`; returns its summary.
fn import_blob(dir: &std::path::Path, pki: &TestPki, no: u64, entries: &[MdsEntry]) -> Value {
    let payload = blob_payload(no, "2099-01-01", entries);
    let files = tempfile::tempdir().unwrap();
    let blob = files.path().join("blob.jwt");
    std::fs::write(
        &blob,
        pki.mds_signer().sign_jwt(payload.to_string().as_bytes()),
    )
    .unwrap();
    let root = files.path().join("root.pem");
    std::fs::write(&root, pki.root_pem()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .args(["mds", "import"])
        .arg(&blob)
        .arg("--root")
        .arg(&root)
        .args(["--signer-name", "passkeyd Test MDS Signer", "--data-dir"])
        .arg(dir)
        .env_remove("PASSKEYD_CONFIG")
        .env_remove("PASSKEYD_STORE_URL")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn each_tier_names_the_metadata_statuses_it_refuses() {
    // Import a BLOB where one model has a pending firmware update and another is certified.
    let dir = tempfile::tempdir().unwrap();
    passkeyd_server::AppState::open(test_config(dir.path()))
        .await
        .unwrap()
        .close()
        .await;
    let pki = TestPki::new();
    let summary = import_blob(
        dir.path(),
        &pki,
        43,
        &[
            MdsEntry::new(STALE_MODEL, vec![pki.root_der()]).with_status("UPDATE_AVAILABLE"),
            MdsEntry::new(CERTIFIED_MODEL, vec![pki.root_der()]).with_status("FIDO_CERTIFIED_L2"),
        ],
    );
    assert_eq!(summary["blocked_models"], 0, "{summary}");

    // The default policy: a pending update blocks nothing, and the session says what MDS says.
    let state = passkeyd_server::AppState::open(test_config(dir.path()))
        .await
        .unwrap();
    let mut c = client_of(&state);
    let (r, mut uma_key) = sign_up_model(&mut c, "uma", STALE_MODEL, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let s = c.get("/api/session").await;
    let reasons = s.json["assurance"]["reasons"].as_array().unwrap();
    assert!(
        reasons.contains(&json!("mds:UPDATE_AVAILABLE")),
        "{reasons:?}"
    );
    state.close().await;

    // A policy whose default tier also refuses UPDATE_AVAILABLE.
    let mut config = test_config(dir.path());
    config.policy = passkeyd_server::services::policy::Policy::from_section(
        &toml::from_str(
            "[tiers.tier1]\nmds_block = [\"REVOKED\", \"ATTESTATION_KEY_COMPROMISE\", \
             \"USER_VERIFICATION_BYPASS\", \"USER_KEY_REMOTE_COMPROMISE\", \
             \"USER_KEY_PHYSICAL_COMPROMISE\", \"UPDATE_AVAILABLE\"]\n",
        )
        .unwrap(),
    )
    .unwrap();
    let state = passkeyd_server::AppState::open(config).await.unwrap();
    let mut c = client_of(&state);
    let (r, _) = sign_up_model(&mut c, "vic", STALE_MODEL, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    let message = r.json["message"].as_str().unwrap();
    assert!(message.contains("UPDATE_AVAILABLE"), "{message}");
    let mut c2 = client_of(&state);
    let (r, _) = sign_up_model(&mut c2, "wes", CERTIFIED_MODEL, None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let s = c2.get("/api/session").await;
    assert!(
        s.json["assurance"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("mds:FIDO_CERTIFIED_L2"))
    );
    // uma's key, registered before the change, no longer meets tier1 when she signs in (the
    // sign-in reads the statuses through the server's copy).
    let mut c3 = client_of(&state);
    let r = sign_in(&mut c3, &mut uma_key, Some("uma")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let s = c3.get("/api/session").await;
    let reasons = s.json["assurance"]["reasons"].as_array().unwrap();
    assert!(
        reasons.contains(&json!("mds:UPDATE_AVAILABLE")),
        "{reasons:?}"
    );
    assert!(!reasons.contains(&json!("tier:tier1")), "{reasons:?}");
    state.close().await;
}

const ATTESTED_MODEL: [u8; 16] = [0xa7; 16];

/// Registers `username` with a device-bound key of ATTESTED_MODEL whose packed attestation
/// chains to `pki`'s root.
async fn sign_up_attested(c: &mut Client, username: &str, pki: &TestPki) -> Resp {
    let attestation = passkeyd_testkit::AttestationKind::PackedX5c(pki.attestation(ATTESTED_MODEL));
    sign_up_model(c, username, ATTESTED_MODEL, Some(attestation))
        .await
        .0
}

#[tokio::test]
async fn the_blob_roots_of_a_model_anchor_its_attestation() {
    let pki = TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let tier3 = || {
        let mut config = test_config(dir.path());
        config.policy = passkeyd_server::services::policy::Policy::from_section(
            &toml::from_str("default_tier = \"tier3\"\n").unwrap(),
        )
        .unwrap();
        config
    };

    // No configured roots and no metadata: tier3 cannot confirm the maker.
    let state = passkeyd_server::AppState::open(tier3()).await.unwrap();
    let mut c = client_of(&state);
    let r = sign_up_attested(&mut c, "abe", &pki).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    assert!(r.json["message"].as_str().unwrap().contains("maker"));
    state.close().await;

    // The BLOB lists the model with the PKI's root as its attestation root.
    import_blob(
        dir.path(),
        &pki,
        44,
        &[MdsEntry::new(ATTESTED_MODEL, vec![pki.root_der()]).with_status("FIDO_CERTIFIED_L2")],
    );

    // Now the same key proves its model through the metadata: accepted at AAL3.
    let state = passkeyd_server::AppState::open(tier3()).await.unwrap();
    let mut c = client_of(&state);
    let r = sign_up_attested(&mut c, "abe", &pki).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let s = c.get("/api/session").await;
    assert_eq!(s.json["assurance"]["aal"], 3, "{:?}", s.json);
    let reasons = s.json["assurance"]["reasons"].as_array().unwrap();
    assert!(reasons.contains(&json!("attested")), "{reasons:?}");
    assert!(
        reasons.contains(&json!("mds:FIDO_CERTIFIED_L2")),
        "{reasons:?}"
    );
    let abe = state.store.user_by_username("abe").await.unwrap().unwrap();
    let cred = &state.store.credentials_for_user(&abe.handle).await.unwrap()[0];
    assert!(
        cred.attestation_trust.starts_with("trusted"),
        "{}",
        cred.attestation_trust
    );
    // A model the BLOB lists with other roots gains nothing: another PKI's chain stays untrusted.
    let other = TestPki::new();
    let mut c = client_of(&state);
    let r = sign_up_attested(&mut c, "bea", &other).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.json);
    state.close().await;
}
