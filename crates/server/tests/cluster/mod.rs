//! Real `passkeyd serve` processes sharing PostgreSQL and Redis, and an HTTP client that signs
//! up and signs in with the testkit's software authenticator, for the scale-out tests.
#![allow(dead_code)]

use passkeyd_testkit::{Alg, AssertParams, RegisterParams, SoftAuthenticator, b64url_decode};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The RP id every instance serves.
pub const RP_ID: &str = "localhost";
/// The public origin in front of all instances (what a load balancer would expose).
pub const ORIGIN: &str = "http://localhost:8080";

pub fn postgres_admin_url() -> String {
    std::env::var("PASSKEYD_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub fn redis_url() -> String {
    std::env::var("PASSKEYD_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

/// A name no other test (or earlier run) uses.
pub fn unique(tag: &str) -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{tag}_{}_{nanos}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A database created for one test on the server behind `admin_url`, dropped with it.
pub struct TestDatabase {
    pub admin_url: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub async fn create(admin_url: &str) -> Self {
        let name = unique("passkeyd_t");
        let mut conn = sqlx::PgConnection::connect(admin_url)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL at {admin_url} does not answer: {e}"));
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut conn)
            .await
            .expect("create database");
        let base = admin_url.rsplit_once('/').expect("database in url").0;
        Self {
            admin_url: admin_url.to_owned(),
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub async fn pool(&self) -> sqlx::PgPool {
        sqlx::PgPool::connect(&self.url).await.expect("connect")
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let pool = self.pool().await;
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&pool).await.expect(sql);
        pool.close().await;
        n
    }

    pub async fn drop_now(self) {
        let mut conn = sqlx::PgConnection::connect(&self.admin_url)
            .await
            .expect("admin connection");
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut conn)
        .await
        .expect("drop database");
    }
}

/// One `passkeyd serve` process.
pub struct Instance {
    pub base: String,
    pub port: u16,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Instance {
    /// Starts an instance on `store_url` and `redis_url` (keys under `prefix`) and waits until
    /// it answers `/healthz`.
    pub async fn start(store_url: &str, redis_url: &str, prefix: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let log = dir.path().join("passkeyd.log");
        let child = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args([
                "--origin",
                ORIGIN,
                "--store",
                store_url,
                "--ephemeral",
                redis_url,
            ])
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .env_remove("PASSKEYD_CONFIG")
            .env("PASSKEYD_EPHEMERAL_KEY_PREFIX", prefix)
            // These tests replay hundreds of ceremonies a second from one address.
            .env("PASSKEYD_RATE_LIMITS", "off")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start passkeyd serve");
        let mut instance = Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            child,
            log,
            _dir: dir,
        };
        let http = reqwest::Client::new();
        for _ in 0..300 {
            if let Ok(r) = http.get(instance.url("/healthz")).send().await
                && r.status() == 200
            {
                return instance;
            }
            if let Ok(Some(status)) = instance.child.try_wait() {
                panic!("passkeyd exited ({status}):\n{}", instance.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("passkeyd did not answer within 30 s:\n{}", instance.log());
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the instance logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: one cookie jar, sending each request to whichever instance the test names.
#[derive(Clone)]
pub struct Browser {
    pub http: reqwest::Client,
}

/// A response: status and JSON body (`Null` when not JSON).
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub json: Value,
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Self {
            // Cookies do not depend on the port, so one jar serves every instance on 127.0.0.1,
            // as one jar serves every instance behind a load balancer.
            http: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
        }
    }

    pub async fn send(&self, method: reqwest::Method, url: String, body: Option<&Value>) -> Resp {
        let mut req = self.http.request(method, url).header("Origin", ORIGIN);
        if let Some(b) = body {
            req = req.json(b);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status();
                let json = r.json().await.unwrap_or(Value::Null);
                Resp { status, json }
            }
            Err(e) => Resp {
                // A refused or dropped connection: not an answer from passkeyd.
                status: StatusCode::from_u16(599).unwrap(),
                json: json!({ "transport_error": e.to_string() }),
            },
        }
    }

    pub async fn get(&self, at: &Instance, path: &str) -> Resp {
        self.send(reqwest::Method::GET, at.url(path), None).await
    }

    pub async fn post(&self, at: &Instance, path: &str, body: &Value) -> Resp {
        self.send(reqwest::Method::POST, at.url(path), Some(body))
            .await
    }

    pub async fn delete(&self, at: &Instance, path: &str) -> Resp {
        self.send(reqwest::Method::DELETE, at.url(path), None).await
    }

    /// Starts a registration on `start_at` and finishes it on `finish_at`.
    pub async fn register(
        &self,
        start_at: &Instance,
        finish_at: &Instance,
        body: Value,
    ) -> (SoftAuthenticator, Resp) {
        let start = self
            .post(start_at, "/api/webauthn/register/start", &body)
            .await;
        assert_eq!(start.status, 200, "register/start: {:?}", start.json);
        let options = start.json;
        let handle = b64url_decode(options["user"]["id"].as_str().unwrap()).unwrap();
        let challenge = b64url_decode(options["challenge"].as_str().unwrap()).unwrap();
        let mut auth = SoftAuthenticator::new(Alg::Es256).with_user_handle(handle);
        let reg = auth.register(&RegisterParams::new(challenge, RP_ID, ORIGIN));
        let finish = self
            .post(finish_at, "/api/webauthn/register/finish", &reg.json)
            .await;
        (auth, finish)
    }

    /// Signs up `username` (start on one instance, finish on the other).
    pub async fn sign_up(
        &self,
        start_at: &Instance,
        finish_at: &Instance,
        username: &str,
    ) -> SoftAuthenticator {
        let (auth, finish) = self
            .register(
                start_at,
                finish_at,
                json!({"username": username, "displayName": username}),
            )
            .await;
        assert_eq!(finish.status, 200, "register/finish: {:?}", finish.json);
        auth
    }

    /// `auth/start` on `at` and the body `auth/finish` takes, signed by `auth`.
    pub async fn signed_assertion(
        &self,
        at: &Instance,
        auth: &mut SoftAuthenticator,
        username: Option<&str>,
    ) -> Result<Value, Resp> {
        let body = match username {
            Some(u) => json!({ "username": u }),
            None => json!({}),
        };
        let start = self.post(at, "/api/webauthn/auth/start", &body).await;
        if start.status != 200 {
            return Err(start);
        }
        let challenge =
            b64url_decode(start.json["options"]["challenge"].as_str().unwrap()).unwrap();
        let mut assertion = auth
            .assert(&AssertParams::new(challenge, RP_ID, ORIGIN))
            .json;
        assertion["challengeKey"] = start.json["challengeKey"].clone();
        Ok(assertion)
    }

    /// A whole sign-in: start on `start_at`, finish on `finish_at`.
    pub async fn sign_in(
        &self,
        start_at: &Instance,
        finish_at: &Instance,
        auth: &mut SoftAuthenticator,
        username: Option<&str>,
    ) -> Resp {
        match self.signed_assertion(start_at, auth, username).await {
            Ok(body) => {
                self.post(finish_at, "/api/webauthn/auth/finish", &body)
                    .await
            }
            Err(start) => start,
        }
    }
}
