//! The CMU keystroke benchmark (Killourhy & Maxion 2009) on the real data file.

use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::eval::{CmuData, evaluate_detector, parse_cmu_csv};
use passkeyd_risk::stream::{StreamConfig, evaluate_streams};
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

/// Regression guard at the level measured when the stream model was committed (see
/// docs/continuous-auth.md); the issue's targets are in `stream_meets_issue_targets`.
#[test]
fn stream_evaluation_regression_guard() {
    let splits = data().splits();
    let (_, _, t) = evaluate_streams(&splits, &StreamConfig::default(), 0.97).expect("streams");
    assert_eq!(t.genuine_streams, 51);
    assert_eq!(t.impostor_streams, 51 * 50);
    assert!(t.genuine_never_interrupted >= 0.92, "{t:?}");
    assert!(t.ania <= 7.7, "{t:?}");
    assert!(t.impostor_caught_within_10 >= 0.865, "{t:?}");
}

/// The issue's operating point (>= 95% genuine streams never interrupted, ANIA <= 3, no
/// impostor stream surviving 10 typings). Not reached yet: run with `--ignored`.
#[test]
#[ignore = "stream targets of issue #6 not reached yet (see docs/continuous-auth.md)"]
fn stream_meets_issue_targets() {
    let splits = data().splits();
    let (_, _, t) = evaluate_streams(&splits, &StreamConfig::default(), 0.97).expect("streams");
    assert!(t.genuine_never_interrupted >= 0.95, "{t:?}");
    assert!(t.ania <= 3.0, "{t:?}");
    assert!(t.impostor_caught_within_10 >= 1.0, "{t:?}");
}
