//! Replaying a recorded ceremony: a case file in the passkeyd test-vector schema (a recorded
//! response plus the relying party's expectations and state) verified with this crate, giving
//! one verdict. `passkeyd verify CASE.json` and the vector test suite both use it.
//!
//! The function is pure: the caller supplies the case text and a loader for the trust-root
//! files the case names.

use crate::attestation::SUPPORTED_FORMATS;
use crate::authentication::{self, CredentialRecord};
use crate::b64;
use crate::cose::{CosePublicKey, KeyPolicy};
use crate::extensions::RequestedExtensions;
use crate::json::{
    AuthenticationResponseJSON, RegistrationResponseJSON, UserVerificationRequirement,
};
use crate::options::{AuthenticationState, RegistrationState};
use crate::registration;
use crate::relying_party::{CrossOriginPolicy, RelyingParty};
use crate::trust::{TrustAnchors, UnixTime};
use serde::{Deserialize, Serialize};

/// A case file (see the vectors README for the schema). Unknown members are ignored.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    /// Expected RP ID.
    pub rp_id: String,
    /// Full list of allowed RP IDs, when the source gives several.
    #[serde(default)]
    pub rp_ids: Option<Vec<String>>,
    /// Allowed origins.
    pub origins: Vec<String>,
    /// Allowed top-level origins.
    #[serde(default)]
    pub top_origins: Vec<String>,
    /// Accept cross-origin ceremonies.
    #[serde(default)]
    pub allow_cross_origin: bool,
    /// The issued challenge, base64url.
    pub challenge_b64url: String,
    /// The recorded `PublicKeyCredential.toJSON()`.
    pub response: serde_json::Value,
    /// Whether UV is required.
    #[serde(default)]
    pub require_user_verification: bool,
    /// Trust root file names.
    #[serde(default)]
    pub trust_roots: Vec<String>,
    /// Offered algorithms (default: all supported).
    #[serde(default)]
    pub pub_key_cred_params: Option<Vec<i64>>,
    /// `conditional` for a conditional create.
    #[serde(default)]
    pub mediation: Option<String>,
    /// Credential ids already registered.
    #[serde(default)]
    pub registered_credential_ids_b64url: Vec<String>,
    /// Authentication: the stored COSE key.
    #[serde(default)]
    pub credential_public_key_cose_b64url: Option<String>,
    /// Authentication: the stored counter.
    #[serde(default)]
    pub stored_sign_count: u32,
    /// Authentication: the record's credential id.
    #[serde(default)]
    pub stored_credential_id_b64url: Option<String>,
    /// Authentication: allowCredentials ids.
    #[serde(default)]
    pub allow_credentials: Vec<String>,
    /// Authentication: the user was not identified before the ceremony.
    #[serde(default)]
    pub discoverable: bool,
    /// Authentication: the record owner's user handle.
    #[serde(default)]
    pub stored_user_handle_b64url: Option<String>,
    /// Authentication: the record's BE.
    #[serde(default)]
    pub stored_backup_eligible: Option<bool>,
    /// Authentication: the record's BS.
    #[serde(default)]
    pub stored_backup_state: Option<bool>,
    /// Certificate time (RFC 3339).
    #[serde(default)]
    pub verification_time: Option<String>,
    /// Free-text conditions; may say "time fixed at `DATE`".
    #[serde(default)]
    pub note: Option<String>,
    /// SafetyNet freshness check.
    #[serde(default)]
    pub safetynet_check_freshness: Option<bool>,
    /// SafetyNet ctsProfileMatch requirement.
    #[serde(default)]
    pub safetynet_require_cts_profile_match: Option<bool>,
}

/// The verdict, in the shape `passkeyd verify` prints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// Whether the response verified.
    pub ok: bool,
    /// Attestation format (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fmt: Option<String>,
    /// COSE algorithm of the credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<i64>,
    /// AAGUID, 8-4-4-4-12 (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// Attestation type (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_type: Option<String>,
    /// Attestation trust: `trusted`, `not_evaluated` or `no_trust_path` (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attestation_trust: Option<String>,
    /// Credential id, base64url (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_id: Option<String>,
    /// Credential public key as COSE, base64url (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_public_key: Option<String>,
    /// UP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_present: Option<bool>,
    /// UV.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_verified: Option<bool>,
    /// BE.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_eligible: Option<bool>,
    /// BS.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backup_state: Option<bool>,
    /// The (new) signature counter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_count: Option<u32>,
    /// The failed step (`7.1.8`), when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// A machine-readable error code, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The error, when not ok.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Verdict {
    fn failure(step: &str, code: &str, error: String) -> Self {
        Self {
            ok: false,
            fmt: None,
            alg: None,
            aaguid: None,
            attestation_type: None,
            attestation_trust: None,
            credential_id: None,
            credential_public_key: None,
            user_present: None,
            user_verified: None,
            backup_eligible: None,
            backup_state: None,
            sign_count: None,
            step: Some(step.to_string()),
            code: Some(code.to_string()),
            error: Some(error),
        }
    }

    fn from_error(e: &crate::Error) -> Self {
        Self::failure(&e.step().to_string(), e.code(), e.to_string())
    }
}

/// Formats an AAGUID as 8-4-4-4-12 lowercase hex.
fn uuid(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// The verification time a case asks for: `verification_time`, else a date in the note after
/// "time fixed at".
pub fn case_time(case: &Case) -> Option<UnixTime> {
    if let Some(t) = &case.verification_time {
        return UnixTime::parse_rfc3339(t);
    }
    let note = case.note.as_deref()?;
    let at = note.find("time fixed at ")? + "time fixed at ".len();
    let token: String = note[at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != ';' && *c != '(' && *c != ',')
        .collect();
    let token = token.trim_end_matches('.');
    UnixTime::parse_rfc3339(token).or_else(|| UnixTime::parse_rfc3339(&format!("{token}Z")))
}

/// Verifies a case. `load_root` returns the PEM bytes of a trust-root file named by the case.
/// Errors (as `Err`) are problems with the case file itself, not verification failures.
pub fn run_case(
    text: &str,
    load_root: &dyn Fn(&str) -> Option<Vec<u8>>,
) -> Result<Verdict, String> {
    let case: Case = serde_json::from_str(text).map_err(|e| format!("not a case file: {e}"))?;
    let challenge =
        b64::decode(&case.challenge_b64url).map_err(|e| format!("challenge_b64url: {e}"))?;

    let mut anchors = TrustAnchors::new();
    for name in &case.trust_roots {
        let pem = load_root(name).ok_or_else(|| format!("trust root '{name}' not found"))?;
        let set = TrustAnchors::from_pem(&pem).map_err(|e| format!("trust root '{name}': {e}"))?;
        anchors.extend(&set);
    }
    let rp_ids = case
        .rp_ids
        .clone()
        .unwrap_or_else(|| vec![case.rp_id.clone()]);
    let Some(first) = rp_ids.first() else {
        return Err("rp_ids is empty".into());
    };
    let mut rp = RelyingParty::new(first, case.origins.clone());
    for extra in &rp_ids[1..] {
        rp = rp.with_additional_rp_id(extra);
    }
    rp.cross_origin = CrossOriginPolicy {
        allow_cross_origin: case.allow_cross_origin,
        top_origins: case.top_origins.clone(),
    };
    if !anchors.is_empty() {
        for fmt in SUPPORTED_FORMATS {
            rp = rp.with_format_anchors(fmt, anchors.clone());
        }
    }
    rp.verification_time = case_time(&case);
    if let Some(f) = case.safetynet_check_freshness {
        rp.attestation.safetynet.check_freshness = f;
    }
    // The schema lets a note state a non-default relying-party option in words.
    let note = case.note.as_deref().unwrap_or("");
    if note.contains("not to require ctsProfileMatch")
        || note.contains("not enforcing SafetyNet ctsProfileMatch")
    {
        rp.attestation.safetynet.require_cts_profile_match = false;
    }
    if let Some(c) = case.safetynet_require_cts_profile_match {
        rp.attestation.safetynet.require_cts_profile_match = c;
    }
    let uv = if case.require_user_verification {
        UserVerificationRequirement::Required
    } else {
        UserVerificationRequirement::Preferred
    };
    // RS1 is off by default; a replay enables it only when the case says the relying party
    // offered it, or offered "everything supported" (no list).
    rp.key_policy = KeyPolicy {
        allow_rs1: case
            .pub_key_cred_params
            .as_ref()
            .is_none_or(|p| p.contains(&-65535)),
        ..KeyPolicy::default()
    };

    let is_registration = case
        .response
        .pointer("/response/attestationObject")
        .is_some()
        && case.response.pointer("/response/signature").is_none();
    if is_registration {
        let response: RegistrationResponseJSON = match serde_json::from_value(case.response.clone())
        {
            Ok(r) => r,
            Err(e) => {
                return Ok(Verdict::failure(
                    "7.1.3",
                    "malformed_response",
                    e.to_string(),
                ));
            }
        };
        let state = RegistrationState {
            challenge,
            user_handle: Vec::new(),
            user_verification: uv,
            algorithms: case.pub_key_cred_params.clone().unwrap_or_default(),
            conditional: case.mediation.as_deref() == Some("conditional"),
            extensions: RequestedExtensions::default(),
        };
        let registered: Vec<Vec<u8>> = case
            .registered_credential_ids_b64url
            .iter()
            .filter_map(|s| b64::decode(s).ok())
            .collect();
        let is_registered = |id: &[u8]| registered.iter().any(|r| r == id);
        Ok(
            match registration::verify_registration(&rp, &state, &response, &is_registered) {
                Ok(v) => Verdict {
                    ok: true,
                    fmt: Some(v.fmt.clone()),
                    alg: Some(v.alg.id()),
                    aaguid: Some(uuid(&v.aaguid)),
                    attestation_type: Some(v.attestation_type.as_str().to_string()),
                    attestation_trust: Some(
                        match v.trust {
                            registration::AttestationTrust::Trusted { .. } => "trusted",
                            registration::AttestationTrust::NoTrustPath => "no_trust_path",
                            registration::AttestationTrust::NotEvaluated => "not_evaluated",
                            registration::AttestationTrust::Untrusted { .. } => "untrusted",
                        }
                        .to_string(),
                    ),
                    credential_id: Some(b64::encode(&v.credential_id)),
                    credential_public_key: Some(b64::encode(&v.public_key_cose)),
                    user_present: Some(v.user_present),
                    user_verified: Some(v.user_verified),
                    backup_eligible: Some(v.backup_eligible),
                    backup_state: Some(v.backup_state),
                    sign_count: Some(v.sign_count),
                    step: None,
                    code: None,
                    error: None,
                },
                Err(e) => Verdict::from_error(&e),
            },
        )
    } else {
        let response: AuthenticationResponseJSON =
            match serde_json::from_value(case.response.clone()) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(Verdict::failure(
                        "7.2.3",
                        "malformed_response",
                        e.to_string(),
                    ));
                }
            };
        let key_b64 = case
            .credential_public_key_cose_b64url
            .as_deref()
            .ok_or("authentication case without credential_public_key_cose_b64url")?;
        let key_bytes =
            b64::decode(key_b64).map_err(|e| format!("credential_public_key_cose_b64url: {e}"))?;
        // The stored key was accepted at registration; a key the policy refuses fails step 21.
        let key = match CosePublicKey::from_cbor(&key_bytes, &rp.key_policy) {
            Ok(k) => k,
            Err(e) => {
                return Ok(Verdict::failure(
                    "7.2.21",
                    "credential_public_key_invalid",
                    format!("stored credential public key: {e}"),
                ));
            }
        };
        let decode_opt = |s: &Option<String>| s.as_deref().and_then(|s| b64::decode(s).ok());
        let record_id = decode_opt(&case.stored_credential_id_b64url)
            .unwrap_or_else(|| response.raw_id.clone());
        let owner = decode_opt(&case.stored_user_handle_b64url)
            .or_else(|| response.response.user_handle.clone())
            .unwrap_or_else(|| b"passkeyd-replay-user".to_vec());
        let response_be = response
            .response
            .authenticator_data
            .get(32)
            .is_some_and(|f| f & crate::authenticator_data::Flags::BE != 0);
        let record = CredentialRecord {
            credential_id: &record_id,
            user_handle: &owner,
            public_key: &key,
            sign_count: case.stored_sign_count,
            backup_eligible: case.stored_backup_eligible.unwrap_or(response_be),
            backup_state: case.stored_backup_state.unwrap_or(false),
            uv_initialized: false,
        };
        let state = AuthenticationState {
            challenge,
            user_verification: uv,
            allow_credentials: case
                .allow_credentials
                .iter()
                .filter_map(|s| b64::decode(s).ok())
                .collect(),
            identified_user: (!case.discoverable).then(|| owner.clone()),
            extensions: RequestedExtensions::default(),
        };
        Ok(
            match authentication::verify_assertion(&rp, &state, &response, &record) {
                Ok(v) => Verdict {
                    ok: true,
                    fmt: None,
                    alg: Some(key.alg().id()),
                    aaguid: None,
                    attestation_type: None,
                    attestation_trust: None,
                    credential_id: None,
                    credential_public_key: None,
                    user_present: Some(v.user_present),
                    user_verified: Some(v.user_verified),
                    backup_eligible: Some(v.backup_eligible),
                    backup_state: Some(v.backup_state),
                    sign_count: Some(v.new_sign_count),
                    step: None,
                    code: None,
                    error: None,
                },
                Err(e) => Verdict::from_error(&e),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn note_dates_are_found() {
        let mut case: Case = serde_json::from_str(
            r#"{"rp_id":"a","origins":[],"challenge_b64url":"","response":{},
                "note":"certificate expired; verify with time fixed at 2020-09-13T02:49:17 (leaf notBefore)"}"#,
        )
        .unwrap();
        assert_eq!(
            case_time(&case),
            UnixTime::parse_rfc3339("2020-09-13T02:49:17Z")
        );
        case.verification_time = Some("2021-09-01T00:00:00Z".into());
        assert_eq!(
            case_time(&case),
            UnixTime::parse_rfc3339("2021-09-01T00:00:00Z")
        );
    }

    #[test]
    fn a_broken_case_file_is_an_error_not_a_verdict() {
        assert!(run_case("{}", &|_| None).is_err());
        assert!(run_case("not json", &|_| None).is_err());
    }
}
