//! Every case in the shared WebAuthn vectors (../shared/vectors beside the repository) must give
//! its expected verdict: positives verify and report the expected values, negatives fail.
//! A case may be skipped only with a printed reason, and every skip is listed in the README.

use passkeyd_webauthn::replay::{Verdict, run_case};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vectors")
}

/// Cases skipped, with the reason (also listed in the README's status table).
const SKIPPED: &[(&str, &str)] = &[];

fn check(path: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let case: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let roots = path.parent().unwrap_or(Path::new(".")).join("../roots");
    let verdict: Verdict = run_case(&text, &|name| std::fs::read(roots.join(name)).ok())
        .map_err(|e| format!("case error: {e}"))?;
    let expect = &case["expect"];
    let want_ok = expect["ok"].as_bool().ok_or("expect.ok missing")?;
    if verdict.ok != want_ok {
        return Err(format!(
            "expected ok={want_ok} ({}), got {}",
            expect["reason"].as_str().unwrap_or(""),
            serde_json::to_string(&verdict).unwrap_or_default()
        ));
    }
    if !want_ok {
        return Ok(());
    }
    let v = serde_json::to_value(&verdict).map_err(|e| e.to_string())?;
    let pairs = [
        ("fmt", "fmt"),
        ("alg", "alg"),
        ("aaguid", "aaguid"),
        ("attestation_type", "attestation_type"),
        ("credential_id_b64url", "credential_id"),
        ("credential_public_key_cose_b64url", "credential_public_key"),
        ("user_present", "user_present"),
        ("user_verified", "user_verified"),
        ("backup_eligible", "backup_eligible"),
        ("backup_state", "backup_state"),
        ("sign_count", "sign_count"),
    ];
    for (ek, vk) in pairs {
        if let Some(want) = expect.get(ek)
            && v.get(vk) != Some(want)
        {
            return Err(format!("{ek}: expected {want}, got {:?}", v.get(vk)));
        }
    }
    Ok(())
}

#[test]
fn every_shared_vector_gives_its_expected_verdict() {
    let dir = vectors_dir();
    assert!(
        dir.is_dir(),
        "shared vectors not found at {}",
        dir.display()
    );
    let mut files: Vec<PathBuf> = ["registration", "authentication"]
        .iter()
        .flat_map(|sub| std::fs::read_dir(dir.join(sub)).into_iter().flatten())
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 90,
        "expected at least 90 cases, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    let mut passed = 0;
    for f in &files {
        let name = format!(
            "{}/{}",
            f.parent()
                .and_then(|p| p.file_name())
                .and_then(|n| n.to_str())
                .unwrap_or(""),
            f.file_name().and_then(|n| n.to_str()).unwrap_or("")
        );
        if let Some((_, why)) = SKIPPED.iter().find(|(n, _)| *n == name) {
            println!("SKIPPED {name}: {why}");
            continue;
        }
        match check(f) {
            Ok(()) => passed += 1,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    println!(
        "{passed} of {} cases gave their expected verdict",
        files.len()
    );
    assert!(
        failures.is_empty(),
        "{} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
