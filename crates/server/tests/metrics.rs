//! Operations endpoints through the router: `GET /metrics` (counters, latency histograms,
//! gauges, text format) and `GET /.well-known/webauthn`.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// Parses the text exposition format: every line is a `# HELP`/`# TYPE` comment or
/// `name{labels} value`; returns the samples by `name{labels}`.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("{line:?}"));
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value in {line:?}"));
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => {
                let labels = rest.strip_suffix('}').unwrap_or_else(|| panic!("{line:?}"));
                (n, Some(labels))
            }
            None => (series, None),
        };
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "metric name in {line:?}"
        );
        if let Some(labels) = labels {
            for pair in labels.split("\",").filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once("=\"").unwrap_or_else(|| panic!("{line:?}"));
                assert!(
                    k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                    "label name in {line:?}"
                );
                assert!(!v.contains('\n'), "{line:?}");
            }
            assert!(labels.ends_with('"'), "{line:?}");
        }
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "duplicate series {series}"
        );
    }
    samples
}

async fn scrape(client: &mut Client) -> BTreeMap<String, f64> {
    let r = client.get("/metrics").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    parse(std::str::from_utf8(&r.body).expect("utf-8"))
}

fn get(m: &BTreeMap<String, f64>, series: &str) -> f64 {
    m.get(series).copied().unwrap_or(0.0)
}

const AUTH_OK: &str = "passkeyd_ceremonies_total{kind=\"authentication\",outcome=\"success\"}";
const REG_OK: &str = "passkeyd_ceremonies_total{kind=\"registration\",outcome=\"success\"}";

fn auth_failed(code: &str) -> String {
    format!(
        "passkeyd_ceremonies_total{{kind=\"authentication\",outcome=\"failure\",code=\"{code}\"}}"
    )
}

fn finish_count(route: &str) -> String {
    format!("passkeyd_http_request_duration_seconds_count{{route=\"{route}\"}}")
}

fn finish_inf(route: &str) -> String {
    format!("passkeyd_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}}")
}

#[tokio::test]
async fn metrics_count_ceremonies_by_outcome_and_time_requests_by_route() {
    let app = TestApp::new().await;
    let mut ops = app.client();
    let before = scrape(&mut ops).await;
    assert_eq!(
        get(
            &before,
            &format!(
                "passkeyd_build_info{{version=\"{}\"}}",
                env!("CARGO_PKG_VERSION")
            )
        ),
        1.0
    );
    assert_eq!(get(&before, REG_OK), 0.0);
    assert_eq!(get(&before, AUTH_OK), 0.0);
    assert_eq!(get(&before, "passkeyd_sessions_active"), 0.0);
    assert!(before.contains_key("passkeyd_sessions_active"));
    assert!(before.contains_key("passkeyd_challenges_pending"));

    // A sign-up (registration success) and a sign-in (authentication success).
    let mut c = app.client();
    let (mut auth, r) = sign_up(&mut c, "mia").await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    let mut b = app.client();
    let start = auth_start(&mut b, None).await;
    let body = assertion_body(&mut auth, &start.json);
    assert_eq!(
        b.post("/api/webauthn/auth/finish", &body).await.status,
        StatusCode::OK
    );
    // The same body again: its challenge key is used up.
    let replay = b.post("/api/webauthn/auth/finish", &body).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    // The assertion under a fresh challenge key: the verifier's challenge check fails.
    let fresh = auth_start(&mut b, None).await;
    let mut wrong = body.clone();
    wrong["challengeKey"] = fresh.json["challengeKey"].clone();
    assert_eq!(
        b.post("/api/webauthn/auth/finish", &wrong).await.status,
        StatusCode::UNAUTHORIZED
    );
    // One more started and left pending.
    let _pending = auth_start(&mut b, None).await;
    // A path no route matches.
    assert_eq!(b.get("/no/such/path").await.status, StatusCode::NOT_FOUND);

    let after = scrape(&mut ops).await;
    assert_eq!(get(&after, REG_OK), 1.0);
    assert_eq!(get(&after, AUTH_OK), 1.0);
    assert_eq!(get(&after, &auth_failed("challenge_not_found")), 1.0);
    assert_eq!(get(&after, &auth_failed("challenge_mismatch")), 1.0);
    assert_eq!(
        get(
            &after,
            "passkeyd_ceremonies_started_total{kind=\"authentication\"}"
        ),
        3.0
    );
    assert_eq!(
        get(
            &after,
            "passkeyd_ceremonies_started_total{kind=\"registration\"}"
        ),
        1.0
    );
    // Sign-up and sign-in each made a session; the replays made none.
    assert_eq!(get(&after, "passkeyd_sessions_active"), 2.0);
    // The unused fresh challenge key of the failed attempt was consumed; the last start
    // is pending.
    assert_eq!(get(&after, "passkeyd_challenges_pending"), 1.0);

    // Histograms: auth/finish was called three times, auth/start three times, labelled by
    // the route template; the raw unmatched path is not a label.
    let finish = "/api/webauthn/auth/finish";
    assert_eq!(get(&after, &finish_count(finish)), 3.0);
    assert_eq!(get(&after, &finish_inf(finish)), 3.0);
    assert_eq!(get(&after, &finish_count("/api/webauthn/auth/start")), 3.0);
    assert_eq!(get(&after, &finish_count("unmatched")), 1.0);
    assert!(!after.keys().any(|k| k.contains("/no/such/path")));
    assert!(after.contains_key(&format!(
        "passkeyd_http_request_duration_seconds_sum{{route=\"{finish}\"}}"
    )));
    // Buckets are cumulative and end at the count.
    let buckets: Vec<f64> = after
        .iter()
        .filter(|(k, _)| {
            k.starts_with(&format!(
                "passkeyd_http_request_duration_seconds_bucket{{route=\"{finish}\","
            ))
        })
        .map(|(_, v)| *v)
        .collect();
    assert_eq!(buckets.len(), 14);
    assert!(buckets.iter().all(|v| *v <= 3.0));
    assert_eq!(
        get(
            &after,
            &format!("passkeyd_http_responses_total{{route=\"{finish}\",status=\"4xx\"}}")
        ),
        2.0
    );
    assert_eq!(
        get(
            &after,
            &format!("passkeyd_http_responses_total{{route=\"{finish}\",status=\"2xx\"}}")
        ),
        1.0
    );
    // The first scrape is counted by the second.
    assert_eq!(get(&after, &finish_count("/metrics")), 1.0);
}

#[tokio::test]
async fn expired_sessions_and_challenges_leave_the_gauges() {
    let app = TestApp::with(
        |c| c.session_idle_timeout = Duration::from_secs(1),
        Duration::ZERO,
    )
    .await;
    let mut c = app.client();
    let _ = auth_start(&mut c, None).await;
    let m = scrape(&mut c).await;
    // The challenge expired at once (TTL zero).
    assert_eq!(get(&m, "passkeyd_challenges_pending"), 0.0);
    assert_eq!(get(&m, "passkeyd_sessions_active"), 0.0);
}

#[tokio::test]
async fn well_known_webauthn_lists_the_origins_when_there_are_several() {
    let origins = vec![
        "http://localhost:8080".to_owned(),
        "https://login.localhost".to_owned(),
    ];
    let expected = origins.clone();
    let app = TestApp::with(move |c| c.origins = origins, Duration::from_secs(300)).await;
    let r = app.client().get("/.well-known/webauthn").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(r.json, json!({ "origins": expected }));
}

#[tokio::test]
async fn well_known_webauthn_is_404_with_one_origin() {
    let app = TestApp::new().await;
    let r = app.client().get("/.well-known/webauthn").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json["error"], "not_found");
}

#[tokio::test]
async fn every_route_template_is_its_own_label() {
    use axum::http::Method;
    use passkeyd_server::metrics::ROUTES;
    let app = TestApp::new().await;
    let mut c = app.client();
    for route in ROUTES {
        // A concrete path for the template, with a method the route answers.
        let path = route.replace("{id}", "x").replace("{*path}", "app.js");
        let method = match *route {
            "/api/webauthn/register/start"
            | "/api/webauthn/register/finish"
            | "/api/webauthn/auth/start"
            | "/api/webauthn/auth/finish"
            | "/api/token"
            | "/api/session/introspect" => Method::POST,
            "/api/webauthn/credentials/{id}" | "/api/sessions/{id}" => Method::DELETE,
            _ => Method::GET,
        };
        let r = c.send(method, &path, Some(b"{}".to_vec())).await;
        assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{route}");
    }
    let m = scrape(&mut c).await;
    for route in ROUTES {
        assert!(
            get(&m, &finish_count(route)) >= 1.0,
            "{route} has no series of its own"
        );
    }
    assert_eq!(get(&m, &finish_count("other")), 0.0);
    assert_eq!(get(&m, &finish_count("unmatched")), 0.0);
}
