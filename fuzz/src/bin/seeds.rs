//! Seed corpora for the passkeyd fuzz targets.
//!
//! ```text
//! cargo run --release --bin seeds                  # write fuzz/corpus/<target>/
//! cargo run --release --bin seeds -- --fixtures    # regenerate fuzz/fixtures/ (then commit)
//! ```
//!
//! Sources: the real vectors (`$PASSKEYD_VECTORS`, default /work/shared/vectors, skipped when
//! absent), the committed fixtures (a registration set signed by the fixture TestPki) and
//! passkeyd-testkit (SoftAuthenticator for every Alg and attestation kind, TestPki
//! certificates, MDS3 BLOB payloads signed as compact JWS). Registration and assertion seeds are
//! rewritten to the fixed relying party of `passkeyd_fuzz` (challenge, origin, credential id,
//! user handle) so they reach the later verification steps.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use base64::Engine as _;
use passkeyd_fuzz::*;
use passkeyd_testkit::mds::{MdsEntry, blob_payload};
use passkeyd_testkit::{
    Alg, AssertParams, AttestationKind, LeafOptions, RegisterParams, SoftAuthenticator, Tamper,
    TestPki, b64url, b64url_decode, sha256,
};
use passkeyd_webauthn::attestation::SUPPORTED_FORMATS;
use passkeyd_webauthn::cbor;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Seeds per target, deduplicated by content.
#[derive(Default)]
struct Corpus(BTreeMap<&'static str, BTreeMap<[u8; 32], Vec<u8>>>);

impl Corpus {
    fn add(&mut self, target: &'static str, data: impl Into<Vec<u8>>) {
        let data = data.into();
        if data.is_empty() || data.len() > 64 * 1024 {
            return;
        }
        self.0.entry(target).or_default().insert(sha256(&data), data);
    }

    fn write(&self, root: &Path) -> std::io::Result<()> {
        for (target, seeds) in &self.0 {
            let dir = root.join(target);
            std::fs::create_dir_all(&dir)?;
            for (h, data) in seeds {
                let name: String = h[..10].iter().map(|b| format!("{b:02x}")).collect();
                std::fs::write(dir.join(format!("seed-{name}")), data)?;
            }
            println!("{target:20} {} seeds", seeds.len());
        }
        Ok(())
    }
}

const TARGETS: [&str; 11] = [
    "cbor",
    "cose_key",
    "authenticator_data",
    "client_data",
    "x509",
    "jws",
    "mds_blob",
    "attestation",
    "registration",
    "assertion",
    "signals",
];

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--fixtures") {
        write_fixtures();
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--check") {
        let dir = args.get(i + 1).map(PathBuf::from).unwrap_or_else(|| fuzz_dir().join("corpus"));
        check(&dir);
        return;
    }
    let out = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
        .unwrap_or_else(|| fuzz_dir().join("corpus"));
    let mut c = Corpus::default();
    let vectors = std::env::var("PASSKEYD_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/shared/vectors"));
    if vectors.join("registration").is_dir() {
        from_vectors(&mut c, &vectors);
    } else {
        eprintln!("seeds: no vectors at {} (set PASSKEYD_VECTORS); testkit seeds only", vectors.display());
    }
    from_fixture_registrations(&mut c);
    from_testkit(&mut c);
    handwritten(&mut c);
    for t in TARGETS {
        c.0.entry(t).or_default();
    }
    c.write(&out).expect("write corpus");
}

// ---------------------------------------------------------------------------------------------
// Helpers.

fn b64(v: &Value) -> Option<Vec<u8>> {
    let s = v.as_str()?;
    b64url_decode(s.trim_end_matches('='))
}

/// The raw CBOR of `key`'s value in a top-level text-keyed map (e.g. the attestation object).
fn map_member<'a>(map: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let v = cbor::decode(map).ok()?;
    let n = v.as_map()?.len();
    let mut pos = cbor::item_len(map).ok()?; // placeholder to validate
    let _ = pos;
    // Header length: the whole map minus its entries; walk entries from the header end.
    pos = match map[0] & 0x1f {
        x if x < 24 => 1,
        24 => 2,
        25 => 3,
        _ => return None,
    };
    for _ in 0..n {
        let klen = cbor::item_len(&map[pos..]).ok()?;
        let k = cbor::decode(&map[pos..pos + klen]).ok()?;
        pos += klen;
        let vlen = cbor::item_len(&map[pos..]).ok()?;
        if k.as_text() == Some(key) {
            return Some(&map[pos..pos + vlen]);
        }
        pos += vlen;
    }
    None
}

struct AttObj<'a> {
    fmt: String,
    att_stmt: &'a [u8],
    auth_data: Vec<u8>,
}

fn split_attestation_object(ao: &[u8]) -> Option<AttObj<'_>> {
    let v = cbor::decode(ao).ok()?;
    Some(AttObj {
        fmt: v.get_text("fmt")?.as_text()?.to_owned(),
        att_stmt: map_member(ao, "attStmt")?,
        auth_data: v.get_text("authData")?.as_bytes()?.to_vec(),
    })
}

/// The COSE key inside attested credential data.
fn attested_key(auth_data: &[u8]) -> Option<Vec<u8>> {
    let ad = passkeyd_webauthn::authenticator_data::AuthenticatorData::parse(auth_data).ok()?;
    Some(ad.attested_credential_data?.credential_public_key.to_vec())
}

fn time_index(verification_time: Option<&str>) -> usize {
    let Some(t) = verification_time else {
        return 0;
    };
    let t = time(t);
    ATTESTATION_TIMES
        .iter()
        .position(|x| time(x) == t)
        .unwrap_or(0)
}

fn attestation_seed(fmt: &str, time_idx: usize, cdh: &[u8; 32], att_stmt: &[u8], auth_data: &[u8]) -> Option<Vec<u8>> {
    let f = SUPPORTED_FORMATS.iter().position(|x| *x == fmt)?;
    let mut s = vec![attestation_selector(f, time_idx)];
    s.extend_from_slice(cdh);
    s.extend_from_slice(att_stmt);
    s.extend_from_slice(auth_data);
    Some(s)
}

/// Every byte string in a CBOR item, recursively (x5c certificates, JWS responses, ...).
fn byte_strings<'a>(v: &cbor::Value<'a>, out: &mut Vec<&'a [u8]>) {
    match v {
        cbor::Value::Bytes(b) => out.push(b),
        cbor::Value::Array(a) => a.iter().for_each(|i| byte_strings(i, out)),
        cbor::Value::Map(m) => m.iter().for_each(|(k, v)| {
            byte_strings(k, out);
            byte_strings(v, out);
        }),
        cbor::Value::Tag(_, i) => byte_strings(i, out),
        _ => {}
    }
}

/// Rewrites clientDataJSON to the fixed challenge and origin (keeping other members).
fn rewrite_client_data(cdj: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<Value>(cdj) else {
        return cdj.to_vec();
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("challenge".into(), b64url(CHALLENGE).into());
        o.insert("origin".into(), ORIGIN.into());
        if o.contains_key("topOrigin") {
            o.insert("topOrigin".into(), TOP_ORIGIN.into());
        }
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

/// A response with clientDataJSON rewritten to the fixed state.
fn rewrite_response(resp: &Value, assertion: bool) -> Value {
    let mut r = resp.clone();
    if let Some(cdj) = r["response"].get("clientDataJSON").and_then(|v| b64(v)) {
        r["response"]["clientDataJSON"] = b64url(&rewrite_client_data(&cdj)).into();
    }
    if assertion {
        r["id"] = b64url(CREDENTIAL_ID).into();
        r["rawId"] = b64url(CREDENTIAL_ID).into();
        r["response"]["userHandle"] = b64url(USER_HANDLE).into();
    }
    r
}

fn json_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

fn der_from_pem(pem: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(pem);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line.starts_with("-----BEGIN") {
            inside = true;
            cur.clear();
        } else if line.starts_with("-----END") {
            inside = false;
            if let Ok(d) = base64::engine::general_purpose::STANDARD.decode(cur.trim()) {
                out.push(d);
            }
        } else if inside {
            cur.push_str(line.trim());
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Real vectors.

fn from_vectors(c: &mut Corpus, dir: &Path) {
    let mut files: Vec<PathBuf> = Vec::new();
    for sub in ["registration", "authentication"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            files.extend(rd.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "json")));
        }
    }
    files.sort();
    for f in &files {
        let Ok(text) = std::fs::read(f) else { continue };
        let Ok(case) = serde_json::from_slice::<Value>(&text) else { continue };
        let resp = &case["response"];
        let is_auth = f.parent().is_some_and(|p| p.ends_with("authentication"));
        let cdj = resp["response"].get("clientDataJSON").and_then(|v| b64(v));
        if let Some(cdj) = &cdj {
            c.add("client_data", cdj.clone());
            c.add("client_data", rewrite_client_data(cdj));
        }
        c.add("client_data", json_bytes(resp));
        if let Some(k) = case
            .get("credential_public_key_cose_b64url")
            .or_else(|| case["expect"].get("credential_public_key_cose_b64url"))
            .and_then(|v| b64(v))
        {
            c.add("cose_key", k.clone());
            c.add("cbor", k);
        }
        if is_auth {
            if let Some(ad) = resp["response"].get("authenticatorData").and_then(|v| b64(v)) {
                c.add("authenticator_data", ad.clone());
                c.add("cbor", ad);
            }
            c.add("assertion", json_bytes(resp));
            c.add("assertion", json_bytes(&rewrite_response(resp, true)));
            continue;
        }
        c.add("registration", json_bytes(resp));
        c.add("registration", json_bytes(&rewrite_response(resp, false)));
        let Some(ao) = resp["response"].get("attestationObject").and_then(|v| b64(v)) else {
            continue;
        };
        c.add("cbor", ao.clone());
        let Some(obj) = split_attestation_object(&ao) else { continue };
        c.add("cbor", obj.att_stmt.to_vec());
        c.add("authenticator_data", obj.auth_data.clone());
        if let Some(k) = attested_key(&obj.auth_data) {
            c.add("cose_key", k.clone());
            c.add("cbor", k);
        }
        let vt = case.get("verification_time").and_then(Value::as_str);
        let cdh = sha256(cdj.as_deref().unwrap_or_default());
        if let Some(s) = attestation_seed(&obj.fmt, time_index(vt), &cdh, obj.att_stmt, &obj.auth_data) {
            c.add("attestation", s);
        }
        // Certificates and JWS inside the statement.
        if let Ok(stmt) = cbor::decode(obj.att_stmt) {
            let mut bs = Vec::new();
            byte_strings(&stmt, &mut bs);
            let mut chain = Vec::new();
            for b in bs {
                if b.first() == Some(&0x30) && passkeyd_webauthn::trust::Certificate::from_der(b).is_ok() {
                    c.add("x509", b.to_vec());
                    chain.extend_from_slice(b);
                } else if b.split(|&x| x == b'.').count() == 3 && std::str::from_utf8(b).is_ok() {
                    c.add("jws", b.to_vec());
                    c.add("mds_blob", [&[0u8][..], b].concat());
                } else if b.len() > 8 {
                    c.add("cbor", b.to_vec());
                }
            }
            c.add("x509", chain);
        }
    }
    if let Ok(rd) = std::fs::read_dir(dir.join("roots")) {
        for e in rd.flatten() {
            if let Ok(pem) = std::fs::read(e.path()) {
                c.add("x509", pem.clone());
                for d in der_from_pem(&pem) {
                    c.add("x509", d);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Committed fixtures: registrations whose x5c chains to the fixture TestPki root.

fn from_fixture_registrations(c: &mut Corpus) {
    let dir = fixture_path("registration");
    let Ok(rd) = std::fs::read_dir(&dir) else { return };
    for e in rd.flatten() {
        let Ok(bytes) = std::fs::read(e.path()) else { continue };
        c.add("registration", bytes.clone());
        if let Ok(resp) = serde_json::from_slice::<Value>(&bytes) {
            registration_parts(c, &resp);
        }
    }
    // The MDS signer chain and a BLOB signed with it (the mds_blob target verifies against it).
    let leaf = fixture(fixtures::MDS_SIGNER_CERT);
    let inter = fixture(fixtures::TESTPKI_INTERMEDIATE);
    let root = fixture(fixtures::TESTPKI_ROOT);
    c.add("x509", [leaf.clone(), inter.clone()].concat());
    c.add("x509", [leaf.clone(), inter.clone(), root.clone()].concat());
    c.add("x509", root);
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &fixture(fixtures::MDS_SIGNER_KEY))
        .expect("mds signer key");
    let chain = vec![leaf, inter];
    for payload in mds_payloads() {
        let p = serde_json::to_vec(&payload).unwrap_or_default();
        let blob = passkeyd_testkit::jwt::sign_jwt_es256(&chain, &p, &key);
        c.add("jws", blob.clone().into_bytes());
        c.add("mds_blob", [&[0u8][..], blob.as_bytes()].concat());
        c.add("mds_blob", [&[1u8][..], &p].concat());
        c.add("mds_blob", [&[7u8 | (3 << 3)][..], &p].concat());
        c.add("client_data", p);
    }
}

fn mds_payloads() -> Vec<Value> {
    let root = fixture(fixtures::TESTPKI_ROOT);
    let e1 = MdsEntry::new([1; 16], vec![root.clone()]);
    let e2 = MdsEntry::new([2; 16], vec![]).with_status("REVOKED");
    let e3 = MdsEntry::new([3; 16], vec![root.clone()]).with_status("ATTESTATION_KEY_COMPROMISE");
    let mut e4 = MdsEntry::new([4; 16], vec![root]);
    e4.statuses = vec!["FIDO_CERTIFIED_L2".into(), "UPDATE_AVAILABLE".into(), "USER_VERIFICATION_BYPASS".into()];
    e4.effective_date = "2026-01-31".into();
    let mut v = vec![
        blob_payload(5, "2026-07-01", std::slice::from_ref(&e1)),
        blob_payload(6, "2026-06-15", &[e1.clone(), e2.clone(), e3.clone(), e4.clone()]),
        blob_payload(7, "2026-05-01", &[e2.clone()]),
        blob_payload(8, "2099-12-31", &[]),
    ];
    // Hand-made shapes: aaid and key-identifier entries, a report without effectiveDate, odd types.
    v.push(json!({
        "legalHeader": "x", "no": 9, "nextUpdate": "2026-07-01",
        "entries": [
            {"aaid": "4e4e#4005", "statusReports": [{"status": "FIDO_CERTIFIED"}], "timeOfLastStatusChange": "2020-01-01"},
            {"attestationCertificateKeyIdentifiers": ["bf7bcaa0d0c6187a8c6abbdd16a15640e7c7bde2"], "statusReports": [{"status": "NOT_FIDO_CERTIFIED", "effectiveDate": "2019-12-31"}]},
            {"aaguid": "01010101-0101-0101-0101-010101010101", "metadataStatement": {"description": 5}, "statusReports": []},
            {"aaguid": "01010101-0101-0101-0101-010101010101", "statusReports": [{"status": "REVOKED", "effectiveDate": "2030-01-01"}]}
        ]
    }));
    v.push(json!({"no": "1", "nextUpdate": 20260701, "entries": {}}));
    v
}

fn registration_parts(c: &mut Corpus, resp: &Value) {
    let cdj = resp["response"].get("clientDataJSON").and_then(|v| b64(v)).unwrap_or_default();
    c.add("client_data", cdj.clone());
    c.add("client_data", json_bytes(resp));
    let Some(ao) = resp["response"].get("attestationObject").and_then(|v| b64(v)) else { return };
    c.add("cbor", ao.clone());
    let Some(obj) = split_attestation_object(&ao) else { return };
    c.add("cbor", obj.att_stmt.to_vec());
    c.add("authenticator_data", obj.auth_data.clone());
    if let Some(s) = attestation_seed(&obj.fmt, 9, &sha256(&cdj), obj.att_stmt, &obj.auth_data) {
        c.add("attestation", s);
    }
    if let Ok(stmt) = cbor::decode(obj.att_stmt) {
        let mut bs = Vec::new();
        byte_strings(&stmt, &mut bs);
        let chain: Vec<u8> = bs.iter().filter(|b| b.first() == Some(&0x30)).flat_map(|b| b.to_vec()).collect();
        c.add("x509", chain);
    }
}

// ---------------------------------------------------------------------------------------------
// Testkit.

fn from_testkit(c: &mut Corpus) {
    let pki = TestPki::new();
    let att = pki.attestation([7; 16]);
    // Every algorithm: COSE key + signature over the fixed message, registrations (none and
    // packed self), an assertion.
    for alg in Alg::ALL {
        let mut a = SoftAuthenticator::new(alg).with_aaguid([7; 16]);
        let key = a.cose_public_key();
        c.add("cose_key", [key.clone(), a.sign(COSE_MESSAGE)].concat());
        c.add("cbor", key.clone());
        for kind in [AttestationKind::None, AttestationKind::PackedSelf, AttestationKind::PackedX5c(att.clone())] {
            let reg = a.register(&RegisterParams::new(CHALLENGE.to_vec(), RP_ID, ORIGIN).with_attestation(kind));
            add_registration(c, &reg);
        }
        let asn = a.assert(&AssertParams::new(CHALLENGE.to_vec(), RP_ID, ORIGIN));
        c.add("authenticator_data", asn.auth_data.clone());
        c.add("client_data", asn.client_data_json.clone());
        c.add("client_data", json_bytes(&asn.json));
    }
    // Ed25519 / Ed448 with their fully-specified identifiers.
    for (alg, id) in [(Alg::Ed25519, -19), (Alg::Ed448, -53), (Alg::Es256, -9)] {
        let a = SoftAuthenticator::new(alg).with_cose_alg(id);
        c.add("cose_key", [a.cose_public_key(), a.sign(COSE_MESSAGE)].concat());
    }
    // fido-u2f, compound, extensions, flags, tampers.
    let mut es = SoftAuthenticator::new(Alg::Es256).with_aaguid([7; 16]).with_backup(true, true);
    let base = || RegisterParams::new(CHALLENGE.to_vec(), RP_ID, ORIGIN);
    let mut params = vec![
        base().with_attestation(AttestationKind::FidoU2f(att.clone())),
        base().with_attestation(AttestationKind::Compound(vec![
            AttestationKind::PackedSelf,
            AttestationKind::PackedX5c(att.clone()),
        ])),
        base().with_attestation(AttestationKind::Compound(vec![AttestationKind::None, AttestationKind::PackedSelf])),
        base().with_attestation(AttestationKind::PackedX5c(pki.attestation_cert(&LeafOptions::new([7; 16]).rs256()))),
        base().with_attestation(AttestationKind::PackedX5c(pki.attestation_cert(&LeafOptions::new([7; 16]).aaguid_mismatch([9; 16])))),
        base().with_attestation(AttestationKind::PackedX5c(pki.attestation_cert(&LeafOptions::new([7; 16]).wrong_ou()))),
        base().with_attestation(AttestationKind::PackedX5c(pki.attestation_cert(&LeafOptions::new([7; 16]).ca_leaf()))),
        base().with_attestation(AttestationKind::PackedSelf).with_tamper(Tamper::AttestationAlgOverride(-257)),
        base().with_attestation(AttestationKind::PackedSelf).with_tamper(Tamper::FlipSignatureBit),
        base().with_tamper(Tamper::TruncateAuthData(40)),
        base().with_tamper(Tamper::FlagsOverride(0x45 | 0x80)),
        base().with_tamper(Tamper::IdOverride("aaaa".into())),
        base().with_tamper(Tamper::ExtraClientDataMember("tokenBinding".into(), json!({"status": "present", "id": "AAAA"}))),
        base().with_tamper(Tamper::ExtraClientDataMember("tokenBinding".into(), json!("supported"))),
    ];
    let mut ext = base();
    ext.extensions_cbor = Some(credprotect_ext());
    ext.client_extension_results = json!({"credProps": {"rk": true}, "prf": {"enabled": true}, "largeBlob": {"supported": true}});
    params.push(ext);
    let mut cross = base();
    cross.cross_origin = Some(true);
    cross.top_origin = Some(TOP_ORIGIN.into());
    params.push(cross);
    let mut no_up = base();
    no_up.user_present = false;
    no_up.user_verified = false;
    params.push(no_up);
    for p in &params {
        let reg = es.register(p);
        add_registration(c, &reg);
    }
    // Assertions from the fixed credential (its COSE key is the record's).
    let pk8 = fixture(fixtures::CREDENTIAL_KEY);
    let mut cred = SoftAuthenticator::from_pkcs8(Alg::Es256, &pk8)
        .expect("fixture credential key")
        .with_credential_id(CREDENTIAL_ID.to_vec())
        .with_user_handle(USER_HANDLE.to_vec());
    let abase = || AssertParams::new(CHALLENGE.to_vec(), RP_ID, ORIGIN);
    let mut aparams = vec![
        abase(),
        abase().with_tamper(Tamper::FlipSignatureBit),
        abase().with_tamper(Tamper::CounterOverride(0)),
        abase().with_tamper(Tamper::FlagsOverride(0x1d)),
        abase().with_tamper(Tamper::UserHandleOverride(None)),
        abase().with_tamper(Tamper::UserHandleOverride(Some(b"someone-else".to_vec()))),
        abase().with_tamper(Tamper::TruncateAuthData(37)),
        abase().with_tamper(Tamper::RpIdHash(vec![0; 32])),
        abase().with_tamper(Tamper::ExtraClientDataMember("tokenBinding".into(), json!({"status": "not-supported"}))),
    ];
    let mut aext = abase();
    aext.extensions_cbor = Some(credprotect_ext());
    aext.client_extension_results = json!({"appid": true, "prf": {"results": {"first": "AAAA"}}, "largeBlob": {"written": true}});
    aparams.push(aext);
    let mut across = abase();
    across.cross_origin = Some(true);
    across.top_origin = Some(TOP_ORIGIN.into());
    aparams.push(across);
    let mut anouv = abase();
    anouv.user_verified = false;
    aparams.push(anouv);
    for p in &aparams {
        let a = cred.assert(p);
        c.add("assertion", json_bytes(&a.json));
        c.add("authenticator_data", a.auth_data.clone());
    }
    // TestPki certificates for x509.
    c.add("x509", pki.root_der());
    c.add("x509", pki.untrusted_root_der());
    c.add("x509", att.chain().concat());
    c.add("x509", pki.root_pem().into_bytes());
    c.add("x509", [pki.intermediate_pem(), pki.root_pem()].concat().into_bytes());
    for o in [
        LeafOptions::new([7; 16]).expired(),
        LeafOptions::new([7; 16]).untrusted(),
        LeafOptions::new([7; 16]).rs256(),
    ] {
        c.add("x509", pki.attestation_cert(&o).chain().concat());
    }
    // A BLOB signed with a fresh (non-anchored) signer: reaches the chain check only.
    let signer = pki.mds_signer();
    let p = serde_json::to_vec(&blob_payload(1, "2026-07-01", &[MdsEntry::new([1; 16], vec![pki.root_der()])])).unwrap_or_default();
    let blob = signer.sign_jwt(&p);
    c.add("jws", blob.clone().into_bytes());
    c.add("mds_blob", [&[0u8][..], blob.as_bytes()].concat());
    let rs = pki.attestation_cert(&LeafOptions::new([7; 16]).rs256());
    c.add("jws", rs.sign_jwt(b"{\"nonce\":\"x\"}").into_bytes());
}

fn credprotect_ext() -> Vec<u8> {
    let mut e = Vec::new();
    passkeyd_testkit::cbor::map(&mut e, 2);
    passkeyd_testkit::cbor::text(&mut e, "credProtect");
    passkeyd_testkit::cbor::int(&mut e, 2);
    passkeyd_testkit::cbor::text(&mut e, "minPinLength");
    passkeyd_testkit::cbor::int(&mut e, 6);
    e
}

fn add_registration(c: &mut Corpus, reg: &passkeyd_testkit::Registration) {
    c.add("registration", json_bytes(&reg.json));
    c.add("cbor", reg.attestation_object.clone());
    c.add("authenticator_data", reg.auth_data.clone());
    c.add("client_data", reg.client_data_json.clone());
    c.add("cose_key", reg.cose_public_key.clone());
    if let Some(obj) = split_attestation_object(&reg.attestation_object) {
        if let Some(s) = attestation_seed(&obj.fmt, 9, &sha256(&reg.client_data_json), obj.att_stmt, &obj.auth_data) {
            c.add("attestation", s);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Hand-written edge cases.

fn handwritten(c: &mut Corpus) {
    // A signals batch as passkeyd.js sends it: a few keys and one point-and-click.
    let mut mouse: Vec<serde_json::Value> = (0..12)
        .map(|i| serde_json::json!({"t": 1000 + i * 16, "x": 100 + i * 9, "y": 200 + i * 4, "button": 0, "state": 0}))
        .collect();
    mouse.push(serde_json::json!({"t": 1300, "x": 208, "y": 248, "button": 1, "state": 2}));
    mouse.push(serde_json::json!({"t": 1400, "x": 208, "y": 248, "button": 1, "state": 3}));
    let keys: Vec<serde_json::Value> = "the quick brown fox"
        .chars()
        .enumerate()
        .map(|(i, ch)| serde_json::json!({"key": ch.to_string(), "down": i as f64 * 150.0, "up": i as f64 * 150.0 + 80.0}))
        .collect();
    c.add("signals", serde_json::json!({"keystrokes": keys, "mouse": mouse}).to_string());
    c.add("signals", vec![3u8, b'a', 50, 80, 0, b'b', 40, 70, 0, b'c', 60, 90, 0, 16, 0, 10, 0, 20, 0, 0, 0]);
    for s in [
        &b"\xa0"[..],
        b"\x80",
        b"\xf4",
        b"\xf5",
        b"\xf6",
        b"\xf7",
        b"\xf9\x7e\x00",
        b"\xfa\x7f\x80\x00\x00",
        b"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00",
        b"\x1b\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\x3b\xff\xff\xff\xff\xff\xff\xff\xff",
        b"\xc2\x41\x01",
        b"\xd8\x18\x43\xa1\x01\x02",
        b"\x9f\x01\xff",
        b"\x5f\x41\x01\xff",
        b"\xa2\x01\x02\x01\x03",
        b"\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x81\x00",
        b"\x63\xe2\x82\xac",
        b"\x62\xc3\x28",
        b"\x5b\x00\x00\x00\x01\x00\x00\x00\x00",
        b"\xa3\x63fmt\x64none\x67attStmt\xa0\x68authData\x40",
    ] {
        c.add("cbor", s.to_vec());
    }
    for s in [
        &br#"{"type":"webauthn.create","challenge":"","origin":"https://example.org"}"#[..],
        br#"{"type":"webauthn.get","challenge":"a","origin":"x","crossOrigin":true,"topOrigin":"https://example.com","tokenBinding":{"status":"present"}}"#,
        b"\xef\xbb\xbf{\"type\":\"webauthn.get\",\"challenge\":\"\\u0041\",\"origin\":\"\\ud83d\\ude00\"}",
        br#"{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","attestationObject":"","transports":null},"clientExtensionResults":{"credProps":{"rk":false}}}"#,
        br#"{"id":"","rawId":"","type":"public-key","response":{"clientDataJSON":"","authenticatorData":"","signature":"","userHandle":null}}"#,
    ] {
        c.add("client_data", s.to_vec());
    }
    c.add("jws", b"e30.e30.AA".to_vec());
    c.add("jws", format!("{}.{}.{}", b64url(br#"{"alg":"ES256","x5c":["AA=="]}"#), b64url(b"{}"), b64url(&[0; 64])).into_bytes());
    c.add("mds_blob", b"\x01{\"no\":1,\"nextUpdate\":\"2026-07-01\",\"entries\":[]}".to_vec());
    c.add("mds_blob", b"\x03{\"no\":18446744073709551615,\"nextUpdate\":\"9999-12-31\",\"entries\":[{}]}".to_vec());
    let mut ad = vec![0u8; 37];
    ad[32] = 0x41;
    c.add("authenticator_data", ad.clone());
    ad[32] = 0xc5;
    ad.extend_from_slice(&[0; 16]);
    ad.extend_from_slice(&[0, 1, 0xaa]);
    ad.extend_from_slice(b"\xa1\x01\x02\xa0");
    c.add("authenticator_data", ad);
    c.add("x509", b"\x30\x03\x02\x01\x00".to_vec());
    for (i, fmt) in SUPPORTED_FORMATS.iter().enumerate() {
        let mut s = vec![attestation_selector(i, 0)];
        s.extend_from_slice(&[0; 32]);
        s.extend_from_slice(b"\xa0");
        let mut ad = vec![0u8; 37];
        ad[32] = 0x41;
        ad.extend_from_slice(&[0; 16]);
        ad.extend_from_slice(&[0, 0]);
        ad.extend_from_slice(&fixture(fixtures::CREDENTIAL_COSE));
        s.extend_from_slice(&ad);
        c.add("attestation", s);
        let _ = fmt;
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures (run once, commit the files).

fn write_fixtures() {
    let dir = fuzz_dir().join("fixtures");
    std::fs::create_dir_all(dir.join("registration")).expect("mkdir");
    let w = |name: &str, data: &[u8]| std::fs::write(dir.join(name), data).expect("write fixture");
    let pki = TestPki::new();
    w(fixtures::TESTPKI_ROOT, &pki.root_der());
    w(fixtures::TESTPKI_INTERMEDIATE, &pki.intermediate_der());
    let signer = pki.mds_signer();
    w(fixtures::MDS_SIGNER_CERT, signer.leaf_der());
    let k = signer.ecdsa_key().expect("ES256 signer");
    w(fixtures::MDS_SIGNER_KEY, k.to_pkcs8v1().expect("pkcs8").as_ref());
    let cred = SoftAuthenticator::new(Alg::Es256);
    w(fixtures::CREDENTIAL_KEY, &cred.private_key_pkcs8());
    w(fixtures::CREDENTIAL_COSE, &cred.cose_public_key());
    // Registrations whose x5c chains to the fixture root (trusted at step 24).
    let att = pki.attestation([7; 16]);
    let base = || RegisterParams::new(CHALLENGE.to_vec(), RP_ID, ORIGIN);
    let kinds = [
        ("packed-x5c", Alg::Es256, base().with_attestation(AttestationKind::PackedX5c(att.clone()))),
        ("packed-x5c-rs256", Alg::Rs256, base().with_attestation(AttestationKind::PackedX5c(pki.attestation_cert(&LeafOptions::new([7; 16]).rs256())))),
        ("fido-u2f", Alg::Es256, base().with_attestation(AttestationKind::FidoU2f(att.clone()))),
        ("compound", Alg::Es384, base().with_attestation(AttestationKind::Compound(vec![AttestationKind::PackedX5c(att.clone()), AttestationKind::PackedSelf]))),
        ("packed-x5c-ed25519", Alg::Ed25519, base().with_attestation(AttestationKind::PackedX5c(att.clone()))),
    ];
    for (name, alg, p) in kinds {
        let mut a = SoftAuthenticator::new(alg).with_aaguid([7; 16]);
        let reg = a.register(&p);
        w(&format!("registration/{name}.json"), &json_bytes(&reg.json));
    }
    println!("fixtures written to {}", dir.display());
}

// ---------------------------------------------------------------------------------------------
// `--check [corpus dir]`: how far the corpus of the deep targets gets (outcome per seed, counted).

fn check(dir: &Path) {
    use passkeyd_webauthn::attestation::{self, AttestationInput};
    use passkeyd_webauthn::authenticator_data::AuthenticatorData;
    use passkeyd_webauthn::cose::CosePublicKey;
    let read = |t: &str| -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = std::fs::read_dir(dir.join(t))
            .map(|rd| rd.flatten().filter_map(|e| std::fs::read(e.path()).ok()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    let report = |t: &str, m: BTreeMap<String, usize>| {
        println!("{t}:");
        for (k, n) in m {
            println!("  {n:5}  {k}");
        }
    };
    let mut m = BTreeMap::new();
    for d in read("registration") {
        let Ok(j) = std::str::from_utf8(&d) else { continue };
        let k = match passkeyd_webauthn::registration::verify_registration_json(
            relying_party(), registration_state(), j, &|id: &[u8]| id == REGISTERED_ID) {
            Ok(r) => format!("ok {} {:?}", r.fmt, r.trust),
            Err(e) => format!("step {}", e.step()),
        };
        *m.entry(k).or_default() += 1;
    }
    report("registration", m);
    let mut m = BTreeMap::new();
    let rec = credential_record();
    for d in read("assertion") {
        let Ok(j) = std::str::from_utf8(&d) else { continue };
        let k = match passkeyd_webauthn::authentication::verify_assertion_json(
            relying_party(), authentication_state(), j, &rec) {
            Ok(_) => "ok".to_owned(),
            Err(e) => format!("step {}", e.step()),
        };
        *m.entry(k).or_default() += 1;
    }
    report("assertion", m);
    let mut m = BTreeMap::new();
    for d in read("attestation") {
        if d.len() < 33 { continue; }
        let fmt = SUPPORTED_FORMATS[usize::from(d[0] & 7)];
        let at = time(ATTESTATION_TIMES[usize::from((d[0] >> 3) & 15)]);
        let cdh: [u8; 32] = d[1..33].try_into().unwrap_or([0; 32]);
        let rest = &d[33..];
        let k: Result<String, String> = (|| {
            let n = cbor::item_len(rest).map_err(|e| format!("attStmt {e}"))?;
            let stmt = cbor::decode(&rest[..n]).map_err(|e| format!("attStmt {e}"))?;
            let ad = AuthenticatorData::parse(&rest[n..]).map_err(|e| format!("authData {e}"))?;
            let key = ad.attested_credential_data.as_ref()
                .and_then(|a| CosePublicKey::from_cbor(a.credential_public_key, &PERMISSIVE_KEYS).ok());
            let input = AttestationInput { att_stmt: &stmt, auth_data: &ad, client_data_hash: &cdh,
                credential_public_key: key.as_ref().unwrap_or_else(|| credential_key()) };
            match attestation::verify_statement(fmt, &input, &attestation_options(at)) {
                Some(Ok(o)) => Ok(format!("ok {:?}", o.attestation_type)),
                Some(Err(e)) => Err(format!("{e}").chars().take(60).collect::<String>()),
                None => Err("unsupported".into()),
            }
        })();
        let k = match k { Ok(s) => format!("{fmt}: {s}"), Err(e) => format!("{fmt}: err {e}") };
        *m.entry(k).or_default() += 1;
    }
    report("attestation", m);
    let mut m = BTreeMap::new();
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &fixture(fixtures::MDS_SIGNER_KEY)).expect("key");
    let chain = vec![fixture(fixtures::MDS_SIGNER_CERT), fixture(fixtures::TESTPKI_INTERMEDIATE)];
    for d in read("mds_blob") {
        let Some((&mode, rest)) = d.split_first() else { continue };
        let blob = if mode & 1 == 0 { rest.to_vec() } else {
            passkeyd_testkit::jwt::sign_jwt_es256(&chain, rest, &key).into_bytes() };
        let opts = passkeyd_webauthn::mds::MdsOptions {
            roots: mds_anchors().clone(), time: time(MDS_TIME),
            signer_names: vec![MDS_SIGNER_NAME.to_owned()], allow_stale: mode & 2 != 0,
            previous_no: (mode & 4 != 0).then_some(u64::from(mode >> 3)),
            ..Default::default() };
        let k = match passkeyd_webauthn::mds::MetadataBlob::verify(&blob, &opts) {
            Ok(b) => format!("ok ({} entries)", b.len().min(3)),
            Err(e) => format!("{}", e.code()),
        };
        *m.entry(k).or_default() += 1;
    }
    report("mds_blob", m);
}
