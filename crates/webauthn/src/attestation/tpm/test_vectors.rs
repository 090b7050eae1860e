//! Test-only loader for the real registration vectors in `shared/vectors/registration` (schema
//! in its README.md), used by the `tpm` and `android-safetynet` tests: it decodes the
//! attestation object and hands a format's `verify` its inputs, with optional changes to
//! `attStmt` for tampered variants.

use crate::attestation::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome,
};
use crate::authenticator_data::AuthenticatorData;
use crate::b64;
use crate::cbor::{self, Value};
use crate::cose::{CosePublicKey, KeyPolicy};
use crate::trust::{ChainError, TrustAnchors, UnixTime, ValidatedChain, verify_chain};
use std::path::PathBuf;

/// A format's verification procedure.
pub(crate) type VerifyFn = fn(
    &AttestationInput<'_, '_>,
    &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError>;

fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

/// One registration case.
pub(crate) struct Case {
    /// The whole case.
    pub json: serde_json::Value,
    /// The attestation object.
    pub att_obj: Vec<u8>,
    /// SHA-256 of clientDataJSON.
    pub client_data_hash: [u8; 32],
    /// The anchors named by `trust_roots`.
    pub trust_roots: TrustAnchors,
    /// `verification_time`, else now.
    pub time: UnixTime,
}

/// Names of every registration case whose attestation object has format `fmt`.
pub(crate) fn cases_with_fmt(fmt: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(vectors_dir().join("registration"))
        .expect("vectors folder")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".json").map(str::to_string)
        })
        .filter(|n| {
            let c = load(n);
            c.fmt().as_deref() == Some(fmt)
        })
        .collect();
    names.sort();
    names
}

/// Loads `registration/<name>.json`.
pub(crate) fn load(name: &str) -> Case {
    let dir = vectors_dir();
    let text = std::fs::read(dir.join("registration").join(format!("{name}.json")))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let json: serde_json::Value = serde_json::from_slice(&text).expect("case JSON");
    let resp = &json["response"]["response"];
    let att_obj = b64::decode(resp["attestationObject"].as_str().unwrap_or("")).unwrap_or_default();
    let cdj = b64::decode(resp["clientDataJSON"].as_str().unwrap_or("")).expect("clientDataJSON");
    let mut client_data_hash = [0u8; 32];
    client_data_hash
        .copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &cdj).as_ref());
    let mut trust_roots = TrustAnchors::new();
    for root in json["trust_roots"].as_array().into_iter().flatten() {
        let pem = std::fs::read(dir.join("roots").join(root.as_str().expect("root name")))
            .expect("root file");
        trust_roots.extend(&TrustAnchors::from_pem(&pem).expect("root PEM"));
    }
    let time = json["verification_time"]
        .as_str()
        .map(|t| UnixTime::parse_rfc3339(t).expect("verification_time"))
        .unwrap_or_else(UnixTime::now);
    Case {
        json,
        att_obj,
        client_data_hash,
        trust_roots,
        time,
    }
}

impl Case {
    fn object(&self) -> Option<Value<'_>> {
        cbor::decode(&self.att_obj).ok()
    }

    /// `fmt` of the attestation object.
    pub fn fmt(&self) -> Option<String> {
        Some(self.object()?.get_text("fmt")?.as_text()?.to_string())
    }

    /// `attStmt`.
    pub fn stmt(&self) -> Value<'_> {
        self.object()
            .and_then(|o| o.get_text("attStmt").cloned())
            .expect("attStmt")
    }

    /// `authData`.
    pub fn auth_data(&self) -> &[u8] {
        match cbor::decode(&self.att_obj).expect("attestation object") {
            Value::Map(entries) => entries
                .into_iter()
                .find(|(k, _)| k.as_text() == Some("authData"))
                .and_then(|(_, v)| v.as_bytes())
                .expect("authData"),
            _ => panic!("attestation object is not a map"),
        }
    }

    /// Whether the case is a positive one.
    pub fn expect_ok(&self) -> bool {
        self.json["expect"]["ok"].as_bool().unwrap_or(false)
    }

    /// Options at the case's time, RS1 allowed (legacy TPMs), SafetyNet knobs as recorded.
    pub fn options(&self) -> AttestationOptions {
        let mut o = AttestationOptions {
            time: self.time,
            key_policy: KeyPolicy {
                allow_rs1: true,
                ..KeyPolicy::default()
            },
            ..AttestationOptions::default()
        };
        if let Some(b) = self.json["safetynet_check_freshness"].as_bool() {
            o.safetynet.check_freshness = b;
        }
        if let Some(b) = self.json["safetynet_require_cts_profile_match"].as_bool() {
            o.safetynet.require_cts_profile_match = b;
        }
        o
    }

    /// Runs `verify` with `stmt` (the case's own or a tampered one) and the case's options.
    pub fn run(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
    ) -> Result<AttestationOutcome, AttestationError> {
        self.run_with(verify, stmt, self.auth_data(), &self.options())
    }

    /// Runs `verify` with explicit authenticator data and options.
    pub fn run_with(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
        auth_data: &[u8],
        options: &AttestationOptions,
    ) -> Result<AttestationOutcome, AttestationError> {
        let ad = AuthenticatorData::parse(auth_data).expect("authData");
        let acd = ad
            .attested_credential_data
            .as_ref()
            .expect("attested credential data");
        let key = CosePublicKey::from_cbor(acd.credential_public_key, &options.key_policy)
            .expect("credential key");
        verify(
            &AttestationInput {
                att_stmt: stmt,
                auth_data: &ad,
                client_data_hash: &self.client_data_hash,
                credential_public_key: &key,
            },
            options,
        )
    }

    /// Validates a trust path to the case's roots at the case's time.
    pub fn chain(&self, outcome: &AttestationOutcome) -> Result<ValidatedChain, ChainError> {
        let o = self.options();
        verify_chain(
            &outcome.trust_path,
            &self.trust_roots,
            o.time,
            &o.chain_policy,
        )
    }
}

/// `stmt` with member `key` set to `value` (added when absent).
pub(crate) fn with_member<'a>(stmt: &Value<'a>, key: &'a str, value: Value<'a>) -> Value<'a> {
    let mut entries = stmt.as_map().expect("attStmt map").to_vec();
    match entries.iter_mut().find(|(k, _)| k.as_text() == Some(key)) {
        Some(e) => e.1 = value,
        None => entries.push((Value::Text(key), value)),
    }
    Value::Map(entries)
}

/// `stmt` without member `key`.
pub(crate) fn without_member<'a>(stmt: &Value<'a>, key: &str) -> Value<'a> {
    Value::Map(
        stmt.as_map()
            .expect("attStmt map")
            .iter()
            .filter(|(k, _)| k.as_text() != Some(key))
            .cloned()
            .collect(),
    )
}

/// `attStmt[key]` as bytes, copied.
pub(crate) fn member_bytes(stmt: &Value<'_>, key: &str) -> Vec<u8> {
    stmt.get_text(key)
        .and_then(Value::as_bytes)
        .unwrap_or_else(|| panic!("attStmt.{key} is bytes"))
        .to_vec()
}
