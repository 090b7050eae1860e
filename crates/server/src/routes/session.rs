//! `/api/session` (the current session) and `/api/sessions` (all of the account's sessions).

use super::stepup::ElevationView;
use super::webauthn::UserView;
use super::{
    ApiJson, Ctx, MaybeSession, SignedIn, audit_success, cookie, set_cookie, with_cookies,
};
use crate::app::AppState;
use crate::error::Error;
use crate::services::behavior::{ConfidenceView, DEVICE_COOKIE, KeyTiming, PointerSample};
use crate::services::sessions::SESSION_COOKIE;
use crate::services::{random_bytes, rfc3339};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use passkeyd_webauthn::b64;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /api/session` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionInfo {
    /// The signed-in account.
    pub user: UserView,
    /// The passkey used to sign in, base64url.
    pub credential_id: String,
    /// Whether the sign-in had user verification (biometric or PIN).
    pub user_verified: bool,
    /// RFC 3339.
    pub authenticated_at: String,
    /// RFC 3339: when the session ends without further requests (idle or absolute limit).
    pub expires_at: String,
    /// The sign-in's assurance.
    pub assurance: AssuranceView,
    /// Live step-up elevations of this session.
    pub elevations: Vec<ElevationView>,
    /// Continuous authentication: how sure passkeyd still is (absent when turned off).
    pub confidence: Option<ConfidenceView>,
    /// The account's last recovery, while its cooling-off period lasts: other sessions show a
    /// notice with a way to cancel it (`POST /api/recovery/cancel`).
    pub recovery: Option<RecoveryNotice>,
}

/// A recent account recovery.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryNotice {
    /// RFC 3339: when the new passkey was enrolled through the recovery link.
    pub at: String,
    /// The passkey enrolled through it, base64url.
    pub credential_id: Option<String>,
    /// Whether this session is the recovered one (it cannot cancel).
    pub this_session: bool,
    /// RFC 3339: until when sensitive actions are blocked.
    pub cooling_off_until: String,
}

/// `POST /api/session/signals` body: one batch of typing and pointer movement.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignalsRequest {
    /// Key events as the browser saw them (at most 1000). Used to update the account's typing
    /// template and the session's confidence; never stored.
    #[serde(default)]
    pub keystrokes: Vec<KeyTiming>,
    /// Pointer events as the browser saw them (at most 1000), in time order. Used to update
    /// the account's mouse template and the session's confidence; never stored.
    #[serde(default)]
    pub mouse: Vec<PointerSample>,
}

/// How sure passkeyd is of who signed in, and why.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssuranceView {
    /// NIST SP 800-63B authenticator assurance level, 1-3.
    pub aal: u8,
    /// The highest policy tier the sign-in met.
    pub tier: Option<String>,
    /// Reason codes: `user_verified` / `user_not_verified`, `device_bound` / `synced`,
    /// `attested` / `not_attested`, `tier:NAME`, `aalN`.
    pub reasons: Vec<String>,
    /// Seconds since the sign-in ceremony.
    pub age_seconds: i64,
}

/// One entry of `GET /api/sessions`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionView {
    /// Public id, for `DELETE /api/sessions/{id}`.
    pub id: String,
    /// Whether this is the session making the request.
    pub current: bool,
    /// The passkey used to sign in, base64url.
    pub credential_id: String,
    /// Whether the sign-in had user verification.
    pub user_verified: bool,
    /// RFC 3339.
    pub authenticated_at: String,
    /// RFC 3339.
    pub last_seen_at: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The browser's User-Agent at sign-in.
    pub user_agent: Option<String>,
}

/// The current session.
#[utoipa::path(get, path = "/api/session", tag = "session",
    responses(
        (status = 200, description = "Signed in", body = SessionInfo),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
    ))]
pub async fn current_session(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
) -> Result<Json<SessionInfo>, Error> {
    let t = crate::services::now();
    let elevations = state.store.elevations(&cur.session.id_hash, t).await?;
    let recovery = match state.store.last_recovery(&cur.user.handle).await? {
        Some(link) => link.used_at.and_then(|used| {
            let until = used.saturating_add(
                i64::try_from(state.config.policy.recovery_cooling_off_secs).unwrap_or(i64::MAX),
            );
            (t < until).then(|| RecoveryNotice {
                at: rfc3339(used),
                credential_id: link.credential_id.as_deref().map(b64::encode),
                this_session: link.credential_id.as_deref()
                    == Some(cur.session.credential_id.as_slice()),
                cooling_off_until: rfc3339(until),
            })
        }),
        None => None,
    };
    let confidence = if state.behavior.enabled() {
        Some(state.behavior.confidence(&cur.session).await?)
    } else {
        None
    };
    Ok(Json(SessionInfo {
        user: UserView {
            username: cur.user.username.clone(),
            display_name: cur.user.display_name.clone(),
        },
        credential_id: b64::encode(&cur.session.credential_id),
        user_verified: cur.session.user_verified,
        authenticated_at: rfc3339(cur.session.authenticated_at),
        expires_at: rfc3339(state.sessions.expires_at(&cur.session)),
        assurance: AssuranceView {
            aal: cur.session.aal,
            tier: cur.session.tier.clone(),
            reasons: cur.session.assurance_reasons.clone(),
            age_seconds: (t - cur.session.authenticated_at).max(0),
        },
        elevations: elevations.iter().map(ElevationView::from).collect(),
        confidence,
        recovery,
    }))
}

/// Sends a batch of typing (key, keydown and keyup times) from the signed-in page: the account's
/// template learns from its first batches, later ones move the session's confidence. Answers
/// the confidence with its decision: `step_up_required` asks the page for a passkey step-up
/// (`POST /api/webauthn/stepup/start`, any action), `suspended` ended the session.
#[utoipa::path(post, path = "/api/session/signals", tag = "session",
    request_body = SignalsRequest,
    responses(
        (status = 200, description = "The session's confidence after the batch", body = ConfidenceView),
        (status = 400, description = "Malformed batch", body = super::ErrorBody),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 404, description = "Continuous authentication is turned off", body = super::ErrorBody),
    ))]
pub async fn signals(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignalsRequest>,
) -> Result<impl IntoResponse, Error> {
    // The device cookie: a random id the browser keeps, so that a session cookie replayed
    // from another browser shows up as `new_device`. Anything malformed is replaced.
    let device = cookie(&headers, DEVICE_COOKIE).filter(|v| {
        (16..=64).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    let (device, set) = match device {
        Some(d) => (d, None),
        None => {
            let d = b64::encode(random_bytes::<16>()?);
            let c = set_cookie(&state, DEVICE_COOKIE, &d, "/", DEVICE_COOKIE_MAX_AGE);
            (d, Some(c))
        }
    };
    let view = state
        .behavior
        .observe(&cur, &req.keystrokes, &req.mouse, Some(&device), &ctx)
        .await?;
    Ok((with_cookies(set.into_iter().collect()), Json(view)))
}

/// How long the device cookie lives: 400 days, the longest browsers keep a cookie.
const DEVICE_COOKIE_MAX_AGE: i64 = 400 * 24 * 3600;

/// Signs out: revokes the current session (if any) and clears the cookie. Always 204.
#[utoipa::path(delete, path = "/api/session", tag = "session",
    responses((status = 204, description = "Signed out")))]
pub async fn sign_out(
    State(state): State<AppState>,
    MaybeSession(cur): MaybeSession,
    Ctx(ctx): Ctx,
) -> Result<impl IntoResponse, Error> {
    if let Some(cur) = cur {
        state.sessions.sign_out(&cur).await?;
        audit_success(
            &state,
            &ctx,
            "sign_out",
            &cur.user.handle,
            Some(&cur.session.credential_id),
            serde_json::json!({"session": cur.session.public_id}),
        )
        .await;
    }
    Ok((
        StatusCode::NO_CONTENT,
        with_cookies(vec![set_cookie(&state, SESSION_COOKIE, "", "/", 0)]),
    ))
}

/// The account's live sessions, newest first.
#[utoipa::path(get, path = "/api/sessions", tag = "session",
    responses(
        (status = 200, description = "Sessions", body = [SessionView]),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
    ))]
pub async fn list_sessions(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
) -> Result<Json<Vec<SessionView>>, Error> {
    let list = state.sessions.list(&cur).await?;
    Ok(Json(
        list.iter()
            .map(|s| SessionView {
                id: s.public_id.clone(),
                current: s.id_hash == cur.session.id_hash,
                credential_id: b64::encode(&s.credential_id),
                user_verified: s.user_verified,
                authenticated_at: rfc3339(s.authenticated_at),
                last_seen_at: rfc3339(s.last_seen_at),
                expires_at: rfc3339(state.sessions.expires_at(s)),
                user_agent: s.user_agent.clone(),
            })
            .collect(),
    ))
}

/// Revokes one of the account's sessions (another device, or this one).
#[utoipa::path(delete, path = "/api/sessions/{id}", tag = "session",
    params(("id" = String, Path, description = "The session's public id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 404, description = "No such live session", body = super::ErrorBody),
    ))]
pub async fn revoke_session(
    State(state): State<AppState>,
    SignedIn(cur): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    state.sessions.revoke(&cur, &id).await?;
    audit_success(
        &state,
        &ctx,
        "session_revoked",
        &cur.user.handle,
        None,
        serde_json::json!({"session": id, "by_session": cur.session.public_id}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
