//! The CMU keystroke benchmark (Killourhy & Maxion 2009) on the real data file.

use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::discriminative::{
    Classifier, DiscriminativeParams, LogisticParams, SeenImpostors, StreamReportRow,
    discriminative_streams, stream_report,
};
use passkeyd_risk::eval::{CmuData, evaluate_detector, parse_cmu_csv};
use passkeyd_risk::forest::ForestParams;
use passkeyd_risk::stream::{
    StreamConfig, StreamResult, forward_models, length_adjusted, stream_stats, tune_trust,
};
use std::io::Read;
use std::sync::OnceLock;

fn data() -> &'static CmuData {
    static DATA: OnceLock<CmuData> = OnceLock::new();
    DATA.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/datasets/keystroke/DSL-StrongPasswordData.csv.gz"
        );
        let f = std::fs::File::open(path).expect("CMU data file");
        let mut s = String::new();
        flate2::read::GzDecoder::new(f)
            .read_to_string(&mut s)
            .expect("gunzip");
        parse_cmu_csv(&s).expect("parse CMU csv")
    })
}

#[test]
fn data_shape() {
    let d = data();
    assert_eq!(d.subjects.len(), 51);
    assert!(d.subjects.iter().all(|(_, rows)| rows.len() == 400));
    assert_eq!(d.columns.len(), 31);
    let first = &d.subjects[0].1[0];
    assert_eq!(first.subject, "s002");
    assert_eq!(first.features[0], 0.1491);
    let s = &d.splits()[0];
    assert_eq!((s.train.len(), s.genuine_test.len()), (200, 200));
    assert_eq!(
        s.impostor_test.iter().map(|(_, v)| v.len()).sum::<usize>(),
        250
    );
}

#[test]
fn literature_detectors_reproduce_published_eer() {
    let splits = data().splits();
    for kind in DetectorKind::ALL {
        let Some(published) = kind.published_eer() else {
            continue;
        };
        let r = evaluate_detector(kind, &splits).expect("train");
        assert!(
            (r.mean_eer - published).abs() <= 0.002,
            "{}: mean EER {:.4}, published {published:.4}",
            kind.name(),
            r.mean_eer
        );
    }
}

#[test]
fn own_detector_beats_literature() {
    let splits = data().splits();
    let r = evaluate_detector(DetectorKind::RobustEnsemble, &splits).expect("train");
    assert!(
        r.mean_eer <= 0.080,
        "robust ensemble mean EER {:.4}",
        r.mean_eer
    );
}

/// The stream report (`passkeyd risk eval keystroke --stream`), computed once for the tests
/// below: tuning and test rows of the genuine-only model, the impostor-aware model with unseen
/// impostors and the seen-impostor variant.
fn report() -> &'static [StreamReportRow] {
    static REPORT: OnceLock<Vec<StreamReportRow>> = OnceLock::new();
    REPORT.get_or_init(|| stream_report(&data().splits(), 0.97).expect("stream report"))
}

fn test_row(model: &str) -> &'static StreamResult {
    &report()
        .iter()
        .find(|r| r.model == model && r.stream == "test")
        .expect("row")
        .result
}

/// Regression guard at the level measured when the stream model was committed (see
/// docs/continuous-auth.md).
#[test]
fn stream_evaluation_regression_guard() {
    let t = test_row("genuine-only");
    assert_eq!(t.genuine_streams, 51);
    assert_eq!(t.impostor_streams, 51 * 50);
    assert!(t.genuine_never_interrupted >= 0.92, "{t:?}");
    assert!(t.ania <= 7.7, "{t:?}");
    assert!(t.impostor_caught_within_10 >= 0.865, "{t:?}");
}

/// Regression guard of the impostor-aware model (unseen impostors, 2-fold, online adaptation)
/// at its measured level: 91 of 102 genuine stream runs never interrupted, ANIA 2.03, 96.3 % /
/// 97.9 % of impostor streams caught within 5 / 10 typings, 127 genuine lockouts with restarts.
#[test]
fn impostor_aware_stream_regression_guard() {
    let t = test_row("impostor-aware");
    // each genuine stream under both fold models; each impostor stream exactly once
    assert_eq!(t.genuine_streams, 2 * 51);
    assert_eq!(t.impostor_streams, 51 * 50);
    assert!(t.genuine_never_interrupted >= 0.89, "{t:?}");
    assert!(t.ania <= 2.05, "{t:?}");
    assert!(t.impostor_caught_within_5 >= 0.96, "{t:?}");
    assert!(t.impostor_caught_within_10 >= 0.978, "{t:?}");
    assert!(t.genuine_lockouts_with_restart <= 130, "{t:?}");
    let seen = test_row("impostor-aware-seen");
    assert_eq!((seen.genuine_streams, seen.impostor_streams), (51, 51 * 50));
}

/// The target operating point (>= 95% genuine streams never interrupted, ANIA <= 3, no
/// impostor stream surviving 10 typings), checked on the impostor-aware model with unseen
/// impostors. Its ANIA meets the target; the other two do not yet: run with `--ignored`.
#[test]
#[ignore = "stream targets not all reached yet (see docs/continuous-auth.md)"]
fn stream_meets_issue_targets() {
    let t = test_row("impostor-aware");
    assert!(t.genuine_never_interrupted >= 0.95, "{t:?}");
    assert!(t.ania <= 3.0, "{t:?}");
    assert!(t.impostor_caught_within_10 >= 1.0, "{t:?}");
}

/// Tuning-stream figures (training data only; no test figures) of the impostor-aware variants
/// compared when its hyperparameters were chosen (see docs/continuous-auth.md). Prints a table.
#[test]
#[ignore = "prints the hyperparameter comparison; about 3 minutes in release"]
fn impostor_aware_variants_on_tuning_streams() {
    let splits = data().splits();
    let cfg = StreamConfig::default();
    let models = forward_models(&splits, &cfg).expect("models");
    // the scorer variants were compared before online adaptation was added
    let base = DiscriminativeParams {
        adapt_below: None,
        drift_rate: 0.0,
        ..DiscriminativeParams::default()
    };
    let forest = |mtry: usize, max_depth: usize, min_split: u32| ForestParams {
        mtry,
        max_depth,
        min_split,
        ..base.forest.clone()
    };
    let logistic = |lambda: f64| DiscriminativeParams {
        classifier: Classifier::Logistic,
        negatives_per_session: 10,
        logistic: LogisticParams {
            lambda,
            ..LogisticParams::default()
        },
        ..base.clone()
    };
    let with_forest = |f: ForestParams, per: usize, w: f64| DiscriminativeParams {
        forest: f,
        negatives_per_session: per,
        ensemble_weight: w,
        ..base.clone()
    };
    let mut variants: Vec<(String, DiscriminativeParams, bool)> = vec![
        ("logistic, lambda 0.001".into(), logistic(0.001), false),
        ("logistic, lambda 0.01".into(), logistic(0.01), false),
        ("logistic, lambda 0.1".into(), logistic(0.1), false),
        (
            "logistic, lambda 0.1, + ensemble x2".into(),
            DiscriminativeParams {
                ensemble_weight: 2.0,
                ..logistic(0.1)
            },
            true,
        ),
        (
            "logistic, lambda 1, + ensemble x2".into(),
            DiscriminativeParams {
                ensemble_weight: 2.0,
                ..logistic(1.0)
            },
            true,
        ),
        (
            "forest mtry 6, 10/session".into(),
            with_forest(forest(0, 16, 4), 10, 1.0),
            false,
        ),
        (
            "forest mtry 6, 10/session, + ensemble".into(),
            with_forest(forest(0, 16, 4), 10, 1.0),
            true,
        ),
        (
            "forest mtry 6, 20/session, + ensemble x0.5".into(),
            with_forest(forest(0, 16, 4), 20, 0.5),
            true,
        ),
        (
            "forest mtry 6, 20/session, + ensemble".into(),
            with_forest(forest(0, 16, 4), 20, 1.0),
            true,
        ),
        (
            "forest mtry 6, 20/session, + ensemble x1.5".into(),
            with_forest(forest(0, 16, 4), 20, 1.5),
            true,
        ),
        (
            "forest mtry 6, all 50/session, + ensemble".into(),
            with_forest(forest(0, 16, 4), 0, 1.0),
            true,
        ),
        (
            "forest mtry 3, 20/session, + ensemble (shipped scorer, no adaptation)".into(),
            base.clone(),
            true,
        ),
        (
            "forest mtry 12, 20/session, + ensemble".into(),
            with_forest(forest(12, 16, 4), 20, 1.0),
            true,
        ),
        (
            "forest mtry 6, depth 8, 20/session, + ensemble".into(),
            with_forest(forest(0, 8, 4), 20, 1.0),
            true,
        ),
        (
            "forest mtry 6, min split 10, 20/session, + ensemble".into(),
            with_forest(forest(0, 16, 10), 20, 1.0),
            true,
        ),
        (
            "forest mtry 6, 100 trees, 20/session, + ensemble".into(),
            with_forest(
                ForestParams {
                    trees: 100,
                    ..forest(0, 16, 4)
                },
                20,
                1.0,
            ),
            true,
        ),
        (
            "forest mtry 6, all 50/session, + ensemble x0.5".into(),
            with_forest(forest(0, 16, 4), 0, 0.5),
            true,
        ),
        (
            "forest mtry 12, depth 8, 20/session, + ensemble".into(),
            with_forest(forest(12, 8, 4), 20, 1.0),
            true,
        ),
        (
            "forest mtry 12, min split 10, 20/session, + ensemble".into(),
            with_forest(forest(12, 16, 10), 20, 1.0),
            true,
        ),
    ];
    // online adaptation of the shipped scorer: acceptance level of the combined anomaly x drift
    // rate of the forest's input (the default is level 0, rate 0.02)
    let adaptation = [(-1.5, 0.0), (-1.0, 0.0), (-0.5, 0.0)].into_iter().chain(
        [0.0, 0.25, 0.5, 0.75, 1.0].into_iter().flat_map(|level| {
            [0.0, 0.02, 0.05, 0.1]
                .into_iter()
                .map(move |rate| (level, rate))
        }),
    );
    for (level, drift_rate) in adaptation {
        variants.push((
            format!("adaptation below {level}, drift rate {drift_rate}"),
            DiscriminativeParams {
                adapt_below: Some(level),
                drift_rate,
                ..DiscriminativeParams::default()
            },
            true,
        ));
    }
    for (name, p, ensemble) in variants {
        let t0 = std::time::Instant::now();
        let go = ensemble.then_some((&models[..], &cfg));
        let (test, dev) =
            discriminative_streams(&splits, &p, SeenImpostors::Unseen, go).expect("streams");
        let secs = t0.elapsed().as_secs_f64();
        // the genuine requirement needs the test streams' length only, not their scores
        let tuned = tune_trust(&cfg.trust, &cfg, &dev, length_adjusted(0.97, &dev, &test));
        drop(test);
        let r = stream_stats(&tuned, &cfg, &dev);
        println!(
            "{name:<55} tuning: genuine never interrupted {:.1}%, ANIA {:.2}, within 5 {:.1}%, within 10 {:.1}%, never {} ({secs:.1} s to build)",
            100.0 * r.genuine_never_interrupted,
            r.ania,
            100.0 * r.impostor_caught_within_5,
            100.0 * r.impostor_caught_within_10,
            r.impostor_never_caught
        );
    }
}
