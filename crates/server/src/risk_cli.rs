//! `passkeyd risk ...`: offline evaluation of the continuous-authentication scoring
//! (`passkeyd-risk`) on the CMU keystroke benchmark and the Balabit mouse-dynamics data.

use passkeyd_risk::det::{averaged_det, det_svg};
use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::discriminative::stream_report;
use passkeyd_risk::eval::{DetectorResult, evaluate_detector, parse_cmu_csv};
use passkeyd_risk::forest::ForestParams;
use passkeyd_risk::mouse::{LabelledSession, evaluate_mouse, parse_balabit, session_features};
use std::io::Read;
use std::path::{Path, PathBuf};

/// `passkeyd risk ...` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum RiskCommand {
    /// Evaluate detectors on a benchmark data set.
    Eval {
        /// which benchmark
        #[command(subcommand)]
        what: EvalWhat,
    },
}

/// Benchmarks for `passkeyd risk eval`.
#[derive(clap::Subcommand, Debug)]
pub enum EvalWhat {
    /// CMU keystroke benchmark (DSL-StrongPasswordData.csv or .csv.gz).
    Keystroke {
        /// path of the CSV (gzip is detected by the `.gz` suffix)
        #[arg(long)]
        data: PathBuf,
        /// one JSON object per line instead of a table
        #[arg(long)]
        json: bool,
        /// write subject-averaged DET curves of every detector to this SVG file
        #[arg(long)]
        det_svg: Option<PathBuf>,
        /// also run the continuous-trust stream evaluation
        #[arg(long)]
        stream: bool,
    },
    /// Balabit mouse-dynamics challenge (the unpacked `Mouse-Dynamics-Challenge` directory).
    Mouse {
        /// the directory holding `training_files/`, `test_files/` and `public_labels.csv`
        #[arg(long)]
        data: PathBuf,
        /// one JSON object per line instead of a table
        #[arg(long)]
        json: bool,
    },
}

/// Run a `risk` subcommand, printing its report on stdout.
pub fn run(cmd: RiskCommand) -> Result<(), String> {
    match cmd {
        RiskCommand::Eval {
            what:
                EvalWhat::Keystroke {
                    data,
                    json,
                    det_svg,
                    stream,
                },
        } => {
            let text = read_maybe_gz(&data)?;
            print!(
                "{}",
                keystroke_report(&text, json, det_svg.as_deref(), stream)?
            );
            Ok(())
        }
        RiskCommand::Eval {
            what: EvalWhat::Mouse { data, json },
        } => {
            print!("{}", mouse_report(&data, json)?);
            Ok(())
        }
    }
}

/// Read a file, gunzipping it when its name ends in `.gz`.
pub fn read_maybe_gz(path: &Path) -> Result<String, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut s = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    } else {
        std::io::BufReader::new(f)
            .read_to_string(&mut s)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(s)
}

/// The keystroke evaluation report (table or JSON lines) for the CMU CSV text; writes the DET
/// SVG when asked.
pub fn keystroke_report(
    csv: &str,
    json: bool,
    det_svg_path: Option<&Path>,
    stream: bool,
) -> Result<String, String> {
    let data = parse_cmu_csv(csv)?;
    let splits = data.splits();
    let mut results: Vec<DetectorResult> = Vec::new();
    for kind in DetectorKind::ALL {
        results.push(evaluate_detector(kind, &splits).map_err(|e| e.to_string())?);
    }
    let mut out = String::new();
    if json {
        for r in &results {
            let v = serde_json::json!({
                "detector": r.kind.name(),
                "mean_eer": r.mean_eer,
                "sd_eer": r.sd_eer,
                "genuine_only": true,
                "published_mean_eer": r.kind.published_eer(),
                "subjects": r.subjects.len(),
            });
            out += &format!("{v}\n");
        }
    } else {
        out += &format!(
            "{:<32} {:>16} {:>16}\n",
            "detector", "mean EER (sd)", "published"
        );
        for r in &results {
            let published = r
                .kind
                .published_eer()
                .map_or("-".to_string(), |p| format!("{p:.4}"));
            out += &format!(
                "{:<32} {:>7.4} ({:.4}) {:>16}\n",
                r.kind.name(),
                r.mean_eer,
                r.sd_eer,
                published
            );
        }
        out += &format!(
            "({} subjects; all detectors trained on the genuine user's data only)\n",
            splits.len()
        );
    }
    if let Some(p) = det_svg_path {
        let curves: Vec<(String, Vec<(f64, f64)>)> = results
            .iter()
            .map(|r| {
                (
                    format!("{} ({:.3})", r.kind.name(), r.mean_eer),
                    averaged_det(r),
                )
            })
            .collect();
        let svg = det_svg(
            "CMU keystroke benchmark: DET, averaged over 51 subjects",
            &curves,
        );
        std::fs::write(p, svg).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    if stream {
        let rows = stream_report(&splits, 0.97).map_err(|e| e.to_string())?;
        for r in &rows {
            if json {
                let v = serde_json::to_value(r).map_err(|e| e.to_string())?;
                out += &format!("{v}\n");
            } else {
                out += &r.text();
                if r.stream == "test" {
                    out += &r.trust_text();
                }
            }
        }
    }
    Ok(out)
}

fn sorted_dir(p: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(p)
        .map_err(|e| format!("{}: {e}", p.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// Per-user training actions: `(user, features of every action of its training sessions)`.
pub type TrainingActions = Vec<(String, Vec<Vec<f64>>)>;

/// Load the Balabit data: per-user training actions and the labelled test sessions.
pub fn load_balabit(root: &Path) -> Result<(TrainingActions, Vec<LabelledSession>), String> {
    let labels_text = std::fs::read_to_string(root.join("public_labels.csv"))
        .map_err(|e| format!("{}: {e}", root.join("public_labels.csv").display()))?;
    let mut labels = std::collections::HashMap::new();
    for l in labels_text.lines().skip(1) {
        let mut f = l.trim().split(',');
        if let (Some(name), Some(v)) = (f.next(), f.next()) {
            labels.insert(name.to_string(), v == "1");
        }
    }
    let mut train = Vec::new();
    let mut test = Vec::new();
    for udir in sorted_dir(&root.join("training_files"))? {
        let user = udir
            .file_name()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let mut acts = Vec::new();
        for f in sorted_dir(&udir)? {
            let txt = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            acts.extend(session_features(&parse_balabit(&txt).0));
        }
        let tdir = root.join("test_files").join(&user);
        for f in sorted_dir(&tdir)? {
            let name = f
                .file_name()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            if let Some(&illegal) = labels.get(&name) {
                let txt =
                    std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
                test.push(LabelledSession {
                    user: user.clone(),
                    name,
                    illegal,
                    actions: session_features(&parse_balabit(&txt).0),
                });
            }
        }
        train.push((user, acts));
    }
    if train.is_empty() || test.is_empty() {
        return Err(format!(
            "{}: no training users or no labelled test sessions",
            root.display()
        ));
    }
    Ok((train, test))
}

/// The mouse evaluation report for an unpacked Mouse-Dynamics-Challenge directory.
pub fn mouse_report(root: &Path, json: bool) -> Result<String, String> {
    let (train, test) = load_balabit(root)?;
    let r = evaluate_mouse(&train, &test, &ForestParams::default());
    let (profile_scores, profile_auc) =
        passkeyd_risk::mouse_profile::evaluate_profiles(&train, &test);
    let mut out = String::new();
    if json {
        let v = serde_json::json!({
            "mouse": "balabit", "sessions": r.scores.len(), "auc": r.auc, "eer": r.eer,
            "published_auc": 0.92,
        });
        out += &format!("{v}\n");
        let v = serde_json::json!({
            "mouse": "balabit", "model": "genuine_only_template",
            "sessions": profile_scores.len(), "auc": profile_auc, "genuine_only": true,
        });
        out += &format!("{v}\n");
        for (u, n, auc, eer) in &r.per_user {
            out += &format!(
                "{}\n",
                serde_json::json!({"user": u, "sessions": n, "auc": auc, "eer": eer})
            );
        }
    } else {
        out += &format!(
            "Balabit: {} labelled sessions, global AUC {:.4}, EER {:.4} (published best AUC 0.92)\n",
            r.scores.len(),
            r.auc,
            r.eer
        );
        for (u, n, auc, eer) in &r.per_user {
            out += &format!("  {u:<8} {n:>4} sessions  AUC {auc:.4}  EER {eer:.4}\n");
        }
        out += &format!(
            "genuine-only template (what the server keeps per user): {} sessions, global AUC {:.4}\n",
            profile_scores.len(),
            profile_auc
        );
    }
    Ok(out)
}
