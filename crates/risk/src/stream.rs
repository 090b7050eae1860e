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

use crate::confidence::{BehaviourSample, Calibration, Decision, TrustConfig, TrustState};
use crate::detectors::{DetectorKind, Model, TrainError};
use crate::eval::CmuSplit;
use serde::{Deserialize, Serialize};

/// Parameters of the stream evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// detector used for the behavioural score
    pub detector: DetectorKind,
    /// number of contiguous folds for the calibration scores
    pub folds: usize,
    /// quantile of held-out genuine scores taken as the edge of the typical range
    pub quantile: f64,
    /// trust model
    pub trust: TrustConfig,
    /// starting trust (assurance of the sign-in)
    pub start: f64,
    /// simulated seconds between typings
    pub seconds_between: f64,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            detector: DetectorKind::RobustEnsemble,
            folds: 5,
            quantile: 0.95,
            trust: TrustConfig::default(),
            start: 100.0,
            seconds_between: 10.0,
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

/// Run one stream; returns the number of actions until the first non-`Allow` decision
/// (1-based), or `None` if the stream ends without one.
pub fn run_stream(
    model: &Model,
    cal: &Calibration,
    cfg: &StreamConfig,
    stream: &[Vec<f64>],
) -> Option<usize> {
    let mut st = TrustState::new(cfg.start, 0.0);
    for (i, x) in stream.iter().enumerate() {
        let score = model.score(x);
        let sample = BehaviourSample {
            modality: "keystroke".into(),
            score,
            anomaly: cal.normalise(score),
            features: Vec::new(),
        };
        let e = st.observe(&cfg.trust, (i + 1) as f64 * cfg.seconds_between, &sample);
        if e.decision != Decision::Allow {
            return Some(i + 1);
        }
    }
    None
}

/// Evaluate genuine and impostor streams for every subject.
pub fn evaluate_streams(
    splits: &[CmuSplit],
    cfg: &StreamConfig,
) -> Result<StreamResult, TrainError> {
    let mut g_actions = Vec::new();
    let mut g_ok = 0usize;
    let mut i_actions = Vec::new();
    let (mut c5, mut c10, mut never, mut max_run) = (0usize, 0usize, 0usize, 0usize);
    for s in splits {
        let model = cfg.detector.train(&s.train)?;
        let cal = cv_calibration(cfg.detector, &s.train, cfg.folds, cfg.quantile)?;
        match run_stream(&model, &cal, cfg, &s.genuine_test) {
            Some(n) => g_actions.push(n as f64),
            None => {
                g_ok += 1;
                g_actions.push(s.genuine_test.len() as f64);
            }
        }
        for (_, stream) in &s.impostor_stream {
            let n = match run_stream(&model, &cal, cfg, stream) {
                Some(n) => n,
                None => {
                    never += 1;
                    stream.len()
                }
            };
            if n <= 5 {
                c5 += 1;
            }
            if n <= 10 {
                c10 += 1;
            }
            max_run = max_run.max(n);
            i_actions.push(n as f64);
        }
    }
    let gi = g_actions.len().max(1) as f64;
    let ii = i_actions.len().max(1) as f64;
    Ok(StreamResult {
        genuine_streams: g_actions.len(),
        impostor_streams: i_actions.len(),
        anga: g_actions.iter().sum::<f64>() / gi,
        ania: i_actions.iter().sum::<f64>() / ii,
        genuine_never_interrupted: g_ok as f64 / gi,
        impostor_caught_within_5: c5 as f64 / ii,
        impostor_caught_within_10: c10 as f64 / ii,
        impostor_never_caught: never,
        impostor_max_actions: max_run,
    })
}
