//! Development aid: variants of detectors under study.
use passkeyd_risk::detectors::col_sds;
use passkeyd_risk::ensemble::{EnsembleParams, RobustEnsemble};
use passkeyd_risk::eval::{eer, mean_sd, parse_cmu_csv};
use passkeyd_risk::linalg::{col_means, covariance, mat_vec, pinv_sqrt};
use std::io::Read;

fn run(
    name: &str,
    splits: &[passkeyd_risk::eval::CmuSplit],
    f: &dyn Fn(&[Vec<f64>]) -> Box<dyn Fn(&[f64]) -> f64>,
) {
    let mut e = vec![];
    for s in splits {
        let sc = f(&s.train);
        let g: Vec<f64> = s.genuine_test.iter().map(|x| sc(x)).collect();
        let i: Vec<f64> = s
            .impostor_test
            .iter()
            .flat_map(|(_, v)| v.iter().map(|x| sc(x)))
            .collect();
        e.push(eer(&g, &i));
    }
    let (m, sd) = mean_sd(&e);
    println!("{name:40} {m:.4} ({sd:.4})");
}

fn main() {
    let f = std::fs::File::open("/work/shared/datasets/keystroke/DSL-StrongPasswordData.csv.gz")
        .unwrap();
    let mut s = String::new();
    flate2::read::GzDecoder::new(f)
        .read_to_string(&mut s)
        .unwrap();
    let splits = parse_cmu_csv(&s).unwrap().splits();
    let which = std::env::args().nth(1).unwrap_or_default();
    if which == "base" || which.is_empty() {
        run("mahal normed (mahal norms)", &splits, &|t| {
            let m = col_means(t);
            let w = pinv_sqrt(&covariance(t, &m), m.len());
            let wm = mat_vec(&w, &m);
            let nm = wm.iter().map(|a| a * a).sum::<f64>().sqrt();
            Box::new(move |x| {
                let dev: Vec<f64> = x.iter().zip(&m).map(|(a, b)| a - b).collect();
                let d2: f64 = mat_vec(&w, &dev).iter().map(|a| a * a).sum();
                let nx = mat_vec(&w, x).iter().map(|a| a * a).sum::<f64>().sqrt();
                d2 / (nx * nm)
            })
        });
        run("filter per-value", &splits, &|t| {
            let m = col_means(t);
            let sd = col_sds(t, &m);
            let d = m.len();
            let mut m2 = vec![0.0; d];
            for j in 0..d {
                let v: Vec<f64> = t
                    .iter()
                    .map(|r| r[j])
                    .filter(|x| (x - m[j]).abs() <= 3.0 * sd[j])
                    .collect();
                m2[j] = v.iter().sum::<f64>() / v.len() as f64;
            }
            Box::new(move |x| x.iter().zip(&m2).map(|(a, b)| (a - b).abs()).sum())
        });
        run("filter by distance 3sd", &splits, &|t| {
            let m = col_means(t);
            let ds: Vec<f64> = t
                .iter()
                .map(|r| r.iter().zip(&m).map(|(a, b)| (a - b).abs()).sum())
                .collect();
            let (dm, dsd) = mean_sd(&ds);
            let kept: Vec<Vec<f64>> = t
                .iter()
                .zip(&ds)
                .filter(|(_, d)| **d <= dm + 3.0 * dsd)
                .map(|(r, _)| r.clone())
                .collect();
            let m2 = col_means(&kept);
            Box::new(move |x| x.iter().zip(&m2).map(|(a, b)| (a - b).abs()).sum())
        });
        run("filter by distance 2sd", &splits, &|t| {
            let m = col_means(t);
            let ds: Vec<f64> = t
                .iter()
                .map(|r| r.iter().zip(&m).map(|(a, b)| (a - b).abs()).sum())
                .collect();
            let (dm, dsd) = mean_sd(&ds);
            let kept: Vec<Vec<f64>> = t
                .iter()
                .zip(&ds)
                .filter(|(_, d)| **d <= dm + 2.0 * dsd)
                .map(|(r, _)| r.clone())
                .collect();
            let m2 = col_means(&kept);
            Box::new(move |x| x.iter().zip(&m2).map(|(a, b)| (a - b).abs()).sum())
        });
        run("filter by euclid distance 3sd", &splits, &|t| {
            let m = col_means(t);
            let ds: Vec<f64> = t
                .iter()
                .map(|r| {
                    r.iter()
                        .zip(&m)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt()
                })
                .collect();
            let (dm, dsd) = mean_sd(&ds);
            let kept: Vec<Vec<f64>> = t
                .iter()
                .zip(&ds)
                .filter(|(_, d)| **d <= dm + 3.0 * dsd)
                .map(|(r, _)| r.clone())
                .collect();
            let m2 = col_means(&kept);
            Box::new(move |x| x.iter().zip(&m2).map(|(a, b)| (a - b).abs()).sum())
        });
    }
    if which == "stream" {
        let cfg = passkeyd_risk::stream::StreamConfig::default();
        let t = std::time::Instant::now();
        let (tuned, dev, test) =
            passkeyd_risk::stream::evaluate_streams(&splits, &cfg, 0.97).unwrap();
        println!("{tuned:?}\ndev {dev:?}\ntest {test:?}\n{:?}", t.elapsed());
    }
    if which == "dist" {
        use passkeyd_risk::detectors::DetectorKind;
        let mut g = vec![];
        let mut im = vec![];
        let mut stream_med = vec![];
        for sp in &splits {
            let m = DetectorKind::RobustEnsemble.train(&sp.train).unwrap();
            let cal = passkeyd_risk::stream::cv_calibration(
                DetectorKind::RobustEnsemble,
                &sp.train,
                5,
                0.95,
            )
            .unwrap();
            for x in &sp.genuine_test {
                g.push(cal.normalise(m.score(x)));
            }
            for (_, st) in &sp.impostor_stream {
                let mut v: Vec<f64> = st.iter().map(|x| cal.normalise(m.score(x))).collect();
                im.extend(v.iter().copied());
                v.sort_by(f64::total_cmp);
                stream_med.push(v[25]);
            }
        }
        let q = |v: &mut Vec<f64>, p: f64| {
            v.sort_by(f64::total_cmp);
            v[((v.len() - 1) as f64 * p) as usize]
        };
        for p in [0.5, 0.8, 0.9, 0.95, 0.99] {
            println!("gen q{p}: {:.2}", q(&mut g, p));
        }
        for p in [0.01, 0.05, 0.1, 0.2, 0.5] {
            println!(
                "imp q{p}: {:.2}  stream-median q{p}: {:.2}",
                q(&mut im, p),
                q(&mut stream_med, p)
            );
        }
    }
    if which == "diag" {
        use passkeyd_risk::stream::*;
        let cfg = StreamConfig::default();
        let (test, dev) = build_streams(&splits, &cfg).unwrap();
        let tuned = tune_trust(&cfg.trust, &cfg, &dev, 0.97);
        for (k, s) in test.iter().enumerate() {
            if let Some(n) = simulate(&tuned, 100.0, 10.0, &s.genuine) {
                let lo = n.saturating_sub(12);
                let w: Vec<String> = s.genuine[lo..n].iter().map(|a| format!("{a:.1}")).collect();
                let mut sorted = s.genuine.clone();
                sorted.sort_by(f64::total_cmp);
                println!(
                    "subj {k} locked at {n}: {}  | median {:.2} q90 {:.2}",
                    w.join(" "),
                    sorted[100],
                    sorted[180]
                );
            }
        }
    }
    if which == "ens" {
        for (k, clip, recent, w) in [
            (3, 3.0, 0, 0.0),
            (3, 3.0, 0, 1.0),
            (3, 1e9, 0, 0.5),
            (1, 3.0, 0, 0.5),
            (5, 3.0, 0, 0.5),
            (3, 2.0, 0, 0.5),
            (3, 3.0, 100, 0.5),
            (3, 3.0, 0, 0.7),
        ] {
            let p = EnsembleParams {
                k,
                clip,
                recent,
                nn_weight: w,
            };
            run(
                &format!("ens k={k} clip={clip} recent={recent} w={w}"),
                &splits,
                &|t| {
                    let e = RobustEnsemble::train(t, &p).unwrap();
                    Box::new(move |x| e.score(x))
                },
            );
        }
    }
}

#[allow(dead_code)]
fn unused() {}
