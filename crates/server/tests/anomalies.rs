//! Anomalies: each one an audit event and an action.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use passkeyd_server::services::limits::{RateLimitSection, RateLimits};
use passkeyd_server::store::CredentialStatus;
use passkeyd_testkit::SoftAuthenticator;
use serde_json::{Value, json};
use std::time::Duration;

async fn anomalies(app: &TestApp) -> Vec<Value> {
    app.state
        .store
        .audit_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.event == "anomaly")
        .map(|e| serde_json::from_str(&e.details).unwrap())
        .collect()
}

#[tokio::test]
async fn a_counter_that_goes_back_suspends_the_passkey() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "lou").await;
    let mut laptop = app.client();
    assert_eq!(
        sign_in(&mut laptop, &mut auth, Some("lou")).await.status,
        StatusCode::OK
    );
    // A copy of the key whose counter lags behind: a cloned authenticator.
    let mut clone = SoftAuthenticator::from_pkcs8(auth.alg(), &auth.private_key_pkcs8())
        .unwrap()
        .with_credential_id(auth.credential_id().to_vec())
        .with_user_handle(auth.user_handle().to_vec())
        .with_counter(0);
    let mut thief = app.client();
    let r = sign_in(&mut thief, &mut clone, Some("lou")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let stored = app
        .state
        .store
        .credential_by_id(auth.credential_id())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, CredentialStatus::Suspended);
    assert!(
        stored.status_reason.as_deref().unwrap().contains("cloned"),
        "{:?}",
        stored.status_reason
    );
    // The genuine authenticator is refused too now, and that use is recorded as well.
    let mut again = app.client();
    assert_eq!(
        sign_in(&mut again, &mut auth, Some("lou")).await.status,
        StatusCode::UNAUTHORIZED
    );
    let found = anomalies(&app).await;
    let kinds: Vec<&str> = found.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        vec!["counter_regression", "inactive_credential_used"]
    );
    assert_eq!(found[0]["action"], "credential_suspended");
    assert_eq!(found[1]["status"], "suspended");
    // The passkeys page shows it as suspended.
    let list = c.get("/api/webauthn/credentials").await;
    assert_eq!(list.json[0]["status"], "suspended", "{:?}", list.json);
}

#[tokio::test]
async fn a_burst_of_registrations_from_one_address_is_recorded_and_stopped() {
    let app = TestApp::with(
        |c| {
            c.client_ip_header = Some("x-test-client".into());
            c.rate_limits = RateLimits::from_section(&RateLimitSection {
                registrations_per_address_per_hour: Some(2),
                ..RateLimitSection::default()
            })
            .unwrap();
        },
        Duration::from_secs(300),
    )
    .await;
    let sign_up_from = |addr: &'static str, name: &'static str| {
        let app = &app;
        async move {
            let mut c = app.client();
            let start = c
                .send_with(
                    Method::POST,
                    "/api/webauthn/register/start",
                    Some(json!({"username": name}).to_string().into_bytes()),
                    &[("x-test-client", addr)],
                )
                .await;
            if start.status != StatusCode::OK {
                return start.status;
            }
            let handle =
                passkeyd_testkit::b64url_decode(start.json["user"]["id"].as_str().unwrap())
                    .unwrap();
            let mut auth =
                SoftAuthenticator::new(passkeyd_testkit::Alg::Es256).with_user_handle(handle);
            let reg = auth.register(&passkeyd_testkit::RegisterParams::new(
                challenge_of(&start.json),
                RP_ID,
                ORIGIN,
            ));
            c.send_with(
                Method::POST,
                "/api/webauthn/register/finish",
                Some(reg.json.to_string().into_bytes()),
                &[("x-test-client", addr)],
            )
            .await
            .status
        }
    };
    assert_eq!(sign_up_from("192.0.2.50", "a1").await, StatusCode::OK);
    assert!(anomalies(&app).await.is_empty());
    assert_eq!(sign_up_from("192.0.2.50", "a2").await, StatusCode::OK);
    let found = anomalies(&app).await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["kind"], "registration_burst_address");
    assert_eq!(
        sign_up_from("192.0.2.50", "a3").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(sign_up_from("192.0.2.51", "b1").await, StatusCode::OK);
    let events = app.state.store.audit_events(0, 100).await.unwrap();
    let burst = events.iter().find(|e| e.event == "anomaly").unwrap();
    assert_eq!(burst.client_addr.as_deref(), Some("192.0.2.50"));
}
