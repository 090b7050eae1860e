//! COSE algorithms, credential key pairs and `COSE_Key` encoding (RFC 9052/9053, RFC 8230,
//! draft-ietf-cose-dilithium).
//!
//! Every `COSE_Key` is emitted in CTAP2 canonical order: `1 (kty)`, `3 (alg)`, `-1`, `-2`, `-3`.

use std::sync::{Arc, OnceLock};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair, PqdsaKeyPair, RsaKeyPair};

use crate::cbor;

/// A COSE signature algorithm a [`crate::SoftAuthenticator`] credential can use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alg {
    /// ECDSA P-256 with SHA-256, ASN.1 DER signature (COSE -7).
    Es256,
    /// ECDSA P-384 with SHA-384, ASN.1 DER signature (COSE -35).
    Es384,
    /// ECDSA P-521 with SHA-512, ASN.1 DER signature (COSE -36).
    Es512,
    /// EdDSA over Ed25519 (COSE -8, OKP crv 6).
    Ed25519,
    /// EdDSA over Ed448, pure, empty context (COSE -8, OKP crv 7).
    Ed448,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE -257), 2048-bit key.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384 (COSE -258), 2048-bit key.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512 (COSE -259), 2048-bit key.
    Rs512,
    /// RSASSA-PSS with SHA-256, MGF1-SHA-256, salt length 32 (COSE -37), 2048-bit key.
    Ps256,
    /// RSASSA-PSS with SHA-384, MGF1-SHA-384, salt length 48 (COSE -38), 2048-bit key.
    Ps384,
    /// RSASSA-PSS with SHA-512, MGF1-SHA-512, salt length 64 (COSE -39), 2048-bit key.
    Ps512,
    /// RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535, legacy Windows Hello), 2048-bit key.
    Rs1,
    /// ML-DSA-44 (FIPS 204) (COSE -48, kty AKP).
    MlDsa44,
    /// ML-DSA-65 (FIPS 204) (COSE -49, kty AKP).
    MlDsa65,
    /// ML-DSA-87 (FIPS 204) (COSE -50, kty AKP).
    MlDsa87,
}

/// COSE key type labels (RFC 9053 §7, draft-ietf-cose-dilithium for AKP).
pub mod kty {
    /// Octet key pair (EdDSA).
    pub const OKP: i64 = 1;
    /// Elliptic curve with x and y coordinates.
    pub const EC2: i64 = 2;
    /// RSA (RFC 8230).
    pub const RSA: i64 = 3;
    /// Algorithm key pair (ML-DSA).
    pub const AKP: i64 = 7;
}

impl Alg {
    /// Every algorithm, in declaration order.
    pub const ALL: [Alg; 15] = [
        Alg::Es256,
        Alg::Es384,
        Alg::Es512,
        Alg::Ed25519,
        Alg::Ed448,
        Alg::Rs256,
        Alg::Rs384,
        Alg::Rs512,
        Alg::Ps256,
        Alg::Ps384,
        Alg::Ps512,
        Alg::Rs1,
        Alg::MlDsa44,
        Alg::MlDsa65,
        Alg::MlDsa87,
    ];

    /// The COSE algorithm identifier placed in the key's `alg` (3) label and in
    /// `publicKeyAlgorithm`. Ed25519 and Ed448 both use the polymorphic `EdDSA` (-8), as
    /// deployed authenticators do; the curve tells them apart.
    pub fn cose_id(self) -> i64 {
        match self {
            Alg::Es256 => -7,
            Alg::Es384 => -35,
            Alg::Es512 => -36,
            Alg::Ed25519 | Alg::Ed448 => -8,
            Alg::Rs256 => -257,
            Alg::Rs384 => -258,
            Alg::Rs512 => -259,
            Alg::Ps256 => -37,
            Alg::Ps384 => -38,
            Alg::Ps512 => -39,
            Alg::Rs1 => -65535,
            Alg::MlDsa44 => -48,
            Alg::MlDsa65 => -49,
            Alg::MlDsa87 => -50,
        }
    }

    /// A short human-readable name ("ES256", "Ed448", "ML-DSA-65", ...).
    pub fn name(self) -> &'static str {
        match self {
            Alg::Es256 => "ES256",
            Alg::Es384 => "ES384",
            Alg::Es512 => "ES512",
            Alg::Ed25519 => "Ed25519",
            Alg::Ed448 => "Ed448",
            Alg::Rs256 => "RS256",
            Alg::Rs384 => "RS384",
            Alg::Rs512 => "RS512",
            Alg::Ps256 => "PS256",
            Alg::Ps384 => "PS384",
            Alg::Ps512 => "PS512",
            Alg::Rs1 => "RS1",
            Alg::MlDsa44 => "ML-DSA-44",
            Alg::MlDsa65 => "ML-DSA-65",
            Alg::MlDsa87 => "ML-DSA-87",
        }
    }

    /// The COSE key type (`kty`, label 1) this algorithm's keys use.
    pub fn kty(self) -> i64 {
        match self {
            Alg::Es256 | Alg::Es384 | Alg::Es512 => kty::EC2,
            Alg::Ed25519 | Alg::Ed448 => kty::OKP,
            Alg::Rs256
            | Alg::Rs384
            | Alg::Rs512
            | Alg::Ps256
            | Alg::Ps384
            | Alg::Ps512
            | Alg::Rs1 => kty::RSA,
            Alg::MlDsa44 | Alg::MlDsa65 | Alg::MlDsa87 => kty::AKP,
        }
    }

    /// The COSE curve (`crv`, label -1) for EC2/OKP keys: P-256 1, P-384 2, P-521 3,
    /// Ed25519 6, Ed448 7; `None` for RSA and ML-DSA.
    pub fn crv(self) -> Option<i64> {
        match self {
            Alg::Es256 => Some(1),
            Alg::Es384 => Some(2),
            Alg::Es512 => Some(3),
            Alg::Ed25519 => Some(6),
            Alg::Ed448 => Some(7),
            _ => None,
        }
    }

    /// True for the RSA algorithms, which share one cached 2048-bit key per process.
    pub fn is_rsa(self) -> bool {
        self.kty() == kty::RSA
    }
}

impl std::fmt::Display for Alg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An RSA key pair plus, lazily, the raw parameters the SHA-1 signer needs.
pub(crate) struct RsaKey {
    pub(crate) pair: RsaKeyPair,
    pub(crate) legacy: OnceLock<crate::rsa_legacy::RawRsa>,
}

impl RsaKey {
    fn new(pair: RsaKeyPair) -> Arc<Self> {
        Arc::new(RsaKey {
            pair,
            legacy: OnceLock::new(),
        })
    }
}

fn shared_rsa() -> &'static Arc<RsaKey> {
    static KEY: OnceLock<Arc<RsaKey>> = OnceLock::new();
    KEY.get_or_init(|| {
        RsaKey::new(RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA-2048 generation"))
    })
}

/// The process-wide 2048-bit RSA key (RSA key generation is slow, so all RSA credentials
/// created with [`crate::SoftAuthenticator::new`] share it; they still get distinct credential
/// ids).
pub fn shared_rsa_key() -> &'static RsaKeyPair {
    &shared_rsa().pair
}

/// `SEQUENCE { INTEGER 0, SEQUENCE { OID 1.3.101.113 }, OCTET STRING { OCTET STRING (57) } }`
/// up to the 57 secret bytes (RFC 8410 §7).
const ED448_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x47, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x04, 0x3b, 0x04, 0x39,
];

/// Private key material of one credential.
pub(crate) enum KeyMaterial {
    Ecdsa(EcdsaKeyPair),
    Ed25519(Ed25519KeyPair),
    Ed448(Box<ed448_goldilocks::SigningKey>),
    Rsa(Arc<RsaKey>),
    MlDsa(PqdsaKeyPair),
}

impl KeyMaterial {
    /// Generates a fresh key for `alg` (RSA: the shared process key).
    pub(crate) fn generate(alg: Alg) -> Self {
        match alg {
            Alg::Es256 => Self::ecdsa(&signature::ECDSA_P256_SHA256_ASN1_SIGNING),
            Alg::Es384 => Self::ecdsa(&signature::ECDSA_P384_SHA384_ASN1_SIGNING),
            Alg::Es512 => Self::ecdsa(&signature::ECDSA_P521_SHA512_ASN1_SIGNING),
            Alg::Ed25519 => {
                KeyMaterial::Ed25519(Ed25519KeyPair::generate().expect("Ed25519 generation"))
            }
            Alg::Ed448 => {
                let mut seed = [0u8; ed448_goldilocks::SECRET_KEY_LENGTH];
                aws_lc_rs::rand::fill(&mut seed).expect("system RNG failed");
                let key = ed448_goldilocks::SigningKey::try_from(&seed[..])
                    .expect("57-byte Ed448 secret");
                KeyMaterial::Ed448(Box::new(key))
            }
            Alg::Rs256
            | Alg::Rs384
            | Alg::Rs512
            | Alg::Ps256
            | Alg::Ps384
            | Alg::Ps512
            | Alg::Rs1 => KeyMaterial::Rsa(Arc::clone(shared_rsa())),
            Alg::MlDsa44 => Self::mldsa(&signature::ML_DSA_44_SIGNING),
            Alg::MlDsa65 => Self::mldsa(&signature::ML_DSA_65_SIGNING),
            Alg::MlDsa87 => Self::mldsa(&signature::ML_DSA_87_SIGNING),
        }
    }

    /// Imports a PKCS#8 private key for `alg` (RSA: any size aws-lc-rs accepts; Ed448: the
    /// RFC 8410 `CurvePrivateKey` form that [`KeyMaterial::to_pkcs8`] writes).
    pub(crate) fn from_pkcs8(alg: Alg, der: &[u8]) -> Result<Self, String> {
        let err = |e: aws_lc_rs::error::KeyRejected| format!("{alg}: {e}");
        Ok(match alg {
            Alg::Es256 | Alg::Es384 | Alg::Es512 => {
                let a = match alg {
                    Alg::Es256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                    Alg::Es384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
                    _ => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
                };
                KeyMaterial::Ecdsa(EcdsaKeyPair::from_pkcs8(a, der).map_err(err)?)
            }
            Alg::Ed25519 => {
                KeyMaterial::Ed25519(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(err)?)
            }
            Alg::Ed448 => {
                let prefix = &ED448_PKCS8_PREFIX;
                if der.len() != prefix.len() + 57 || !der.starts_with(prefix) {
                    return Err("Ed448: expected an RFC 8410 PKCS#8 v1 private key".into());
                }
                let key = ed448_goldilocks::SigningKey::try_from(&der[prefix.len()..])
                    .map_err(|e| format!("Ed448: {e}"))?;
                KeyMaterial::Ed448(Box::new(key))
            }
            Alg::MlDsa44 | Alg::MlDsa65 | Alg::MlDsa87 => {
                let a = match alg {
                    Alg::MlDsa44 => &signature::ML_DSA_44_SIGNING,
                    Alg::MlDsa65 => &signature::ML_DSA_65_SIGNING,
                    _ => &signature::ML_DSA_87_SIGNING,
                };
                KeyMaterial::MlDsa(PqdsaKeyPair::from_pkcs8(a, der).map_err(err)?)
            }
            _ => KeyMaterial::Rsa(RsaKey::new(RsaKeyPair::from_pkcs8(der).map_err(err)?)),
        })
    }

    /// Exports the private key as PKCS#8 DER.
    pub(crate) fn to_pkcs8(&self) -> Vec<u8> {
        match self {
            KeyMaterial::Ecdsa(k) => k.to_pkcs8v1().expect("PKCS#8").as_ref().to_vec(),
            KeyMaterial::Ed25519(k) => k.to_pkcs8().expect("PKCS#8").as_ref().to_vec(),
            KeyMaterial::Ed448(k) => {
                let mut v = ED448_PKCS8_PREFIX.to_vec();
                v.extend_from_slice(&k.to_bytes());
                v
            }
            KeyMaterial::Rsa(k) => k.pair.as_der().expect("PKCS#8").as_ref().to_vec(),
            KeyMaterial::MlDsa(k) => k.to_pkcs8v1().expect("PKCS#8").as_ref().to_vec(),
        }
    }

    fn ecdsa(a: &'static signature::EcdsaSigningAlgorithm) -> Self {
        KeyMaterial::Ecdsa(EcdsaKeyPair::generate(a).expect("ECDSA generation"))
    }

    fn mldsa(a: &'static signature::PqdsaSigningAlgorithm) -> Self {
        KeyMaterial::MlDsa(PqdsaKeyPair::generate(a).expect("ML-DSA generation"))
    }

    /// Signs `msg` the way `alg` prescribes, returning the signature in its COSE/WebAuthn form
    /// (DER for ECDSA, raw for EdDSA, RSA and ML-DSA).
    pub(crate) fn sign(&self, alg: Alg, msg: &[u8]) -> Vec<u8> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        match self {
            KeyMaterial::Ecdsa(k) => k.sign(&rng, msg).expect("ECDSA sign").as_ref().to_vec(),
            KeyMaterial::Ed25519(k) => k.sign(msg).as_ref().to_vec(),
            KeyMaterial::Ed448(k) => k.sign_raw(msg).to_bytes().to_vec(),
            KeyMaterial::Rsa(rsa) => {
                let k = &rsa.pair;
                let enc: &'static dyn signature::RsaEncoding = match alg {
                    Alg::Rs256 => &signature::RSA_PKCS1_SHA256,
                    Alg::Rs384 => &signature::RSA_PKCS1_SHA384,
                    Alg::Rs512 => &signature::RSA_PKCS1_SHA512,
                    Alg::Ps256 => &signature::RSA_PSS_SHA256,
                    Alg::Ps384 => &signature::RSA_PSS_SHA384,
                    Alg::Ps512 => &signature::RSA_PSS_SHA512,
                    Alg::Rs1 => return crate::rsa_legacy::sign_pkcs1_sha1(rsa, msg),
                    other => unreachable!("{other} is not an RSA algorithm"),
                };
                let mut sig = vec![0u8; k.public_modulus_len()];
                k.sign(enc, &rng, msg, &mut sig).expect("RSA sign");
                sig
            }
            KeyMaterial::MlDsa(k) => {
                let mut sig = vec![0u8; k.algorithm().signature_len()];
                let n = k.sign(msg, &mut sig).expect("ML-DSA sign");
                sig.truncate(n);
                sig
            }
        }
    }

    /// The raw public key: SEC1 uncompressed point for ECDSA, 32/57 bytes for EdDSA,
    /// the encoded public key for ML-DSA; for RSA the PKCS#1 `RSAPublicKey` DER.
    pub(crate) fn public_raw(&self) -> Vec<u8> {
        match self {
            KeyMaterial::Ecdsa(k) => k.public_key().as_ref().to_vec(),
            KeyMaterial::Ed25519(k) => k.public_key().as_ref().to_vec(),
            KeyMaterial::Ed448(k) => k.verifying_key().to_bytes().to_vec(),
            KeyMaterial::Rsa(k) => k.pair.public_key().as_ref().to_vec(),
            KeyMaterial::MlDsa(k) => k.public_key().as_ref().to_vec(),
        }
    }

    /// The `SubjectPublicKeyInfo` DER, as a browser reports in `getPublicKey()`.
    pub(crate) fn spki_der(&self) -> Vec<u8> {
        match self {
            KeyMaterial::Ecdsa(k) => der_of(k.public_key().as_der()),
            KeyMaterial::Ed25519(k) => der_of(k.public_key().as_der()),
            KeyMaterial::Ed448(k) => {
                // SEQUENCE { SEQUENCE { OID 1.3.101.113 }, BIT STRING (0 unused) key }
                let mut v = vec![
                    0x30, 0x43, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x71, 0x03, 0x3a, 0x00,
                ];
                v.extend_from_slice(&k.verifying_key().to_bytes());
                v
            }
            KeyMaterial::Rsa(k) => der_of(k.pair.public_key().as_der()),
            KeyMaterial::MlDsa(k) => der_of(k.public_key().as_der()),
        }
    }

    /// The `COSE_Key` CBOR encoding for this key under `alg`, with `alg_id` in label 3.
    pub(crate) fn cose_key(&self, alg: Alg, alg_id: i64) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        match self {
            KeyMaterial::Ecdsa(k) => {
                let point = k.public_key().as_ref();
                let coord = (point.len() - 1) / 2;
                cbor::map(&mut out, 5);
                cbor::int(&mut out, 1);
                cbor::int(&mut out, kty::EC2);
                cbor::int(&mut out, 3);
                cbor::int(&mut out, alg_id);
                cbor::int(&mut out, -1);
                cbor::int(&mut out, alg.crv().expect("EC curve"));
                cbor::int(&mut out, -2);
                cbor::bytes(&mut out, &point[1..1 + coord]);
                cbor::int(&mut out, -3);
                cbor::bytes(&mut out, &point[1 + coord..]);
            }
            KeyMaterial::Ed25519(_) | KeyMaterial::Ed448(_) => {
                cbor::map(&mut out, 4);
                cbor::int(&mut out, 1);
                cbor::int(&mut out, kty::OKP);
                cbor::int(&mut out, 3);
                cbor::int(&mut out, alg_id);
                cbor::int(&mut out, -1);
                cbor::int(&mut out, alg.crv().expect("OKP curve"));
                cbor::int(&mut out, -2);
                cbor::bytes(&mut out, &self.public_raw());
            }
            KeyMaterial::Rsa(k) => {
                let pk = k.pair.public_key();
                cbor::map(&mut out, 4);
                cbor::int(&mut out, 1);
                cbor::int(&mut out, kty::RSA);
                cbor::int(&mut out, 3);
                cbor::int(&mut out, alg_id);
                cbor::int(&mut out, -1);
                cbor::bytes(&mut out, pk.modulus().big_endian_without_leading_zero());
                cbor::int(&mut out, -2);
                cbor::bytes(&mut out, pk.exponent().big_endian_without_leading_zero());
            }
            KeyMaterial::MlDsa(k) => {
                cbor::map(&mut out, 3);
                cbor::int(&mut out, 1);
                cbor::int(&mut out, kty::AKP);
                cbor::int(&mut out, 3);
                cbor::int(&mut out, alg_id);
                cbor::int(&mut out, -1);
                cbor::bytes(&mut out, k.public_key().as_ref());
            }
        }
        out
    }
}

fn der_of(
    r: Result<aws_lc_rs::encoding::PublicKeyX509Der<'static>, aws_lc_rs::error::Unspecified>,
) -> Vec<u8> {
    r.expect("public key DER").as_ref().to_vec()
}
