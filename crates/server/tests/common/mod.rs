//! Shared helpers for the server tests: an app on a temporary SQLite database, a cookie-keeping
//! client over `tower::ServiceExt::oneshot` (no sockets), and ceremonies driven by the testkit's
//! software authenticator.
#![allow(dead_code)]

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use passkeyd_server::{AppState, Config, app, config::FileConfig};
use passkeyd_testkit::{Alg, AssertParams, RegisterParams, SoftAuthenticator, b64url_decode};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;
use tempfile::TempDir;
use tower::ServiceExt;

/// The RP id tests use.
pub const RP_ID: &str = "localhost";
/// The origin tests use.
pub const ORIGIN: &str = "http://localhost:8080";

/// An app over a fresh data directory.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub dir: TempDir,
}

/// The default test configuration for `dir`.
pub fn test_config(dir: &std::path::Path) -> Config {
    Config::resolve(FileConfig {
        data_dir: Some(dir.to_path_buf()),
        ..FileConfig::default()
    })
    .expect("test config")
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with(|_| {}, Duration::from_secs(300)).await
    }

    pub async fn with(change: impl FnOnce(&mut Config), challenge_ttl: Duration) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        change(&mut config);
        let state = AppState::open_with_challenge_ttl(config, challenge_ttl)
            .await
            .expect("app state");
        Self {
            router: app(state.clone()),
            state,
            dir,
        }
    }

    /// A new browser: its own cookie jar.
    pub fn client(&self) -> Client {
        Client {
            router: self.router.clone(),
            cookies: HashMap::new(),
        }
    }
}

/// A response, with the body parsed as JSON (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub json: Value,
}

impl Resp {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

/// A browser-like client: keeps cookies set by the server.
pub struct Client {
    pub router: Router,
    pub cookies: HashMap<String, String>,
}

impl Client {
    pub async fn send(&mut self, method: Method, path: &str, body: Option<Vec<u8>>) -> Resp {
        self.send_with(method, path, body, &[]).await
    }

    pub async fn send_with(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        extra_headers: &[(&str, &str)],
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if !self.cookies.is_empty() {
            let c: Vec<String> = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            req = req.header(header::COOKIE, c.join("; "));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        for (k, v) in extra_headers {
            req = req.header(*k, *v);
        }
        let req = req
            .body(body.map(Body::from).unwrap_or_else(Body::empty))
            .expect("request");
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
            .await
            .expect("body");
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let resp = Resp {
            status,
            headers,
            body: bytes.to_vec(),
            json,
        };
        for c in resp.set_cookies() {
            self.apply_set_cookie(&c);
        }
        resp
    }

    fn apply_set_cookie(&mut self, header: &str) {
        let mut parts = header.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.trim().split_once('=')) else {
            return;
        };
        let expired = parts.any(|p| p.trim().eq_ignore_ascii_case("Max-Age=0"));
        if expired || value.is_empty() {
            self.cookies.remove(name);
        } else {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    pub async fn get(&mut self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, body: &Value) -> Resp {
        self.send(Method::POST, path, Some(body.to_string().into_bytes()))
            .await
    }

    pub async fn delete(&mut self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn patch(&mut self, path: &str, body: &Value) -> Resp {
        self.send(Method::PATCH, path, Some(body.to_string().into_bytes()))
            .await
    }
}

/// The challenge in an options object.
pub fn challenge_of(options: &Value) -> Vec<u8> {
    b64url_decode(options["challenge"].as_str().expect("challenge")).expect("base64url challenge")
}

/// `register/start` with `body`, a new authenticator for the options' user, its response.
pub async fn start_and_create(client: &mut Client, body: Value) -> (SoftAuthenticator, Value) {
    let start = client.post("/api/webauthn/register/start", &body).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    let options = start.json;
    let handle = b64url_decode(options["user"]["id"].as_str().expect("user.id")).expect("b64");
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_user_handle(handle);
    let reg = auth.register(&RegisterParams::new(challenge_of(&options), RP_ID, ORIGIN));
    (auth, reg.json)
}

/// Signs up `username` with a new passkey; returns the authenticator and the finish answer.
pub async fn sign_up(client: &mut Client, username: &str) -> (SoftAuthenticator, Resp) {
    let (auth, response) = start_and_create(
        client,
        json!({"username": username, "displayName": format!("{username} display")}),
    )
    .await;
    let finish = client
        .post("/api/webauthn/register/finish", &response)
        .await;
    (auth, finish)
}

/// Adds a passkey for the signed-in client.
pub async fn add_passkey(client: &mut Client) -> (SoftAuthenticator, Resp) {
    let (auth, response) = start_and_create(client, json!({})).await;
    let finish = client
        .post("/api/webauthn/register/finish", &response)
        .await;
    (auth, finish)
}

/// `auth/start` (with `username` or discoverable); returns the answer.
pub async fn auth_start(client: &mut Client, username: Option<&str>) -> Resp {
    let body = match username {
        Some(u) => json!({ "username": u }),
        None => json!({}),
    };
    client.post("/api/webauthn/auth/start", &body).await
}

/// An assertion for `options` with the challenge key added, as the page sends it.
pub fn assertion_body(auth: &mut SoftAuthenticator, start: &Value) -> Value {
    let a = auth.assert(&AssertParams::new(
        challenge_of(&start["options"]),
        RP_ID,
        ORIGIN,
    ));
    let mut body = a.json;
    body["challengeKey"] = start["challengeKey"].clone();
    body
}

/// A full sign-in; returns the finish answer.
pub async fn sign_in(
    client: &mut Client,
    auth: &mut SoftAuthenticator,
    username: Option<&str>,
) -> Resp {
    let start = auth_start(client, username).await;
    assert_eq!(start.status, StatusCode::OK, "{:?}", start.json);
    let body = assertion_body(auth, &start.json);
    client.post("/api/webauthn/auth/finish", &body).await
}

/// The phrase the continuous-authentication tests type.
pub const PHRASE: &str = "the quick brown fox jumps over the lazy dog";

/// Key events for PHRASE, keydown-keydown `gap_ms` (with a small deterministic jitter) and
/// holds of `hold_ms`, as passkeyd.js sends them.
pub fn typing_keys(gap_ms: f64, hold_ms: f64, seed: u64) -> Vec<Value> {
    let mut t = 1000.0;
    PHRASE
        .chars()
        .enumerate()
        .map(|(i, c)| {
            let jitter = (((i as u64 * 37 + seed * 11) % 11) as f64 - 5.0) * 1.5;
            let down = t;
            t += gap_ms + jitter;
            json!({"key": c.to_string(), "down": down, "up": down + hold_ms + jitter / 2.0})
        })
        .collect()
}

/// The behaviour template stored for `username`, as stored (JSON text).
pub async fn stored_template(app: &TestApp, username: &str) -> String {
    let user = app
        .state
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .expect("user");
    app.state
        .store
        .behavior_template(&user.handle)
        .await
        .unwrap()
        .expect("template")
}
