//! Operations endpoints: `GET /metrics` (Prometheus text format), `GET /.well-known/webauthn`
//! (the related-origins document) and the middleware that times every request.

use crate::app::AppState;
use crate::error::Error;
use crate::metrics::Gauges;
use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::Instant;

/// Content type of the Prometheus text exposition format.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `GET /metrics`: counters, histograms and gauges in the Prometheus text format
/// (`docs/operations.md` lists them).
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text exposition format", body = String,
        content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let active_sessions = match state.sessions.count_live().await {
        Ok(n) => Some(n),
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count sessions");
            None
        }
    };
    let pending_challenges = match state.challenges.pending().await {
        Ok(n) => n,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: cannot count pending challenges");
            None
        }
    };
    let text = state.metrics.render(Gauges {
        active_sessions,
        pending_challenges,
    });
    (
        [(CONTENT_TYPE, HeaderValue::from_static(PROMETHEUS_TEXT))],
        text,
    )
        .into_response()
}

/// `GET /.well-known/webauthn`: with more than one configured origin, the related-origins
/// document `{"origins": [...]}` (WebAuthn Level 3 §5.11); 404 otherwise.
#[utoipa::path(get, path = "/.well-known/webauthn", tag = "webauthn",
    responses(
        (status = 200, description = "The related origins", body = Object),
        (status = 404, description = "Only one origin is configured", body = super::ErrorBody),
    ))]
pub async fn related_origins(State(state): State<AppState>) -> Result<Response, Error> {
    if state.config.origins.len() < 2 {
        return Err(Error::NotFound("resource"));
    }
    let body = passkeyd_webauthn::origin::related_origins_document(&state.config.origins);
    Ok((
        [
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=300"),
            ),
        ],
        body,
    )
        .into_response())
}

/// The route template of a request (`None`: no route matched, the 404 fallback).
pub fn route_of(req: &Request) -> Option<&str> {
    req.extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
}

/// Times each request into the per-route latency histogram.
pub async fn track_requests(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // MatchedPath holds an `Arc<str>`: cloning it does not allocate.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let response = next.run(req).await;
    state.metrics.observe_request(
        route.as_ref().map(MatchedPath::as_str),
        start.elapsed(),
        response.status().as_u16(),
    );
    response
}
