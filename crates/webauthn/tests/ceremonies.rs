//! Registration (§7.1) and assertion (§7.2) with the software authenticator: every algorithm
//! verifies, and every tampered variant fails at the step the spec assigns to it.

use passkeyd_testkit::{
    Alg, AssertParams, AttestationKind, FLAG_AT, FLAG_BS, FLAG_UP, RegisterParams,
    SoftAuthenticator, Tamper,
};
use passkeyd_webauthn::attestation::AttestationType;
use passkeyd_webauthn::authentication::{
    CounterOutcome, CredentialRecord, VerifiedAssertion, verify_assertion_json,
};
use passkeyd_webauthn::cose::{CosePublicKey, KeyPolicy};
use passkeyd_webauthn::extensions::{RequestedExtensions, UnsolicitedExtensions};
use passkeyd_webauthn::json::UserVerificationRequirement;
use passkeyd_webauthn::options::{AuthenticationState, RegistrationState};
use passkeyd_webauthn::registration::{VerifiedRegistration, verify_registration_json};
use passkeyd_webauthn::relying_party::{CounterPolicy, CrossOriginPolicy, RelyingParty};
use passkeyd_webauthn::{Error, Step};

const RP_ID: &str = "example.com";
const ORIGIN: &str = "https://example.com";
const USER: &[u8] = b"user-handle-0001";

fn rp() -> RelyingParty {
    let mut rp = RelyingParty::new(RP_ID, [ORIGIN]);
    rp.key_policy = KeyPolicy {
        allow_rs1: true,
        ..KeyPolicy::default()
    };
    rp
}

fn reg_state(challenge: &[u8]) -> RegistrationState {
    RegistrationState {
        challenge: challenge.to_vec(),
        user_handle: USER.to_vec(),
        user_verification: UserVerificationRequirement::Preferred,
        algorithms: Vec::new(),
        conditional: false,
        extensions: RequestedExtensions::default(),
    }
}

fn register(
    rp: &RelyingParty,
    auth: &mut SoftAuthenticator,
    state: &RegistrationState,
    params: RegisterParams,
) -> Result<VerifiedRegistration, Error> {
    let r = auth.register(&params);
    verify_registration_json(rp, state, &r.json.to_string(), &|_| false)
}

fn reg_params(challenge: &[u8]) -> RegisterParams {
    RegisterParams::new(challenge.to_vec(), RP_ID, ORIGIN)
        .with_attestation(AttestationKind::PackedSelf)
}

fn auth_state(challenge: &[u8]) -> AuthenticationState {
    AuthenticationState {
        challenge: challenge.to_vec(),
        user_verification: UserVerificationRequirement::Preferred,
        allow_credentials: Vec::new(),
        identified_user: None,
        extensions: RequestedExtensions::default(),
    }
}

struct Enrolled {
    auth: SoftAuthenticator,
    key: CosePublicKey,
    reg: VerifiedRegistration,
}

fn enrol(alg: Alg) -> Enrolled {
    let mut auth = SoftAuthenticator::new(alg).with_user_handle(USER.to_vec());
    let reg = register(
        &rp(),
        &mut auth,
        &reg_state(b"reg-challenge"),
        reg_params(b"reg-challenge"),
    )
    .unwrap_or_else(|e| panic!("{alg:?} registration failed: {e}"));
    let key = CosePublicKey::from_cbor(&reg.public_key_cose, &rp().key_policy)
        .expect("stored key parses");
    Enrolled { auth, key, reg }
}

fn assert_with(
    rp: &RelyingParty,
    e: &mut Enrolled,
    state: &AuthenticationState,
    params: AssertParams,
    stored_count: u32,
) -> Result<VerifiedAssertion, Error> {
    let a = e.auth.assert(&params);
    let record = CredentialRecord {
        credential_id: &e.reg.credential_id,
        user_handle: USER,
        public_key: &e.key,
        sign_count: stored_count,
        backup_eligible: e.reg.backup_eligible,
        backup_state: e.reg.backup_state,
        uv_initialized: e.reg.uv_initialized,
    };
    verify_assertion_json(rp, state, &a.json.to_string(), &record)
}

fn step_of(r: Result<impl std::fmt::Debug, Error>) -> String {
    match r {
        Ok(v) => panic!("expected a failure, got {v:?}"),
        Err(e) => e.step().to_string(),
    }
}

#[test]
fn every_algorithm_registers_and_asserts() {
    for alg in Alg::ALL {
        let mut e = enrol(alg);
        assert_eq!(e.reg.alg.id(), alg.cose_id(), "{alg:?}");
        assert_eq!(e.reg.attestation_type, AttestationType::SelfAttestation);
        let v = assert_with(
            &rp(),
            &mut e,
            &auth_state(b"c1"),
            AssertParams::new(b"c1".to_vec(), RP_ID, ORIGIN),
            0,
        )
        .unwrap_or_else(|err| panic!("{alg:?} assertion failed: {err}"));
        assert_eq!(v.counter, CounterOutcome::Increased { from: 0, to: 1 });
        assert_eq!(v.new_sign_count, 1);
        let bad = assert_with(
            &rp(),
            &mut e,
            &auth_state(b"c2"),
            AssertParams::new(b"c2".to_vec(), RP_ID, ORIGIN).with_tamper(Tamper::FlipSignatureBit),
            1,
        );
        assert_eq!(step_of(bad), "7.2.21", "{alg:?}");
    }
}

#[test]
fn registration_tampering_fails_at_the_right_step() {
    let rp = rp();
    let c = b"registration-challenge";
    let state = reg_state(c);
    let cases: Vec<(&str, RegisterParams, &str)> = vec![
        (
            "rawId is not the attested credential id",
            reg_params(c).with_tamper(Tamper::IdOverride("AAAA".into())),
            "7.1.25",
        ),
        (
            "invalid client data",
            reg_params(c).with_tamper(Tamper::ClientDataJsonOverride(b"{".to_vec())),
            "7.1.6",
        ),
        (
            "not UTF-8",
            reg_params(c).with_tamper(Tamper::ClientDataJsonOverride(vec![0xff, 0xfe])),
            "7.1.5",
        ),
        (
            "wrong type",
            RegisterParams {
                client_data_type: "webauthn.get".into(),
                ..reg_params(c)
            },
            "7.1.7",
        ),
        ("wrong challenge", reg_params(b"another challenge"), "7.1.8"),
        (
            "wrong origin",
            RegisterParams {
                origin: "https://evil.example".into(),
                ..reg_params(c)
            },
            "7.1.9",
        ),
        (
            "cross origin",
            RegisterParams {
                cross_origin: Some(true),
                ..reg_params(c)
            },
            "7.1.10",
        ),
        (
            "top origin",
            RegisterParams {
                top_origin: Some("https://top.example".into()),
                ..reg_params(c)
            },
            "7.1.11",
        ),
        (
            "truncated authData",
            reg_params(c).with_tamper(Tamper::TruncateAuthData(30)),
            "7.1.13",
        ),
        (
            "rpIdHash",
            reg_params(c).with_tamper(Tamper::RpIdHash(vec![0; 32])),
            "7.1.14",
        ),
        (
            "UP clear",
            RegisterParams {
                user_present: false,
                ..reg_params(c)
            },
            "7.1.15",
        ),
        (
            "BS without BE",
            reg_params(c).with_tamper(Tamper::FlagsOverride(FLAG_UP | FLAG_AT | FLAG_BS)),
            "7.1.17",
        ),
        (
            "bad self signature",
            reg_params(c).with_tamper(Tamper::FlipSignatureBit),
            "7.1.23",
        ),
        (
            "attStmt alg differs from key",
            reg_params(c).with_tamper(Tamper::AttestationAlgOverride(-257)),
            "7.1.23",
        ),
    ];
    for (name, params, want) in cases {
        let mut auth = SoftAuthenticator::new(Alg::Es256);
        assert_eq!(
            step_of(register(&rp, &mut auth, &state, params)),
            want,
            "{name}"
        );
    }

    // UV required but not performed (§7.1 step 16).
    let uv_state = RegistrationState {
        user_verification: UserVerificationRequirement::Required,
        ..reg_state(c)
    };
    let params = RegisterParams {
        user_verified: false,
        ..reg_params(c)
    };
    assert_eq!(
        step_of(register(
            &rp,
            &mut SoftAuthenticator::new(Alg::Es256),
            &uv_state,
            params
        )),
        "7.1.16"
    );

    // Algorithm not offered (§7.1 step 20).
    let es_only = RegistrationState {
        algorithms: vec![-7],
        ..reg_state(c)
    };
    assert_eq!(
        step_of(register(
            &rp,
            &mut SoftAuthenticator::new(Alg::Ed25519),
            &es_only,
            reg_params(c)
        )),
        "7.1.20"
    );

    // Credential id over 1023 bytes (§7.1 step 25); 1023 is fine.
    let mut long = SoftAuthenticator::new(Alg::Es256).with_credential_id(vec![7; 1024]);
    assert_eq!(
        step_of(register(&rp, &mut long, &state, reg_params(c))),
        "7.1.25"
    );
    let mut max = SoftAuthenticator::new(Alg::Es256).with_credential_id(vec![7; 1023]);
    assert!(register(&rp, &mut max, &state, reg_params(c)).is_ok());

    // Already registered (§7.1 step 26).
    let mut a = SoftAuthenticator::new(Alg::Es256);
    let r = a.register(&reg_params(c));
    let id = a.credential_id().to_vec();
    let err = verify_registration_json(&rp, &state, &r.json.to_string(), &|x| x == id).unwrap_err();
    assert!(
        matches!(err, Error::CredentialIdAlreadyRegistered { .. }),
        "{err}"
    );

    // Unknown attestation format (§7.1 step 22) is reached through the vectors; an unknown
    // extension output is refused when the relying party rejects unsolicited outputs (step 21).
    let strict = RegistrationState {
        extensions: RequestedExtensions {
            unsolicited: UnsolicitedExtensions::Reject,
            ..Default::default()
        },
        ..reg_state(c)
    };
    let params = RegisterParams {
        client_extension_results: serde_json::json!({"credProps": {"rk": true}}),
        ..reg_params(c)
    };
    assert_eq!(
        step_of(register(
            &rp,
            &mut SoftAuthenticator::new(Alg::Es256),
            &strict,
            params
        )),
        "7.1.21"
    );
}

#[test]
fn id_must_be_the_encoding_of_raw_id() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new(Alg::Es256);
    let mut r = auth.register(&reg_params(b"c")).json;
    r["id"] = serde_json::json!("AAAA");
    let err =
        verify_registration_json(&rp, &reg_state(b"c"), &r.to_string(), &|_| false).unwrap_err();
    assert_eq!(err.step().to_string(), "7.1.3");
    r["id"] = r["rawId"].clone();
    r["type"] = serde_json::json!("password");
    let err =
        verify_registration_json(&rp, &reg_state(b"c"), &r.to_string(), &|_| false).unwrap_err();
    assert_eq!(err.step().to_string(), "7.1.3");
    let err =
        verify_registration_json(&rp, &reg_state(b"c"), "{\"id\": 1}", &|_| false).unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }));
}

#[test]
fn conditional_create_may_lack_user_presence() {
    let rp = rp();
    let c = b"conditional";
    let state = RegistrationState {
        conditional: true,
        ..reg_state(c)
    };
    let params = RegisterParams {
        user_present: false,
        ..reg_params(c)
    };
    let v = register(&rp, &mut SoftAuthenticator::new(Alg::Es256), &state, params)
        .expect("conditional create");
    assert!(!v.user_present);
}

#[test]
fn cross_origin_and_top_origin_are_policy() {
    let mut rp = rp();
    rp.cross_origin = CrossOriginPolicy {
        allow_cross_origin: true,
        top_origins: vec!["https://shop.example".into()],
    };
    let c = b"iframe";
    let ok = RegisterParams {
        cross_origin: Some(true),
        top_origin: Some("https://shop.example".into()),
        ..reg_params(c)
    };
    assert!(
        register(
            &rp,
            &mut SoftAuthenticator::new(Alg::Es256),
            &reg_state(c),
            ok
        )
        .is_ok()
    );
    let wrong_top = RegisterParams {
        cross_origin: Some(true),
        top_origin: Some("https://phish.example".into()),
        ..reg_params(c)
    };
    assert_eq!(
        step_of(register(
            &rp,
            &mut SoftAuthenticator::new(Alg::Es256),
            &reg_state(c),
            wrong_top
        )),
        "7.1.11"
    );
}

#[test]
fn assertion_tampering_fails_at_the_right_step() {
    let rp = rp();
    let c = b"assertion-challenge";
    let params = || AssertParams::new(c.to_vec(), RP_ID, ORIGIN);
    let cases: Vec<(&str, AssertParams, &str)> = vec![
        (
            "rawId of another credential",
            params().with_tamper(Tamper::IdOverride("AAAA".into())),
            "7.2.6",
        ),
        (
            "missing user handle",
            AssertParams {
                include_user_handle: false,
                ..params()
            },
            "7.2.6",
        ),
        (
            "foreign user handle",
            params().with_tamper(Tamper::UserHandleOverride(Some(b"someone-else".to_vec()))),
            "7.2.6",
        ),
        (
            "truncated authData",
            params().with_tamper(Tamper::TruncateAuthData(20)),
            "7.2.7",
        ),
        (
            "not UTF-8",
            params().with_tamper(Tamper::ClientDataJsonOverride(vec![0xc3, 0x28])),
            "7.2.8",
        ),
        (
            "invalid client data",
            params().with_tamper(Tamper::ClientDataJsonOverride(b"[]".to_vec())),
            "7.2.9",
        ),
        (
            "wrong type",
            AssertParams {
                client_data_type: "webauthn.create".into(),
                ..params()
            },
            "7.2.10",
        ),
        (
            "wrong challenge",
            AssertParams::new(b"stale".to_vec(), RP_ID, ORIGIN),
            "7.2.11",
        ),
        (
            "wrong origin",
            AssertParams {
                origin: "https://evil.example".into(),
                ..params()
            },
            "7.2.12",
        ),
        (
            "cross origin",
            AssertParams {
                cross_origin: Some(true),
                ..params()
            },
            "7.2.13",
        ),
        (
            "top origin",
            AssertParams {
                top_origin: Some("https://t.example".into()),
                ..params()
            },
            "7.2.14",
        ),
        (
            "rpIdHash",
            params().with_tamper(Tamper::RpIdHash(vec![1; 32])),
            "7.2.15",
        ),
        (
            "UP clear",
            AssertParams {
                user_present: false,
                ..params()
            },
            "7.2.16",
        ),
        (
            "BS without BE",
            params().with_tamper(Tamper::FlagsOverride(FLAG_UP | FLAG_BS)),
            "7.2.18",
        ),
        (
            "signature",
            params().with_tamper(Tamper::FlipSignatureBit),
            "7.2.21",
        ),
        (
            "counter regression",
            params().with_tamper(Tamper::CounterOverride(3)),
            "7.2.22",
        ),
    ];
    for (name, p, want) in cases {
        let mut e = enrol(Alg::Es256);
        assert_eq!(
            step_of(assert_with(&rp, &mut e, &auth_state(c), p, 5)),
            want,
            "{name}"
        );
    }
}

#[test]
fn assertion_identification_rules() {
    let rp = rp();
    let c = b"id";
    let mut e = enrol(Alg::Ed25519);
    let params = || AssertParams::new(c.to_vec(), RP_ID, ORIGIN);

    // §7.2 step 5: the credential must be in a non-empty allowCredentials.
    let other = AuthenticationState {
        allow_credentials: vec![vec![1, 2, 3]],
        ..auth_state(c)
    };
    assert_eq!(
        step_of(assert_with(&rp, &mut e, &other, params(), 0)),
        "7.2.5"
    );
    let listed = AuthenticationState {
        allow_credentials: vec![e.reg.credential_id.clone()],
        identified_user: Some(USER.to_vec()),
        ..auth_state(c)
    };
    // Identified user: the user handle may be absent.
    let no_handle = AssertParams {
        include_user_handle: false,
        ..params()
    };
    assert!(assert_with(&rp, &mut e, &listed, no_handle, 0).is_ok());
    // The credential must belong to the identified user.
    let someone_else = AuthenticationState {
        identified_user: Some(b"another-user".to_vec()),
        ..auth_state(c)
    };
    assert_eq!(
        step_of(assert_with(&rp, &mut e, &someone_else, params(), 0)),
        "7.2.6"
    );

    // UV required (§7.2 step 17).
    let uv = AuthenticationState {
        user_verification: UserVerificationRequirement::Required,
        ..auth_state(c)
    };
    assert_eq!(
        step_of(assert_with(
            &rp,
            &mut e,
            &uv,
            AssertParams {
                user_verified: false,
                ..params()
            },
            0
        )),
        "7.2.17"
    );
}

#[test]
fn backup_eligibility_must_not_change() {
    let rp = rp();
    let mut auth = SoftAuthenticator::new(Alg::Es256)
        .with_user_handle(USER.to_vec())
        .with_backup(true, true);
    let reg = register(&rp, &mut auth, &reg_state(b"r"), reg_params(b"r"))
        .expect("synced passkey registers");
    assert!(reg.backup_eligible && reg.backup_state);
    let key = CosePublicKey::from_cbor(&reg.public_key_cose, &rp.key_policy).expect("key");
    let mut e = Enrolled { auth, key, reg };
    // Synced passkeys keep a zero counter: zero on both sides is fine.
    e.auth = e.auth.with_counter(0).with_counter_step(0);
    let v = assert_with(
        &rp,
        &mut e,
        &auth_state(b"a"),
        AssertParams::new(b"a".to_vec(), RP_ID, ORIGIN),
        0,
    )
    .expect("ok");
    assert_eq!(v.counter, CounterOutcome::NotUsed);
    assert!(v.backup_state);
    // The same credential now claiming BE=0 (§7.2 step 19).
    let flipped =
        AssertParams::new(b"b".to_vec(), RP_ID, ORIGIN).with_tamper(Tamper::FlagsOverride(FLAG_UP));
    assert_eq!(
        step_of(assert_with(&rp, &mut e, &auth_state(b"b"), flipped, 0)),
        "7.2.19"
    );
}

#[test]
fn counter_warn_mode_accepts_and_reports_a_clone() {
    let mut rp = rp();
    rp.counter_policy = CounterPolicy::Warn;
    let mut e = enrol(Alg::Es256);
    let p = AssertParams::new(b"w".to_vec(), RP_ID, ORIGIN).with_tamper(Tamper::CounterOverride(2));
    let v = assert_with(&rp, &mut e, &auth_state(b"w"), p, 9).expect("warn mode accepts");
    assert_eq!(
        v.counter,
        CounterOutcome::PossibleClone {
            stored: 9,
            received: 2
        }
    );
    assert_eq!(v.new_sign_count, 9, "the stored counter is kept");
}

#[test]
fn unknown_client_data_members_are_ignored() {
    let mut e = enrol(Alg::Es256);
    let p =
        AssertParams::new(b"x".to_vec(), RP_ID, ORIGIN).with_tamper(Tamper::ExtraClientDataMember(
            "other_keys_can_be_added_here".into(),
            serde_json::json!("x"),
        ));
    assert!(assert_with(&rp(), &mut e, &auth_state(b"x"), p, 0).is_ok());
}

#[test]
fn errors_name_their_step() {
    let e = Error::ChallengeMismatch {
        step: Step::auth(11),
        expected: "abc".into(),
        found: "xyz".into(),
    };
    assert_eq!(
        e.to_string(),
        "step 7.2.11: client data challenge is 'xyz', expected 'abc'"
    );
    assert_eq!(e.code(), "challenge_mismatch");
}

#[test]
fn json_text_and_struct_paths_agree() {
    use passkeyd_webauthn::authentication::verify_assertion;
    use passkeyd_webauthn::json::{AuthenticationResponseJSON, RegistrationResponseJSON};
    use passkeyd_webauthn::registration::verify_registration;
    let rp = rp();
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_user_handle(USER.to_vec());
    let r = auth.register(&reg_params(b"same"));
    let text = r.json.to_string();
    let from_text =
        verify_registration_json(&rp, &reg_state(b"same"), &text, &|_| false).expect("text");
    let parsed: RegistrationResponseJSON = serde_json::from_str(&text).expect("struct");
    let from_struct =
        verify_registration(&rp, &reg_state(b"same"), &parsed, &|_| false).expect("struct");
    assert_eq!(from_text.credential_id, from_struct.credential_id);
    assert_eq!(from_text.public_key_cose, from_struct.public_key_cose);
    assert_eq!(from_text.attestation_object, from_struct.attestation_object);
    assert_eq!(from_text.transports, from_struct.transports);

    let key = from_text.public_key.clone();
    let a = auth.assert(&AssertParams::new(b"q".to_vec(), RP_ID, ORIGIN));
    let record = CredentialRecord {
        credential_id: &from_text.credential_id,
        user_handle: USER,
        public_key: &key,
        sign_count: 0,
        backup_eligible: false,
        backup_state: false,
        uv_initialized: true,
    };
    let t =
        verify_assertion_json(&rp, &auth_state(b"q"), &a.json.to_string(), &record).expect("text");
    let parsed: AuthenticationResponseJSON =
        serde_json::from_value(a.json.clone()).expect("struct");
    let s = verify_assertion(&rp, &auth_state(b"q"), &parsed, &record).expect("struct");
    assert_eq!(t, s);

    // Padding in rawId/id is tolerated on both paths; broken base64url is a clear error.
    let mut padded = a.json.clone();
    let id = padded["rawId"].as_str().expect("id").to_string();
    padded["rawId"] = serde_json::json!(format!("{id}{}", "=".repeat((4 - id.len() % 4) % 4)));
    let e = verify_assertion_json(&rp, &auth_state(b"q"), &padded.to_string(), &record);
    assert!(
        !matches!(
            e,
            Err(Error::MalformedResponse { .. }) | Err(Error::CredentialIdMismatch { .. })
        ),
        "{e:?}"
    );
    let mut broken = a.json.clone();
    broken["response"]["signature"] = serde_json::json!("*not base64*");
    let err =
        verify_assertion_json(&rp, &auth_state(b"q"), &broken.to_string(), &record).unwrap_err();
    assert!(matches!(err, Error::MalformedResponse { .. }), "{err}");
    assert_eq!(err.step().to_string(), "7.2.3");
}

#[test]
fn attested_registrations_chain_to_configured_roots() {
    use passkeyd_testkit::TestPki;
    use passkeyd_webauthn::registration::AttestationTrust;
    use passkeyd_webauthn::trust::{Certificate, TrustAnchors};
    let pki = TestPki::new();
    let mut anchors = TrustAnchors::new();
    anchors.add(Certificate::from_der(&pki.root_der()).expect("root"));
    let trusting = rp()
        .with_format_anchors("packed", anchors.clone())
        .with_format_anchors("fido-u2f", anchors);
    let aaguid = [0x42; 16];
    for kind in [
        AttestationKind::PackedX5c(pki.attestation(aaguid)),
        AttestationKind::Compound(vec![
            AttestationKind::PackedSelf,
            AttestationKind::PackedX5c(pki.attestation(aaguid)),
        ]),
    ] {
        let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
        let p = reg_params(b"x5c").with_attestation(kind);
        let v =
            register(&trusting, &mut auth, &reg_state(b"x5c"), p).expect("attested registration");
        assert_eq!(v.attestation_type, AttestationType::Basic);
        assert!(
            matches!(v.trust, AttestationTrust::Trusted { .. }),
            "{:?}",
            v.trust
        );
    }
    // fido-u2f carries the leaf alone, so its certificate comes straight from the root.
    let mut u2f = SoftAuthenticator::new(Alg::Es256);
    let leaf = pki.attestation_cert(&passkeyd_testkit::LeafOptions {
        issuer: passkeyd_testkit::LeafIssuer::Root,
        ..passkeyd_testkit::LeafOptions::new([0; 16])
    });
    let p = reg_params(b"u2f").with_attestation(AttestationKind::FidoU2f(leaf));
    let v = register(&trusting, &mut u2f, &reg_state(b"u2f"), p).expect("u2f");
    assert_eq!(v.fmt, "fido-u2f");
    assert!(matches!(v.trust, AttestationTrust::Trusted { .. }));
}

#[test]
fn a_chain_to_an_unknown_root_fails_step_24_and_required_attestation_refuses_self() {
    use passkeyd_testkit::{LeafOptions, TestPki};
    use passkeyd_webauthn::relying_party::AttestationRequirement;
    use passkeyd_webauthn::trust::{Certificate, TrustAnchors};
    let pki = TestPki::new();
    let mut anchors = TrustAnchors::new();
    anchors.add(Certificate::from_der(&pki.root_der()).expect("root"));
    let mut strict = rp().with_format_anchors("packed", anchors);
    let aaguid = [0x24; 16];
    let untrusted = pki.attestation_cert(&LeafOptions::new(aaguid).untrusted());
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
    let p = reg_params(b"u").with_attestation(AttestationKind::PackedX5c(untrusted));
    assert_eq!(
        step_of(register(&strict, &mut auth, &reg_state(b"u"), p)),
        "7.1.24"
    );
    strict.attestation_requirement = AttestationRequirement::Trusted;
    let mut auth = SoftAuthenticator::new(Alg::Es256);
    assert_eq!(
        step_of(register(
            &strict,
            &mut auth,
            &reg_state(b"s"),
            reg_params(b"s")
        )),
        "7.1.24"
    );
}

#[test]
fn assessing_attestation_records_an_unknown_root_instead_of_failing() {
    use passkeyd_testkit::{LeafOptions, TestPki};
    use passkeyd_webauthn::registration::AttestationTrust;
    use passkeyd_webauthn::relying_party::AttestationRequirement;
    use passkeyd_webauthn::trust::{Certificate, TrustAnchors};
    let pki = TestPki::new();
    let mut anchors = TrustAnchors::new();
    anchors.add(Certificate::from_der(&pki.root_der()).expect("root"));
    let mut assessing = rp().with_format_anchors("packed", anchors);
    assessing.attestation_requirement = AttestationRequirement::Assess;
    let aaguid = [0x25; 16];
    let untrusted = pki.attestation_cert(&LeafOptions::new(aaguid).untrusted());
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
    let p = reg_params(b"a").with_attestation(AttestationKind::PackedX5c(untrusted));
    let v = register(&assessing, &mut auth, &reg_state(b"a"), p).expect("registration");
    assert!(
        matches!(v.trust, AttestationTrust::Untrusted { .. }),
        "{:?}",
        v.trust
    );
    // A chain to the configured root is still trusted, and a bad signature still fails.
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
    let p = reg_params(b"b").with_attestation(AttestationKind::PackedX5c(pki.attestation(aaguid)));
    let v = register(&assessing, &mut auth, &reg_state(b"b"), p).expect("registration");
    assert!(matches!(v.trust, AttestationTrust::Trusted { .. }));
    let mut auth = SoftAuthenticator::new(Alg::Es256).with_aaguid(aaguid);
    let p = reg_params(b"c")
        .with_attestation(AttestationKind::PackedX5c(pki.attestation(aaguid)))
        .with_tamper(passkeyd_testkit::Tamper::FlipSignatureBit);
    assert!(register(&assessing, &mut auth, &reg_state(b"c"), p).is_err());
}
