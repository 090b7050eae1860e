//! Compact JWS signing (RFC 7515) for FIDO MDS3 metadata BLOBs.
//!
//! The protected header is `{"alg":"ES256"|"RS256","typ":"JWT","x5c":[...]}` with standard
//! (padded) base64 DER certificates in `x5c`, as RFC 7515 §4.1.6 requires; header, payload and
//! signature are base64url without padding. ES256 signatures are the raw 64-byte `r || s`
//! (RFC 7518 §3.4), not DER.

use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaKeyPair};
use base64::Engine as _;

use crate::b64url;

fn header(alg: &str, x5c: &[Vec<u8>]) -> String {
    let certs: Vec<String> = x5c
        .iter()
        .map(|c| base64::engine::general_purpose::STANDARD.encode(c))
        .collect();
    serde_json::json!({ "alg": alg, "typ": "JWT", "x5c": certs }).to_string()
}

fn signing_input(alg: &str, x5c: &[Vec<u8>], payload: &[u8]) -> String {
    let mut s = b64url(header(alg, x5c).as_bytes());
    s.push('.');
    s.push_str(&b64url(payload));
    s
}

/// Signs `payload` as an ES256 compact JWS. `key` must be a P-256 key created with
/// `ECDSA_P256_SHA256_ASN1_SIGNING` (as [`crate::AttestationCert::ecdsa_key`] returns); its DER
/// signature is converted to the JWS `r || s` form.
pub fn sign_jwt_es256(header_x5c: &[Vec<u8>], payload: &[u8], key: &EcdsaKeyPair) -> String {
    let mut s = signing_input("ES256", header_x5c, payload);
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let der = key.sign(&rng, s.as_bytes()).expect("ECDSA sign");
    let raw = der_to_raw(der.as_ref(), 32);
    s.push('.');
    s.push_str(&b64url(&raw));
    s
}

/// Signs `payload` as an RS256 (RSASSA-PKCS1-v1_5 SHA-256) compact JWS.
pub fn sign_jwt_rs256(header_x5c: &[Vec<u8>], payload: &[u8], key: &RsaKeyPair) -> String {
    let mut s = signing_input("RS256", header_x5c, payload);
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let mut sig = vec![0u8; key.public_modulus_len()];
    key.sign(&signature::RSA_PKCS1_SHA256, &rng, s.as_bytes(), &mut sig)
        .expect("RSA sign");
    s.push('.');
    s.push_str(&b64url(&sig));
    s
}

/// Converts an ECDSA `SEQUENCE { INTEGER r, INTEGER s }` into fixed-width `r || s`.
pub fn der_to_raw(der: &[u8], width: usize) -> Vec<u8> {
    fn int(input: &[u8]) -> (&[u8], &[u8]) {
        assert_eq!(input[0], 0x02, "INTEGER");
        let len = usize::from(input[1]);
        (&input[2..2 + len], &input[2 + len..])
    }
    assert_eq!(der[0], 0x30, "SEQUENCE");
    let body = if der[1] == 0x81 { &der[3..] } else { &der[2..] };
    let (r, rest) = int(body);
    let (s, _) = int(rest);
    let mut out = vec![0u8; 2 * width];
    for (i, v) in [r, s].into_iter().enumerate() {
        let v = &v[v.len().saturating_sub(width)..];
        out[(i + 1) * width - v.len()..(i + 1) * width].copy_from_slice(v);
    }
    out
}
