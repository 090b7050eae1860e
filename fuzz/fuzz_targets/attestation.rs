//! Every attestation statement format through attestation::verify_statement.
//!
//! Input: `[selector][clientDataHash: 32 bytes][attStmt: one CBOR item][authData: the rest]`.
//! Selector bits 0..=2 pick the format in attestation::SUPPORTED_FORMATS, bits 3..=6 the
//! verification time (passkeyd_fuzz::ATTESTATION_TIMES). The credential key is the attested
//! credential public key of authData when it parses, else a fixed valid ES256 key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{ATTESTATION_TIMES, PERMISSIVE_KEYS, attestation_options, credential_key, time};
use passkeyd_webauthn::attestation::{self, AttestationInput, SUPPORTED_FORMATS};
use passkeyd_webauthn::authenticator_data::AuthenticatorData;
use passkeyd_webauthn::cbor;
use passkeyd_webauthn::cose::CosePublicKey;

fuzz_target!(|data: &[u8]| {
    if data.len() < 33 {
        return;
    }
    let selector = data[0];
    let fmt = SUPPORTED_FORMATS[usize::from(selector & 7)];
    let at = time(ATTESTATION_TIMES[usize::from((selector >> 3) & 15)]);
    let client_data_hash: &[u8; 32] = data[1..33].try_into().unwrap();
    let rest = &data[33..];
    let Ok(stmt_len) = cbor::item_len(rest) else {
        return;
    };
    let (stmt_bytes, auth_data_bytes) = rest.split_at(stmt_len);
    let Ok(att_stmt) = cbor::decode(stmt_bytes) else {
        return;
    };
    let Ok(auth_data) = AuthenticatorData::parse(auth_data_bytes) else {
        return;
    };
    let attested = auth_data
        .attested_credential_data
        .as_ref()
        .and_then(|a| CosePublicKey::from_cbor(a.credential_public_key, &PERMISSIVE_KEYS).ok());
    let credential_public_key = attested.as_ref().unwrap_or_else(|| credential_key());
    let input = AttestationInput {
        att_stmt: &att_stmt,
        auth_data: &auth_data,
        client_data_hash,
        credential_public_key,
    };
    let options = attestation_options(at);
    let outcome = attestation::verify_statement(fmt, &input, &options)
        .expect("every SUPPORTED_FORMATS entry is supported");
    if let Ok(o) = outcome {
        let _ = (o.attestation_type.as_str(), o.trust_path.len(), o.components.len());
    }
});
