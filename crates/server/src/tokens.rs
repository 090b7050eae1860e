//! Signed tokens (compact JWS / JWT) that other applications verify against passkeyd's JWKS.
//!
//! * [`TokenSigner`] holds the signing keys: one algorithm per signer ([`Algorithm::Es256`] on
//!   P-256 with the raw 64-byte `r||s` signature, or [`Algorithm::EdDsa`] on Ed25519), the newest
//!   key signs, older keys stay published and usable for verification until every token they can
//!   have signed has expired (see [`TokenSigner::retention_end`]), then [`TokenSigner::prune`]
//!   (called by [`TokenSigner::rotate`]) drops them.
//! * `kid` is the RFC 7638 JWK thumbprint (base64url of SHA-256 of the canonical public JWK).
//! * Keys persist as PKCS#8 ([`TokenSigner::export_keys`] / [`TokenSigner::from_keys`]).
//! * [`TokenSigner::verify`] is a strict parser: size limit first, exactly three canonical
//!   base64url parts, header members limited to `alg`/`typ`/`kid`, duplicate JSON members refused,
//!   `alg` exactly the signer's, signature checked before the payload is interpreted, then time
//!   and `iss`/`aud`. It never panics on any input; every failure is its own [`TokenError`].
//! * [`amr_for`] / [`acr_for`] map the WebAuthn assertion to RFC 8176 `amr` values and OpenID EAP
//!   `acr` values; the mapping is justified in `docs/tokens.md`.
//!
//! All cryptography is aws-lc-rs. Times are Unix seconds.

use std::collections::BTreeSet;
use std::fmt;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, ED25519, EcdsaKeyPair,
    Ed25519KeyPair, KeyPair, UnparsedPublicKey,
};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Largest token [`TokenSigner::verify`] looks at (checked before any parsing).
pub const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Claim names [`Claims`] owns; [`Claims::extra`] may not use them.
pub const REGISTERED_CLAIMS: &[&str] = &[
    "iss",
    "aud",
    "sub",
    "sid",
    "iat",
    "exp",
    "nbf",
    "auth_time",
    "amr",
    "acr",
    "jti",
];

/// JWS signature algorithm of a [`TokenSigner`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256; JWS signature is the raw 64-byte `r||s`.
    #[serde(rename = "ES256")]
    Es256,
    /// Ed25519 (RFC 8037 `EdDSA`); 64-byte signature.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl Algorithm {
    /// The JWS `alg` value.
    pub fn jws_name(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::EdDsa => "EdDSA",
        }
    }

    /// The JWK `kty` of this algorithm's keys.
    pub fn kty(self) -> &'static str {
        match self {
            Algorithm::Es256 => "EC",
            Algorithm::EdDsa => "OKP",
        }
    }

    /// Parses a JWS `alg` value (exact, case-sensitive as RFC 7515 requires).
    pub fn from_jws_name(name: &str) -> Option<Algorithm> {
        match name {
            "ES256" => Some(Algorithm::Es256),
            "EdDSA" => Some(Algorithm::EdDsa),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// Signer configuration. All durations are seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenConfig {
    /// Algorithm of every key of the signer.
    pub algorithm: Algorithm,
    /// How long a key is the active signing key before [`TokenSigner::rotate_if_due`] replaces it.
    pub rotation_period: u64,
    /// Longest `exp - iat` [`TokenSigner::sign`] accepts and [`TokenSigner::verify`] tolerates.
    pub max_token_lifetime: u64,
    /// Clock skew tolerated on `exp`, `nbf`, `iat` (and added to key retention).
    pub leeway: u64,
}

impl Default for TokenConfig {
    fn default() -> Self {
        TokenConfig {
            algorithm: Algorithm::Es256,
            rotation_period: 7 * 24 * 3600,
            max_token_lifetime: 3600,
            leeway: 30,
        }
    }
}

/// The token payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer (passkeyd's public origin).
    pub iss: String,
    /// Audience: the one application the token is for (a single string, never an array).
    pub aud: String,
    /// Subject: the user's stable identifier.
    pub sub: String,
    /// Session identifier.
    pub sid: String,
    /// Issued at.
    pub iat: u64,
    /// Expiry: the token is invalid from this second on (plus leeway).
    pub exp: u64,
    /// Not before (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// When the user performed the passkey ceremony this session rests on.
    pub auth_time: u64,
    /// RFC 8176 authentication method references (see [`amr_for`]).
    pub amr: Vec<String>,
    /// Authentication context class (see [`acr_for`]).
    pub acr: String,
    /// Further members (elevations, confidence, ...). Names from [`REGISTERED_CLAIMS`] are refused.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Every way signing, key handling or verification fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    // ---- verification: structure ----
    /// Token longer than [`MAX_TOKEN_LEN`].
    TooLarge {
        /// Actual length.
        len: usize,
        /// Limit.
        max: usize,
    },
    /// Not exactly three dot-separated parts.
    NotThreeParts,
    /// A part is not canonical unpadded base64url.
    Base64 {
        /// Which part: header, payload or signature.
        part: &'static str,
    },
    /// The header is not a JSON object (or not UTF-8, or has duplicate members).
    HeaderJson(String),
    /// Header has a member other than `alg`, `typ`, `kid` (`crit`, `jku`, `jwk`, `x5c`, ...).
    UnsupportedHeaderParameter(String),
    /// Header has no `alg` or it is not a string.
    MissingAlg,
    /// `alg` is `none`.
    AlgNone,
    /// `alg` is not the signer's algorithm.
    AlgorithmMismatch {
        /// What the verifier required.
        expected: Algorithm,
        /// What the token carried.
        found: String,
    },
    /// `typ` present but not `JWT`.
    BadTyp(String),
    /// Header has no `kid` or it is not a string.
    MissingKid,
    /// No key with this `kid`.
    UnknownKid(String),
    /// The key is past its retention window.
    KeyRetired(String),
    /// The key's type does not match `alg` (defence in depth; cannot happen with one-algorithm signers).
    KeyAlgorithmMismatch {
        /// The key id.
        kid: String,
        /// The key's algorithm.
        key: Algorithm,
        /// The token's alg.
        alg: Algorithm,
    },
    /// Signature not 64 bytes.
    SignatureLength(usize),
    /// Signature does not verify.
    BadSignature,
    // ---- verification: payload ----
    /// The payload is not a JSON object (or not UTF-8, or has duplicate members).
    PayloadJson(String),
    /// The payload is JSON but not valid [`Claims`] (missing/mistyped/unknown-typed member, ...).
    InvalidClaims(String),
    /// `exp <= iat`, or `auth_time > iat`.
    InconsistentTimes,
    /// `exp - iat` above the configured maximum lifetime.
    LifetimeTooLong {
        /// exp - iat.
        lifetime: u64,
        /// Limit.
        max: u64,
    },
    /// `now >= exp + leeway`.
    Expired {
        /// The exp claim.
        exp: u64,
        /// Verification time.
        now: u64,
    },
    /// `nbf > now + leeway`.
    NotYetValid {
        /// The nbf claim.
        nbf: u64,
        /// Verification time.
        now: u64,
    },
    /// `iat > now + leeway`.
    IssuedInFuture {
        /// The iat claim.
        iat: u64,
        /// Verification time.
        now: u64,
    },
    /// `iss` is not the expected issuer.
    WrongIssuer {
        /// What the verifier required.
        expected: String,
        /// What the token carried.
        found: String,
    },
    /// `aud` is not the expected audience.
    WrongAudience {
        /// What the verifier required.
        expected: String,
        /// What the token carried.
        found: String,
    },
    // ---- signing and key management ----
    /// [`Claims::extra`] uses a registered claim name.
    ReservedClaim(String),
    /// Key generation or signing failed inside aws-lc-rs.
    Crypto,
    /// A PKCS#8 document was refused.
    InvalidPkcs8 {
        /// The key id.
        kid: String,
    },
    /// An imported key's algorithm differs from the configured one.
    ImportAlgorithm {
        /// The key id.
        kid: String,
        /// The key's algorithm.
        key: Algorithm,
        /// The configured algorithm.
        config: Algorithm,
    },
    /// An imported key's stored kid does not match the thumbprint of its public key.
    KidMismatch {
        /// kid as stored.
        stored: String,
        /// kid recomputed from the public key.
        computed: String,
    },
    /// Two imported keys with the same kid.
    DuplicateKid(String),
    /// [`TokenSigner::from_keys`] with no key.
    NoKeys,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TokenError::*;
        match self {
            TooLarge { len, max } => write!(f, "token is {len} bytes, the limit is {max}"),
            NotThreeParts => {
                f.write_str("token is not three dot-separated parts (header.payload.signature)")
            }
            Base64 { part } => write!(f, "token {part} is not canonical unpadded base64url"),
            HeaderJson(e) => write!(f, "token header is not a JSON object: {e}"),
            UnsupportedHeaderParameter(p) => {
                write!(
                    f,
                    "token header parameter {p:?} is not supported (only alg, typ, kid)"
                )
            }
            MissingAlg => f.write_str("token header has no string \"alg\""),
            AlgNone => f.write_str("token alg \"none\" (unsecured JWS) is refused"),
            AlgorithmMismatch { expected, found } => {
                write!(
                    f,
                    "token alg {found:?} is not the signer's algorithm {expected}"
                )
            }
            BadTyp(t) => write!(f, "token typ {t:?} is not \"JWT\""),
            MissingKid => f.write_str("token header has no string \"kid\""),
            UnknownKid(k) => write!(f, "no signing key with kid {k:?}"),
            KeyRetired(k) => write!(f, "signing key {k:?} is past its retention window"),
            KeyAlgorithmMismatch { kid, key, alg } => {
                write!(f, "key {kid:?} is a {key} key, the token says {alg}")
            }
            SignatureLength(n) => write!(f, "signature is {n} bytes, expected 64"),
            BadSignature => f.write_str("signature does not verify"),
            PayloadJson(e) => write!(f, "token payload is not a JSON object: {e}"),
            InvalidClaims(e) => write!(f, "token claims are invalid: {e}"),
            InconsistentTimes => {
                f.write_str("token times are inconsistent (exp <= iat or auth_time > iat)")
            }
            LifetimeTooLong { lifetime, max } => {
                write!(f, "token lifetime {lifetime}s exceeds the maximum {max}s")
            }
            Expired { exp, now } => write!(f, "token expired at {exp} (now {now})"),
            NotYetValid { nbf, now } => write!(f, "token not valid before {nbf} (now {now})"),
            IssuedInFuture { iat, now } => {
                write!(f, "token issued in the future at {iat} (now {now})")
            }
            WrongIssuer { expected, found } => {
                write!(f, "token issuer {found:?} is not the expected {expected:?}")
            }
            WrongAudience { expected, found } => {
                write!(
                    f,
                    "token audience {found:?} is not the expected {expected:?}"
                )
            }
            ReservedClaim(c) => write!(f, "extra claim {c:?} is a registered claim name"),
            Crypto => f.write_str("key generation or signing failed"),
            InvalidPkcs8 { kid } => write!(f, "PKCS#8 document of key {kid:?} was refused"),
            ImportAlgorithm { kid, key, config } => {
                write!(
                    f,
                    "key {kid:?} is {key} but the signer is configured for {config}"
                )
            }
            KidMismatch { stored, computed } => {
                write!(
                    f,
                    "stored kid {stored:?} does not match the key's thumbprint {computed:?}"
                )
            }
            DuplicateKid(k) => write!(f, "two keys with kid {k:?}"),
            NoKeys => f.write_str("no signing keys"),
        }
    }
}

impl std::error::Error for TokenError {}

/// A key as persisted by the server: PKCS#8 private key (v1 for P-256, v2 for Ed25519) plus
/// metadata. `pkcs8` is secret.
#[derive(Clone, PartialEq, Eq)]
pub struct ExportedKey {
    /// RFC 7638 thumbprint (recomputed and checked on import).
    pub kid: String,
    /// Key algorithm.
    pub algorithm: Algorithm,
    /// Creation time, Unix seconds.
    pub created: u64,
    /// Unencrypted PKCS#8 private key document (secret).
    pub pkcs8: Vec<u8>,
}

impl fmt::Debug for ExportedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportedKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("created", &self.created)
            .field("pkcs8", &"<redacted>")
            .finish()
    }
}

enum KeyPairInner {
    Es256(EcdsaKeyPair),
    EdDsa(Ed25519KeyPair),
}

struct SigningKey {
    kid: String,
    created: u64,
    algorithm: Algorithm,
    pair: KeyPairInner,
    pkcs8: Vec<u8>,
    /// Public key as the verifier wants it: uncompressed SEC1 point / 32-byte Ed25519.
    public: Vec<u8>,
    jwk: Value,
}

impl SigningKey {
    fn generate(algorithm: Algorithm, created: u64) -> Result<SigningKey, TokenError> {
        let pkcs8 = match algorithm {
            Algorithm::Es256 => EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .and_then(|k| k.to_pkcs8v1())
                .map_err(|_| TokenError::Crypto)?,
            Algorithm::EdDsa => Ed25519KeyPair::generate()
                .and_then(|k| k.to_pkcs8())
                .map_err(|_| TokenError::Crypto)?,
        };
        SigningKey::from_pkcs8(algorithm, created, pkcs8.as_ref().to_vec())
            .map_err(|_| TokenError::Crypto)
    }

    fn from_pkcs8(algorithm: Algorithm, created: u64, pkcs8: Vec<u8>) -> Result<SigningKey, ()> {
        let (pair, public) = match algorithm {
            Algorithm::Es256 => {
                let k = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8)
                    .map_err(|_| ())?;
                let public = k.public_key().as_ref().to_vec();
                (KeyPairInner::Es256(k), public)
            }
            Algorithm::EdDsa => {
                let k = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| ())?;
                let public = k.public_key().as_ref().to_vec();
                (KeyPairInner::EdDsa(k), public)
            }
        };
        let (thumbprint_input, mut jwk) = match algorithm {
            Algorithm::Es256 => {
                if public.len() != 65 || public[0] != 4 {
                    return Err(());
                }
                let x = URL_SAFE_NO_PAD.encode(&public[1..33]);
                let y = URL_SAFE_NO_PAD.encode(&public[33..65]);
                (
                    format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#),
                    serde_json::json!({"kty": "EC", "crv": "P-256", "x": x, "y": y}),
                )
            }
            Algorithm::EdDsa => {
                if public.len() != 32 {
                    return Err(());
                }
                let x = URL_SAFE_NO_PAD.encode(&public);
                (
                    format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#),
                    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x}),
                )
            }
        };
        let kid =
            URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, thumbprint_input.as_bytes()));
        if let Value::Object(m) = &mut jwk {
            m.insert("kid".into(), Value::String(kid.clone()));
            m.insert("alg".into(), Value::String(algorithm.jws_name().into()));
            m.insert("use".into(), Value::String("sig".into()));
        }
        Ok(SigningKey {
            kid,
            created,
            algorithm,
            pair,
            pkcs8,
            public,
            jwk,
        })
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, TokenError> {
        match &self.pair {
            KeyPairInner::Es256(k) => k
                .sign(&SystemRandom::new(), message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| TokenError::Crypto),
            KeyPairInner::EdDsa(k) => Ok(k.sign(message).as_ref().to_vec()),
        }
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.algorithm {
            Algorithm::Es256 => UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public)
                .verify(message, signature)
                .is_ok(),
            Algorithm::EdDsa => UnparsedPublicKey::new(&ED25519, &self.public)
                .verify(message, signature)
                .is_ok(),
        }
    }
}

/// Signing keys and the strict verifier. Wrap in a `RwLock` to rotate while serving.
pub struct TokenSigner {
    config: TokenConfig,
    /// Sorted by `created`, oldest first; the last is active.
    keys: Vec<SigningKey>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("config", &self.config)
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|k| (&k.kid, k.created))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl TokenSigner {
    /// A signer with one freshly generated key created at `now`.
    pub fn new(config: TokenConfig, now: u64) -> Result<TokenSigner, TokenError> {
        let key = SigningKey::generate(config.algorithm, now)?;
        Ok(TokenSigner {
            config,
            keys: vec![key],
        })
    }

    /// Rebuilds a signer from persisted keys (any order; the newest `created` becomes active).
    /// Each key's kid is recomputed and must match the stored one. Keys past their retention
    /// are kept until the next [`prune`](Self::prune) / [`rotate`](Self::rotate), but
    /// [`verify`](Self::verify) already refuses them.
    pub fn from_keys(
        config: TokenConfig,
        keys: Vec<ExportedKey>,
    ) -> Result<TokenSigner, TokenError> {
        if keys.is_empty() {
            return Err(TokenError::NoKeys);
        }
        let mut seen = BTreeSet::new();
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            if k.algorithm != config.algorithm {
                return Err(TokenError::ImportAlgorithm {
                    kid: k.kid,
                    key: k.algorithm,
                    config: config.algorithm,
                });
            }
            let key = SigningKey::from_pkcs8(k.algorithm, k.created, k.pkcs8)
                .map_err(|()| TokenError::InvalidPkcs8 { kid: k.kid.clone() })?;
            if key.kid != k.kid {
                return Err(TokenError::KidMismatch {
                    stored: k.kid,
                    computed: key.kid,
                });
            }
            if !seen.insert(key.kid.clone()) {
                return Err(TokenError::DuplicateKid(key.kid));
            }
            out.push(key);
        }
        // Stable: equal creation times keep the caller's order (the later one is newer).
        out.sort_by_key(|k| k.created);
        Ok(TokenSigner { config, keys: out })
    }

    /// Every held key, oldest first, for persistence.
    pub fn export_keys(&self) -> Vec<ExportedKey> {
        self.keys
            .iter()
            .map(|k| ExportedKey {
                kid: k.kid.clone(),
                algorithm: k.algorithm,
                created: k.created,
                pkcs8: k.pkcs8.clone(),
            })
            .collect()
    }

    /// The configuration.
    pub fn config(&self) -> &TokenConfig {
        &self.config
    }

    /// kid of the key [`sign`](Self::sign) uses.
    pub fn active_kid(&self) -> &str {
        &self.active().kid
    }

    /// kids of every held key, oldest first.
    pub fn kids(&self) -> Vec<String> {
        self.keys.iter().map(|k| k.kid.clone()).collect()
    }

    fn active(&self) -> &SigningKey {
        // Invariant: never empty (constructors require a key; prune never drops the active one).
        self.keys
            .last()
            .expect("TokenSigner always holds an active key")
    }

    /// Whether the active key is at least `rotation_period` old.
    pub fn rotation_due(&self, now: u64) -> bool {
        now.saturating_sub(self.active().created) >= self.config.rotation_period
    }

    /// Generates a new active key created at `now`, then [`prune`](Self::prune)s. Returns the
    /// new kid. The previous key stays for verification until its retention end.
    pub fn rotate(&mut self, now: u64) -> Result<String, TokenError> {
        // Keep `keys` sorted even if the clock went backwards: the new key is the newest.
        let created = now.max(self.active().created);
        let key = SigningKey::generate(self.config.algorithm, created)?;
        let kid = key.kid.clone();
        self.keys.push(key);
        self.prune(now);
        Ok(kid)
    }

    /// [`rotate`](Self::rotate) if [`rotation_due`](Self::rotation_due); returns the new kid if it did.
    pub fn rotate_if_due(&mut self, now: u64) -> Result<Option<String>, TokenError> {
        if self.rotation_due(now) {
            self.rotate(now).map(Some)
        } else {
            Ok(None)
        }
    }

    /// When the key at `index` stops verifying: `None` for the active key; for a retired key
    /// `max(created + rotation_period, retired) + max_token_lifetime + leeway`, where `retired` is
    /// the creation time of its successor. With on-schedule rotation this is the brief's
    /// `now - created > rotation_period + max_token_lifetime` (plus leeway); with a late rotation
    /// it still covers the last tokens the key signed.
    fn retention_end_at(&self, index: usize) -> Option<u64> {
        let next = self.keys.get(index + 1)?;
        let key = &self.keys[index];
        let c = &self.config;
        Some(
            key.created
                .saturating_add(c.rotation_period)
                .max(next.created)
                .saturating_add(c.max_token_lifetime)
                .saturating_add(c.leeway),
        )
    }

    /// Retention end (Unix seconds) of the key `kid`: `None` if unknown or still active.
    pub fn retention_end(&self, kid: &str) -> Option<u64> {
        let i = self.keys.iter().position(|k| k.kid == kid)?;
        self.retention_end_at(i)
    }

    /// Drops retired keys whose retention has ended (`now > retention end`). Returns their kids.
    pub fn prune(&mut self, now: u64) -> Vec<String> {
        let ends: Vec<Option<u64>> = (0..self.keys.len())
            .map(|i| self.retention_end_at(i))
            .collect();
        let mut dropped = Vec::new();
        let mut i = 0;
        self.keys.retain(|k| {
            let keep = match ends[i] {
                None => true,
                Some(end) => now <= end,
            };
            i += 1;
            if !keep {
                dropped.push(k.kid.clone());
            }
            keep
        });
        dropped
    }

    /// Signs `claims` with the active key as a compact JWS, header
    /// `{"alg":..,"typ":"JWT","kid":..}`. Refuses `extra` members with registered names,
    /// `exp <= iat`, `auth_time > iat`, and `exp - iat > max_token_lifetime`.
    pub fn sign(&self, claims: &Claims) -> Result<String, TokenError> {
        if let Some(name) = claims
            .extra
            .keys()
            .find(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
        {
            return Err(TokenError::ReservedClaim(name.clone()));
        }
        check_lifetime(claims, self.config.max_token_lifetime)?;
        let key = self.active();
        let header = serde_json::json!({
            "alg": key.algorithm.jws_name(),
            "typ": "JWT",
            "kid": key.kid,
        });
        let header = serde_json::to_vec(&header).map_err(|_| TokenError::Crypto)?;
        let payload = serde_json::to_vec(claims).map_err(|_| TokenError::Crypto)?;
        let mut out = URL_SAFE_NO_PAD.encode(header);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        let signature = key.sign(out.as_bytes())?;
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut out);
        Ok(out)
    }

    /// `{"keys":[...]}` with every held key (active and retained retired ones), oldest first:
    /// `kty`, `crv`, `x` (`y`), `kid`, `alg`, `use: "sig"`.
    pub fn jwks(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>() })
    }

    /// Strictly parses and verifies `token` at `now`. See the module docs for the order of checks.
    pub fn verify(
        &self,
        token: &str,
        now: u64,
        expected_iss: &str,
        expected_aud: &str,
    ) -> Result<Claims, TokenError> {
        self.verify_bytes(token.as_bytes(), now, expected_iss, expected_aud)
    }

    /// [`verify`](Self::verify) on raw bytes (e.g. an HTTP body that may not be UTF-8).
    pub fn verify_bytes(
        &self,
        token: &[u8],
        now: u64,
        expected_iss: &str,
        expected_aud: &str,
    ) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::TooLarge {
                len: token.len(),
                max: MAX_TOKEN_LEN,
            });
        }
        let mut parts = token.split(|&b| b == b'.');
        let (Some(h64), Some(p64), Some(s64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::NotThreeParts);
        };
        let header = decode_part(h64, "header")?;
        let payload = decode_part(p64, "payload")?;

        // ---- header ----
        let header = parse_object(&header).map_err(TokenError::HeaderJson)?;
        if let Some(name) = header
            .keys()
            .find(|k| !matches!(k.as_str(), "alg" | "typ" | "kid"))
        {
            return Err(TokenError::UnsupportedHeaderParameter(name.clone()));
        }
        let alg = match header.get("alg") {
            Some(Value::String(a)) => a.as_str(),
            _ => return Err(TokenError::MissingAlg),
        };
        if alg.eq_ignore_ascii_case("none") {
            return Err(TokenError::AlgNone);
        }
        let expected = self.config.algorithm;
        let alg = match Algorithm::from_jws_name(alg) {
            Some(a) if a == expected => a,
            _ => {
                return Err(TokenError::AlgorithmMismatch {
                    expected,
                    found: alg.to_string(),
                });
            }
        };
        match header.get("typ") {
            None => {}
            Some(Value::String(t)) if t.eq_ignore_ascii_case("JWT") => {}
            Some(Value::String(t)) => return Err(TokenError::BadTyp(t.clone())),
            Some(other) => return Err(TokenError::BadTyp(other.to_string())),
        }
        let kid = match header.get("kid") {
            Some(Value::String(k)) => k.as_str(),
            _ => return Err(TokenError::MissingKid),
        };
        let Some(index) = self.keys.iter().position(|k| k.kid == kid) else {
            return Err(TokenError::UnknownKid(kid.to_string()));
        };
        if let Some(end) = self.retention_end_at(index)
            && now > end
        {
            return Err(TokenError::KeyRetired(kid.to_string()));
        }
        let key = &self.keys[index];
        if key.algorithm != alg {
            return Err(TokenError::KeyAlgorithmMismatch {
                kid: kid.to_string(),
                key: key.algorithm,
                alg,
            });
        }

        // ---- signature, over the ASCII "header.payload" exactly as received ----
        // Decoded after the header checks so `alg: none` with an empty signature reports AlgNone.
        let signature = decode_part(s64, "signature")?;
        if signature.len() != 64 {
            return Err(TokenError::SignatureLength(signature.len()));
        }
        let signing_input = &token[..h64.len() + 1 + p64.len()];
        if !key.verify(signing_input, &signature) {
            return Err(TokenError::BadSignature);
        }

        // ---- payload ----
        let payload = parse_object(&payload).map_err(TokenError::PayloadJson)?;
        let claims: Claims = serde_json::from_value(Value::Object(payload))
            .map_err(|e| TokenError::InvalidClaims(e.to_string()))?;
        if let Some(name) = claims
            .extra
            .keys()
            .find(|k| REGISTERED_CLAIMS.contains(&k.as_str()))
        {
            // Only `jti` can land here (the others are fields); it is not part of passkeyd tokens.
            return Err(TokenError::InvalidClaims(format!(
                "unexpected registered claim {name:?}"
            )));
        }
        check_lifetime(&claims, self.config.max_token_lifetime)?;
        let leeway = self.config.leeway;
        if now >= claims.exp.saturating_add(leeway) {
            return Err(TokenError::Expired {
                exp: claims.exp,
                now,
            });
        }
        if let Some(nbf) = claims.nbf
            && nbf > now.saturating_add(leeway)
        {
            return Err(TokenError::NotYetValid { nbf, now });
        }
        if claims.iat > now.saturating_add(leeway) {
            return Err(TokenError::IssuedInFuture {
                iat: claims.iat,
                now,
            });
        }
        if claims.iss != expected_iss {
            return Err(TokenError::WrongIssuer {
                expected: expected_iss.to_string(),
                found: claims.iss,
            });
        }
        if claims.aud != expected_aud {
            return Err(TokenError::WrongAudience {
                expected: expected_aud.to_string(),
                found: claims.aud,
            });
        }
        Ok(claims)
    }
}

fn check_lifetime(claims: &Claims, max: u64) -> Result<(), TokenError> {
    if claims.exp <= claims.iat || claims.auth_time > claims.iat {
        return Err(TokenError::InconsistentTimes);
    }
    let lifetime = claims.exp - claims.iat;
    if lifetime > max {
        return Err(TokenError::LifetimeTooLong { lifetime, max });
    }
    Ok(())
}

fn decode_part(part: &[u8], name: &'static str) -> Result<Vec<u8>, TokenError> {
    // The standard engine refuses padding, non-alphabet bytes and non-zero trailing bits, so
    // every accepted string is the one canonical encoding of its bytes.
    if part.is_empty() {
        return Err(TokenError::Base64 { part: name });
    }
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| TokenError::Base64 { part: name })
}

/// Parses a JSON object, refusing duplicate member names at any depth (serde_json would keep the
/// last one silently) and non-objects. serde_json's recursion limit (128) bounds nesting.
fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue::deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    match value.0 {
        Value::Object(m) => Ok(m),
        _ => Err("not an object".into()),
    }
}

struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> serde::de::Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(StrictValue(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                return Err(serde::de::Error::custom(format!(
                    "duplicate member {key:?}"
                )));
            }
            let StrictValue(v) = map.next_value()?;
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

/// RFC 8176 `amr` values for a verified passkey assertion (user presence is always verified by
/// passkeyd's authentication ceremony, §7.2 step 16):
///
/// * `"hwk"` when the credential is device-bound (`backup_eligible == false`) **and** its
///   attestation chained to a trusted hardware authenticator (`attested_hardware`); otherwise
///   `"swk"` (synced passkeys, and device-bound claims the server cannot substantiate: BE is
///   authenticator-asserted and unauthenticated without attestation).
/// * `"user"` always: RFC 8176 defines it as a user presence test, which every assertion passed.
/// * `"mfa"` when `user_verified`: possession of the key plus the authenticator's local user
///   verification (knowledge or inherence) are two factors.
///
/// Never `"pin"`, `"fpt"`, `"face"`: UV says the authenticator verified the user but not how.
pub fn amr_for(user_verified: bool, backup_eligible: bool, attested_hardware: bool) -> Vec<String> {
    let mut amr = Vec::with_capacity(3);
    amr.push(
        if !backup_eligible && attested_hardware {
            "hwk"
        } else {
            "swk"
        }
        .to_string(),
    );
    amr.push("user".to_string());
    if user_verified {
        amr.push("mfa".to_string());
    }
    amr
}

/// `acr` (OpenID Connect EAP ACR Values 1.0) for an `amr` list: `"phrh"` (phishing-resistant,
/// hardware-protected key) when it contains `"hwk"`, otherwise `"phr"` (phishing-resistant).
/// Every passkey assertion is phishing-resistant (origin-bound signature).
pub fn acr_for(amr: &[String]) -> String {
    if amr.iter().any(|a| a == "hwk") {
        "phrh"
    } else {
        "phr"
    }
    .to_string()
}

#[cfg(test)]
mod unit_tests {
    use super::*;

    fn claims(now: u64) -> Claims {
        Claims {
            iss: "https://id.example".into(),
            aud: "app".into(),
            sub: "u1".into(),
            sid: "s1".into(),
            iat: now,
            exp: now + 600,
            nbf: None,
            auth_time: now,
            amr: amr_for(true, true, false),
            acr: "phr".into(),
            extra: Map::new(),
        }
    }

    #[test]
    fn kid_is_rfc7638_thumbprint_of_published_jwk() {
        for alg in [Algorithm::Es256, Algorithm::EdDsa] {
            let s = TokenSigner::new(
                TokenConfig {
                    algorithm: alg,
                    ..Default::default()
                },
                0,
            )
            .unwrap();
            let jwk = &s.jwks()["keys"][0];
            let canonical = match alg {
                Algorithm::Es256 => format!(
                    r#"{{"crv":"{}","kty":"{}","x":"{}","y":"{}"}}"#,
                    jwk["crv"].as_str().unwrap(),
                    jwk["kty"].as_str().unwrap(),
                    jwk["x"].as_str().unwrap(),
                    jwk["y"].as_str().unwrap()
                ),
                Algorithm::EdDsa => format!(
                    r#"{{"crv":"{}","kty":"{}","x":"{}"}}"#,
                    jwk["crv"].as_str().unwrap(),
                    jwk["kty"].as_str().unwrap(),
                    jwk["x"].as_str().unwrap()
                ),
            };
            let expect =
                URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes()));
            assert_eq!(jwk["kid"], expect);
            assert_eq!(s.active_kid(), expect);
            assert_eq!(expect.len(), 43);
        }
    }

    #[test]
    fn duplicate_members_refused_at_any_depth() {
        assert!(parse_object(br#"{"a":1,"a":2}"#).is_err());
        assert!(parse_object(br#"{"a":{"b":1,"b":1}}"#).is_err());
        assert!(parse_object(br#"{"a":[{"b":1,"b":1}]}"#).is_err());
        assert!(parse_object(br#"{"a":1} x"#).is_err());
        assert!(parse_object(br#"[1]"#).is_err());
        assert!(parse_object(br#"{"a":1,"b":{"a":1}}"#).is_ok());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut s = String::from("{\"a\":");
        s.push_str(&"[".repeat(100_000));
        assert!(parse_object(s.as_bytes()).is_err());
    }

    #[test]
    fn sign_refuses_reserved_extra_and_long_lifetimes() {
        let s = TokenSigner::new(TokenConfig::default(), 1000).unwrap();
        let mut c = claims(1000);
        c.extra.insert("iss".into(), Value::String("evil".into()));
        assert_eq!(s.sign(&c), Err(TokenError::ReservedClaim("iss".into())));
        let mut c = claims(1000);
        c.exp = c.iat + 3601;
        assert!(matches!(
            s.sign(&c),
            Err(TokenError::LifetimeTooLong { .. })
        ));
        let mut c = claims(1000);
        c.exp = c.iat;
        assert_eq!(s.sign(&c), Err(TokenError::InconsistentTimes));
        let mut c = claims(1000);
        c.auth_time = c.iat + 1;
        assert_eq!(s.sign(&c), Err(TokenError::InconsistentTimes));
    }

    #[test]
    fn amr_mapping() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(amr_for(true, false, true), v(&["hwk", "user", "mfa"]));
        assert_eq!(amr_for(false, false, true), v(&["hwk", "user"]));
        assert_eq!(amr_for(true, false, false), v(&["swk", "user", "mfa"]));
        assert_eq!(amr_for(true, true, true), v(&["swk", "user", "mfa"]));
        assert_eq!(amr_for(false, true, false), v(&["swk", "user"]));
        assert_eq!(acr_for(&amr_for(true, false, true)), "phrh");
        assert_eq!(acr_for(&amr_for(true, true, true)), "phr");
    }

    #[test]
    fn error_messages_are_distinct() {
        let all = [
            TokenError::TooLarge { len: 1, max: 0 },
            TokenError::NotThreeParts,
            TokenError::Base64 { part: "header" },
            TokenError::HeaderJson("x".into()),
            TokenError::UnsupportedHeaderParameter("crit".into()),
            TokenError::MissingAlg,
            TokenError::AlgNone,
            TokenError::AlgorithmMismatch {
                expected: Algorithm::Es256,
                found: "HS256".into(),
            },
            TokenError::BadTyp("at+jwt".into()),
            TokenError::MissingKid,
            TokenError::UnknownKid("k".into()),
            TokenError::KeyRetired("k".into()),
            TokenError::SignatureLength(3),
            TokenError::BadSignature,
            TokenError::PayloadJson("x".into()),
            TokenError::InvalidClaims("x".into()),
            TokenError::InconsistentTimes,
            TokenError::Expired { exp: 1, now: 2 },
            TokenError::NotYetValid { nbf: 3, now: 2 },
            TokenError::IssuedInFuture { iat: 3, now: 2 },
            TokenError::WrongIssuer {
                expected: "a".into(),
                found: "b".into(),
            },
            TokenError::WrongAudience {
                expected: "a".into(),
                found: "b".into(),
            },
        ];
        let msgs: BTreeSet<String> = all.iter().map(|e| e.to_string()).collect();
        assert_eq!(msgs.len(), all.len());
    }
}
