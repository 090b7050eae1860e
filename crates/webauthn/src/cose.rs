//! COSE keys and signatures (RFC 9052/9053, RFC 9864 fully-specified algorithms,
//! draft-ietf-cose-dilithium for ML-DSA), validated when parsed and prepared once for fast
//! verification.
//!
//! Supported algorithms:
//!
//! | COSE id | name | key |
//! |---|---|---|
//! | -7, -9 | ES256, ESP256 | EC2 (P-256; ES256 also P-384/P-521) |
//! | -35, -51 | ES384, ESP384 | EC2 (P-384; ES384 also P-256/P-521) |
//! | -36, -52 | ES512, ESP512 | EC2 (P-521; ES512 also P-256/P-384) |
//! | -8 | EdDSA | OKP Ed25519 or Ed448 |
//! | -19, -53 | Ed25519, Ed448 | OKP |
//! | -257, -258, -259 | RS256, RS384, RS512 | RSA |
//! | -37, -38, -39 | PS256, PS384, PS512 | RSA |
//! | -65535 | RS1 | RSA, only with [`KeyPolicy::allow_rs1`] |
//! | -48, -49, -50 | ML-DSA-44, ML-DSA-65, ML-DSA-87 | AKP |
//!
//! Keys are checked when parsed: the curve point must be on the curve (AWS-LC validates it),
//! an Ed448 point must decompress, an RSA modulus must have at least
//! [`KeyPolicy::min_rsa_bits`] bits, an ML-DSA key must have its parameter set's exact length.
//! AWS-LC (through aws-lc-rs) does every check it offers; Ed448, which it lacks, comes from the
//! RustCrypto `ed448-goldilocks` crate.

use crate::cbor::{self, CborError, Value};
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use std::fmt;

/// A COSE signature algorithm WebAuthn credentials use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CoseAlgorithm {
    /// ECDSA with SHA-256 (-7).
    Es256,
    /// ECDSA with SHA-384 (-35).
    Es384,
    /// ECDSA with SHA-512 (-36).
    Es512,
    /// ECDSA on P-256 with SHA-256, fully specified (-9).
    Esp256,
    /// ECDSA on P-384 with SHA-384, fully specified (-51).
    Esp384,
    /// ECDSA on P-521 with SHA-512, fully specified (-52).
    Esp512,
    /// EdDSA; the key's curve says Ed25519 or Ed448 (-8).
    EdDsa,
    /// Ed25519, fully specified (-19).
    Ed25519,
    /// Ed448, fully specified (-53).
    Ed448,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (-257).
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (-258).
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (-259).
    Rs512,
    /// RSASSA-PSS with SHA-256 (-37).
    Ps256,
    /// RSASSA-PSS with SHA-384 (-38).
    Ps384,
    /// RSASSA-PSS with SHA-512 (-39).
    Ps512,
    /// RSASSA-PKCS1-v1_5 with SHA-1 (-65535): legacy TPMs only, off unless enabled.
    Rs1,
    /// ML-DSA-44 (-48), FIPS 204.
    MlDsa44,
    /// ML-DSA-65 (-49), FIPS 204.
    MlDsa65,
    /// ML-DSA-87 (-50), FIPS 204.
    MlDsa87,
}

impl CoseAlgorithm {
    /// Every supported algorithm.
    pub const ALL: [CoseAlgorithm; 19] = [
        Self::Es256,
        Self::Es384,
        Self::Es512,
        Self::Esp256,
        Self::Esp384,
        Self::Esp512,
        Self::EdDsa,
        Self::Ed25519,
        Self::Ed448,
        Self::Rs256,
        Self::Rs384,
        Self::Rs512,
        Self::Ps256,
        Self::Ps384,
        Self::Ps512,
        Self::Rs1,
        Self::MlDsa44,
        Self::MlDsa65,
        Self::MlDsa87,
    ];

    /// The algorithm with this COSE identifier, if supported.
    pub fn from_id(id: i64) -> Option<Self> {
        Some(match id {
            -7 => Self::Es256,
            -35 => Self::Es384,
            -36 => Self::Es512,
            -9 => Self::Esp256,
            -51 => Self::Esp384,
            -52 => Self::Esp512,
            -8 => Self::EdDsa,
            -19 => Self::Ed25519,
            -53 => Self::Ed448,
            -257 => Self::Rs256,
            -258 => Self::Rs384,
            -259 => Self::Rs512,
            -37 => Self::Ps256,
            -38 => Self::Ps384,
            -39 => Self::Ps512,
            -65535 => Self::Rs1,
            -48 => Self::MlDsa44,
            -49 => Self::MlDsa65,
            -50 => Self::MlDsa87,
            _ => return None,
        })
    }

    /// The COSE identifier.
    pub fn id(self) -> i64 {
        match self {
            Self::Es256 => -7,
            Self::Es384 => -35,
            Self::Es512 => -36,
            Self::Esp256 => -9,
            Self::Esp384 => -51,
            Self::Esp512 => -52,
            Self::EdDsa => -8,
            Self::Ed25519 => -19,
            Self::Ed448 => -53,
            Self::Rs256 => -257,
            Self::Rs384 => -258,
            Self::Rs512 => -259,
            Self::Ps256 => -37,
            Self::Ps384 => -38,
            Self::Ps512 => -39,
            Self::Rs1 => -65535,
            Self::MlDsa44 => -48,
            Self::MlDsa65 => -49,
            Self::MlDsa87 => -50,
        }
    }

    /// The registered name ("ES256", "EdDSA", "ML-DSA-44", ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Es384 => "ES384",
            Self::Es512 => "ES512",
            Self::Esp256 => "ESP256",
            Self::Esp384 => "ESP384",
            Self::Esp512 => "ESP512",
            Self::EdDsa => "EdDSA",
            Self::Ed25519 => "Ed25519",
            Self::Ed448 => "Ed448",
            Self::Rs256 => "RS256",
            Self::Rs384 => "RS384",
            Self::Rs512 => "RS512",
            Self::Ps256 => "PS256",
            Self::Ps384 => "PS384",
            Self::Ps512 => "PS512",
            Self::Rs1 => "RS1",
            Self::MlDsa44 => "ML-DSA-44",
            Self::MlDsa65 => "ML-DSA-65",
            Self::MlDsa87 => "ML-DSA-87",
        }
    }

    fn is_rsa(self) -> bool {
        matches!(
            self,
            Self::Rs256
                | Self::Rs384
                | Self::Rs512
                | Self::Ps256
                | Self::Ps384
                | Self::Ps512
                | Self::Rs1
        )
    }
}

impl fmt::Display for CoseAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.id())
    }
}

/// Rules applied when a key is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Smallest accepted RSA modulus, in bits. Default 2048; values below 2048 are clamped to
    /// 1024 and reopen keys that NIST retired in 2013.
    pub min_rsa_bits: usize,
    /// Accept RS1 (RSASSA-PKCS1-v1_5 with SHA-1). Default `false`: SHA-1 signatures are
    /// forgeable by chosen-prefix collisions; only some legacy TPMs need it.
    pub allow_rs1: bool,
}

impl Default for KeyPolicy {
    fn default() -> Self {
        Self {
            min_rsa_bits: 2048,
            allow_rs1: false,
        }
    }
}

/// An elliptic curve of an EC2 key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// NIST P-256 (COSE crv 1).
    P256,
    /// NIST P-384 (COSE crv 2).
    P384,
    /// NIST P-521 (COSE crv 3).
    P521,
}

impl EcCurve {
    fn from_crv(crv: i64) -> Option<Self> {
        match crv {
            1 => Some(Self::P256),
            2 => Some(Self::P384),
            3 => Some(Self::P521),
            _ => None,
        }
    }

    /// Length of one coordinate in bytes.
    pub fn coordinate_len(self) -> usize {
        match self {
            Self::P256 => 32,
            Self::P384 => 48,
            Self::P521 => 66,
        }
    }
}

/// The key material of a parsed COSE key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An EC2 key as the SEC1 uncompressed point `04 || x || y`.
    Ec2 {
        /// The curve.
        curve: EcCurve,
        /// `04 || x || y`.
        point: Vec<u8>,
    },
    /// An Ed25519 public key (32 bytes).
    Ed25519([u8; 32]),
    /// An Ed448 public key (57 bytes).
    Ed448(Vec<u8>),
    /// An RSA public key.
    Rsa {
        /// Big-endian modulus without leading zeros.
        n: Vec<u8>,
        /// Big-endian public exponent without leading zeros.
        e: Vec<u8>,
    },
    /// An ML-DSA public key (FIPS 204 encoding).
    MlDsa(Vec<u8>),
}

/// Why a COSE key could not be used, or a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoseError {
    /// The key is not well-formed CBOR.
    Cbor(CborError),
    /// The key is not a CBOR map.
    NotAMap,
    /// A required parameter is absent or has the wrong type.
    Parameter {
        /// The COSE label and its name, e.g. "-2 (x)".
        label: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// The `kty` is not one WebAuthn uses.
    UnsupportedKeyType(i64),
    /// The `alg` is not supported.
    UnsupportedAlgorithm(i64),
    /// The algorithm is supported but disabled by policy.
    AlgorithmDisabled(CoseAlgorithm),
    /// The algorithm does not fit the key type or curve.
    AlgorithmKeyMismatch {
        /// The key's algorithm.
        alg: CoseAlgorithm,
        /// What the key is.
        key: String,
    },
    /// The RSA modulus is shorter than the policy allows.
    RsaKeyTooSmall {
        /// Modulus length.
        bits: usize,
        /// Policy minimum.
        min: usize,
    },
    /// The key material is invalid (point not on the curve, wrong length, ...).
    InvalidKey(String),
    /// The signature does not verify with this key.
    BadSignature,
}

impl fmt::Display for CoseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Cbor(e) => write!(f, "COSE key is not valid CBOR: {e}"),
            Self::NotAMap => f.write_str("COSE key is not a CBOR map"),
            Self::Parameter { label, expected } => {
                write!(f, "COSE key parameter {label} must be {expected}")
            }
            Self::UnsupportedKeyType(k) => write!(f, "COSE key type {k} is not supported"),
            Self::UnsupportedAlgorithm(a) => write!(f, "COSE algorithm {a} is not supported"),
            Self::AlgorithmDisabled(a) => write!(f, "COSE algorithm {a} is disabled by policy"),
            Self::AlgorithmKeyMismatch { alg, key } => {
                write!(f, "COSE algorithm {alg} cannot be used with a {key} key")
            }
            Self::RsaKeyTooSmall { bits, min } => {
                write!(f, "RSA key has {bits} bits; at least {min} are required")
            }
            Self::InvalidKey(why) => write!(f, "invalid public key: {why}"),
            Self::BadSignature => f.write_str("signature does not verify with the public key"),
        }
    }
}

impl std::error::Error for CoseError {}

impl From<CborError> for CoseError {
    fn from(e: CborError) -> Self {
        Self::Cbor(e)
    }
}

#[derive(Clone)]
enum Verifier {
    Aws(ParsedPublicKey),
    Ed448(Box<ed448_goldilocks::VerifyingKey>),
}

/// A credential public key, parsed from COSE, validated, and ready to verify signatures.
#[derive(Clone)]
pub struct CosePublicKey {
    alg: CoseAlgorithm,
    material: KeyMaterial,
    verifier: Verifier,
}

impl fmt::Debug for CosePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CosePublicKey")
            .field("alg", &self.alg)
            .field("material", &self.material)
            .finish()
    }
}

impl PartialEq for CosePublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg && self.material == other.material
    }
}

// COSE key common parameters (RFC 9052 §7.1) and type-specific ones (RFC 9053 §7).
const KTY: i64 = 1;
const ALG: i64 = 3;
const CRV_OR_N: i64 = -1;
const X_OR_E: i64 = -2;
const Y: i64 = -3;

const KTY_OKP: i64 = 1;
const KTY_EC2: i64 = 2;
const KTY_RSA: i64 = 3;
const KTY_AKP: i64 = 7;

fn int_param(key: &Value<'_>, label: i64, name: &'static str) -> Result<i64, CoseError> {
    key.get_int(label)
        .and_then(Value::as_i64)
        .ok_or(CoseError::Parameter {
            label: name,
            expected: "an integer",
        })
}

fn bytes_param<'a>(key: &Value<'a>, label: i64, name: &'static str) -> Result<&'a [u8], CoseError> {
    key.get_int(label)
        .and_then(Value::as_bytes)
        .ok_or(CoseError::Parameter {
            label: name,
            expected: "a byte string",
        })
}

fn strip_leading_zeros(b: &[u8]) -> &[u8] {
    let first = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    &b[first..]
}

impl CosePublicKey {
    /// Parses and validates a COSE_Key that must fill `bytes`.
    pub fn from_cbor(bytes: &[u8], policy: &KeyPolicy) -> Result<Self, CoseError> {
        let value = cbor::decode(bytes)?;
        Self::from_value(&value, policy)
    }

    /// Parses and validates an already decoded COSE_Key.
    pub fn from_value(key: &Value<'_>, policy: &KeyPolicy) -> Result<Self, CoseError> {
        if key.as_map().is_none() {
            return Err(CoseError::NotAMap);
        }
        let kty = int_param(key, KTY, "1 (kty)")?;
        let alg_id = int_param(key, ALG, "3 (alg)")?;
        let alg = CoseAlgorithm::from_id(alg_id).ok_or(CoseError::UnsupportedAlgorithm(alg_id))?;
        if alg == CoseAlgorithm::Rs1 && !policy.allow_rs1 {
            return Err(CoseError::AlgorithmDisabled(alg));
        }
        let material = match kty {
            KTY_EC2 => {
                let crv = int_param(key, CRV_OR_N, "-1 (crv)")?;
                let curve = EcCurve::from_crv(crv)
                    .ok_or_else(|| CoseError::InvalidKey(format!("unsupported EC2 curve {crv}")))?;
                let x = bytes_param(key, X_OR_E, "-2 (x)")?;
                let len = curve.coordinate_len();
                if x.len() != len {
                    return Err(CoseError::InvalidKey(format!(
                        "x coordinate has {} bytes; the curve needs {len}",
                        x.len()
                    )));
                }
                let point = match key.get_int(Y) {
                    Some(Value::Bytes(y)) if y.len() == len => {
                        let mut p = Vec::with_capacity(1 + 2 * len);
                        p.push(4);
                        p.extend_from_slice(x);
                        p.extend_from_slice(y);
                        p
                    }
                    Some(Value::Bytes(y)) => {
                        return Err(CoseError::InvalidKey(format!(
                            "y coordinate has {} bytes; the curve needs {len}",
                            y.len()
                        )));
                    }
                    // Point compression (RFC 9053 §7.1.1): y is the sign bit.
                    Some(Value::Bool(sign)) => decompress(curve, x, *sign)?,
                    _ => {
                        return Err(CoseError::Parameter {
                            label: "-3 (y)",
                            expected: "a byte string or a boolean",
                        });
                    }
                };
                KeyMaterial::Ec2 { curve, point }
            }
            KTY_OKP => {
                let crv = int_param(key, CRV_OR_N, "-1 (crv)")?;
                let x = bytes_param(key, X_OR_E, "-2 (x)")?;
                match crv {
                    6 => KeyMaterial::Ed25519(x.try_into().map_err(|_| {
                        CoseError::InvalidKey(format!("Ed25519 key has {} bytes, not 32", x.len()))
                    })?),
                    7 if x.len() == 57 => KeyMaterial::Ed448(x.to_vec()),
                    7 => {
                        return Err(CoseError::InvalidKey(format!(
                            "Ed448 key has {} bytes, not 57",
                            x.len()
                        )));
                    }
                    other => {
                        return Err(CoseError::InvalidKey(format!(
                            "unsupported OKP curve {other}"
                        )));
                    }
                }
            }
            KTY_RSA => {
                let n = strip_leading_zeros(bytes_param(key, CRV_OR_N, "-1 (n)")?);
                let e = strip_leading_zeros(bytes_param(key, X_OR_E, "-2 (e)")?);
                if e.is_empty() || n.is_empty() {
                    return Err(CoseError::InvalidKey(
                        "RSA modulus or exponent is zero".into(),
                    ));
                }
                KeyMaterial::Rsa {
                    n: n.to_vec(),
                    e: e.to_vec(),
                }
            }
            KTY_AKP => KeyMaterial::MlDsa(bytes_param(key, CRV_OR_N, "-1 (pub)")?.to_vec()),
            other => return Err(CoseError::UnsupportedKeyType(other)),
        };
        Self::new(alg, material, policy)
    }

    /// Builds a key from its algorithm and material, with the same validation as parsing.
    pub fn new(
        alg: CoseAlgorithm,
        material: KeyMaterial,
        policy: &KeyPolicy,
    ) -> Result<Self, CoseError> {
        if alg == CoseAlgorithm::Rs1 && !policy.allow_rs1 {
            return Err(CoseError::AlgorithmDisabled(alg));
        }
        let mismatch = |key: &str| CoseError::AlgorithmKeyMismatch {
            alg,
            key: key.to_string(),
        };
        let verifier = match &material {
            KeyMaterial::Ec2 { curve, point } => {
                let algorithm = ecdsa_algorithm(alg, *curve).ok_or_else(|| mismatch("EC2"))?;
                // Handing AWS-LC a SubjectPublicKeyInfo spares it a failed DER attempt
                // before it falls back to the bare point; validation is the same.
                Verifier::Aws(parse_aws(algorithm, &ec_spki(*curve, point))?)
            }
            KeyMaterial::Ed25519(x) => {
                if !matches!(alg, CoseAlgorithm::EdDsa | CoseAlgorithm::Ed25519) {
                    return Err(mismatch("Ed25519"));
                }
                Verifier::Aws(parse_aws(&sig::ED25519, x)?)
            }
            KeyMaterial::Ed448(x) => {
                if !matches!(alg, CoseAlgorithm::EdDsa | CoseAlgorithm::Ed448) {
                    return Err(mismatch("Ed448"));
                }
                let bytes: &[u8; 57] = x
                    .as_slice()
                    .try_into()
                    .map_err(|_| CoseError::InvalidKey("Ed448 key must have 57 bytes".into()))?;
                let vk = ed448_goldilocks::VerifyingKey::from_bytes(bytes)
                    .map_err(|_| CoseError::InvalidKey("Ed448 point does not decompress".into()))?;
                Verifier::Ed448(Box::new(vk))
            }
            KeyMaterial::Rsa { n, e } => {
                if !alg.is_rsa() {
                    return Err(mismatch("RSA"));
                }
                let bits = bit_len(n);
                let min = policy.min_rsa_bits.max(1024);
                if bits < min {
                    return Err(CoseError::RsaKeyTooSmall { bits, min });
                }
                let algorithm = rsa_algorithm(alg, bits).ok_or_else(|| {
                    CoseError::InvalidKey(format!("no RSA verifier for {alg} with {bits} bits"))
                })?;
                Verifier::Aws(parse_aws(algorithm, &rsa_pkcs1_der(n, e))?)
            }
            KeyMaterial::MlDsa(pk) => {
                let (algorithm, len): (&'static dyn VerificationAlgorithm, usize) = match alg {
                    CoseAlgorithm::MlDsa44 => (&sig::ML_DSA_44, 1312),
                    CoseAlgorithm::MlDsa65 => (&sig::ML_DSA_65, 1952),
                    CoseAlgorithm::MlDsa87 => (&sig::ML_DSA_87, 2592),
                    _ => return Err(mismatch("ML-DSA")),
                };
                if pk.len() != len {
                    return Err(CoseError::InvalidKey(format!(
                        "{} public key has {} bytes, not {len}",
                        alg.name(),
                        pk.len()
                    )));
                }
                Verifier::Aws(parse_aws(algorithm, pk)?)
            }
        };
        Ok(Self {
            alg,
            material,
            verifier,
        })
    }

    /// The key's algorithm.
    pub fn alg(&self) -> CoseAlgorithm {
        self.alg
    }

    /// The key material.
    pub fn material(&self) -> &KeyMaterial {
        &self.material
    }

    /// Verifies `signature` over `message` with this key and its algorithm. ECDSA signatures are
    /// ASN.1 DER, as WebAuthn §6.5.5 specifies.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), CoseError> {
        match &self.verifier {
            Verifier::Aws(k) => k
                .verify_sig(message, signature)
                .map_err(|_| CoseError::BadSignature),
            Verifier::Ed448(k) => {
                let s = ed448_goldilocks::Signature::try_from(signature)
                    .map_err(|_| CoseError::BadSignature)?;
                k.verify_raw(&s, message)
                    .map_err(|_| CoseError::BadSignature)
            }
        }
    }

    /// The COSE_Key encoding of this key (canonical CTAP2 order), as a relying party stores it.
    pub fn to_cbor(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(96);
        let alg = self.alg.id();
        match &self.material {
            KeyMaterial::Ec2 { curve, point } => {
                let len = curve.coordinate_len();
                enc::map_header(&mut out, 5);
                enc::int(&mut out, KTY);
                enc::int(&mut out, KTY_EC2);
                enc::int(&mut out, ALG);
                enc::int(&mut out, alg);
                enc::int(&mut out, CRV_OR_N);
                enc::int(
                    &mut out,
                    match curve {
                        EcCurve::P256 => 1,
                        EcCurve::P384 => 2,
                        EcCurve::P521 => 3,
                    },
                );
                enc::int(&mut out, X_OR_E);
                enc::bytes(&mut out, &point[1..1 + len]);
                enc::int(&mut out, Y);
                enc::bytes(&mut out, &point[1 + len..]);
            }
            KeyMaterial::Ed25519(x) => okp(&mut out, alg, 6, x),
            KeyMaterial::Ed448(x) => okp(&mut out, alg, 7, x),
            KeyMaterial::Rsa { n, e } => {
                enc::map_header(&mut out, 4);
                enc::int(&mut out, KTY);
                enc::int(&mut out, KTY_RSA);
                enc::int(&mut out, ALG);
                enc::int(&mut out, alg);
                enc::int(&mut out, CRV_OR_N);
                enc::bytes(&mut out, n);
                enc::int(&mut out, X_OR_E);
                enc::bytes(&mut out, e);
            }
            KeyMaterial::MlDsa(pk) => {
                enc::map_header(&mut out, 3);
                enc::int(&mut out, KTY);
                enc::int(&mut out, KTY_AKP);
                enc::int(&mut out, ALG);
                enc::int(&mut out, alg);
                enc::int(&mut out, CRV_OR_N);
                enc::bytes(&mut out, pk);
            }
        }
        out
    }
}

fn okp(out: &mut Vec<u8>, alg: i64, crv: i64, x: &[u8]) {
    enc::map_header(out, 4);
    enc::int(out, KTY);
    enc::int(out, KTY_OKP);
    enc::int(out, ALG);
    enc::int(out, alg);
    enc::int(out, CRV_OR_N);
    enc::int(out, crv);
    enc::int(out, X_OR_E);
    enc::bytes(out, x);
}

/// Minimal canonical CBOR encoding for the structures this crate writes (COSE keys).
pub(crate) mod enc {
    fn head(out: &mut Vec<u8>, major: u8, arg: u64) {
        let m = major << 5;
        if arg < 24 {
            out.push(m | arg as u8);
        } else if arg <= 0xff {
            out.extend_from_slice(&[m | 24, arg as u8]);
        } else if arg <= 0xffff {
            out.push(m | 25);
            out.extend_from_slice(&(arg as u16).to_be_bytes());
        } else if arg <= 0xffff_ffff {
            out.push(m | 26);
            out.extend_from_slice(&(arg as u32).to_be_bytes());
        } else {
            out.push(m | 27);
            out.extend_from_slice(&arg.to_be_bytes());
        }
    }
    pub(crate) fn int(out: &mut Vec<u8>, v: i64) {
        if v >= 0 {
            head(out, 0, v as u64);
        } else {
            head(out, 1, (-1 - v) as u64);
        }
    }
    pub(crate) fn bytes(out: &mut Vec<u8>, b: &[u8]) {
        head(out, 2, b.len() as u64);
        out.extend_from_slice(b);
    }
    pub(crate) fn map_header(out: &mut Vec<u8>, n: u64) {
        head(out, 5, n);
    }
}

/// SubjectPublicKeyInfo DER for an uncompressed point (RFC 5480): a fixed prefix per curve.
fn ec_spki(curve: EcCurve, point: &[u8]) -> Vec<u8> {
    const P256: &[u8] = &[
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    const P384: &[u8] = &[
        0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05,
        0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
    ];
    const P521: &[u8] = &[
        0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
        0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00,
    ];
    let prefix = match curve {
        EcCurve::P256 => P256,
        EcCurve::P384 => P384,
        EcCurve::P521 => P521,
    };
    let mut der = Vec::with_capacity(prefix.len() + point.len());
    der.extend_from_slice(prefix);
    der.extend_from_slice(point);
    der
}

fn parse_aws(
    algorithm: &'static dyn VerificationAlgorithm,
    bytes: &[u8],
) -> Result<ParsedPublicKey, CoseError> {
    ParsedPublicKey::new(algorithm, bytes)
        .map_err(|e| CoseError::InvalidKey(format!("rejected by AWS-LC: {e}")))
}

fn bit_len(n: &[u8]) -> usize {
    match n.first() {
        Some(&b) => n.len() * 8 - b.leading_zeros() as usize,
        None => 0,
    }
}

/// The aws-lc-rs ECDSA verifier for an algorithm and a curve (ASN.1 DER signatures).
fn ecdsa_algorithm(
    alg: CoseAlgorithm,
    curve: EcCurve,
) -> Option<&'static sig::EcdsaVerificationAlgorithm> {
    use CoseAlgorithm as A;
    use EcCurve as C;
    Some(match (alg, curve) {
        (A::Es256 | A::Esp256, C::P256) => &sig::ECDSA_P256_SHA256_ASN1,
        (A::Es256, C::P384) => &sig::ECDSA_P384_SHA256_ASN1,
        (A::Es256, C::P521) => &sig::ECDSA_P521_SHA256_ASN1,
        (A::Es384, C::P256) => &sig::ECDSA_P256_SHA384_ASN1,
        (A::Es384 | A::Esp384, C::P384) => &sig::ECDSA_P384_SHA384_ASN1,
        (A::Es384, C::P521) => &sig::ECDSA_P521_SHA384_ASN1,
        (A::Es512, C::P256) => &sig::ECDSA_P256_SHA512_ASN1,
        (A::Es512, C::P384) => &sig::ECDSA_P384_SHA512_ASN1,
        (A::Es512 | A::Esp512, C::P521) => &sig::ECDSA_P521_SHA512_ASN1,
        _ => return None,
    })
}

/// The aws-lc-rs RSA verifier for an algorithm; moduli under 2048 bits need the legacy
/// parameter sets (only reachable when the policy lowered `min_rsa_bits`).
fn rsa_algorithm(alg: CoseAlgorithm, bits: usize) -> Option<&'static sig::RsaParameters> {
    use CoseAlgorithm as A;
    let legacy = bits < 2048;
    Some(match (alg, legacy) {
        (A::Rs256, false) => &sig::RSA_PKCS1_2048_8192_SHA256,
        (A::Rs256, true) => &sig::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
        (A::Rs384, false) => &sig::RSA_PKCS1_2048_8192_SHA384,
        (A::Rs512, false) => &sig::RSA_PKCS1_2048_8192_SHA512,
        (A::Rs512, true) => &sig::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
        (A::Ps256, false) => &sig::RSA_PSS_2048_8192_SHA256,
        (A::Ps384, false) => &sig::RSA_PSS_2048_8192_SHA384,
        (A::Ps512, false) => &sig::RSA_PSS_2048_8192_SHA512,
        (A::Rs1, false) => &sig::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        (A::Rs1, true) => &sig::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
        _ => return None,
    })
}

/// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }` (RFC 8017 A.1.1).
pub(crate) fn rsa_pkcs1_der(n: &[u8], e: &[u8]) -> Vec<u8> {
    fn der_len(out: &mut Vec<u8>, len: usize) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes
                .iter()
                .position(|&b| b != 0)
                .unwrap_or(bytes.len() - 1);
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(out: &mut Vec<u8>, v: &[u8]) {
        let pad = v.first().is_some_and(|&b| b & 0x80 != 0);
        out.push(0x02);
        der_len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::with_capacity(n.len() + e.len() + 12);
    integer(&mut body, n);
    integer(&mut body, e);
    let mut out = Vec::with_capacity(body.len() + 4);
    out.push(0x30);
    der_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

/// Decompresses `x` with the sign bit of `y` by letting AWS-LC parse the SEC1 compressed form,
/// then re-encodes it uncompressed.
fn decompress(curve: EcCurve, x: &[u8], sign: bool) -> Result<Vec<u8>, CoseError> {
    let mut compressed = Vec::with_capacity(1 + x.len());
    compressed.push(if sign { 3 } else { 2 });
    compressed.extend_from_slice(x);
    let algorithm: &'static sig::EcdsaVerificationAlgorithm = match curve {
        EcCurve::P256 => &sig::ECDSA_P256_SHA256_ASN1,
        EcCurve::P384 => &sig::ECDSA_P384_SHA384_ASN1,
        EcCurve::P521 => &sig::ECDSA_P521_SHA512_ASN1,
    };
    let parsed = parse_aws(algorithm, &compressed)?;
    // aws-lc-rs exposes the key as SubjectPublicKeyInfo DER; the uncompressed point is the
    // final 1 + 2 * len bytes of its BIT STRING.
    let spki: &[u8] = parsed.as_ref();
    let want = 1 + 2 * curve.coordinate_len();
    if spki.len() >= want && spki[spki.len() - want] == 4 {
        Ok(spki[spki.len() - want..].to_vec())
    } else {
        Err(CoseError::InvalidKey(
            "compressed point could not be decoded".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ec2_key(alg: i64, crv: i64, x: &[u8], y: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        enc::map_header(&mut out, 5);
        for (k, v) in [(KTY, KTY_EC2), (ALG, alg), (CRV_OR_N, crv)] {
            enc::int(&mut out, k);
            enc::int(&mut out, v);
        }
        enc::int(&mut out, X_OR_E);
        enc::bytes(&mut out, x);
        enc::int(&mut out, Y);
        enc::bytes(&mut out, y);
        out
    }

    #[test]
    fn rejects_point_not_on_curve() {
        let key = ec2_key(-7, 1, &[1u8; 32], &[2u8; 32]);
        let err = CosePublicKey::from_cbor(&key, &KeyPolicy::default()).unwrap_err();
        assert!(matches!(err, CoseError::InvalidKey(_)), "{err}");
    }

    #[test]
    fn rejects_wrong_coordinate_length_and_unknown_alg() {
        let key = ec2_key(-7, 1, &[1u8; 31], &[2u8; 32]);
        assert!(matches!(
            CosePublicKey::from_cbor(&key, &KeyPolicy::default()),
            Err(CoseError::InvalidKey(_))
        ));
        let key = ec2_key(-4242, 1, &[1u8; 32], &[2u8; 32]);
        assert_eq!(
            CosePublicKey::from_cbor(&key, &KeyPolicy::default()).unwrap_err(),
            CoseError::UnsupportedAlgorithm(-4242)
        );
    }

    #[test]
    fn esp256_requires_p256() {
        let key = ec2_key(-9, 2, &[1u8; 48], &[2u8; 48]);
        assert!(matches!(
            CosePublicKey::from_cbor(&key, &KeyPolicy::default()),
            Err(CoseError::AlgorithmKeyMismatch { .. })
        ));
    }

    #[test]
    fn rsa_minimum_size_and_rs1_policy() {
        let mut n = vec![0xc5u8; 128]; // 1024-bit modulus
        n[127] |= 1;
        let material = KeyMaterial::Rsa {
            n: n.clone(),
            e: vec![1, 0, 1],
        };
        assert_eq!(
            CosePublicKey::new(
                CoseAlgorithm::Rs256,
                material.clone(),
                &KeyPolicy::default()
            )
            .unwrap_err(),
            CoseError::RsaKeyTooSmall {
                bits: 1024,
                min: 2048
            }
        );
        assert_eq!(
            CosePublicKey::new(CoseAlgorithm::Rs1, material, &KeyPolicy::default()).unwrap_err(),
            CoseError::AlgorithmDisabled(CoseAlgorithm::Rs1)
        );
    }

    #[test]
    fn algorithm_ids_round_trip() {
        for alg in CoseAlgorithm::ALL {
            assert_eq!(CoseAlgorithm::from_id(alg.id()), Some(alg));
        }
    }

    #[test]
    fn der_integer_gets_a_sign_pad() {
        let der = rsa_pkcs1_der(&[0x80, 1], &[1, 0, 1]);
        assert_eq!(
            der,
            vec![
                0x30, 0x0a, 0x02, 0x03, 0x00, 0x80, 0x01, 0x02, 0x03, 1, 0, 1
            ]
        );
    }
}
