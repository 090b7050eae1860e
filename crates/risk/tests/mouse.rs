//! Balabit mouse-dynamics challenge: global session-level ROC AUC over the 816 labelled test
//! sessions. The archive is unpacked (with `tar -xJf`) into Cargo's per-target temporary
//! directory, outside the repository, on first use.

use passkeyd_risk::forest::ForestParams;
use passkeyd_risk::mouse::{LabelledSession, evaluate_mouse, parse_balabit, session_features};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Regression guard for the genuine-only template the server keeps (measured value, less a
/// small margin; see docs/continuous-auth.md).
const PROFILE_AUC_FLOOR: f64 = 0.80;

fn unpacked() -> PathBuf {
    let archive = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/datasets/mouse-balabit/balabit-mouse-dynamics-challenge.tar.xz"
    );
    let dest = Path::new(env!("CARGO_TARGET_TMPDIR")).join("balabit");
    let root = dest.join("Mouse-Dynamics-Challenge");
    if !root.join("public_labels.csv").exists() {
        std::fs::create_dir_all(&dest).expect("create temp dir");
        let st = std::process::Command::new("tar")
            .arg("-xJf")
            .arg(archive)
            .arg("-C")
            .arg(&dest)
            .status()
            .expect("run tar");
        assert!(st.success(), "tar failed");
    }
    root
}

fn sorted(p: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .expect("dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn balabit_session_auc() {
    let root = unpacked();
    let labels: HashMap<String, bool> = std::fs::read_to_string(root.join("public_labels.csv"))
        .expect("labels")
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut f = l.trim().split(',');
            Some((f.next()?.to_string(), f.next()? == "1"))
        })
        .collect();
    assert_eq!(labels.len(), 816);
    let mut train = Vec::new();
    let mut test = Vec::new();
    for udir in sorted(&root.join("training_files")) {
        let user = udir
            .file_name()
            .expect("name")
            .to_string_lossy()
            .to_string();
        let mut acts = Vec::new();
        for f in sorted(&udir) {
            acts.extend(session_features(
                &parse_balabit(&std::fs::read_to_string(f).expect("read")).0,
            ));
        }
        for f in sorted(&root.join("test_files").join(&user)) {
            let name = f.file_name().expect("name").to_string_lossy().to_string();
            if let Some(&illegal) = labels.get(&name) {
                let ev = parse_balabit(&std::fs::read_to_string(&f).expect("read")).0;
                test.push(LabelledSession {
                    user: user.clone(),
                    name,
                    illegal,
                    actions: session_features(&ev),
                });
            }
        }
        train.push((user, acts));
    }
    assert_eq!(train.len(), 10);
    assert_eq!(test.len(), 816);
    let r = evaluate_mouse(&train, &test, &ForestParams::default());
    assert_eq!(r.scores.len(), 816);
    assert!(r.auc >= 0.93, "global AUC {:.4}", r.auc);
    assert!(r.eer <= 0.15, "global EER {:.4}", r.eer);
    let (scores, auc) = passkeyd_risk::mouse_profile::evaluate_profiles(&train, &test);
    assert_eq!(scores.len(), 816);
    eprintln!("genuine-only template AUC {auc:.4}");
    assert!(
        auc >= PROFILE_AUC_FLOOR,
        "genuine-only template AUC {auc:.4}"
    );
}
