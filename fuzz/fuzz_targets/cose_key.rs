//! cose::CosePublicKey::from_cbor with a permissive (RS1, RSA-1024) and the default policy.
//! The input is one CBOR item (the COSE_Key) followed by a signature that is verified over a
//! fixed message. Property: from_cbor ok ⇒ to_cbor re-parses to an equal key with equal bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{COSE_MESSAGE, PERMISSIVE_KEYS};
use passkeyd_webauthn::cbor;
use passkeyd_webauthn::cose::{CosePublicKey, KeyPolicy};

fuzz_target!(|data: &[u8]| {
    let split = cbor::item_len(data).unwrap_or(data.len());
    let (key_bytes, signature) = data.split_at(split);
    for policy in [PERMISSIVE_KEYS, KeyPolicy::default()] {
        let Ok(key) = CosePublicKey::from_cbor(key_bytes, &policy) else {
            continue;
        };
        let encoded = key.to_cbor();
        let again = CosePublicKey::from_cbor(&encoded, &policy)
            .unwrap_or_else(|e| panic!("to_cbor of {key:?} does not re-parse: {e}"));
        assert_eq!(again, key, "to_cbor round trip changed the key");
        assert_eq!(again.to_cbor(), encoded, "to_cbor is not stable");
        let _ = key.verify(COSE_MESSAGE, signature);
        let _ = key.verify(signature, signature);
        let _ = format!("{key:?} {}", key.alg());
    }
});
