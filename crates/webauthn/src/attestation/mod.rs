//! Attestation statement formats (WebAuthn L3 §8) and the attestation types they convey (§6.5.3).
//!
//! Each format is a module with one entry point, `verify(&AttestationInput, &AttestationOptions)`,
//! that runs the format's verification procedure (§7.1 step 23) and returns the attestation type
//! and the trust path. Whether that trust path leads to an acceptable root (§7.1 steps 24-25)
//! is decided afterwards by the registration procedure, with the trust anchors the relying party
//! configured for the format (and those the FIDO Metadata Service gives for the AAGUID).

pub mod android_key;
pub mod android_safetynet;
pub mod apple;
pub mod compound;
pub mod fido_u2f;
pub mod none;
pub mod packed;
#[cfg(test)]
pub(crate) mod test_support;
pub mod tpm;

use crate::authenticator_data::AuthenticatorData;
use crate::cbor::Value;
use crate::cose::{CoseError, CosePublicKey, KeyPolicy};
use crate::trust::{Certificate, ChainError, ChainPolicy, UnixTime};
use std::fmt;

/// The attestation types of §6.5.3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttestationType {
    /// No attestation information (`none`).
    None,
    /// Self attestation: signed with the credential private key.
    SelfAttestation,
    /// Basic attestation: an authenticator attestation key pair with a certificate.
    Basic,
    /// Attestation CA (e.g. a TPM AIK certified by a privacy CA).
    AttCa,
    /// Anonymization CA: a per-credential certificate from a vendor CA (e.g. Apple).
    AnonCa,
}

impl AttestationType {
    /// The lower-case name used in the vectors schema and in APIs: none, self, basic, attca, anonca.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::SelfAttestation => "self",
            Self::Basic => "basic",
            Self::AttCa => "attca",
            Self::AnonCa => "anonca",
        }
    }
}

impl fmt::Display for AttestationType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a format's verification procedure gets.
pub struct AttestationInput<'a, 'b> {
    /// The attestation statement (`attStmt`).
    pub att_stmt: &'b Value<'a>,
    /// The parsed authenticator data (`authData`), whose `raw` bytes are what is signed.
    pub auth_data: &'b AuthenticatorData<'a>,
    /// SHA-256 of clientDataJSON.
    pub client_data_hash: &'b [u8; 32],
    /// The credential public key from the attested credential data, already validated.
    pub credential_public_key: &'b CosePublicKey,
}

/// Android SafetyNet policy knobs (the format is deprecated but still seen).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafetyNetPolicy {
    /// Refuse responses whose `timestampMs` is older than `max_age_ms` (or in the future by more
    /// than a minute) at the verification time. Default `true`.
    pub check_freshness: bool,
    /// Maximum age of the response, in milliseconds. Default 60 000.
    pub max_age_ms: i64,
    /// Require `ctsProfileMatch: true`. Default `true`.
    pub require_cts_profile_match: bool,
}

impl Default for SafetyNetPolicy {
    fn default() -> Self {
        Self {
            check_freshness: true,
            max_age_ms: 60_000,
            require_cts_profile_match: true,
        }
    }
}

/// Options for the format procedures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttestationOptions {
    /// The time certificates (and SafetyNet freshness) are checked at.
    pub time: UnixTime,
    /// Key rules for attestation keys.
    pub key_policy: KeyPolicy,
    /// Chain rules.
    pub chain_policy: ChainPolicy,
    /// SafetyNet knobs.
    pub safetynet: SafetyNetPolicy,
    /// Android Key attestation: require that the key lives in a TEE or StrongBox
    /// (`origin` GENERATED and `purpose` SIGN are always required). Default `false`: software
    /// keys are reported as such in the outcome rather than refused.
    pub android_key_require_hardware: bool,
}

impl Default for AttestationOptions {
    fn default() -> Self {
        Self {
            time: UnixTime::now(),
            key_policy: KeyPolicy::default(),
            chain_policy: ChainPolicy::default(),
            safetynet: SafetyNetPolicy::default(),
            android_key_require_hardware: false,
        }
    }
}

/// What a format's verification procedure establishes.
#[derive(Debug, Clone, PartialEq)]
pub struct AttestationOutcome {
    /// The attestation type.
    pub attestation_type: AttestationType,
    /// The attestation trust path, leaf first (empty for none and self attestation).
    pub trust_path: Vec<Certificate>,
    /// For `compound`: the outcome of each contained statement, with its format.
    pub components: Vec<(String, AttestationOutcome)>,
}

impl AttestationOutcome {
    /// An outcome with no trust path.
    pub fn without_path(attestation_type: AttestationType) -> Self {
        Self {
            attestation_type,
            trust_path: Vec::new(),
            components: Vec::new(),
        }
    }
}

/// Why an attestation statement does not verify.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AttestationError {
    /// A required member of attStmt is missing or has the wrong type.
    Member {
        /// The member name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The statement is malformed in another way.
    Malformed(String),
    /// The attestation signature does not verify.
    BadSignature,
    /// The statement's `alg` differs from what it must be.
    AlgorithmMismatch(String),
    /// The attestation key cannot be used.
    Key(CoseError),
    /// A certificate does not meet the format's requirements.
    Certificate(String),
    /// A certificate could not be parsed or a chain inside the statement is invalid.
    Chain(ChainError),
    /// The statement does not bind to this credential (nonce, public key or AAGUID mismatch).
    Binding(String),
    /// Refused by a policy knob (e.g. SafetyNet ctsProfileMatch false).
    Policy(String),
}

impl fmt::Display for AttestationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Member { name, expected } => {
                write!(f, "attStmt member '{name}' must be {expected}")
            }
            Self::Malformed(m) => write!(f, "malformed statement: {m}"),
            Self::BadSignature => f.write_str("attestation signature does not verify"),
            Self::AlgorithmMismatch(m) => write!(f, "algorithm mismatch: {m}"),
            Self::Key(e) => write!(f, "attestation key: {e}"),
            Self::Certificate(m) => write!(f, "attestation certificate: {m}"),
            Self::Chain(e) => write!(f, "{e}"),
            Self::Binding(m) => write!(f, "statement does not bind to this credential: {m}"),
            Self::Policy(m) => write!(f, "refused by policy: {m}"),
        }
    }
}

impl std::error::Error for AttestationError {}

impl From<ChainError> for AttestationError {
    fn from(e: ChainError) -> Self {
        Self::Chain(e)
    }
}

/// The format identifiers this crate verifies (§8 and the compound format of L3 §8.9).
pub const SUPPORTED_FORMATS: [&str; 8] = [
    "none",
    "packed",
    "fido-u2f",
    "tpm",
    "android-key",
    "android-safetynet",
    "apple",
    "compound",
];

/// Runs the verification procedure of `fmt` (§7.1 step 23). `None` when `fmt` is not a
/// supported format identifier (matched case-sensitively, §7.1 step 22).
pub fn verify_statement(
    fmt: &str,
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Option<Result<AttestationOutcome, AttestationError>> {
    Some(match fmt {
        "none" => none::verify(input, options),
        "packed" => packed::verify(input, options),
        "fido-u2f" => fido_u2f::verify(input, options),
        "tpm" => tpm::verify(input, options),
        "android-key" => android_key::verify(input, options),
        "android-safetynet" => android_safetynet::verify(input, options),
        "apple" => apple::verify(input, options),
        "compound" => compound::verify(input, options),
        _ => return None,
    })
}

/// Helpers shared by the formats.
pub(crate) mod util {
    use super::AttestationError;
    use crate::cbor::Value;
    use crate::trust::Certificate;

    /// `attStmt[name]` as bytes.
    pub(crate) fn bytes<'a>(
        stmt: &Value<'a>,
        name: &'static str,
    ) -> Result<&'a [u8], AttestationError> {
        stmt.get_text(name)
            .and_then(Value::as_bytes)
            .ok_or(AttestationError::Member {
                name,
                expected: "a byte string",
            })
    }

    /// `attStmt[name]` as an integer.
    pub(crate) fn int(stmt: &Value<'_>, name: &'static str) -> Result<i64, AttestationError> {
        stmt.get_text(name)
            .and_then(Value::as_i64)
            .ok_or(AttestationError::Member {
                name,
                expected: "an integer",
            })
    }

    /// `attStmt.x5c` as parsed certificates, leaf first; `Ok(None)` when absent.
    pub(crate) fn x5c(stmt: &Value<'_>) -> Result<Option<Vec<Certificate>>, AttestationError> {
        let Some(v) = stmt.get_text("x5c") else {
            return Ok(None);
        };
        let items = v.as_array().ok_or(AttestationError::Member {
            name: "x5c",
            expected: "an array of certificates",
        })?;
        if items.is_empty() {
            return Err(AttestationError::Member {
                name: "x5c",
                expected: "a non-empty array of certificates",
            });
        }
        items
            .iter()
            .map(|i| {
                let der = i.as_bytes().ok_or(AttestationError::Member {
                    name: "x5c",
                    expected: "an array of DER byte strings",
                })?;
                Certificate::from_der(der).map_err(AttestationError::Chain)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// `authenticatorData || clientDataHash`, the message most formats sign.
    pub(crate) fn signed_message(auth_data: &[u8], client_data_hash: &[u8; 32]) -> Vec<u8> {
        let mut m = Vec::with_capacity(auth_data.len() + 32);
        m.extend_from_slice(auth_data);
        m.extend_from_slice(client_data_hash);
        m
    }
}
