//! Test-only glue over the shared [`test_support`](crate::attestation::test_support) loader for
//! the `tpm` and `android-safetynet` tests: the options a case was recorded under (RS1 allowed
//! for legacy TPM attestation keys, the SafetyNet knobs of the case), and short ways to run a
//! format's `verify` on a case with its own or a tampered `attStmt`.

pub(crate) use crate::attestation::test_support::{
    RegistrationVector as Case, VerifyFn, load_registration_vector as load,
    registration_vectors_with_fmt, verify_parts, with_member, without_member,
};
use crate::attestation::{AttestationError, AttestationOptions, AttestationOutcome};
use crate::cbor::Value;
use crate::cose::KeyPolicy;
use crate::trust::{ChainError, ValidatedChain, verify_chain};

/// Names of every registration case whose attestation object has format `fmt`, sorted.
pub(crate) fn cases_with_fmt(fmt: &str) -> Vec<String> {
    registration_vectors_with_fmt(fmt)
        .into_iter()
        .map(|v| v.name)
        .collect()
}

/// Shorthands on a registration case.
pub(crate) trait CaseExt {
    /// `attStmt`, decoded.
    fn stmt(&self) -> Value<'_>;
    /// `authData`.
    fn auth_data(&self) -> &[u8];
    /// The options the case was recorded under: its time; RS1 allowed, because several TPM
    /// cases sign certInfo with RS1 although their credential key is RS256 or ES256; the
    /// SafetyNet knobs `safetynet_check_freshness` / `safetynet_require_cts_profile_match`.
    fn recorded_options(&self) -> AttestationOptions;
    /// Runs `verify` with `stmt` and [`CaseExt::recorded_options`].
    fn run(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
    ) -> Result<AttestationOutcome, AttestationError>;
    /// Runs `verify` with explicit authenticator data and options.
    fn run_with(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
        auth_data: &[u8],
        options: &AttestationOptions,
    ) -> Result<AttestationOutcome, AttestationError>;
    /// Validates a trust path to the case's roots at the case's time.
    fn chain(&self, outcome: &AttestationOutcome) -> Result<ValidatedChain, ChainError>;
}

impl CaseExt for Case {
    fn stmt(&self) -> Value<'_> {
        self.att_stmt_value()
    }

    fn auth_data(&self) -> &[u8] {
        &self.auth_data
    }

    fn recorded_options(&self) -> AttestationOptions {
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

    fn run(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
    ) -> Result<AttestationOutcome, AttestationError> {
        self.run_with(verify, stmt, &self.auth_data, &self.recorded_options())
    }

    fn run_with(
        &self,
        verify: VerifyFn,
        stmt: &Value<'_>,
        auth_data: &[u8],
        options: &AttestationOptions,
    ) -> Result<AttestationOutcome, AttestationError> {
        verify_parts(verify, stmt, auth_data, &self.client_data_hash, options)
    }

    fn chain(&self, outcome: &AttestationOutcome) -> Result<ValidatedChain, ChainError> {
        let o = self.recorded_options();
        verify_chain(
            &outcome.trust_path,
            &self.trust_roots,
            o.time,
            &o.chain_policy,
        )
    }
}

/// `attStmt[key]` as bytes, copied.
pub(crate) fn member_bytes(stmt: &Value<'_>, key: &str) -> Vec<u8> {
    stmt.get_text(key)
        .and_then(Value::as_bytes)
        .unwrap_or_else(|| panic!("attStmt.{key} is bytes"))
        .to_vec()
}
