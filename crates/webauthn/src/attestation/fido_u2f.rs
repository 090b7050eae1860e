//! The `fido-u2f` attestation statement format (WebAuthn L3 §8.6), used by FIDO U2F
//! authenticators: `{sig, x5c: [attCert]}`, where `sig` is the U2F registration signature made
//! with the P-256 attestation key of `attCert` over the U2F registration data.

use super::util;
use super::{
    AttestationError, AttestationInput, AttestationOptions, AttestationOutcome, AttestationType,
};
use crate::cose::{CoseAlgorithm, EcCurve, KeyMaterial};
use crate::trust::Certificate;

/// §8.6 verification procedure.
///
/// Step 1: `attStmt` is a map with `sig` (bytes) and `x5c`. Step 2: `x5c` holds exactly one
/// certificate, whose key is EC P-256 (`attestation_certificate`). Step 3: take rpIdHash,
/// credentialId and the credential public key from authenticatorData. Step 4: the credential
/// public key is EC2 P-256 and becomes the raw point `0x04 || x || y` (`public_key_u2f`).
/// Step 5: build `verificationData` (`verification_data`). Step 6: verify `sig` (ECDSA P-256
/// with SHA-256) with the certificate key. Step 8: return attestation type Basic and trust path
/// `x5c` (step 7, telling Basic from AttCA through external knowledge, is left to metadata).
pub fn verify(
    input: &AttestationInput<'_, '_>,
    options: &AttestationOptions,
) -> Result<AttestationOutcome, AttestationError> {
    let stmt = input.att_stmt;
    if stmt.as_map().is_none() {
        return Err(AttestationError::Malformed(format!(
            "fido-u2f attStmt must be a map, found a {}",
            stmt.type_name()
        )));
    }
    let sig = util::bytes(stmt, "sig")?;
    let x5c = util::x5c(stmt)?.ok_or(AttestationError::Member {
        name: "x5c",
        expected: "an array holding the attestation certificate",
    })?;
    let att_cert = attestation_certificate(&x5c)?;
    let acd = input
        .auth_data
        .attested_credential_data
        .as_ref()
        .ok_or_else(|| {
            AttestationError::Binding("authenticator data has no attested credential data".into())
        })?;
    let public_key = public_key_u2f(input.credential_public_key.material())?;
    let data = verification_data(
        input.auth_data.rp_id_hash,
        input.client_data_hash,
        acd.credential_id,
        public_key,
    );
    att_cert
        .verify_signature(CoseAlgorithm::Es256, &data, sig, &options.key_policy)
        .map_err(super::packed::signature_error)?;
    Ok(AttestationOutcome {
        attestation_type: AttestationType::Basic,
        trust_path: x5c,
        components: Vec::new(),
    })
}

/// §8.6 step 2: `x5c` must hold exactly one certificate (attCert), and attCert's public key
/// must be an elliptic-curve key on P-256.
fn attestation_certificate(x5c: &[Certificate]) -> Result<&Certificate, AttestationError> {
    let [att_cert] = x5c else {
        return Err(AttestationError::Malformed(format!(
            "fido-u2f x5c must hold exactly one certificate, found {}",
            x5c.len()
        )));
    };
    match att_cert.key_material() {
        Ok(KeyMaterial::Ec2 {
            curve: EcCurve::P256,
            ..
        }) => Ok(att_cert),
        Ok(other) => Err(AttestationError::Certificate(format!(
            "fido-u2f attestation certificate key must be EC P-256, found {}",
            key_description(&other)
        ))),
        Err(e) => Err(AttestationError::Key(e)),
    }
}

/// §8.6 step 4: convert the COSE_Key credential public key to the raw ANSI X9.62 form
/// `0x04 || x || y`; x and y must be 32 bytes each, i.e. the key must be EC2 on P-256.
fn public_key_u2f(material: &KeyMaterial) -> Result<&[u8], AttestationError> {
    match material {
        KeyMaterial::Ec2 {
            curve: EcCurve::P256,
            point,
        } if point.len() == 65 => Ok(point),
        other => Err(AttestationError::Binding(format!(
            "fido-u2f credential public key must be EC2 P-256, found {}",
            key_description(other)
        ))),
    }
}

/// §8.6 step 5: `verificationData = 0x00 || rpIdHash || clientDataHash || credentialId ||
/// publicKeyU2F` (the U2F registration message, FIDO U2F Raw Message Formats §4.3).
fn verification_data(
    rp_id_hash: &[u8; 32],
    client_data_hash: &[u8; 32],
    credential_id: &[u8],
    public_key_u2f: &[u8],
) -> Vec<u8> {
    let mut data = Vec::with_capacity(1 + 32 + 32 + credential_id.len() + public_key_u2f.len());
    data.push(0x00);
    data.extend_from_slice(rp_id_hash);
    data.extend_from_slice(client_data_hash);
    data.extend_from_slice(credential_id);
    data.extend_from_slice(public_key_u2f);
    data
}

/// A short description of a key, for error messages.
fn key_description(material: &KeyMaterial) -> &'static str {
    match material {
        KeyMaterial::Ec2 {
            curve: EcCurve::P256,
            ..
        } => "an EC P-256 key",
        KeyMaterial::Ec2 {
            curve: EcCurve::P384,
            ..
        } => "an EC P-384 key",
        KeyMaterial::Ec2 {
            curve: EcCurve::P521,
            ..
        } => "an EC P-521 key",
        KeyMaterial::Ed25519(_) => "an Ed25519 key",
        KeyMaterial::Ed448(_) => "an Ed448 key",
        KeyMaterial::Rsa { .. } => "an RSA key",
        KeyMaterial::MlDsa(_) => "an ML-DSA key",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attestation::test_support::{
        flip_last_bit, load_registration_vector, registration_vectors_with_fmt, sha256,
        split_attestation_object, verify_parts, with_member, without_member,
    };
    use crate::cbor::Value;
    use crate::trust::{TrustAnchors, UnixTime, verify_chain};
    use passkeyd_testkit::{
        Alg, AttestationKind, RegisterParams, SoftAuthenticator, Tamper, TestPki,
    };

    #[test]
    fn every_fido_u2f_vector_verifies_as_expected() {
        let vectors = registration_vectors_with_fmt("fido-u2f");
        assert!(vectors.len() >= 6, "found {}", vectors.len());
        for v in &vectors {
            let outcome = v.verify_with(verify);
            if !v.expect_ok() {
                // The only negative with this format fails on its client data (Level 2
                // tokenBinding), not on the statement.
                assert!(outcome.is_ok(), "{}: {outcome:?}", v.name);
                continue;
            }
            let outcome = outcome.unwrap_or_else(|e| panic!("{}: {e}", v.name));
            assert_eq!(
                outcome.attestation_type,
                AttestationType::Basic,
                "{}",
                v.name
            );
            assert_eq!(outcome.trust_path.len(), 1, "{}", v.name);
            if !v.trust_roots.is_empty() {
                v.verify_trust_path(&outcome)
                    .unwrap_or_else(|e| panic!("{}: chain: {e}", v.name));
            }
        }
    }

    #[test]
    fn tampered_vectors_fail() {
        let v = load_registration_vector("w3c-fido-u2f-es256");
        let stmt = v.att_stmt_value();
        let sig = flip_last_bit(stmt.get_text("sig").and_then(Value::as_bytes).unwrap());
        let run = |s: &Value<'_>, cdh: &[u8; 32]| {
            verify_parts(verify, s, &v.auth_data, cdh, &v.options())
        };
        assert_eq!(
            run(
                &with_member(&stmt, "sig", Value::Bytes(&sig)),
                &v.client_data_hash
            ),
            Err(AttestationError::BadSignature)
        );
        let mut cdh = v.client_data_hash;
        cdh[31] ^= 1;
        assert_eq!(run(&stmt, &cdh), Err(AttestationError::BadSignature));

        // A second certificate in x5c is refused.
        let x5c = stmt.get_text("x5c").and_then(Value::as_array).unwrap();
        let two = Value::Array(vec![x5c[0].clone(), x5c[0].clone()]);
        assert!(matches!(
            run(&with_member(&stmt, "x5c", two), &v.client_data_hash),
            Err(AttestationError::Malformed(_))
        ));
        assert!(matches!(
            run(&without_member(&stmt, "x5c"), &v.client_data_hash),
            Err(AttestationError::Member { name: "x5c", .. })
        ));
        assert!(matches!(
            run(&without_member(&stmt, "sig"), &v.client_data_hash),
            Err(AttestationError::Member { name: "sig", .. })
        ));

        // Another authenticator's certificate: the signature does not verify with its key.
        let other = load_registration_vector("pyw-fido-u2f-yubikey-firefox-es256");
        let other_x5c = other.att_stmt_value().get_text("x5c").unwrap().clone();
        assert_eq!(
            run(&with_member(&stmt, "x5c", other_x5c), &v.client_data_hash),
            Err(AttestationError::BadSignature)
        );
    }

    #[test]
    fn non_p256_certificate_is_refused() {
        // A testkit RSA attestation certificate.
        let pki = TestPki::new();
        let rsa = pki.attestation_cert(&passkeyd_testkit::LeafOptions::new([0; 16]).rs256());
        let v = load_registration_vector("w3c-fido-u2f-es256");
        let stmt = with_member(
            &v.att_stmt_value(),
            "x5c",
            Value::Array(vec![Value::Bytes(rsa.leaf_der())]),
        );
        let r = verify_parts(
            verify,
            &stmt,
            &v.auth_data,
            &v.client_data_hash,
            &v.options(),
        );
        assert!(
            matches!(&r, Err(AttestationError::Certificate(m)) if m.contains("RSA")),
            "{r:?}"
        );
    }

    #[test]
    fn non_p256_credential_key_is_refused() {
        // A packed self-attested Ed25519 registration carried as fido-u2f.
        let v = load_registration_vector("w3c-packed-eddsa");
        let u2f = load_registration_vector("w3c-fido-u2f-es256");
        let r = verify_parts(
            verify,
            &u2f.att_stmt_value(),
            &v.auth_data,
            &v.client_data_hash,
            &v.options(),
        );
        assert!(matches!(r, Err(AttestationError::Binding(_))), "{r:?}");
    }

    #[test]
    fn testkit_fido_u2f_statements() {
        let pki = TestPki::new();
        let run = |tamper: Vec<Tamper>| {
            let mut auth = SoftAuthenticator::new(Alg::Es256);
            let mut p = RegisterParams::new(b"c".to_vec(), "example.com", "https://example.com")
                .with_attestation(AttestationKind::FidoU2f(pki.attestation([0; 16])));
            p.tamper = tamper;
            let reg = auth.register(&p);
            let (fmt, auth_data, att_stmt) = split_attestation_object(&reg.attestation_object);
            assert_eq!(fmt, "fido-u2f");
            let stmt = crate::cbor::decode(&att_stmt).unwrap();
            let cdh = sha256(&reg.client_data_json);
            verify_parts(
                verify,
                &stmt,
                &auth_data,
                &cdh,
                &AttestationOptions::default(),
            )
        };
        let ok = run(Vec::new()).unwrap();
        assert_eq!(ok.attestation_type, AttestationType::Basic);
        let mut anchors = TrustAnchors::new();
        anchors.add(Certificate::from_der(&pki.intermediate_der()).unwrap());
        verify_chain(
            &ok.trust_path,
            &anchors,
            UnixTime::now(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(
            run(vec![Tamper::FlipSignatureBit]),
            Err(AttestationError::BadSignature)
        );
    }
}
