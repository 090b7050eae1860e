//! Software WebAuthn authenticator and test PKI for passkeyd.
//!
//! This crate builds WebAuthn wire formats (authenticator data, COSE keys, attestation objects,
//! `clientDataJSON`, `PublicKeyCredential.toJSON()` output) byte by byte from the W3C WebAuthn
//! Level 3 specification. It deliberately does **not** depend on `passkeyd-webauthn`, so that it
//! is an independent check of the verifier.
//!
//! * [`SoftAuthenticator`] holds one credential for any [`Alg`] and produces registrations
//!   ([`SoftAuthenticator::register`]) and assertions ([`SoftAuthenticator::assert`]), in correct
//!   or deliberately broken ([`Tamper`]) variants.
//! * [`TestPki`] creates a root CA, an intermediate CA and packed-attestation leaf certificates
//!   (plus broken variants) with `rcgen`.
//! * [`jwt`] signs compact JWS objects (FIDO MDS3 metadata BLOBs) with ES256 or RS256.
//! * [`mds`] builds FIDO MDS3 BLOB payloads to sign with [`jwt`].
//! * [`cbor`] is the minimal CBOR encoder everything above is built with.
//!
//! ```
//! use passkeyd_testkit::{Alg, AssertParams, AttestationKind, RegisterParams, SoftAuthenticator, Tamper, TestPki};
//!
//! let pki = TestPki::new();
//! let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid([7; 16]);
//! let reg = auth.register(
//!     &RegisterParams::new(b"server challenge".to_vec(), "example.com", "https://example.com")
//!         .with_attestation(AttestationKind::PackedX5c(pki.attestation([7; 16]))),
//! );
//! assert_eq!(reg.json["type"], "public-key");
//!
//! let ok = auth.assert(&AssertParams::new(b"c2".to_vec(), "example.com", "https://example.com"));
//! let bad = auth.assert(
//!     &AssertParams::new(b"c3".to_vec(), "example.com", "https://example.com")
//!         .with_tamper(Tamper::FlipSignatureBit),
//! );
//! assert_ne!(ok.signature, bad.signature);
//! ```
//!
//! Key generation happens once per [`SoftAuthenticator`] (and once per process for RSA), so
//! producing an assertion costs one signature plus a few small allocations.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authenticator;
pub mod cbor;
pub mod cose;
pub mod jwt;
pub mod mds;
pub mod pki;
mod rsa_legacy;

pub use authenticator::{
    AssertParams, Assertion, AttestationKind, FLAG_AT, FLAG_BE, FLAG_BS, FLAG_ED, FLAG_UP, FLAG_UV,
    RegisterParams, Registration, SoftAuthenticator, Tamper,
};
pub use cose::Alg;
pub use jwt::{sign_jwt_es256, sign_jwt_rs256};
pub use pki::{AaguidExtension, AttestationCert, CertAlg, LeafIssuer, LeafOptions, TestPki};

use base64::Engine as _;

/// Encodes `data` as base64url without padding (the encoding WebAuthn JSON uses).
pub fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// Decodes unpadded base64url; returns `None` on any error (including padding).
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .ok()
}

/// SHA-256 of `data`.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Fills a fresh vector of `len` bytes from the system CSPRNG.
pub fn random_bytes(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut v).expect("system RNG failed");
    v
}

#[cfg(test)]
mod tests;
