//! mds::MetadataBlob::verify with the fixed TestPki root as the only anchor, at a fixed time.
//! First byte even: the rest is the BLOB as downloaded (JWS text). First byte odd: the rest is a
//! payload that the harness signs with the fixed MDS signer (x5c: signer, intermediate), so the
//! payload parser behind the signature check is fuzzed as well.
#![no_main]
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::{MDS_SIGNER_NAME, MDS_TIME, fixture, fixtures, mds_anchors, time};
use passkeyd_webauthn::mds::{AuthenticatorStatus, MdsOptions, MetadataBlob};
use std::sync::OnceLock;

struct Signer {
    chain: Vec<Vec<u8>>,
    key: EcdsaKeyPair,
}

fn signer() -> &'static Signer {
    static S: OnceLock<Signer> = OnceLock::new();
    S.get_or_init(|| Signer {
        chain: vec![fixture(fixtures::MDS_SIGNER_CERT), fixture(fixtures::TESTPKI_INTERMEDIATE)],
        key: EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &fixture(fixtures::MDS_SIGNER_KEY),
        )
        .expect("fixture mds-signer.pk8"),
    })
}

fn options() -> &'static MdsOptions {
    static O: OnceLock<MdsOptions> = OnceLock::new();
    O.get_or_init(|| MdsOptions {
        roots: mds_anchors().clone(),
        time: time(MDS_TIME),
        signer_names: vec![MDS_SIGNER_NAME.to_owned()],
        ..MdsOptions::default()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let signed;
    let blob = if mode & 1 == 0 {
        rest
    } else {
        let s = signer();
        signed = passkeyd_testkit::jwt::sign_jwt_es256(&s.chain, rest, &s.key);
        signed.as_bytes()
    };
    let mut opts = options().clone();
    opts.allow_stale = mode & 2 != 0;
    if mode & 4 != 0 {
        opts.previous_no = Some(u64::from(mode >> 3));
    }
    if let Ok(b) = MetadataBlob::verify(blob, &opts) {
        let at = opts.time;
        let _ = (b.no(), b.next_update(), b.next_update_text(), b.is_stale(), b.legal_header(), b.anchor_subject(), b.warnings(), b.len(), b.is_empty());
        let _ = format!("{b:?}");
        for e in b.entries() {
            let _ = (e.description(), e.latest_report(at), e.status(at), e.attestation_roots());
            let _ = e.is_blocked(at, &AuthenticatorStatus::default_blocking());
            if let Some(a) = e.aaguid {
                let _ = (b.entry(&a), b.status(&a, at), b.is_blocked(&a, at));
            }
            if let Some(aaid) = &e.aaid {
                let _ = b.entry_by_aaid(aaid);
            }
            for kid in &e.attestation_certificate_key_identifiers {
                let _ = b.entry_by_key_identifier(kid.as_bytes());
            }
        }
    }
});
