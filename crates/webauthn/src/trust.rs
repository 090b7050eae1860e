//! X.509 certificates and attestation trust: certificate-chain validation to operator-supplied
//! trust anchors at a given time (RFC 5280 §6, the parts attestation needs), and signature checks
//! with a certificate's public key.
//!
//! Chain validation checks, for each certificate from the leaf up: validity at the verification
//! time, that its issuer name equals the next certificate's subject, that the next certificate
//! is a CA (basicConstraints cA, keyCertSign if key usage is present, path length), and that
//! the signature verifies with the issuer's key. The chain is trusted when a certificate in it is
//! a trust anchor, or the last one is signed by an anchor. Signature algorithms use AWS-LC;
//! SHA-1-signed certificates are refused unless [`ChainPolicy::allow_sha1`] is set.

use crate::cose::{CoseAlgorithm, CoseError, CosePublicKey, EcCurve, KeyMaterial, KeyPolicy};
use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use std::fmt;
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;

/// Seconds since the Unix epoch, the time certificates are checked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct UnixTime(pub i64);

impl UnixTime {
    /// The current system time.
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self(secs)
    }

    /// Parses an RFC 3339 date-time such as `2024-05-01T00:00:00Z` (offsets allowed).
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        let num = |r: std::ops::Range<usize>| -> Option<i64> { text.get(r)?.parse().ok() };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
            return None;
        }
        let mut rest = &text[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            rest = &frac[digits..];
        }
        let offset = match rest {
            "Z" | "z" => 0,
            _ if rest.len() == 6 && (rest.starts_with('+') || rest.starts_with('-')) => {
                let oh: i64 = rest.get(1..3)?.parse().ok()?;
                let om: i64 = rest.get(4..6)?.parse().ok()?;
                let o = oh * 3600 + om * 60;
                if rest.starts_with('-') { -o } else { o }
            }
            _ => return None,
        };
        // Days from civil (Howard Hinnant's algorithm).
        let (y2, m2) = if mo <= 2 {
            (y - 1, mo + 9)
        } else {
            (y, mo - 3)
        };
        let era = y2.div_euclid(400);
        let yoe = y2 - era * 400;
        let doy = (153 * m2 + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146097 + doe - 719468;
        Some(Self(days * 86400 + h * 3600 + mi * 60 + s - offset))
    }
}

/// Rules for certificate-chain validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChainPolicy {
    /// Accept certificates signed with SHA-1. Default `false`.
    pub allow_sha1: bool,
}

/// A certificate parsed once and kept with its DER.
#[derive(Clone)]
pub struct Certificate {
    der: Vec<u8>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.parsed() {
            Ok(c) => write!(f, "Certificate({})", c.subject()),
            Err(_) => f.write_str("Certificate(<unparseable>)"),
        }
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

/// Why a certificate or chain is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainError {
    /// The chain has no certificate.
    Empty,
    /// A certificate is not valid DER X.509.
    Parse(String),
    /// A certificate is not yet valid at the verification time.
    NotYetValid {
        /// The certificate's subject.
        subject: String,
        /// Its notBefore, seconds since the epoch.
        not_before: i64,
        /// The verification time.
        at: i64,
    },
    /// A certificate has expired at the verification time.
    Expired {
        /// The certificate's subject.
        subject: String,
        /// Its notAfter, seconds since the epoch.
        not_after: i64,
        /// The verification time.
        at: i64,
    },
    /// A certificate's issuer is not the next certificate's subject.
    IssuerMismatch {
        /// The certificate.
        subject: String,
        /// Its issuer name.
        issuer: String,
        /// The next certificate's subject.
        next: String,
    },
    /// An issuing certificate is not a CA.
    NotACa(String),
    /// A CA's path length constraint is exceeded.
    PathLenExceeded(String),
    /// A signature algorithm that is not supported (or not allowed by policy).
    UnsupportedSignatureAlgorithm(String),
    /// A certificate's signature does not verify with its issuer's key.
    BadSignature(String),
    /// No trust anchor issued the chain.
    UntrustedRoot {
        /// The issuer of the last certificate in the chain.
        issuer: String,
    },
}

impl fmt::Display for ChainError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the certificate chain is empty"),
            Self::Parse(e) => write!(f, "certificate is not valid X.509: {e}"),
            Self::NotYetValid {
                subject,
                not_before,
                at,
            } => write!(
                f,
                "certificate '{subject}' is not valid before {not_before} (checked at {at})"
            ),
            Self::Expired {
                subject,
                not_after,
                at,
            } => write!(
                f,
                "certificate '{subject}' expired at {not_after} (checked at {at})"
            ),
            Self::IssuerMismatch {
                subject,
                issuer,
                next,
            } => write!(
                f,
                "certificate '{subject}' was issued by '{issuer}', but the next certificate is '{next}'"
            ),
            Self::NotACa(s) => write!(f, "certificate '{s}' issues certificates but is not a CA"),
            Self::PathLenExceeded(s) => write!(f, "path length constraint of '{s}' exceeded"),
            Self::UnsupportedSignatureAlgorithm(a) => {
                write!(
                    f,
                    "certificate signature algorithm {a} is not supported or not allowed"
                )
            }
            Self::BadSignature(s) => {
                write!(
                    f,
                    "signature on certificate '{s}' does not verify with its issuer's key"
                )
            }
            Self::UntrustedRoot { issuer } => {
                write!(
                    f,
                    "the chain does not lead to a configured trust anchor (last issuer '{issuer}')"
                )
            }
        }
    }
}

impl std::error::Error for ChainError {}

impl Certificate {
    /// Parses a DER certificate; trailing bytes are refused.
    pub fn from_der(der: &[u8]) -> Result<Self, ChainError> {
        let (rest, _) =
            X509Certificate::from_der(der).map_err(|e| ChainError::Parse(e.to_string()))?;
        if !rest.is_empty() {
            return Err(ChainError::Parse(format!(
                "{} bytes after the certificate",
                rest.len()
            )));
        }
        Ok(Self { der: der.to_vec() })
    }

    /// Every certificate in PEM text.
    pub fn all_from_pem(pem: &[u8]) -> Result<Vec<Self>, ChainError> {
        let mut out = Vec::new();
        for item in x509_parser::pem::Pem::iter_from_buffer(pem) {
            let item = item.map_err(|e| ChainError::Parse(e.to_string()))?;
            if item.label == "CERTIFICATE" {
                out.push(Self::from_der(&item.contents)?);
            }
        }
        Ok(out)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The parsed certificate (re-parsed on demand; parsing is cheap and borrows the DER).
    pub fn parsed(&self) -> Result<X509Certificate<'_>, ChainError> {
        X509Certificate::from_der(&self.der)
            .map(|(_, c)| c)
            .map_err(|e| ChainError::Parse(e.to_string()))
    }

    /// The subject as a one-line string.
    pub fn subject(&self) -> String {
        self.parsed()
            .map(|c| c.subject().to_string())
            .unwrap_or_default()
    }

    /// The subject public key as COSE-style key material (EC P-256/384/521, RSA, Ed25519).
    pub fn key_material(&self) -> Result<KeyMaterial, CoseError> {
        let cert = self
            .parsed()
            .map_err(|e| CoseError::InvalidKey(e.to_string()))?;
        spki_material(cert.public_key())
    }

    /// Verifies `signature` over `message` with this certificate's public key, using the COSE
    /// algorithm an attestation statement names (`alg`): packed, tpm and android-key attestation
    /// signatures are checked this way.
    pub fn verify_signature(
        &self,
        alg: CoseAlgorithm,
        message: &[u8],
        signature: &[u8],
        policy: &KeyPolicy,
    ) -> Result<(), CoseError> {
        let key = CosePublicKey::new(alg, self.key_material()?, policy)?;
        key.verify(message, signature)
    }
}

const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

fn spki_material(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Result<KeyMaterial, CoseError> {
    let alg = spki.algorithm.algorithm.to_id_string();
    match alg.as_str() {
        OID_EC_PUBLIC_KEY => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .unwrap_or_default();
            let curve = match curve_oid.as_str() {
                OID_P256 => EcCurve::P256,
                OID_P384 => EcCurve::P384,
                OID_P521 => EcCurve::P521,
                other => {
                    return Err(CoseError::InvalidKey(format!(
                        "unsupported certificate curve {other}"
                    )));
                }
            };
            let point = spki.subject_public_key.data.to_vec();
            if point.len() != 1 + 2 * curve.coordinate_len() || point[0] != 4 {
                return Err(CoseError::InvalidKey(
                    "certificate EC key is not an uncompressed point".into(),
                ));
            }
            Ok(KeyMaterial::Ec2 { curve, point })
        }
        OID_RSA => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => {
                let strip = |b: &[u8]| {
                    let i = b.iter().position(|&x| x != 0).unwrap_or(b.len());
                    b[i..].to_vec()
                };
                Ok(KeyMaterial::Rsa {
                    n: strip(rsa.modulus),
                    e: strip(rsa.exponent),
                })
            }
            _ => Err(CoseError::InvalidKey(
                "certificate RSA key is malformed".into(),
            )),
        },
        OID_ED25519 => Ok(KeyMaterial::Ed25519(
            spki.subject_public_key
                .data
                .as_ref()
                .try_into()
                .map_err(|_| CoseError::InvalidKey("Ed25519 key must have 32 bytes".into()))?,
        )),
        other => Err(CoseError::InvalidKey(format!(
            "unsupported certificate key algorithm {other}"
        ))),
    }
}

/// A set of trust anchors (root certificates) for attestation or metadata.
#[derive(Debug, Clone, Default)]
pub struct TrustAnchors {
    anchors: Vec<Certificate>,
}

impl TrustAnchors {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every certificate in PEM text as an anchor.
    pub fn from_pem(pem: &[u8]) -> Result<Self, ChainError> {
        Ok(Self {
            anchors: Certificate::all_from_pem(pem)?,
        })
    }

    /// Adds an anchor.
    pub fn add(&mut self, cert: Certificate) {
        if !self.anchors.contains(&cert) {
            self.anchors.push(cert);
        }
    }

    /// Adds every anchor of another set.
    pub fn extend(&mut self, other: &TrustAnchors) {
        for c in &other.anchors {
            self.add(c.clone());
        }
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.anchors.is_empty()
    }

    /// The anchors.
    pub fn certificates(&self) -> &[Certificate] {
        &self.anchors
    }
}

/// A chain validated to a trust anchor.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidatedChain {
    /// The anchor that terminated the chain.
    pub anchor: Certificate,
    /// The anchor's subject.
    pub anchor_subject: String,
}

fn check_time(cert: &X509Certificate<'_>, at: UnixTime) -> Result<(), ChainError> {
    let nb = cert.validity().not_before.timestamp();
    let na = cert.validity().not_after.timestamp();
    if at.0 < nb {
        return Err(ChainError::NotYetValid {
            subject: cert.subject().to_string(),
            not_before: nb,
            at: at.0,
        });
    }
    if at.0 > na {
        return Err(ChainError::Expired {
            subject: cert.subject().to_string(),
            not_after: na,
            at: at.0,
        });
    }
    Ok(())
}

/// The aws-lc-rs verifier for a certificate signature algorithm and the issuer's key.
fn cert_signature_algorithm(
    sig_oid: &str,
    params: Option<&x509_parser::der_parser::asn1_rs::Any<'_>>,
    issuer_key: &KeyMaterial,
    policy: &ChainPolicy,
) -> Option<&'static dyn VerificationAlgorithm> {
    use EcCurve::*;
    let sha1_ok = policy.allow_sha1;
    let alg: &'static dyn VerificationAlgorithm = match (sig_oid, issuer_key) {
        ("1.2.840.113549.1.1.11", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA512,
        ("1.2.840.113549.1.1.5", KeyMaterial::Rsa { .. }) if sha1_ok => {
            &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY
        }
        ("1.2.840.113549.1.1.10", KeyMaterial::Rsa { .. }) => {
            // RSASSA-PSS (RFC 4055): the hash algorithm is in the parameters; default SHA-256.
            let der = params.map(|p| p.data).unwrap_or_default();
            let names = |last: u8| {
                let oid = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, last];
                der.windows(oid.len()).any(|w| w == oid)
            };
            if names(0x03) {
                &sig::RSA_PSS_2048_8192_SHA512
            } else if names(0x02) {
                &sig::RSA_PSS_2048_8192_SHA384
            } else {
                &sig::RSA_PSS_2048_8192_SHA256
            }
        }
        ("1.2.840.10045.4.3.2", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA256_ASN1,
            P384 => &sig::ECDSA_P384_SHA256_ASN1,
            P521 => &sig::ECDSA_P521_SHA256_ASN1,
        },
        ("1.2.840.10045.4.3.3", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA384_ASN1,
            P384 => &sig::ECDSA_P384_SHA384_ASN1,
            P521 => &sig::ECDSA_P521_SHA384_ASN1,
        },
        ("1.2.840.10045.4.3.4", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA512_ASN1,
            P384 => &sig::ECDSA_P384_SHA512_ASN1,
            P521 => &sig::ECDSA_P521_SHA512_ASN1,
        },
        ("1.2.840.10045.4.1", KeyMaterial::Ec2 { curve, .. }) if sha1_ok => match curve {
            P256 => &sig::ECDSA_P256_SHA1_ASN1,
            P521 => &sig::ECDSA_P521_SHA1_ASN1,
            P384 => return None,
        },
        ("1.3.101.112", KeyMaterial::Ed25519(_)) => &sig::ED25519,
        _ => return None,
    };
    Some(alg)
}

fn issuer_key_bytes(material: &KeyMaterial) -> Vec<u8> {
    match material {
        KeyMaterial::Ec2 { point, .. } => point.clone(),
        KeyMaterial::Ed25519(x) => x.to_vec(),
        KeyMaterial::Rsa { n, e } => crate::cose::rsa_pkcs1_der(n, e),
        KeyMaterial::Ed448(x) | KeyMaterial::MlDsa(x) => x.clone(),
    }
}

/// Verifies that `issuer` signed `cert`.
fn verify_issued_by(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    policy: &ChainPolicy,
) -> Result<(), ChainError> {
    let subject = || cert.subject().to_string();
    if cert.issuer().as_raw() != issuer.subject().as_raw() {
        return Err(ChainError::IssuerMismatch {
            subject: subject(),
            issuer: cert.issuer().to_string(),
            next: issuer.subject().to_string(),
        });
    }
    let key = spki_material(issuer.public_key()).map_err(|e| ChainError::Parse(e.to_string()))?;
    let oid = cert.signature_algorithm.algorithm.to_id_string();
    let alg = cert_signature_algorithm(
        &oid,
        cert.signature_algorithm.parameters.as_ref(),
        &key,
        policy,
    )
    .ok_or(ChainError::UnsupportedSignatureAlgorithm(oid))?;
    sig::UnparsedPublicKey::new(alg, issuer_key_bytes(&key))
        .verify(cert.tbs_certificate.as_ref(), &cert.signature_value.data)
        .map_err(|_| ChainError::BadSignature(subject()))
}

fn check_ca(issuer: &X509Certificate<'_>, below: usize) -> Result<(), ChainError> {
    let name = || issuer.subject().to_string();
    let bc = issuer
        .basic_constraints()
        .map_err(|e| ChainError::Parse(e.to_string()))?;
    match bc {
        Some(bc) if bc.value.ca => {
            if let Some(max) = bc.value.path_len_constraint {
                // `below` counts the intermediate CAs between this issuer and the leaf.
                if below > max as usize {
                    return Err(ChainError::PathLenExceeded(name()));
                }
            }
        }
        // A version 1 certificate has no extensions; RFC 5280 §6.1.4(k) lets such a
        // certificate act as a CA only when it is a trust anchor, which is handled by the caller.
        _ => return Err(ChainError::NotACa(name())),
    }
    if let Ok(Some(ku)) = issuer.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(ChainError::NotACa(name()));
    }
    Ok(())
}

/// Validates `chain` (leaf first, as in `x5c`) to one of `anchors` at time `at`.
pub fn verify_chain(
    chain: &[Certificate],
    anchors: &TrustAnchors,
    at: UnixTime,
    policy: &ChainPolicy,
) -> Result<ValidatedChain, ChainError> {
    if chain.is_empty() {
        return Err(ChainError::Empty);
    }
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .map(Certificate::parsed)
        .collect::<Result<_, _>>()?;
    let is_anchor = |c: &Certificate| anchors.certificates().iter().find(|a| *a == c);

    for (i, cert) in parsed.iter().enumerate() {
        check_time(cert, at)?;
        // A certificate of the chain that is itself an anchor ends the path.
        if let Some(anchor) = is_anchor(&chain[i]) {
            return Ok(ValidatedChain {
                anchor: anchor.clone(),
                anchor_subject: cert.subject().to_string(),
            });
        }
        if let Some(issuer) = parsed.get(i + 1) {
            check_ca(issuer, i)?;
            verify_issued_by(cert, issuer, policy)?;
        }
    }

    let last = parsed.last().ok_or(ChainError::Empty)?;
    let intermediates = parsed.len() - 1;
    let mut last_error = None;
    for anchor in anchors.certificates() {
        let a = anchor.parsed()?;
        if a.subject().as_raw() != last.issuer().as_raw() {
            continue;
        }
        let attempt = check_time(&a, at)
            .and_then(|()| {
                // Anchors are trusted by configuration; a version 1 root has no
                // basicConstraints and is accepted as a CA (RFC 5280 §6.1.4(k)).
                if a.basic_constraints().ok().flatten().is_some() {
                    check_ca(&a, intermediates)
                } else {
                    Ok(())
                }
            })
            .and_then(|()| verify_issued_by(last, &a, policy));
        match attempt {
            Ok(()) => {
                return Ok(ValidatedChain {
                    anchor: anchor.clone(),
                    anchor_subject: a.subject().to_string(),
                });
            }
            Err(e) => last_error = Some(e),
        }
    }
    Err(last_error.unwrap_or_else(|| ChainError::UntrustedRoot {
        issuer: last.issuer().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parsing() {
        assert_eq!(
            UnixTime::parse_rfc3339("1970-01-01T00:00:00Z"),
            Some(UnixTime(0))
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2024-02-29T12:34:56Z"),
            Some(UnixTime(1709210096))
        );
        assert_eq!(
            UnixTime::parse_rfc3339("2024-02-29T13:34:56.25+01:00"),
            Some(UnixTime(1709210096))
        );
        assert_eq!(UnixTime::parse_rfc3339("2024-13-01T00:00:00Z"), None);
        assert_eq!(UnixTime::parse_rfc3339("yesterday"), None);
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(matches!(
            Certificate::from_der(&[0x30, 0x03, 1, 2, 3]),
            Err(ChainError::Parse(_))
        ));
        assert_eq!(
            verify_chain(
                &[],
                &TrustAnchors::new(),
                UnixTime(0),
                &ChainPolicy::default()
            ),
            Err(ChainError::Empty)
        );
    }
}
