//! authentication::verify_assertion_json (§7.2) with the fixed relying party, authentication
//! state and credential record of passkeyd_fuzz, on arbitrary UTF-8.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{authentication_state, credential_record, relying_party};
use passkeyd_webauthn::authentication::verify_assertion_json;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else {
        return;
    };
    let record = credential_record();
    if let Ok(v) = verify_assertion_json(relying_party(), authentication_state(), json, &record) {
        assert_eq!(v.credential_id, record.credential_id);
        assert!(v.new_sign_count >= record.sign_count);
    }
});
