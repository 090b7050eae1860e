//! The one domain error of the server. Services return it; `routes` turns it into an HTTP
//! response in exactly one place ([`crate::routes`]'s `IntoResponse` impl), where the internal
//! cause is logged and the public message stays generic.

use crate::store::StoreError;
use std::fmt;

/// Why a request could not be served. Each variant is a sentence a support engineer can act
/// on; what the client sees is [`Error::public_code`] and [`Error::public_message`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The request body or a parameter is malformed (bad JSON, wrong type, bad base64url, a
    /// value out of range). The message is safe to show: it describes only the client's input.
    BadRequest {
        /// Machine-readable code (`invalid_json`, `invalid_request`, ...).
        code: &'static str,
        /// What is wrong with the input.
        message: String,
    },
    /// The body is larger than the limit.
    PayloadTooLarge,
    /// The request needs a signed-in session and has none (or it expired or was revoked).
    Unauthenticated,
    /// An admin API request without the right bearer token.
    AdminUnauthorized,
    /// A sign-in ceremony failed; the reason is logged, never shown (it would tell an attacker
    /// which accounts and credentials exist).
    AuthenticationFailed {
        /// Which check failed, for the log and the metrics: a `passkeyd_webauthn::Error::code()`
        /// or one of the server's own (`challenge_not_found`, `unknown_credential`, ...).
        code: &'static str,
        /// What went wrong, for the log.
        reason: String,
    },
    /// A registration ceremony failed verification; the reason is logged.
    RegistrationFailed {
        /// The `passkeyd_webauthn::Error::code()` of the failed check.
        code: &'static str,
        /// What went wrong, for the log (the verification error with its spec step).
        reason: String,
    },
    /// No pending registration for this browser: never started, expired (5 minutes), already
    /// finished, or started by another account.
    CeremonyNotFound,
    /// Sign-up is closed by configuration (`signup_open = false`).
    SignupClosed,
    /// The authenticator does not meet the tier the account requires; the message says why in
    /// plain words (it is about the user's own authenticator, so safe to show).
    PolicyRefused {
        /// The tier that was required.
        tier: String,
        /// What is missing.
        message: String,
    },
    /// The action needs a fresh step-up (`POST /api/webauthn/stepup/start`).
    StepUpRequired {
        /// The action.
        action: String,
        /// The assurance level it needs.
        level: u8,
    },
    /// The policy requires two working passkeys before sensitive actions.
    SecondPasskeyRequired,
    /// A recovery link that is unknown, used, cancelled or expired.
    RecoveryLinkInvalid,
    /// The account was recovered recently: sensitive actions are blocked until this time (Unix
    /// seconds).
    CoolingOff(i64),
    /// None of the account's passkeys can reach the requested level.
    StepUpImpossible(u8),
    /// The username is already registered.
    UsernameTaken,
    /// This credential id is already registered (to this or another account).
    CredentialAlreadyRegistered,
    /// No such credential or session for the signed-in user.
    NotFound(&'static str),
    /// Deleting the user's last active passkey would lock the account out.
    LastPasskey,
    /// A state-changing request came from an origin that is not configured.
    ForbiddenOrigin(String),
    /// Too many requests from this address, or failed sign-ins for this account: try again
    /// after the duration (`Retry-After`).
    RateLimited(std::time::Duration),
    /// Too many ceremonies are pending (the challenge store is full); try again shortly.
    Busy,
    /// The database or the ephemeral store does not answer (stopped, unreachable, out of
    /// connections, timed out); logged, answered with a 503 so clients and load balancers
    /// retry. Nothing was half-written: every store operation is one transaction.
    Unavailable(String),
    /// Another internal failure; logged, answered with a generic 500.
    Internal(String),
}

impl Error {
    /// A malformed-input error.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            code,
            message: message.into(),
        }
    }

    /// A failed sign-in with its (logged, never shown) code and reason.
    pub fn auth_failed(code: &'static str, reason: impl Into<String>) -> Self {
        Self::AuthenticationFailed {
            code,
            reason: reason.into(),
        }
    }

    /// The precise failure code for the log and the metrics: the verification step's code
    /// for failed ceremonies, the public code otherwise.
    pub fn internal_code(&self) -> &'static str {
        match self {
            Self::AuthenticationFailed { code, .. } | Self::RegistrationFailed { code, .. } => code,
            other => other.public_code(),
        }
    }

    /// The code clients see in `{"error": ...}`.
    pub fn public_code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. } => code,
            Self::PayloadTooLarge => "payload_too_large",
            Self::Unauthenticated => "unauthenticated",
            Self::AdminUnauthorized => "admin_unauthorized",
            Self::AuthenticationFailed { .. } => "authentication_failed",
            Self::RegistrationFailed { .. } => "registration_failed",
            Self::CeremonyNotFound => "ceremony_expired",
            Self::SignupClosed => "signup_closed",
            Self::UsernameTaken => "username_taken",
            Self::PolicyRefused { .. } => "policy_refused",
            Self::StepUpRequired { .. } => "step_up_required",
            Self::StepUpImpossible(_) => "step_up_impossible",
            Self::CoolingOff(_) => "cooling_off",
            Self::RecoveryLinkInvalid => "recovery_link_invalid",
            Self::SecondPasskeyRequired => "second_passkey_required",
            Self::CredentialAlreadyRegistered => "credential_exists",
            Self::NotFound(_) => "not_found",
            Self::LastPasskey => "last_passkey",
            Self::ForbiddenOrigin(_) => "origin_not_allowed",
            Self::Busy => "busy",
            Self::RateLimited(_) => "rate_limited",
            Self::Unavailable(_) => "unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// The message clients see in `{"message": ...}`.
    pub fn public_message(&self) -> String {
        match self {
            Self::BadRequest { message, .. } => message.clone(),
            Self::PayloadTooLarge => "The request body is larger than 64 KiB.".into(),
            Self::Unauthenticated => "Sign in first.".into(),
            Self::AdminUnauthorized => "A valid admin bearer token is required.".into(),
            Self::AuthenticationFailed { .. } => "Sign-in failed.".into(),
            Self::RegistrationFailed { .. } => "The passkey could not be registered.".into(),
            Self::CeremonyNotFound => {
                "This passkey request expired or was already used. Start again.".into()
            }
            Self::SignupClosed => "Sign-up is closed on this server.".into(),
            Self::UsernameTaken => "This username is taken.".into(),
            Self::PolicyRefused { message, .. } => message.clone(),
            Self::StepUpRequired { .. } => {
                "Confirm it is you with your passkey to continue.".into()
            }
            Self::SecondPasskeyRequired => "Add a second passkey first (on another device or a \
                                            security key): this service requires two, so that \
                                            losing one does not lock you out."
                .into(),
            Self::RecoveryLinkInvalid => "This recovery link is not valid any more: it was used, \
                                          cancelled or has expired. Ask for a new one."
                .into(),
            Self::CoolingOff(until) => format!(
                "Your account was recovered recently. For your protection this action is blocked until {}.",
                crate::services::rfc3339(*until)
            ),
            Self::StepUpImpossible(level) => format!(
                "None of your passkeys can confirm this action (it needs assurance level {level}). \
                 Add a security key that meets your organisation's policy."
            ),
            Self::CredentialAlreadyRegistered => "This passkey is already registered.".into(),
            Self::NotFound(what) => format!("No such {what}."),
            Self::LastPasskey => "This is your last passkey: add another passkey before \
                                  deleting this one, or you could not sign in again."
                .into(),
            Self::ForbiddenOrigin(_) => "Requests from this origin are not allowed.".into(),
            Self::Busy => "The server is busy. Try again in a minute.".into(),
            Self::RateLimited(wait) => format!(
                "Too many attempts. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
            Self::Unavailable(_) => {
                "The service is temporarily unavailable. Try again in a moment.".into()
            }
            Self::Internal(_) => "Something went wrong on the server.".into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthenticationFailed { code, reason } => {
                write!(f, "authentication failed ({code}): {reason}")
            }
            Self::RegistrationFailed { code, reason } => {
                write!(f, "registration failed ({code}): {reason}")
            }
            Self::ForbiddenOrigin(o) => write!(f, "origin not allowed: {o}"),
            Self::Internal(e) => write!(f, "internal error: {e}"),
            Self::Unavailable(e) => write!(f, "unavailable: {e}"),
            other => write!(f, "{}: {}", other.public_code(), other.public_message()),
        }
    }
}

impl std::error::Error for Error {}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::CredentialExists => Self::CredentialAlreadyRegistered,
            StoreError::Backend(e) => Self::Unavailable(format!("storage: {e}")),
        }
    }
}
