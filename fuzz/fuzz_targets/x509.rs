//! trust::Certificate::from_der (+ all_from_pem for PEM-looking input), key_material,
//! verify_signature and trust::verify_chain against fixed trust anchors at a fixed time.
//! The input is a chain of concatenated DER certificates, leaf first (like x5c).
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{COSE_MESSAGE, FIXED_TIME, PERMISSIVE_KEYS, all_anchors, split_der, time};
use passkeyd_webauthn::cose::{CoseAlgorithm, CosePublicKey};
use passkeyd_webauthn::trust::{self, Certificate, ChainPolicy};

fuzz_target!(|data: &[u8]| {
    let certs: Vec<Certificate> = if data.first() == Some(&b'-') {
        Certificate::all_from_pem(data).unwrap_or_default()
    } else {
        split_der(data)
            .into_iter()
            .filter_map(|der| Certificate::from_der(der).ok())
            .collect()
    };
    for c in &certs {
        let _ = c.subject();
        let _ = format!("{c:?}");
        if let Ok(m) = c.key_material() {
            for alg in [CoseAlgorithm::Es256, CoseAlgorithm::Rs256, CoseAlgorithm::EdDsa] {
                if let Ok(k) = CosePublicKey::new(alg, m.clone(), &PERMISSIVE_KEYS) {
                    let _ = k.to_cbor();
                }
                let _ = c.verify_signature(alg, COSE_MESSAGE, c.der(), &PERMISSIVE_KEYS);
            }
        }
    }
    let anchors = all_anchors();
    for allow_sha1 in [false, true] {
        let _ = trust::verify_chain(&certs, anchors, time(FIXED_TIME), &ChainPolicy { allow_sha1 });
    }
});
