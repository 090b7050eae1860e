//! Stream evaluation of the trust model on the CMU data.
//!
//! For each subject, the detector is trained on the 200 training repetitions (sessions 1-4) and
//! calibrated with held-out scores from inside those same 200 repetitions (by default
//! leave-one-session-out, sessions 2-4 held out in turn). Then:
//!
//! * the **genuine stream** is the subject's 200 test repetitions (sessions 5-8) in order;
//! * the **impostor streams** are, for every other subject, that subject's 50 session-1
//!   repetitions in order (50 streams per genuine user, 2,550 in all).
//!
//! Each stream starts at trust `start` (a fresh passkey sign-in), with `seconds_between` seconds
//! between typings (decay), and stops at the first decision other than `Allow` (a lockout).
//! Samples the stream accepts adapt the template for the rest of that stream (genuine and
//! impostor streams alike). The trust parameters are tuned on streams built from training data
//! only ([`TuningStreams`]), never on the test streams.

use crate::confidence::{Calibration, Decision, TrustConfig, TrustState, smoothed_anomaly};
use crate::detectors::{DetectorKind, Model, TrainError};
use crate::ensemble::{EnsembleParams, RobustEnsemble};
use crate::eval::CmuSplit;
use serde::{Deserialize, Serialize};

/// Parameters of the stream evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamConfig {
    /// detector used for the behavioural score
    pub detector: DetectorKind,
    /// optional second detector whose normalised anomaly is averaged with the first one's
    pub second_detector: Option<DetectorKind>,
    /// with [`TuningStreams::CrossValidation`] only: number of contiguous folds for the
    /// calibration scores; 0 = forward chaining (fit on the first half of the enrolment
    /// repetitions, hold out the second half). [`TuningStreams::ForwardChaining`] calibrates by
    /// leave-one-session-out instead.
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
    /// neighbour references for the rest of the stream and move the centre (see
    /// `adapt_center`) (`None` = no adaptation; only the robust ensemble adapts)
    pub adapt_below: Option<f64>,
    /// at most this many adapted references are kept (oldest dropped first)
    pub adapt_max: usize,
    /// session adaptation of the robust centre: each adapted sample moves the centre term's
    /// centre by this fraction of its (clipped, scaled) deviation (0 = off)
    pub adapt_center: f64,
    /// hyperparameters of the robust ensemble when it is the stream detector
    pub ensemble: EnsembleParams,
    /// shape of the per-sample trust change searched by the tuning
    pub shape: PenaltyShape,
    /// how the tuning streams (and the calibration) are built
    pub tuning: TuningStreams,
}

/// How the tuning streams are built (both use training data only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TuningStreams {
    /// genuine: held-out `folds`-fold cross-validation scores of training reps 51-200 under the
    /// fold models; impostors: the other subjects' session 2 under the full model
    CrossValidation,
    /// the test construction one session earlier: model on sessions 1-3 (calibrated by
    /// leave-one-session-out), genuine stream = session 4, impostor streams = the other
    /// subjects' session 2; the test model is calibrated the same way on sessions 1-4
    ForwardChaining,
}

/// Shape of the per-sample trust change searched by [`tune_trust`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PenaltyShape {
    /// `slope * (neutral - a)`, limited (the grid [`TUNING_GRID`])
    Linear,
    /// a scaled log-likelihood ratio of genuine vs impostor normalised anomalies, estimated on
    /// the tuning streams (see [`llr_table`]; grid [`LLR_GRID`])
    LogLikelihoodRatio,
    /// both grids; the tuning rule picks among all their points
    Both,
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
            adapt_center: 0.1,
            ensemble: EnsembleParams::default(),
            shape: PenaltyShape::Both,
            tuning: TuningStreams::ForwardChaining,
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

/// Train the stream detector (the robust ensemble with `cfg.ensemble`, any other kind as usual).
fn train_kind(
    kind: DetectorKind,
    train: &[Vec<f64>],
    cfg: &StreamConfig,
) -> Result<Model, TrainError> {
    match kind {
        DetectorKind::RobustEnsemble => Ok(Model::RobustEnsemble(RobustEnsemble::train(
            train,
            &cfg.ensemble,
        )?)),
        k => k.train(train),
    }
}

/// Contiguous k-fold splits of `train` (k clamped to 2..=n): each fold's held-out range
/// `lo..hi` and the rows outside it.
fn contiguous_folds(
    train: &[Vec<f64>],
    folds: usize,
) -> impl Iterator<Item = (usize, usize, Vec<Vec<f64>>)> + '_ {
    let n = train.len();
    let k = folds.clamp(2, n.max(2));
    (0..k).map(move |f| {
        let (lo, hi) = (f * n / k, (f + 1) * n / k);
        let fit = train[..lo].iter().chain(&train[hi..]).cloned().collect();
        (lo, hi, fit)
    })
}

/// Per-user calibration by contiguous k-fold cross-validation within the training vectors.
pub fn cv_calibration(
    kind: DetectorKind,
    train: &[Vec<f64>],
    folds: usize,
    q: f64,
) -> Result<Calibration, TrainError> {
    let mut held = Vec::with_capacity(train.len());
    for (lo, hi, fit) in contiguous_folds(train, folds) {
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
    let mut decay = (f64::NAN, 1.0);
    for (i, &a) in anomalies.iter().enumerate() {
        let d = trust.behaviour_delta(smoothed_anomaly(&mut recent, a, trust.smoothing));
        let now = (i + 1) as f64 * seconds_between;
        if st.apply_cached(trust, now, d, &mut decay) != Decision::Allow {
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
    let per_subject = parallel_map(splits.len(), |i| {
        let s = &splits[i];
        let (mut t, mut d) = detector_streams(cfg.detector, s, cfg)?;
        if let Some(second) = cfg.second_detector {
            // equal-weight average of the two detectors' normalised anomalies
            let (t2, d2) = detector_streams(second, s, cfg)?;
            average_into(&mut t, &t2);
            average_into(&mut d, &d2);
        }
        Ok((t, d))
    });
    let mut test = Vec::with_capacity(splits.len());
    let mut dev = Vec::with_capacity(splits.len());
    for r in per_subject {
        let (t, d) = r?;
        test.push(t);
        dev.push(d);
    }
    Ok((test, dev))
}

/// `(0..n).map(f)` spread over the available cores (interleaved, results in order). The
/// subjects' models are independent, so the result does not depend on the number of threads.
pub(crate) fn parallel_map<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .clamp(1, n.max(1));
    let f = &f;
    let mut tagged: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    (t..n)
                        .step_by(threads)
                        .map(|i| (i, f(i)))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(e) => std::panic::resume_unwind(e),
            })
            .collect()
    });
    tagged.sort_by_key(|(i, _)| *i);
    tagged.into_iter().map(|(_, r)| r).collect()
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
    if cfg.tuning == TuningStreams::ForwardChaining {
        return forward_streams(kind, s, cfg);
    }
    let model: Model = train_kind(kind, &s.train, cfg)?;
    let n = s.train.len();
    let (folds, skip) = if cfg.folds == 0 {
        // forward chaining: fit on the first half of the enrolment repetitions, hold out the
        // second half (later sessions: includes the between-session drift)
        let fit = &s.train[..n / 2];
        (vec![(n / 2, n, train_kind(kind, fit, cfg)?)], n / 2)
    } else {
        // the user after enrolment is practised: calibrate and tune on the held-out scores of
        // the enrolment repetitions after the first quarter (the first session)
        (cv_models_cfg(kind, &s.train, cfg)?, n / 4)
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

/// Repetitions per CMU session.
pub const SESSION_REPS: usize = 50;

/// A model trained on `train` (whole sessions, oldest first) and its calibration from
/// leave-one-session-out held-out scores of every session but the first (the unpractised one).
fn session_calibrated(
    kind: DetectorKind,
    train: &[Vec<f64>],
    cfg: &StreamConfig,
) -> Result<(Model, Calibration), TrainError> {
    let sessions = train.len() / SESSION_REPS;
    if sessions < 2 {
        return Err(TrainError::TooFewSamples);
    }
    let mut held = Vec::with_capacity(train.len());
    for f in 1..sessions {
        let (lo, hi) = (f * SESSION_REPS, (f + 1) * SESSION_REPS);
        let fit: Vec<Vec<f64>> = train[..lo]
            .iter()
            .chain(train[hi..].iter())
            .cloned()
            .collect();
        let m = train_kind(kind, &fit, cfg)?;
        held.extend(train[lo..hi].iter().map(|x| m.score(x)));
    }
    let cal = Calibration::from_scores(&held, cfg.quantile).ok_or(TrainError::BadShape)?;
    Ok((train_kind(kind, train, cfg)?, cal))
}

/// The genuine-only models of one subject behind the forward-chaining streams, each with its
/// leave-one-session-out calibration: `test` trained on sessions 1-4, `tuning` on sessions 1-3.
#[derive(Debug, Clone)]
pub struct ForwardModels {
    /// model and calibration for the test streams
    pub test: (Model, Calibration),
    /// model and calibration for the tuning streams
    pub tuning: (Model, Calibration),
    /// unadapted normalised anomalies of the subject's impostor test streams
    /// ([`CmuSplit::impostor_stream`], same order) under `test`: what a stream scores until its
    /// template first adapts, computed once for every model that reuses this template
    pub test_impostors: Vec<Vec<f64>>,
    /// the same for the impostor tuning streams ([`CmuSplit::impostor_dev`]) under `tuning`
    pub tuning_impostors: Vec<Vec<f64>>,
}

impl ForwardModels {
    /// Train both models of subject `s` (four training sessions expected).
    pub fn train(kind: DetectorKind, s: &CmuSplit, cfg: &StreamConfig) -> Result<Self, TrainError> {
        let cut = s.train.len().saturating_sub(SESSION_REPS);
        let test = session_calibrated(kind, &s.train, cfg)?;
        let tuning = session_calibrated(kind, &s.train[..cut], cfg)?;
        let unadapted = |(m, c): &(Model, Calibration), streams: &[(String, Vec<Vec<f64>>)]| {
            let fresh = SessionAdapter::new(m, c, cfg);
            streams
                .iter()
                .map(|(_, v)| v.iter().map(|x| fresh.anomaly(x)).collect())
                .collect()
        };
        Ok(ForwardModels {
            test_impostors: unadapted(&test, &s.impostor_stream),
            tuning_impostors: unadapted(&tuning, &s.impostor_dev),
            test,
            tuning,
        })
    }

    /// The forward-chaining test and tuning streams of subject `s` under these models.
    pub fn streams(&self, s: &CmuSplit, cfg: &StreamConfig) -> (SubjectStreams, SubjectStreams) {
        let (model, cal) = &self.test;
        let norm = |v: &[Vec<f64>], c: Option<&[f64]>| adapted_stream(model, cal, cfg, v, c);
        let test = SubjectStreams {
            genuine: norm(&s.genuine_test, None),
            impostors: s
                .impostor_stream
                .iter()
                .zip(&self.test_impostors)
                .map(|((_, v), c)| norm(v, Some(c)))
                .collect(),
        };
        let cut = s.train.len().saturating_sub(SESSION_REPS);
        let (dm, dcal) = &self.tuning;
        let dnorm = |v: &[Vec<f64>], c: Option<&[f64]>| adapted_stream(dm, dcal, cfg, v, c);
        let dev = SubjectStreams {
            genuine: dnorm(&s.train[cut..], None),
            impostors: s
                .impostor_dev
                .iter()
                .zip(&self.tuning_impostors)
                .map(|((_, v), c)| dnorm(v, Some(c)))
                .collect(),
        };
        (test, dev)
    }
}

/// [`ForwardModels`] of the stream detector (`cfg.detector`) for every subject.
pub fn forward_models(
    splits: &[CmuSplit],
    cfg: &StreamConfig,
) -> Result<Vec<ForwardModels>, TrainError> {
    parallel_map(splits.len(), |i| {
        ForwardModels::train(cfg.detector, &splits[i], cfg)
    })
    .into_iter()
    .collect()
}

/// Test and tuning streams built the same way, one session apart: the test model is trained on
/// sessions 1-4 and streams sessions 5-8; the tuning model is trained on sessions 1-3 and
/// streams session 4 (genuine) and the other subjects' session 2 (impostors). Both are calibrated
/// by leave-one-session-out inside their own training sessions.
fn forward_streams(
    kind: DetectorKind,
    s: &CmuSplit,
    cfg: &StreamConfig,
) -> Result<(SubjectStreams, SubjectStreams), TrainError> {
    Ok(ForwardModels::train(kind, s, cfg)?.streams(s, cfg))
}

/// Normalised anomalies of a stream, with session adaptation when configured: a sample at or
/// below `cfg.adapt_below` adapts the template for the rest of the stream ([`SessionAdapter`]).
pub fn adaptive_anomalies(
    model: &Model,
    cal: &Calibration,
    cfg: &StreamConfig,
    stream: &[Vec<f64>],
) -> Vec<f64> {
    adapted_stream(model, cal, cfg, stream, None)
}

/// [`adaptive_anomalies`], reading a sample's anomaly from `unadapted` (the same stream's
/// anomalies under the unadapted template, when given and of the same length) until the template
/// first adapts. The result is the same.
fn adapted_stream(
    model: &Model,
    cal: &Calibration,
    cfg: &StreamConfig,
    stream: &[Vec<f64>],
    unadapted: Option<&[f64]>,
) -> Vec<f64> {
    let unadapted = unadapted.filter(|u| u.len() == stream.len());
    match cfg.adapt_below {
        Some(level) => {
            let mut ad = SessionAdapter::new(model, cal, cfg);
            stream
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let a = ad.anomaly_or(x, unadapted.map(|u| u[i]));
                    if a <= level {
                        ad.accept(x);
                    }
                    a
                })
                .collect()
        }
        None => stream
            .iter()
            .map(|x| cal.normalise(model.score(x)))
            .collect(),
    }
}

/// The session-adapted template of one stream: samples the caller accepts ([`Self::accept`])
/// join the robust ensemble's neighbour references (at most `cfg.adapt_max`, oldest dropped
/// first) and move its centre by `cfg.adapt_center` of their clipped deviation. Other detectors
/// do not adapt. Which samples to accept is the caller's decision (from its own scores, never
/// from labels).
pub struct SessionAdapter<'a> {
    model: &'a Model,
    cal: &'a Calibration,
    extra: Vec<Vec<f32>>,
    shift: Vec<f64>,
    rate: f64,
    max: usize,
}

impl<'a> SessionAdapter<'a> {
    /// A fresh stream on `model` (calibrated by `cal`), adapting as `cfg` says.
    pub fn new(model: &'a Model, cal: &'a Calibration, cfg: &StreamConfig) -> Self {
        SessionAdapter {
            model,
            cal,
            extra: Vec::new(),
            shift: Vec::new(),
            rate: cfg.adapt_center,
            max: cfg.adapt_max,
        }
    }

    /// Normalised anomaly of `x` under the adapted template.
    pub fn anomaly(&self, x: &[f64]) -> f64 {
        match self.model {
            Model::RobustEnsemble(e) => {
                self.cal
                    .normalise(e.score_adapted(x, &self.extra, &self.shift))
            }
            m => self.cal.normalise(m.score(x)),
        }
    }

    /// [`Self::anomaly`], or `unadapted` (the anomaly of `x` under the unadapted template,
    /// computed earlier) while the template has not adapted yet.
    pub fn anomaly_or(&self, x: &[f64], unadapted: Option<f64>) -> f64 {
        match unadapted {
            Some(a) if self.extra.is_empty() && self.shift.is_empty() => a,
            _ => self.anomaly(x),
        }
    }

    /// Adapt the template to `x` for the rest of the stream.
    pub fn accept(&mut self, x: &[f64]) {
        let Model::RobustEnsemble(e) = self.model else {
            return;
        };
        let z = e.scaled_f32(x);
        if self.rate > 0.0 {
            let clip = e.params.clip;
            self.shift.resize(z.len(), 0.0);
            for (s, v) in self.shift.iter_mut().zip(&z) {
                *s += self.rate * (f64::from(*v) - *s).clamp(-clip, clip);
            }
        }
        if self.max > 0 {
            if self.extra.len() >= self.max {
                self.extra.remove(0);
            }
            self.extra.push(z);
        }
    }
}

fn cv_models_cfg(
    kind: DetectorKind,
    train: &[Vec<f64>],
    cfg: &StreamConfig,
) -> Result<Vec<(usize, usize, Model)>, TrainError> {
    contiguous_folds(train, cfg.folds)
        .map(|(lo, hi, fit)| Ok((lo, hi, train_kind(kind, &fit, cfg)?)))
        .collect()
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

/// Grid of the log-likelihood-ratio shape: `(scale in trust points per nat, bias in nats,
/// reward_max, penalty_max)`; the change is `-scale * (llr(a) - bias)`.
pub const LLR_GRID: (&[f64], &[f64], &[f64], &[f64]) = (
    &[2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0],
    &[-1.0, 0.0, 1.0, 2.0, 3.0],
    &[2.5, 5.0, 10.0],
    &[25.0, 45.0],
);

/// Lower edge, bin width and number of bins of the anomaly histogram behind [`llr_table`].
pub const LLR_BINS: (f64, f64, usize) = (-3.0, 0.25, 64);

/// Log-likelihood ratio `ln p_impostor(a) / p_genuine(a)` of a normalised anomaly, estimated
/// from the pooled normalised anomalies of the tuning streams (training data only): histograms
/// over [`LLR_BINS`] (values outside fall into the end bins), half a count added to every bin,
/// then made non-decreasing in `a` by pool-adjacent-violators (weighted by the bins' counts).
/// Returns knots `[bin centre, llr]`.
pub fn llr_table(dev: &[SubjectStreams]) -> Vec<[f64; 2]> {
    let (lo, w, nb) = LLR_BINS;
    let bin = |a: f64| (((a - lo) / w).floor().max(0.0) as usize).min(nb - 1);
    let mut g = vec![0.5f64; nb];
    let mut im = vec![0.5f64; nb];
    for s in dev {
        for &a in s.genuine.iter().filter(|a| a.is_finite()) {
            g[bin(a)] += 1.0;
        }
        for st in &s.impostors {
            for &a in st.iter().filter(|a| a.is_finite()) {
                im[bin(a)] += 1.0;
            }
        }
    }
    let (gs, is) = (g.iter().sum::<f64>(), im.iter().sum::<f64>());
    // pool adjacent violators on (llr, weight)
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(nb);
    for b in 0..nb {
        let llr = (im[b] / is).ln() - (g[b] / gs).ln();
        let mut cur = (llr, g[b] + im[b], 1usize);
        while let Some(&(v, wt, n)) = blocks.last() {
            if v <= cur.0 {
                break;
            }
            blocks.pop();
            let tw = wt + cur.1;
            cur = ((v * wt + cur.0 * cur.1) / tw, tw, n + cur.2);
        }
        blocks.push(cur);
    }
    let mut out = Vec::with_capacity(nb);
    for (v, _, n) in blocks {
        for _ in 0..n {
            let b = out.len();
            out.push([lo + (b as f64 + 0.5) * w, v]);
        }
    }
    out
}

/// The trust-change curve `-scale * (llr - bias)` of an LLR table.
pub fn llr_curve(table: &[[f64; 2]], scale: f64, bias: f64) -> Vec<[f64; 2]> {
    table
        .iter()
        .map(|[a, l]| [*a, -scale * (l - bias)])
        .collect()
}

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
    let genuine_allowed = dev.len() as f64 * (1.0 - min_genuine) + 1e-9;
    let mut consider = |t: TrustConfig| {
        // reject on the genuine streams first (cheap) before running the impostor streams
        let interrupted = dev
            .iter()
            .filter(|s| simulate(&t, cfg.start, cfg.seconds_between, &s.genuine).is_some())
            .count();
        if interrupted as f64 > genuine_allowed {
            return;
        }
        let r = stream_stats(&t, cfg, dev);
        if r.genuine_never_interrupted + 1e-12 < min_genuine {
            return;
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
    };
    if cfg.shape != PenaltyShape::Linear {
        let table = llr_table(dev);
        for &scale in LLR_GRID.0 {
            for &bias in LLR_GRID.1 {
                let curve = llr_curve(&table, scale, bias);
                // the anomaly at which the curve crosses zero, for the record
                let neutral = curve
                    .iter()
                    .find(|k| k[1] < 0.0)
                    .map_or(f64::INFINITY, |k| k[0]);
                for &reward_max in LLR_GRID.2 {
                    for &penalty_max in LLR_GRID.3 {
                        consider(TrustConfig {
                            neutral,
                            slope: scale,
                            reward_max,
                            penalty_max,
                            smoothing: 1,
                            curve: curve.clone(),
                            ..base.clone()
                        });
                    }
                }
            }
        }
    }
    let linear = cfg.shape != PenaltyShape::LogLikelihoodRatio;
    for (&neutral, &smoothing) in TUNING_GRID
        .0
        .iter()
        .filter(|_| linear)
        .flat_map(|n| TUNING_SMOOTHING.iter().map(move |m| (n, m)))
    {
        for &slope in TUNING_GRID.1 {
            for (&reward_max, &penalty_max) in TUNING_GRID
                .2
                .iter()
                .flat_map(|r| TUNING_GRID.3.iter().map(move |p| (r, p)))
            {
                consider(TrustConfig {
                    neutral,
                    slope,
                    reward_max,
                    penalty_max,
                    smoothing,
                    curve: Vec::new(),
                    ..base.clone()
                });
            }
        }
    }
    best.map_or_else(|| base.clone(), |b| b.2)
}

/// The share of tuning genuine streams that must stay uninterrupted so that test-length streams
/// stay uninterrupted at `min_genuine`: `min_genuine^(tuning length / test length)` (mean
/// genuine stream lengths; interruptions taken as independent between stretches of that length).
/// The tuning genuine streams are shorter (one session against four), so the requirement is
/// stricter than `min_genuine` itself.
pub fn length_adjusted(min_genuine: f64, dev: &[SubjectStreams], test: &[SubjectStreams]) -> f64 {
    let mean_len = |v: &[SubjectStreams]| {
        v.iter().map(|s| s.genuine.len() as f64).sum::<f64>() / v.len().max(1) as f64
    };
    let (d, t) = (mean_len(dev), mean_len(test));
    if d > 0.0 && t > d {
        min_genuine.powf(d / t)
    } else {
        min_genuine
    }
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
    let tuned = tune_trust(
        &cfg.trust,
        cfg,
        &dev,
        length_adjusted(min_genuine, &dev, &test),
    );
    let dev_stats = stream_stats(&tuned, cfg, &dev);
    let test_stats = stream_stats(&tuned, cfg, &test);
    Ok((tuned, dev_stats, test_stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::SplitMix64;

    fn rows(rng: &mut SplitMix64, n: usize, centre: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                (0..6)
                    .map(|j| {
                        centre
                            + 0.01 * j as f64
                            + 0.02 * (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn precomputed_unadapted_anomalies_change_nothing() {
        let mut rng = SplitMix64(9);
        let cfg = StreamConfig::default();
        let train = rows(&mut rng, 4 * SESSION_REPS, 0.2);
        let (model, cal) = session_calibrated(DetectorKind::RobustEnsemble, &train, &cfg).unwrap();
        // a stream that starts unlike the user (no adaptation) and then types like them
        let mut stream = rows(&mut rng, 10, 0.3);
        stream.extend(rows(&mut rng, 40, 0.2));
        let fresh = SessionAdapter::new(&model, &cal, &cfg);
        let unadapted: Vec<f64> = stream.iter().map(|x| fresh.anomaly(x)).collect();
        let plain = adaptive_anomalies(&model, &cal, &cfg, &stream);
        let level = cfg.adapt_below.unwrap();
        let first = plain.iter().position(|a| *a <= level).unwrap();
        assert!(first >= 10, "{first}");
        // the template adapted: later anomalies differ from the unadapted ones
        assert_ne!(plain[first + 1..], unadapted[first + 1..]);
        assert_eq!(
            plain,
            adapted_stream(&model, &cal, &cfg, &stream, Some(&unadapted))
        );
        // a cache of the wrong length is ignored
        assert_eq!(
            plain,
            adapted_stream(&model, &cal, &cfg, &stream, Some(&unadapted[1..]))
        );
    }
}
