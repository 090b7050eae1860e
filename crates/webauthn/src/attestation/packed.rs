//! The `packed` attestation statement format (WebAuthn L3 §8.2): a WebAuthn-optimised format
//! whose statement is `{alg, sig, x5c?}`. With `x5c` the signature is made by an attestation key
//! certified in `x5c[0]` (Basic attestation); without it, by the credential private key itself
//! (Self attestation). ECDAA (`ecdaaKeyId`) was removed from Level 3 and is refused.

use super::util;
use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
};
use crate::cbor::Value;
use crate::cose::{CoseAlgorithm, CoseError, CosePublicKey};
use crate::trust::Certificate;
use x509_parser::certificate::X509Certificate;
use x509_parser::x509::{X509Name, X509Version};

/// OID of the id-fido-gen-ce-aaguid certificate extension (§8.2.1).
pub const OID_FIDO_GEN_CE_AAGUID: &str = "1.3.6.1.4.1.45724.1.1.4";

/// The subject OU every packed attestation certificate carries (§8.2.1).
pub const ATTESTATION_OU: &str = "Authenticator Attestation";

/// §8.2 verification procedure.
///
/// Step 1: `attStmt` must be a well-formed packed statement: a map with an integer `alg` and a
/// byte-string `sig`, and an optional `x5c`. Step 2 (`x5c` present) is
/// `verify_basic`; step 3 (`x5c` absent) is `verify_self`. A statement carrying
/// `ecdaaKeyId` is refused: ECDAA is not part of Level 3.
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let stmt = input.att_stmt;
    if stmt.as_map().is_none() {
        return Err(AttestationError::Malformed(format!(
            "packed attStmt must be a map, found a {}",
            stmt.type_name()
        )));
    }
    reject_ecdaa(stmt)?;
    let alg_id = util::int(stmt, "alg")?;
    let sig = util::bytes(stmt, "sig")?;
    let message = util::signed_message(input.auth_data.raw, input.client_data_hash);
    match util::x5c(stmt)? {
        Some(x5c) => verify_basic(input, options, alg_id, sig, &message, x5c),
        None => verify_self(input.credential_public_key, alg_id, sig, &message),
    }
}

/// §8.2 (Level 2 step 4, removed in Level 3): ECDAA attestation is not supported, so a
/// statement naming an `ecdaaKeyId` is refused with a clear error rather than misread as
/// self attestation.
fn reject_ecdaa(stmt: &Value<'_>) -> Result<(), AttestationError> {
    if stmt.get_text("ecdaaKeyId").is_some() {
        return Err(AttestationError::Member {
            name: "ecdaaKeyId",
            expected: "absent (ECDAA attestation is not supported: WebAuthn Level 3 removed it)",
        });
    }
    Ok(())
}

/// §8.2 verification procedure, step 2 (`x5c` present): verify `sig` over
/// `authenticatorData || clientDataHash` with the attestation public key in `attestnCert` and the
/// algorithm `alg` (step 2.1); check that `attestnCert` meets the §8.2.1 requirements (step 2.2);
/// if it carries id-fido-gen-ce-aaguid, check it equals the authenticator data's AAGUID
/// (step 2.3); return attestation type Basic and trust path `x5c` (step 2.5).
fn verify_basic(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
    alg_id: i64,
    sig: &[u8],
    message: &[u8],
    x5c: Vec<Certificate>,
) -> Result<AttestationOutcome, AttestationError> {
    let leaf = x5c.first().ok_or(AttestationError::Member {
        name: "x5c",
        expected: "a non-empty array of certificates",
    })?;
    let alg = statement_algorithm(alg_id)?;
    verify_certificate_signature(leaf, alg, message, sig, options)?;
    let cert = leaf.parsed()?;
    check_certificate_requirements(&cert)?;
    let aaguid = input
        .auth_data
        .attested_credential_data
        .as_ref()
        .map(|acd| acd.aaguid)
        .ok_or_else(|| {
            AttestationError::Binding("authenticator data has no attested credential data".into())
        })?;
    check_aaguid_extension(&cert, &aaguid)?;
    Ok(AttestationOutcome {
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        components: Vec::new(),
    })
}

/// §8.2 verification procedure, step 3 (self attestation): `alg` must equal the algorithm of
/// the credential public key (step 3.1), and `sig` must verify over
/// `authenticatorData || clientDataHash` with the credential public key and `alg` (step 3.2);
/// return attestation type Self and an empty trust path (step 3.3).
fn verify_self(
    credential_public_key: &CosePublicKey,
    alg_id: i64,
    sig: &[u8],
    message: &[u8],
) -> Result<AttestationOutcome, AttestationError> {
    let key_alg = credential_public_key.alg();
    if alg_id != key_alg.id() {
        return Err(AttestationError::AlgorithmMismatch(format!(
            "self attestation alg is {alg_id}, but the credential public key's alg is {} ({})",
            key_alg.id(),
            key_alg.name()
        )));
    }
    credential_public_key
        .verify(message, sig)
        .map_err(signature_error)?;
    Ok(AttestationOutcome::without_path(
        AttestationType::SelfAttestation,
    ))
}

/// The COSE algorithm an attestation statement's `alg` names; unknown identifiers are refused.
pub(crate) fn statement_algorithm(alg_id: i64) -> Result<CoseAlgorithm, AttestationError> {
    CoseAlgorithm::from_id(alg_id).ok_or(AttestationError::Key(CoseError::UnsupportedAlgorithm(
        alg_id,
    )))
}

/// Verifies an attestation signature with a certificate's public key and `alg` (packed §8.2
/// step 2.1, android-key §8.4 step 2). The algorithm must fit the certificate's key.
pub(crate) fn verify_certificate_signature(
    cert: &Certificate,
    alg: CoseAlgorithm,
    message: &[u8],
    sig: &[u8],
    options: &AttestationOptions,
) -> Result<(), AttestationError> {
    cert.verify_signature(alg, message, sig, &options.key_policy)
        .map_err(signature_error)
}

/// A failed signature check is [`AttestationError::BadSignature`]; any other key problem
/// (unsupported algorithm, key/algorithm mismatch, weak key) is [`AttestationError::Key`].
pub(crate) fn signature_error(e: CoseError) -> AttestationError {
    match e {
        CoseError::BadSignature => AttestationError::BadSignature,
        other => AttestationError::Key(other),
    }
}

/// §8.2.1 packed attestation statement certificate requirements: version 3; subject C (an
/// ISO 3166 two-letter code), O (the vendor) and OU = "Authenticator Attestation", CN of the
/// vendor's choosing; basicConstraints with CA false.
///
/// A certificate without a basicConstraints extension is accepted: RFC 5280 gives `cA` the
/// default FALSE, which is what §8.2.1 requires, and some deployed attestation certificates
/// omit the extension.
pub fn check_certificate_requirements(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    check_version(cert)?;
    check_subject(cert.subject())?;
    check_not_ca(cert)
}

/// §8.2.1: the certificate must be X.509 version 3 (encoded as the INTEGER 2).
fn check_version(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    if cert.version() != X509Version::V3 {
        return Err(AttestationError::Certificate(format!(
            "packed attestation certificate must be X.509 version 3, found version {}",
            cert.version().0.saturating_add(1)
        )));
    }
    Ok(())
}

/// The single value of one subject attribute; absence, repetition or a non-string value is an
/// error naming the attribute.
fn single_attribute<'a, I>(mut values: I, name: &str) -> Result<&'a str, AttestationError>
where
    I: Iterator<Item = &'a x509_parser::x509::AttributeTypeAndValue<'a>>,
{
    let first = values.next().ok_or_else(|| {
        AttestationError::Certificate(format!(
            "packed attestation certificate subject has no {name} attribute"
        ))
    })?;
    if values.next().is_some() {
        return Err(AttestationError::Certificate(format!(
            "packed attestation certificate subject has more than one {name} attribute"
        )));
    }
    first.as_str().map_err(|_| {
        AttestationError::Certificate(format!(
            "packed attestation certificate subject {name} is not a string"
        ))
    })
}

/// §8.2.1 Subject field: C is an ISO 3166 code (two letters), O is the vendor's legal name
/// (non-empty), OU is literally "Authenticator Attestation", and CN is present.
fn check_subject(subject: &X509Name<'_>) -> Result<(), AttestationError> {
    let c = single_attribute(subject.iter_country(), "C (country)")?;
    if c.len() != 2 || !c.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(AttestationError::Certificate(format!(
            "packed attestation certificate subject C must be an ISO 3166 two-letter code, found '{c}'"
        )));
    }
    let o = single_attribute(subject.iter_organization(), "O (vendor)")?;
    if o.trim().is_empty() {
        return Err(AttestationError::Certificate(
            "packed attestation certificate subject O (vendor) is empty".into(),
        ));
    }
    let ou = single_attribute(subject.iter_organizational_unit(), "OU")?;
    if ou != ATTESTATION_OU {
        return Err(AttestationError::Certificate(format!(
            "packed attestation certificate subject OU must be '{ATTESTATION_OU}', found '{ou}'"
        )));
    }
    single_attribute(subject.iter_common_name(), "CN")?;
    Ok(())
}

/// §8.2.1: basicConstraints must say the certificate is not a CA.
fn check_not_ca(cert: &X509Certificate<'_>) -> Result<(), AttestationError> {
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => Err(AttestationError::Certificate(
            "packed attestation certificate must not be a CA (basicConstraints CA is true)".into(),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(AttestationError::Certificate(format!(
            "packed attestation certificate basicConstraints is invalid: {e}"
        ))),
    }
}

/// §8.2 step 2.3 and §8.2.1: if the certificate contains the id-fido-gen-ce-aaguid extension
/// (1.3.6.1.4.1.45724.1.1.4), it must not be critical and its value, an OCTET STRING, must
/// equal the AAGUID in authenticatorData.
pub fn check_aaguid_extension(
    cert: &X509Certificate<'_>,
    aaguid: &[u8; 16],
) -> Result<(), AttestationError> {
    let mut found = cert
        .extensions()
        .iter()
        .filter(|e| e.oid.to_id_string() == OID_FIDO_GEN_CE_AAGUID);
    let Some(ext) = found.next() else {
        return Ok(());
    };
    if found.next().is_some() {
        return Err(AttestationError::Certificate(
            "the id-fido-gen-ce-aaguid extension appears more than once".into(),
        ));
    }
    if ext.critical {
        return Err(AttestationError::Certificate(
            "the id-fido-gen-ce-aaguid extension must not be marked critical".into(),
        ));
    }
    let value = aaguid_extension_value(ext.value)?;
    if value != aaguid {
        return Err(AttestationError::Binding(format!(
            "certificate AAGUID {} differs from the authenticator data AAGUID {}",
            hex(value),
            hex(aaguid)
        )));
    }
    Ok(())
}

/// The 16 AAGUID bytes of an id-fido-gen-ce-aaguid extension value: the DER encoding of an
/// OCTET STRING of length 16 (`04 10 ..16 bytes..`), nothing more.
fn aaguid_extension_value(value: &[u8]) -> Result<&[u8; 16], AttestationError> {
    match value {
        [0x04, 0x10, rest @ ..] => rest.try_into().map_err(|_| {
            AttestationError::Certificate(format!(
                "id-fido-gen-ce-aaguid extension has {} bytes after its OCTET STRING header, \
                 expected exactly 16",
                rest.len()
            ))
        }),
        _ => Err(AttestationError::Certificate(
            "id-fido-gen-ce-aaguid extension value is not an OCTET STRING of 16 bytes".into(),
        )),
    }
}

/// Lower-case hex, for error messages.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::test_support::{
        flip_last_bit, load_registration_vector, registration_vectors_with_fmt, verify_parts,
        with_member, without_member,
    };
    use crate::trust::{ChainError, TrustAnchors};
    use passkeyd_testkit::{
        Alg, AttestationKind, LeafOptions, RegisterParams, SoftAuthenticator, Tamper, TestPki,
    };

    #[test]
    fn every_packed_vector_verifies_as_expected() {
        let vectors = registration_vectors_with_fmt("packed");
        assert!(vectors.len() >= 16, "found {}", vectors.len());
        for v in &vectors {
            let outcome = v.verify_with(verify);
            if v.name == "pyw-neg-packed-yubikey-wrong-trust-root" {
                // The statement itself is sound; only its chain must fail (§7.1 step 24).
                let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", v.name));
                assert!(
                    matches!(
                        v.verify_trust_path(&outcome),
                        Err(ChainError::UntrustedRoot { .. } | ChainError::BadSignature(_))
                    ),
                    "{}",
                    v.name
                );
                continue;
            }
            assert!(v.expect_ok(), "{} is an unexpected negative", v.name);
            let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(
                Some(outcome.attestation_type.as_str()),
                v.expected_attestation_type(),
                "{}",
                v.name
            );
            match outcome.attestation_type {
                AttestationType::SelfAttestation => assert!(outcome.trust_path.is_empty()),
                _ => assert!(!outcome.trust_path.is_empty()),
            }
            if !v.trust_roots.is_empty() {
                v.verify_trust_path(&outcome)
                    .unwrap_or_else(|e| panic!("{}: chain: {e}", v.name));
            }
        }
    }

    #[test]
    fn w3c_vectors_chain_to_the_w3c_root() {
        for name in [
            "w3c-packed-es256",
            "w3c-packed-es384",
            "w3c-packed-es512",
            "w3c-packed-rs256",
            "w3c-packed-eddsa",
            "w3c-packed-ed448",
        ] {
            let v = load_registration_vector(name);
            let outcome = v
                .verify_with(verify)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(outcome.attestation_type, AttestationType::Basic);
            let chain = v
                .verify_trust_path(&outcome)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                chain.anchor_subject.contains("WebAuthn"),
                "{name}: {chain:?}"
            );
        }
    }

    #[test]
    fn flipped_signature_fails() {
        for name in [
            "w3c-packed-es256",
            "w3c-packed-self-es256",
            "w3c-packed-rs256",
        ] {
            let v = load_registration_vector(name);
            let stmt = v.att_stmt_value();
            let sig = flip_last_bit(stmt.get_text("sig").and_then(Value::as_bytes).unwrap());
            let bad = with_member(&stmt, "sig", Value::Bytes(&sig));
            let r = verify_parts(
                verify,
                &bad,
                &v.auth_data,
                &v.client_data_hash,
                &v.options(),
            );
            assert_eq!(r, Err(AttestationError::BadSignature), "{name}");
        }
    }

    #[test]
    fn other_client_data_hash_fails() {
        for name in ["w3c-packed-es256", "w3c-packed-self-es256"] {
            let v = load_registration_vector(name);
            let mut cdh = v.client_data_hash;
            cdh[0] ^= 0x80;
            let r = verify_parts(
                verify,
                &v.att_stmt_value(),
                &v.auth_data,
                &cdh,
                &v.options(),
            );
            assert_eq!(r, Err(AttestationError::BadSignature), "{name}");
        }
    }

    #[test]
    fn malformed_statements_are_refused() {
        let v = load_registration_vector("w3c-packed-es256");
        let stmt = v.att_stmt_value();
        let run = |s: &Value<'_>| {
            verify_parts(verify, s, &v.auth_data, &v.client_data_hash, &v.options())
        };
        assert!(matches!(
            run(&without_member(&stmt, "alg")),
            Err(AttestationError::Member { name: "alg", .. })
        ));
        assert!(matches!(
            run(&without_member(&stmt, "sig")),
            Err(AttestationError::Member { name: "sig", .. })
        ));
        assert!(matches!(
            run(&with_member(&stmt, "x5c", Value::Array(vec![]))),
            Err(AttestationError::Member { name: "x5c", .. })
        ));
        assert!(matches!(
            run(&with_member(
                &stmt,
                "x5c",
                Value::Array(vec![Value::Bytes(&[0x30, 0x00])])
            )),
            Err(AttestationError::Chain(_))
        ));
        assert!(matches!(
            run(&with_member(&stmt, "ecdaaKeyId", Value::Bytes(&[1, 2, 3]))),
            Err(AttestationError::Member {
                name: "ecdaaKeyId",
                ..
            })
        ));
        assert!(matches!(
            run(&with_member(&stmt, "alg", Value::Int(-1234))),
            Err(AttestationError::Key(CoseError::UnsupportedAlgorithm(
                -1234
            )))
        ));
        // An algorithm that does not fit the certificate key (RS256 with an EC key).
        assert!(matches!(
            run(&with_member(&stmt, "alg", Value::Int(-257))),
            Err(AttestationError::Key(
                CoseError::AlgorithmKeyMismatch { .. }
            ))
        ));
        assert!(matches!(
            run(&Value::Array(vec![])),
            Err(AttestationError::Malformed(_))
        ));
    }

    #[test]
    fn self_attestation_alg_must_match_the_credential_key() {
        let v = load_registration_vector("w3c-packed-self-es256");
        let stmt = with_member(&v.att_stmt_value(), "alg", Value::Int(-35));
        let r = verify_parts(
            verify,
            &stmt,
            &v.auth_data,
            &v.client_data_hash,
            &v.options(),
        );
        assert!(
            matches!(r, Err(AttestationError::AlgorithmMismatch(_))),
            "{r:?}"
        );
    }

    #[test]
    fn self_attestation_with_another_credential_key_fails() {
        let v = load_registration_vector("w3c-packed-self-es256");
        let other = load_registration_vector("swa-verify-packed-ec2-attestation");
        let ad = crate::authenticator_data::AuthenticatorData::parse(&other.auth_data).unwrap();
        let other_key = CosePublicKey::from_cbor(
            ad.attested_credential_data
                .as_ref()
                .unwrap()
                .credential_public_key,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(other_key.alg(), CoseAlgorithm::Es256);
        let stmt = v.att_stmt_value();
        let sig = stmt.get_text("sig").and_then(Value::as_bytes).unwrap();
        let message = util::signed_message(&v.auth_data, &v.client_data_hash);
        assert_eq!(
            verify_self(&other_key, -7, sig, &message),
            Err(AttestationError::BadSignature)
        );
    }

    #[test]
    fn x5c_statement_with_another_certificate_fails() {
        // Swap in the leaf of a different packed vector: the signature no longer verifies.
        let v = load_registration_vector("w3c-packed-es256");
        let other = load_registration_vector("pyw-packed-yubikey5-firefox-es256");
        let other_stmt = other.att_stmt_value();
        let stmt = with_member(
            &v.att_stmt_value(),
            "x5c",
            other_stmt.get_text("x5c").unwrap().clone(),
        );
        let r = verify_parts(
            verify,
            &stmt,
            &v.auth_data,
            &v.client_data_hash,
            &v.options(),
        );
        assert_eq!(r, Err(AttestationError::BadSignature));
    }

    /// Registers a testkit credential with `kind` and runs packed verification on it.
    fn testkit_verify(kind: AttestationKind) -> Result<AttestationOutcome, AttestationError> {
        testkit_verify_with(kind, Vec::new())
    }

    fn testkit_verify_with(
        kind: AttestationKind,
        tamper: Vec<Tamper>,
    ) -> Result<AttestationOutcome, AttestationError> {
        let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid([7; 16]);
        let mut params =
            RegisterParams::new(b"challenge".to_vec(), "example.com", "https://example.com")
                .with_attestation(kind);
        params.tamper = tamper;
        let reg = auth.register(&params);
        let (fmt, auth_data, att_stmt) =
            crate::attestation::test_support::split_attestation_object(&reg.attestation_object);
        assert_eq!(fmt, "packed");
        let stmt = crate::cbor::decode(&att_stmt).unwrap();
        let cdh = crate::attestation::test_support::sha256(&reg.client_data_json);
        verify_parts(
            verify,
            &stmt,
            &auth_data,
            &cdh,
            &AttestationOptions::default(),
        )
    }

    #[test]
    fn testkit_packed_statements() {
        let pki = TestPki::new();
        let ok = testkit_verify(AttestationKind::PackedX5c(pki.attestation([7; 16]))).unwrap();
        assert_eq!(ok.attestation_type, AttestationType::Basic);
        assert_eq!(ok.trust_path.len(), 2);
        let mut anchors = TrustAnchors::new();
        anchors.add(Certificate::from_der(&pki.root_der()).unwrap());
        crate::trust::verify_chain(
            &ok.trust_path,
            &anchors,
            crate::trust::UnixTime::now(),
            &Default::default(),
        )
        .unwrap();

        let rsa = testkit_verify(AttestationKind::PackedX5c(
            pki.attestation_cert(&LeafOptions::new([7; 16]).rs256()),
        ))
        .unwrap();
        assert_eq!(rsa.attestation_type, AttestationType::Basic);

        let selfie = testkit_verify(AttestationKind::PackedSelf).unwrap();
        assert_eq!(selfie.attestation_type, AttestationType::SelfAttestation);
        assert!(selfie.trust_path.is_empty());

        for kind in [
            AttestationKind::PackedSelf,
            AttestationKind::PackedX5c(pki.attestation([7; 16])),
        ] {
            assert_eq!(
                testkit_verify_with(kind, vec![Tamper::FlipSignatureBit]),
                Err(AttestationError::BadSignature)
            );
        }
    }

    #[test]
    fn testkit_broken_certificates_are_refused() {
        let pki = TestPki::new();
        let leaf = |o: LeafOptions| AttestationKind::PackedX5c(pki.attestation_cert(&o));
        let base = || LeafOptions::new([7; 16]);

        let r = testkit_verify(leaf(base().wrong_ou()));
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("OU")),
            "{r:?}"
        );
        let r = testkit_verify(leaf(base().ca_leaf()));
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("CA")),
            "{r:?}"
        );
        let r = testkit_verify(leaf(base().aaguid_mismatch([9; 16])));
        assert!(matches!(&r, Err(AttestationError::Binding(_))), "{r:?}");
        let mut critical = base();
        critical.aaguid_extension = passkeyd_testkit::AaguidExtension::Critical;
        let r = testkit_verify(leaf(critical));
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("critical")),
            "{r:?}"
        );
        let mut no_ou = base();
        no_ou.organizational_unit = None;
        let r = testkit_verify(leaf(no_ou));
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("OU")),
            "{r:?}"
        );
        let mut bad_country = base();
        bad_country.country = "USA".into();
        let r = testkit_verify(leaf(bad_country));
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("ISO 3166")),
            "{r:?}"
        );

        // Valid in themselves (the statement verifies); their chains must fail afterwards.
        let mut absent = base();
        absent.aaguid_extension = passkeyd_testkit::AaguidExtension::Absent;
        assert!(testkit_verify(leaf(absent)).is_ok());
        let mut anchors = TrustAnchors::new();
        anchors.add(Certificate::from_der(&pki.root_der()).unwrap());
        let now = crate::trust::UnixTime::now();
        let expired = testkit_verify(leaf(base().expired())).unwrap();
        assert!(matches!(
            crate::trust::verify_chain(&expired.trust_path, &anchors, now, &Default::default()),
            Err(ChainError::Expired { .. })
        ));
        let untrusted = testkit_verify(leaf(base().untrusted())).unwrap();
        assert!(
            crate::trust::verify_chain(&untrusted.trust_path, &anchors, now, &Default::default())
                .is_err()
        );
    }

    #[test]
    fn aaguid_extension_value_is_strict() {
        assert!(aaguid_extension_value(&[0x04, 0x10]).is_err());
        assert!(
            aaguid_extension_value(&[
                0x04, 0x11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
            ])
            .is_err()
        );
        assert!(aaguid_extension_value(&[]).is_err());
        let mut good = vec![0x04, 0x10];
        good.extend_from_slice(&[5; 16]);
        assert_eq!(aaguid_extension_value(&good), Ok(&[5u8; 16]));
        good.push(0);
        assert!(aaguid_extension_value(&good).is_err());
    }
}
