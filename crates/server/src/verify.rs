//! `passkeyd verify CASE.json`: replay a recorded ceremony and print the verdict as one JSON
//! object. Trust roots named by the case are read from `roots/` beside the case's folder (the
//! layout of the passkeyd test vectors), or beside the case file itself.

use passkeyd_webauthn::replay::run_case;
use std::path::Path;
use std::process::ExitCode;

/// Exit code for a file that cannot be read or is not a case.
const UNREADABLE: u8 = 2;

pub fn run(case: &Path) -> ExitCode {
    let text = match std::fs::read_to_string(case) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("passkeyd verify: cannot read {}: {e}", case.display());
            return ExitCode::from(UNREADABLE);
        }
    };
    let dir = case.parent().unwrap_or(Path::new("."));
    let load_root = |name: &str| -> Option<Vec<u8>> {
        // Only plain file names: a case must not make the tool read arbitrary paths.
        if name.contains(['/', '\\']) || name.starts_with('.') {
            return None;
        }
        [
            dir.join("../roots").join(name),
            dir.join("roots").join(name),
            dir.join(name),
        ]
        .iter()
        .find_map(|p| std::fs::read(p).ok())
    };
    match run_case(&text, &load_root) {
        Ok(verdict) => match serde_json::to_string(&verdict) {
            Ok(json) => {
                println!("{json}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("passkeyd verify: {e}");
                ExitCode::from(UNREADABLE)
            }
        },
        Err(e) => {
            eprintln!("passkeyd verify: {}: {e}", case.display());
            ExitCode::from(UNREADABLE)
        }
    }
}
