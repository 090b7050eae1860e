//! `passkeyd mds import`: a verified BLOB whose status for a model in use turns compromised
//! suspends that model's passkeys (an anomaly each) and makes registration refuse the model.

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
