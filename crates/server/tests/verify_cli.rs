//! `passkeyd verify CASE.json` on real vectors: one JSON verdict, exit 0 either way, 2 for an
//! unreadable file.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn vector(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/vectors")
        .join(rel)
}

fn verify(path: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_passkeyd"))
        .arg("verify")
        .arg(path)
        .output()
        .expect("run passkeyd");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn a_positive_registration_prints_its_details() {
    let (code, out) = verify(&vector("registration/w3c-packed-es256.json"));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["ok"], true);
    assert_eq!(v["fmt"], "packed");
    assert_eq!(v["alg"], -7);
    assert_eq!(v["attestation_type"], "basic");
    assert!(v["aaguid"].as_str().is_some_and(|a| a.len() == 36));
    for k in [
        "user_verified",
        "backup_eligible",
        "backup_state",
        "sign_count",
    ] {
        assert!(v.get(k).is_some(), "{k} missing");
    }
}

#[test]
fn trust_roots_are_found_beside_the_case_folder() {
    let (code, out) = verify(&vector(
        "registration/pyw-neg-packed-yubikey-wrong-trust-root.json",
    ));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["ok"], false);
    assert_eq!(v["step"], "7.1.24");
}

#[test]
fn a_negative_assertion_names_the_failed_step() {
    let (code, out) = verify(&vector("authentication/swa-neg-counter-not-increased.json"));
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON object");
    assert_eq!(v["ok"], false);
    assert_eq!(v["step"], "7.2.22");
    assert!(v["error"].as_str().is_some_and(|e| e.contains("cloned")));
}

#[test]
fn unreadable_or_invalid_files_exit_2() {
    let (code, out) = verify(Path::new("/nonexistent/case.json"));
    assert_eq!(code, 2);
    assert!(out.is_empty());
    let dir = std::env::temp_dir().join(format!("passkeyd-verify-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("tmp");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, "{not json").expect("write");
    assert_eq!(verify(&bad).0, 2);
    std::fs::remove_dir_all(&dir).ok();
}
