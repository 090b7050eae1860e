//! Exploration harness (development aid): prints the CMU table.
use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::eval::{evaluate_detector, parse_cmu_csv};
use std::io::Read;

fn main() {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        "/work/shared/datasets/keystroke/DSL-StrongPasswordData.csv.gz".to_string()
    });
    let f = std::fs::File::open(path).expect("open");
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .expect("gunzip");
    let data = parse_cmu_csv(&s).expect("parse");
    let splits = data.splits();
    let t = std::time::Instant::now();
    for k in DetectorKind::ALL {
        let r = evaluate_detector(k, &splits).expect("eval");
        println!(
            "{:34} {:.4} ({:.4})  published {:?}",
            k.name(),
            r.mean_eer,
            r.sd_eer,
            k.published_eer()
        );
    }
    println!("{:?}", t.elapsed());
}
