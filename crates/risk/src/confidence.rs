//! Continuous trust (in the spirit of Bours' dynamic trust model).
//!
//! A session's trust is a number in `[0, 100]`. It starts at the assurance of the sign-in
//! ceremony, moves with every behavioural sample (a reward when the sample is typical for the
//! user, a penalty growing with how anomalous it is), moves with context signals, and between
//! events decays exponentially towards a floor with a configurable half-life. A fresh passkey
//! ceremony restores it. Every update returns an [`Explanation`].

use crate::context::{ContextConfig, ContextSignal};
use crate::explain::{Explanation, FeatureContribution, Thresholds};
use serde::{Deserialize, Serialize};

/// Decision attached to a trust level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    /// trust at or above `allow_threshold`
    Allow,
    /// trust below `allow_threshold` but at or above `suspend_threshold`: ask for a passkey
    StepUpRequired,
    /// trust below `suspend_threshold`: end the session
    Suspended,
}

/// Parameters of the trust model (serde, with defaults).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrustConfig {
    /// trust at or above which actions are allowed
    pub allow_threshold: f64,
    /// trust below which the session is suspended
    pub suspend_threshold: f64,
    /// level towards which trust decays with time (decay never raises trust)
    pub floor: f64,
    /// half-life of the decay towards the floor, seconds
    pub half_life_s: f64,
    /// normalised anomaly at which a sample neither raises nor lowers trust
    pub neutral: f64,
    /// trust change per unit of normalised anomaly away from `neutral`
    pub slope: f64,
    /// largest reward for one sample
    pub reward_max: f64,
    /// largest penalty for one sample
    pub penalty_max: f64,
    /// the trust change uses the median normalised anomaly of the last `smoothing` samples
    /// (1 = the sample alone): a single atypical sample (a typo, a hesitation) then costs little,
    /// while consistently atypical typing costs fully
    pub smoothing: usize,
    /// optional trust-change curve: knots `[anomaly, delta]` sorted by anomaly. When it is not
    /// empty it replaces the linear rule: the change is interpolated linearly between knots (the
    /// end knots' values beyond them) and then limited to `[-penalty_max, reward_max]`; `neutral`
    /// and `slope` are then only descriptive. The stream evaluation fits it as a scaled
    /// log-likelihood ratio (see [`crate::stream`]). Empty by default.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub curve: Vec<[f64; 2]>,
}

impl Default for TrustConfig {
    fn default() -> Self {
        TrustConfig {
            allow_threshold: 60.0,
            suspend_threshold: 30.0,
            floor: 50.0,
            half_life_s: 1800.0,
            neutral: 0.5,
            slope: 20.0,
            reward_max: 10.0,
            penalty_max: 45.0,
            smoothing: 1,
            curve: Vec::new(),
        }
    }
}

impl TrustConfig {
    /// Decision for a trust level.
    pub fn decide(&self, trust: f64) -> Decision {
        if trust >= self.allow_threshold {
            Decision::Allow
        } else if trust >= self.suspend_threshold {
            Decision::StepUpRequired
        } else {
            Decision::Suspended
        }
    }

    /// Trust change for one behavioural sample of normalised anomaly `a`
    /// (see [`Calibration::normalise`]): `slope * (neutral - a)`, limited to
    /// `[-penalty_max, reward_max]`. A typical sample earns trust back, an anomalous one costs
    /// trust in proportion to how far it lies beyond the neutral point. When
    /// [`TrustConfig::curve`] is set, the change is read off that curve instead (same limits).
    /// `NaN` gives no change.
    pub fn behaviour_delta(&self, a: f64) -> f64 {
        if a.is_nan() {
            return 0.0;
        }
        let raw = if self.curve.is_empty() {
            self.slope * (self.neutral - a)
        } else {
            interpolate(&self.curve, a)
        };
        raw.clamp(-self.penalty_max.abs(), self.reward_max.abs())
    }

    fn thresholds(&self) -> Thresholds {
        Thresholds {
            allow: self.allow_threshold,
            suspend: self.suspend_threshold,
            floor: self.floor,
            half_life_s: self.half_life_s,
        }
    }
}

/// Piecewise-linear interpolation through knots `[x, y]` sorted by `x`; constant beyond the ends.
fn interpolate(knots: &[[f64; 2]], x: f64) -> f64 {
    let i = knots.partition_point(|k| k[0] <= x);
    if i == 0 {
        return knots[0][1];
    }
    if i == knots.len() {
        return knots[i - 1][1];
    }
    let ([x0, y0], [x1, y1]) = (knots[i - 1], knots[i]);
    if x1 > x0 {
        y0 + (x - x0) / (x1 - x0) * (y1 - y0)
    } else {
        y1
    }
}

/// Per-user calibration of a detector's scores, from scores of the user's own enrolment samples
/// that the scoring model did not see (cross-validation within the enrolment data).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    /// median held-out genuine score
    pub typical: f64,
    /// high quantile of held-out genuine scores: the edge of the user's typical range
    pub high: f64,
}

impl Calibration {
    /// Calibration from held-out genuine scores: `typical` = median, `high` = the `q` quantile.
    /// Returns `None` for an empty or non-finite set.
    pub fn from_scores(scores: &[f64], q: f64) -> Option<Self> {
        let mut v: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let typical = quantile_sorted(&v, 0.5);
        let high = quantile_sorted(&v, q).max(typical + 1e-9);
        Some(Calibration { typical, high })
    }

    /// Normalised anomaly: 0 at the user's median score, 1 at the edge of their typical range.
    pub fn normalise(&self, score: f64) -> f64 {
        (score - self.typical) / (self.high - self.typical)
    }
}

/// Linear-interpolated quantile of sorted data (R type 7).
pub fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let h = (v.len() - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// A behavioural observation ready for the trust model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BehaviourSample {
    /// modality label, e.g. `"keystroke"`, `"mouse"`, `"fused"`
    pub modality: String,
    /// raw detector score
    pub score: f64,
    /// normalised anomaly (see [`Calibration::normalise`])
    pub anomaly: f64,
    /// per-feature contributions (name, term), any order; the explanation keeps the largest
    pub features: Vec<FeatureContribution>,
}

/// The trust state of one session.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustState {
    /// current trust in `[0, 100]`
    pub trust: f64,
    /// time of the last update, seconds (caller's clock)
    pub last_s: f64,
    /// the last normalised anomalies (at most `TrustConfig::smoothing`), oldest first
    #[serde(default)]
    pub recent: Vec<f64>,
}

/// Push `a` into the window of recent anomalies (keeping at most `m`) and return the window's
/// median.
pub fn smoothed_anomaly(recent: &mut Vec<f64>, a: f64, m: usize) -> f64 {
    if a.is_nan() {
        return a;
    }
    let m = m.max(1);
    recent.push(a);
    while recent.len() > m {
        recent.remove(0);
    }
    if recent.len() == 1 {
        return a;
    }
    // small windows are sorted on the stack (this runs once per sample of every simulated stream)
    let mut buf = [0.0f64; 8];
    let mut heap = Vec::new();
    let w: &mut [f64] = if recent.len() <= buf.len() {
        let w = &mut buf[..recent.len()];
        w.copy_from_slice(recent);
        w
    } else {
        heap.extend_from_slice(recent);
        &mut heap
    };
    w.sort_unstable_by(f64::total_cmp);
    let n = w.len();
    if n % 2 == 1 {
        w[n / 2]
    } else {
        0.5 * (w[n / 2 - 1] + w[n / 2])
    }
}

/// How many features an explanation lists.
pub const TOP_FEATURES: usize = 5;

impl TrustState {
    /// A new session at the sign-in ceremony's assurance (clamped to `[0, 100]`).
    pub fn new(assurance: f64, now_s: f64) -> Self {
        TrustState {
            trust: clamp(assurance),
            last_s: now_s,
            recent: Vec::new(),
        }
    }

    /// Trust after decaying from `last_s` to `now_s` (without changing the state).
    pub fn decayed(&self, cfg: &TrustConfig, now_s: f64) -> f64 {
        let dt = (now_s - self.last_s).max(0.0);
        if self.trust <= cfg.floor || cfg.half_life_s <= 0.0 || !dt.is_finite() {
            return self.trust;
        }
        cfg.floor + (self.trust - cfg.floor) * 0.5f64.powf(dt / cfg.half_life_s)
    }

    fn step(
        &mut self,
        cfg: &TrustConfig,
        now_s: f64,
        delta: f64,
        event: String,
        reasons: Vec<String>,
        features: Vec<FeatureContribution>,
    ) -> Explanation {
        let before = self.trust;
        let decayed = self.decayed(cfg, now_s);
        let after = clamp(decayed + delta);
        self.trust = after;
        if now_s > self.last_s {
            self.last_s = now_s;
        }
        let mut top = features;
        top.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
        top.truncate(TOP_FEATURES);
        Explanation {
            event,
            trust_before: before,
            decay_applied: before - decayed,
            delta,
            trust_after: after,
            thresholds: cfg.thresholds(),
            decision: cfg.decide(after),
            reasons,
            top_features: top,
        }
    }

    /// Fast path without an explanation: decay to `now_s`, add `delta`, return the decision.
    pub fn apply(&mut self, cfg: &TrustConfig, now_s: f64, delta: f64) -> Decision {
        self.trust = clamp(self.decayed(cfg, now_s) + delta);
        if now_s > self.last_s {
            self.last_s = now_s;
        }
        cfg.decide(self.trust)
    }

    /// [`TrustState::apply`] with the decay factor of the last elapsed time kept in `cache`
    /// (`(elapsed seconds, factor)`, start with `(NAN, 1.0)`): the same result, without a
    /// `powf` per sample when samples come at a fixed interval (the stream simulations).
    pub fn apply_cached(
        &mut self,
        cfg: &TrustConfig,
        now_s: f64,
        delta: f64,
        cache: &mut (f64, f64),
    ) -> Decision {
        let dt = (now_s - self.last_s).max(0.0);
        let decayed = if self.trust <= cfg.floor || cfg.half_life_s <= 0.0 || !dt.is_finite() {
            self.trust
        } else {
            if dt != cache.0 {
                *cache = (dt, 0.5f64.powf(dt / cfg.half_life_s));
            }
            cfg.floor + (self.trust - cfg.floor) * cache.1
        };
        self.trust = clamp(decayed + delta);
        if now_s > self.last_s {
            self.last_s = now_s;
        }
        cfg.decide(self.trust)
    }

    /// Apply decay only (e.g. on a request with no new sample).
    pub fn tick(&mut self, cfg: &TrustConfig, now_s: f64) -> Explanation {
        self.step(cfg, now_s, 0.0, "tick".into(), vec![], vec![])
    }

    /// Apply one behavioural sample.
    pub fn observe(
        &mut self,
        cfg: &TrustConfig,
        now_s: f64,
        sample: &BehaviourSample,
    ) -> Explanation {
        let used = smoothed_anomaly(&mut self.recent, sample.anomaly, cfg.smoothing);
        let delta = cfg.behaviour_delta(used);
        let reason = if delta >= 0.0 {
            "behaviour_typical"
        } else {
            "behaviour_anomalous"
        };
        self.step(
            cfg,
            now_s,
            delta,
            format!(
                "{} anomaly {:.2} (median of last {}: {:.2})",
                sample.modality,
                sample.anomaly,
                self.recent.len(),
                used
            ),
            vec![reason.to_string()],
            sample.features.clone(),
        )
    }

    /// Apply context signals (penalties from [`ContextConfig`]).
    pub fn context(
        &mut self,
        cfg: &TrustConfig,
        ctx: &ContextConfig,
        now_s: f64,
        signals: &[ContextSignal],
    ) -> Explanation {
        let mut delta = 0.0;
        let mut reasons = Vec::new();
        let mut feats = Vec::new();
        for s in signals {
            let w = ctx.penalty(s);
            delta -= w;
            reasons.push(s.code().to_string());
            feats.push(FeatureContribution {
                name: s.code().to_string(),
                value: -w,
            });
        }
        self.step(cfg, now_s, delta, "context".into(), reasons, feats)
    }

    /// A fresh passkey ceremony: trust is restored to that ceremony's assurance.
    pub fn restore(&mut self, cfg: &TrustConfig, now_s: f64, assurance: f64) -> Explanation {
        let decayed = self.decayed(cfg, now_s);
        let delta = clamp(assurance) - decayed;
        self.recent.clear();
        self.step(
            cfg,
            now_s,
            delta,
            "passkey_ceremony".into(),
            vec!["step_up_ok".into()],
            vec![],
        )
    }
}

fn clamp(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.clamp(0.0, 100.0) }
}
