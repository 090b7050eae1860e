//! Shared helpers for the attestation format unit tests: loading the real registration vectors
//! of `shared/vectors/registration` (see its README.md) and running a format's `verify` on them.
//!
//! ```ignore
//! let v = load_registration_vector("w3c-packed-es256");
//! let outcome = v.verify_with(packed::verify).unwrap();
//! v.verify_trust_path(&outcome).unwrap();
//! ```

use super::{AttestationError, AttestationInput, AttestationOptions, AttestationOutcome};
use crate::authenticator_data::AuthenticatorData;
use crate::cbor::{self, Value};
use crate::cose::CosePublicKey;
use crate::trust::{ChainError, TrustAnchors, UnixTime, ValidatedChain, verify_chain};

/// The vectors folder, beside the repository.
pub(crate) const VECTORS_DIR: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/vectors");

/// A format's verification procedure, as every `attestation::<format>::verify` is.
pub(crate) type VerifyFn = fn(
    &AttestationInput<'_, '_>,
    &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError>;

/// The pieces of a registration vector a format's procedure needs.
#[derive(Debug, Clone)]
pub(crate) struct RegistrationVector {
    /// The file name without `.json`.
    pub name: String,
    /// The whole case (for `expect`, `note`, ...).
    pub json: serde_json::Value,
    /// `fmt` from the attestation object.
    pub fmt: String,
    /// The CBOR encoding of `attStmt`, as it appears in the attestation object.
    pub att_stmt: Vec<u8>,
    /// The raw authenticator data.
    pub auth_data: Vec<u8>,
    /// SHA-256 of clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// The anchors of `trust_roots` (empty when the case has none).
    pub trust_roots: TrustAnchors,
    /// `verification_time`, else the date in `note` ("time fixed at <date>"), else now.
    pub time: UnixTime,
}

impl RegistrationVector {
    /// Whether the case is a positive one.
    pub fn expect_ok(&self) -> bool {
        self.json["expect"]["ok"].as_bool().unwrap_or(false)
    }

    /// `expect.attestation_type` (positives only).
    pub fn expected_attestation_type(&self) -> Option<&str> {
        self.json["expect"]["attestation_type"].as_str()
    }

    /// `attStmt`, decoded (borrowing from `self.att_stmt`).
    pub fn att_stmt_value(&self) -> Value<'_> {
        cbor::decode(&self.att_stmt).expect("attStmt is CBOR")
    }

    /// Options for this case: the verification time, and RS1 allowed when the credential key
    /// uses it (some legacy TPM vectors).
    pub fn options(&self) -> AttestationOptions {
        let mut o = AttestationOptions {
            time: self.time,
            ..AttestationOptions::default()
        };
        if self.json["expect"]["alg"].as_i64() == Some(-65535) {
            o.key_policy.allow_rs1 = true;
        }
        o
    }

    /// Runs `verify` on this case with [`RegistrationVector::options`].
    pub fn verify_with(&self, verify: VerifyFn) -> Result<AttestationOutcome, AttestationError> {
        self.verify_with_options(verify, &self.options())
    }

    /// Runs `verify` on this case with the given options.
    pub fn verify_with_options(
        &self,
        verify: VerifyFn,
        options: &AttestationOptions,
    ) -> Result<AttestationOutcome, AttestationError> {
        let stmt = self.att_stmt_value();
        verify_parts(
            verify,
            &stmt,
            &self.auth_data,
            &self.client_data_hash,
            options,
        )
    }

    /// Validates the outcome's trust path to the case's `trust_roots` at the case's time.
    pub fn verify_trust_path(
        &self,
        outcome: &AttestationOutcome,
    ) -> Result<ValidatedChain, ChainError> {
        let o = self.options();
        verify_chain(
            &outcome.trust_path,
            &self.trust_roots,
            o.time,
            &o.chain_policy,
        )
    }
}

/// Runs a format's `verify` on explicit pieces (for tampered variants): parses `auth_data` and
/// its credential public key (with `options.key_policy`) and builds the [`AttestationInput`].
pub(crate) fn verify_parts(
    verify: VerifyFn,
    att_stmt: &Value<'_>,
    auth_data: &[u8],
    client_data_hash: &[u8; 32],
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let ad = AuthenticatorData::parse(auth_data).expect("authData parses");
    let acd = ad
        .attested_credential_data
        .as_ref()
        .expect("registration authData has attested credential data");
    let key = CosePublicKey::from_cbor(acd.credential_public_key, &options.key_policy)
        .expect("credential public key parses");
    let input = AttestationInput {
        att_stmt,
        auth_data: &ad,
        client_data_hash,
        credential_public_key: &key,
    };
    verify(&input, options)
}

/// Splits an attestation object into (`fmt`, `authData`, encoded `attStmt`).
pub(crate) fn split_attestation_object(obj: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
    let first = *obj.first().expect("non-empty attestation object");
    assert_eq!(first >> 5, 5, "attestation object is a map");
    let count = usize::from(first & 0x1f);
    assert!(count < 24, "small map");
    let mut pos = 1;
    let (mut fmt, mut auth_data, mut att_stmt) = (None, None, None);
    for _ in 0..count {
        let (key, used) = cbor::decode_prefix(&obj[pos..]).expect("map key");
        pos += used;
        let len = cbor::item_len(&obj[pos..]).expect("map value");
        let raw = &obj[pos..pos + len];
        pos += len;
        match key.as_text() {
            Some("fmt") => {
                fmt = Some(
                    cbor::decode(raw)
                        .expect("fmt")
                        .as_text()
                        .expect("text")
                        .to_string(),
                )
            }
            Some("authData") => {
                auth_data = Some(
                    cbor::decode(raw)
                        .expect("authData")
                        .as_bytes()
                        .expect("bytes")
                        .to_vec(),
                )
            }
            Some("attStmt") => att_stmt = Some(raw.to_vec()),
            _ => {}
        }
    }
    assert_eq!(pos, obj.len(), "nothing after the map");
    (
        fmt.expect("fmt present"),
        auth_data.expect("authData present"),
        att_stmt.expect("attStmt present"),
    )
}

/// SHA-256.
pub(crate) fn sha256(data: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The verification time of a case: `verification_time`, else the date after "time fixed at"
/// in `note`, else now.
fn case_time(json: &serde_json::Value) -> UnixTime {
    if let Some(t) = json["verification_time"].as_str() {
        return UnixTime::parse_rfc3339(t).expect("verification_time is RFC 3339");
    }
    if let Some(note) = json["note"].as_str()
        && let Some(i) = note.find("time fixed at ")
    {
        let rest = &note[i + "time fixed at ".len()..];
        let token: String = rest
            .chars()
            .take_while(|c| !c.is_whitespace() && *c != ')' && *c != ';' && *c != ',')
            .collect();
        let token = if token.ends_with('Z') || token.contains('+') {
            token
        } else {
            format!("{token}Z")
        };
        return UnixTime::parse_rfc3339(&token).expect("date in note is RFC 3339");
    }
    UnixTime::now()
}

/// Loads `registration/<name>.json` (name with or without `.json`).
pub(crate) fn load_registration_vector(name: &str) -> RegistrationVector {
    let name = name.strip_suffix(".json").unwrap_or(name);
    let path = format!("{VECTORS_DIR}/registration/{name}.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let json: serde_json::Value = serde_json::from_str(&text).expect("vector is JSON");
    let r = &json["response"]["response"];
    let cdj = crate::b64::decode(r["clientDataJSON"].as_str().expect("clientDataJSON"))
        .expect("clientDataJSON base64url");
    let obj = crate::b64::decode(r["attestationObject"].as_str().expect("attestationObject"))
        .expect("attestationObject base64url");
    let (fmt, auth_data, att_stmt) = split_attestation_object(&obj);
    let mut trust_roots = TrustAnchors::new();
    if let Some(roots) = json["trust_roots"].as_array() {
        for root in roots {
            let file = root.as_str().expect("root file name");
            let pem = std::fs::read(format!("{VECTORS_DIR}/roots/{file}")).expect("root file");
            trust_roots.extend(&TrustAnchors::from_pem(&pem).expect("root PEM"));
        }
    }
    let time = case_time(&json);
    RegistrationVector {
        name: name.to_string(),
        json,
        fmt,
        att_stmt,
        auth_data,
        client_data_hash: sha256(&cdj),
        trust_roots,
        time,
    }
}

/// Every registration vector whose attestation object has format `fmt` (negatives included,
/// except those whose attestation object does not decode), sorted by name.
pub(crate) fn registration_vectors_with_fmt(fmt: &str) -> Vec<RegistrationVector> {
    let dir = format!("{VECTORS_DIR}/registration");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    names
        .into_iter()
        .filter_map(|n| {
            let text = std::fs::read_to_string(format!("{dir}/{n}")).ok()?;
            let json: serde_json::Value = serde_json::from_str(&text).ok()?;
            let obj =
                crate::b64::decode(json["response"]["response"]["attestationObject"].as_str()?)
                    .ok()?;
            let v = cbor::decode(&obj).ok()?;
            (v.get_text("fmt")?.as_text()? == fmt).then(|| load_registration_vector(&n))
        })
        .collect()
}

/// A copy of map `stmt` with member `name` set to `value` (replaced, or appended when absent).
pub(crate) fn with_member<'a>(stmt: &Value<'a>, name: &'a str, value: Value<'a>) -> Value<'a> {
    let mut entries: Vec<(Value<'a>, Value<'a>)> = stmt.as_map().expect("map").to_vec();
    match entries
        .iter_mut()
        .find(|(k, _)| matches!(k, Value::Text(t) if *t == name))
    {
        Some(e) => e.1 = value,
        None => entries.push((Value::Text(name), value)),
    }
    Value::Map(entries)
}

/// A copy of map `stmt` without member `name`.
pub(crate) fn without_member<'a>(stmt: &Value<'a>, name: &str) -> Value<'a> {
    Value::Map(
        stmt.as_map()
            .expect("map")
            .iter()
            .filter(|(k, _)| !matches!(k, Value::Text(t) if *t == name))
            .cloned()
            .collect(),
    )
}

/// `bytes` with the last byte's lowest bit flipped.
pub(crate) fn flip_last_bit(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    if let Some(x) = b.last_mut() {
        *x ^= 1;
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_a_vector_with_roots_and_time() {
        let v = load_registration_vector("pyw-apple-passkey-es256");
        assert_eq!(v.fmt, "apple");
        assert!(!v.trust_roots.is_empty());
        assert_eq!(
            v.time,
            UnixTime::parse_rfc3339("2021-09-01T00:00:00Z").unwrap()
        );
        assert!(v.att_stmt_value().get_text("x5c").is_some());
        assert!(v.expect_ok());
        assert_eq!(v.expected_attestation_type(), Some("anonca"));
    }

    #[test]
    fn time_falls_back_to_the_note() {
        let j = serde_json::json!({"note": "certificate expired; verify with time fixed at 2020-09-13T02:49:17 (leaf notBefore)"});
        assert_eq!(
            case_time(&j),
            UnixTime::parse_rfc3339("2020-09-13T02:49:17Z").unwrap()
        );
    }

    #[test]
    fn lists_vectors_by_format() {
        let packed = registration_vectors_with_fmt("packed");
        assert!(packed.len() >= 15, "{}", packed.len());
        assert!(packed.iter().all(|v| v.fmt == "packed"));
    }
}
