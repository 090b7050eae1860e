//! Scores one CMU sample many times (for `perf stat`): `score_loop N`.
use passkeyd_risk::detectors::DetectorKind;
use std::io::Read;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/datasets/keystroke/DSL-StrongPasswordData.csv.gz"
    );
    let mut text = String::new();
    let Ok(f) = std::fs::File::open(path) else {
        eprintln!("no data file");
        return;
    };
    if flate2::read::GzDecoder::new(f)
        .read_to_string(&mut text)
        .is_err()
    {
        eprintln!("bad gzip");
        return;
    }
    let Ok(d) = passkeyd_risk::eval::parse_cmu_csv(&text) else {
        eprintln!("bad csv");
        return;
    };
    let s = d.splits().swap_remove(0);
    let Ok(m) = DetectorKind::RobustEnsemble.train(&s.train) else {
        return;
    };
    let t = std::time::Instant::now();
    let mut acc = 0.0;
    for i in 0..n {
        acc += m.score(&s.genuine_test[i % s.genuine_test.len()]);
    }
    let el = t.elapsed();
    println!(
        "{n} scores, {:.3} us/score (checksum {acc:.3})",
        el.as_secs_f64() * 1e6 / n as f64
    );
}
