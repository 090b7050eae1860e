//! Continuous authentication: typing rhythm turns a sign-in into a confidence that decays with
//! time, falls on anomalies and asks for a step-up when it drops.
//!
//! ```text
//!  passkeyd.js ──► POST /api/session/signals {keystrokes: [{key, down, up}]}
//!     ├─ digraphs: keydown-keydown latency and hold time per pair of keys, the pair named by
//!     │  a keyed hash (SipHash under a per-user key derived from the server secret)
//!     ├─ enrolling (first `enrol_samples` batches of the account): fold into the template
//!     └─ enrolled: score = mean clipped |z| of the known digraphs, normalised by the user's own
//!        genuine scores ──► trust model (passkeyd-risk) ──► allow | step_up_required | suspended
//!  the template holds per-digraph statistics only; raw events and characters are never stored
//! ```
//!
//! A session starts at its sign-in's assurance (AAL3 100, AAL2 90, AAL1 70), decays towards the
//! model's floor with its half-life, and a step-up restores it. Every change of decision is an
//! audit event carrying the explanation (trust before and after, decay, thresholds, the
//! digraphs that weighed most).

use super::audit::{RequestContext, user_ref};
use super::now;
use super::sessions::CurrentSession;
use crate::error::Error;
use crate::store::{AuditEvent, Session, Store};
use passkeyd_risk::confidence::{BehaviourSample, Calibration, Decision, TrustConfig, TrustState};
use passkeyd_risk::explain::{Explanation, FeatureContribution};
use passkeyd_risk::keystroke::{DigraphKey, FreeTextProfile, KeyEvent, free_text_digraphs};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// `[continuous_auth]` in the configuration file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ContinuousAuthSection {
    /// Whether passkeyd collects typing rhythm at all (default true).
    pub enabled: Option<bool>,
    /// Batches of typing that build an account's template before it is used (default 5).
    pub enrol_samples: Option<u32>,
    /// Fewest comparable digraphs for a batch to count (default 8).
    pub min_digraphs: Option<usize>,
    /// The trust model: `allow_threshold`, `suspend_threshold`, `floor`, `half_life_s`,
    /// `neutral`, `slope`, `reward_max`, `penalty_max`, `smoothing`.
    pub trust: Option<TrustConfig>,
}

/// Validated settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ContinuousAuth {
    /// Whether it runs.
    pub enabled: bool,
    /// Enrolment batches.
    pub enrol_samples: u32,
    /// Fewest digraphs per batch.
    pub min_digraphs: usize,
    /// The trust model.
    pub trust: TrustConfig,
}

impl Default for ContinuousAuth {
    fn default() -> Self {
        Self::from_section(&ContinuousAuthSection::default()).expect("defaults are valid")
    }
}

impl ContinuousAuth {
    /// Validates `[continuous_auth]`.
    pub fn from_section(s: &ContinuousAuthSection) -> Result<Self, String> {
        let trust = s.trust.clone().unwrap_or_default();
        if !(0.0..=100.0).contains(&trust.suspend_threshold)
            || !(trust.suspend_threshold..=100.0).contains(&trust.allow_threshold)
        {
            return Err(
                "continuous_auth.trust: need 0 <= suspend_threshold <= allow_threshold <= 100"
                    .into(),
            );
        }
        Ok(Self {
            enabled: s.enabled.unwrap_or(true),
            enrol_samples: s.enrol_samples.unwrap_or(5).max(1),
            min_digraphs: s.min_digraphs.unwrap_or(8).max(1),
            trust,
        })
    }
}

/// Most key events one batch may carry.
pub const MAX_EVENTS: usize = 1000;
/// The narrowest gap between the owner's typical and high scores, in |z| units.
const MIN_CALIBRATION_SPREAD: f64 = 0.75;
/// Most genuine scores kept for calibration.
const MAX_SCORES: usize = 64;

/// One key as the browser saw it: its `key` value and `keydown`/`keyup` times (ms).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct KeyTiming {
    /// `KeyboardEvent.key`.
    pub key: String,
    /// keydown time, milliseconds (any origin, e.g. `performance.now()`).
    pub down: f64,
    /// keyup time, milliseconds.
    pub up: f64,
}

/// A user's template: statistics only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Template {
    /// Per-digraph timing statistics under the user's keyed hash.
    pub profile: FreeTextProfile,
    /// Batches folded in.
    pub samples: u32,
    /// Scores of the user's own batches against the template before each was folded in.
    pub genuine_scores: Vec<f64>,
}

/// A session's trust.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RiskState {
    /// The trust model's state.
    pub trust: TrustState,
    /// The last explanation.
    pub last: Option<Explanation>,
    /// Recent (unix seconds, trust) values, oldest first.
    pub history: Vec<(i64, f64)>,
    /// The last decision.
    pub decision: Decision,
}

/// The confidence as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfidenceView {
    /// 0-100, after decay to now.
    pub value: f64,
    /// `allow`, `step_up_required` or `suspended`.
    pub decision: String,
    /// `rising`, `falling` or `steady`.
    pub trend: String,
    /// Reason codes of the last change (`behaviour_typical`, `behaviour_anomalous`,
    /// `step_up_ok`, `enrolling`, `signed_in`).
    pub reasons: Vec<String>,
    /// Unix seconds of the last change.
    pub computed_at: i64,
    /// Whether the account's typing template is still being built.
    pub enrolling: bool,
    /// The last explanation (trust before and after, decay, thresholds, top features).
    #[schema(value_type = Object)]
    pub explanation: Option<Explanation>,
}

fn decision_code(d: Decision) -> &'static str {
    match d {
        Decision::Allow => "allow",
        Decision::StepUpRequired => "step_up_required",
        Decision::Suspended => "suspended",
    }
}

/// What introspection answers for a confidence and a required minimum: `allow` at or above
/// `min` (the model's allow threshold when not given), `step_up` at or above the suspend
/// threshold, `deny` below.
pub fn introspection_decision(
    view: &ConfidenceView,
    min: Option<f64>,
    cfg: &TrustConfig,
) -> &'static str {
    let min = min.unwrap_or(cfg.allow_threshold);
    if view.value >= min {
        "allow"
    } else if view.value >= cfg.suspend_threshold && view.decision != "suspended" {
        "step_up"
    } else {
        "deny"
    }
}

/// The trust a session starts at for its sign-in's level.
pub fn initial_trust(aal: u8) -> f64 {
    match aal {
        3.. => 100.0,
        2 => 90.0,
        _ => 70.0,
    }
}

/// The continuous-authentication service.
pub struct Behavior {
    store: Arc<dyn Store>,
    settings: ContinuousAuth,
    secret: Vec<u8>,
}

impl std::fmt::Debug for Behavior {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Behavior")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("continuous authentication: {e}"))
}

impl Behavior {
    /// The service; `secret` is the server secret the per-user digraph keys derive from.
    pub fn new(store: Arc<dyn Store>, settings: ContinuousAuth, secret: &[u8]) -> Self {
        Self {
            store,
            settings,
            secret: secret.to_vec(),
        }
    }

    /// Whether it runs.
    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// The settings.
    pub fn settings(&self) -> &ContinuousAuth {
        &self.settings
    }

    fn key_for(&self, user_handle: &[u8]) -> DigraphKey {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.secret);
        let mut msg = b"passkeyd digraph key\0".to_vec();
        msg.extend_from_slice(user_handle);
        let tag = aws_lc_rs::hmac::sign(&key, &msg);
        let mut k = [0u8; 16];
        k.copy_from_slice(&tag.as_ref()[..16]);
        DigraphKey(k)
    }

    async fn load_state(&self, cur: &CurrentSession) -> Result<RiskState, Error> {
        self.load_session_state(&cur.session).await
    }

    async fn load_session_state(&self, session: &Session) -> Result<RiskState, Error> {
        if let Some(json) = self.store.session_risk(&session.id_hash).await?
            && let Ok(state) = serde_json::from_str::<RiskState>(&json)
        {
            return Ok(state);
        }
        let t = session.authenticated_at;
        let trust = TrustState::new(initial_trust(session.aal), t as f64);
        let decision = self.settings.trust.decide(trust.trust);
        Ok(RiskState {
            history: vec![(t, trust.trust)],
            trust,
            last: None,
            decision,
        })
    }

    async fn save_state(&self, cur: &CurrentSession, state: &RiskState) -> Result<(), Error> {
        let json = serde_json::to_string(state).map_err(internal)?;
        Ok(self
            .store
            .put_session_risk(&cur.session.id_hash, &json)
            .await?)
    }

    async fn template(&self, user_handle: &[u8]) -> Result<Template, Error> {
        Ok(match self.store.behavior_template(user_handle).await? {
            Some(json) => serde_json::from_str(&json).unwrap_or_default(),
            None => Template::default(),
        })
    }

    fn view(&self, state: &RiskState, enrolling: bool, t: i64) -> ConfidenceView {
        let value = state.trust.decayed(&self.settings.trust, t as f64);
        let decision = self.settings.trust.decide(value);
        let previous = state.history.iter().rev().nth(1).map_or(value, |(_, v)| *v);
        let trend = if value > previous + 1.0 {
            "rising"
        } else if value < previous - 1.0 {
            "falling"
        } else {
            "steady"
        };
        ConfidenceView {
            value: (value * 10.0).round() / 10.0,
            decision: decision_code(decision).to_owned(),
            trend: trend.to_owned(),
            reasons: state
                .last
                .as_ref()
                .map_or_else(|| vec!["signed_in".to_owned()], |e| e.reasons.clone()),
            computed_at: state.history.last().map_or(t, |h| h.0),
            enrolling,
            explanation: state.last.clone(),
        }
    }

    /// The session's confidence now (decayed; nothing stored).
    pub async fn confidence(&self, session: &Session) -> Result<ConfidenceView, Error> {
        let state = self.load_session_state(session).await?;
        let template = self.template(&session.user_handle).await?;
        Ok(self.view(
            &state,
            template.samples < self.settings.enrol_samples,
            now(),
        ))
    }

    async fn record(
        &self,
        cur: &CurrentSession,
        ctx: &RequestContext,
        before: Decision,
        state: &mut RiskState,
        explanation: Explanation,
        t: i64,
    ) -> Result<(), Error> {
        state.history.push((t, explanation.trust_after));
        if state.history.len() > 20 {
            state.history.remove(0);
        }
        state.decision = explanation.decision;
        if explanation.decision != before {
            let who = user_ref(&cur.user.handle);
            let mut e = ctx.stamp(AuditEvent::new("risk_decision", "system", "detected"));
            e.subject = Some(who);
            e.details = serde_json::json!({
                "session": cur.session.public_id,
                "from": decision_code(before),
                "to": decision_code(explanation.decision),
                "explanation": explanation,
            })
            .to_string();
            if let Err(err) = self.store.append_audit(&e).await {
                tracing::error!(error = %err, "audit: cannot append risk decision");
            }
        }
        state.last = Some(explanation);
        self.save_state(cur, state).await
    }

    /// One batch of typing from the signed-in session.
    pub async fn observe(
        &self,
        cur: &CurrentSession,
        keys: &[KeyTiming],
        ctx: &RequestContext,
    ) -> Result<ConfidenceView, Error> {
        if !self.settings.enabled {
            return Err(Error::NotFound("continuous authentication (turned off)"));
        }
        if keys.len() > MAX_EVENTS {
            return Err(Error::bad_request(
                "invalid_request",
                format!("at most {MAX_EVENTS} key events per batch"),
            ));
        }
        let events: Vec<KeyEvent> = keys
            .iter()
            .filter(|k| k.down.is_finite() && k.up.is_finite() && k.key.chars().count() <= 32)
            .map(|k| KeyEvent::new(&k.key, k.down, k.up))
            .collect();
        let key = self.key_for(&cur.user.handle);
        let digraphs = free_text_digraphs(&key, &events);
        let mut template = self.template(&cur.user.handle).await?;
        let mut state = self.load_state(cur).await?;
        let before = self
            .settings
            .trust
            .decide(state.trust.decayed(&self.settings.trust, now() as f64));
        let t = now();
        let cfg = &self.settings.trust;
        if digraphs.len() < self.settings.min_digraphs {
            let mut e = state.trust.tick(cfg, t as f64);
            e.reasons = vec!["too_few_keys".into()];
            self.record(cur, ctx, before, &mut state, e, t).await?;
            return Ok(self.view(&state, template.samples < self.settings.enrol_samples, t));
        }
        let (score, used, features) = score_batch(&template.profile, &digraphs);
        let enrolling = template.samples < self.settings.enrol_samples;
        let explanation = if enrolling || used < self.settings.min_digraphs {
            if let Some(s) = score {
                template.genuine_scores.push(s);
            }
            template.profile.observe(&key, &events);
            template.samples += 1;
            let mut e = state.trust.tick(cfg, t as f64);
            e.event = format!(
                "enrolment batch {} of {}",
                template.samples, self.settings.enrol_samples
            );
            e.reasons = vec!["enrolling".into()];
            e
        } else {
            let score = score.unwrap_or(0.0);
            // The owner's own score distribution, but never narrower than MIN_CALIBRATION_SPREAD
            // (in |z| units): a handful of very similar enrolment batches must not make every
            // later batch look far outside the owner's range.
            let calibration = Calibration::from_scores(&template.genuine_scores, 0.95)
                .filter(|_| template.genuine_scores.len() >= 3)
                .map(|c| Calibration {
                    typical: c.typical,
                    high: c.high.max(c.typical + MIN_CALIBRATION_SPREAD),
                })
                .unwrap_or(Calibration {
                    typical: 1.0,
                    high: 2.0,
                });
            let anomaly = calibration.normalise(score);
            let sample = BehaviourSample {
                modality: "keystroke".into(),
                score,
                anomaly,
                features,
            };
            let e = state.trust.observe(cfg, t as f64, &sample);
            // Follow slow drift of the owner's rhythm: only typical batches update the template.
            if anomaly <= cfg.neutral {
                template.genuine_scores.push(score);
                template.profile.observe(&key, &events);
                template.samples += 1;
            }
            e
        };
        if template.genuine_scores.len() > MAX_SCORES {
            let excess = template.genuine_scores.len() - MAX_SCORES;
            template.genuine_scores.drain(..excess);
        }
        let json = serde_json::to_string(&template).map_err(internal)?;
        self.store
            .put_behavior_template(&cur.user.handle, &json, t)
            .await?;
        let suspended = explanation.decision == Decision::Suspended;
        self.record(cur, ctx, before, &mut state, explanation, t)
            .await?;
        if suspended {
            self.store.revoke_session(&cur.session.id_hash, t).await?;
            tracing::warn!(session = %cur.session.public_id, "session suspended: confidence too low");
        }
        Ok(self.view(&state, template.samples < self.settings.enrol_samples, t))
    }

    /// A step-up succeeded: the session's trust is restored to that ceremony's level.
    pub async fn restore(
        &self,
        cur: &CurrentSession,
        aal: u8,
        ctx: &RequestContext,
    ) -> Result<(), Error> {
        let mut state = self.load_state(cur).await?;
        let t = now();
        let before = self
            .settings
            .trust
            .decide(state.trust.decayed(&self.settings.trust, t as f64));
        let e = state
            .trust
            .restore(&self.settings.trust, t as f64, initial_trust(aal));
        self.record(cur, ctx, before, &mut state, e, t).await
    }
}

/// The spread below which a digraph's latency is not taken as tighter: 20% of its mean, at
/// least 10 ms. People's keydown-keydown latencies vary by more than that; a template built
/// from very regular typing (or a machine's) would otherwise call the ordinary jitter of a
/// loaded computer an anomaly.
fn latency_floor(mean_s: f64) -> f64 {
    (0.2 * mean_s).max(0.010)
}

/// The anomaly score of a batch: the mean, over its digraphs the template has seen at least
/// twice, of the clipped (at 4) |z| of the keydown-keydown latency, with the spread floored by
/// [`latency_floor`]. Returns the score (`None` when no digraph compares), how many digraphs
/// were used, and the per-digraph terms (each |z| divided by the count, so they add up to the
/// score), named by a short pseudonymous id.
fn score_batch(
    profile: &FreeTextProfile,
    digraphs: &[(u64, f64, f64)],
) -> (Option<f64>, usize, Vec<FeatureContribution>) {
    let z: Vec<(u64, f64)> = digraphs
        .iter()
        .filter_map(|(id, dd, _)| {
            let s = profile.digraphs.get(id)?;
            (s.dd.n >= 2).then(|| {
                let sd = s.dd.sd().max(latency_floor(s.dd.mean));
                (*id, ((dd - s.dd.mean) / sd).abs().min(4.0))
            })
        })
        .collect();
    if z.is_empty() {
        return (None, 0, Vec::new());
    }
    let n = z.len() as f64;
    let score = z.iter().map(|(_, v)| v).sum::<f64>() / n;
    let terms = z
        .into_iter()
        .map(|(id, v)| FeatureContribution {
            name: format!("digraph:{:04x}", id & 0xffff),
            value: v / n,
        })
        .collect();
    (Some(score), n as usize, terms)
}
