//! The `compound` attestation statement format (WebAuthn L3 §8.9): `attStmt` is an array of at
//! least two self-contained `{fmt, attStmt}` statements about the same credential, each verified
//! with its own format's procedure.
//!
//! Relying-party policy here: every contained statement must verify (one failure fails the
//! whole), and the outcome reports the strongest component as its own type and trust path.

use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
    verify_statement,
};
use crate::cbor::Value;

/// §8.9 verification procedure.
///
/// Step 1: `attStmt` is an array of at least two `{fmt, attStmt}` maps, none of format
/// `compound` (`components`). Step 2: for each `subStmt`, evaluate the verification procedure
/// of `subStmt.fmt` with `subStmt.attStmt`, authenticatorData and clientDataHash; this
/// verifier's policy is that all must succeed. Step 3: return the outcomes of all of them in
/// `components`, and as the compound's own type and trust path those of the strongest
/// (`strongest`).
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let subs = components(input.att_stmt)?;
    let mut outcomes = Vec::with_capacity(subs.len());
    for (index, (fmt, att_stmt)) in subs.into_iter().enumerate() {
        let sub_input = AttestationInput {
            att_stmt,
            auth_data: input.auth_data,
            client_data_hash: input.client_data_hash,
            credential_public_key: input.credential_public_key,
        };
        let outcome = verify_statement(fmt, &sub_input, options)
            .ok_or_else(|| {
                AttestationError::Malformed(format!(
                    "compound statement {index} has unsupported format '{fmt}'"
                ))
            })?
            .map_err(|e| component_error(index, fmt, e))?;
        outcomes.push((fmt.to_string(), outcome));
    }
    let best = strongest(&outcomes).ok_or_else(|| {
        AttestationError::Malformed("compound attStmt holds no statements".into())
    })?;
    Ok(AttestationOutcome {
        attestation_type: best.attestation_type,
        trust_path: best.trust_path.clone(),
        components: outcomes,
    })
}

/// §8.9 syntax: `attStmt` is an array of at least two maps `{fmt: text, attStmt: any}`; a
/// contained statement may not itself be `compound`. Returns each `(fmt, attStmt)`.
fn components<'s, 'a>(
    att_stmt: &'s Value<'a>,
) -> Result<Vec<(&'a str, &'s Value<'a>)>, AttestationError> {
    let items = att_stmt.as_array().ok_or_else(|| {
        AttestationError::Malformed(format!(
            "compound attStmt must be an array of statements, found a {}",
            att_stmt.type_name()
        ))
    })?;
    if items.len() < 2 {
        return Err(AttestationError::Malformed(format!(
            "compound attStmt must hold at least two statements, found {}",
            items.len()
        )));
    }
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            if item.as_map().is_none() {
                return Err(AttestationError::Malformed(format!(
                    "compound statement {index} must be a map {{fmt, attStmt}}, found a {}",
                    item.type_name()
                )));
            }
            let fmt =
                item.get_text("fmt")
                    .and_then(Value::as_text)
                    .ok_or(AttestationError::Member {
                        name: "fmt",
                        expected: "a text string in every compound statement",
                    })?;
            let sub = item.get_text("attStmt").ok_or(AttestationError::Member {
                name: "attStmt",
                expected: "present in every compound statement",
            })?;
            if fmt == "compound" {
                return Err(AttestationError::Malformed(format!(
                    "compound statement {index} is itself compound, which §8.9 forbids"
                )));
            }
            Ok((fmt, sub))
        })
        .collect()
}

/// Wraps a component's failure with its position and format, keeping the variant where it
/// carries structured data so callers can still match on it.
fn component_error(index: usize, fmt: &str, e: AttestationError) -> AttestationError {
    match e {
        AttestationError::Malformed(m) => {
            AttestationError::Malformed(format!("compound statement {index} ({fmt}): {m}"))
        }
        AttestationError::Certificate(m) => {
            AttestationError::Certificate(format!("compound statement {index} ({fmt}): {m}"))
        }
        AttestationError::Binding(m) => {
            AttestationError::Binding(format!("compound statement {index} ({fmt}): {m}"))
        }
        AttestationError::Policy(m) => {
            AttestationError::Policy(format!("compound statement {index} ({fmt}): {m}"))
        }
        AttestationError::AlgorithmMismatch(m) => {
            AttestationError::AlgorithmMismatch(format!("compound statement {index} ({fmt}): {m}"))
        }
        other => other,
    }
}

/// The strength of an attestation type for choosing the compound's own result: a certified
/// attestation key (AttCA, Basic, AnonCA) over Self over None.
fn strength(t: AttestationType) -> u8 {
    match t {
        AttestationType::AttCa | AttestationType::Basic | AttestationType::AnonCa => 2,
        AttestationType::SelfAttestation => 1,
        AttestationType::None => 0,
    }
}

/// §8.9 step 3 (this verifier's choice of "any combination of outputs"): the first component
/// of the greatest `strength`.
fn strongest(outcomes: &[(String, AttestationOutcome)]) -> Option<&AttestationOutcome> {
    outcomes.iter().map(|(_, o)| o).reduce(|best, o| {
        if strength(o.attestation_type) > strength(best.attestation_type) {
            o
        } else {
            best
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::test_support::{sha256, split_attestation_object, verify_parts};
    use passkeyd_testkit::{
        Alg, AttestationKind, RegisterParams, SoftAuthenticator, Tamper, TestPki,
    };

    fn run(
        kinds: Vec<AttestationKind>,
        tamper: Vec<Tamper>,
    ) -> Result<AttestationOutcome, AttestationError> {
        let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid([3; 16]);
        let mut p = RegisterParams::new(b"c".to_vec(), "example.com", "https://example.com")
            .with_attestation(AttestationKind::Compound(kinds));
        p.tamper = tamper;
        let reg = auth.register(&p);
        let (fmt, auth_data, att_stmt) = split_attestation_object(&reg.attestation_object);
        assert_eq!(fmt, "compound");
        let stmt = crate::cbor::decode(&att_stmt).unwrap();
        let cdh = sha256(&reg.client_data_json);
        verify_parts(
            verify,
            &stmt,
            &auth_data,
            &cdh,
            &AttestationOptions::default(),
        )
    }

    #[test]
    fn packed_self_and_x5c() {
        let pki = TestPki::new();
        let out = run(
            vec![
                AttestationKind::PackedSelf,
                AttestationKind::PackedX5c(pki.attestation([3; 16])),
            ],
            Vec::new(),
        )
        .unwrap();
        assert_eq!(out.attestation_type, AttestationType::Basic);
        assert_eq!(out.trust_path.len(), 2);
        assert_eq!(out.components.len(), 2);
        assert_eq!(out.components[0].0, "packed");
        assert_eq!(
            out.components[0].1.attestation_type,
            AttestationType::SelfAttestation
        );
        assert_eq!(out.components[1].1.attestation_type, AttestationType::Basic);
        assert_eq!(out.trust_path, out.components[1].1.trust_path);
    }

    #[test]
    fn none_and_self_reports_self() {
        let out = run(
            vec![AttestationKind::None, AttestationKind::PackedSelf],
            Vec::new(),
        )
        .unwrap();
        assert_eq!(out.attestation_type, AttestationType::SelfAttestation);
        assert!(out.trust_path.is_empty());
        assert_eq!(out.components[0].0, "none");
    }

    #[test]
    fn one_failing_component_fails_the_whole() {
        let pki = TestPki::new();
        // The testkit flips the first statement's signature.
        let r = run(
            vec![
                AttestationKind::PackedX5c(pki.attestation([3; 16])),
                AttestationKind::PackedSelf,
            ],
            vec![Tamper::FlipSignatureBit],
        );
        assert_eq!(r, Err(AttestationError::BadSignature));
        // A broken certificate in the second statement.
        let broken = pki.attestation_cert(&passkeyd_testkit::LeafOptions::new([3; 16]).wrong_ou());
        let r = run(
            vec![
                AttestationKind::PackedSelf,
                AttestationKind::PackedX5c(broken),
            ],
            Vec::new(),
        );
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.starts_with("compound statement 1 (packed)")),
            "{r:?}"
        );
    }

    /// Every single-byte change of real statements (of every format this module family
    /// verifies) must be refused or accepted without a panic; none may verify unless the byte
    /// lies outside what any check reads.
    #[test]
    fn mutated_statements_never_panic() {
        use crate::attestation::test_support::load_registration_vector;
        use crate::attestation::{android_key, apple, fido_u2f, packed};
        let cases: [(&str, crate::attestation::test_support::VerifyFn); 5] = [
            ("w3c-packed-es256", packed::verify),
            ("w3c-packed-self-es256", packed::verify),
            ("w3c-fido-u2f-es256", fido_u2f::verify),
            ("w3c-apple-es256", apple::verify),
            ("pyw-android-key-hardware-es256", android_key::verify),
        ];
        for (name, format_verify) in cases {
            let v = load_registration_vector(name);
            let options = v.options();
            let mut bytes = v.att_stmt.clone();
            for i in 0..bytes.len() {
                for mask in [0x01u8, 0x80] {
                    bytes[i] ^= mask;
                    if let Ok(stmt) = crate::cbor::decode(&bytes) {
                        let _ = verify_parts(
                            format_verify,
                            &stmt,
                            &v.auth_data,
                            &v.client_data_hash,
                            &options,
                        );
                        // Inside a compound statement too.
                        let wrapped = Value::Array(vec![
                            Value::Map(vec![
                                (Value::Text("fmt"), Value::Text(v.fmt.as_str())),
                                (Value::Text("attStmt"), stmt.clone()),
                            ]),
                            Value::Map(vec![
                                (Value::Text("fmt"), Value::Text("none")),
                                (Value::Text("attStmt"), Value::Map(vec![])),
                            ]),
                        ]);
                        let _ = verify_parts(
                            verify,
                            &wrapped,
                            &v.auth_data,
                            &v.client_data_hash,
                            &options,
                        );
                    }
                    bytes[i] ^= mask;
                }
            }
        }
    }

    /// `verify_statement` (§7.1 step 23) reaches these formats for every real vector of them.
    #[test]
    fn dispatcher_routes_every_format() {
        use crate::attestation::test_support::registration_vectors_with_fmt;
        use crate::attestation::verify_statement;
        for fmt in ["packed", "fido-u2f", "apple", "android-key"] {
            for v in registration_vectors_with_fmt(fmt) {
                let stmt = v.att_stmt_value();
                let ad = crate::authenticator_data::AuthenticatorData::parse(&v.auth_data).unwrap();
                let key = crate::cose::CosePublicKey::from_cbor(
                    ad.attested_credential_data
                        .as_ref()
                        .unwrap()
                        .credential_public_key,
                    &Default::default(),
                )
                .unwrap();
                let input = AttestationInput {
                    att_stmt: &stmt,
                    auth_data: &ad,
                    client_data_hash: &v.client_data_hash,
                    credential_public_key: &key,
                };
                let outcome = verify_statement(fmt, &input, &v.options())
                    .expect("supported format")
                    .unwrap_or_else(|e| panic!("{}: {e}", v.name));
                if let Some(expected) = v.expected_attestation_type() {
                    assert_eq!(outcome.attestation_type.as_str(), expected, "{}", v.name);
                }
            }
        }
    }

    #[test]
    fn structure_is_checked() {
        // One statement only.
        let r = run(vec![AttestationKind::PackedSelf], Vec::new());
        assert!(
            matches!(&r, Err(AttestationError::Malformed(m)) if m.contains("at least two")),
            "{r:?}"
        );
        // Nested compound.
        let r = run(
            vec![
                AttestationKind::PackedSelf,
                AttestationKind::Compound(vec![AttestationKind::None, AttestationKind::None]),
            ],
            Vec::new(),
        );
        assert!(
            matches!(&r, Err(AttestationError::Malformed(m)) if m.contains("itself compound")),
            "{r:?}"
        );

        // Hand-made statements: not an array, an unknown format, missing members.
        let mut auth = SoftAuthenticator::new(Alg::Es256);
        let reg = auth.register(&RegisterParams::new(
            b"c".to_vec(),
            "example.com",
            "https://example.com",
        ));
        let (_, auth_data, _) = split_attestation_object(&reg.attestation_object);
        let cdh = sha256(&reg.client_data_json);
        let o = AttestationOptions::default();
        let check = |stmt: Value<'_>| verify_parts(verify, &stmt, &auth_data, &cdh, &o);
        assert!(matches!(
            check(Value::Map(vec![])),
            Err(AttestationError::Malformed(_))
        ));
        let none = || {
            Value::Map(vec![
                (Value::Text("fmt"), Value::Text("none")),
                (Value::Text("attStmt"), Value::Map(vec![])),
            ])
        };
        assert_eq!(
            check(Value::Array(vec![none(), none()])).map(|o| o.attestation_type),
            Ok(AttestationType::None)
        );
        let unknown = Value::Map(vec![
            (Value::Text("fmt"), Value::Text("made-up")),
            (Value::Text("attStmt"), Value::Map(vec![])),
        ]);
        assert!(matches!(
            check(Value::Array(vec![none(), unknown])),
            Err(AttestationError::Malformed(m)) if m.contains("made-up")
        ));
        let no_fmt = Value::Map(vec![(Value::Text("attStmt"), Value::Map(vec![]))]);
        assert!(matches!(
            check(Value::Array(vec![none(), no_fmt])),
            Err(AttestationError::Member { name: "fmt", .. })
        ));
        let no_stmt = Value::Map(vec![(Value::Text("fmt"), Value::Text("none"))]);
        assert!(matches!(
            check(Value::Array(vec![no_stmt, none()])),
            Err(AttestationError::Member {
                name: "attStmt",
                ..
            })
        ));
        assert!(matches!(
            check(Value::Array(vec![none(), Value::Int(1)])),
            Err(AttestationError::Malformed(_))
        ));
    }
}
