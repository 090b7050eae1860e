//! Stream evaluation of the trust model on the CMU data.
//!
//! For each subject, the detector is trained on the 200 training repetitions (sessions 1-4) and
//! calibrated with held-out scores from a contiguous k-fold cross-validation inside those same
//! 200 repetitions. Then:
//!
//! * the **genuine stream** is the subject's 200 test repetitions (sessions 5-8) in order;
//! * the **impostor streams** are, for every other subject, that subject's 50 session-1
//!   repetitions in order (50 streams per genuine user, 2,550 in all).
//!
//! Each stream starts at trust `start` (a fresh passkey sign-in), with `seconds_between` seconds
//! between typings (decay), and stops at the first decision other than `Allow` (a lockout).

use crate::confidence::{Calibration, Decision, TrustConfig, TrustState, smoothed_anomaly};
use crate::detectors::{DetectorKind, Model, TrainError};
use crate::eval::CmuSplit;
use serde::{Deserialize, Serialize};

/// Parameters of the stream evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// detector used for the behavioural score
    pub detector: DetectorKind,
    /// optional second detector whose normalised anomaly is averaged with the first one's
    pub second_detector: Option<DetectorKind>,
    /// number of contiguous folds for the calibration scores; 0 = forward chaining (fit on the
    /// first half of the enrolment repetitions, hold out the second half)
    pub folds: usize,
    /// quantile of held-out genuine scores taken as the edge of the typical range
    pub quantile: f64,
    /// trust model
    pub trust: TrustConfig,
    /// starting trust (assurance of the sign-in)
    pub start: f64,
    /// simulated seconds between typings
    pub seconds_between: f64,
    /// session adaptation: samples whose normalised anomaly is at or below this level join the
    /// neighbour references for the rest of the stream (`None` = no adaptation; only the
    /// robust ensemble adapts)
    pub adapt_below: Option<f64>,
    /// at most this many adapted references are kept (oldest dropped first)
    pub adapt_max: usize,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            detector: DetectorKind::RobustEnsemble,
            second_detector: None,
            folds: 5,
            quantile: 0.95,
            trust: TrustConfig::default(),
            start: 100.0,
            seconds_between: 10.0,
            adapt_below: Some(0.0),
            adapt_max: 100,
        }
    }
}

/// Results of the stream evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamResult {
    /// genuine streams
    pub genuine_streams: usize,
    /// impostor streams
    pub impostor_streams: usize,
    /// average number of genuine actions before a (false) lockout; streams never interrupted
    /// count their full length (censored)
    pub anga: f64,
    /// average number of impostor actions up to and including the one that caused detection;
    /// undetected streams count their full length (censored)
    pub ania: f64,
    /// share of genuine streams never interrupted
    pub genuine_never_interrupted: f64,
    /// share of impostor streams detected within 5 typings
    pub impostor_caught_within_5: f64,
    /// share of impostor streams detected within 10 typings
    pub impostor_caught_within_10: f64,
    /// impostor streams never detected
    pub impostor_never_caught: usize,
    /// longest impostor run before detection (or stream length if never detected)
    pub impostor_max_actions: usize,
    /// genuine lockouts when every lockout is followed by a successful step-up (trust back to
    /// `start`) and the stream goes on
    pub genuine_lockouts_with_restart: usize,
    /// ANGA in that setting: genuine actions per lockout (total genuine actions when none)
    pub anga_with_restart: f64,
}

/// Per-user calibration by contiguous k-fold cross-validation within the training vectors.
pub fn cv_calibration(
    kind: DetectorKind,
    train: &[Vec<f64>],
    folds: usize,
    q: f64,
) -> Result<Calibration, TrainError> {
    let n = train.len();
    let k = folds.clamp(2, n.max(2));
    let mut held = Vec::with_capacity(n);
    for f in 0..k {
        let (lo, hi) = (f * n / k, (f + 1) * n / k);
        let fit: Vec<Vec<f64>> = train[..lo]
            .iter()
            .chain(train[hi..].iter())
            .cloned()
            .collect();
        let m = kind.train(&fit)?;
        held.extend(train[lo..hi].iter().map(|x| m.score(x)));
    }
    Calibration::from_scores(&held, q).ok_or(TrainError::BadShape)
}

/// Simulate one stream of normalised anomalies; returns the number of actions until the first
/// non-`Allow` decision (1-based), or `None` if the stream ends without one.
pub fn simulate(
    trust: &TrustConfig,
    start: f64,
    seconds_between: f64,
    anomalies: &[f64],
) -> Option<usize> {
    let mut st = TrustState::new(start, 0.0);
    let mut recent = Vec::with_capacity(trust.smoothing + 1);
    for (i, &a) in anomalies.iter().enumerate() {
        let d = trust.behaviour_delta(smoothed_anomaly(&mut recent, a, trust.smoothing));
        if st.apply(trust, (i + 1) as f64 * seconds_between, d) != Decision::Allow {
            return Some(i + 1);
        }
    }
    None
}

/// Normalised anomaly sequences for one subject.
#[derive(Debug, Clone)]
pub struct SubjectStreams {
    /// genuine stream (test repetitions, or held-out training scores for tuning)
    pub genuine: Vec<f64>,
    /// impostor streams
    pub impostors: Vec<Vec<f64>>,
}

/// Test streams (genuine sessions 5-8, impostors' session 1) and tuning streams (held-out
/// cross-validation scores of the training repetitions, impostors' session 2) of each subject.
pub fn build_streams(
    splits: &[CmuSplit],
    cfg: &StreamConfig,
) -> Result<(Vec<SubjectStreams>, Vec<SubjectStreams>), TrainError> {
    let mut test = Vec::with_capacity(splits.len());
    let mut dev = Vec::with_capacity(splits.len());
    for s in splits {
        let (mut t, mut d) = detector_streams(cfg.detector, s, cfg)?;
        if let Some(second) = cfg.second_detector {
            // equal-weight average of the two detectors' normalised anomalies
            let (t2, d2) = detector_streams(second, s, cfg)?;
            average_into(&mut t, &t2);
            average_into(&mut d, &d2);
        }
        test.push(t);
        dev.push(d);
    }
    Ok((test, dev))
}

fn average_into(a: &mut SubjectStreams, b: &SubjectStreams) {
    let avg = |x: &mut Vec<f64>, y: &[f64]| {
        for (p, q) in x.iter_mut().zip(y) {
            *p = 0.5 * (*p + q);
        }
    };
    avg(&mut a.genuine, &b.genuine);
    for (x, y) in a.impostors.iter_mut().zip(&b.impostors) {
        avg(x, y);
    }
}

/// Test and tuning streams of one subject under one detector.
fn detector_streams(
    kind: DetectorKind,
    s: &CmuSplit,
    cfg: &StreamConfig,
) -> Result<(SubjectStreams, SubjectStreams), TrainError> {
    let model: Model = kind.train(&s.train)?;
    let n = s.train.len();
    let (folds, skip) = if cfg.folds == 0 {
        // forward chaining: fit on the first half of the enrolment repetitions, hold out the
        // second half (later sessions: includes the between-session drift)
        let fit = &s.train[..n / 2];
        (vec![(n / 2, n, kind.train(fit)?)], n / 2)
    } else {
        // the user after enrolment is practised: calibrate and tune on the held-out scores of
        // the enrolment repetitions after the first quarter (the first session)
        (cv_models(kind, &s.train, cfg.folds)?, n / 4)
    };
    let held: Vec<f64> = folds
        .iter()
        .flat_map(|(lo, hi, m)| {
            let from = (*lo).max(skip).min(*hi);
            s.train[from..*hi].iter().map(|x| m.score(x))
        })
        .collect();
    let cal = Calibration::from_scores(&held, cfg.quantile).ok_or(TrainError::BadShape)?;
    let norm = |v: &[Vec<f64>]| adaptive_anomalies(&model, &cal, cfg, v);
    let test = SubjectStreams {
        genuine: norm(&s.genuine_test),
        impostors: s.impostor_stream.iter().map(|(_, v)| norm(v)).collect(),
    };
    let mut dev_genuine = Vec::with_capacity(held.len());
    for (lo, hi, m) in &folds {
        let from = (*lo).max(skip);
        if from < *hi {
            dev_genuine.extend(adaptive_anomalies(m, &cal, cfg, &s.train[from..*hi]));
        }
    }
    let dev = SubjectStreams {
        genuine: dev_genuine,
        impostors: s.impostor_dev.iter().map(|(_, v)| norm(v)).collect(),
    };
    Ok((test, dev))
}

/// Normalised anomalies of a stream, with session adaptation when configured: a sample at or
/// below `cfg.adapt_below` joins the neighbour references of the robust ensemble for the rest of
/// the stream.
pub fn adaptive_anomalies(
    model: &Model,
    cal: &Calibration,
    cfg: &StreamConfig,
    stream: &[Vec<f64>],
) -> Vec<f64> {
    match (model, cfg.adapt_below) {
        (Model::RobustEnsemble(e), Some(level)) => {
            let mut extra: Vec<Vec<f32>> = Vec::new();
            stream
                .iter()
                .map(|x| {
                    let a = cal.normalise(e.score_with_refs(x, &extra));
                    if a <= level && cfg.adapt_max > 0 {
                        if extra.len() >= cfg.adapt_max {
                            extra.remove(0);
                        }
                        extra.push(e.scaled_f32(x));
                    }
                    a
                })
                .collect()
        }
        _ => stream
            .iter()
            .map(|x| cal.normalise(model.score(x)))
            .collect(),
    }
}

/// Fold models of a contiguous k-fold split: `(lo, hi, model trained without lo..hi)`.
pub fn cv_models(
    kind: DetectorKind,
    train: &[Vec<f64>],
    folds: usize,
) -> Result<Vec<(usize, usize, Model)>, TrainError> {
    let n = train.len();
    let k = folds.clamp(2, n.max(2));
    let mut out = Vec::with_capacity(k);
    for f in 0..k {
        let (lo, hi) = (f * n / k, (f + 1) * n / k);
        let fit: Vec<Vec<f64>> = train[..lo]
            .iter()
            .chain(train[hi..].iter())
            .cloned()
            .collect();
        out.push((lo, hi, kind.train(&fit)?));
    }
    Ok(out)
}

/// Held-out scores from a contiguous k-fold cross-validation within the training vectors.
pub fn cv_scores(
    kind: DetectorKind,
    train: &[Vec<f64>],
    folds: usize,
) -> Result<Vec<f64>, TrainError> {
    let n = train.len();
    let k = folds.clamp(2, n.max(2));
    let mut held = Vec::with_capacity(n);
    for f in 0..k {
        let (lo, hi) = (f * n / k, (f + 1) * n / k);
        let fit: Vec<Vec<f64>> = train[..lo]
            .iter()
            .chain(train[hi..].iter())
            .cloned()
            .collect();
        let m = kind.train(&fit)?;
        held.extend(train[lo..hi].iter().map(|x| m.score(x)));
    }
    Ok(held)
}

/// Stream statistics of a trust configuration over prepared streams.
pub fn stream_stats(
    trust: &TrustConfig,
    cfg: &StreamConfig,
    streams: &[SubjectStreams],
) -> StreamResult {
    let mut g_actions = Vec::new();
    let mut g_ok = 0usize;
    let mut i_actions = Vec::new();
    let (mut c5, mut c10, mut never, mut max_run) = (0usize, 0usize, 0usize, 0usize);
    let (mut lockouts, mut g_total) = (0usize, 0usize);
    for s in streams {
        let mut rest: &[f64] = &s.genuine;
        g_total += rest.len();
        while let Some(n) = simulate(trust, cfg.start, cfg.seconds_between, rest) {
            lockouts += 1;
            rest = &rest[n..];
        }
        match simulate(trust, cfg.start, cfg.seconds_between, &s.genuine) {
            Some(n) => g_actions.push(n as f64),
            None => {
                g_ok += 1;
                g_actions.push(s.genuine.len() as f64);
            }
        }
        for stream in &s.impostors {
            let n = match simulate(trust, cfg.start, cfg.seconds_between, stream) {
                Some(n) => n,
                None => {
                    never += 1;
                    stream.len()
                }
            };
            c5 += usize::from(n <= 5);
            c10 += usize::from(n <= 10);
            max_run = max_run.max(n);
            i_actions.push(n as f64);
        }
    }
    let gi = g_actions.len().max(1) as f64;
    let ii = i_actions.len().max(1) as f64;
    StreamResult {
        genuine_streams: g_actions.len(),
        impostor_streams: i_actions.len(),
        anga: g_actions.iter().sum::<f64>() / gi,
        ania: i_actions.iter().sum::<f64>() / ii,
        genuine_never_interrupted: g_ok as f64 / gi,
        impostor_caught_within_5: c5 as f64 / ii,
        impostor_caught_within_10: c10 as f64 / ii,
        impostor_never_caught: never,
        impostor_max_actions: max_run,
        genuine_lockouts_with_restart: lockouts,
        anga_with_restart: g_total as f64 / lockouts.max(1) as f64,
    }
}

/// Grid of trust parameters searched on the tuning streams.
/// `(neutral, slope, reward_max, penalty_max)`, each combined with every smoothing window of
/// [`TUNING_SMOOTHING`].
pub const TUNING_GRID: (&[f64], &[f64], &[f64], &[f64]) = (
    &[0.25, 0.5, 0.75, 1.0, 1.5],
    &[5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 60.0],
    &[2.5, 5.0, 10.0],
    &[25.0, 45.0],
);

/// Smoothing windows searched (see [`TrustConfig::smoothing`]).
pub const TUNING_SMOOTHING: &[usize] = &[1, 3];

/// Choose `neutral`, `slope`, `reward_max`, `penalty_max` and `smoothing` on the tuning streams only: among the grid points
/// whose tuning genuine streams stay uninterrupted at least `min_genuine` of the time, the one
/// with the lowest tuning ANIA (ties: more impostors caught within 10). Falls back to the base
/// configuration when no grid point qualifies.
pub fn tune_trust(
    base: &TrustConfig,
    cfg: &StreamConfig,
    dev: &[SubjectStreams],
    min_genuine: f64,
) -> TrustConfig {
    let mut best: Option<(f64, f64, TrustConfig)> = None;
    for (&neutral, &smoothing) in TUNING_GRID
        .0
        .iter()
        .flat_map(|n| TUNING_SMOOTHING.iter().map(move |m| (n, m)))
    {
        for &slope in TUNING_GRID.1 {
            for (&reward_max, &penalty_max) in TUNING_GRID
                .2
                .iter()
                .flat_map(|r| TUNING_GRID.3.iter().map(move |p| (r, p)))
            {
                let t = TrustConfig {
                    neutral,
                    slope,
                    reward_max,
                    penalty_max,
                    smoothing,
                    ..base.clone()
                };
                let r = stream_stats(&t, cfg, dev);
                if r.genuine_never_interrupted + 1e-12 < min_genuine {
                    continue;
                }
                let better = match &best {
                    None => true,
                    Some((ania, c10, _)) => {
                        r.ania < *ania - 1e-12
                            || (r.ania <= *ania + 1e-12 && r.impostor_caught_within_10 > *c10)
                    }
                };
                if better {
                    best = Some((r.ania, r.impostor_caught_within_10, t));
                }
            }
        }
    }
    best.map_or_else(|| base.clone(), |b| b.2)
}

/// Full stream evaluation: build streams, tune the trust parameters on the tuning streams
/// (training data only), then report on the test streams. Returns the tuned configuration, the
/// tuning-set statistics and the test statistics.
pub fn evaluate_streams(
    splits: &[CmuSplit],
    cfg: &StreamConfig,
    min_genuine: f64,
) -> Result<(TrustConfig, StreamResult, StreamResult), TrainError> {
    let (test, dev) = build_streams(splits, cfg)?;
    let tuned = tune_trust(&cfg.trust, cfg, &dev, min_genuine);
    let dev_stats = stream_stats(&tuned, cfg, &dev);
    let test_stats = stream_stats(&tuned, cfg, &test);
    Ok((tuned, dev_stats, test_stats))
}
