//! registration::verify_registration_json (§7.1, every attestation format) with the fixed
//! relying party and registration state of passkeyd_fuzz, on arbitrary UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{REGISTERED_ID, registration_state, relying_party};
use passkeyd_webauthn::registration::verify_registration_json;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let is_registered = |id: &[u8]| id == REGISTERED_ID;
    if let Ok(r) = verify_registration_json(relying_party(), registration_state(), json, &is_registered) {
        // A verified registration's stored key must load again (what a server does next).
        let policy = relying_party().key_policy;
        let k = passkeyd_webauthn::cose::CosePublicKey::from_cbor(&r.public_key_cose, &policy)
            .expect("public_key_cose of a verified registration re-parses");
        assert_eq!(k, r.public_key);
        let _ = (r.fmt.len(), r.attestation_type, &r.trust, r.sign_count);
    }
});
