//! Prometheus metrics, written by hand in the text exposition format (version 0.0.4) at
//! `GET /metrics`.
//!
//! ```text
//!  request ──► track_requests (middleware) ──► route label = axum's MatchedPath
//!                  │                                (a fixed list: ROUTES, else "other")
//!                  └──► per-route histogram + status-class counters (atomics only)
//!  register/finish, auth/finish ──► Metrics::ceremony(kind, &result)
//!                  └──► success / failure{code} counters (a fixed code list, atomics only)
//!  GET /metrics ──► counters + gauges read at scrape time (sessions: one SQL count;
//!                   pending challenges: the challenge store's count)
//! ```
//!
//! Every label value comes from a fixed list, so the number of series is bounded whatever
//! the clients send; the hot path touches only relaxed atomics (no lock, no allocation).

use crate::error::Error;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The route templates the latency histograms are labelled with: every path the router
/// registers (`routes::app`). A matched path not in this list is counted as `other`; a
/// request that matched no route (404 fallback) as `unmatched`.
pub const ROUTES: &[&str] = &[
    "/healthz",
    "/readyz",
    "/metrics",
    "/.well-known/webauthn",
    "/api/webauthn/register/start",
    "/api/webauthn/register/finish",
    "/api/webauthn/auth/start",
    "/api/webauthn/auth/finish",
    "/api/webauthn/credentials",
    "/api/webauthn/credentials/{id}",
    "/api/session",
    "/api/sessions",
    "/api/sessions/{id}",
    "/api/token",
    "/api/session/introspect",
    "/.well-known/jwks.json",
    "/api/openapi.json",
    "/",
    "/static/{*path}",
];

/// Label for a matched route outside [`ROUTES`].
pub const OTHER_ROUTE: &str = "other";
/// Label for a request no route matched.
pub const UNMATCHED_ROUTE: &str = "unmatched";

/// Upper bounds of the latency histogram buckets, in seconds (`+Inf` is implicit).
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The failure codes a ceremony is labelled with: the verification core's
/// `passkeyd_webauthn::Error::code()` values, the server's own sign-in failure codes
/// (`Error::AuthenticationFailed`'s `code`) and the public codes of the other errors a
/// finish can end with. Anything else is `other`.
pub const FAILURE_CODES: &[&str] = &[
    // passkeyd_webauthn::Error::code()
    "malformed_response",
    "credential_id_mismatch",
    "client_data_not_utf8",
    "client_data_invalid",
    "type_mismatch",
    "challenge_mismatch",
    "origin_not_allowed",
    "cross_origin_not_allowed",
    "top_origin_not_allowed",
    "attestation_object_invalid",
    "authenticator_data_invalid",
    "rp_id_hash_mismatch",
    "user_not_present",
    "user_not_verified",
    "backup_state_without_eligibility",
    "backup_eligibility_changed",
    "algorithm_not_allowed",
    "credential_public_key_invalid",
    "extensions_invalid",
    "unsupported_attestation_format",
    "attestation_invalid",
    "attestation_untrusted",
    "credential_id_too_long",
    "credential_id_already_registered",
    "credential_not_allowed",
    "user_handle_invalid",
    "signature_invalid",
    "counter_not_increased",
    // the server's sign-in steps around verification
    "invalid_body",
    "challenge_not_found",
    "challenge_wrong_kind",
    "unknown_credential",
    "credential_not_active",
    "counter_race",
    // public codes of other errors
    "ceremony_expired",
    "unauthenticated",
    "credential_exists",
    "username_taken",
    "payload_too_large",
    "invalid_json",
    "invalid_request",
    "busy",
    "rate_limited",
    "unavailable",
    "internal_error",
];

const OTHER_CODE: usize = FAILURE_CODES.len();
const STATUS_CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Which ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeremonyKind {
    /// `register/finish` (sign-up or adding a passkey).
    Registration,
    /// `auth/finish` (sign-in).
    Authentication,
}

impl CeremonyKind {
    fn index(self) -> usize {
        match self {
            Self::Registration => 0,
            Self::Authentication => 1,
        }
    }

    fn label(i: usize) -> &'static str {
        ["registration", "authentication"][i]
    }
}

#[derive(Debug, Default)]
struct Histogram {
    /// Per bucket (not cumulative), the last one is `+Inf`.
    buckets: Vec<AtomicU64>,
    sum_micros: AtomicU64,
    count: AtomicU64,
    /// Responses per status class (1xx..5xx).
    classes: [AtomicU64; 5],
}

impl Histogram {
    fn new() -> Self {
        Self {
            buckets: (0..=LATENCY_BUCKETS.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
            ..Self::default()
        }
    }

    fn observe(&self, elapsed: Duration, status: u16) {
        let secs = elapsed.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.classes[class].fetch_add(1, Ordering::Relaxed);
    }
}

/// Ceremony outcomes per kind: `[success, failure by code..., failure other]`.
#[derive(Debug)]
struct Outcomes {
    success: AtomicU64,
    failures: Vec<AtomicU64>,
}

impl Outcomes {
    fn new() -> Self {
        Self {
            success: AtomicU64::new(0),
            failures: (0..=FAILURE_CODES.len())
                .map(|_| AtomicU64::new(0))
                .collect(),
        }
    }
}

/// The server's counters and histograms. Shared by every request (in [`crate::AppState`]).
#[derive(Debug)]
pub struct Metrics {
    routes: Vec<Histogram>,
    ceremonies: [Outcomes; 2],
    started: [AtomicU64; 2],
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            // ROUTES, then other, then unmatched.
            routes: (0..ROUTES.len() + 2).map(|_| Histogram::new()).collect(),
            ceremonies: [Outcomes::new(), Outcomes::new()],
            started: [AtomicU64::new(0), AtomicU64::new(0)],
        }
    }
}

/// Values read at scrape time from the stores.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    /// Sessions neither revoked nor expired (`None`: the store could not be read).
    pub active_sessions: Option<u64>,
    /// Ceremonies started and not yet finished or expired.
    pub pending_challenges: Option<u64>,
}

fn route_label(i: usize) -> &'static str {
    match i.checked_sub(ROUTES.len()) {
        None => ROUTES[i],
        Some(0) => OTHER_ROUTE,
        Some(_) => UNMATCHED_ROUTE,
    }
}

/// The failure code of a finished ceremony's error (always one of [`FAILURE_CODES`] or
/// `other`).
pub fn failure_code(e: &Error) -> &'static str {
    let code = match e {
        Error::AuthenticationFailed { code, .. } | Error::RegistrationFailed { code, .. } => code,
        other => other.public_code(),
    };
    FAILURE_CODES
        .iter()
        .find(|c| **c == code)
        .copied()
        .unwrap_or("other")
}

impl Metrics {
    /// Records one request's latency and status; `route` is the matched route template
    /// (`None`: no route matched).
    pub fn observe_request(&self, route: Option<&str>, elapsed: Duration, status: u16) {
        let i = match route {
            None => ROUTES.len() + 1,
            Some(r) => ROUTES.iter().position(|x| *x == r).unwrap_or(ROUTES.len()),
        };
        self.routes[i].observe(elapsed, status);
    }

    /// Records a started ceremony.
    pub fn ceremony_started(&self, kind: CeremonyKind) {
        self.started[kind.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Records a finished ceremony's outcome.
    pub fn ceremony<T>(&self, kind: CeremonyKind, result: &Result<T, Error>) {
        let o = &self.ceremonies[kind.index()];
        match result {
            Ok(_) => o.success.fetch_add(1, Ordering::Relaxed),
            Err(e) => {
                let code = failure_code(e);
                let i = FAILURE_CODES
                    .iter()
                    .position(|c| *c == code)
                    .unwrap_or(OTHER_CODE);
                o.failures[i].fetch_add(1, Ordering::Relaxed)
            }
        };
    }

    /// The text exposition of every metric.
    pub fn render(&self, gauges: Gauges) -> String {
        let mut out = String::with_capacity(16 * 1024);
        let w = &mut out;
        let _ = writeln!(w, "# HELP passkeyd_build_info Build information; always 1.");
        let _ = writeln!(w, "# TYPE passkeyd_build_info gauge");
        let _ = writeln!(
            w,
            "passkeyd_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );

        let _ = writeln!(
            w,
            "# HELP passkeyd_ceremonies_started_total Ceremonies started (register/start, auth/start answered 200)."
        );
        let _ = writeln!(w, "# TYPE passkeyd_ceremonies_started_total counter");
        for (k, c) in self.started.iter().enumerate() {
            let _ = writeln!(
                w,
                "passkeyd_ceremonies_started_total{{kind=\"{}\"}} {}",
                CeremonyKind::label(k),
                c.load(Ordering::Relaxed)
            );
        }

        let _ = writeln!(
            w,
            "# HELP passkeyd_ceremonies_total Ceremonies finished, by kind and outcome; failures carry the internal error code."
        );
        let _ = writeln!(w, "# TYPE passkeyd_ceremonies_total counter");
        for (k, o) in self.ceremonies.iter().enumerate() {
            let kind = CeremonyKind::label(k);
            let _ = writeln!(
                w,
                "passkeyd_ceremonies_total{{kind=\"{kind}\",outcome=\"success\"}} {}",
                o.success.load(Ordering::Relaxed)
            );
            for (i, c) in o.failures.iter().enumerate() {
                let n = c.load(Ordering::Relaxed);
                // Failure series appear once they happen (a bounded set either way).
                if n == 0 {
                    continue;
                }
                let code = FAILURE_CODES.get(i).copied().unwrap_or("other");
                let _ = writeln!(
                    w,
                    "passkeyd_ceremonies_total{{kind=\"{kind}\",outcome=\"failure\",code=\"{code}\"}} {n}"
                );
            }
        }

        let _ = writeln!(
            w,
            "# HELP passkeyd_http_request_duration_seconds Request latency by route template."
        );
        let _ = writeln!(w, "# TYPE passkeyd_http_request_duration_seconds histogram");
        for (i, h) in self.routes.iter().enumerate() {
            let count = h.count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            let route = route_label(i);
            let mut cumulative = 0;
            for (b, bound) in LATENCY_BUCKETS.iter().enumerate() {
                cumulative += h.buckets[b].load(Ordering::Relaxed);
                let _ = writeln!(
                    w,
                    "passkeyd_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {cumulative}"
                );
            }
            cumulative += h.buckets[LATENCY_BUCKETS.len()].load(Ordering::Relaxed);
            let _ = writeln!(
                w,
                "passkeyd_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = h.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                w,
                "passkeyd_http_request_duration_seconds_sum{{route=\"{route}\"}} {sum}"
            );
            let _ = writeln!(
                w,
                "passkeyd_http_request_duration_seconds_count{{route=\"{route}\"}} {cumulative}"
            );
        }

        let _ = writeln!(
            w,
            "# HELP passkeyd_http_responses_total Responses by route template and status class."
        );
        let _ = writeln!(w, "# TYPE passkeyd_http_responses_total counter");
        for (i, h) in self.routes.iter().enumerate() {
            for (c, class) in STATUS_CLASSES.iter().enumerate() {
                let n = h.classes[c].load(Ordering::Relaxed);
                if n > 0 {
                    let _ = writeln!(
                        w,
                        "passkeyd_http_responses_total{{route=\"{}\",status=\"{class}\"}} {n}",
                        route_label(i)
                    );
                }
            }
        }

        if let Some(n) = gauges.active_sessions {
            let _ = writeln!(
                w,
                "# HELP passkeyd_sessions_active Sessions neither revoked nor expired."
            );
            let _ = writeln!(w, "# TYPE passkeyd_sessions_active gauge");
            let _ = writeln!(w, "passkeyd_sessions_active {n}");
        }
        if let Some(n) = gauges.pending_challenges {
            let _ = writeln!(
                w,
                "# HELP passkeyd_challenges_pending Ceremonies started and neither finished nor expired."
            );
            let _ = writeln!(w, "# TYPE passkeyd_challenges_pending gauge");
            let _ = writeln!(w, "passkeyd_challenges_pending {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_the_count_matches() {
        let m = Metrics::default();
        m.observe_request(Some("/healthz"), Duration::from_micros(500), 200);
        m.observe_request(Some("/healthz"), Duration::from_millis(30), 200);
        m.observe_request(Some("/healthz"), Duration::from_secs(20), 503);
        let text = m.render(Gauges::default());
        assert!(text.contains(
            "passkeyd_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.001\"} 1\n"
        ));
        assert!(text.contains(
            "passkeyd_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"0.05\"} 2\n"
        ));
        assert!(text.contains(
            "passkeyd_http_request_duration_seconds_bucket{route=\"/healthz\",le=\"+Inf\"} 3\n"
        ));
        assert!(
            text.contains("passkeyd_http_request_duration_seconds_count{route=\"/healthz\"} 3\n")
        );
        assert!(
            text.contains("passkeyd_http_responses_total{route=\"/healthz\",status=\"5xx\"} 1\n")
        );
    }

    #[test]
    fn unknown_routes_and_codes_fold_into_bounded_labels() {
        let m = Metrics::default();
        m.observe_request(Some("/not/a/route"), Duration::ZERO, 200);
        m.observe_request(None, Duration::ZERO, 404);
        m.ceremony::<()>(
            CeremonyKind::Authentication,
            &Err(Error::AuthenticationFailed {
                code: "made_up",
                reason: String::new(),
            }),
        );
        let text = m.render(Gauges::default());
        assert!(text.contains("route=\"other\""));
        assert!(text.contains("route=\"unmatched\""));
        assert!(text.contains(
            "passkeyd_ceremonies_total{kind=\"authentication\",outcome=\"failure\",code=\"other\"} 1\n"
        ));
    }
}
