//! The admin API (bearer token, never the cookie) and the `passkeyd admin` command.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

const TOKEN: &str = "test-admin-token-0123456789abcdef-xyz";

async fn admin_app() -> TestApp {
    TestApp::with(
        |c| c.admin_token = Some(TOKEN.to_owned()),
        Duration::from_secs(300),
    )
    .await
}

async fn admin(c: &mut Client, method: Method, path: &str, body: Option<Value>) -> Resp {
    let auth = format!("Bearer {TOKEN}");
    c.send_with(
        method,
        path,
        body.map(|b| b.to_string().into_bytes()),
        &[("authorization", auth.as_str()), ("x-admin-name", "alice")],
    )
    .await
}

#[tokio::test]
async fn the_admin_api_is_off_without_a_token_and_refuses_cookies_and_wrong_tokens() {
    let off = TestApp::new().await;
    let mut c = off.client();
    assert_eq!(
        admin(&mut c, Method::GET, "/admin/api/users", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let app = admin_app().await;
    let mut c = app.client();
    sign_up(&mut c, "quinn").await; // a signed-in cookie is no admin credential
    let r = c.get("/admin/api/users").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"], "admin_unauthorized");
    let r = c
        .send_with(
            Method::GET,
            "/admin/api/users",
            None,
            &[(
                "authorization",
                "Bearer test-admin-token-0123456789abcdef-xyZ",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // Too short a token is refused by the configuration.
    let short = passkeyd_server::Config::resolve(passkeyd_server::config::FileConfig {
        admin_token: Some("short".into()),
        ..Default::default()
    });
    assert!(short.is_err());
}

#[tokio::test]
async fn administrators_manage_accounts_passkeys_sessions_and_proofing_with_an_audit_trail() {
    let app = admin_app().await;
    let mut user = app.client();
    let (mut auth, r) = sign_up(&mut user, "rae").await;
    let credential = r.json["credentialId"].as_str().unwrap().to_owned();
    let mut ops = app.client();

    let list = admin(&mut ops, Method::GET, "/admin/api/users?q=ra", None).await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.json[0]["username"], "rae");
    assert_eq!(list.json[0]["effectiveTier"], "tier1");
    let none = admin(&mut ops, Method::GET, "/admin/api/users?q=zz", None).await;
    assert_eq!(none.json, json!([]));

    // Tier and group.
    let r = admin(
        &mut ops,
        Method::PATCH,
        "/admin/api/users/rae",
        Some(json!({"required_tier": "tier2", "group": null})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    assert_eq!(r.json["effectiveTier"], "tier2");
    let r = admin(
        &mut ops,
        Method::PATCH,
        "/admin/api/users/rae",
        Some(json!({"required_tier": "gold"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Suspending the passkey stops its sign-ins; reactivating restores them.
    let path = format!("/admin/api/credentials/{credential}/status");
    let r = admin(
        &mut ops,
        Method::POST,
        &path,
        Some(json!({"status": "suspended", "reason": "lost laptop"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let mut other = app.client();
    assert_eq!(
        sign_in(&mut other, &mut auth, Some("rae")).await.status,
        StatusCode::UNAUTHORIZED
    );
    admin(
        &mut ops,
        Method::POST,
        &path,
        Some(json!({"status": "active"})),
    )
    .await;
    assert_eq!(
        sign_in(&mut other, &mut auth, Some("rae")).await.status,
        StatusCode::OK
    );

    // Revoking a session signs that browser out.
    let detail = admin(&mut ops, Method::GET, "/admin/api/users/rae", None).await;
    let sessions = detail.json["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    for s in sessions {
        let id = s["id"].as_str().unwrap();
        let r = admin(
            &mut ops,
            Method::DELETE,
            &format!("/admin/api/users/rae/sessions/{id}"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(
        user.get("/api/session").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        other.get("/api/session").await.status,
        StatusCode::UNAUTHORIZED
    );

    // Identity proofing.
    let r = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/rae/proofing",
        Some(json!({"ial": 2, "method": "in_person_document_check", "evidence_ref": "HR-2026-114", "verified_by": "desk 3"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.json);
    let bad = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/rae/proofing",
        Some(json!({"ial": 4, "method": "x", "evidence_ref": "y", "verified_by": "z"})),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let detail = admin(&mut ops, Method::GET, "/admin/api/users/rae", None).await;
    assert_eq!(detail.json["proofing"][0]["ial"], 2);
    assert_eq!(detail.json["proofing"][0]["evidenceRef"], "HR-2026-114");
    assert_eq!(detail.json["credentials"][0]["status"], "active");

    // The audit trail names the administrator.
    let audit = admin(
        &mut ops,
        Method::GET,
        "/admin/api/audit?username=rae&event=credential_suspended",
        None,
    )
    .await;
    let events = audit.json.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["actor"], "admin:alice");
    let details: Value = serde_json::from_str(events[0]["details"].as_str().unwrap()).unwrap();
    assert_eq!(details["reason"], "lost laptop");
    let all = admin(&mut ops, Method::GET, "/admin/api/audit?limit=1000", None).await;
    let kinds: Vec<&str> = all
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    for k in [
        "policy_change",
        "credential_reactivated",
        "session_revoked",
        "proofing_recorded",
    ] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
}

#[tokio::test]
async fn the_admin_command_works_on_the_servers_database() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "sol").await;
    let dir = app.dir.path().to_path_buf();
    app.state.close().await;
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("PASSKEYD_CONFIG")
            .env_remove("PASSKEYD_STORE_URL")
            .env("USER", "ops")
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, out, err) = run(&["users"]);
    assert_eq!(code, Some(0), "{err}");
    let line: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(line["username"], "sol");
    let (code, out, _) = run(&["set-policy", "sol", "--tier", "tier3"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("tier3"));
    let (code, _, err) = run(&["set-policy", "sol", "--tier", "gold"]);
    assert_eq!(code, Some(1));
    assert!(err.contains("gold"), "{err}");
    let (code, out, err) = run(&[
        "proofing",
        "sol",
        "--ial",
        "2",
        "--method",
        "remote_supervised",
        "--evidence",
        "case-7",
        "--verified-by",
        "ops",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(out.contains("remote_supervised"));
    let (_, out, _) = run(&["user", "sol"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["requiredTier"], "tier3");
    assert_eq!(v["proofing"].as_array().unwrap().len(), 1);
    let (code, _, _) = run(&["user", "nobody"]);
    assert_eq!(code, Some(1));
    // The changes are in the audit trail, by the CLI's operator, and the chain is whole.
    let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .args(["audit", "export", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"actor\":\"admin:cli-ops\""), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}
