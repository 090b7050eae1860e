//! Abuse controls through the router: 429 with Retry-After per client address, growing delays
//! for an account's failed sign-ins, and unknown usernames treated exactly like real ones.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use passkeyd_server::services::limits::{RateLimitSection, RateLimits};
use passkeyd_testkit::{AssertParams, Tamper};
use serde_json::{Value, json};
use std::time::Duration;

/// The header the test app reads the client address from.
const ADDR: &str = "x-test-client";

async fn limited_app(burst: u32, per_second: f64) -> TestApp {
    TestApp::with(
        move |c| {
            c.client_ip_header = Some(ADDR.to_owned());
            c.rate_limits = RateLimits::from_section(&RateLimitSection {
                per_address_burst: Some(burst),
                per_address_per_second: Some(per_second),
                ..RateLimitSection::default()
            })
            .unwrap();
        },
        Duration::from_secs(300),
    )
    .await
}

async fn start_from(c: &mut Client, addr: &str, body: &Value) -> Resp {
    c.send_with(
        Method::POST,
        "/api/webauthn/auth/start",
        Some(body.to_string().into_bytes()),
        &[(ADDR, addr)],
    )
    .await
}

#[tokio::test]
async fn an_address_past_its_burst_gets_429_with_retry_after() {
    let app = limited_app(3, 0.5).await;
    let mut c = app.client();
    for _ in 0..3 {
        let r = start_from(&mut c, "198.51.100.7", &json!({})).await;
        assert_eq!(r.status, StatusCode::OK);
    }
    let r = start_from(&mut c, "198.51.100.7", &json!({})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", r.json);
    assert_eq!(r.json["error"], "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "Retry-After {retry}");
    // Another address is not affected; a proxy's list uses its last entry.
    let r = start_from(&mut c, "198.51.100.7, 203.0.113.9", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
    // Sign-in finishes count too.
    let r = c
        .send_with(
            Method::POST,
            "/api/webauthn/auth/finish",
            Some(b"{}".to_vec()),
            &[(ADDR, "198.51.100.7")],
        )
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    // After the refill the address is served again.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let r = start_from(&mut c, "198.51.100.7", &json!({})).await;
    assert_eq!(r.status, StatusCode::OK);
}

/// Starts a sign-in for `username` and finishes it with a bad signature.
async fn fail_once(
    c: &mut Client,
    auth: &mut passkeyd_testkit::SoftAuthenticator,
    username: &str,
) -> StatusCode {
    let start = auth_start(c, Some(username)).await;
    if start.status != StatusCode::OK {
        return start.status;
    }
    let mut body = auth
        .assert(
            &AssertParams::new(challenge_of(&start.json["options"]), RP_ID, ORIGIN)
                .with_tamper(Tamper::FlipSignatureBit),
        )
        .json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    c.post("/api/webauthn/auth/finish", &body).await.status
}

#[tokio::test]
async fn failed_sign_ins_slow_an_account_down_without_locking_it_and_unknown_names_alike() {
    let app = TestApp::new().await;
    let mut owner = app.client();
    let (mut auth, _) = sign_up(&mut owner, "kim").await;
    let mut stranger = passkeyd_testkit::SoftAuthenticator::new(passkeyd_testkit::Alg::Es256);
    let mut attacker = app.client();
    for name in ["kim", "nobody"] {
        for i in 0..6 {
            let status = fail_once(&mut attacker, &mut stranger, name).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{name} attempt {i}");
        }
        // The sixth failure owes a one-second delay: the next start is refused, the same way
        // for an account that exists and one that does not.
        let r = auth_start(&mut attacker, Some(name)).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{name}");
        assert_eq!(r.json["error"], "rate_limited");
        assert_eq!(r.headers["retry-after"], "1");
    }
    // Other accounts are not affected.
    let r = auth_start(&mut attacker, Some("someone-else")).await;
    assert_eq!(r.status, StatusCode::OK);
    // A delay, not a lockout: a second later the owner signs in, which clears the failures.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = sign_in(&mut owner, &mut auth, Some("kim")).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    for _ in 0..3 {
        assert_eq!(
            fail_once(&mut attacker, &mut stranger, "kim").await,
            StatusCode::UNAUTHORIZED,
            "failures were forgotten after the success"
        );
    }
}
