//! Synthetic `tpm` statements built from scratch (credential key, pubArea, certInfo, an AIK
//! certificate from a test CA made with rcgen), for what no real vector covers: P-384 keys and
//! SHA-384 names, the AAGUID extension, and each §8.3.1 certificate requirement on a
//! correctly signed certificate.

use super::super::*;
use crate::attestation::test_support::verify_parts;
use crate::trust::{ChainPolicy, TrustAnchors, UnixTime, verify_chain};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
    EcdsaSigningAlgorithm, KeyPair as _,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DistinguishedName,
    DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};

const AAGUID: [u8; 16] = [0x9d; 16];
const CLIENT_DATA_HASH: [u8; 32] = [0x42; 32];

/// How to build the AIK certificate.
#[derive(Clone)]
struct Aik {
    eku: bool,
    san: Option<&'static str>,
    san_critical: bool,
    ca: bool,
    subject: bool,
    aaguid: Option<[u8; 16]>,
}

impl Default for Aik {
    fn default() -> Self {
        Self {
            eku: true,
            san: Some("id:FFFFF1D0"),
            san_critical: true,
            ca: false,
            subject: false,
            aaguid: None,
        }
    }
}

/// The credential key's curve and the statement's alg / nameAlg.
#[derive(Clone, Copy)]
struct Shape {
    p384: bool,
    name_alg: u16,
}

const P256: Shape = Shape {
    p384: false,
    name_alg: structures::TPM_ALG_SHA256,
};

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// GeneralNames with one directoryName holding the TCG TPM attributes, one RDN each.
fn tcg_san(manufacturer: &str) -> Vec<u8> {
    let attr = |last: u8, value: &str| {
        let oid = der(0x06, &[0x67, 0x81, 0x05, 0x02, last]);
        der(
            0x31,
            &der(0x30, &[oid, der(0x0c, value.as_bytes())].concat()),
        )
    };
    let name = der(
        0x30,
        &[
            attr(1, manufacturer),
            attr(2, "passkeyd-vTPM"),
            attr(3, "id:13"),
        ]
        .concat(),
    );
    der(0x30, &der(0xa4, &name))
}

struct Built {
    alg: i64,
    x5c: Vec<Vec<u8>>,
    sig: Vec<u8>,
    cert_info: Vec<u8>,
    pub_area: Vec<u8>,
    auth_data: Vec<u8>,
    root: Vec<u8>,
}

fn u16be(v: u16) -> [u8; 2] {
    v.to_be_bytes()
}

fn sized(b: &[u8]) -> Vec<u8> {
    let mut out = u16be(b.len() as u16).to_vec();
    out.extend_from_slice(b);
    out
}

fn build(shape: Shape, aik: &Aik) -> Built {
    // Test CA and AIK certificate.
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = DistinguishedName::new();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "passkeyd test TPM attestation CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    ca_params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    ca_params.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let ca = CertifiedIssuer::self_signed(
        ca_params,
        KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap(),
    )
    .unwrap();

    let (rc_alg, signing, alg): (_, &'static EcdsaSigningAlgorithm, i64) = if shape.p384 {
        (
            &rcgen::PKCS_ECDSA_P384_SHA384,
            &ECDSA_P384_SHA384_ASN1_SIGNING,
            -35,
        )
    } else {
        (
            &rcgen::PKCS_ECDSA_P256_SHA256,
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            -7,
        )
    };
    let aik_key = KeyPair::generate_for(rc_alg).unwrap();
    let mut p = CertificateParams::default();
    p.distinguished_name = DistinguishedName::new();
    if aik.subject {
        p.distinguished_name.push(DnType::CommonName, "not empty");
    }
    p.is_ca = if aik.ca {
        IsCa::Ca(BasicConstraints::Unconstrained)
    } else {
        IsCa::ExplicitNoCa
    };
    if aik.eku {
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![2, 23, 133, 8, 3])];
    }
    if let Some(m) = aik.san {
        let mut san = CustomExtension::from_oid_content(&[2, 5, 29, 17], tcg_san(m));
        san.set_criticality(aik.san_critical);
        p.custom_extensions.push(san);
    }
    if let Some(a) = aik.aaguid {
        p.custom_extensions.push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 45724, 1, 1, 4],
            der(0x04, &a),
        ));
    }
    p.not_before = rcgen::date_time_ymd(2020, 1, 1);
    p.not_after = rcgen::date_time_ymd(2099, 1, 1);
    let aik_cert = p.signed_by(&aik_key, &ca).unwrap();
    let aik_signer = EcdsaKeyPair::from_pkcs8(signing, aik_key.serialized_der()).unwrap();

    // Credential key, in COSE and in pubArea.
    let cred = EcdsaKeyPair::generate(signing).unwrap();
    let point = cred.public_key().as_ref().to_vec();
    let len = (point.len() - 1) / 2;
    let (x, y) = point[1..].split_at(len);
    let mut cose = vec![0xa5, 0x01, 0x02, 0x03];
    cose.extend_from_slice(if shape.p384 { &[0x38, 0x22] } else { &[0x26] });
    cose.extend_from_slice(&[0x20, if shape.p384 { 0x02 } else { 0x01 }]);
    cose.extend_from_slice(&[0x21, 0x58, len as u8]);
    cose.extend_from_slice(x);
    cose.extend_from_slice(&[0x22, 0x58, len as u8]);
    cose.extend_from_slice(y);

    let mut auth_data = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, b"example.org")
        .as_ref()
        .to_vec();
    auth_data.push(0x45); // UP, UV, AT
    auth_data.extend_from_slice(&[0, 0, 0, 0]);
    auth_data.extend_from_slice(&AAGUID);
    auth_data.extend_from_slice(&sized(&[0x77; 16]));
    auth_data.extend_from_slice(&cose);

    let mut pub_area = Vec::new();
    pub_area.extend_from_slice(&u16be(structures::TPM_ALG_ECC));
    pub_area.extend_from_slice(&u16be(shape.name_alg));
    pub_area.extend_from_slice(&0x0006_0472u32.to_be_bytes());
    pub_area.extend_from_slice(&sized(&[]));
    pub_area.extend_from_slice(&u16be(structures::TPM_ALG_NULL));
    pub_area.extend_from_slice(&u16be(structures::TPM_ALG_NULL));
    pub_area.extend_from_slice(&u16be(if shape.p384 {
        structures::TPM_ECC_NIST_P384
    } else {
        structures::TPM_ECC_NIST_P256
    }));
    pub_area.extend_from_slice(&u16be(structures::TPM_ALG_NULL));
    pub_area.extend_from_slice(&sized(x));
    pub_area.extend_from_slice(&sized(y));

    let extra_hash = if shape.p384 {
        &aws_lc_rs::digest::SHA384
    } else {
        &aws_lc_rs::digest::SHA256
    };
    let mut signed = auth_data.clone();
    signed.extend_from_slice(&CLIENT_DATA_HASH);
    let mut name = u16be(shape.name_alg).to_vec();
    name.extend_from_slice(
        aws_lc_rs::digest::digest(name_hash(shape.name_alg).unwrap(), &pub_area).as_ref(),
    );
    let mut cert_info = TPM_GENERATED_VALUE.to_be_bytes().to_vec();
    cert_info.extend_from_slice(&u16be(TPM_ST_ATTEST_CERTIFY));
    cert_info.extend_from_slice(&sized(&[]));
    cert_info.extend_from_slice(&sized(
        aws_lc_rs::digest::digest(extra_hash, &signed).as_ref(),
    ));
    cert_info.extend_from_slice(&[0; 17]);
    cert_info.extend_from_slice(&[0; 8]);
    cert_info.extend_from_slice(&sized(&name));
    cert_info.extend_from_slice(&sized(&[]));
    let sig = aik_signer
        .sign(&SystemRandom::new(), &cert_info)
        .unwrap()
        .as_ref()
        .to_vec();

    Built {
        alg,
        x5c: vec![aik_cert.der().to_vec(), ca.der().to_vec()],
        sig,
        cert_info,
        pub_area,
        auth_data,
        root: ca.der().to_vec(),
    }
}

fn run(built: &Built) -> Result<AttestationOutcome, AttestationError> {
    let Built {
        alg,
        x5c,
        sig,
        cert_info,
        pub_area,
        ..
    } = built;
    let stmt = Value::Map(vec![
        (Value::Text("ver"), Value::Text("2.0")),
        (Value::Text("alg"), Value::Int(i128::from(*alg))),
        (
            Value::Text("x5c"),
            Value::Array(x5c.iter().map(|c| Value::Bytes(c)).collect()),
        ),
        (Value::Text("sig"), Value::Bytes(sig)),
        (Value::Text("certInfo"), Value::Bytes(cert_info)),
        (Value::Text("pubArea"), Value::Bytes(pub_area)),
    ]);
    verify_parts(
        verify,
        &stmt,
        &built.auth_data,
        &CLIENT_DATA_HASH,
        &AttestationOptions::default(),
    )
}

#[test]
fn a_p256_statement_verifies_and_chains_to_its_ca() {
    let built = build(P256, &Aik::default());
    let outcome = run(&built).unwrap();
    assert_eq!(outcome.attestation_type, AttestationType::AttCa);
    let mut anchors = TrustAnchors::new();
    anchors.add(Certificate::from_der(&built.root).unwrap());
    verify_chain(
        &outcome.trust_path,
        &anchors,
        UnixTime::now(),
        &ChainPolicy::default(),
    )
    .unwrap();
}

#[test]
fn p384_es384_and_other_name_algorithms_verify() {
    for name_alg in [
        structures::TPM_ALG_SHA1,
        structures::TPM_ALG_SHA256,
        structures::TPM_ALG_SHA384,
        structures::TPM_ALG_SHA512,
    ] {
        for p384 in [false, true] {
            let built = build(Shape { p384, name_alg }, &Aik::default());
            assert!(run(&built).is_ok(), "p384 {p384} nameAlg {name_alg:#06x}");
        }
    }
}

#[test]
fn the_aaguid_extension_must_match() {
    let ok = Aik {
        aaguid: Some(AAGUID),
        ..Aik::default()
    };
    assert!(run(&build(P256, &ok)).is_ok());
    let other = Aik {
        aaguid: Some([1; 16]),
        ..Aik::default()
    };
    assert!(matches!(
        run(&build(P256, &other)),
        Err(AttestationError::Binding(m)) if m.contains("AAGUID extension")
    ));
}

#[test]
fn each_aik_certificate_requirement_is_enforced() {
    let cases: [(Aik, &str); 6] = [
        (
            Aik {
                eku: false,
                ..Aik::default()
            },
            "no Extended Key Usage",
        ),
        (
            Aik {
                san: None,
                ..Aik::default()
            },
            "no Subject Alternative Name",
        ),
        (
            Aik {
                san_critical: false,
                ..Aik::default()
            },
            "must be critical",
        ),
        (
            Aik {
                ca: true,
                ..Aik::default()
            },
            "CA true",
        ),
        (
            Aik {
                subject: true,
                ..Aik::default()
            },
            "subject must be empty",
        ),
        (
            Aik {
                san: Some("Nuvoton"),
                ..Aik::default()
            },
            "expected 'id:' and eight hex digits",
        ),
    ];
    for (aik, needle) in cases {
        match run(&build(P256, &aik)) {
            Err(AttestationError::Certificate(m)) => assert!(m.contains(needle), "{m}"),
            other => panic!("expected '{needle}', got {other:?}"),
        }
    }
}

#[test]
fn the_w3c_vendor_id_is_accepted() {
    let aik = Aik {
        san: Some("id:00000000"),
        ..Aik::default()
    };
    assert!(run(&build(P256, &aik)).is_ok());
}
