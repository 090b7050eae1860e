//! Verification errors. Every variant names the spec step that failed (see [`Error::step`]) and
//! says what was expected and what was found, so a support engineer can act on it; the server
//! logs it and shows the user a generic message.

use crate::attestation::AttestationError;
use crate::authenticator_data::AuthenticatorDataError;
use crate::cose::CoseError;
use crate::trust::ChainError;
use std::fmt;

/// The ceremony a step belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ceremony {
    /// §7.1 Registering a New Credential.
    Registration,
    /// §7.2 Verifying an Authentication Assertion.
    Authentication,
}

/// A numbered step of WebAuthn L3 §7.1 or §7.2, displayed as `7.1.8` / `7.2.21`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Step {
    /// The ceremony.
    pub ceremony: Ceremony,
    /// The step number within the ceremony's procedure.
    pub number: u8,
}

impl Step {
    /// A §7.1 step.
    pub const fn reg(number: u8) -> Self {
        Self {
            ceremony: Ceremony::Registration,
            number,
        }
    }
    /// A §7.2 step.
    pub const fn auth(number: u8) -> Self {
        Self {
            ceremony: Ceremony::Authentication,
            number,
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let section = match self.ceremony {
            Ceremony::Registration => "7.1",
            Ceremony::Authentication => "7.2",
        };
        write!(f, "{section}.{}", self.number)
    }
}

/// Why a registration or assertion was rejected.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The response JSON is not a well-formed `RegistrationResponseJSON` /
    /// `AuthenticationResponseJSON` (before the numbered steps: §7.1 step 3, §7.2 step 3).
    MalformedResponse {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: String,
    },
    /// `id`, `rawId` and the credential id in authenticator data disagree, or the
    /// credential type is not `public-key`.
    CredentialIdMismatch {
        /// The step.
        step: Step,
        /// What disagreed.
        detail: String,
    },
    /// clientDataJSON is not UTF-8 (§7.1 step 5, §7.2 step 8).
    ClientDataNotUtf8 {
        /// The step.
        step: Step,
    },
    /// clientDataJSON does not parse as collected client data (§7.1 step 6, §7.2 step 9).
    ClientDataInvalid {
        /// The step.
        step: Step,
        /// The parser's message.
        detail: String,
    },
    /// `C.type` is wrong (§7.1 step 7, §7.2 step 10).
    TypeMismatch {
        /// The step.
        step: Step,
        /// The required type.
        expected: &'static str,
        /// The type found.
        found: String,
    },
    /// `C.challenge` is not the issued challenge (§7.1 step 8, §7.2 step 11).
    ChallengeMismatch {
        /// The step.
        step: Step,
        /// base64url of the issued challenge.
        expected: String,
        /// What the client data holds.
        found: String,
    },
    /// `C.origin` is not an expected origin (§7.1 step 9, §7.2 step 12).
    OriginNotAllowed {
        /// The step.
        step: Step,
        /// The origin found.
        found: String,
        /// The origins the relying party accepts.
        expected: Vec<String>,
    },
    /// `C.crossOrigin` is true but cross-origin use is not allowed (§7.1 step 10, §7.2 step 13).
    CrossOriginNotAllowed {
        /// The step.
        step: Step,
    },
    /// `C.topOrigin` is present but not expected (§7.1 step 11, §7.2 step 14).
    TopOriginNotAllowed {
        /// The step.
        step: Step,
        /// The top origin found.
        found: String,
    },
    /// The attestation object is not the CBOR map `{fmt, authData, attStmt}` (§7.1 step 13).
    AttestationObjectInvalid {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: String,
    },
    /// Authenticator data is malformed (§7.1 step 13, §7.2 step 7).
    AuthenticatorDataInvalid {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: AuthenticatorDataError,
    },
    /// The rpIdHash is not SHA-256 of the RP ID (§7.1 step 14, §7.2 step 15).
    RpIdHashMismatch {
        /// The step.
        step: Step,
        /// The RP ID(s) whose hash was expected.
        expected_rp_ids: Vec<String>,
        /// Hex of the hash found.
        found_hash: String,
    },
    /// The UP flag is not set (§7.1 step 15, §7.2 step 16).
    UserNotPresent {
        /// The step.
        step: Step,
    },
    /// User verification was required but UV is not set (§7.1 step 16, §7.2 step 17).
    UserNotVerified {
        /// The step.
        step: Step,
    },
    /// BS is set while BE is not (§7.1 step 17, §7.2 step 18).
    BackupStateWithoutEligibility {
        /// The step.
        step: Step,
    },
    /// BE differs from the stored credential record (§7.2 step 19).
    BackupEligibilityChanged {
        /// The step.
        step: Step,
        /// BE in the credential record.
        stored: bool,
        /// BE in this assertion.
        found: bool,
    },
    /// The credential public key's algorithm was not offered in pubKeyCredParams (§7.1 step 20).
    AlgorithmNotAllowed {
        /// The step.
        step: Step,
        /// The key's algorithm.
        found: i64,
        /// The algorithms offered.
        allowed: Vec<i64>,
    },
    /// The credential public key cannot be used (§7.1 step 20 / §7.2 step 21).
    CredentialPublicKeyInvalid {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: CoseError,
    },
    /// Extension outputs are not as expected (§7.1 step 21, §7.2 step 20).
    ExtensionsInvalid {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: String,
    },
    /// The attestation statement format is unknown or not accepted (§7.1 step 22).
    UnsupportedAttestationFormat {
        /// The step.
        step: Step,
        /// The `fmt` found.
        fmt: String,
    },
    /// The attestation statement does not verify (§7.1 step 23).
    AttestationInvalid {
        /// The step.
        step: Step,
        /// The format.
        fmt: String,
        /// What failed.
        detail: AttestationError,
    },
    /// The attestation does not chain to an acceptable trust anchor, or policy requires
    /// attestation that this one is not (§7.1 steps 24-25).
    AttestationUntrusted {
        /// The step.
        step: Step,
        /// Why.
        detail: String,
        /// The chain failure, when one was tried.
        chain: Option<ChainError>,
    },
    /// The credential id is longer than 1023 bytes (§7.1 step 25).
    CredentialIdTooLong {
        /// The step.
        step: Step,
        /// Its length.
        len: usize,
    },
    /// The credential id is already registered (§7.1 step 26).
    CredentialIdAlreadyRegistered {
        /// The step.
        step: Step,
    },
    /// The credential is not in allowCredentials (§7.2 step 5).
    CredentialNotAllowed {
        /// The step.
        step: Step,
        /// base64url of the credential id.
        credential_id: String,
    },
    /// The credential record does not match the response, or userHandle is missing or belongs
    /// to someone else (§7.2 step 6).
    UserHandleInvalid {
        /// The step.
        step: Step,
        /// What is wrong.
        detail: String,
    },
    /// The assertion signature does not verify with the stored public key (§7.2 step 21).
    SignatureInvalid {
        /// The step.
        step: Step,
    },
    /// The signature counter did not increase: a possible cloned authenticator (§7.2 step 22).
    CounterNotIncreased {
        /// The step.
        step: Step,
        /// The stored counter.
        stored: u32,
        /// The counter received.
        received: u32,
    },
}

impl Error {
    /// The spec step that failed.
    pub fn step(&self) -> Step {
        match self {
            Self::MalformedResponse { step, .. }
            | Self::CredentialIdMismatch { step, .. }
            | Self::ClientDataNotUtf8 { step }
            | Self::ClientDataInvalid { step, .. }
            | Self::TypeMismatch { step, .. }
            | Self::ChallengeMismatch { step, .. }
            | Self::OriginNotAllowed { step, .. }
            | Self::CrossOriginNotAllowed { step }
            | Self::TopOriginNotAllowed { step, .. }
            | Self::AttestationObjectInvalid { step, .. }
            | Self::AuthenticatorDataInvalid { step, .. }
            | Self::RpIdHashMismatch { step, .. }
            | Self::UserNotPresent { step }
            | Self::UserNotVerified { step }
            | Self::BackupStateWithoutEligibility { step }
            | Self::BackupEligibilityChanged { step, .. }
            | Self::AlgorithmNotAllowed { step, .. }
            | Self::CredentialPublicKeyInvalid { step, .. }
            | Self::ExtensionsInvalid { step, .. }
            | Self::UnsupportedAttestationFormat { step, .. }
            | Self::AttestationInvalid { step, .. }
            | Self::AttestationUntrusted { step, .. }
            | Self::CredentialIdTooLong { step, .. }
            | Self::CredentialIdAlreadyRegistered { step }
            | Self::CredentialNotAllowed { step, .. }
            | Self::UserHandleInvalid { step, .. }
            | Self::SignatureInvalid { step }
            | Self::CounterNotIncreased { step, .. } => *step,
        }
    }

    /// A stable machine-readable code for this kind of failure (for logs, metrics and audit).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedResponse { .. } => "malformed_response",
            Self::CredentialIdMismatch { .. } => "credential_id_mismatch",
            Self::ClientDataNotUtf8 { .. } => "client_data_not_utf8",
            Self::ClientDataInvalid { .. } => "client_data_invalid",
            Self::TypeMismatch { .. } => "type_mismatch",
            Self::ChallengeMismatch { .. } => "challenge_mismatch",
            Self::OriginNotAllowed { .. } => "origin_not_allowed",
            Self::CrossOriginNotAllowed { .. } => "cross_origin_not_allowed",
            Self::TopOriginNotAllowed { .. } => "top_origin_not_allowed",
            Self::AttestationObjectInvalid { .. } => "attestation_object_invalid",
            Self::AuthenticatorDataInvalid { .. } => "authenticator_data_invalid",
            Self::RpIdHashMismatch { .. } => "rp_id_hash_mismatch",
            Self::UserNotPresent { .. } => "user_not_present",
            Self::UserNotVerified { .. } => "user_not_verified",
            Self::BackupStateWithoutEligibility { .. } => "backup_state_without_eligibility",
            Self::BackupEligibilityChanged { .. } => "backup_eligibility_changed",
            Self::AlgorithmNotAllowed { .. } => "algorithm_not_allowed",
            Self::CredentialPublicKeyInvalid { .. } => "credential_public_key_invalid",
            Self::ExtensionsInvalid { .. } => "extensions_invalid",
            Self::UnsupportedAttestationFormat { .. } => "unsupported_attestation_format",
            Self::AttestationInvalid { .. } => "attestation_invalid",
            Self::AttestationUntrusted { .. } => "attestation_untrusted",
            Self::CredentialIdTooLong { .. } => "credential_id_too_long",
            Self::CredentialIdAlreadyRegistered { .. } => "credential_id_already_registered",
            Self::CredentialNotAllowed { .. } => "credential_not_allowed",
            Self::UserHandleInvalid { .. } => "user_handle_invalid",
            Self::SignatureInvalid { .. } => "signature_invalid",
            Self::CounterNotIncreased { .. } => "counter_not_increased",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {}: ", self.step())?;
        match self {
            Self::MalformedResponse { detail, .. } => write!(f, "malformed response: {detail}"),
            Self::CredentialIdMismatch { detail, .. } => write!(f, "credential mismatch: {detail}"),
            Self::ClientDataNotUtf8 { .. } => f.write_str("clientDataJSON is not valid UTF-8"),
            Self::ClientDataInvalid { detail, .. } => {
                write!(f, "clientDataJSON is not valid client data: {detail}")
            }
            Self::TypeMismatch { expected, found, .. } => {
                write!(f, "client data type is '{found}', expected '{expected}'")
            }
            Self::ChallengeMismatch { expected, found, .. } => {
                write!(f, "client data challenge is '{found}', expected '{expected}'")
            }
            Self::OriginNotAllowed { found, expected, .. } => write!(
                f,
                "origin '{found}' is not allowed (expected one of: {})",
                expected.join(", ")
            ),
            Self::CrossOriginNotAllowed { .. } => f.write_str(
                "the ceremony ran in a cross-origin iframe, which this relying party does not allow",
            ),
            Self::TopOriginNotAllowed { found, .. } => {
                write!(f, "top-level origin '{found}' is not allowed")
            }
            Self::AttestationObjectInvalid { detail, .. } => {
                write!(f, "attestation object is invalid: {detail}")
            }
            Self::AuthenticatorDataInvalid { detail, .. } => {
                write!(f, "authenticator data is invalid: {detail}")
            }
            Self::RpIdHashMismatch {
                expected_rp_ids,
                found_hash,
                ..
            } => write!(
                f,
                "rpIdHash {found_hash} is not SHA-256 of the RP ID (expected one of: {})",
                expected_rp_ids.join(", ")
            ),
            Self::UserNotPresent { .. } => f.write_str("the user present (UP) flag is not set"),
            Self::UserNotVerified { .. } => {
                f.write_str("user verification is required but the UV flag is not set")
            }
            Self::BackupStateWithoutEligibility { .. } => {
                f.write_str("backup state (BS) is set but backup eligibility (BE) is not")
            }
            Self::BackupEligibilityChanged { stored, found, .. } => write!(
                f,
                "backup eligibility changed from {stored} at registration to {found}"
            ),
            Self::AlgorithmNotAllowed { found, allowed, .. } => write!(
                f,
                "credential algorithm {found} was not offered (offered: {allowed:?})"
            ),
            Self::CredentialPublicKeyInvalid { detail, .. } => {
                write!(f, "credential public key: {detail}")
            }
            Self::ExtensionsInvalid { detail, .. } => write!(f, "extension outputs: {detail}"),
            Self::UnsupportedAttestationFormat { fmt, .. } => {
                write!(f, "attestation statement format '{fmt}' is not supported")
            }
            Self::AttestationInvalid { fmt, detail, .. } => {
                write!(f, "'{fmt}' attestation statement does not verify: {detail}")
            }
            Self::AttestationUntrusted { detail, chain, .. } => match chain {
                Some(c) => write!(f, "attestation is not trusted: {detail}: {c}"),
                None => write!(f, "attestation is not trusted: {detail}"),
            },
            Self::CredentialIdTooLong { len, .. } => {
                write!(f, "credential id has {len} bytes; at most 1023 are allowed")
            }
            Self::CredentialIdAlreadyRegistered { .. } => {
                f.write_str("the credential id is already registered")
            }
            Self::CredentialNotAllowed { credential_id, .. } => write!(
                f,
                "credential {credential_id} is not in allowCredentials"
            ),
            Self::UserHandleInvalid { detail, .. } => write!(f, "user handle: {detail}"),
            Self::SignatureInvalid { .. } => {
                f.write_str("the assertion signature does not verify with the stored public key")
            }
            Self::CounterNotIncreased {
                stored, received, ..
            } => write!(
                f,
                "signature counter {received} is not greater than the stored {stored}: possible cloned authenticator"
            ),
        }
    }
}

impl std::error::Error for Error {}
