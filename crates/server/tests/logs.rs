//! Request ids in the logs. Alone in its test binary: the capturing subscriber is
//! thread-local, and tracing's per-callsite interest cache is shared by the whole process, so
//! tests running beside it on other threads could make it miss events.

mod common;

use axum::http::StatusCode;
use common::*;
use passkeyd_server::config::LogFormat;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A log sink shared with the test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let sink = Captured::default();
    let writer = sink.clone();
    let subscriber = passkeyd_server::serve::log_subscriber(
        LogFormat::Json,
        tracing_subscriber::EnvFilter::new("info"),
        move || writer.clone(),
        false,
    );
    // The test runtime is single-threaded: the request runs on this thread.
    let _guard = tracing::subscriber::set_default(subscriber);
    let app = TestApp::new().await;
    let mut c = app.client();
    // A sign-in finish without any challenge key: the generic 401, the precise code logged.
    let r = c
        .post("/api/webauthn/auth/finish", &json!({"id": "x"}))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json["error"], "authentication_failed");
    let id = r.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("not JSON: {l}")))
        .collect();
    let ours: Vec<&Value> = lines
        .iter()
        .filter(|l| l["span"]["request_id"] == id.as_str())
        .collect();
    assert!(ours.len() >= 2, "{text}");
    for l in &ours {
        assert_eq!(l["span"]["method"], "POST", "{l}");
        assert_eq!(l["span"]["route"], "/api/webauthn/auth/finish", "{l}");
    }
    let refused = ours
        .iter()
        .find(|l| l["fields"]["message"] == "request refused")
        .unwrap_or_else(|| panic!("no refusal logged: {text}"));
    assert_eq!(
        refused["fields"]["code"], "challenge_not_found",
        "{refused}"
    );
    assert_eq!(refused["level"], "WARN");
    assert!(
        ours.iter()
            .any(|l| l["fields"]["message"] == "finished processing request"),
        "{text}"
    );
    // Nothing of the request was logged outside its span.
    for l in &lines {
        if l["fields"]["message"] == "request refused" {
            assert_eq!(l["span"]["request_id"], id.as_str(), "{l}");
        }
    }
}
