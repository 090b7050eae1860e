//! Criterion benchmarks: scoring one keystroke sample and one trust update.
use criterion::{Criterion, black_box, criterion_group, criterion_main};
use passkeyd_risk::confidence::TOP_FEATURES;
use passkeyd_risk::confidence::{BehaviourSample, Calibration, TrustConfig, TrustState};
use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::explain::top_contributions;
use passkeyd_risk::forest::SplitMix64;
use passkeyd_risk::keystroke::FixedPhrase;

fn synthetic(n: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut r = SplitMix64(seed);
    (0..n)
        .map(|_| {
            (0..31)
                .map(|j| 0.1 + 0.01 * j as f64 + 0.05 * (r.below(1000) as f64 / 1000.0))
                .collect()
        })
        .collect()
}

/// Subject s002's 200 training vectors and first genuine test vector from the CMU data when the
/// file is there (the realistic case), else synthetic vectors.
fn data() -> (Vec<Vec<f64>>, Vec<f64>) {
    use std::io::Read;
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/datasets/keystroke/DSL-StrongPasswordData.csv.gz"
    );
    let mut text = String::new();
    let parsed = std::fs::File::open(path)
        .ok()
        .and_then(|f| {
            flate2::read::GzDecoder::new(f)
                .read_to_string(&mut text)
                .ok()
        })
        .and_then(|_| passkeyd_risk::eval::parse_cmu_csv(&text).ok());
    match parsed {
        Some(d) => {
            let s = d.splits().swap_remove(0);
            (s.train, s.genuine_test[0].clone())
        }
        None => (synthetic(200, 1), synthetic(1, 2).remove(0)),
    }
}

fn bench(c: &mut Criterion) {
    let (train, x) = data();
    for kind in [
        DetectorKind::RobustEnsemble,
        DetectorKind::ManhattanScaled,
        DetectorKind::NearestNeighborMahalanobis,
    ] {
        let m = kind.train(&train).expect("train");
        c.bench_function(
            &format!("score one keystroke sample: {}", kind.name()),
            |b| b.iter(|| black_box(m.score(black_box(&x)))),
        );
    }
    let m = DetectorKind::RobustEnsemble.train(&train).expect("train");
    let names = FixedPhrase::cmu().feature_names();
    let cal = Calibration {
        typical: 0.0,
        high: 1.0,
    };
    let cfg = TrustConfig::default();
    c.bench_function("trust update (score + contributions + explanation)", |b| {
        let mut st = TrustState::new(100.0, 0.0);
        let mut t = 0.0;
        b.iter(|| {
            t += 1.0;
            let s = m.score(&x);
            let terms = m.contributions(&x).unwrap_or_default();
            let sample = BehaviourSample {
                modality: "keystroke".into(),
                score: s,
                anomaly: cal.normalise(s),
                features: top_contributions(&names, &terms, TOP_FEATURES),
            };
            let e = st.observe(&cfg, t, &sample);
            if st.trust < 70.0 {
                st.trust = 100.0;
            }
            black_box(e)
        })
    });
    c.bench_function("trust update only (explanation, no scoring)", |b| {
        let mut st = TrustState::new(100.0, 0.0);
        let sample = BehaviourSample {
            modality: "keystroke".into(),
            score: 0.3,
            anomaly: 0.3,
            features: vec![],
        };
        let mut t = 0.0;
        b.iter(|| {
            t += 1.0;
            black_box(st.observe(&cfg, t, &sample))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
