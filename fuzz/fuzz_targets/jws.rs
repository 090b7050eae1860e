//! jws::Jws::parse + verify_signature on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_webauthn::jws::Jws;

fuzz_target!(|data: &[u8]| {
    if let Ok(jws) = Jws::parse(data) {
        assert!(!jws.x5c.is_empty());
        let _ = jws.verify_signature();
        let _ = format!("{jws:?}");
    }
});
