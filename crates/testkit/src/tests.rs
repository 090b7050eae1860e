//! Unit tests: every response is checked with independent decoders (ciborium, x509-parser) and
//! verified directly with aws-lc-rs / ed448-goldilocks.

use aws_lc_rs::signature::{
    self, RsaPublicKeyComponents, UnparsedPublicKey, VerificationAlgorithm,
};
use ciborium::Value as Cbor;
use serde_json::Value;
use x509_parser::prelude::*;

use crate::*;

const RP: &str = "example.com";
const ORIGIN: &str = "https://example.com";

fn cbor(bytes: &[u8]) -> Cbor {
    let mut r = bytes;
    let v: Cbor = ciborium::de::from_reader(&mut r).expect("valid CBOR");
    assert!(r.is_empty(), "trailing bytes after CBOR item");
    v
}

fn map_get<'a>(m: &'a Cbor, key: &Cbor) -> Option<&'a Cbor> {
    m.as_map()
        .expect("CBOR map")
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

fn int_key(m: &Cbor, k: i64) -> Option<&Cbor> {
    map_get(m, &Cbor::Integer(k.into()))
}

fn text_key<'a>(m: &'a Cbor, k: &str) -> &'a Cbor {
    map_get(m, &Cbor::Text(k.into())).unwrap_or_else(|| panic!("missing {k}"))
}

fn as_i64(v: &Cbor) -> i64 {
    i64::try_from(v.as_integer().expect("integer")).unwrap()
}

fn as_bytes(v: &Cbor) -> &[u8] {
    v.as_bytes().expect("byte string")
}

/// Verifies `sig` over `msg` with the public key in the COSE_Key `cose`, independently of the
/// authenticator's signing code.
fn verify_cose(alg: Alg, cose: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let key = cbor(cose);
    match alg {
        Alg::Es256 | Alg::Es384 | Alg::Es512 => {
            let mut point = vec![4u8];
            point.extend_from_slice(as_bytes(int_key(&key, -2).unwrap()));
            point.extend_from_slice(as_bytes(int_key(&key, -3).unwrap()));
            let v: &dyn VerificationAlgorithm = match alg {
                Alg::Es256 => &signature::ECDSA_P256_SHA256_ASN1,
                Alg::Es384 => &signature::ECDSA_P384_SHA384_ASN1,
                _ => &signature::ECDSA_P521_SHA512_ASN1,
            };
            v.verify_sig(&point, msg, sig).is_ok()
        }
        Alg::Ed25519 => {
            UnparsedPublicKey::new(&signature::ED25519, as_bytes(int_key(&key, -2).unwrap()))
                .verify(msg, sig)
                .is_ok()
        }
        Alg::Ed448 => {
            let pk: [u8; 57] = as_bytes(int_key(&key, -2).unwrap()).try_into().unwrap();
            let vk = ed448_goldilocks::VerifyingKey::from_bytes(&pk).unwrap();
            let Ok(sig) = <[u8; 114]>::try_from(sig) else {
                return false;
            };
            vk.verify_raw(&ed448_goldilocks::Signature::from_bytes(&sig), msg)
                .is_ok()
        }
        Alg::Rs256 | Alg::Rs384 | Alg::Rs512 | Alg::Ps256 | Alg::Ps384 | Alg::Ps512 | Alg::Rs1 => {
            let params: &signature::RsaParameters = match alg {
                Alg::Rs256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                Alg::Rs384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                Alg::Rs512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                Alg::Ps256 => &signature::RSA_PSS_2048_8192_SHA256,
                Alg::Ps384 => &signature::RSA_PSS_2048_8192_SHA384,
                Alg::Ps512 => &signature::RSA_PSS_2048_8192_SHA512,
                _ => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            };
            RsaPublicKeyComponents {
                n: as_bytes(int_key(&key, -1).unwrap()),
                e: as_bytes(int_key(&key, -2).unwrap()),
            }
            .verify(params, msg, sig)
            .is_ok()
        }
        Alg::MlDsa44 | Alg::MlDsa65 | Alg::MlDsa87 => {
            let v: &dyn VerificationAlgorithm = match alg {
                Alg::MlDsa44 => &signature::ML_DSA_44,
                Alg::MlDsa65 => &signature::ML_DSA_65,
                _ => &signature::ML_DSA_87,
            };
            v.verify_sig(as_bytes(int_key(&key, -1).unwrap()), msg, sig)
                .is_ok()
        }
    }
}

fn signed_data(auth_data: &[u8], cdj: &[u8]) -> Vec<u8> {
    let mut m = auth_data.to_vec();
    m.extend_from_slice(&sha256(cdj));
    m
}

fn b64_field(v: &Value, path: &[&str]) -> Vec<u8> {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    let s = cur
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} not a string"));
    assert!(
        !s.contains('=') && !s.contains('+') && !s.contains('/'),
        "{path:?} is not unpadded base64url: {s}"
    );
    b64url_decode(s).expect("base64url")
}

#[test]
fn every_alg_registers_and_asserts_with_valid_signatures() {
    for alg in Alg::ALL {
        let mut a = SoftAuthenticator::new(alg).with_backup(true, true);
        let rp = RegisterParams::new(b"register-challenge".to_vec(), RP, ORIGIN)
            .with_attestation(AttestationKind::PackedSelf);
        let reg = a.register(&rp);

        // COSE key shape.
        let key = cbor(&reg.cose_public_key);
        assert_eq!(key, cbor(&a.cose_public_key()));
        assert_eq!(as_i64(int_key(&key, 1).unwrap()), alg.kty(), "{alg}");
        assert_eq!(as_i64(int_key(&key, 3).unwrap()), alg.cose_id(), "{alg}");
        let labels: Vec<i64> = key
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| as_i64(k))
            .collect();
        match alg.kty() {
            cose::kty::EC2 => {
                assert_eq!(labels, [1, 3, -1, -2, -3]);
                assert_eq!(as_i64(int_key(&key, -1).unwrap()), alg.crv().unwrap());
                let coord = match alg {
                    Alg::Es256 => 32,
                    Alg::Es384 => 48,
                    _ => 66,
                };
                assert_eq!(as_bytes(int_key(&key, -2).unwrap()).len(), coord);
                assert_eq!(as_bytes(int_key(&key, -3).unwrap()).len(), coord);
            }
            cose::kty::OKP => {
                assert_eq!(labels, [1, 3, -1, -2]);
                let (crv, len) = if alg == Alg::Ed25519 {
                    (6, 32)
                } else {
                    (7, 57)
                };
                assert_eq!(as_i64(int_key(&key, -1).unwrap()), crv);
                assert_eq!(as_bytes(int_key(&key, -2).unwrap()).len(), len);
            }
            cose::kty::RSA => {
                assert_eq!(labels, [1, 3, -1, -2]);
                assert_eq!(as_bytes(int_key(&key, -1).unwrap()).len(), 256);
                assert_eq!(as_bytes(int_key(&key, -2).unwrap()), [1, 0, 1]);
            }
            cose::kty::AKP => {
                assert_eq!(labels, [1, 3, -1]);
                let len = match alg {
                    Alg::MlDsa44 => 1312,
                    Alg::MlDsa65 => 1952,
                    _ => 2592,
                };
                assert_eq!(as_bytes(int_key(&key, -1).unwrap()).len(), len);
            }
            other => panic!("unexpected kty {other}"),
        }

        // JSON and attestation object.
        let j = &reg.json;
        assert_eq!(j["type"], "public-key");
        assert_eq!(j["id"], j["rawId"]);
        assert_eq!(b64_field(j, &["id"]), a.credential_id());
        assert_eq!(j["authenticatorAttachment"], "platform");
        assert_eq!(j["clientExtensionResults"], serde_json::json!({}));
        assert_eq!(j["response"]["publicKeyAlgorithm"], alg.cose_id());
        assert_eq!(
            j["response"]["transports"],
            serde_json::json!(["internal", "hybrid"])
        );
        assert_eq!(
            b64_field(j, &["response", "clientDataJSON"]),
            reg.client_data_json
        );
        assert_eq!(
            b64_field(j, &["response", "authenticatorData"]),
            reg.auth_data
        );
        assert_eq!(
            b64_field(j, &["response", "publicKey"]),
            a.public_key_spki_der()
        );
        let att = b64_field(j, &["response", "attestationObject"]);
        assert_eq!(att, reg.attestation_object);
        let att = cbor(&att);
        let keys: Vec<&str> = att
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_text().unwrap())
            .collect();
        assert_eq!(keys, ["fmt", "attStmt", "authData"]);
        assert_eq!(text_key(&att, "fmt").as_text(), Some("packed"));
        assert_eq!(as_bytes(text_key(&att, "authData")), reg.auth_data);
        let stmt = text_key(&att, "attStmt");
        assert_eq!(as_i64(text_key(stmt, "alg")), alg.cose_id());
        let msg = signed_data(&reg.auth_data, &reg.client_data_json);
        assert!(
            verify_cose(
                alg,
                &reg.cose_public_key,
                &msg,
                as_bytes(text_key(stmt, "sig"))
            ),
            "{alg}: packed self attestation signature"
        );

        // Authenticator data layout.
        let ad = &reg.auth_data;
        assert_eq!(&ad[..32], sha256(RP.as_bytes()));
        assert_eq!(ad[32], FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS | FLAG_AT);
        assert_eq!(&ad[33..37], [0, 0, 0, 0]);
        assert_eq!(&ad[37..53], a.aaguid());
        let id_len = usize::from(u16::from_be_bytes([ad[53], ad[54]]));
        assert!((16..=32).contains(&id_len));
        assert_eq!(&ad[55..55 + id_len], a.credential_id());
        assert_eq!(&ad[55 + id_len..], reg.cose_public_key);

        // Assertion.
        let ap = AssertParams::new(b"assert-challenge".to_vec(), RP, ORIGIN);
        let asr = a.assert(&ap);
        assert_eq!(asr.auth_data.len(), 37);
        assert_eq!(asr.auth_data[32], FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS);
        assert_eq!(&asr.auth_data[33..37], [0, 0, 0, 1]);
        let msg = signed_data(&asr.auth_data, &asr.client_data_json);
        assert!(
            verify_cose(alg, &reg.cose_public_key, &msg, &asr.signature),
            "{alg}: assertion"
        );
        let j = &asr.json;
        assert_eq!(b64_field(j, &["response", "signature"]), asr.signature);
        assert_eq!(
            b64_field(j, &["response", "authenticatorData"]),
            asr.auth_data
        );
        assert_eq!(
            b64_field(j, &["response", "clientDataJSON"]),
            asr.client_data_json
        );
        assert_eq!(b64_field(j, &["response", "userHandle"]), a.user_handle());
        assert_eq!(b64_field(j, &["rawId"]), a.credential_id());

        // A flipped bit must break the signature for every algorithm.
        let bad = a.assert(
            &AssertParams::new(b"c".to_vec(), RP, ORIGIN).with_tamper(Tamper::FlipSignatureBit),
        );
        let msg = signed_data(&bad.auth_data, &bad.client_data_json);
        assert!(
            !verify_cose(alg, &reg.cose_public_key, &msg, &bad.signature),
            "{alg}: flipped"
        );
        assert_eq!(&bad.auth_data[33..37], [0, 0, 0, 2]);
    }
}

#[test]
fn client_data_json_is_serialised_in_spec_order() {
    let mut a = SoftAuthenticator::new(Alg::Es256);
    let reg = a.register(&RegisterParams::new(vec![0xfb, 0xff], RP, ORIGIN));
    assert_eq!(
        reg.client_data_json,
        br#"{"type":"webauthn.create","challenge":"-_8","origin":"https://example.com","crossOrigin":false}"#
    );
    let mut p = AssertParams::new(vec![1, 2, 3], RP, ORIGIN);
    p.cross_origin = Some(true);
    p.top_origin = Some("https://top.example".into());
    p.tamper.push(Tamper::ExtraClientDataMember(
        "other_keys_can_be_added_here".into(),
        "x\"y".into(),
    ));
    let asr = a.assert(&p);
    assert_eq!(
        asr.client_data_json,
        br#"{"type":"webauthn.get","challenge":"AQID","origin":"https://example.com","crossOrigin":true,"topOrigin":"https://top.example","other_keys_can_be_added_here":"x\"y"}"#
    );
    let parsed: Value = serde_json::from_slice(&asr.client_data_json).unwrap();
    assert_eq!(parsed["other_keys_can_be_added_here"], "x\"y");
    p.cross_origin = None;
    p.top_origin = None;
    p.tamper.clear();
    p.origin = "https://a\"b\\c\u{1}".into();
    let asr = a.assert(&p);
    assert_eq!(
        asr.client_data_json,
        br#"{"type":"webauthn.get","challenge":"AQID","origin":"https://a\"b\\c\u0001"}"#
    );
}

#[test]
fn tampers_change_what_they_say() {
    let mut a = SoftAuthenticator::new(Alg::Es256).with_counter(41);
    let cose = a.cose_public_key();
    let base = AssertParams::new(b"challenge".to_vec(), RP, ORIGIN);
    let good = a.assert(&base);
    assert_eq!(&good.auth_data[33..37], 42u32.to_be_bytes());

    let check_valid = |asr: &Assertion| {
        verify_cose(
            Alg::Es256,
            &cose,
            &signed_data(&asr.auth_data, &asr.client_data_json),
            &asr.signature,
        )
    };
    assert!(check_valid(&good));

    let t = a.assert(&base.clone().with_tamper(Tamper::RpIdHash(vec![7; 32])));
    assert_eq!(&t.auth_data[..32], [7; 32]);
    assert!(check_valid(&t));

    let t = a.assert(&base.clone().with_tamper(Tamper::CounterOverride(5)));
    assert_eq!(&t.auth_data[33..37], 5u32.to_be_bytes());
    assert_eq!(a.counter(), 44, "override does not change state");
    assert!(check_valid(&t));

    let t = a.assert(&base.clone().with_tamper(Tamper::FlagsOverride(0)));
    assert_eq!(t.auth_data[32], 0);
    assert!(check_valid(&t));

    let t = a.assert(
        &base
            .clone()
            .with_tamper(Tamper::ClientDataJsonOverride(b"{}".to_vec())),
    );
    assert_eq!(t.client_data_json, b"{}");
    assert_eq!(b64_field(&t.json, &["response", "clientDataJSON"]), b"{}");
    assert!(check_valid(&t));

    let t = a.assert(&base.clone().with_tamper(Tamper::IdOverride("AAAA".into())));
    assert_eq!(t.json["id"], "AAAA");
    assert_eq!(t.json["rawId"], "AAAA");

    let t = a.assert(&base.clone().with_tamper(Tamper::UserHandleOverride(None)));
    assert!(t.json["response"].get("userHandle").is_none());
    let t = a.assert(
        &base
            .clone()
            .with_tamper(Tamper::UserHandleOverride(Some(vec![9, 9]))),
    );
    assert_eq!(t.json["response"]["userHandle"], "CQk");
    let mut no_uh = base.clone();
    no_uh.include_user_handle = false;
    assert!(
        a.assert(&no_uh).json["response"]
            .get("userHandle")
            .is_none()
    );

    let t = a.assert(&base.clone().with_tamper(Tamper::TruncateAuthData(36)));
    assert_eq!(t.auth_data.len(), 36);
    assert!(check_valid(&t));

    let t = a.assert(&base.clone().with_tamper(Tamper::FlipSignatureBit));
    assert!(!check_valid(&t));

    // Registration tampers.
    let reg = a.register(
        &RegisterParams::new(b"c".to_vec(), RP, ORIGIN)
            .with_attestation(AttestationKind::PackedSelf)
            .with_tamper(Tamper::AttestationAlgOverride(-257)),
    );
    let att = cbor(&reg.attestation_object);
    let stmt = text_key(&att, "attStmt");
    assert_eq!(as_i64(text_key(stmt, "alg")), -257);
    assert!(verify_cose(
        Alg::Es256,
        &cose,
        &signed_data(&reg.auth_data, &reg.client_data_json),
        as_bytes(text_key(stmt, "sig"))
    ));
    let rp = RegisterParams::new(b"c".to_vec(), RP, ORIGIN)
        .with_attestation(AttestationKind::PackedSelf)
        .with_tamper(Tamper::FlipSignatureBit)
        .with_tamper(Tamper::TruncateAuthData(40));
    let reg = a.register(&rp);
    assert_eq!(reg.auth_data.len(), 40);
    let att = cbor(&reg.attestation_object);
    let sig = as_bytes(text_key(text_key(&att, "attStmt"), "sig"));
    assert!(!verify_cose(
        Alg::Es256,
        &cose,
        &signed_data(&reg.auth_data, &reg.client_data_json),
        sig
    ));
}

#[test]
fn extensions_set_ed_and_are_appended() {
    let mut a = SoftAuthenticator::new(Alg::Ed25519).with_counter_step(0);
    let mut ext = Vec::new();
    cbor::map(&mut ext, 1);
    cbor::text(&mut ext, "credProtect");
    cbor::int(&mut ext, 2);
    let mut rp = RegisterParams::new(b"c".to_vec(), RP, ORIGIN);
    rp.extensions_cbor = Some(ext.clone());
    rp.user_verified = false;
    rp.client_extension_results = serde_json::json!({"credProps": {"rk": true}});
    let reg = a.register(&rp);
    assert_eq!(reg.auth_data[32], FLAG_UP | FLAG_AT | FLAG_ED);
    assert!(reg.auth_data.ends_with(&ext));
    assert_eq!(reg.json["clientExtensionResults"]["credProps"]["rk"], true);
    let mut ap = AssertParams::new(b"c".to_vec(), RP, ORIGIN);
    ap.extensions_cbor = Some(ext.clone());
    let asr = a.assert(&ap);
    assert_eq!(asr.auth_data[32], FLAG_UP | FLAG_UV | FLAG_ED);
    assert_eq!(&asr.auth_data[37..], ext);
    assert_eq!(&asr.auth_data[33..37], [0, 0, 0, 0], "counter step 0");
}

fn leaf_spki(der: &[u8]) -> (Vec<u8>, X509Certificate<'_>) {
    let (_, cert) = X509Certificate::from_der(der).expect("certificate parses");
    (cert.public_key().subject_public_key.data.to_vec(), cert)
}

#[test]
fn packed_x5c_fido_u2f_and_compound_attestation() {
    let pki = TestPki::new();
    let aaguid = [0x11; 16];
    let cert = pki.attestation(aaguid);
    assert_eq!(cert.chain().len(), 2);
    assert_eq!(cert.chain()[1], pki.intermediate_der());
    let (leaf_pk, _) = leaf_spki(cert.leaf_der());

    let mut a = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
    let reg = a.register(
        &RegisterParams::new(b"c".to_vec(), RP, ORIGIN)
            .with_attestation(AttestationKind::PackedX5c(cert.clone())),
    );
    let att = cbor(&reg.attestation_object);
    let stmt = text_key(&att, "attStmt");
    assert_eq!(as_i64(text_key(stmt, "alg")), -7);
    let x5c: Vec<&[u8]> = text_key(stmt, "x5c")
        .as_array()
        .unwrap()
        .iter()
        .map(as_bytes)
        .collect();
    assert_eq!(
        x5c,
        [cert.chain()[0].as_slice(), cert.chain()[1].as_slice()]
    );
    let msg = signed_data(&reg.auth_data, &reg.client_data_json);
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &leaf_pk)
        .verify(&msg, as_bytes(text_key(stmt, "sig")))
        .expect("packed x5c signature");

    // RS256 attestation key.
    let rs = pki.attestation_cert(&LeafOptions::new(aaguid).rs256());
    assert_eq!(rs.cose_alg(), -257);
    let reg = a.register(
        &RegisterParams::new(b"c".to_vec(), RP, ORIGIN)
            .with_attestation(AttestationKind::PackedX5c(rs.clone())),
    );
    let att = cbor(&reg.attestation_object);
    let stmt = text_key(&att, "attStmt");
    let (rs_pk, _) = leaf_spki(rs.leaf_der());
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &rs_pk)
        .verify(
            &signed_data(&reg.auth_data, &reg.client_data_json),
            as_bytes(text_key(stmt, "sig")),
        )
        .expect("packed RS256 x5c signature");

    // fido-u2f
    let reg = a.register(
        &RegisterParams::new(b"c".to_vec(), RP, ORIGIN)
            .with_attestation(AttestationKind::FidoU2f(cert.clone())),
    );
    assert_eq!(&reg.auth_data[37..53], [0; 16], "u2f AAGUID is zero");
    let att = cbor(&reg.attestation_object);
    assert_eq!(text_key(&att, "fmt").as_text(), Some("fido-u2f"));
    let stmt = text_key(&att, "attStmt");
    assert_eq!(text_key(stmt, "x5c").as_array().unwrap().len(), 1);
    let key = cbor(&a.cose_public_key());
    let mut data = vec![0u8];
    data.extend_from_slice(&sha256(RP.as_bytes()));
    data.extend_from_slice(&sha256(&reg.client_data_json));
    data.extend_from_slice(a.credential_id());
    data.push(4);
    data.extend_from_slice(as_bytes(int_key(&key, -2).unwrap()));
    data.extend_from_slice(as_bytes(int_key(&key, -3).unwrap()));
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &leaf_pk)
        .verify(&data, as_bytes(text_key(stmt, "sig")))
        .expect("fido-u2f signature");

    // compound
    let reg = a.register(
        &RegisterParams::new(b"c".to_vec(), RP, ORIGIN).with_attestation(
            AttestationKind::Compound(vec![
                AttestationKind::PackedSelf,
                AttestationKind::PackedX5c(cert),
            ]),
        ),
    );
    let att = cbor(&reg.attestation_object);
    assert_eq!(text_key(&att, "fmt").as_text(), Some("compound"));
    let list = text_key(&att, "attStmt").as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(text_key(&list[0], "fmt").as_text(), Some("packed"));
    let msg = signed_data(&reg.auth_data, &reg.client_data_json);
    assert!(verify_cose(
        Alg::Es256,
        &a.cose_public_key(),
        &msg,
        as_bytes(text_key(text_key(&list[0], "attStmt"), "sig"))
    ));
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, &leaf_pk)
        .verify(
            &msg,
            as_bytes(text_key(text_key(&list[1], "attStmt"), "sig")),
        )
        .expect("compound packed x5c signature");
}

fn aaguid_ext<'a>(cert: &'a X509Certificate<'a>) -> Option<&'a X509Extension<'a>> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == "1.3.6.1.4.1.45724.1.1.4")
}

#[test]
fn pki_leaf_meets_packed_requirements_and_variants_break_them() {
    let pki = TestPki::new();
    let aaguid = [0xab; 16];
    let root_der = pki.root_der();
    let (_, root) = X509Certificate::from_der(&root_der).unwrap();
    assert!(pki.root_pem().starts_with("-----BEGIN CERTIFICATE-----"));
    let inter_der = pki.intermediate_der();
    let (_, inter) = X509Certificate::from_der(&inter_der).unwrap();
    inter
        .verify_signature(Some(root.public_key()))
        .expect("intermediate signed by root");
    assert!(inter.is_ca());

    let good = pki.attestation(aaguid);
    let (_, leaf) = X509Certificate::from_der(good.leaf_der()).unwrap();
    assert_eq!(leaf.version(), X509Version::V3);
    leaf.verify_signature(Some(inter.public_key()))
        .expect("leaf signed by intermediate");
    let subj = leaf.subject();
    assert_eq!(subj.iter_country().next().unwrap().as_str().unwrap(), "US");
    assert!(subj.iter_organization().next().is_some());
    assert_eq!(
        subj.iter_organizational_unit()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "Authenticator Attestation"
    );
    assert!(subj.iter_common_name().next().is_some());
    let bc = leaf
        .basic_constraints()
        .unwrap()
        .expect("basicConstraints present");
    assert!(!bc.value.ca);
    assert!(leaf.validity().is_valid());
    let ext = aaguid_ext(&leaf).expect("aaguid extension");
    assert!(!ext.critical);
    let mut want = vec![0x04, 0x10];
    want.extend_from_slice(&aaguid);
    assert_eq!(ext.value, want);

    let expired = pki.attestation_cert(&LeafOptions::new(aaguid).expired());
    let (_, c) = X509Certificate::from_der(expired.leaf_der()).unwrap();
    assert!(!c.validity().is_valid());

    let wrong_ou = pki.attestation_cert(&LeafOptions::new(aaguid).wrong_ou());
    let (_, c) = X509Certificate::from_der(wrong_ou.leaf_der()).unwrap();
    assert_ne!(
        c.subject()
            .iter_organizational_unit()
            .next()
            .unwrap()
            .as_str()
            .unwrap(),
        "Authenticator Attestation"
    );

    let ca = pki.attestation_cert(&LeafOptions::new(aaguid).ca_leaf());
    let (_, c) = X509Certificate::from_der(ca.leaf_der()).unwrap();
    assert!(c.basic_constraints().unwrap().unwrap().value.ca);

    let mism = pki.attestation_cert(&LeafOptions::new(aaguid).aaguid_mismatch([1; 16]));
    let (_, c) = X509Certificate::from_der(mism.leaf_der()).unwrap();
    assert_eq!(&aaguid_ext(&c).unwrap().value[2..], [1; 16]);

    let mut crit = LeafOptions::new(aaguid);
    crit.aaguid_extension = AaguidExtension::Critical;
    let crit = pki.attestation_cert(&crit);
    let (_, c) = X509Certificate::from_der(crit.leaf_der()).unwrap();
    assert!(aaguid_ext(&c).unwrap().critical);

    let untrusted = pki.attestation_cert(&LeafOptions::new(aaguid).untrusted());
    assert_eq!(untrusted.chain().len(), 1);
    let (_, c) = X509Certificate::from_der(untrusted.leaf_der()).unwrap();
    assert!(c.verify_signature(Some(root.public_key())).is_err());
    let other_root = pki.untrusted_root_der();
    let (_, o) = X509Certificate::from_der(&other_root).unwrap();
    c.verify_signature(Some(o.public_key()))
        .expect("signed by the untrusted root");
}

#[test]
fn jws_es256_and_rs256() {
    let pki = TestPki::new();
    let cert = pki.attestation([0; 16]);
    let payload = br#"{"no":1,"nextUpdate":"2099-01-01","entries":[]}"#;
    let jws = cert.sign_jwt(payload);
    let parts: Vec<&str> = jws.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "JWT");
    use base64::Engine as _;
    let x5c0 = base64::engine::general_purpose::STANDARD
        .decode(header["x5c"][0].as_str().unwrap())
        .unwrap();
    assert_eq!(x5c0, cert.leaf_der());
    assert_eq!(b64url_decode(parts[1]).unwrap(), payload);
    let sig = b64url_decode(parts[2]).unwrap();
    assert_eq!(sig.len(), 64);
    let (pk, _) = leaf_spki(cert.leaf_der());
    let input = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &pk)
        .verify(input.as_bytes(), &sig)
        .expect("ES256 JWS verifies");

    let rs = pki.attestation_cert(&LeafOptions::new([0; 16]).rs256());
    let jws = rs.sign_jwt(payload);
    let parts: Vec<&str> = jws.split('.').collect();
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    let (pk, _) = leaf_spki(rs.leaf_der());
    let input = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, &pk)
        .verify(input.as_bytes(), &b64url_decode(parts[2]).unwrap())
        .expect("RS256 JWS verifies");
}

#[test]
fn der_to_raw_pads_short_integers() {
    // r = 0x01, s = 0x00ff (leading zero for sign)
    let der = [0x30, 0x07, 0x02, 0x01, 0x01, 0x02, 0x02, 0x00, 0xff];
    let raw = jwt::der_to_raw(&der, 4);
    assert_eq!(raw, [0, 0, 0, 1, 0, 0, 0, 0xff]);
}

#[test]
fn credential_ids_and_builders() {
    let a = SoftAuthenticator::new(Alg::Es256)
        .with_credential_id(vec![1, 2, 3])
        .with_user_handle(b"user".to_vec())
        .with_attachment(Some("cross-platform"));
    assert_eq!(a.credential_id(), [1, 2, 3]);
    let mut a = a;
    let asr = a.assert(&AssertParams::default());
    assert_eq!(asr.json["id"], "AQID");
    assert_eq!(asr.json["authenticatorAttachment"], "cross-platform");
    assert_eq!(asr.user_handle.as_deref(), Some(&b"user"[..]));
    let mut b = SoftAuthenticator::new(Alg::Es256).with_attachment(None);
    assert!(
        b.assert(&AssertParams::default())
            .json
            .get("authenticatorAttachment")
            .is_none()
    );
    assert_eq!(Alg::ALL.len(), 15);
    assert_eq!(Alg::Rs1.cose_id(), -65535);
}

#[test]
fn pkcs8_round_trip_and_cose_alg_override() {
    for alg in Alg::ALL {
        let a = SoftAuthenticator::new(alg);
        let der = a.private_key_pkcs8();
        let mut b = SoftAuthenticator::from_pkcs8(alg, &der)
            .unwrap_or_else(|e| panic!("{alg}: {e}"))
            .with_credential_id(a.credential_id().to_vec());
        assert_eq!(b.cose_public_key(), a.cose_public_key(), "{alg}");
        assert_eq!(b.public_key_spki_der(), a.public_key_spki_der(), "{alg}");
        let asr = b.assert(&AssertParams::default());
        let msg = signed_data(&asr.auth_data, &asr.client_data_json);
        assert!(
            verify_cose(alg, &a.cose_public_key(), &msg, &asr.signature),
            "{alg}"
        );
    }
    let mut a = SoftAuthenticator::new(Alg::Ed25519).with_cose_alg(-19);
    assert_eq!(a.cose_alg(), -19);
    assert_eq!(
        as_i64(int_key(&cbor(&a.cose_public_key()), 3).unwrap()),
        -19
    );
    let reg = a.register(&RegisterParams::default().with_attestation(AttestationKind::PackedSelf));
    assert_eq!(reg.json["response"]["publicKeyAlgorithm"], -19);
    let att = cbor(&reg.attestation_object);
    assert_eq!(as_i64(text_key(text_key(&att, "attStmt"), "alg")), -19);
    assert!(SoftAuthenticator::from_pkcs8(Alg::Ed448, b"junk").is_err());
    assert!(SoftAuthenticator::from_pkcs8(Alg::Es256, b"junk").is_err());
}

#[test]
fn authenticator_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<SoftAuthenticator>();
    check::<TestPki>();
    check::<AttestationCert>();
    check::<RegisterParams>();
}

#[test]
fn mds_blob_is_signed_by_a_chain_to_the_root() {
    let pki = TestPki::new();
    let aaguid = [
        0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0, 1, 2, 3, 4, 5, 6, 7,
    ];
    assert_eq!(
        mds::aaguid_string(&aaguid),
        "01234567-89ab-cdef-0001-020304050607"
    );
    let payload = mds::blob_payload(
        42,
        "2099-01-01",
        &[mds::MdsEntry::new(aaguid, vec![pki.root_der()]).with_status("REVOKED")],
    );
    assert_eq!(payload["no"], 42);
    let e = &payload["entries"][0];
    assert_eq!(e["aaguid"], "01234567-89ab-cdef-0001-020304050607");
    assert_eq!(e["statusReports"][1]["status"], "REVOKED");
    assert_eq!(e["metadataStatement"]["protocolFamily"], "fido2");
    let signer = pki.mds_signer();
    let jws = signer.sign_jwt(payload.to_string().as_bytes());
    let parts: Vec<&str> = jws.split('.').collect();
    let header: Value = serde_json::from_slice(&b64url_decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["x5c"].as_array().unwrap().len(), 2);
    let body: Value = serde_json::from_slice(&b64url_decode(parts[1]).unwrap()).unwrap();
    assert_eq!(body, payload);
    let (_, leaf) = X509Certificate::from_der(signer.leaf_der()).unwrap();
    assert!(aaguid_ext(&leaf).is_none());
    let inter_der = pki.intermediate_der();
    let (_, inter) = X509Certificate::from_der(&inter_der).unwrap();
    leaf.verify_signature(Some(inter.public_key())).unwrap();
    assert!(
        pki.intermediate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
}
