//! `GET /api/openapi.json`: the OpenAPI 3.1 document generated from the handlers' `utoipa`
//! annotations.

use axum::Json;
use utoipa::OpenApi;

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "passkeyd",
        description = "Passkey (WebAuthn) authentication server. Cookies: `passkeyd_session` \
                       (the session), `passkeyd_ceremony` (the pending ceremony's challenge key). \
                       Errors: `{\"error\": code, \"message\": sentence}`."
    ),
    paths(
        super::healthz,
        super::ops::metrics,
        super::ops::related_origins,
        super::readyz,
        super::webauthn::register_start,
        super::webauthn::register_finish,
        super::webauthn::auth_start,
        super::webauthn::auth_finish,
        super::webauthn::list_credentials,
        super::webauthn::rename_credential,
        super::webauthn::delete_credential,
        super::session::current_session,
        super::session::sign_out,
        super::session::list_sessions,
        super::session::revoke_session,
        super::session::signals,
        super::stepup::stepup_start,
        super::stepup::stepup_finish,
        super::stepup::delete_account,
        super::admin::list_users,
        super::admin::user_detail,
        super::admin::set_user_policy,
        super::admin::set_credential_status,
        super::admin::revoke_session,
        super::admin::record_proofing,
        super::admin::audit,
        super::admin::issue_recovery,
        super::admin::create_user,
        super::admin::issue_enrolment,
        super::stepup::recovery_start,
        super::stepup::recovery_cancel,
        super::stepup::recovery_cancel_token,
        super::tokens::issue_token,
        super::tokens::jwks,
        super::tokens::introspect,
        openapi_json,
    ),
    components(schemas(super::ErrorBody))
)]
pub struct ApiDoc;

/// The OpenAPI document of this server.
#[utoipa::path(get, path = "/api/openapi.json", tag = "meta",
    responses((status = 200, description = "OpenAPI 3.1 document", body = Object)))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
