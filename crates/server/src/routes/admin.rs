//! The admin API, `/admin/api/...`: bearer token only (`admin_token`), never the session cookie.
//! Off (404) when no token is configured.

use super::ApiJson;
use super::webauthn::CredentialView;
use crate::app::AppState;
use crate::error::Error;
use crate::services::admin::admin_ref;
use crate::services::rfc3339;
use crate::store::{AuditEvent, CredentialStatus, ProofingRecord};
use axum::Json;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use passkeyd_webauthn::b64;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// An authenticated administrator: the actor written to the audit trail.
pub struct AdminAuth(pub String);

impl FromRequestParts<AppState> for AdminAuth {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Some(expected) = state.config.admin_token.as_deref() else {
            return Err(Error::NotFound("admin API (no admin_token configured)"));
        };
        let presented = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        // Compare digests in constant time, so neither the length nor a prefix leaks.
        let digest = |s: &str| {
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, s.as_bytes())
                .as_ref()
                .to_vec()
        };
        if presented.is_empty()
            || aws_lc_rs::constant_time::verify_slices_are_equal(
                &digest(presented),
                &digest(expected),
            )
            .is_err()
        {
            return Err(Error::AdminUnauthorized);
        }
        let name = parts
            .headers
            .get("x-admin-name")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("token");
        Ok(Self(admin_ref(name)))
    }
}

/// An account as the admin API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserView {
    /// Username.
    pub username: String,
    /// Display name.
    pub display_name: String,
    /// User handle, base64url.
    pub handle: String,
    /// The tier set for the account, if any.
    pub required_tier: Option<String>,
    /// The account's group, if any.
    pub group: Option<String>,
    /// The tier that applies (own, group's or default).
    pub effective_tier: String,
    /// RFC 3339.
    pub created_at: String,
}

fn user_view(state: &AppState, u: &crate::store::User) -> AdminUserView {
    AdminUserView {
        username: u.username.clone(),
        display_name: u.display_name.clone(),
        handle: b64::encode(&u.handle),
        required_tier: u.required_tier.clone(),
        group: u.group.clone(),
        effective_tier: state
            .config
            .policy
            .required_tier(u.required_tier.as_deref(), u.group.as_deref())
            .name
            .clone(),
        created_at: rfc3339(u.created_at),
    }
}

/// `GET /admin/api/users` query.
#[derive(Debug, Deserialize)]
pub struct UsersQuery {
    /// Part of a username.
    #[serde(default)]
    pub q: String,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
}

/// Accounts whose username contains `q`.
#[utoipa::path(get, path = "/admin/api/users", tag = "admin",
    params(("q" = Option<String>, Query, description = "Part of a username"), ("limit" = Option<i64>, Query, description = "At most this many")),
    responses((status = 200, description = "Accounts", body = [AdminUserView]), (status = 401, description = "Bad or missing bearer token", body = super::ErrorBody)))]
pub async fn list_users(
    State(state): State<AppState>,
    AdminAuth(_admin): AdminAuth,
    Query(q): Query<UsersQuery>,
) -> Result<Json<Vec<AdminUserView>>, Error> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let users = state.store.list_users(q.q.trim(), limit).await?;
    Ok(Json(users.iter().map(|u| user_view(&state, u)).collect()))
}

/// An account with its passkeys, live sessions and proofing records.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminUserDetail {
    /// The account.
    pub user: AdminUserView,
    /// Its passkeys.
    pub credentials: Vec<CredentialView>,
    /// Its live sessions: public id, sign-in time, assurance level.
    #[schema(value_type = Vec<Object>)]
    pub sessions: Vec<serde_json::Value>,
    /// Its identity proofing records.
    #[schema(value_type = Vec<Object>)]
    pub proofing: Vec<ProofingRecord>,
}

/// One account in detail.
#[utoipa::path(get, path = "/admin/api/users/{username}", tag = "admin",
    params(("username" = String, Path, description = "Username")),
    responses((status = 200, description = "The account", body = AdminUserDetail), (status = 404, description = "No such user", body = super::ErrorBody)))]
pub async fn user_detail(
    State(state): State<AppState>,
    AdminAuth(_admin): AdminAuth,
    Path(username): Path<String>,
) -> Result<Json<AdminUserDetail>, Error> {
    let user = state.admin.user(&username).await?;
    let credentials = state.store.credentials_for_user(&user.handle).await?;
    let sessions = state
        .store
        .sessions_for_user(&user.handle, crate::services::now())
        .await?;
    let proofing = state.store.proofing_records(&user.handle).await?;
    Ok(Json(AdminUserDetail {
        user: user_view(&state, &user),
        credentials: credentials.iter().map(CredentialView::from).collect(),
        sessions: sessions
            .iter()
            .map(|s| {
                serde_json::json!({
                    "id": s.public_id,
                    "authenticatedAt": rfc3339(s.authenticated_at),
                    "lastSeenAt": rfc3339(s.last_seen_at),
                    "aal": s.aal,
                    "userAgent": s.user_agent,
                })
            })
            .collect(),
        proofing,
    }))
}

/// `PATCH /admin/api/users/{username}` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPolicyRequest {
    /// The tier the account requires (`null`: its group's or the default).
    pub required_tier: Option<String>,
    /// The account's group (`null`: none).
    pub group: Option<String>,
}

/// Sets the tier an account requires and its group.
#[utoipa::path(patch, path = "/admin/api/users/{username}", tag = "admin",
    params(("username" = String, Path, description = "Username")),
    request_body = UserPolicyRequest,
    responses((status = 200, description = "The account", body = AdminUserView), (status = 400, description = "Unknown tier", body = super::ErrorBody)))]
pub async fn set_user_policy(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<UserPolicyRequest>,
) -> Result<Json<AdminUserView>, Error> {
    let user = state
        .admin
        .set_user_policy(
            &actor,
            &username,
            req.required_tier.as_deref(),
            req.group.as_deref(),
        )
        .await?;
    Ok(Json(user_view(&state, &user)))
}

/// `POST /admin/api/credentials/{id}/status` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialStatusRequest {
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    /// Why (kept with the passkey and in the audit trail).
    #[serde(default)]
    pub reason: String,
}

/// Suspends, revokes or reactivates a passkey.
#[utoipa::path(post, path = "/admin/api/credentials/{id}/status", tag = "admin",
    params(("id" = String, Path, description = "Credential id, base64url")),
    request_body = CredentialStatusRequest,
    responses((status = 204, description = "Done"), (status = 404, description = "No such passkey", body = super::ErrorBody)))]
pub async fn set_credential_status(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<CredentialStatusRequest>,
) -> Result<StatusCode, Error> {
    let id =
        b64::decode(&id).map_err(|_| Error::bad_request("invalid_request", "id: not base64url"))?;
    let status = match req.status.as_str() {
        "active" => CredentialStatus::Active,
        "suspended" => CredentialStatus::Suspended,
        "revoked" => CredentialStatus::Revoked,
        _ => {
            return Err(Error::bad_request(
                "invalid_request",
                "status: active, suspended or revoked",
            ));
        }
    };
    state
        .admin
        .set_credential_status(&actor, &id, status, &req.reason)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Revokes one of an account's sessions.
#[utoipa::path(delete, path = "/admin/api/users/{username}/sessions/{id}", tag = "admin",
    params(("username" = String, Path, description = "Username"), ("id" = String, Path, description = "Session public id")),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such live session", body = super::ErrorBody)))]
pub async fn revoke_session(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path((username, id)): Path<(String, String)>,
) -> Result<StatusCode, Error> {
    state.admin.revoke_session(&actor, &username, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /admin/api/users/{username}/proofing` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofingRequest {
    /// NIST SP 800-63A identity assurance level, 1-3.
    pub ial: u8,
    /// How identity was established (e.g. `in_person_document_check`).
    pub method: String,
    /// Where the evidence is kept (a reference, never the document).
    pub evidence_ref: String,
    /// Who verified.
    pub verified_by: String,
}

/// Records an identity proofing of an account.
#[utoipa::path(post, path = "/admin/api/users/{username}/proofing", tag = "admin",
    params(("username" = String, Path, description = "Username")),
    request_body = ProofingRequest,
    responses((status = 201, description = "Recorded", body = Object), (status = 400, description = "Bad level or field", body = super::ErrorBody)))]
pub async fn record_proofing(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<ProofingRequest>,
) -> Result<(StatusCode, Json<ProofingRecord>), Error> {
    let r = state
        .admin
        .record_proofing(
            &actor,
            &username,
            req.ial,
            &req.method,
            &req.evidence_ref,
            &req.verified_by,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// `GET /admin/api/audit` query.
#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    /// Events after this sequence number (default 0).
    pub after: Option<i64>,
    /// At most this many (default 100, at most 1000).
    pub limit: Option<i64>,
    /// Only this event type.
    pub event: Option<String>,
    /// Only events about this account (username).
    pub username: Option<String>,
}

/// Audit events in order, filtered.
#[utoipa::path(get, path = "/admin/api/audit", tag = "admin",
    params(("after" = Option<i64>, Query, description = "After this sequence number"), ("limit" = Option<i64>, Query, description = "At most this many"),
           ("event" = Option<String>, Query, description = "Only this event type"), ("username" = Option<String>, Query, description = "Only about this account")),
    responses((status = 200, description = "Events", body = [Object])))]
pub async fn audit(
    State(state): State<AppState>,
    AdminAuth(_admin): AdminAuth,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEvent>>, Error> {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let subject = match q.username.as_deref().filter(|u| !u.trim().is_empty()) {
        Some(u) => Some(crate::services::audit::user_ref(
            &state.admin.user(u).await?.handle,
        )),
        None => None,
    };
    let mut out = Vec::new();
    let mut after = q.after.unwrap_or(0);
    // Scan forward in pages until enough events match (bounded: 20 pages).
    for _ in 0..20 {
        let page = state.store.audit_events(after, 1000).await?;
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        out.extend(page.into_iter().filter(|e| {
            q.event.as_deref().is_none_or(|ev| e.event == ev)
                && subject
                    .as_deref()
                    .is_none_or(|s| e.subject.as_deref() == Some(s))
        }));
        if out.len() >= limit as usize {
            break;
        }
        after = last;
    }
    out.truncate(limit as usize);
    Ok(Json(out))
}

/// `POST /admin/api/users/{username}/recovery` body.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoveryRequest {
    /// The proofing record to bind the link to (default: the strongest, newest among equals).
    pub proofing_id: Option<String>,
    /// How long the link can be used, seconds (default `policy.recovery_link_ttl_secs`, 900).
    pub ttl_secs: Option<u64>,
}

/// A recovery link, shown once.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryResponse {
    /// The page to open (the token is in the fragment, never sent to a server log).
    pub url: String,
    /// RFC 3339.
    pub expires_at: String,
    /// The same URL as a QR code (SVG).
    pub qr_svg: String,
}

/// Issues a single-use, short-lived recovery enrolment link bound to a proofing record.
#[utoipa::path(post, path = "/admin/api/users/{username}/recovery", tag = "admin",
    params(("username" = String, Path, description = "Username")),
    request_body = RecoveryRequest,
    responses((status = 201, description = "The link (shown once)", body = RecoveryResponse), (status = 400, description = "No proofing record", body = super::ErrorBody)))]
pub async fn issue_recovery(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<RecoveryRequest>,
) -> Result<(StatusCode, Json<RecoveryResponse>), Error> {
    let (token, link) = state
        .admin
        .issue_recovery(&actor, &username, req.proofing_id.as_deref(), req.ttl_secs)
        .await?;
    link_response(&state, &token, &link)
}

/// `POST /admin/api/users` body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// The username.
    pub username: String,
    /// The name shown (default: the username).
    #[serde(default)]
    pub display_name: String,
    /// The tier the account requires.
    pub required_tier: Option<String>,
    /// The account's group.
    pub group: Option<String>,
}

/// Creates an account without a passkey; it enrols through an enrolment link
/// (`POST /admin/api/users/{username}/enrolment`), as tiers with `min_ial` require.
#[utoipa::path(post, path = "/admin/api/users", tag = "admin",
    request_body = CreateUserRequest,
    responses((status = 201, description = "Created", body = AdminUserView), (status = 409, description = "Username taken", body = super::ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    ApiJson(req): ApiJson<CreateUserRequest>,
) -> Result<(StatusCode, Json<AdminUserView>), Error> {
    let user = state
        .admin
        .create_user(
            &actor,
            &req.username,
            &req.display_name,
            req.required_tier.as_deref(),
            req.group.as_deref(),
        )
        .await?;
    Ok((StatusCode::CREATED, Json(user_view(&state, &user))))
}

/// Issues a single-use enrolment link for an account's first passkey, bound to a proofing
/// record that reaches its tier's `min_ial`.
#[utoipa::path(post, path = "/admin/api/users/{username}/enrolment", tag = "admin",
    params(("username" = String, Path, description = "Username")),
    request_body = RecoveryRequest,
    responses((status = 201, description = "The link (shown once)", body = RecoveryResponse), (status = 400, description = "No proofing record at the tier's level", body = super::ErrorBody)))]
pub async fn issue_enrolment(
    State(state): State<AppState>,
    AdminAuth(actor): AdminAuth,
    Path(username): Path<String>,
    ApiJson(req): ApiJson<RecoveryRequest>,
) -> Result<(StatusCode, Json<RecoveryResponse>), Error> {
    let (token, link) = state
        .admin
        .issue_enrolment(&actor, &username, req.proofing_id.as_deref(), req.ttl_secs)
        .await?;
    link_response(&state, &token, &link)
}

/// The answer for a new recovery or enrolment link: its URL and QR code, shown once.
fn link_response(
    state: &AppState,
    token: &str,
    link: &crate::store::RecoveryLink,
) -> Result<(StatusCode, Json<RecoveryResponse>), Error> {
    let url = crate::services::admin::link_url(state.config.public_url(), token, link);
    Ok((
        StatusCode::CREATED,
        Json(RecoveryResponse {
            qr_svg: crate::services::admin::qr_svg(&url)?,
            url,
            expires_at: rfc3339(link.expires_at),
        }),
    ))
}
