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
    /// The confidence (0-100) the caller needs for what it is about to do; default the trust
    /// model's allow threshold. The answer's `decision` compares the session's current
    /// confidence with it.
    pub min_confidence: Option<f64>,
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
    if let Some(m) = req.min_confidence
        && !(0.0..=100.0).contains(&m)
    {
        return Err(Error::bad_request(
            "invalid_request",
            "min_confidence: a number from 0 to 100",
        ));
    }
    Ok(Json(match state.tokens.introspect(&req.token).await? {
        Some(claims) => {
            let mut v = serde_json::to_value(&claims)
                .map_err(|e| Error::Internal(format!("claims: {e}")))?;
            let decision = confidence_decision(&state, &claims, req.min_confidence).await?;
            if let Some(o) = v.as_object_mut() {
                o.insert("active".into(), serde_json::Value::Bool(true));
                if let Some((decision, view)) = decision {
                    o.insert("decision".into(), decision.into());
                    o.insert("reasons".into(), view.reasons.clone().into());
                    o.insert(
                        "current_confidence".into(),
                        serde_json::to_value(&view)
                            .map_err(|e| Error::Internal(format!("confidence: {e}")))?,
                    );
                }
            }
            v
        }
        None => serde_json::json!({"active": false}),
    }))
}

/// The session's confidence and the decision for `min`: `allow`, `step_up` or `deny`.
async fn confidence_decision(
    state: &AppState,
    claims: &crate::tokens::Claims,
    min: Option<f64>,
) -> Result<Option<(&'static str, crate::services::behavior::ConfidenceView)>, Error> {
    if !state.behavior.enabled() {
        return Ok(None);
    }
    let Ok(handle) = passkeyd_webauthn::b64::decode(&claims.sub) else {
        return Ok(None);
    };
    let sessions = state
        .store
        .sessions_for_user(&handle, crate::services::now())
        .await?;
    let Some(session) = sessions.iter().find(|s| s.public_id == claims.sid) else {
        return Ok(None);
    };
    let view = state.behavior.confidence(session).await?;
    let decision = crate::services::behavior::introspection_decision(
        &view,
        min,
        &state.behavior.settings().trust,
    );
    Ok(Some((decision, view)))
}
