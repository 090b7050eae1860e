//! Step-up (`/api/webauthn/stepup/...`) and the built-in sensitive action that needs one,
//! `DELETE /api/account`.

use super::webauthn::AuthStartResponse;
use super::{
    ApiJson, Ctx, RawBody, SignedIn, audit_failure, audit_success, set_cookie, with_cookies,
};
use crate::app::AppState;
use crate::error::Error;
use crate::services::rfc3339;
use crate::services::sessions::SESSION_COOKIE;
use crate::store::Elevation;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The action `DELETE /api/account` needs an elevation for.
pub const DELETE_ACCOUNT_ACTION: &str = "delete_account";
/// The level it needs.
pub const DELETE_ACCOUNT_LEVEL: u8 = 2;

/// `POST /api/webauthn/stepup/start` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StepUpStartRequest {
    /// What the elevation will allow: 1-64 characters of `a-z 0-9 _ . : -` (e.g.
    /// `delete_account`, or an application's own `payments:send`).
    pub action: String,
    /// The NIST SP 800-63B assurance level required, 1-3 (default 2).
    pub level: Option<u8>,
    /// How long the elevation lasts, in seconds (default 300; at most the policy's maximum).
    pub max_age: Option<u64>,
}

/// An elevation as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElevationView {
    /// The action it allows.
    pub action: String,
    /// The level the step-up reached.
    pub aal: u8,
    /// RFC 3339.
    pub granted_at: String,
    /// RFC 3339.
    pub expires_at: String,
}

impl From<&Elevation> for ElevationView {
    fn from(e: &Elevation) -> Self {
        Self {
            action: e.action.clone(),
            aal: e.aal,
            granted_at: rfc3339(e.granted_at),
            expires_at: rfc3339(e.expires_at),
        }
    }
}

/// `POST /api/webauthn/stepup/finish` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct StepUpFinishResponse {
    /// Always true (failures are errors).
    pub success: bool,
    /// The elevation granted to this session.
    pub elevation: ElevationView,
}

/// Starts a step-up for the signed-in session: a ceremony that requires user verification
/// and offers only the account's passkeys that can reach `level`.
#[utoipa::path(post, path = "/api/webauthn/stepup/start", tag = "stepup",
    request_body = StepUpStartRequest,
    responses(
        (status = 200, description = "Request options and the challenge key", body = AuthStartResponse),
        (status = 400, description = "Bad action, level or max_age", body = super::ErrorBody),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 403, description = "No passkey of the account can reach the level (step_up_impossible)", body = super::ErrorBody),
    ))]
pub async fn stepup_start(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<StepUpStartRequest>,
) -> Result<Json<AuthStartResponse>, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let started = state
        .ceremonies
        .start_step_up(&cur, &req.action, req.level.unwrap_or(2), req.max_age)
        .await?;
    Ok(Json(AuthStartResponse {
        options: started.options,
        challenge_key: started.key,
    }))
}

/// Finishes a step-up: the body is the `AuthenticationResponseJSON` plus `challengeKey`. The
/// elevation is bound to this session and expires by itself. Every failure is the same 401.
#[utoipa::path(post, path = "/api/webauthn/stepup/finish", tag = "stepup",
    request_body(content = Object, description = "AuthenticationResponseJSON with a top-level challengeKey"),
    responses(
        (status = 200, description = "Elevation granted", body = StepUpFinishResponse),
        (status = 401, description = "Not signed in, or the step-up failed (any reason)", body = super::ErrorBody),
    ))]
pub async fn stepup_finish(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
    body: Result<RawBody, Error>,
) -> Result<Json<StepUpFinishResponse>, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let done = match body {
        Ok(RawBody(b)) => state.ceremonies.finish_step_up(&cur, &b, &ctx).await,
        Err(Error::PayloadTooLarge) => Err(Error::PayloadTooLarge),
        Err(other) => Err(Error::auth_failed("invalid_body", other.to_string())),
    };
    if let Err(e) = &done {
        audit_failure(&state, &ctx, "step_up", Some(&cur.user.handle), e).await;
    }
    let done = done?;
    if state.behavior.enabled() {
        state
            .behavior
            .restore(&cur, done.elevation.aal, &ctx)
            .await?;
    }
    tracing::info!(
        action = %done.elevation.action,
        aal = done.elevation.aal,
        expires_at = done.elevation.expires_at,
        "step-up granted"
    );
    Ok(Json(StepUpFinishResponse {
        success: true,
        elevation: ElevationView::from(&done.elevation),
    }))
}

/// Deletes the signed-in account with its passkeys and sessions. A sensitive action: it needs
/// a live `delete_account` elevation at level 2 (`403 step_up_required` otherwise, naming the
/// action and level to step up for).
#[utoipa::path(delete, path = "/api/account", tag = "stepup",
    responses(
        (status = 204, description = "The account is gone; the session cookie is cleared"),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 403, description = "A fresh step-up is needed (step_up_required)", body = super::ErrorBody),
    ))]
pub async fn delete_account(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
) -> Result<impl IntoResponse, Error> {
    let elevation = state
        .ceremonies
        .require_elevation(&cur, DELETE_ACCOUNT_ACTION, DELETE_ACCOUNT_LEVEL)
        .await?;
    state.store.delete_user(&cur.user.handle).await?;
    audit_success(
        &state,
        &ctx,
        "account_deleted",
        &cur.user.handle,
        Some(&elevation.credential_id),
        serde_json::json!({"username": cur.user.username, "elevation_aal": elevation.aal}),
    )
    .await;
    tracing::info!("account deleted by its owner after a step-up");
    Ok((
        StatusCode::NO_CONTENT,
        with_cookies(vec![set_cookie(&state, SESSION_COOKIE, "", "/", 0)]),
    ))
}
