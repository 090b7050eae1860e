//! Continuous authentication through the router: enrolment, a foreign rhythm driving the
//! confidence down, introspection decisions, step-up restoring it, the feature turned off.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};
use std::time::Duration;

/// A batch of typing: PHRASE at `gap_ms` keydown-keydown, holds of `hold_ms`.
fn typing(gap_ms: f64, hold_ms: f64, seed: u64) -> Value {
    json!({ "keystrokes": typing_keys(gap_ms, hold_ms, seed) })
}

#[tokio::test]
async fn a_foreign_rhythm_asks_for_a_step_up_and_the_step_up_restores_confidence() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "nia").await;

    let s = c.get("/api/session").await;
    assert_eq!(
        s.json["confidence"]["value"], 90.0,
        "AAL2 starts at 90: {:?}",
        s.json
    );
    assert_eq!(s.json["confidence"]["decision"], "allow");
    assert_eq!(s.json["confidence"]["enrolling"], true);

    // Enrolment: the first five batches build the template; the confidence does not move.
    for seed in 0..5 {
        let r = c
            .post("/api/session/signals", &typing(150.0, 80.0, seed))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
        assert_eq!(r.json["reasons"], json!(["enrolling"]));
    }
    // The owner's rhythm: allowed, and the template is enrolled.
    let r = c
        .post("/api/session/signals", &typing(150.0, 80.0, 7))
        .await;
    assert_eq!(r.json["enrolling"], false, "{:?}", r.json);
    assert_eq!(r.json["decision"], "allow");
    assert_eq!(
        r.json["reasons"],
        json!(["behaviour_typical"]),
        "{:?}",
        r.json
    );

    // Someone else's rhythm on the same session.
    let mut last = Value::Null;
    for seed in 0..3 {
        last = c
            .post("/api/session/signals", &typing(45.0, 30.0, seed))
            .await
            .json;
        if last["decision"] != "allow" {
            break;
        }
    }
    assert_eq!(last["decision"], "step_up_required", "{last:?}");
    assert!(last["value"].as_f64().unwrap() < 60.0);
    assert_eq!(last["trend"], "falling");
    let e = &last["explanation"];
    assert!(e["trust_before"].as_f64().unwrap() > e["trust_after"].as_f64().unwrap());
    assert_eq!(e["thresholds"]["allow"], 60.0);
    assert_eq!(e["reasons"], json!(["behaviour_anomalous"]));
    let top = e["top_features"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 5);
    assert!(top[0]["name"].as_str().unwrap().starts_with("digraph:"));

    // Another application asks before acting.
    let token = c.post("/api/token", &json!({})).await.json["token"].clone();
    let claims: Value = serde_json::from_slice(
        &passkeyd_testkit::b64url_decode(token.as_str().unwrap().split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert!(claims["confidence"].as_f64().unwrap() < 60.0);
    assert!(claims["confidence_at"].as_i64().is_some());
    let seen = c
        .post("/api/session/introspect", &json!({"token": token}))
        .await;
    assert_eq!(seen.json["active"], true);
    assert_eq!(seen.json["decision"], "step_up", "{:?}", seen.json);
    let lenient = c
        .post(
            "/api/session/introspect",
            &json!({"token": token, "min_confidence": 10}),
        )
        .await;
    assert_eq!(lenient.json["decision"], "allow");
    let bad = c
        .post(
            "/api/session/introspect",
            &json!({"token": token, "min_confidence": 101}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    // The decision change is in the audit trail with its explanation.
    let events = app.state.store.audit_events(0, 1000).await.unwrap();
    let decision = events
        .iter()
        .find(|e| e.event == "risk_decision")
        .expect("a risk decision event");
    let d: Value = serde_json::from_str(&decision.details).unwrap();
    assert_eq!(
        (d["from"].as_str(), d["to"].as_str()),
        (Some("allow"), Some("step_up_required"))
    );
    assert!(d["explanation"]["top_features"].is_array());

    // A passkey step-up restores it.
    let start = c
        .post(
            "/api/webauthn/stepup/start",
            &json!({"action": "continue_session"}),
        )
        .await;
    let mut body = auth
        .assert(&passkeyd_testkit::AssertParams::new(
            challenge_of(&start.json["options"]),
            RP_ID,
            ORIGIN,
        ))
        .json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    assert_eq!(
        c.post("/api/webauthn/stepup/finish", &body).await.status,
        StatusCode::OK
    );
    let s = c.get("/api/session").await;
    assert_eq!(s.json["confidence"]["value"], 90.0, "{:?}", s.json);
    assert_eq!(s.json["confidence"]["decision"], "allow");
    assert_eq!(s.json["confidence"]["reasons"], json!(["step_up_ok"]));

    // Deleting the account deletes its template.
    let handle = app
        .state
        .store
        .user_by_username("nia")
        .await
        .unwrap()
        .unwrap()
        .handle;
    assert!(
        app.state
            .store
            .behavior_template(&handle)
            .await
            .unwrap()
            .is_some()
    );
    assert!(app.state.store.delete_user(&handle).await.unwrap());
    assert!(
        app.state
            .store
            .behavior_template(&handle)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_template_holds_statistics_and_no_characters() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "oli").await;
    c.post("/api/session/signals", &typing(150.0, 80.0, 1))
        .await;
    let template = stored_template(&app, "oli").await;
    // No word of the phrase, and no single-character keys, appear in what is stored.
    for word in PHRASE.split(' ') {
        assert!(
            !template.contains(&format!("\"{word}\"")),
            "{word} in {template}"
        );
    }
    assert!(!template.contains("\"key\""), "{template}");
    let v: Value = serde_json::from_str(&template).unwrap();
    assert!(v["profile"]["digraphs"].as_object().unwrap().len() > 20);
}

#[tokio::test]
async fn turned_off_it_collects_nothing() {
    let app = TestApp::with(
        |c| c.continuous_auth.enabled = false,
        Duration::from_secs(300),
    )
    .await;
    let mut c = app.client();
    sign_up(&mut c, "pat").await;
    let r = c
        .post("/api/session/signals", &typing(150.0, 80.0, 1))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let s = c.get("/api/session").await;
    assert_eq!(s.json["confidence"], Value::Null);
    // Oversized and malformed batches are refused when it is on.
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "pat").await;
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"key": "a", "down": i, "up": i + 1}))
        .collect();
    let r = c
        .post("/api/session/signals", &json!({"keystrokes": many}))
        .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        r.status
    );
    let r = c
        .post(
            "/api/session/signals",
            &json!({"keystrokes": [{"key": "a"}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
