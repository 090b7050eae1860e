//! The JWT verifier of passkeyd's token service (`crates/server/src/tokens.rs`): any bytes go to
//! `TokenSigner::verify_bytes` for both algorithms; nothing may panic, and an accepted token must
//! be one of the two the harness signed.
#![no_main]

#[allow(dead_code, unreachable_pub)]
#[path = "../../crates/server/src/tokens.rs"]
mod tokens;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tokens::{Algorithm, Claims, TokenConfig, TokenSigner};

const NOW: u64 = 1_800_000_000;

struct Fixture {
    signers: Vec<(TokenSigner, String)>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let signers = [Algorithm::Es256, Algorithm::EdDsa]
            .into_iter()
            .map(|algorithm| {
                let config = TokenConfig {
                    algorithm,
                    ..TokenConfig::default()
                };
                let signer = TokenSigner::new(config, NOW - 10).expect("signer");
                let claims = Claims {
                    iss: "https://login.example".into(),
                    aud: "app".into(),
                    sub: "user".into(),
                    sid: "session".into(),
                    iat: NOW - 5,
                    exp: NOW + 60,
                    nbf: None,
                    auth_time: NOW - 5,
                    amr: vec!["swk".into(), "user".into()],
                    acr: "phr".into(),
                    extra: Default::default(),
                };
                let token = signer.sign(&claims).expect("sign");
                (signer, token)
            })
            .collect();
        Fixture { signers }
    })
}

fuzz_target!(|data: &[u8]| {
    for (signer, token) in &fixture().signers {
        if let Ok(claims) = signer.verify_bytes(data, NOW, "https://login.example", "app") {
            // Only the signed token verifies; anything else would be a forgery.
            assert_eq!(data, token.as_bytes(), "accepted a token the harness did not sign");
            assert_eq!(claims.sub, "user");
        }
        // Mutations of a valid token reach the payload parser behind the signature.
        if !data.is_empty() {
            let mut t = token.clone().into_bytes();
            let at = usize::from(data[0]) * 7 % t.len();
            t[at] = data.get(1).copied().unwrap_or(b'A');
            let accepted = signer.verify_bytes(&t, NOW, "https://login.example", "app").is_ok();
            assert!(!accepted || t == token.as_bytes(), "a mutated token verified");
        }
    }
});
