//! §7.1 Registering a New Credential: every step, in order, each a named function.
//!
//! ```text
//!  RegistrationResponseJSON ──► 3 type/id ──► 5-6 client data ──► 7 type ──► 8 challenge
//!    ──► 9 origin ──► 10 crossOrigin ──► 11 topOrigin ──► 12 hash ──► 13 attestation object
//!    ──► 14 rpIdHash ──► 15 UP ──► 16 UV ──► 17 BS⇒BE ──► 20 alg ──► 21 extensions
//!    ──► 22 fmt ──► 23 attStmt ──► 24 trust ──► 25 id ≤ 1023 ──► 26 not registered
//!    ──► VerifiedRegistration (the credential record to store, step 27)
//! ```
//!
//! Steps 1-2 and 4 are the browser's; 18-19 (using BE/BS for policy) are left to the caller,
//! who gets both flags in the outcome.

use crate::attestation::{self, AttestationInput, AttestationOutcome, AttestationType};
use crate::authenticator_data::AuthenticatorData;
use crate::cbor::{self, Value};
use crate::ceremony::*;
use crate::cose::{CoseAlgorithm, CosePublicKey};
use crate::error::{Error, Step};
use crate::extensions::{self, ExtensionOutputs};
use crate::json::{ClientExtensionResults, RegistrationResponseJSON};
use crate::options::RegistrationState;
use crate::relying_party::{AttestationRequirement, RelyingParty};
use crate::trust::{self, Certificate};
use crate::wire::{self, RegistrationView};
use std::borrow::Cow;

/// Maximum credential id length (§7.1 step 25).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

/// How far the attestation could be trusted (§7.1 steps 24-25).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttestationTrust {
    /// The trust path chains to a configured anchor.
    Trusted {
        /// The anchor's subject.
        anchor_subject: String,
    },
    /// Self attestation or none: there is nothing to chain.
    NoTrustPath,
    /// The statement verified but no anchors are configured for its format or AAGUID, so the
    /// chain was not evaluated.
    NotEvaluated,
    /// The chain does not lead to a configured anchor, and the relying party's
    /// [`AttestationRequirement::Assess`] asked to record that rather than fail.
    Untrusted {
        /// Why the chain was not accepted.
        detail: String,
    },
}

/// A verified registration: everything the credential record needs (§7.1 step 27).
#[derive(Debug, Clone)]
pub struct VerifiedRegistration {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key, parsed and validated.
    pub public_key: CosePublicKey,
    /// The credential public key as the COSE bytes from authenticator data (what to store).
    pub public_key_cose: Vec<u8>,
    /// The key's algorithm.
    pub alg: CoseAlgorithm,
    /// The initial signature counter.
    pub sign_count: u32,
    /// The authenticator's AAGUID.
    pub aaguid: [u8; 16],
    /// The attestation statement format.
    pub fmt: String,
    /// The attestation type.
    pub attestation_type: AttestationType,
    /// The attestation trust path, leaf first.
    pub trust_path: Vec<Certificate>,
    /// Whether the trust path chains to a configured anchor.
    pub trust: AttestationTrust,
    /// The full attestation outcome (with compound components).
    pub attestation: AttestationOutcome,
    /// UP.
    pub user_present: bool,
    /// UV.
    pub user_verified: bool,
    /// BE: the credential can be synced (a multi-device passkey). Never changes afterwards.
    pub backup_eligible: bool,
    /// BS: the credential is currently backed up.
    pub backup_state: bool,
    /// The record's `uvInitialized`: the UV flag of this registration.
    pub uv_initialized: bool,
    /// Transports reported by the client.
    pub transports: Vec<String>,
    /// `platform` or `cross-platform`, when reported.
    pub authenticator_attachment: Option<String>,
    /// Checked extension outputs.
    pub extensions: ExtensionOutputs,
    /// The attestation object, kept for later re-verification (L3 credential record).
    pub attestation_object: Vec<u8>,
    /// The client data JSON, kept with the attestation object.
    pub client_data_json: Vec<u8>,
}

const fn s(n: u8) -> Step {
    Step::reg(n)
}

/// Parses a `RegistrationResponseJSON` text and verifies it (§7.1).
pub fn verify_registration_json(
    rp: &RelyingParty,
    state: &RegistrationState,
    json: &str,
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<VerifiedRegistration, Error> {
    verify(rp, state, wire::registration(json, s(3))?, is_registered)
}

/// Verifies a registration response (§7.1). `is_registered` answers step 26: whether a
/// credential id is already registered to any user.
pub fn verify_registration(
    rp: &RelyingParty,
    state: &RegistrationState,
    response: &RegistrationResponseJSON,
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<VerifiedRegistration, Error> {
    verify(rp, state, RegistrationView::from(response), is_registered)
}

fn verify(
    rp: &RelyingParty,
    state: &RegistrationState,
    response: RegistrationView<'_>,
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<VerifiedRegistration, Error> {
    // Step 3: an attestation response for a public-key credential.
    verify_credential_type(
        s(3),
        &response.ty,
        &response.id,
        &response.raw_id,
        response.id_is_raw_id_text,
    )?;
    let client_data_json = &response.client_data_json;
    // Steps 5-6.
    let c = parse_client_data(s(5), s(6), client_data_json)?;
    // Steps 7-11.
    verify_type(s(7), &c, "webauthn.create")?;
    verify_challenge(s(8), &c, &state.challenge)?;
    verify_origin(s(9), rp, &c)?;
    verify_cross_origin(s(10), rp, &c)?;
    verify_top_origin(s(11), rp, &c)?;
    // Step 12.
    let hash = client_data_hash(client_data_json);
    // Step 13.
    let att_obj = decode_attestation_object(&response.attestation_object)?;
    let ad = &att_obj.auth_data;
    // Step 14.
    verify_rp_id_hash(s(14), rp, ad, false)?;
    // Step 15.
    verify_user_present_unless_conditional(ad, state.conditional)?;
    // Step 16.
    verify_user_verified(s(16), ad, state.user_verification)?;
    // Step 17.
    verify_backup_flags(s(17), ad)?;
    let acd =
        ad.attested_credential_data
            .as_ref()
            .ok_or_else(|| Error::AttestationObjectInvalid {
                step: s(13),
                detail: "authenticator data has no attested credential data (AT flag clear)".into(),
            })?;
    // Step 20.
    let public_key = verify_algorithm(rp, state, acd.credential_public_key)?;
    // Step 21.
    let extensions = verify_extensions(state, &response.client_extension_results, ad)?;
    // Steps 22-23.
    let outcome = verify_attestation_statement(rp, &att_obj, &hash, &public_key)?;
    // Step 24.
    let trust = assess_trust(rp, att_obj.fmt, &acd.aaguid, &outcome)?;
    // Step 25.
    verify_credential_id(acd.credential_id, &response.raw_id)?;
    // Step 26.
    verify_not_registered(acd.credential_id, is_registered)?;

    Ok(VerifiedRegistration {
        credential_id: acd.credential_id.to_vec(),
        alg: public_key.alg(),
        public_key,
        public_key_cose: acd.credential_public_key.to_vec(),
        sign_count: ad.sign_count,
        aaguid: acd.aaguid,
        fmt: att_obj.fmt.to_string(),
        attestation_type: outcome.attestation_type,
        trust_path: outcome.trust_path.clone(),
        trust,
        attestation: outcome,
        user_present: ad.flags.user_present(),
        user_verified: ad.flags.user_verified(),
        backup_eligible: ad.flags.backup_eligible(),
        backup_state: ad.flags.backup_state(),
        uv_initialized: ad.flags.user_verified(),
        transports: response.transports.into_owned(),
        authenticator_attachment: response.authenticator_attachment.map(Cow::into_owned),
        extensions,
        attestation_object: response.attestation_object.into_owned(),
        client_data_json: response.client_data_json.into_owned(),
    })
}

/// A decoded attestation object.
struct AttestationObject<'a> {
    fmt: &'a str,
    auth_data: AuthenticatorData<'a>,
    att_stmt: Value<'a>,
}

/// §7.1 step 13: CBOR-decode the attestation object into `fmt`, `authData` and `attStmt`.
fn decode_attestation_object(bytes: &[u8]) -> Result<AttestationObject<'_>, Error> {
    let invalid = |detail: String| Error::AttestationObjectInvalid {
        step: s(13),
        detail,
    };
    let value = cbor::decode(bytes).map_err(|e| invalid(e.to_string()))?;
    let fmt = value
        .get_text("fmt")
        .and_then(Value::as_text)
        .ok_or_else(|| invalid("'fmt' is missing or not text".into()))?;
    let raw_auth_data = value
        .get_text("authData")
        .and_then(Value::as_bytes)
        .ok_or_else(|| invalid("'authData' is missing or not bytes".into()))?;
    // A map, except for the compound format (L3 §8.9), whose statement is an array.
    let att_stmt = value
        .get_text("attStmt")
        .filter(|v| v.as_map().is_some() || (fmt == "compound" && v.as_array().is_some()))
        .cloned()
        .ok_or_else(|| invalid("'attStmt' is missing or not a map".into()))?;
    let auth_data = AuthenticatorData::parse(raw_auth_data).map_err(|detail| {
        Error::AuthenticatorDataInvalid {
            step: s(13),
            detail,
        }
    })?;
    Ok(AttestationObject {
        fmt,
        auth_data,
        att_stmt,
    })
}

/// §7.1 step 15: unless `options.mediation` is `conditional`, UP must be set.
fn verify_user_present_unless_conditional(
    ad: &AuthenticatorData<'_>,
    conditional: bool,
) -> Result<(), Error> {
    if conditional {
        return Ok(());
    }
    verify_user_present(s(15), ad)
}

/// §7.1 step 20: the credential public key parses, is valid, and its `alg` was offered in
/// `pubKeyCredParams`.
fn verify_algorithm(
    rp: &RelyingParty,
    state: &RegistrationState,
    cose: &[u8],
) -> Result<CosePublicKey, Error> {
    let key = CosePublicKey::from_cbor(cose, &rp.key_policy).map_err(|detail| {
        Error::CredentialPublicKeyInvalid {
            step: s(20),
            detail,
        }
    })?;
    let alg = key.alg().id();
    if !state.algorithms.is_empty() && !state.algorithms.contains(&alg) {
        return Err(Error::AlgorithmNotAllowed {
            step: s(20),
            found: alg,
            allowed: state.algorithms.clone(),
        });
    }
    Ok(key)
}

/// §7.1 step 21: client and authenticator extension outputs are as expected.
fn verify_extensions(
    state: &RegistrationState,
    client: &ClientExtensionResults,
    ad: &AuthenticatorData<'_>,
) -> Result<ExtensionOutputs, Error> {
    extensions::check_outputs(&state.extensions, client, ad.extensions.as_ref()).map_err(|detail| {
        Error::ExtensionsInvalid {
            step: s(21),
            detail,
        }
    })
}

/// §7.1 steps 22-23: `fmt` is a supported format (case-sensitive), and `attStmt` verifies with
/// that format's procedure.
fn verify_attestation_statement(
    rp: &RelyingParty,
    att_obj: &AttestationObject<'_>,
    hash: &[u8; 32],
    key: &CosePublicKey,
) -> Result<AttestationOutcome, Error> {
    let input = AttestationInput {
        att_stmt: &att_obj.att_stmt,
        auth_data: &att_obj.auth_data,
        client_data_hash: hash,
        credential_public_key: key,
    };
    match attestation::verify_statement(att_obj.fmt, &input, &rp.attestation_options()) {
        None => Err(Error::UnsupportedAttestationFormat {
            step: s(22),
            fmt: att_obj.fmt.to_string(),
        }),
        Some(Err(detail)) => Err(Error::AttestationInvalid {
            step: s(23),
            fmt: att_obj.fmt.to_string(),
            detail,
        }),
        Some(Ok(outcome)) => Ok(outcome),
    }
}

/// §7.1 step 24: obtain the trust anchors for the format (and the AAGUID's metadata) and
/// assess the attestation: a trust path must chain to one of them. With no anchors configured
/// the chain is not evaluated, unless policy requires trusted attestation.
fn assess_trust(
    rp: &RelyingParty,
    fmt: &str,
    aaguid: &[u8; 16],
    outcome: &AttestationOutcome,
) -> Result<AttestationTrust, Error> {
    let untrusted = |detail: &str, chain| Error::AttestationUntrusted {
        step: s(24),
        detail: detail.to_string(),
        chain,
    };
    let required = rp.attestation_requirement == AttestationRequirement::Trusted;
    if outcome.trust_path.is_empty() {
        if required {
            return Err(untrusted(
                &format!(
                    "{} attestation cannot be trusted; this relying party requires attestation",
                    outcome.attestation_type
                ),
                None,
            ));
        }
        return Ok(AttestationTrust::NoTrustPath);
    }
    // A compound statement is trusted through its components' formats.
    let mut anchors = rp.anchors_for(fmt, aaguid);
    for (component_fmt, _) in &outcome.components {
        anchors.extend(&rp.anchors_for(component_fmt, aaguid));
    }
    if anchors.is_empty() {
        if required {
            return Err(untrusted(
                &format!("no trust anchors are configured for '{fmt}'"),
                None,
            ));
        }
        return Ok(AttestationTrust::NotEvaluated);
    }
    match trust::verify_chain(&outcome.trust_path, &anchors, rp.now(), &rp.chain_policy()) {
        Ok(v) => Ok(AttestationTrust::Trusted {
            anchor_subject: v.anchor_subject,
        }),
        Err(e) if rp.attestation_requirement == AttestationRequirement::Assess => {
            Ok(AttestationTrust::Untrusted {
                detail: e.to_string(),
            })
        }
        Err(e) => Err(untrusted(
            "the attestation certificate chain is not valid",
            Some(e),
        )),
    }
}

/// §7.1 step 25: the credential id is at most 1023 bytes, and it is the id the client reported.
fn verify_credential_id(credential_id: &[u8], raw_id: &[u8]) -> Result<(), Error> {
    if credential_id.len() > MAX_CREDENTIAL_ID_LEN {
        return Err(Error::CredentialIdTooLong {
            step: s(25),
            len: credential_id.len(),
        });
    }
    if credential_id != raw_id {
        return Err(Error::CredentialIdMismatch {
            step: s(25),
            detail: "rawId differs from the credential id in authenticator data".into(),
        });
    }
    Ok(())
}

/// §7.1 step 26: the credential id is not yet registered for any user (the caller's hook).
fn verify_not_registered(
    credential_id: &[u8],
    is_registered: &dyn Fn(&[u8]) -> bool,
) -> Result<(), Error> {
    if is_registered(credential_id) {
        return Err(Error::CredentialIdAlreadyRegistered { step: s(26) });
    }
    Ok(())
}
