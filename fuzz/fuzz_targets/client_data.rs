//! client_data::utf8_decode + parse (+ token_binding_error), and the JSON response types
//! json::RegistrationResponseJSON / AuthenticationResponseJSON via serde_json::from_slice, with a
//! serialize → deserialize round trip for the response types.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_webauthn::client_data;
use passkeyd_webauthn::json::{AuthenticationResponseJSON, RegistrationResponseJSON};

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = client_data::utf8_decode(data) {
        if let Ok(c) = client_data::parse(text) {
            if let Some(tb) = &c.token_binding {
                let _ = client_data::token_binding_error(tb);
            }
            let _ = (c.ty.len(), c.challenge.len(), c.origin.len(), c.cross_origin, &c.top_origin);
        }
    }
    if let Ok(r) = serde_json::from_slice::<RegistrationResponseJSON>(data) {
        let out = serde_json::to_vec(&r).expect("serialize RegistrationResponseJSON");
        let back: RegistrationResponseJSON =
            serde_json::from_slice(&out).expect("RegistrationResponseJSON round trip parses");
        assert_eq!(back, r);
    }
    if let Ok(a) = serde_json::from_slice::<AuthenticationResponseJSON>(data) {
        let out = serde_json::to_vec(&a).expect("serialize AuthenticationResponseJSON");
        let back: AuthenticationResponseJSON =
            serde_json::from_slice(&out).expect("AuthenticationResponseJSON round trip parses");
        assert_eq!(back, a);
    }
});
