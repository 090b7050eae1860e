//! Fixed configuration shared by the passkeyd fuzz targets and the seed generator.
//!
//! Every target verifies arbitrary input against *fixed* relying-party state (RP IDs, origins,
//! challenge, trust anchors, verification times, stored credential). The seed generator
//! (`src/bin/seeds.rs`) rewrites real vectors and testkit output to match this state, so the
//! seeds travel deep into the verification procedures instead of failing at the first check.
//!
//! Binary fixtures live in `fuzz/fixtures/` (committed; regenerate with
//! `cargo run --release --bin seeds -- --fixtures`). They are read at run time from the crate
//! directory, so targets must run from a checkout (as `cargo fuzz run` does).

use passkeyd_webauthn::attestation::{AttestationOptions, SafetyNetPolicy};
use passkeyd_webauthn::authentication::CredentialRecord;
use passkeyd_webauthn::cose::{CoseAlgorithm, CosePublicKey, KeyPolicy};
use passkeyd_webauthn::json::UserVerificationRequirement;
use passkeyd_webauthn::options::{AuthenticationState, RegistrationState};
use passkeyd_webauthn::relying_party::{CounterPolicy, RelyingParty};
use passkeyd_webauthn::trust::{Certificate, ChainPolicy, TrustAnchors, UnixTime};
use std::path::PathBuf;
use std::sync::OnceLock;

/// The primary RP ID of the fixed relying party.
pub const RP_ID: &str = "example.org";

/// Every RP ID the fixed relying party accepts (the primary one first): those of the real
/// vectors in /work/shared/vectors plus the testkit's, so their rpIdHash checks pass.
pub const RP_IDS: [&str; 13] = [
    "example.org",
    "example.com",
    "localhost",
    "dev.dontneeda.pw",
    "dev2.dontneeda.pw",
    "simplewebauthn.dev",
    "duo.test",
    "pwl.ngrok.io",
    "webauthntest.azurewebsites.net",
    "webauthn.io",
    "authress.io",
    "portal.fxon.com",
    "netpassport.io",
];

/// The only origin the seeds use (seed generation rewrites clientDataJSON to it); a few other
/// origins are accepted too so origin checks have more than one branch.
pub const ORIGIN: &str = "https://example.org";

/// Origins the fixed relying party accepts.
pub const ORIGINS: [&str; 4] = [
    "https://example.org",
    "https://example.com",
    "http://localhost:5000",
    "android:apk-key-hash:gx7sq_pxhxhrIQdLyfG0pxKwiJ7hOk2DJQ4xvKd438Q",
];

/// Top-level origin accepted for cross-origin ceremonies.
pub const TOP_ORIGIN: &str = "https://example.com";

/// The challenge of the fixed registration and authentication state.
pub const CHALLENGE: &[u8] = b"passkeyd fuzz challenge 0123456789";

/// The user handle of the fixed state and record.
pub const USER_HANDLE: &[u8] = b"passkeyd-fuzz-user";

/// The credential id of the fixed assertion record.
pub const CREDENTIAL_ID: &[u8] = b"passkeyd-fuzz-credential-id-0001";

/// A credential id the fixed registration callback reports as already registered (step 26).
pub const REGISTERED_ID: &[u8] = b"already-registered";

/// The fixed message `cose_key` verifies signatures over.
pub const COSE_MESSAGE: &[u8] = b"passkeyd fuzz: signed message";

/// Verification times the `attestation` target chooses from (bits 3..=6 of its first byte):
/// the dates the real vectors' certificates are valid at.
pub const ATTESTATION_TIMES: [&str; 16] = [
    "2025-01-30T23:59:59Z",
    "2021-09-01T00:00:00Z",
    "2025-01-08T00:00:00Z",
    "2025-06-09T20:40:42Z",
    "2025-07-15T10:00:00Z",
    "2020-09-13T02:49:17Z",
    "2023-06-30T12:00:00Z",
    "2025-03-20T00:00:42Z",
    "2025-01-26T19:00:00Z",
    "2026-06-01T00:00:00Z",
    "2019-01-01T00:00:00Z",
    "2030-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2099-12-31T23:59:59Z",
    "2024-06-01T00:00:00Z",
    "2022-01-01T00:00:00Z",
];

/// The fixed verification time of `registration`, `assertion` and `x509`.
pub const FIXED_TIME: &str = "2025-01-30T23:59:59Z";

/// The fixed verification time of `mds_blob` (the test PKI is valid 2020..2099).
pub const MDS_TIME: &str = "2026-06-01T00:00:00Z";

/// The subject CN of the fixture MDS signer (TestPki::mds_signer), the one signer name the
/// `mds_blob` target allows (MdsOptions::signer_names).
pub const MDS_SIGNER_NAME: &str = "passkeyd Test MDS Signer";

/// Parses an RFC 3339 time of the tables above.
pub fn time(text: &str) -> UnixTime {
    UnixTime::parse_rfc3339(text).unwrap_or(UnixTime(0))
}

/// `fuzz/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Reads a fixture; panics with a hint when missing (a setup error, not a finding).
pub fn fixture(name: &str) -> Vec<u8> {
    let p = fixture_path(name);
    std::fs::read(&p).unwrap_or_else(|e| {
        panic!(
            "fixture {} missing ({e}); run `cargo run --release --bin seeds -- --fixtures` in fuzz/",
            p.display()
        )
    })
}

/// Names of the fixture files the seed generator writes with `--fixtures`.
pub mod fixtures {
    /// The TestPki root certificate (DER): anchor for MDS BLOBs and testkit attestation.
    pub const TESTPKI_ROOT: &str = "testpki-root.der";
    /// The TestPki intermediate certificate (DER).
    pub const TESTPKI_INTERMEDIATE: &str = "testpki-intermediate.der";
    /// The MDS BLOB signer leaf certificate (DER), issued by the intermediate.
    pub const MDS_SIGNER_CERT: &str = "mds-signer.der";
    /// The MDS BLOB signer private key (PKCS#8, P-256).
    pub const MDS_SIGNER_KEY: &str = "mds-signer.pk8";
    /// The assertion credential private key (PKCS#8, P-256) for the seed generator.
    pub const CREDENTIAL_KEY: &str = "credential-es256.pk8";
    /// The assertion credential public key (COSE_Key) for the fixed record.
    pub const CREDENTIAL_COSE: &str = "credential-es256.cose";
}

/// The key policy of the fixed relying party: RS1 allowed, RSA down to 1024 bits, so every
/// key type (legacy TPM keys included) is reachable.
pub const PERMISSIVE_KEYS: KeyPolicy = KeyPolicy {
    allow_rs1: true,
    min_rsa_bits: 1024,
};

fn pem_anchors(names: &[&str]) -> TrustAnchors {
    let mut a = TrustAnchors::new();
    for n in names {
        if let Ok(t) = TrustAnchors::from_pem(&fixture(&format!("roots/{n}"))) {
            a.extend(&t);
        }
    }
    a
}

fn testpki_anchors() -> TrustAnchors {
    let mut a = TrustAnchors::new();
    if let Ok(c) = Certificate::from_der(&fixture(fixtures::TESTPKI_ROOT)) {
        a.add(c);
    }
    a
}

const W3C: &str = "w3c-webauthn-test-vectors-attestation-ca.pem";
const ALL_PEM_ROOTS: [&str; 8] = [
    "apple-webauthn-root-ca.pem",
    "globalsign-r2.pem",
    "globalsign-root-ca.pem",
    "google-hardware-attestation-root-1.pem",
    "google-hardware-attestation-root-2.pem",
    "google-hardware-attestation-root-3.pem",
    "google-hardware-attestation-root-4.pem",
    W3C,
];

/// Every trust anchor the targets know: the vector roots, the TestPki root and the MDS roots.
pub fn all_anchors() -> &'static TrustAnchors {
    static A: OnceLock<TrustAnchors> = OnceLock::new();
    A.get_or_init(|| {
        let mut a = pem_anchors(&ALL_PEM_ROOTS);
        a.extend(&testpki_anchors());
        a.extend(&passkeyd_webauthn::mds::default_roots());
        a
    })
}

/// The TestPki root alone (the MDS BLOB anchor).
pub fn mds_anchors() -> &'static TrustAnchors {
    static A: OnceLock<TrustAnchors> = OnceLock::new();
    A.get_or_init(testpki_anchors)
}

/// Attestation options of the `attestation` target at `at`.
pub fn attestation_options(at: UnixTime) -> AttestationOptions {
    AttestationOptions {
        time: at,
        key_policy: PERMISSIVE_KEYS,
        chain_policy: ChainPolicy { allow_sha1: true },
        safetynet: SafetyNetPolicy {
            check_freshness: false,
            max_age_ms: 60_000,
            require_cts_profile_match: true,
        },
        android_key_require_hardware: false,
    }
}

/// The fixed relying party of `registration` and `assertion`.
pub fn relying_party() -> &'static RelyingParty {
    static RP: OnceLock<RelyingParty> = OnceLock::new();
    RP.get_or_init(|| {
        let mut rp = RelyingParty::new(RP_ID, ORIGINS);
        for id in &RP_IDS[1..] {
            rp = rp.with_additional_rp_id(id);
        }
        let w3c_and_test = {
            let mut a = pem_anchors(&[W3C]);
            a.extend(&testpki_anchors());
            a
        };
        rp = rp
            .with_format_anchors("packed", w3c_and_test.clone())
            .with_format_anchors("fido-u2f", w3c_and_test.clone())
            .with_format_anchors("tpm", w3c_and_test.clone())
            .with_format_anchors("compound", w3c_and_test.clone())
            .with_format_anchors(
                "android-key",
                pem_anchors(&[
                    W3C,
                    "google-hardware-attestation-root-1.pem",
                    "google-hardware-attestation-root-2.pem",
                    "google-hardware-attestation-root-3.pem",
                    "google-hardware-attestation-root-4.pem",
                ]),
            )
            .with_format_anchors("apple", pem_anchors(&[W3C, "apple-webauthn-root-ca.pem"]))
            .with_format_anchors(
                "android-safetynet",
                pem_anchors(&["globalsign-r2.pem", "globalsign-root-ca.pem"]),
            );
        rp.cross_origin.allow_cross_origin = true;
        rp.cross_origin.top_origins = vec![TOP_ORIGIN.to_owned()];
        rp.key_policy = PERMISSIVE_KEYS;
        rp.attestation = attestation_options(time(FIXED_TIME));
        rp.counter_policy = CounterPolicy::Strict;
        rp.verification_time = Some(time(FIXED_TIME));
        rp
    })
}

/// The fixed registration state.
pub fn registration_state() -> &'static RegistrationState {
    static S: OnceLock<RegistrationState> = OnceLock::new();
    S.get_or_init(|| RegistrationState {
        challenge: CHALLENGE.to_vec(),
        user_handle: USER_HANDLE.to_vec(),
        user_verification: UserVerificationRequirement::Preferred,
        algorithms: CoseAlgorithm::ALL.iter().map(|a| a.id()).collect(),
        conditional: false,
        extensions: Default::default(),
    })
}

/// The fixed authentication state (a discoverable ceremony).
pub fn authentication_state() -> &'static AuthenticationState {
    static S: OnceLock<AuthenticationState> = OnceLock::new();
    S.get_or_init(|| AuthenticationState {
        challenge: CHALLENGE.to_vec(),
        user_verification: UserVerificationRequirement::Preferred,
        allow_credentials: Vec::new(),
        identified_user: None,
        extensions: Default::default(),
    })
}

/// The public key of the fixed credential record (ES256, from the committed fixture).
pub fn credential_key() -> &'static CosePublicKey {
    static K: OnceLock<CosePublicKey> = OnceLock::new();
    K.get_or_init(|| {
        CosePublicKey::from_cbor(&fixture(fixtures::CREDENTIAL_COSE), &KeyPolicy::default())
            .expect("fixture credential-es256.cose is a valid COSE key")
    })
}

/// The fixed credential record of `assertion`.
pub fn credential_record() -> CredentialRecord<'static> {
    CredentialRecord {
        credential_id: CREDENTIAL_ID,
        user_handle: USER_HANDLE,
        public_key: credential_key(),
        sign_count: 0,
        backup_eligible: false,
        backup_state: false,
        uv_initialized: false,
    }
}

/// The layout of an `attestation` input: `[selector][clientDataHash: 32][attStmt CBOR][authData]`.
/// The selector's bits 0..=2 pick the format of `SUPPORTED_FORMATS`, bits 3..=6 the time of
/// [`ATTESTATION_TIMES`].
pub fn attestation_selector(format_index: usize, time_index: usize) -> u8 {
    ((format_index & 7) | ((time_index & 15) << 3)) as u8
}

/// Splits concatenated DER TLVs (certificates) as the `x5c`-like input of the `x509` target.
/// Returns the items and stops at the first malformed header (the rest is one last item).
pub fn split_der(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !data.is_empty() && out.len() < 8 {
        let len = der_item_len(data).unwrap_or(data.len()).min(data.len());
        out.push(&data[..len]);
        data = &data[len..];
    }
    out
}

fn der_item_len(d: &[u8]) -> Option<usize> {
    let first = *d.get(1)?;
    if first < 0x80 {
        return Some(2 + usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for i in 0..n {
        len = (len << 8) | usize::from(*d.get(2 + i)?);
    }
    Some(2 + n + len)
}
