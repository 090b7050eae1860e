//! Tokens for other applications: `POST /api/token`, `GET /.well-known/jwks.json`,
//! `POST /api/session/introspect` (see `docs/tokens.md` for the token format).

use super::{ApiJson, SignedIn};
use crate::app::AppState;
use crate::error::Error;
use crate::services::rfc3339;
use crate::services::tokens::TOKEN_LIFETIME_SECS;
use axum::Json;
use axum::extract::State;
use axum::http::HeaderValue;
use axum::http::header::CACHE_CONTROL;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /api/token` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct TokenRequest {
    /// The application the token is for; one of `token_audiences` (default: the first).
    pub audience: Option<String>,
}

/// `POST /api/token` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    /// The JWT (compact JWS).
    pub token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// RFC 3339.
    pub expires_at: String,
}

/// `POST /api/session/introspect` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct IntrospectRequest {
    /// The JWT to check.
    pub token: String,
}

/// A short-lived JWT for the signed-in session (`sub`, `sid`, `auth_time`, `amr`, `acr`).
#[utoipa::path(post, path = "/api/token", tag = "tokens",
    request_body = TokenRequest,
    responses(
        (status = 200, description = "A token", body = TokenResponse),
        (status = 400, description = "Audience not configured", body = super::ErrorBody),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
    ))]
pub async fn issue_token(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    ApiJson(req): ApiJson<TokenRequest>,
) -> Result<Json<TokenResponse>, Error> {
    let issued = state
        .tokens
        .issue(&current, req.audience.as_deref())
        .await?;
    Ok(Json(TokenResponse {
        token: issued.token,
        token_type: "Bearer".into(),
        expires_in: TOKEN_LIFETIME_SECS,
        expires_at: rfc3339(i64::try_from(issued.claims.exp).unwrap_or(i64::MAX)),
    }))
}

/// The public keys tokens are signed with.
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "tokens",
    responses((status = 200, description = "JWK Set", body = Object)))]
pub async fn jwks(State(state): State<AppState>) -> Response {
    if let Err(e) = state.tokens.sync(false).await {
        // The keys held are still valid to publish; the next request reads again.
        tracing::warn!(error = %e, "jwks: cannot re-read the shared token keys");
    }
    let mut r = Json(state.tokens.jwks()).into_response();
    r.headers_mut().insert(
        CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    r
}

/// Whether a token is valid and its session still live: `{"active": true, ...claims}` or
/// `{"active": false}` (RFC 7662 style; the reason is logged).
#[utoipa::path(post, path = "/api/session/introspect", tag = "tokens",
    request_body = IntrospectRequest,
    responses((status = 200, description = "Introspection result", body = Object)))]
pub async fn introspect(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<IntrospectRequest>,
) -> Result<Json<serde_json::Value>, Error> {
    Ok(Json(match state.tokens.introspect(&req.token).await? {
        Some(claims) => {
            let mut v = serde_json::to_value(&claims)
                .map_err(|e| Error::Internal(format!("claims: {e}")))?;
            if let Some(o) = v.as_object_mut() {
                o.insert("active".into(), serde_json::Value::Bool(true));
            }
            v
        }
        None => serde_json::json!({"active": false}),
    }))
}
