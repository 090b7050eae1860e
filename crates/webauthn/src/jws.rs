//! Compact JSON Web Signatures (RFC 7515) signed with an `x5c` certificate chain, as the FIDO
//! Metadata Service BLOB and Android SafetyNet responses are. Only what those need: parse, read
//! the header, verify the signature with the leaf certificate's key.

use crate::b64;
use crate::trust::{Certificate, ChainError};
use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use serde::Deserialize;
use std::fmt;

/// Why a JWS is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JwsError {
    /// Not three base64url parts separated by dots.
    Format(String),
    /// The header is not the expected JSON.
    Header(String),
    /// The `alg` is not supported (or is `none`).
    UnsupportedAlgorithm(String),
    /// The header has no `x5c` chain.
    MissingX5c,
    /// A certificate in `x5c` is invalid.
    Certificate(ChainError),
    /// The signature does not verify with the leaf certificate's key.
    BadSignature,
}

impl fmt::Display for JwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Format(m) => write!(f, "not a compact JWS: {m}"),
            Self::Header(m) => write!(f, "JWS header is invalid: {m}"),
            Self::UnsupportedAlgorithm(a) => write!(f, "JWS algorithm '{a}' is not supported"),
            Self::MissingX5c => f.write_str("JWS header has no x5c certificate chain"),
            Self::Certificate(e) => write!(f, "JWS x5c: {e}"),
            Self::BadSignature => {
                f.write_str("JWS signature does not verify with the x5c leaf key")
            }
        }
    }
}

impl std::error::Error for JwsError {}

#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    x5c: Vec<String>,
}

/// A parsed compact JWS whose signature has not been checked yet.
#[derive(Debug, Clone)]
pub struct Jws {
    /// The `alg` header.
    pub alg: String,
    /// The `x5c` chain, leaf first.
    pub x5c: Vec<Certificate>,
    /// The decoded payload.
    pub payload: Vec<u8>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
}

impl Jws {
    /// Parses `header.payload.signature` (whitespace around it is ignored).
    pub fn parse(text: &[u8]) -> Result<Self, JwsError> {
        let text = std::str::from_utf8(text)
            .map_err(|_| JwsError::Format("not UTF-8".into()))?
            .trim();
        let mut parts = text.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Format(
                "expected three dot-separated parts".into(),
            ));
        };
        let decode = |part: &str, what: &str| {
            b64::decode(part).map_err(|e| JwsError::Format(format!("{what} is not base64url: {e}")))
        };
        let header_bytes = decode(h, "header")?;
        let header: Header =
            serde_json::from_slice(&header_bytes).map_err(|e| JwsError::Header(e.to_string()))?;
        if header.x5c.is_empty() {
            return Err(JwsError::MissingX5c);
        }
        let x5c = header
            .x5c
            .iter()
            .map(|c| {
                let der = b64::decode_standard(c)
                    .map_err(|e| JwsError::Header(format!("x5c entry is not base64: {e}")))?;
                Certificate::from_der(&der).map_err(JwsError::Certificate)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            alg: header.alg,
            x5c,
            payload: decode(p, "payload")?,
            signing_input: text.as_bytes()[..h.len() + 1 + p.len()].to_vec(),
            signature: decode(s, "signature")?,
        })
    }

    /// Verifies the signature with the leaf certificate of `x5c` (the chain itself is checked
    /// separately, against trust anchors).
    pub fn verify_signature(&self) -> Result<(), JwsError> {
        let leaf = self.x5c.first().ok_or(JwsError::MissingX5c)?;
        let material = leaf
            .key_material()
            .map_err(|e| JwsError::Header(format!("leaf key: {e}")))?;
        use crate::cose::{EcCurve, KeyMaterial};
        let (alg, key): (&'static dyn VerificationAlgorithm, Vec<u8>) =
            match (self.alg.as_str(), &material) {
                (
                    "ES256",
                    KeyMaterial::Ec2 {
                        curve: EcCurve::P256,
                        point,
                    },
                ) => (&sig::ECDSA_P256_SHA256_FIXED, point.clone()),
                (
                    "ES384",
                    KeyMaterial::Ec2 {
                        curve: EcCurve::P384,
                        point,
                    },
                ) => (&sig::ECDSA_P384_SHA384_FIXED, point.clone()),
                (
                    "ES512",
                    KeyMaterial::Ec2 {
                        curve: EcCurve::P521,
                        point,
                    },
                ) => (&sig::ECDSA_P521_SHA512_FIXED, point.clone()),
                ("RS256", KeyMaterial::Rsa { n, e }) => (
                    &sig::RSA_PKCS1_2048_8192_SHA256,
                    crate::cose::rsa_pkcs1_der(n, e),
                ),
                ("RS384", KeyMaterial::Rsa { n, e }) => (
                    &sig::RSA_PKCS1_2048_8192_SHA384,
                    crate::cose::rsa_pkcs1_der(n, e),
                ),
                ("RS512", KeyMaterial::Rsa { n, e }) => (
                    &sig::RSA_PKCS1_2048_8192_SHA512,
                    crate::cose::rsa_pkcs1_der(n, e),
                ),
                ("PS256", KeyMaterial::Rsa { n, e }) => (
                    &sig::RSA_PSS_2048_8192_SHA256,
                    crate::cose::rsa_pkcs1_der(n, e),
                ),
                ("EdDSA", KeyMaterial::Ed25519(x)) => (&sig::ED25519, x.to_vec()),
                (other, _) => return Err(JwsError::UnsupportedAlgorithm(other.to_string())),
            };
        sig::UnparsedPublicKey::new(alg, key)
            .verify(&self.signing_input, &self.signature)
            .map_err(|_| JwsError::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_malformed_tokens() {
        assert!(matches!(Jws::parse(b"a.b"), Err(JwsError::Format(_))));
        assert!(matches!(Jws::parse(b"a.b.c.d"), Err(JwsError::Format(_))));
        assert!(matches!(Jws::parse(b"!!.b.c"), Err(JwsError::Format(_))));
        // {"alg":"none"} has no x5c.
        assert_eq!(
            Jws::parse(b"eyJhbGciOiJub25lIn0.e30.").unwrap_err(),
            JwsError::MissingX5c
        );
    }
}
