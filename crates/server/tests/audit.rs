//! The audit trail: which events the API records, and `passkeyd audit verify` / `export` on a
//! real database file, intact and tampered with.

mod common;

use axum::http::StatusCode;
use common::*;
use passkeyd_server::store::AuditEvent;
use serde_json::{Value, json};
use std::process::Command;

async fn events(app: &TestApp) -> Vec<AuditEvent> {
    app.state.store.audit_events(0, 1000).await.unwrap()
}

fn audit_cli(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .arg("audit")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("PASSKEYD_CONFIG")
        .env_remove("PASSKEYD_STORE_URL")
        .output()
        .expect("run passkeyd audit");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn security_events_are_recorded_with_their_precise_reasons() {
    let app = TestApp::new().await;
    let mut c = app.client();
    let (mut auth, r) = sign_up(&mut c, "ivy").await;
    assert_eq!(r.status, StatusCode::OK);
    let credential = r.json["credentialId"].as_str().unwrap().to_owned();
    // A failed sign-in (a replayed assertion) and a good one.
    let mut other = app.client();
    let start = auth_start(&mut other, Some("ivy")).await;
    let body = assertion_body(&mut auth, &start.json);
    assert_eq!(
        other.post("/api/webauthn/auth/finish", &body).await.status,
        StatusCode::OK
    );
    assert_eq!(
        other.post("/api/webauthn/auth/finish", &body).await.status,
        StatusCode::UNAUTHORIZED
    );
    let renamed = c
        .patch(
            &format!("/api/webauthn/credentials/{credential}"),
            &json!({"name": "Work laptop"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(
        other.delete("/api/session").await.status,
        StatusCode::NO_CONTENT
    );

    let list = events(&app).await;
    let kinds: Vec<(&str, &str)> = list
        .iter()
        .map(|e| (e.event.as_str(), e.outcome.as_str()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("sign_up", "success"),
            ("sign_in", "success"),
            ("sign_in", "failure"),
            ("passkey_renamed", "success"),
            ("sign_out", "success"),
        ]
    );
    let sign_up = &list[0];
    assert_eq!(sign_up.seq, 1);
    assert_eq!(sign_up.credential_id.as_deref(), Some(credential.as_str()));
    assert!(sign_up.actor.starts_with("user:"));
    assert_eq!(sign_up.subject.as_deref(), Some(sign_up.actor.as_str()));
    assert_eq!(
        sign_up.aaguid,
        Some(passkeyd_webauthn::aaguid::format_aaguid(auth.aaguid()))
    );
    let details: Value = serde_json::from_str(&sign_up.details).unwrap();
    assert_eq!(details["username"], "ivy");
    let sign_in = &list[1];
    assert_eq!(sign_in.counter, Some(i64::from(auth.counter())));
    let details: Value = serde_json::from_str(&sign_in.details).unwrap();
    assert_eq!(details["aal"], 2);
    // The failure keeps the precise reason the client never sees.
    let failure: Value = serde_json::from_str(&list[2].details).unwrap();
    assert_eq!(failure["code"], "challenge_not_found", "{failure}");
    assert_eq!(list[2].actor, "anonymous");
    assert_eq!(list[2].origin, None);
    // Linked: each prev_hash is the previous hash.
    for pair in list.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
}

#[tokio::test]
async fn audit_verify_passes_an_intact_chain_and_names_the_first_broken_link() {
    let app = TestApp::with(
        |c| c.audit_checkpoint_every = 2,
        std::time::Duration::from_secs(300),
    )
    .await;
    let mut c = app.client();
    let (mut auth, _) = sign_up(&mut c, "jay").await;
    for _ in 0..3 {
        let mut b = app.client();
        assert_eq!(
            sign_in(&mut b, &mut auth, None).await.status,
            StatusCode::OK
        );
    }
    assert_eq!(app.state.audit.checkpoint().await.unwrap(), 2);
    let dir = app.dir.path().to_path_buf();
    let db = dir.join("passkeyd.db");
    app.state.close().await;

    let (code, out, err) = audit_cli(&dir, &["verify"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("4 events, 2 signed checkpoints"), "{out}");

    // export: every event, then only those after sequence number 2.
    let (code, out, _) = audit_cli(&dir, &["export"]);
    assert_eq!(code, 0);
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["event"], "sign_up");
    let (_, out, _) = audit_cli(&dir, &["export", "--since", "2"]);
    assert_eq!(out.lines().count(), 2);
    let (_, out, _) = audit_cli(&dir, &["export", "--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(out.lines().count(), 4);
    let (code, _, err) = audit_cli(&dir, &["export", "--since", "yesterday"]);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");

    // Rewrite one event's details: the chain breaks exactly there.
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("UPDATE audit_events SET details = '{\"username\":\"mallory\"}' WHERE seq = 3")
        .execute(&pool)
        .await
        .unwrap();
    let (code, out, _) = audit_cli(&dir, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("event 3") && out.contains("modified"), "{out}");

    // Rebuilding the hashes from there on is caught by the signed checkpoint at 4.
    let rows: Vec<(i64,)> = sqlx::query_as("SELECT seq FROM audit_events ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut prev = String::new();
    for (seq,) in rows {
        let row = sqlx::query_as::<_, (i64, i64, String, Option<String>, String, String, Option<String>, Option<String>, Option<i64>, Option<String>, Option<String>, String, String)>(
            "SELECT seq, at, actor, subject, event, outcome, credential_id, aaguid, counter, origin, client_addr, details, prev_hash FROM audit_events WHERE seq = $1",
        )
        .bind(seq)
        .fetch_one(&pool)
        .await
        .unwrap();
        let mut e = AuditEvent::new(&row.4, row.2.clone(), &row.5);
        (
            e.seq,
            e.at,
            e.subject,
            e.credential_id,
            e.aaguid,
            e.counter,
            e.origin,
            e.client_addr,
            e.details,
        ) = (
            row.0, row.1, row.3, row.6, row.7, row.8, row.9, row.10, row.11,
        );
        e.prev_hash = if seq == 1 { row.12 } else { prev.clone() };
        e.hash = e.compute_hash();
        sqlx::query("UPDATE audit_events SET prev_hash = $1, hash = $2 WHERE seq = $3")
            .bind(&e.prev_hash)
            .bind(&e.hash)
            .bind(seq)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query("UPDATE audit_head SET hash = $1")
            .bind(&e.hash)
            .execute(&pool)
            .await
            .unwrap();
        prev = e.hash;
    }
    let (code, out, _) = audit_cli(&dir, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("checkpoint 4") && out.contains("rebuilt"),
        "{out}"
    );

    // Deleting the last event is caught too (the head still counts it).
    sqlx::query("DELETE FROM audit_checkpoints")
        .execute(&pool)
        .await
        .unwrap();
    let (code, _, _) = audit_cli(&dir, &["verify"]);
    assert_eq!(code, 0, "the rebuilt chain without checkpoints looks whole");
    sqlx::query("DELETE FROM audit_events WHERE seq = 4")
        .execute(&pool)
        .await
        .unwrap();
    let (code, out, _) = audit_cli(&dir, &["verify"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("head says event 4"), "{out}");
    pool.close().await;
}
