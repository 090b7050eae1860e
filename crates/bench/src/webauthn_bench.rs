//! `webauthn-bench CORPUS.jsonl`: the verification benchmark.
//!
//! Reads the corpus that `../shared/bench/gen.py` writes (one credential per line, with a
//! `none` registration, a `packed` self-attested registration and an assertion) and prints one
//! JSON line per (op, alg) in the format of `../shared/bench/README.md`:
//!
//! - `auth`, `reg-packed`, `reg-none`: passkeyd's full verification, `wire` mode (the response
//!   JSON text in, the verified outcome out; JSON parsing is timed). Per-ceremony setup (the
//!   relying party, the expected challenge, the stored key decoded once) is outside the timer.
//! - `floor-auth`, `floor-reg-packed`: SHA-256 of clientDataJSON plus one signature check over
//!   authenticatorData || hash with the same crypto library (AWS-LC), keys prepared beforehand.
//!
//! Protocol: a warm-up pass that also checks every case verifies, then 3 timed passes timing
//! each call on its own; `median_us` is over all samples, `ops_per_s` = samples / total time.
//!
//! ```text
//! python3 ../shared/bench/gen.py -o /tmp/corpus.jsonl
//! cargo run --release --bin webauthn-bench -- /tmp/corpus.jsonl
//! ```

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::signature::{self as sig, ParsedPublicKey, VerificationAlgorithm};
use passkeyd_webauthn::authentication::{CredentialRecord, verify_assertion_json};
use passkeyd_webauthn::b64;
use passkeyd_webauthn::cose::{CosePublicKey, KeyPolicy};
use passkeyd_webauthn::extensions::RequestedExtensions;
use passkeyd_webauthn::json::UserVerificationRequirement;
use passkeyd_webauthn::options::{AuthenticationState, RegistrationState};
use passkeyd_webauthn::registration::verify_registration_json;
use passkeyd_webauthn::relying_party::RelyingParty;
use serde_json::Value;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

const PASSES: usize = 3;
const LIB: &str = concat!("passkeyd ", env!("CARGO_PKG_VERSION"));

struct Credential {
    alg: String,
    cred_id: Vec<u8>,
    user_id: Vec<u8>,
    key: CosePublicKey,
    floor_key: ParsedPublicKey,
    reg_none: (RegistrationState, String),
    reg_packed: (RegistrationState, String),
    floor_packed: (Vec<u8>, Vec<u8>, Vec<u8>),
    auth: (AuthenticationState, String, u32),
    floor_auth: (Vec<u8>, Vec<u8>, Vec<u8>),
}

fn field<'a>(v: &'a Value, path: &str) -> Result<&'a Value, String> {
    v.pointer(path)
        .ok_or_else(|| format!("corpus line lacks {path}"))
}

fn bytes(v: &Value, path: &str) -> Result<Vec<u8>, String> {
    let s = field(v, path)?
        .as_str()
        .ok_or_else(|| format!("{path} is not a string"))?;
    b64::decode(s).map_err(|e| format!("{path}: {e}"))
}

fn reg_state(challenge: Vec<u8>) -> RegistrationState {
    RegistrationState {
        challenge,
        user_handle: Vec::new(),
        user_verification: UserVerificationRequirement::Preferred,
        algorithms: vec![-8, -7, -257],
        conditional: false,
        extensions: RequestedExtensions::default(),
    }
}

fn floor_algorithm(alg: &str) -> Result<&'static dyn VerificationAlgorithm, String> {
    Ok(match alg {
        "ES256" => &sig::ECDSA_P256_SHA256_ASN1,
        "EdDSA" => &sig::ED25519,
        "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
        other => return Err(format!("unknown alg {other}")),
    })
}

fn load(line: &str) -> Result<Credential, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let alg = field(&v, "/alg")?.as_str().ok_or("alg")?.to_string();
    let key = CosePublicKey::from_cbor(&bytes(&v, "/cose_public_key")?, &KeyPolicy::default())
        .map_err(|e| e.to_string())?;
    let floor_key = ParsedPublicKey::new(floor_algorithm(&alg)?, bytes(&v, "/raw_public_key")?)
        .map_err(|e| format!("raw_public_key: {e}"))?;
    let text = |p: &str| -> Result<String, String> { Ok(field(&v, p)?.to_string()) };
    let auth_resp = field(&v, "/auth/response")?;
    let resp_bytes = |p: &str| -> Result<Vec<u8>, String> {
        b64::decode(
            auth_resp
                .pointer(p)
                .and_then(Value::as_str)
                .ok_or(p.to_string())?,
        )
        .map_err(|e| e.to_string())
    };
    Ok(Credential {
        cred_id: bytes(&v, "/cred_id")?,
        user_id: bytes(&v, "/user_id")?,
        reg_none: (
            reg_state(bytes(&v, "/reg_none/challenge")?),
            text("/reg_none/response")?,
        ),
        reg_packed: (
            reg_state(bytes(&v, "/reg_packed/challenge")?),
            text("/reg_packed/response")?,
        ),
        floor_packed: (
            bytes(&v, "/reg_packed/floor/auth_data")?,
            bytes(&v, "/reg_packed/floor/client_data_json")?,
            bytes(&v, "/reg_packed/floor/sig")?,
        ),
        auth: (
            AuthenticationState {
                challenge: bytes(&v, "/auth/challenge")?,
                user_verification: UserVerificationRequirement::Preferred,
                allow_credentials: Vec::new(),
                identified_user: None,
                extensions: RequestedExtensions::default(),
            },
            auth_resp.to_string(),
            field(&v, "/auth/stored_sign_count")?.as_u64().unwrap_or(0) as u32,
        ),
        floor_auth: (
            resp_bytes("/response/authenticatorData")?,
            resp_bytes("/response/clientDataJSON")?,
            resp_bytes("/response/signature")?,
        ),
        alg,
        key,
        floor_key,
    })
}

/// SHA-256(clientDataJSON) and one signature check over authData || hash.
fn floor(key: &ParsedPublicKey, auth_data: &[u8], client_data: &[u8], signature: &[u8]) -> bool {
    let hash = digest(&SHA256, client_data);
    let mut msg = Vec::with_capacity(auth_data.len() + 32);
    msg.extend_from_slice(auth_data);
    msg.extend_from_slice(hash.as_ref());
    key.verify_sig(&msg, signature).is_ok()
}

type Op = fn(&RelyingParty, &Credential) -> Result<(), String>;

fn op_auth(rp: &RelyingParty, c: &Credential) -> Result<(), String> {
    let record = CredentialRecord {
        credential_id: &c.cred_id,
        user_handle: &c.user_id,
        public_key: &c.key,
        sign_count: c.auth.2,
        backup_eligible: false,
        backup_state: false,
        uv_initialized: false,
    };
    // The corpus assertions carry the user handle; the flow is discoverable.
    verify_assertion_json(rp, &c.auth.0, &c.auth.1, &record)
        .map(|v| {
            black_box(v);
        })
        .map_err(|e| e.to_string())
}

fn op_reg_packed(rp: &RelyingParty, c: &Credential) -> Result<(), String> {
    verify_registration_json(rp, &c.reg_packed.0, &c.reg_packed.1, &|_| false)
        .map(|v| {
            black_box(v);
        })
        .map_err(|e| e.to_string())
}

fn op_reg_none(rp: &RelyingParty, c: &Credential) -> Result<(), String> {
    verify_registration_json(rp, &c.reg_none.0, &c.reg_none.1, &|_| false)
        .map(|v| {
            black_box(v);
        })
        .map_err(|e| e.to_string())
}

fn op_floor_auth(_: &RelyingParty, c: &Credential) -> Result<(), String> {
    let (a, d, s) = &c.floor_auth;
    floor(&c.floor_key, a, d, s)
        .then_some(())
        .ok_or_else(|| "floor signature did not verify".into())
}

fn op_floor_packed(_: &RelyingParty, c: &Credential) -> Result<(), String> {
    let (a, d, s) = &c.floor_packed;
    floor(&c.floor_key, a, d, s)
        .then_some(())
        .ok_or_else(|| "floor signature did not verify".into())
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: webauthn-bench CORPUS.jsonl");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("webauthn-bench: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut by_alg: BTreeMap<String, Vec<Credential>> = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match load(line) {
            Ok(c) => by_alg.entry(c.alg.clone()).or_default().push(c),
            Err(e) => {
                eprintln!("webauthn-bench: line {}: {e}", i + 1);
                return ExitCode::from(2);
            }
        }
    }
    let rp = RelyingParty::new("example.org", ["https://example.org"]);
    let ops: [(&str, Op); 5] = [
        ("auth", op_auth),
        ("floor-auth", op_floor_auth),
        ("reg-packed", op_reg_packed),
        ("floor-reg-packed", op_floor_packed),
        ("reg-none", op_reg_none),
    ];
    for (alg, creds) in &by_alg {
        for (op, f) in ops {
            // Warm-up pass, which also checks that every case verifies.
            if let Some(err) = creds.iter().find_map(|c| f(&rp, c).err()) {
                println!(
                    "{}",
                    serde_json::json!({"lib": LIB, "lang": "rust", "op": op, "alg": alg, "mode": "wire", "status": format!("FAILED: {err}")})
                );
                continue;
            }
            let mut samples = Vec::with_capacity(creds.len() * PASSES);
            let start = Instant::now();
            for _ in 0..PASSES {
                for c in creds {
                    let t = Instant::now();
                    let r = f(&rp, c);
                    samples.push(t.elapsed().as_nanos() as f64 / 1000.0);
                    black_box(r).ok();
                }
            }
            let total = start.elapsed().as_secs_f64();
            samples.sort_by(f64::total_cmp);
            let median = samples[samples.len() / 2];
            println!(
                "{}",
                serde_json::json!({
                    "lib": LIB, "lang": "rust", "op": op, "alg": alg, "mode": "wire",
                    "n": samples.len(),
                    "median_us": (median * 100.0).round() / 100.0,
                    "ops_per_s": ((samples.len() as f64 / total) * 10.0).round() / 10.0,
                })
            );
        }
    }
    ExitCode::SUCCESS
}
