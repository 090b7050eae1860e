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
use crate::store::{AuditEvent, Elevation};
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

/// `POST /api/recovery/start` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryStartRequest {
    /// The token from the recovery link.
    pub token: String,
}

/// Starts enrolling a new passkey through a recovery link: answers creation options (the
/// ceremony is bound to the link and the browser by a cookie); finish with
/// `POST /api/webauthn/register/finish`. The session it creates starts at the lowest assurance
/// level, and sensitive actions stay blocked during the cooling-off period.
#[utoipa::path(post, path = "/api/recovery/start", tag = "recovery",
    request_body = RecoveryStartRequest,
    responses(
        (status = 200, description = "PublicKeyCredentialCreationOptionsJSON", body = Object),
        (status = 400, description = "The link is unknown, used, cancelled or expired (recovery_link_invalid)", body = super::ErrorBody),
    ))]
pub async fn recovery_start(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<RecoveryStartRequest>,
) -> Result<impl IntoResponse, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let started = state.ceremonies.start_recovery(&req.token).await;
    if let Err(e) = &started {
        audit_failure(&state, &ctx, "recovery_used", None, e).await;
    }
    let started = started?;
    Ok((
        with_cookies(vec![super::webauthn::ceremony_cookie_for(
            &state,
            &started.key,
        )]),
        Json(started.options),
    ))
}

/// `POST /api/recovery/cancel-token` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CancelTokenRequest {
    /// The token of the recovery notice (webhook `cancel.body.cancelToken`, or the fragment of
    /// its `cancel_url`).
    pub cancel_token: String,
}

/// Cancels a recovery with the token its webhook notice carried: revokes the passkey enrolled
/// through it and its sessions. No session needed (the owner may have none left).
#[utoipa::path(post, path = "/api/recovery/cancel-token", tag = "recovery",
    request_body = CancelTokenRequest,
    responses(
        (status = 204, description = "Cancelled"),
        (status = 404, description = "No such recovery, a bad token, or already cancelled", body = super::ErrorBody),
    ))]
pub async fn recovery_cancel_token(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<CancelTokenRequest>,
) -> Result<StatusCode, Error> {
    let Some(hash) = state.ceremonies.recovery_cancel_token(&req.cancel_token) else {
        return Err(Error::NotFound("recovery"));
    };
    let Some(link) = state.store.recovery_link(&hash).await? else {
        return Err(Error::NotFound("recovery"));
    };
    if link.credential_id.is_none() {
        return Err(Error::NotFound("recovery"));
    }
    let who = crate::services::audit::user_ref(&link.user_handle);
    cancel_recovery(
        &state,
        &ctx,
        &link,
        who,
        serde_json::json!({"by": "webhook_cancel_token"}),
    )
    .await
}

/// Cancels a used recovery link (its passkey and that passkey's sessions revoked) with its
/// audit event; 404 when it was cancelled already.
async fn cancel_recovery(
    state: &AppState,
    ctx: &crate::services::audit::RequestContext,
    link: &crate::store::RecoveryLink,
    actor: String,
    details: serde_json::Value,
) -> Result<StatusCode, Error> {
    let mut e = AuditEvent::new("recovery_cancelled", actor, "success");
    e.subject = Some(crate::services::audit::user_ref(&link.user_handle));
    e.credential_id = link
        .credential_id
        .as_deref()
        .map(passkeyd_webauthn::b64::encode);
    e.details = details.to_string();
    let e = ctx.stamp(e);
    if !state
        .store
        .cancel_recovery(&link.token_hash, crate::services::now(), &e)
        .await?
    {
        return Err(Error::NotFound("recovery"));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels the account's last recovery from another session: revokes the passkey enrolled
/// through it and its sessions. For the owner who gets the notice and did not ask for it.
#[utoipa::path(post, path = "/api/recovery/cancel", tag = "recovery",
    responses(
        (status = 204, description = "Cancelled"),
        (status = 404, description = "No recovery to cancel (or this is the recovered session)", body = super::ErrorBody),
    ))]
pub async fn recovery_cancel(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
) -> Result<StatusCode, Error> {
    let Some(link) = state.store.last_recovery(&cur.user.handle).await? else {
        return Err(Error::NotFound("recovery"));
    };
    if link.credential_id.as_deref() == Some(cur.session.credential_id.as_slice()) {
        // The recovered session cannot cancel itself (that would be a no-op for an attacker).
        return Err(Error::NotFound("recovery"));
    }
    cancel_recovery(
        &state,
        &ctx,
        &link,
        crate::services::audit::user_ref(&cur.user.handle),
        serde_json::json!({"by_session": cur.session.public_id}),
    )
    .await
}
