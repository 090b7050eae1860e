//! HTTP routes: thin handlers that decode, call one service method and encode. This module
//! builds the router ([`app`]), holds the extractors and cookies, and converts the domain
//! [`Error`] to a response in exactly one place (`impl IntoResponse for Error`), where the
//! internal cause is logged and the public message stays generic.
//!
//! The paths and JSON shapes are specified in `docs/api.md`; `GET /api/openapi.json` is
//! generated from the handlers' annotations.

pub mod admin;
pub mod openapi;
pub mod ops;
pub mod session;
pub mod static_files;
pub mod stepup;
pub mod tokens;
pub mod webauthn;

use crate::app::AppState;
use crate::error::Error;
use crate::services::audit::{RequestContext, user_ref};
use crate::services::sessions::{CurrentSession, SESSION_COOKIE};
use crate::store::AuditEvent;
use axum::Json;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, ORIGIN, REFERRER_POLICY,
    SET_COOKIE, USER_AGENT, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use passkeyd_webauthn::b64;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::ToSchema;

/// Largest accepted request body.
pub const BODY_LIMIT: usize = 64 * 1024;
/// Requests handled at once; more wait.
pub const CONCURRENCY_LIMIT: usize = 512;

/// The router over `state`: every route, the body limit, request ids, tracing, metrics, the
/// origin check and JSON errors. A new route's path must also go into
/// [`crate::metrics::ROUTES`] (its latency label; `tests/metrics.rs` checks the list).
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(ops::metrics))
        .route("/.well-known/webauthn", get(ops::related_origins))
        .route(
            "/api/webauthn/register/start",
            post(webauthn::register_start),
        )
        .route(
            "/api/webauthn/register/finish",
            post(webauthn::register_finish),
        )
        .route("/api/webauthn/auth/start", post(webauthn::auth_start))
        .route("/api/webauthn/auth/finish", post(webauthn::auth_finish))
        .route("/api/webauthn/credentials", get(webauthn::list_credentials))
        .route(
            "/api/webauthn/credentials/{id}",
            patch(webauthn::rename_credential).delete(webauthn::delete_credential),
        )
        .route(
            "/api/session",
            get(session::current_session).delete(session::sign_out),
        )
        .route("/api/sessions", get(session::list_sessions))
        .route(
            "/api/sessions/{id}",
            axum::routing::delete(session::revoke_session),
        )
        .route("/api/webauthn/stepup/start", post(stepup::stepup_start))
        .route("/api/webauthn/stepup/finish", post(stepup::stepup_finish))
        .route(
            "/api/account",
            axum::routing::delete(stepup::delete_account),
        )
        .route(
            "/admin/api/users",
            get(admin::list_users).post(admin::create_user),
        )
        .route(
            "/admin/api/users/{username}/enrolment",
            post(admin::issue_enrolment),
        )
        .route(
            "/admin/api/users/{username}",
            get(admin::user_detail).patch(admin::set_user_policy),
        )
        .route(
            "/admin/api/users/{username}/sessions/{id}",
            axum::routing::delete(admin::revoke_session),
        )
        .route(
            "/admin/api/users/{username}/proofing",
            post(admin::record_proofing),
        )
        .route(
            "/admin/api/credentials/{id}/status",
            post(admin::set_credential_status),
        )
        .route("/admin/api/audit", get(admin::audit))
        .route(
            "/admin/api/users/{username}/recovery",
            post(admin::issue_recovery),
        )
        .route("/api/recovery/start", post(stepup::recovery_start))
        .route("/api/recovery/cancel", post(stepup::recovery_cancel))
        .route(
            "/api/recovery/cancel-token",
            post(stepup::recovery_cancel_token),
        )
        .route("/api/token", post(tokens::issue_token))
        .route("/api/session/introspect", post(tokens::introspect))
        .route("/api/session/signals", post(session::signals))
        .route("/.well-known/jwks.json", get(tokens::jwks))
        .route("/api/openapi.json", get(openapi::openapi_json))
        .route("/", get(static_files::index))
        .route("/static/{*path}", get(static_files::asset))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), check_origin))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
                .layer(PropagateRequestIdLayer::x_request_id())
                .layer(middleware::from_fn_with_state(
                    state.clone(),
                    ops::track_requests,
                ))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<Body>| {
                            let id = req
                                .headers()
                                .get("x-request-id")
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("-");
                            // The route template (bounded), not the raw path (which carries
                            // ids); `unmatched` for the 404 fallback.
                            let route =
                                ops::route_of(req).unwrap_or(crate::metrics::UNMATCHED_ROUTE);
                            tracing::info_span!(
                                "request",
                                request_id = %id,
                                method = %req.method(),
                                route = %route,
                            )
                        })
                        .on_response(DefaultOnResponse::new().level(Level::INFO)),
                )
                .layer(middleware::map_response(json_error_bodies))
                // Answers are per user (sessions, tokens): never cached unless a handler says
                // otherwise (static files, the JWKS).
                .layer(SetResponseHeaderLayer::if_not_present(
                    CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ))
                // The sign-in pages must not be framed by another site (clickjacking).
                .layer(SetResponseHeaderLayer::overriding(
                    CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static("frame-ancestors 'none'"),
                ))
                .layer(SetResponseHeaderLayer::overriding(
                    REFERRER_POLICY,
                    HeaderValue::from_static("same-origin"),
                ))
                .layer(GlobalConcurrencyLimitLayer::new(CONCURRENCY_LIMIT)),
        )
        .with_state(state)
}

/// Request ids: 16 random bytes in hex.
#[derive(Clone, Copy, Debug)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let mut b = [0u8; 16];
        aws_lc_rs::rand::fill(&mut b).ok()?;
        let hex = b.iter().fold(String::with_capacity(32), |mut s, x| {
            use std::fmt::Write as _;
            let _ = write!(s, "{x:02x}");
            s
        });
        HeaderValue::from_str(&hex).ok().map(RequestId::new)
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// Machine-readable code, e.g. `authentication_failed`, `invalid_json`.
    pub error: String,
    /// A sentence for the user.
    pub message: String,
    /// For `step_up_required`: the action to step up for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// For `step_up_required`: the assurance level to reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
}

impl Error {
    /// The HTTP status of each error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. }
            | Self::RegistrationFailed { .. }
            | Self::CeremonyNotFound
            | Self::RecoveryLinkInvalid => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unauthenticated | Self::AdminUnauthorized | Self::AuthenticationFailed { .. } => {
                StatusCode::UNAUTHORIZED
            }
            Self::SignupClosed
            | Self::ForbiddenOrigin(_)
            | Self::PolicyRefused { .. }
            | Self::StepUpRequired { .. }
            | Self::StepUpImpossible(_)
            | Self::CoolingOff(_)
            | Self::SecondPasskeyRequired => StatusCode::FORBIDDEN,
            Self::UsernameTaken | Self::CredentialAlreadyRegistered | Self::LastPasskey => {
                StatusCode::CONFLICT
            }
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Busy | Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// The one place a domain error becomes HTTP: log the precise cause, answer the generic one.
impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            Self::Internal(_) => tracing::error!(error = %self, "request failed"),
            Self::Unavailable(_) => {
                tracing::error!(error = %self, "request failed: a backend is unavailable");
            }
            Self::AuthenticationFailed { .. }
            | Self::RegistrationFailed { .. }
            | Self::ForbiddenOrigin(_)
            | Self::RateLimited(_)
            | Self::Busy => {
                tracing::warn!(code = self.internal_code(), error = %self, "request refused");
            }
            _ => tracing::info!(code = self.internal_code(), error = %self, "request refused"),
        }
        let (action, level) = match &self {
            Self::StepUpRequired { action, level } => (Some(action.clone()), Some(*level)),
            _ => (None, None),
        };
        let body = ErrorBody {
            error: self.public_code().to_owned(),
            message: self.public_message(),
            action,
            level,
        };
        let retry_after = match &self {
            Self::RateLimited(wait) => {
                Some((wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1))
            }
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, v);
        }
        response
    }
}

/// Responses made outside the handlers (body limit, unsupported method) get the JSON error
/// shape too.
async fn json_error_bodies(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (code, message) = match status {
        StatusCode::PAYLOAD_TOO_LARGE => return Error::PayloadTooLarge.into_response(),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "This method is not allowed on this path.",
        ),
        StatusCode::NOT_FOUND => ("not_found", "No such resource."),
        s if s.is_client_error() => ("bad_request", "The request is not valid."),
        _ => ("internal_error", "Something went wrong on the server."),
    };
    let mut r = (
        status,
        Json(ErrorBody {
            error: code.into(),
            message: message.into(),
            action: None,
            level: None,
        }),
    )
        .into_response();
    // Keep headers such as `Allow` from the original response.
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
    r
}

async fn not_found() -> Error {
    Error::NotFound("resource")
}

/// State-changing requests that carry an `Origin` must come from a configured origin (the
/// SameSite=Lax cookies already stop most cross-site requests; this closes the rest).
async fn check_origin(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && let Some(origin) = req.headers().get(ORIGIN) {
        let ok = origin
            .to_str()
            .is_ok_and(|o| state.config.origins.iter().any(|c| c == o));
        if !ok {
            let o = String::from_utf8_lossy(origin.as_bytes()).into_owned();
            return Error::ForbiddenOrigin(o).into_response();
        }
    }
    next.run(req).await
}

/// `GET /healthz`: 200 once the server is serving.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The server is up", body = Object)))]
pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: 200 when the database and the ephemeral store answer, 503 otherwise.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "The server, its database and its ephemeral store are ready", body = Object),
        (status = 503, description = "The database or the ephemeral store does not answer", body = Object),
    ))]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let failure = match state.store.ping().await {
        Err(e) => Some(("database", e.to_string())),
        Ok(()) => state
            .challenges
            .ping()
            .await
            .err()
            .map(|e| ("ephemeral store", e.to_string())),
    };
    match failure {
        None => Json(serde_json::json!({"status": "ok"})).into_response(),
        Some((what, e)) => {
            tracing::error!(error = %e, "readiness: {what} ping failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "failing": what})),
            )
                .into_response()
        }
    }
}

// ---- extractors -------------------------------------------------------------------------

/// The request body, read up to [`BODY_LIMIT`] (larger: 413 in the JSON error shape).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Bytes::from_request(req, state).await {
            Ok(b) => Ok(Self(b)),
            Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(Error::PayloadTooLarge),
            Err(r) => Err(Error::bad_request("invalid_body", r.body_text())),
        }
    }
}

/// A JSON body: malformed JSON is `invalid_json`, a well-formed body of the wrong shape is
/// `invalid_request`, both 400. An empty body counts as `{}`. The `Content-Type` is not
/// checked (the origin check and SameSite cookies stop cross-site posts).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(text).map(Self).map_err(|e| {
            use serde_json::error::Category;
            let code = match e.classify() {
                Category::Data => "invalid_request",
                Category::Syntax | Category::Eof | Category::Io => "invalid_json",
            };
            Error::bad_request(code, format!("The request body is not valid: {e}."))
        })
    }
}

/// The value of cookie `name`.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"').to_owned())
}

/// The `User-Agent`, if any.
pub fn user_agent(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Records a failed ceremony in the audit trail with its precise (never shown) reason.
/// `user` is the account when it is known (a signed-in request).
pub async fn audit_failure(
    state: &AppState,
    ctx: &RequestContext,
    event: &str,
    user: Option<&[u8]>,
    err: &Error,
) {
    if matches!(err, Error::Unavailable(_)) {
        return; // the store is down: the log line is the record
    }
    let outcome = match err {
        Error::PolicyRefused { .. } => "refused",
        _ => "failure",
    };
    let actor = user.map_or_else(|| "anonymous".to_owned(), user_ref);
    let mut e = AuditEvent::new(event, actor, outcome);
    e.subject = user.map(user_ref);
    e.details =
        serde_json::json!({"code": err.internal_code(), "reason": err.to_string()}).to_string();
    state.audit.record(e, ctx).await;
}

/// Records a successful account action of the signed-in user.
pub async fn audit_success(
    state: &AppState,
    ctx: &RequestContext,
    event: &str,
    user: &[u8],
    credential_id: Option<&[u8]>,
    details: serde_json::Value,
) {
    let mut e = AuditEvent::new(event, user_ref(user), "success");
    e.subject = Some(user_ref(user));
    e.credential_id = credential_id.map(b64::encode);
    e.details = details.to_string();
    state.audit.record(e, ctx).await;
}

/// Where the request came from (for the audit trail): `Origin`, the client address and
/// `User-Agent`.
pub struct Ctx(pub RequestContext);

impl FromRequestParts<AppState> for Ctx {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.chars().take(256).collect::<String>())
        };
        // Behind a proxy the peer is the proxy: with `client_ip_header` set, the proxy's header
        // names the client (its last entry, the one the trusted proxy appended).
        let from_header = state.config.client_ip_header.as_deref().and_then(|h| {
            header(h).and_then(|v| v.rsplit(',').next().map(|a| a.trim().to_owned()))
        });
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0.ip().to_string());
        Ok(Self(RequestContext {
            origin: header("origin"),
            client_addr: from_header.filter(|a| !a.is_empty()).or(peer),
            user_agent: header("user-agent"),
        }))
    }
}

/// The signed-in session, if the request has a valid one.
pub struct MaybeSession(pub Option<CurrentSession>);

impl FromRequestParts<AppState> for MaybeSession {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => Ok(Self(state.sessions.authenticate(&token).await?)),
            None => Ok(Self(None)),
        }
    }
}

/// The hash of the session cookie the request carries, if it has the shape of one, without a
/// lookup: for a sign-in, which replaces whatever session the browser had (revoking a hash
/// that names no live session changes nothing), and so needs no query to find it.
pub struct SessionCookie(pub Option<[u8; 32]>);

impl FromRequestParts<AppState> for SessionCookie {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Error> {
        Ok(Self(cookie(&parts.headers, SESSION_COOKIE).and_then(
            |token| crate::services::sessions::token_hash(&token),
        )))
    }
}

/// A signed-in session; 401 `unauthenticated` without one.
pub struct SignedIn(pub CurrentSession);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        MaybeSession::from_request_parts(parts, state)
            .await?
            .0
            .map(Self)
            .ok_or(Error::Unauthenticated)
    }
}

// ---- cookies ----------------------------------------------------------------------------

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Secure when the origin is https.
pub fn set_cookie(
    state: &AppState,
    name: &str,
    value: &str,
    path: &str,
    max_age: i64,
) -> HeaderValue {
    let secure = if state.config.cookies_secure() {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    // Names and values are base64url or fixed ASCII, so this cannot fail; fall back to an
    // expired empty cookie rather than panic.
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Headers that set one or more cookies.
pub fn with_cookies(cookies: Vec<HeaderValue>) -> HeaderMap {
    let mut h = HeaderMap::new();
    for c in cookies {
        h.append(SET_COOKIE, c);
    }
    h
}
