//! Prints the average cost of one assertion per algorithm (`cargo run --release --example
//! assert_cost -p passkeyd-testkit`).
use std::time::Instant;

use passkeyd_testkit::{Alg, AssertParams, SoftAuthenticator};

fn main() {
    let params = AssertParams::new(vec![7; 32], "example.com", "https://example.com");
    for alg in Alg::ALL {
        let mut a = SoftAuthenticator::new(alg);
        let n = 200;
        let start = Instant::now();
        for _ in 0..n {
            std::hint::black_box(a.assert(&params));
        }
        println!(
            "{:>10}: {:>8.1} µs/assertion",
            alg.name(),
            start.elapsed().as_secs_f64() * 1e6 / f64::from(n)
        );
    }
}
