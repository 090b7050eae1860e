//! Impostor-aware (discriminative) per-user stream model for the CMU data, evaluated with the
//! test impostors unseen.
//!
//! The genuine-only detectors ([`crate::detectors`], [`crate::ensemble`]) learn the user alone.
//! Here each user gets a two-class scorer trained with the user's own repetitions as positives
//! and other subjects' repetitions as negatives: by default the crate's random forest
//! ([`crate::forest`]), whose impostor log-odds are added to the genuine-only robust ensemble's
//! normalised anomaly ([`DiscriminativeParams`]); [`LogisticScorer`] (L2-regularised logistic
//! regression on the user-standardised timings and their absolute values) is the alternative.
//! The hyperparameters were chosen on the tuning streams only (docs/continuous-auth.md).
//!
//! # Protocol ([`fold_plan`], [`discriminative_streams`])
//!
//! Subjects are numbered in file order (0 = `s002`). For genuine user `u`, the other 50
//! subjects are split by the parity of their index into two fixed halves. Fold `f` (0 or 1)
//! trains on the half of parity `f` and tests on the half of parity `1 - f`:
//!
//! * **test model**: positives = `u`'s sessions 1-4 (200 reps); negatives = sessions 2-4 of the
//!   training-half subjects (session 1 of every subject is an impostor test stream and sessions
//!   5-8 are genuine test streams, so neither is ever a negative);
//! * **test streams**: `u`'s sessions 5-8 (genuine) and session 1 of every **test-half** subject
//!   (impostors). Across the two folds each of the 2,550 impostor streams is run exactly once, by
//!   a model that never saw any repetition of that subject; the genuine stream is run under both
//!   fold models (102 genuine stream runs);
//! * **tuning model and streams** (training data only, the test construction one session earlier
//!   and one half-split deeper): the training half is split again by position (even and odd
//!   positions); positives = `u`'s sessions 1-3, negatives = sessions 2-4 of the even positions;
//!   genuine tuning stream = `u`'s session 4, impostor tuning streams = session 2 of the odd
//!   positions.
//!
//! The "seen impostors" variant ([`SeenImpostors`]) is the weaker protocol: negatives from every
//! other subject (sessions 2-4), so each impostor stream comes from a subject the model was
//! trained against (never from the same repetitions).
//!
//! # Online adaptation ([`DiscriminativeParams::adapt_below`], [`DiscriminativeParams::drift_rate`])
//!
//! Users keep drifting after enrolment (the test sessions 5-8 are faster than sessions 1-4), which
//! is what interrupts genuine streams. Within one stream, a sample whose *combined* anomaly
//! (scorer plus genuine-only) is at or below `adapt_below` is taken as the user's:
//!
//! * it adapts the genuine-only template for the rest of the stream
//!   ([`crate::stream::SessionAdapter`]: it joins the neighbour references and moves the robust
//!   centre);
//! * it moves the scorer's input drift estimate `d += drift_rate * ((x - m) - d)`, where `m` is
//!   the mean of the user's training rows; the scorer then scores `x - d`.
//!
//! Only the stream's own past samples and the model's own scores decide; no label is used, and
//! impostor streams adapt by the same rule as genuine ones. Without `adapt_below` the genuine-only
//! template adapts on its own anomaly (the genuine-only model's rule) and the scorer never adapts.
//!
//! The scorer's output, the impostor log-odds divided by [`LOGIT_SCALE`] (plus the genuine-only
//! anomaly), is the "normalised anomaly" the trust model consumes; the trust parameters are
//! tuned on the tuning streams by [`crate::stream::tune_trust`] (the log-likelihood-ratio shape
//! re-estimates its own calibration from those streams).

use crate::confidence::{Calibration, TrustConfig};
use crate::detectors::{Model, TrainError};
use crate::eval::CmuSplit;
use crate::forest::{Forest, ForestParams};
use crate::stream::{
    ForwardModels, SESSION_REPS, SessionAdapter, StreamConfig, StreamResult, SubjectStreams,
    length_adjusted, stream_stats, tune_trust,
};
use serde::{Deserialize, Serialize};

/// Impostor log-odds per unit of the anomaly handed to the trust model (puts the useful range of
/// log-odds inside the histogram of [`crate::stream::LLR_BINS`]).
pub const LOGIT_SCALE: f64 = 2.0;

/// Hyperparameters of [`LogisticScorer`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// L2 penalty on the weights (not the bias), per unit of total sample weight (each class
    /// weighs one half in total)
    pub lambda: f64,
    /// Newton (IRLS) iterations
    pub iterations: usize,
    /// standardised deviations are clipped to `[-clip, clip]`
    pub clip: f64,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            lambda: 0.1,
            iterations: 8,
            clip: 8.0,
        }
    }
}

/// L2-regularised logistic regression of "impostor" against "this user" on the features
/// `[z, |z|]`, where `z` is a timing standardised by the user's own mean and standard deviation.
/// The `|z|` half lets a linear model learn, per timing, how much a deviation in either direction
/// counts; the `z` half learns in which direction other people differ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticScorer {
    mean: Vec<f64>,
    sd: Vec<f64>,
    clip: f64,
    /// weights of `[z, |z|]`
    w: Vec<f64>,
    b: f64,
}

impl LogisticScorer {
    /// Train on the user's rows (`genuine`) against other people's rows (`impostors`); each class
    /// has total weight one half. Fails on empty or ragged input.
    pub fn train(
        genuine: &[Vec<f64>],
        impostors: &[Vec<f64>],
        p: &LogisticParams,
    ) -> Result<Self, TrainError> {
        if genuine.len() < 2 || impostors.is_empty() {
            return Err(TrainError::TooFewSamples);
        }
        let d = genuine[0].len();
        if d == 0 || genuine.iter().chain(impostors).any(|r| r.len() != d) {
            return Err(TrainError::BadShape);
        }
        let mean = crate::linalg::col_means(genuine);
        let sd: Vec<f64> = crate::detectors::col_sds(genuine, &mean)
            .into_iter()
            .map(|s| s.max(1e-3))
            .collect();
        let mut m = LogisticScorer {
            mean,
            sd,
            clip: p.clip,
            w: vec![0.0; 2 * d],
            b: 0.0,
        };
        // each row: features with a trailing 1 for the bias, label, weight
        let with_bias = |x: &Vec<f64>| {
            let mut f = m.features(x);
            f.push(1.0);
            f
        };
        let rows: Vec<(Vec<f64>, f64, f64)> = genuine
            .iter()
            .map(|x| (with_bias(x), 0.0, 0.5 / genuine.len() as f64))
            .chain(
                impostors
                    .iter()
                    .map(|x| (with_bias(x), 1.0, 0.5 / impostors.len() as f64)),
            )
            .collect();
        let k = 2 * d + 1; // weights then bias
        let mut theta = vec![0.0; k];
        let mut h = vec![0.0; k * k];
        let mut g = vec![0.0; k];
        for _ in 0..p.iterations.max(1) {
            h.iter_mut().for_each(|v| *v = 0.0);
            g.iter_mut().for_each(|v| *v = 0.0);
            for (f, y, c) in &rows {
                let pr = sigmoid(dot(&theta, f));
                let r = c * (pr - y);
                let s = c * (pr * (1.0 - pr)).max(1e-12);
                for (i, &fi) in f.iter().enumerate() {
                    g[i] += r * fi;
                    let sf = s * fi;
                    for (hij, &fj) in h[i * k + i..(i + 1) * k].iter_mut().zip(&f[i..]) {
                        *hij += sf * fj;
                    }
                }
            }
            for i in 0..k - 1 {
                g[i] += p.lambda * theta[i];
                h[i * k + i] += p.lambda;
            }
            h[k * k - 1] += 1e-9;
            for i in 0..k {
                for j in 0..i {
                    h[i * k + j] = h[j * k + i];
                }
            }
            let Some(step) = cholesky_solve(&h, &g, k) else {
                return Err(TrainError::BadShape);
            };
            for (t, s) in theta.iter_mut().zip(&step) {
                *t -= s;
            }
        }
        m.b = theta[k - 1];
        m.w = theta[..k - 1].to_vec();
        Ok(m)
    }

    fn features(&self, x: &[f64]) -> Vec<f64> {
        let d = self.mean.len();
        let mut f = vec![0.0; 2 * d];
        for j in 0..d {
            let z = ((x[j] - self.mean[j]) / self.sd[j]).clamp(-self.clip, self.clip);
            f[j] = z;
            f[d + j] = z.abs();
        }
        f
    }

    /// Log-odds that `x` was typed by someone else (higher = more anomalous). `NaN` for a row of
    /// the wrong length.
    pub fn impostor_logit(&self, x: &[f64]) -> f64 {
        if x.len() != self.mean.len() {
            return f64::NAN;
        }
        self.b + dot(&self.w, &self.features(x))
    }

    /// The anomaly handed to the trust model: `impostor_logit / LOGIT_SCALE`.
    pub fn anomaly(&self, x: &[f64]) -> f64 {
        self.impostor_logit(x) / LOGIT_SCALE
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn sigmoid(t: f64) -> f64 {
    1.0 / (1.0 + (-t).exp())
}

/// Solve `a x = b` for a symmetric positive-definite `k x k` matrix (row-major) by Cholesky.
fn cholesky_solve(a: &[f64], b: &[f64], k: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; k * k];
    for i in 0..k {
        for j in 0..=i {
            let s = a[i * k + j] - dot(&l[i * k..i * k + j], &l[j * k..j * k + j]);
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * k + i] = s.sqrt();
            } else {
                l[i * k + j] = s / l[j * k + j];
            }
        }
    }
    let mut y = vec![0.0; k];
    for i in 0..k {
        y[i] = (b[i] - dot(&l[i * k..i * k + i], &y[..i])) / l[i * k + i];
    }
    let mut x = vec![0.0; k];
    for i in (0..k).rev() {
        let mut s = y[i];
        for j in i + 1..k {
            s -= l[j * k + i] * x[j];
        }
        x[i] = s / l[i * k + i];
    }
    Some(x)
}

/// Which subjects play which part for one genuine user and one fold (indices into the splits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoldPlan {
    /// the genuine user
    pub user: usize,
    /// 0 or 1: the parity of the training half
    pub fold: usize,
    /// negatives of the test model (sessions 2-4)
    pub train_subjects: Vec<usize>,
    /// impostor test streams (session 1); disjoint from `train_subjects`
    pub test_subjects: Vec<usize>,
    /// negatives of the tuning model (sessions 2-4): every other training-half subject, starting
    /// with the first
    pub tune_negative_subjects: Vec<usize>,
    /// impostor tuning streams (session 2): the rest of the training half
    pub tune_stream_subjects: Vec<usize>,
}

/// The subjects of each part for `user` in `fold` (0 or 1) among `n` subjects: the others split
/// by index parity, the training half again by position.
pub fn fold_plan(user: usize, n: usize, fold: usize) -> FoldPlan {
    let others = (0..n).filter(|&v| v != user);
    let (train_subjects, test_subjects): (Vec<usize>, Vec<usize>) =
        others.partition(|v| v % 2 == fold % 2);
    // the training half split again by position: even positions give the tuning negatives
    let tune_negative_subjects: Vec<usize> = train_subjects.iter().copied().step_by(2).collect();
    let tune_stream_subjects: Vec<usize> =
        train_subjects.iter().copied().skip(1).step_by(2).collect();
    FoldPlan {
        user,
        fold,
        train_subjects,
        test_subjects,
        tune_negative_subjects,
        tune_stream_subjects,
    }
}

/// Which impostors the model is trained against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SeenImpostors {
    /// the 2-fold protocol above: test impostors are subjects the model never saw
    Unseen,
    /// weaker protocol: negatives from every other subject's sessions 2-4, so test impostors are
    /// subjects the model saw (never the test repetitions themselves)
    Seen,
}

/// Sessions 2-4 of subject `v` (its training repetitions that no test stream uses), thinned to
/// `per_session` evenly spaced reps per session (0 = all).
fn negatives_of(s: &CmuSplit, per_session: usize, out: &mut Vec<Vec<f64>>) {
    for sess in 1..4 {
        let reps = &s.train[sess * SESSION_REPS..(sess + 1) * SESSION_REPS];
        if per_session == 0 || per_session >= SESSION_REPS {
            out.extend(reps.iter().cloned());
        } else {
            out.extend((0..per_session).map(|i| reps[i * SESSION_REPS / per_session].clone()));
        }
    }
}

fn session(s: &CmuSplit, k: usize) -> &[Vec<f64>] {
    &s.train[(k - 1) * SESSION_REPS..k * SESSION_REPS]
}

/// Test and tuning streams (anomalies) of the discriminative model: one [`SubjectStreams`] per
/// genuine user and fold (102 for the unseen protocol, 51 for the seen one), in user order.
/// With `genuine_only = Some((models, cfg))` (the genuine-only models of
/// [`crate::stream::forward_models`], one per user, and the stream configuration they were built
/// with), `ensemble_weight` times that model's session-adapted normalised anomaly of the same
/// sample is added to each anomaly (see [`DiscriminativeParams::adapt_below`] for which samples
/// adapt it).
pub fn discriminative_streams(
    splits: &[CmuSplit],
    params: &DiscriminativeParams,
    seen: SeenImpostors,
    genuine_only: Option<(&[ForwardModels], &StreamConfig)>,
) -> Result<(Vec<SubjectStreams>, Vec<SubjectStreams>), TrainError> {
    let n = splits.len();
    // every subject's four training sessions are sliced below (negatives, tuning streams)
    if splits.iter().any(|s| s.train.len() != 4 * SESSION_REPS) {
        return Err(TrainError::TooFewSamples);
    }
    if let Some((m, _)) = genuine_only
        && m.len() != n
    {
        return Err(TrainError::BadShape);
    }
    let per_user =
        crate::stream::parallel_map(n, |u| user_streams(splits, u, params, seen, genuine_only));
    let mut test = Vec::new();
    let mut dev = Vec::new();
    for r in per_user {
        for (t, d) in r? {
            test.push(t);
            dev.push(d);
        }
    }
    Ok((test, dev))
}

/// Hyperparameters of the discriminative stream model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DiscriminativeParams {
    /// the per-user logistic scorer
    pub logistic: LogisticParams,
    /// weight of the genuine-only model's normalised anomaly added to the scorer's anomaly
    /// (used only when those streams are given)
    pub ensemble_weight: f64,
    /// which two-class scorer
    pub classifier: Classifier,
    /// negatives taken per negative subject and session (evenly spaced; 0 = all 50)
    pub negatives_per_session: usize,
    /// forest hyperparameters (with [`Classifier::Forest`])
    pub forest: ForestParams,
    /// online template adaptation driven by the combined anomaly: a stream sample whose combined
    /// anomaly (scorer + weighted genuine-only) is at or below this level adapts the genuine-only
    /// template (see [`SessionAdapter`]) and the scorer's input drift for the rest of the stream.
    /// `None`: the genuine-only template adapts on its own anomaly
    /// ([`StreamConfig::adapt_below`]) and the scorer does not adapt.
    pub adapt_below: Option<f64>,
    /// scorer input drift: each adapted sample moves the estimated drift (the stream's typing
    /// minus the user's training mean, per timing) by this fraction of the difference; the
    /// scorer then sees the sample minus the drift (0 = off)
    pub drift_rate: f64,
}

/// The per-user two-class scorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Classifier {
    /// [`LogisticScorer`]
    Logistic,
    /// the crate's random forest ([`crate::forest`]) on the raw timings; anomaly = impostor
    /// log-odds of its (clamped) vote share, divided by [`LOGIT_SCALE`]
    Forest,
}

/// A trained per-user scorer.
enum Scorer {
    Logistic(LogisticScorer),
    Forest(Forest),
}

impl Scorer {
    fn train(
        genuine: &[Vec<f64>],
        impostors: &[Vec<f64>],
        p: &DiscriminativeParams,
    ) -> Result<Self, TrainError> {
        match p.classifier {
            Classifier::Logistic => Ok(Scorer::Logistic(LogisticScorer::train(
                genuine,
                impostors,
                &p.logistic,
            )?)),
            Classifier::Forest => {
                let x: Vec<Vec<f64>> = genuine.iter().chain(impostors).cloned().collect();
                let y: Vec<bool> = (0..x.len()).map(|i| i >= genuine.len()).collect();
                Forest::train(&x, &y, &p.forest)
                    .map(Scorer::Forest)
                    .ok_or(TrainError::BadShape)
            }
        }
    }

    fn anomaly(&self, x: &[f64]) -> f64 {
        match self {
            Scorer::Logistic(m) => m.anomaly(x),
            Scorer::Forest(f) => {
                let q = f.predict(x).clamp(0.005, 0.995);
                (q / (1.0 - q)).ln() / LOGIT_SCALE
            }
        }
    }
}

impl Default for DiscriminativeParams {
    fn default() -> Self {
        DiscriminativeParams {
            logistic: LogisticParams::default(),
            ensemble_weight: 1.0,
            classifier: Classifier::Forest,
            negatives_per_session: 20,
            forest: ForestParams {
                trees: 50,
                mtry: 3,
                ..ForestParams::default()
            },
            adapt_below: Some(0.0),
            drift_rate: 0.02,
        }
    }
}

/// Position of subject `v` in user `u`'s list of other subjects (the order of
/// [`CmuSplit::impostor_stream`] and [`CmuSplit::impostor_dev`], and of the unadapted anomalies of
/// [`ForwardModels`]).
fn other_index(u: usize, v: usize) -> usize {
    if v < u { v } else { v - 1 }
}

fn user_streams(
    splits: &[CmuSplit],
    u: usize,
    params: &DiscriminativeParams,
    seen: SeenImpostors,
    genuine_only: Option<(&[ForwardModels], &StreamConfig)>,
) -> Result<Vec<(SubjectStreams, SubjectStreams)>, TrainError> {
    let n = splits.len();
    let su = &splits[u];
    if su.train.len() != 4 * SESSION_REPS {
        return Err(TrainError::TooFewSamples);
    }
    let plans: Vec<FoldPlan> = match seen {
        SeenImpostors::Unseen => (0..2).map(|f| fold_plan(u, n, f)).collect(),
        SeenImpostors::Seen => {
            let others: Vec<usize> = (0..n).filter(|&v| v != u).collect();
            vec![FoldPlan {
                train_subjects: others.clone(),
                test_subjects: others,
                ..fold_plan(u, n, 0)
            }]
        }
    };
    let mut out = Vec::with_capacity(plans.len());
    for plan in plans {
        if seen == SeenImpostors::Unseen
            && plan
                .test_subjects
                .iter()
                .any(|v| plan.train_subjects.contains(v))
        {
            return Err(TrainError::BadShape);
        }
        let mut neg = Vec::new();
        for &v in &plan.train_subjects {
            negatives_of(&splits[v], params.negatives_per_session, &mut neg);
        }
        let model = Scorer::train(&su.train, &neg, params)?;
        let mean = crate::linalg::col_means(&su.train);
        let g = genuine_only.map(|(m, cfg)| (&m[u].test, cfg));
        let score =
            |v: &[Vec<f64>], c: Option<&[f64]>| stream_anomalies(&model, &mean, g, c, params, v);
        let test = SubjectStreams {
            genuine: score(&su.genuine_test, None),
            impostors: plan
                .test_subjects
                .iter()
                .map(|&v| {
                    let c = genuine_only.map(|(m, _)| &m[u].test_impostors[other_index(u, v)][..]);
                    score(session(&splits[v], 1), c)
                })
                .collect(),
        };
        // tuning: one session earlier, one half-split deeper (seen: every other subject's
        // sessions 3-4 as negatives against their session-2 streams)
        let mut tneg = Vec::new();
        let tune_streams = match seen {
            SeenImpostors::Unseen => {
                for &v in &plan.tune_negative_subjects {
                    negatives_of(&splits[v], params.negatives_per_session, &mut tneg);
                }
                plan.tune_stream_subjects.clone()
            }
            SeenImpostors::Seen => {
                for &v in &plan.train_subjects {
                    let mut all = Vec::new();
                    negatives_of(&splits[v], params.negatives_per_session, &mut all);
                    let third = all.len() / 3;
                    tneg.extend(all.into_iter().skip(third));
                }
                plan.train_subjects.clone()
            }
        };
        let tmodel = Scorer::train(&su.train[..3 * SESSION_REPS], &tneg, params)?;
        let tmean = crate::linalg::col_means(&su.train[..3 * SESSION_REPS]);
        let tg = genuine_only.map(|(m, cfg)| (&m[u].tuning, cfg));
        let tscore =
            |v: &[Vec<f64>], c: Option<&[f64]>| stream_anomalies(&tmodel, &tmean, tg, c, params, v);
        let dev = SubjectStreams {
            genuine: tscore(session(su, 4), None),
            impostors: tune_streams
                .iter()
                .map(|&v| {
                    let c =
                        genuine_only.map(|(m, _)| &m[u].tuning_impostors[other_index(u, v)][..]);
                    tscore(session(&splits[v], 2), c)
                })
                .collect(),
        };
        out.push((test, dev));
    }
    Ok(out)
}

/// Anomalies of one stream: the scorer's (on the sample minus the estimated input drift) plus,
/// with a genuine-only model, `ensemble_weight` times its session-adapted anomaly (read from
/// `unadapted`, that model's anomalies of the same stream without adaptation, until it first
/// adapts). Adaptation uses only the stream's own past samples and the model's own scores.
fn stream_anomalies(
    scorer: &Scorer,
    user_mean: &[f64],
    genuine: Option<(&(Model, Calibration), &StreamConfig)>,
    unadapted: Option<&[f64]>,
    p: &DiscriminativeParams,
    xs: &[Vec<f64>],
) -> Vec<f64> {
    let unadapted = unadapted.filter(|u| u.len() == xs.len());
    let mut adapter = genuine.map(|((m, c), cfg)| SessionAdapter::new(m, c, cfg));
    let own_gate = genuine.and_then(|(_, cfg)| cfg.adapt_below);
    let mut drift = vec![0.0; user_mean.len()];
    let mut shifted = vec![0.0; user_mean.len()];
    xs.iter()
        .enumerate()
        .map(|(i, x)| {
            let f = if p.drift_rate > 0.0 && x.len() == drift.len() {
                for ((s, v), d) in shifted.iter_mut().zip(x).zip(&drift) {
                    *s = v - d;
                }
                scorer.anomaly(&shifted)
            } else {
                scorer.anomaly(x)
            };
            let g = adapter
                .as_ref()
                .map_or(0.0, |ad| ad.anomaly_or(x, unadapted.map(|u| u[i])));
            let a = f + p.ensemble_weight * g;
            let accept = match p.adapt_below {
                Some(level) => a <= level,
                None => own_gate.is_some_and(|level| g <= level),
            };
            if accept {
                if let Some(ad) = adapter.as_mut() {
                    ad.accept(x);
                }
                if p.drift_rate > 0.0 && p.adapt_below.is_some() && x.len() == drift.len() {
                    for ((d, v), m) in drift.iter_mut().zip(x).zip(user_mean) {
                        *d += p.drift_rate * ((v - m) - *d);
                    }
                }
            }
            a
        })
        .collect()
}

/// Full evaluation of the discriminative model: streams, trust parameters tuned on the tuning
/// streams only (same rule as [`crate::stream::evaluate_streams`]), test statistics.
pub fn evaluate_discriminative(
    splits: &[CmuSplit],
    params: &DiscriminativeParams,
    seen: SeenImpostors,
    genuine_only: Option<(&[ForwardModels], &StreamConfig)>,
    cfg: &StreamConfig,
    min_genuine: f64,
) -> Result<(TrustConfig, StreamResult, StreamResult), TrainError> {
    let (test, dev) = discriminative_streams(splits, params, seen, genuine_only)?;
    let tuned = tune_trust(
        &cfg.trust,
        cfg,
        &dev,
        length_adjusted(min_genuine, &dev, &test),
    );
    Ok((
        tuned.clone(),
        stream_stats(&tuned, cfg, &dev),
        stream_stats(&tuned, cfg, &test),
    ))
}

/// One model's figures on one set of streams, as `passkeyd risk eval keystroke --stream` prints
/// them (a table line, or one JSON object with the [`StreamResult`] fields inline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamReportRow {
    /// `"tuning"` or `"test"`
    pub stream: String,
    /// short model label
    pub model: String,
    /// the detector(s) behind the anomaly
    pub detector: String,
    /// how the impostors relate to the model's training data
    pub protocol: String,
    /// the figures
    #[serde(flatten)]
    pub result: StreamResult,
    /// trust parameters (tuned on the tuning streams)
    pub trust: TrustConfig,
}

impl StreamReportRow {
    /// The table line.
    pub fn text(&self) -> String {
        let r = &self.result;
        format!(
            "stream[{}] {}: {} genuine / {} impostor streams; ANGA {:.1}, ANIA {:.2}, genuine never interrupted {:.1}%, impostors caught within 5 {:.1}%, within 10 {:.1}%, never {}; with step-up restarts: {} genuine lockouts, ANGA {:.1}\n",
            self.stream,
            self.model,
            r.genuine_streams,
            r.impostor_streams,
            r.anga,
            r.ania,
            100.0 * r.genuine_never_interrupted,
            100.0 * r.impostor_caught_within_5,
            100.0 * r.impostor_caught_within_10,
            r.impostor_never_caught,
            r.genuine_lockouts_with_restart,
            r.anga_with_restart
        )
    }

    /// The line describing the model and its tuned trust parameters.
    pub fn trust_text(&self) -> String {
        let t = &self.trust;
        let shape = if t.curve.is_empty() {
            format!("linear: neutral {}, slope {}", t.neutral, t.slope)
        } else {
            format!(
                "log-likelihood ratio: scale {}, zero crossing at {}",
                t.slope, t.neutral
            )
        };
        format!(
            "{} = {} ({}); trust tuned on training-only streams: {shape}, smoothing {}, reward_max {}, penalty_max {}, allow >= {}, suspend < {}\n",
            self.model,
            self.detector,
            self.protocol,
            t.smoothing,
            t.reward_max,
            t.penalty_max,
            t.allow_threshold,
            t.suspend_threshold
        )
    }
}

/// The stream part of the CMU report: the genuine-only model ([`crate::stream`], default
/// configuration), the impostor-aware model with unseen impostors (the protocol above) and, as
/// the weaker protocol, with seen impostors; tuning and test rows of each. Every model's trust
/// parameters are tuned on its own tuning streams with `min_genuine` (length-adjusted).
pub fn stream_report(
    splits: &[CmuSplit],
    min_genuine: f64,
) -> Result<Vec<StreamReportRow>, TrainError> {
    let cfg = StreamConfig::default();
    let models = crate::stream::forward_models(splits, &cfg)?;
    // the same streams as crate::stream::build_streams (forward chaining is the default)
    let (gt, gd): (Vec<SubjectStreams>, Vec<SubjectStreams>) =
        crate::stream::parallel_map(splits.len(), |i| models[i].streams(&splits[i], &cfg))
            .into_iter()
            .unzip();
    let mut rows = Vec::new();
    let mut push = |model: &str,
                    detector: String,
                    protocol: &str,
                    test: &[SubjectStreams],
                    dev: &[SubjectStreams]| {
        let tuned = tune_trust(
            &cfg.trust,
            &cfg,
            dev,
            length_adjusted(min_genuine, dev, test),
        );
        for (set, streams) in [("tuning", dev), ("test", test)] {
            rows.push(StreamReportRow {
                stream: set.into(),
                model: model.into(),
                detector: detector.clone(),
                protocol: protocol.into(),
                result: stream_stats(&tuned, &cfg, streams),
                trust: tuned.clone(),
            });
        }
    };
    push(
        "genuine-only",
        cfg.detector.name().into(),
        "trained on the user's repetitions only",
        &gt,
        &gd,
    );
    let p = DiscriminativeParams::default();
    let detector = format!(
        "random forest ({} trees, user vs other subjects) + {} x {}",
        p.forest.trees,
        p.ensemble_weight,
        cfg.detector.name()
    );
    let (t, d) = discriminative_streams(splits, &p, SeenImpostors::Unseen, Some((&models, &cfg)))?;
    push(
        "impostor-aware",
        detector.clone(),
        "unseen impostors: 2-fold split of the other subjects by index parity",
        &t,
        &d,
    );
    // the same number of negatives per model as one unseen fold (50 subjects x 10 per session
    // instead of 25 x 20), which also keeps the report fast
    let seen_params = DiscriminativeParams {
        negatives_per_session: p.negatives_per_session / 2,
        ..p
    };
    let (t, d) = discriminative_streams(
        splits,
        &seen_params,
        SeenImpostors::Seen,
        Some((&models, &cfg)),
    )?;
    push(
        "impostor-aware-seen",
        detector,
        "WEAKER PROTOCOL, seen impostors: negatives from every other subject's sessions 2-4 (10 per session)",
        &t,
        &d,
    );
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forest::SplitMix64;

    fn gauss(rng: &mut SplitMix64) -> f64 {
        let u = |r: &mut SplitMix64| ((r.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
        let (a, b) = (u(rng), u(rng));
        (-2.0 * a.ln()).sqrt() * (std::f64::consts::TAU * b).cos()
    }

    fn cloud(rng: &mut SplitMix64, n: usize, centre: &[f64], sd: f64) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| centre.iter().map(|c| c + sd * gauss(rng)).collect())
            .collect()
    }

    #[test]
    fn logistic_separates_shifted_clouds() {
        let mut rng = SplitMix64(7);
        let user = cloud(&mut rng, 200, &[0.1, 0.2, 0.15, 0.3], 0.02);
        let others = cloud(&mut rng, 400, &[0.15, 0.2, 0.10, 0.3], 0.02);
        let m = LogisticScorer::train(&user, &others, &LogisticParams::default()).unwrap();
        let g = cloud(&mut rng, 200, &[0.1, 0.2, 0.15, 0.3], 0.02);
        let i = cloud(&mut rng, 200, &[0.15, 0.2, 0.10, 0.3], 0.02);
        let gs: Vec<f64> = g.iter().map(|x| m.impostor_logit(x)).collect();
        let is: Vec<f64> = i.iter().map(|x| m.impostor_logit(x)).collect();
        // Bayes limit for these clouds: Phi(2.5) = 0.994
        let auc = crate::eval::auc(&gs, &is);
        assert!(auc > 0.97, "AUC {auc}");
        // the uninformative coordinates get little weight next to the informative ones
        assert!(m.w[0].abs() > 5.0 * m.w[1].abs(), "{:?}", m.w);
    }

    #[test]
    fn logistic_learns_spread_through_absolute_deviation() {
        // same centre, impostors spread wider: only the |z| half can tell them apart
        let mut rng = SplitMix64(11);
        let user = cloud(&mut rng, 200, &[0.2, 0.2], 0.01);
        let others = cloud(&mut rng, 400, &[0.2, 0.2], 0.05);
        let m = LogisticScorer::train(&user, &others, &LogisticParams::default()).unwrap();
        let near = m.impostor_logit(&[0.2, 0.2]);
        let far = m.impostor_logit(&[0.26, 0.14]);
        assert!(far > near + 2.0, "near {near}, far {far}");
    }

    #[test]
    fn logistic_rejects_bad_input() {
        let p = LogisticParams::default();
        assert!(LogisticScorer::train(&[vec![1.0]], &[vec![2.0]], &p).is_err());
        assert!(LogisticScorer::train(&[vec![1.0], vec![1.1]], &[vec![2.0, 3.0]], &p).is_err());
        let m = LogisticScorer::train(&[vec![1.0], vec![1.1]], &[vec![2.0]], &p).unwrap();
        assert!(m.impostor_logit(&[1.0, 2.0]).is_nan());
    }

    #[test]
    fn fold_split_keeps_test_impostors_unseen() {
        let n = 51;
        for u in 0..n {
            let mut tested = vec![0usize; n];
            for f in 0..2 {
                let p = fold_plan(u, n, f);
                assert!(!p.train_subjects.contains(&u) && !p.test_subjects.contains(&u));
                for v in &p.test_subjects {
                    assert!(!p.train_subjects.contains(v), "user {u} fold {f}: {v} seen");
                    assert!(!p.tune_negative_subjects.contains(v));
                    assert!(!p.tune_stream_subjects.contains(v));
                    tested[*v] += 1;
                }
                for v in &p.tune_stream_subjects {
                    assert!(!p.tune_negative_subjects.contains(v));
                }
                let mut tune: Vec<usize> = p
                    .tune_negative_subjects
                    .iter()
                    .chain(&p.tune_stream_subjects)
                    .copied()
                    .collect();
                tune.sort_unstable();
                assert_eq!(tune, p.train_subjects);
                assert_eq!(p.train_subjects.len() + p.test_subjects.len(), n - 1);
            }
            // every other subject is a test impostor exactly once over the two folds
            for (v, &t) in tested.iter().enumerate() {
                assert_eq!(t, usize::from(v != u), "user {u} subject {v}");
            }
        }
    }

    #[test]
    fn negatives_never_come_from_session_one() {
        // rows tagged with their session number: only sessions 2-4 may become negatives
        let train: Vec<Vec<f64>> = (0..4 * SESSION_REPS)
            .map(|i| vec![(i / SESSION_REPS + 1) as f64])
            .collect();
        let s = CmuSplit {
            subject: "s".into(),
            train,
            genuine_test: vec![],
            impostor_test: vec![],
            impostor_stream: vec![],
            impostor_dev: vec![],
        };
        for per in [0, 10, 50] {
            let mut out = Vec::new();
            negatives_of(&s, per, &mut out);
            assert!(out.iter().all(|r| r[0] >= 2.0), "{per}");
            assert_eq!(out.len(), 3 * if per == 0 { 50 } else { per });
        }
    }

    fn logistic_scorer(rng: &mut SplitMix64) -> (Scorer, Vec<f64>) {
        let user = cloud(rng, 200, &[0.1, 0.2, 0.15], 0.01);
        let others = cloud(rng, 400, &[0.2, 0.1, 0.25], 0.03);
        let m = LogisticScorer::train(&user, &others, &LogisticParams::default()).unwrap();
        (Scorer::Logistic(m), crate::linalg::col_means(&user))
    }

    #[test]
    fn drift_adaptation_follows_a_slowly_drifting_user() {
        let mut rng = SplitMix64(3);
        let (scorer, mean) = logistic_scorer(&mut rng);
        // the user's typing moves away from the training mean, a little at every repetition
        let stream: Vec<Vec<f64>> = (0..200)
            .map(|i| {
                let t = i as f64 / 200.0;
                vec![0.1 + 0.05 * t, 0.2 - 0.05 * t, 0.15 + 0.05 * t]
            })
            .collect();
        let params = |drift_rate| DiscriminativeParams {
            classifier: Classifier::Logistic,
            adapt_below: Some(0.0),
            drift_rate,
            ..DiscriminativeParams::default()
        };
        let fixed = stream_anomalies(&scorer, &mean, None, None, &params(0.0), &stream);
        let adapted = stream_anomalies(&scorer, &mean, None, None, &params(0.1), &stream);
        assert_eq!(
            fixed[0], adapted[0],
            "nothing adapted before the first sample"
        );
        // without adaptation the drifted end looks like someone else; with it, like the user
        assert!(fixed[199] > 0.0, "{}", fixed[199]);
        assert!(adapted[199] < 0.0, "{}", adapted[199]);
    }

    #[test]
    fn samples_above_the_gate_never_adapt() {
        let mut rng = SplitMix64(5);
        let (scorer, mean) = logistic_scorer(&mut rng);
        // someone else's typing: every sample scores above the gate, so the stream is scored as
        // if there were no adaptation at all
        let stream = cloud(&mut rng, 50, &[0.2, 0.1, 0.25], 0.01);
        let p = |drift_rate| DiscriminativeParams {
            classifier: Classifier::Logistic,
            adapt_below: Some(0.0),
            drift_rate,
            ..DiscriminativeParams::default()
        };
        let fixed = stream_anomalies(&scorer, &mean, None, None, &p(0.0), &stream);
        assert!(fixed.iter().all(|a| *a > 0.0), "{fixed:?}");
        assert_eq!(
            fixed,
            stream_anomalies(&scorer, &mean, None, None, &p(0.5), &stream)
        );
    }
}
