//! Account recovery: a single-use, short-lived link bound to an identity proofing, a session
//! at the lowest level, a cooling-off period, and the owner's other sessions able to cancel it.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use passkeyd_testkit::{Alg, RegisterParams, SoftAuthenticator, b64url_decode};
use serde_json::{Value, json};
use std::time::Duration;

const TOKEN: &str = "test-admin-token-0123456789abcdef-xyz";

async fn admin(c: &mut Client, method: Method, path: &str, body: Option<Value>) -> Resp {
    let auth = format!("Bearer {TOKEN}");
    c.send_with(
        method,
        path,
        body.map(|b| b.to_string().into_bytes()),
        &[
            ("authorization", auth.as_str()),
            ("x-admin-name", "helpdesk"),
        ],
    )
    .await
}

fn token_of(url: &str) -> String {
    url.split_once("#token=").unwrap().1.to_owned()
}

/// Enrols a new passkey through the link's token in a fresh browser.
async fn enrol(c: &mut Client, token: &str) -> (SoftAuthenticator, Resp, Resp) {
    let start = c
        .post("/api/recovery/start", &json!({ "token": token }))
        .await;
    if start.status != StatusCode::OK {
        return (
            SoftAuthenticator::new(Alg::Es256),
            start,
            Resp {
                status: StatusCode::OK,
                headers: Default::default(),
                body: vec![],
                json: Value::Null,
            },
        );
    }
    let handle = b64url_decode(start.json["user"]["id"].as_str().unwrap()).unwrap();
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_user_handle(handle);
    let reg = auth.register(&RegisterParams::new(
        challenge_of(&start.json),
        RP_ID,
        ORIGIN,
    ));
    let finish = c.post("/api/webauthn/register/finish", &reg.json).await;
    (auth, start, finish)
}

#[tokio::test]
async fn a_recovery_link_enrols_once_at_the_lowest_level_and_the_owner_can_cancel_it() {
    let app = TestApp::with(
        |c| c.admin_token = Some(TOKEN.to_owned()),
        Duration::from_secs(300),
    )
    .await;
    let mut laptop = app.client();
    let (_old, _) = sign_up(&mut laptop, "val").await;
    let mut ops = app.client();

    // No link without an identity proofing.
    let r = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/val/recovery",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.json);
    admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/val/proofing",
        Some(json!({"ial": 2, "method": "video_call_document_check", "evidence_ref": "T-77", "verified_by": "helpdesk"})),
    )
    .await;
    let issued = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/val/recovery",
        Some(json!({})),
    )
    .await;
    assert_eq!(issued.status, StatusCode::CREATED, "{:?}", issued.json);
    let url = issued.json["url"].as_str().unwrap();
    assert!(
        url.starts_with("http://localhost:8080/static/recover.html#token="),
        "{url}"
    );
    assert!(issued.json["qrSvg"].as_str().unwrap().contains("<svg"));
    let token = token_of(url);

    // The new device enrols through it and is signed in at the lowest level.
    let mut phone = app.client();
    let (mut new_key, start, finish) = enrol(&mut phone, &token).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    assert_eq!(
        start.json["excludeCredentials"].as_array().unwrap().len(),
        1
    );
    assert_eq!(finish.status, StatusCode::OK, "{:?}", finish.json);
    let s = phone.get("/api/session").await;
    assert_eq!(s.json["user"]["username"], "val");
    assert_eq!(s.json["assurance"]["aal"], 1);
    assert!(
        s.json["assurance"]["reasons"]
            .as_array()
            .unwrap()
            .contains(&json!("recovery"))
    );
    assert_eq!(s.json["recovery"]["thisSession"], true);

    // Sensitive actions are blocked during the cooling-off period, even after a step-up.
    let start = phone
        .post(
            "/api/webauthn/stepup/start",
            &json!({"action": "delete_account"}),
        )
        .await;
    let mut body = new_key
        .assert(&passkeyd_testkit::AssertParams::new(
            challenge_of(&start.json["options"]),
            RP_ID,
            ORIGIN,
        ))
        .json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    assert_eq!(
        phone
            .post("/api/webauthn/stepup/finish", &body)
            .await
            .status,
        StatusCode::OK
    );
    let blocked = phone.delete("/api/account").await;
    assert_eq!(blocked.status, StatusCode::FORBIDDEN);
    assert_eq!(blocked.json["error"], "cooling_off");

    // The link works once.
    let mut again = app.client();
    let (_, reuse, _) = enrol(&mut again, &token).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    assert_eq!(reuse.json["error"], "recovery_link_invalid");
    let (_, garbage, _) = enrol(&mut again, "not-a-token").await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);

    // The owner's laptop sees the notice and cancels: the new passkey and its session are gone.
    let s = laptop.get("/api/session").await;
    assert_eq!(s.json["recovery"]["thisSession"], false, "{:?}", s.json);
    assert_eq!(
        phone.post("/api/recovery/cancel", &json!({})).await.status,
        StatusCode::NOT_FOUND,
        "the recovered session cannot cancel itself"
    );
    assert_eq!(
        laptop.post("/api/recovery/cancel", &json!({})).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        phone.get("/api/session").await.status,
        StatusCode::UNAUTHORIZED
    );
    let mut thief = app.client();
    assert_eq!(
        sign_in(&mut thief, &mut new_key, Some("val")).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        laptop.get("/api/session").await.json["recovery"],
        Value::Null
    );

    let events: Vec<String> = app
        .state
        .store
        .audit_events(0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    for e in [
        "proofing_recorded",
        "recovery_issued",
        "recovery_used",
        "recovery_cancelled",
    ] {
        assert!(events.iter().any(|x| x == e), "{e} missing from {events:?}");
    }
}

#[tokio::test]
async fn the_admin_command_prints_the_link_and_its_qr_code() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "wes").await;
    let dir = app.dir.path().to_path_buf();
    app.state.close().await;
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_passkeyd"))
            .arg("admin")
            .args(args)
            .arg("--data-dir")
            .arg(&dir)
            .env_remove("PASSKEYD_CONFIG")
            .env_remove("PASSKEYD_STORE_URL")
            .output()
            .unwrap()
    };
    let refused = run(&["recovery", "wes"]);
    assert_eq!(refused.status.code(), Some(1));
    run(&[
        "proofing",
        "wes",
        "--ial",
        "1",
        "--method",
        "email_domain",
        "--evidence",
        "ticket-9",
        "--verified-by",
        "ops",
    ]);
    let out = run(&["recovery", "wes", "--ttl", "600"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["url"]
            .as_str()
            .unwrap()
            .contains("/static/recover.html#token=")
    );
    let qr = String::from_utf8_lossy(&out.stderr);
    assert!(qr.lines().count() > 10 && qr.contains('\u{2588}'), "{qr}");
}

#[tokio::test]
async fn a_tier_requiring_proven_identity_enrols_only_through_an_admin_link() {
    let section: passkeyd_server::services::policy::PolicySection =
        toml::from_str("[tiers.tier1]\nmin_ial = 2\n").unwrap();
    let policy = passkeyd_server::services::policy::Policy::from_section(&section).unwrap();
    let app = TestApp::with(
        move |c| {
            c.admin_token = Some(TOKEN.to_owned());
            c.policy = policy;
        },
        Duration::from_secs(300),
    )
    .await;
    // Public sign-up is refused with directions.
    let mut visitor = app.client();
    let r = visitor
        .post("/api/webauthn/register/start", &json!({"username": "kai"}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.json["message"]
            .as_str()
            .unwrap()
            .contains("enrolment link")
    );

    let mut ops = app.client();
    let created = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users",
        Some(json!({"username": "Kai", "display_name": "Kai Lee"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.json);
    assert_eq!(created.json["username"], "kai");
    // A proofing below the tier's level is not enough for a link.
    admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/kai/proofing",
        Some(
            json!({"ial": 1, "method": "self_asserted", "evidence_ref": "-", "verified_by": "ops"}),
        ),
    )
    .await;
    let low = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/kai/enrolment",
        Some(json!({})),
    )
    .await;
    assert_eq!(low.status, StatusCode::BAD_REQUEST, "{:?}", low.json);
    admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/kai/proofing",
        Some(json!({"ial": 2, "method": "in_person_document_check", "evidence_ref": "HR-9", "verified_by": "ops"})),
    )
    .await;
    let link = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/kai/enrolment",
        Some(json!({})),
    )
    .await;
    assert_eq!(link.status, StatusCode::CREATED, "{:?}", link.json);
    let url = link.json["url"].as_str().unwrap();
    assert!(url.ends_with("&enrol=1"), "{url}");
    let token = token_of(url).trim_end_matches("&enrol=1").to_owned();

    // The first passkey: a normal session (no recovery level, no cooling-off).
    let mut kai = app.client();
    let (mut key, _, finish) = enrol(&mut kai, &token).await;
    assert_eq!(finish.status, StatusCode::OK, "{:?}", finish.json);
    let s = kai.get("/api/session").await;
    assert_eq!(s.json["assurance"]["aal"], 2, "{:?}", s.json);
    assert_eq!(s.json["recovery"], Value::Null);
    let (_, reuse, _) = enrol(&mut app.client(), &token).await;
    assert_eq!(reuse.status, StatusCode::BAD_REQUEST);
    // Proofed at the tier's level, the account may add passkeys while signed in.
    let more = kai.post("/api/webauthn/register/start", &json!({})).await;
    assert_eq!(more.status, StatusCode::OK, "{:?}", more.json);
    // And its sensitive actions are not in a cooling-off period.
    let start = kai
        .post(
            "/api/webauthn/stepup/start",
            &json!({"action": "delete_account"}),
        )
        .await;
    let mut body = key
        .assert(&passkeyd_testkit::AssertParams::new(
            challenge_of(&start.json["options"]),
            RP_ID,
            ORIGIN,
        ))
        .json;
    body["challengeKey"] = start.json["challengeKey"].clone();
    assert_eq!(
        kai.post("/api/webauthn/stepup/finish", &body).await.status,
        StatusCode::OK
    );
    assert_eq!(
        kai.delete("/api/account").await.status,
        StatusCode::NO_CONTENT
    );
}

/// A webhook receiver on a real socket: answers 503 to the first `fail_first` posts, then 204,
/// and hands every post (signature header, body) to the test.
async fn receiver(
    fail_first: usize,
) -> (
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let seen = std::sync::Arc::new(AtomicUsize::new(0));
    let hook = axum::Router::new().route(
        "/hook",
        axum::routing::post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let tx = tx.clone();
                let seen = seen.clone();
                async move {
                    let sig = headers
                        .get("passkeyd-signature")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    let _ = tx.send((sig, body.to_vec()));
                    if seen.fetch_add(1, Ordering::SeqCst) < fail_first {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await });
    (format!("http://127.0.0.1:{}/hook", addr.port()), rx)
}

async fn next_post(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) -> (String, Vec<u8>) {
    tokio::time::timeout(Duration::from_secs(15), rx.recv())
        .await
        .expect("webhook posted in time")
        .expect("receiver open")
}

/// The first audit event of kind `event`, waiting up to 20 s for the background delivery.
async fn audited(app: &TestApp, event: &str) -> passkeyd_server::store::AuditEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let events = app.state.store.audit_events(0, 1000).await.unwrap();
        if let Some(e) = events.into_iter().find(|e| e.event == event) {
            return e;
        }
        assert!(tokio::time::Instant::now() < deadline, "no {event} event");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const HOOK_SECRET: &str = "webhook-secret-0123456789abcdef-0123";

async fn recover_val(app: &TestApp) -> Client {
    let mut laptop = app.client();
    sign_up(&mut laptop, "val").await;
    let mut ops = app.client();
    admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/val/proofing",
        Some(json!({"ial": 2, "method": "video_call_document_check", "evidence_ref": "T-78", "verified_by": "helpdesk"})),
    )
    .await;
    let issued = admin(
        &mut ops,
        Method::POST,
        "/admin/api/users/val/recovery",
        Some(json!({})),
    )
    .await;
    let token = token_of(issued.json["url"].as_str().unwrap());
    let mut phone = app.client();
    let (_key, _start, finish) = enrol(&mut phone, &token).await;
    assert_eq!(finish.status, StatusCode::OK, "{:?}", finish.json);
    phone
}

#[tokio::test]
async fn a_recovery_is_announced_to_the_webhook_signed_and_its_token_cancels_it() {
    let (url, mut posts) = receiver(1).await;
    let app = TestApp::with(
        move |c| {
            c.admin_token = Some(TOKEN.to_owned());
            c.recovery_webhook = Some(passkeyd_server::services::webhook::WebhookConfig {
                url,
                secret: HOOK_SECRET.as_bytes().to_vec(),
                ca_pem: None,
            });
        },
        Duration::from_secs(300),
    )
    .await;
    let mut phone = recover_val(&app).await;
    assert_eq!(phone.get("/api/session").await.status, StatusCode::OK);

    // The first attempt gets a 503, the second is delivered; both carry the same body.
    let (_, first) = next_post(&mut posts).await;
    let (sig, body) = next_post(&mut posts).await;
    assert_eq!(first, body);
    let t: i64 = sig
        .strip_prefix("t=")
        .and_then(|r| r.split(',').next())
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        sig,
        passkeyd_server::services::webhook::signature(HOOK_SECRET.as_bytes(), t, &body)
    );
    let notice: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(notice["event"], "recovery_used");
    assert_eq!(notice["account"]["username"], "val");
    let cancel_url = notice["cancel_url"].as_str().unwrap();
    assert!(
        cancel_url.starts_with("http://localhost:8080/static/recover.html#cancel="),
        "{cancel_url}"
    );
    let cancel_token = notice["cancel"]["body"]["cancelToken"].as_str().unwrap();
    assert_eq!(cancel_url.split_once("#cancel=").unwrap().1, cancel_token);

    // A forged or altered token cancels nothing.
    let mut stranger = app.client();
    for bad in [
        "x".to_owned(),
        cancel_token.replacen('.', ".A", 1),
        format!(
            "{}.{}",
            "A".repeat(43),
            cancel_token.split_once('.').unwrap().1
        ),
    ] {
        let r = stranger
            .post("/api/recovery/cancel-token", &json!({ "cancelToken": bad }))
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{bad}: {:?}", r.json);
    }
    assert_eq!(phone.get("/api/session").await.status, StatusCode::OK);

    // The real one, with no session at all: the recovered passkey and its session are gone.
    let r = stranger
        .post(
            "/api/recovery/cancel-token",
            &json!({ "cancelToken": cancel_token }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.json);
    assert_eq!(
        phone.get("/api/session").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = stranger
        .post(
            "/api/recovery/cancel-token",
            &json!({ "cancelToken": cancel_token }),
        )
        .await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let events = app.state.store.audit_events(0, 1000).await.unwrap();
    let cancelled: Vec<_> = events
        .iter()
        .filter(|e| e.event == "recovery_cancelled")
        .collect();
    assert_eq!(cancelled.len(), 1);
    assert!(cancelled[0].details.contains("webhook_cancel_token"));
}

#[tokio::test]
async fn an_undeliverable_webhook_is_retried_then_audited() {
    // A port with nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::with(
        move |c| {
            c.admin_token = Some(TOKEN.to_owned());
            c.recovery_webhook = Some(passkeyd_server::services::webhook::WebhookConfig {
                url: format!("http://127.0.0.1:{port}/hook"),
                secret: HOOK_SECRET.as_bytes().to_vec(),
                ca_pem: None,
            });
        },
        Duration::from_secs(300),
    )
    .await;
    let mut phone = recover_val(&app).await;
    // The recovery itself did not wait for the webhook.
    assert_eq!(phone.get("/api/session").await.status, StatusCode::OK);
    let failed = audited(&app, "webhook_failed").await;
    let d: Value = serde_json::from_str(&failed.details).unwrap();
    assert_eq!(d["webhook_event"], "recovery_used");
    assert_eq!(d["attempts"], 3);
    assert_eq!(failed.outcome, "failure");
}

/// A webhook receiver over TLS with a certificate for `localhost` from a private CA; returns
/// the URL, the CA's PEM, and the posts it receives.
async fn tls_receiver() -> (
    String,
    String,
    tokio::sync::mpsc::UnboundedReceiver<(String, Vec<u8>)>,
) {
    use http_body_util::BodyExt;
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
    let mut ca = CertificateParams::default();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&leaf_key, &ca)
        .unwrap();
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            let tx = tx.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let sig = req
                                .headers()
                                .get("passkeyd-signature")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned();
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let _ = tx.send((sig, body.to_vec()));
                            let mut res =
                                hyper::Response::new(http_body_util::Empty::<bytes::Bytes>::new());
                            *res.status_mut() = StatusCode::NO_CONTENT;
                            Ok::<_, std::convert::Infallible>(res)
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (format!("https://localhost:{port}/hook"), ca.pem(), rx)
}

#[tokio::test]
async fn an_https_webhook_is_delivered_only_to_a_certificate_it_can_verify() {
    let (url, ca_pem, mut posts) = tls_receiver().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca_pem).unwrap();
    let section =
        |ca: Option<std::path::PathBuf>| passkeyd_server::services::webhook::WebhookSection {
            url: Some(url.clone()),
            secret: Some(HOOK_SECRET.to_owned()),
            ca_file: ca,
        };
    let trusting = passkeyd_server::services::webhook::WebhookConfig::from_section(&section(Some(
        ca_file.clone(),
    )))
    .unwrap()
    .unwrap();
    let app = TestApp::with(
        move |c| {
            c.admin_token = Some(TOKEN.to_owned());
            c.recovery_webhook = Some(trusting);
        },
        Duration::from_secs(300),
    )
    .await;
    recover_val(&app).await;
    let (sig, body) = next_post(&mut posts).await;
    let t: i64 = sig[2..].split(',').next().unwrap().parse().unwrap();
    assert_eq!(
        sig,
        passkeyd_server::services::webhook::signature(HOOK_SECRET.as_bytes(), t, &body)
    );
    let notice: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(notice["event"], "recovery_used");

    // Without the private CA the endpoint's certificate is not trusted: nothing is posted, and
    // the failure is audited.
    let untrusting =
        passkeyd_server::services::webhook::WebhookConfig::from_section(&section(None))
            .unwrap()
            .unwrap();
    let app = TestApp::with(
        move |c| {
            c.admin_token = Some(TOKEN.to_owned());
            c.recovery_webhook = Some(untrusting);
        },
        Duration::from_secs(300),
    )
    .await;
    recover_val(&app).await;
    let failed = audited(&app, "webhook_failed").await;
    assert!(failed.details.contains("TLS"), "{}", failed.details);
    assert!(posts.try_recv().is_err(), "nothing reached the endpoint");

    // A CA file that is not PEM stops the start with a message.
    std::fs::write(&ca_file, "not a certificate").unwrap();
    let bad =
        passkeyd_server::services::webhook::WebhookConfig::from_section(&section(Some(ca_file)))
            .unwrap()
            .unwrap();
    let err =
        passkeyd_server::services::webhook::Webhook::new(bad, app.state.store.clone()).unwrap_err();
    assert!(err.to_string().contains("ca_file"), "{err}");
}
