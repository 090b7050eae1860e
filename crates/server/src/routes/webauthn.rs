//! `/api/webauthn/*`: registration, sign-in and the signed-in user's passkeys.

use super::{
    ApiJson, Ctx, MaybeSession, RawBody, SessionCookie, SignedIn, audit_failure, audit_success,
    cookie, set_cookie, with_cookies,
};
use crate::app::AppState;
use crate::error::Error;
use crate::metrics::CeremonyKind;
use crate::services::ceremonies::{CEREMONY_COOKIE, CHALLENGE_TTL};
use crate::services::limits::RegistrationBurst;
use crate::services::rfc3339;
use crate::services::sessions::SESSION_COOKIE;
use crate::store::{AuditEvent, Credential};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use passkeyd_webauthn::aaguid::{format_aaguid, name_for};
use passkeyd_webauthn::b64;
use passkeyd_webauthn::json::{
    PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Path of the ceremony cookie: only the ceremony endpoints need it.
const CEREMONY_PATH: &str = "/api/webauthn";

/// `POST /api/webauthn/register/start` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterStartRequest {
    /// Sign-up only: the new account's username (1-64 characters, stored lower-case).
    pub username: Option<String>,
    /// Sign-up only: the name to show (defaults to the username).
    pub display_name: Option<String>,
}

/// `POST /api/webauthn/register/finish` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegisterFinishResponse {
    /// Always true.
    pub success: bool,
    /// The new credential's id, base64url.
    pub credential_id: String,
}

/// `POST /api/webauthn/auth/start` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AuthStartRequest {
    /// Optional: the username to sign in as. Without it the ceremony is discoverable.
    pub username: Option<String>,
}

/// `POST /api/webauthn/auth/start` answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthStartResponse {
    /// `PublicKeyCredentialRequestOptionsJSON`, for `PublicKeyCredential.parseRequestOptionsFromJSON`.
    #[schema(value_type = Object)]
    pub options: PublicKeyCredentialRequestOptionsJSON,
    /// Send back as the top-level `challengeKey` member of the finish body.
    pub challenge_key: String,
}

/// An account as the pages show it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    /// The username.
    pub username: String,
    /// The display name.
    pub display_name: String,
}

/// `POST /api/webauthn/auth/finish` answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthFinishResponse {
    /// Always true.
    pub success: bool,
    /// The signed-in account.
    pub user: UserView,
}

/// A passkey as the account page shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// Credential id, base64url.
    pub id: String,
    /// The user's name for it.
    pub name: String,
    /// Authenticator model (AAGUID, hyphenated; all zeros when not disclosed).
    pub aaguid: String,
    /// The model's name when known.
    pub authenticator_name: Option<String>,
    /// BE: a synced (multi-device) passkey; false for a device-bound one.
    pub synced: bool,
    /// BS: currently backed up.
    pub backed_up: bool,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, null before first use.
    pub last_used_at: Option<String>,
    /// Transports reported at registration.
    pub transports: Vec<String>,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
}

impl From<&Credential> for CredentialView {
    fn from(c: &Credential) -> Self {
        Self {
            id: b64::encode(&c.id),
            name: c.name.clone(),
            aaguid: format_aaguid(c.aaguid),
            authenticator_name: name_for(&c.aaguid, None),
            synced: c.backup_eligible,
            backed_up: c.backup_state,
            created_at: rfc3339(c.created_at),
            last_used_at: c.last_used_at.map(rfc3339),
            transports: c.transports.clone(),
            status: c.status.as_str().to_owned(),
        }
    }
}

/// `PATCH /api/webauthn/credentials/{id}` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RenameRequest {
    /// The new name (1-64 characters).
    pub name: String,
}

fn ceremony_cookie(state: &AppState, key: &str) -> axum::http::HeaderValue {
    let ttl = i64::try_from(CHALLENGE_TTL.as_secs()).unwrap_or(300);
    set_cookie(state, CEREMONY_COOKIE, key, CEREMONY_PATH, ttl)
}

/// The pending-ceremony cookie (for other route modules).
pub(crate) fn ceremony_cookie_for(state: &AppState, key: &str) -> axum::http::HeaderValue {
    ceremony_cookie(state, key)
}

fn clear_ceremony_cookie(state: &AppState) -> axum::http::HeaderValue {
    set_cookie(state, CEREMONY_COOKIE, "", CEREMONY_PATH, 0)
}

fn session_cookie(state: &AppState, token: &str) -> axum::http::HeaderValue {
    set_cookie(
        state,
        SESSION_COOKIE,
        token,
        "/",
        state.sessions.absolute_secs(),
    )
}

fn credential_id(text: &str) -> Result<Vec<u8>, Error> {
    b64::decode(text)
        .map_err(|_| Error::bad_request("invalid_request", "The credential id is not base64url."))
}

/// Starts registering a passkey: signed out with `{"username","displayName"}` (sign-up),
/// signed in with `{}` (add a passkey). Returns the bare
/// `PublicKeyCredentialCreationOptionsJSON` and sets the `passkeyd_ceremony` cookie.
#[utoipa::path(post, path = "/api/webauthn/register/start", tag = "webauthn",
    request_body = RegisterStartRequest,
    responses(
        (status = 200, description = "PublicKeyCredentialCreationOptionsJSON (residentKey required, userVerification preferred, excludeCredentials = the user's passkeys)", body = Object),
        (status = 400, description = "Malformed body or username", body = super::ErrorBody),
        (status = 403, description = "Sign-up is closed", body = super::ErrorBody),
        (status = 409, description = "Username taken", body = super::ErrorBody),
    ))]
pub async fn register_start(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<RegisterStartRequest>,
) -> Result<(HeaderMap, Json<PublicKeyCredentialCreationOptionsJSON>), Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    state
        .limits
        .registration_allowed(ctx.client_addr.as_deref())
        .await?;
    let started = state
        .ceremonies
        .start_registration(
            current.as_ref(),
            req.username.as_deref(),
            req.display_name.as_deref(),
        )
        .await?;
    state.metrics.ceremony_started(CeremonyKind::Registration);
    Ok((
        with_cookies(vec![ceremony_cookie(&state, &started.key)]),
        Json(started.options),
    ))
}

/// Finishes registering: the body is the `RegistrationResponseJSON` (`credential.toJSON()`).
/// A sign-up also signs the new account in (`passkeyd_session` cookie).
#[utoipa::path(post, path = "/api/webauthn/register/finish", tag = "webauthn",
    request_body(content = Object, description = "RegistrationResponseJSON"),
    responses(
        (status = 200, description = "Registered", body = RegisterFinishResponse),
        (status = 400, description = "Verification failed (registration_failed) or no pending registration (ceremony_expired)", body = super::ErrorBody),
        (status = 409, description = "Username taken meanwhile, or credential already registered", body = super::ErrorBody),
    ))]
pub async fn register_finish(
    State(state): State<AppState>,
    MaybeSession(current): MaybeSession,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<impl IntoResponse, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let key = cookie(&headers, CEREMONY_COOKIE);
    let text = std::str::from_utf8(&body)
        .map_err(|_| Error::bad_request("invalid_json", "The request body is not UTF-8."))?;
    let done = state
        .ceremonies
        .finish_registration(current.as_ref(), key.as_deref(), text, &ctx)
        .await;
    state.metrics.ceremony(CeremonyKind::Registration, &done);
    if let Err(e) = &done {
        let event = if current.is_some() {
            "passkey_added"
        } else {
            "sign_up"
        };
        let user = current.as_ref().map(|c| c.user.handle.as_slice());
        audit_failure(&state, &ctx, event, user, e).await;
    }
    let done = done?;
    for burst in state.limits.registered(ctx.client_addr.as_deref()).await {
        let mut e = AuditEvent::new("anomaly", "system", "detected");
        e.details = serde_json::json!({
            "kind": burst.kind(),
            "action": match burst {
                RegistrationBurst::Address => "further registrations from this address refused for an hour",
                RegistrationBurst::Global => "alert",
            },
        })
        .to_string();
        tracing::warn!(kind = burst.kind(), "anomaly: registration burst");
        state.audit.record(e, &ctx).await;
    }
    let mut cookies = vec![clear_ceremony_cookie(&state)];
    if let Some(s) = &done.new_session {
        cookies.push(session_cookie(&state, &s.token));
    }
    Ok((
        with_cookies(cookies),
        Json(RegisterFinishResponse {
            success: true,
            credential_id: b64::encode(&done.credential.id),
        }),
    ))
}

/// Starts a sign-in: `{}` (discoverable, for passkey autofill or a "sign in with a passkey"
/// button) or `{"username"}`. Unknown usernames get plausible options too.
#[utoipa::path(post, path = "/api/webauthn/auth/start", tag = "webauthn",
    request_body = AuthStartRequest,
    responses(
        (status = 200, description = "Request options and the challenge key", body = AuthStartResponse),
        (status = 400, description = "Malformed body or username", body = super::ErrorBody),
    ))]
pub async fn auth_start(
    State(state): State<AppState>,
    Ctx(ctx): Ctx,
    ApiJson(req): ApiJson<AuthStartRequest>,
) -> Result<impl IntoResponse, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let started = state
        .ceremonies
        .start_authentication(req.username.as_deref())
        .await?;
    state.metrics.ceremony_started(CeremonyKind::Authentication);
    Ok((
        with_cookies(vec![ceremony_cookie(&state, &started.key)]),
        Json(AuthStartResponse {
            options: started.options,
            challenge_key: started.key,
        }),
    ))
}

/// Finishes a sign-in: the body is the `AuthenticationResponseJSON` plus a top-level
/// `challengeKey`. Every failure is the same 401 `authentication_failed`.
#[utoipa::path(post, path = "/api/webauthn/auth/finish", tag = "webauthn",
    request_body(content = Object, description = "AuthenticationResponseJSON with a top-level challengeKey"),
    responses(
        (status = 200, description = "Signed in; sets passkeyd_session", body = AuthFinishResponse),
        (status = 401, description = "Sign-in failed (any reason)", body = super::ErrorBody),
    ))]
pub async fn auth_finish(
    State(state): State<AppState>,
    SessionCookie(previous): SessionCookie,
    Ctx(ctx): Ctx,
    headers: HeaderMap,
    body: Result<RawBody, Error>,
) -> Result<impl IntoResponse, Error> {
    state.limits.address(ctx.client_addr.as_deref()).await?;
    let signed_in = match body {
        Ok(RawBody(body)) => {
            let key = cookie(&headers, CEREMONY_COOKIE);
            state
                .ceremonies
                .finish_authentication(previous, key.as_deref(), &body, &ctx)
                .await
        }
        Err(Error::PayloadTooLarge) => Err(Error::PayloadTooLarge),
        Err(other) => Err(Error::auth_failed("invalid_body", other.to_string())),
    };
    state
        .metrics
        .ceremony(CeremonyKind::Authentication, &signed_in);
    if let Err(e) = &signed_in {
        audit_failure(&state, &ctx, "sign_in", None, e).await;
    }
    let signed_in = signed_in?;
    Ok((
        with_cookies(vec![
            clear_ceremony_cookie(&state),
            session_cookie(&state, &signed_in.new_session.token),
        ]),
        Json(AuthFinishResponse {
            success: true,
            user: UserView {
                username: signed_in.user.username,
                display_name: signed_in.user.display_name,
            },
        }),
    ))
}

/// The signed-in user's passkeys, oldest first.
#[utoipa::path(get, path = "/api/webauthn/credentials", tag = "credentials",
    responses(
        (status = 200, description = "The passkeys", body = [CredentialView]),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
    ))]
pub async fn list_credentials(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
) -> Result<Json<Vec<CredentialView>>, Error> {
    let list = state.credentials.list(&current).await?;
    Ok(Json(list.iter().map(CredentialView::from).collect()))
}

/// Renames one of the signed-in user's passkeys.
#[utoipa::path(patch, path = "/api/webauthn/credentials/{id}", tag = "credentials",
    params(("id" = String, Path, description = "Credential id, base64url")),
    request_body = RenameRequest,
    responses(
        (status = 200, description = "The renamed passkey", body = CredentialView),
        (status = 400, description = "Bad name or id", body = super::ErrorBody),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 404, description = "No such passkey", body = super::ErrorBody),
    ))]
pub async fn rename_credential(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenameRequest>,
) -> Result<Json<CredentialView>, Error> {
    let id = credential_id(&id)?;
    let c = state.credentials.rename(&current, &id, &req.name).await?;
    audit_success(
        &state,
        &ctx,
        "passkey_renamed",
        &current.user.handle,
        Some(&id),
        serde_json::json!({"name": c.name}),
    )
    .await;
    Ok(Json(CredentialView::from(&c)))
}

/// Deletes one of the signed-in user's passkeys; 409 `last_passkey` for the last one.
#[utoipa::path(delete, path = "/api/webauthn/credentials/{id}", tag = "credentials",
    params(("id" = String, Path, description = "Credential id, base64url")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = super::ErrorBody),
        (status = 404, description = "No such passkey", body = super::ErrorBody),
        (status = 409, description = "The last passkey cannot be deleted", body = super::ErrorBody),
    ))]
pub async fn delete_credential(
    State(state): State<AppState>,
    SignedIn(current): SignedIn,
    Ctx(ctx): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    let id = credential_id(&id)?;
    state.credentials.delete(&current, &id).await?;
    audit_success(
        &state,
        &ctx,
        "passkey_removed",
        &current.user.handle,
        Some(&id),
        serde_json::json!({}),
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
