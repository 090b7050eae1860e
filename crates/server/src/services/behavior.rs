//! Continuous authentication: typing rhythm, mouse movement and context turn a sign-in into a
//! confidence that decays with time, falls on anomalies and asks for a step-up when it drops.
//!
//! ```text
//!  passkeyd.js ──► POST /api/session/signals {keystrokes: [{key, down, up}], mouse: [{t, x, y, button, state}]}
//!     ├─ context: device cookie, network prefix, user agent (all as keyed hashes), GeoIP
//!     │  location (operator's table), gap since the last batch, actions per minute
//!     │  ──► new_device | new_network | user_agent_changed | impossible_travel | idle_gap | velocity
//!     ├─ digraphs: keydown-keydown latency and hold time per pair of keys, the pair named by
//!     │  a keyed hash (SipHash under a per-user key derived from the server secret)
//!     ├─ mouse actions (move, point-and-click, drag-and-drop): 31 features each
//!     ├─ enrolling (first `enrol_samples` typing batches, first `mouse_enrol_actions` mouse
//!     │  actions of the account): fold into the template
//!     └─ enrolled: each modality's score normalised by the user's own genuine scores, fused
//!        by quality (passkeyd-risk fusion) ──► trust model ──► allow | step_up_required | suspended
//!  the template holds statistics only; raw events, characters, positions and addresses are
//!  never stored
//! ```
//!
//! A session starts at its sign-in's assurance (AAL3 100, AAL2 90, AAL1 70), decays towards the
//! model's floor with its half-life, and a step-up restores it. Every change of decision is an
//! audit event carrying the explanation (trust before and after, decay, thresholds, the
//! digraphs that weighed most).

use super::audit::{RequestContext, user_ref};
use super::geoip::{GeoIp, network_prefix};
use super::now;
use super::sessions::CurrentSession;
use crate::error::Error;
use crate::store::{AuditEvent, Session, Store};
use passkeyd_risk::confidence::{
    BehaviourSample, Calibration, Decision, TOP_FEATURES, TrustConfig, TrustState,
};
use passkeyd_risk::context::{ContextConfig, ContextSignal, ContextSnapshot, context_signals};
use passkeyd_risk::explain::{Explanation, FeatureContribution};
use passkeyd_risk::fusion::{ModalityScore, fuse, quality_weight};
use passkeyd_risk::keystroke::{DigraphKey, FreeTextProfile, KeyEvent, free_text_digraphs};
use passkeyd_risk::mouse::{Button, MouseEvent, State};
use passkeyd_risk::mouse_profile::{ActionVector, MouseProfile, actions_of, feature_name};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
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
    /// Whether mouse movement is used (default true; with false the server refuses mouse
    /// events and keeps no mouse template).
    pub mouse: Option<bool>,
    /// Mouse actions that build an account's mouse template before it is used (default 40).
    pub mouse_enrol_actions: Option<u32>,
    /// Whether context signals are used (default true).
    pub context_signals: Option<bool>,
    /// Context signal weights and limits: `new_device`, `new_network`, `user_agent_changed`,
    /// `impossible_travel`, `idle_gap`, `velocity` (trust points), `max_speed_kmh`,
    /// `min_distance_km`, `idle_gap_s`, `max_per_minute`.
    pub context: Option<ContextConfig>,
    /// GeoIP tables in the GeoLite2 City Blocks CSV format (`network,...,latitude,longitude`);
    /// without one, `impossible_travel` never fires.
    pub geoip_csv: Option<Vec<PathBuf>>,
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
    /// Whether mouse movement is used.
    pub mouse: bool,
    /// Mouse enrolment actions.
    pub mouse_enrol_actions: u32,
    /// Whether context signals are used.
    pub context_signals: bool,
    /// Context weights and limits.
    pub context: ContextConfig,
    /// The operator's GeoIP table, if any.
    pub geoip: Option<Arc<GeoIp>>,
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
        let context = s.context.clone().unwrap_or_default();
        let weights = [
            context.new_device,
            context.new_network,
            context.user_agent_changed,
            context.impossible_travel,
            context.idle_gap,
            context.velocity,
        ];
        if weights.iter().any(|w| !(0.0..=100.0).contains(w)) {
            return Err("continuous_auth.context: weights are trust points from 0 to 100".into());
        }
        let geoip = match &s.geoip_csv {
            Some(paths) if !paths.is_empty() => Some(Arc::new(GeoIp::load(paths)?)),
            _ => None,
        };
        Ok(Self {
            enabled: s.enabled.unwrap_or(true),
            enrol_samples: s.enrol_samples.unwrap_or(5).max(1),
            min_digraphs: s.min_digraphs.unwrap_or(8).max(1),
            trust,
            mouse: s.mouse.unwrap_or(true),
            mouse_enrol_actions: s.mouse_enrol_actions.unwrap_or(40).max(10),
            context_signals: s.context_signals.unwrap_or(true),
            context,
            geoip,
        })
    }
}

/// Most key events one batch may carry.
pub const MAX_EVENTS: usize = 1000;
/// Most pointer events one batch may carry.
pub const MAX_MOUSE_EVENTS: usize = 1000;
/// The narrowest gap between the owner's typical and high scores, in |z| units.
const MIN_CALIBRATION_SPREAD: f64 = 0.75;
/// The same for mouse scores (mean clipped |z| over 31 features, so narrower).
const MIN_MOUSE_CALIBRATION_SPREAD: f64 = 0.25;
/// Most genuine scores kept for calibration.
const MAX_SCORES: usize = 64;
/// Most known devices and networks kept per account (least recently seen dropped first).
const MAX_KNOWN: usize = 20;
/// Evidence scales of the fusion (samples for about 63% of full weight): digraphs, actions.
const KEYSTROKE_HALF_EVIDENCE: f64 = 10.0;
const MOUSE_HALF_EVIDENCE: f64 = 10.0;
/// Name of the device cookie.
pub const DEVICE_COOKIE: &str = "passkeyd_device";

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

/// Mouse button of a pointer event.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PointerButton {
    /// No button (a move).
    None,
    /// Primary button.
    Left,
    /// Secondary button.
    Right,
}

/// What a pointer event was.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PointerState {
    /// Moved with no button held.
    Move,
    /// Moved with a button held.
    Drag,
    /// Button pressed.
    Down,
    /// Button released.
    Up,
}

/// One pointer event as the browser saw it (`pointermove`, `pointerdown`, `pointerup`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PointerSample {
    /// Time, milliseconds (e.g. `performance.now()`).
    pub t: f64,
    /// x, CSS pixels.
    pub x: f64,
    /// y, CSS pixels.
    pub y: f64,
    /// `none`, `left` or `right`.
    pub button: PointerButton,
    /// `move`, `drag`, `down` or `up`.
    pub state: PointerState,
}

/// A place and time the account was last seen at (GeoIP, rounded to 0.1 degree).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct LastSeen {
    /// Unix seconds.
    pub at: i64,
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// A user's template: statistics only.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Template {
    /// Per-digraph timing statistics under the user's keyed hash.
    pub profile: FreeTextProfile,
    /// Batches folded in.
    pub samples: u32,
    /// Scores of the user's own batches against the template before each was folded in.
    pub genuine_scores: Vec<f64>,
    /// Per action kind and feature, the count, mean and spread of the user's mouse actions.
    pub mouse: MouseProfile,
    /// Scores of the user's own mouse batches before each was folded in.
    pub mouse_genuine_scores: Vec<f64>,
    /// Context batches seen (the first `enrol_samples` learn devices and networks unpenalised).
    pub context_batches: u32,
    /// Keyed hashes of the account's known device cookies, most recently seen last.
    pub known_devices: Vec<String>,
    /// Keyed hashes of the account's known network prefixes, most recently seen last.
    pub known_networks: Vec<String>,
    /// Where and when the account was last located, for `impossible_travel`.
    pub last_seen: Option<LastSeen>,
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
    /// The session's previous context (keyed hashes, rounded location), for the next batch.
    #[serde(default)]
    pub context: Option<ContextSnapshot>,
    /// Devices and networks already penalised in this session (`new_device:<hash>`).
    #[serde(default)]
    pub flagged: Vec<String>,
    /// (unix seconds, actions) of the recent batches, for `velocity`.
    #[serde(default)]
    pub actions: Vec<(i64, u32)>,
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
    /// `step_up_ok`, `enrolling`, `signed_in`, `too_few_keys`, and the context codes
    /// `new_device`, `new_network`, `user_agent_changed`, `impossible_travel`, `idle_gap`,
    /// `velocity`).
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
            context: None,
            flagged: Vec::new(),
            actions: Vec::new(),
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

    /// A keyed hash naming a device, network or user agent for one account: the template
    /// can tell "seen before" without holding the cookie, address or header.
    fn context_id(&self, kind: &str, user_handle: &[u8], value: &str) -> String {
        let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &self.secret);
        let mut msg = b"passkeyd context\0".to_vec();
        msg.extend_from_slice(kind.as_bytes());
        msg.push(0);
        msg.extend_from_slice(user_handle);
        msg.push(0);
        msg.extend_from_slice(value.as_bytes());
        let tag = aws_lc_rs::hmac::sign(&key, &msg);
        tag.as_ref()[..12]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// What this request says about its context (hashed), and the actions per minute so far.
    fn snapshot(
        &self,
        user_handle: &[u8],
        device: Option<&str>,
        ctx: &RequestContext,
        state: &mut RiskState,
        actions: u32,
        t: i64,
    ) -> ContextSnapshot {
        let ip: Option<std::net::IpAddr> = ctx.client_addr.as_deref().and_then(|a| a.parse().ok());
        state.actions.retain(|(at, _)| t - at < 60);
        state.actions.push((t, actions));
        let location = ip
            .and_then(|ip| self.settings.geoip.as_ref()?.locate(ip))
            .map(|(la, lo)| ((la * 10.0).round() / 10.0, (lo * 10.0).round() / 10.0));
        ContextSnapshot {
            at_s: t as f64,
            device: device.map(|d| self.context_id("device", user_handle, d)),
            network: ip.map(|ip| self.context_id("network", user_handle, &network_prefix(ip))),
            user_agent: ctx
                .user_agent
                .as_deref()
                .map(|ua| self.context_id("user-agent", user_handle, ua)),
            location,
            actions_last_minute: state.actions.iter().map(|(_, n)| n).sum(),
        }
    }

    /// The context signals of this batch that have not been penalised in this session yet.
    fn context_part(
        &self,
        template: &Template,
        state: &mut RiskState,
        cur: &ContextSnapshot,
    ) -> Vec<ContextSignal> {
        if template.context_batches < self.settings.enrol_samples {
            return Vec::new();
        }
        // Travel is checked against the session's previous batch or, for a session's first
        // batch, the account's last located one; the other signals against this session only.
        let from_account = state.context.is_none();
        let prev = state.context.clone().or_else(|| {
            template.last_seen.map(|l| ContextSnapshot {
                at_s: l.at as f64,
                location: Some((l.lat, l.lon)),
                ..ContextSnapshot::default()
            })
        });
        let mut signals = context_signals(
            &self.settings.context,
            prev.as_ref(),
            cur,
            &template.known_devices,
            &template.known_networks,
        );
        signals.retain(|sig| {
            let key = match sig {
                ContextSignal::NewDevice => {
                    format!("new_device:{}", cur.device.as_deref().unwrap_or(""))
                }
                ContextSignal::NewNetwork => {
                    format!("new_network:{}", cur.network.as_deref().unwrap_or(""))
                }
                ContextSignal::IdleGap { .. } if from_account => return false,
                _ => return true,
            };
            if state.flagged.contains(&key) {
                false
            } else {
                state.flagged.push(key);
                true
            }
        });
        if state.flagged.len() > 2 * MAX_KNOWN {
            let excess = state.flagged.len() - 2 * MAX_KNOWN;
            state.flagged.drain(..excess);
        }
        signals
    }

    /// One batch of typing and pointer movement from the signed-in session. `device` is the
    /// browser's device cookie.
    pub async fn observe(
        &self,
        cur: &CurrentSession,
        keys: &[KeyTiming],
        mouse: &[PointerSample],
        device: Option<&str>,
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
        if mouse.len() > MAX_MOUSE_EVENTS {
            return Err(Error::bad_request(
                "invalid_request",
                format!("at most {MAX_MOUSE_EVENTS} pointer events per batch"),
            ));
        }
        if !mouse.is_empty() && !self.settings.mouse {
            return Err(Error::bad_request(
                "invalid_request",
                "mouse signals are turned off on this server",
            ));
        }
        let events: Vec<KeyEvent> = keys
            .iter()
            .filter(|k| k.down.is_finite() && k.up.is_finite() && k.key.chars().count() <= 32)
            .map(|k| KeyEvent::new(&k.key, k.down, k.up))
            .collect();
        let pointer = pointer_events(mouse);
        let key = self.key_for(&cur.user.handle);
        let digraphs = free_text_digraphs(&key, &events);
        let mut template = self.template(&cur.user.handle).await?;
        let mut state = self.load_state(cur).await?;
        let t = now();
        let before = self
            .settings
            .trust
            .decide(state.trust.decayed(&self.settings.trust, t as f64));
        let cfg = &self.settings.trust;

        // Context.
        let clicks = pointer.iter().filter(|e| e.state == State::Pressed).count();
        let snapshot = self.settings.context_signals.then(|| {
            let actions = u32::try_from(events.len() + clicks).unwrap_or(u32::MAX);
            self.snapshot(&cur.user.handle, device, ctx, &mut state, actions, t)
        });
        let context_signals = match &snapshot {
            Some(snap) => self.context_part(&template, &mut state, snap),
            None => Vec::new(),
        };
        let context_explanation = (!context_signals.is_empty()).then(|| {
            state
                .trust
                .context(cfg, &self.settings.context, t as f64, &context_signals)
        });

        // Typing.
        let mut enrolling_events = Vec::new();
        let mut keystroke: Option<(f64, f64, ModalityScore, Vec<FeatureContribution>)> = None;
        let enough_keys = digraphs.len() >= self.settings.min_digraphs;
        if enough_keys {
            let (score, used, features) = score_batch(&template.profile, &digraphs);
            let enrolling = template.samples < self.settings.enrol_samples;
            if enrolling || used < self.settings.min_digraphs {
                if let Some(s) = score {
                    template.genuine_scores.push(s);
                }
                template.profile.observe(&key, &events);
                template.samples += 1;
                enrolling_events.push(format!(
                    "typing enrolment batch {} of {}",
                    template.samples, self.settings.enrol_samples
                ));
            } else {
                let score = score.unwrap_or(0.0);
                let anomaly = calibrate(
                    &template.genuine_scores,
                    MIN_CALIBRATION_SPREAD,
                    Calibration {
                        typical: 1.0,
                        high: 2.0,
                    },
                )
                .normalise(score);
                let quality = ModalityScore {
                    name: "keystroke".into(),
                    anomaly,
                    samples: used,
                    half_evidence: KEYSTROKE_HALF_EVIDENCE,
                    typicality: used as f64 / digraphs.len() as f64,
                };
                keystroke = Some((score, anomaly, quality, features));
            }
        }

        // Mouse.
        let actions: Vec<ActionVector> = actions_of(&pointer);
        let mut mouse_scored: Option<(f64, f64, ModalityScore, Vec<FeatureContribution>)> = None;
        if !actions.is_empty() {
            let mouse_enrolling =
                template.mouse.actions() < u64::from(self.settings.mouse_enrol_actions);
            let scored = template.mouse.score_with_terms(&actions);
            if mouse_enrolling || scored.is_none() {
                if let Some((m, _)) = scored {
                    template.mouse_genuine_scores.push(m.score);
                }
                template.mouse.observe(&actions);
                enrolling_events.push(format!(
                    "mouse enrolment, {} of {} actions",
                    template.mouse.actions(),
                    self.settings.mouse_enrol_actions
                ));
            } else if let Some((m, terms)) = scored {
                let anomaly = calibrate(
                    &template.mouse_genuine_scores,
                    MIN_MOUSE_CALIBRATION_SPREAD,
                    Calibration {
                        typical: 0.8,
                        high: 1.2,
                    },
                )
                .normalise(m.score);
                let quality = ModalityScore {
                    name: "mouse".into(),
                    anomaly,
                    samples: m.used,
                    half_evidence: MOUSE_HALF_EVIDENCE,
                    typicality: m.typicality,
                };
                let features = terms
                    .iter()
                    .enumerate()
                    .map(|(i, v)| FeatureContribution {
                        name: format!("mouse:{}", feature_name(i)),
                        value: *v,
                    })
                    .collect();
                mouse_scored = Some((m.score, anomaly, quality, features));
            }
        }

        // Fusion: a weighted mean of the modalities by quality (evidence and coverage). Mouse
        // alone is pulled towards neutral by its weight, since it separates people less well
        // than typing (docs/continuous-auth.md).
        // The live mouse score, kept to fold into the calibration if the batch is typical.
        let mouse_live = mouse_scored.as_ref().map(|m| m.0);
        let behaviour = match (keystroke, mouse_scored) {
            (Some((score, anomaly, _, features)), None) => {
                Some(("keystroke".to_owned(), score, anomaly, features, true))
            }
            (None, Some((score, anomaly, q, features))) => {
                let w = quality_weight(&q);
                Some((
                    format!("mouse (weight {w:.2})"),
                    score,
                    cfg.neutral + w * (anomaly - cfg.neutral),
                    features,
                    false,
                ))
            }
            (Some((ks, _, kq, kf)), Some((_, _, mq, mf))) => fuse(&[kq, mq]).map(|f| {
                let label = f
                    .weights
                    .iter()
                    .map(|(n, w)| format!("{n} {w:.2}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let mut features = kf;
                features.extend(mf);
                (format!("fused ({label})"), ks, f.anomaly, features, true)
            }),
            (None, None) => None,
        };
        let behaviour_explanation = match behaviour {
            Some((modality, score, anomaly, features, keystroke_in)) => {
                let sample = BehaviourSample {
                    modality,
                    score,
                    anomaly,
                    features,
                };
                let e = state.trust.observe(cfg, t as f64, &sample);
                // Follow slow drift of the owner's behaviour: only typical batches update
                // the template.
                if anomaly <= cfg.neutral {
                    if keystroke_in {
                        template.genuine_scores.push(score);
                        template.profile.observe(&key, &events);
                        template.samples += 1;
                    }
                    // Mouse actions of a batch that was still enrolling are folded in already.
                    if let Some(score) = mouse_live {
                        template.mouse_genuine_scores.push(score);
                        template.mouse.observe(&actions);
                    }
                }
                Some(e)
            }
            None => None,
        };
        let explanation = match (context_explanation, behaviour_explanation) {
            (Some(c), Some(b)) => merge(c, b),
            (Some(c), None) => c,
            (None, Some(b)) => b,
            (None, None) => {
                let mut e = state.trust.tick(cfg, t as f64);
                if enrolling_events.is_empty() {
                    e.reasons = vec!["too_few_keys".into()];
                } else {
                    e.event = enrolling_events.join("; ");
                    e.reasons = vec!["enrolling".into()];
                }
                e
            }
        };

        // The account's context: learnt while enrolling, after a step-up, and when a batch
        // leaves the session trusted on typical behaviour.
        if let Some(snap) = &snapshot {
            template.context_batches = template.context_batches.saturating_add(1);
            let vouched = template.context_batches <= self.settings.enrol_samples
                || (explanation.decision == Decision::Allow
                    && explanation.reasons.iter().any(|r| r == "behaviour_typical"));
            if vouched {
                remember(&mut template.known_devices, snap.device.as_deref());
                remember(&mut template.known_networks, snap.network.as_deref());
            }
            if let Some((lat, lon)) = snap.location {
                template.last_seen = Some(LastSeen { at: t, lat, lon });
            }
            state.context = Some(snap.clone());
        }

        for scores in [
            &mut template.genuine_scores,
            &mut template.mouse_genuine_scores,
        ] {
            if scores.len() > MAX_SCORES {
                let excess = scores.len() - MAX_SCORES;
                scores.drain(..excess);
            }
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

    /// A step-up succeeded: the session's trust is restored to that ceremony's level, and the
    /// session's device and network become known to the account.
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
        if let Some(snap) = &state.context {
            let mut template = self.template(&cur.user.handle).await?;
            remember(&mut template.known_devices, snap.device.as_deref());
            remember(&mut template.known_networks, snap.network.as_deref());
            let json = serde_json::to_string(&template).map_err(internal)?;
            self.store
                .put_behavior_template(&cur.user.handle, &json, t)
                .await?;
        }
        self.record(cur, ctx, before, &mut state, e, t).await
    }
}

/// Adds `id` as the most recently seen entry of a bounded list.
fn remember(list: &mut Vec<String>, id: Option<&str>) {
    let Some(id) = id else { return };
    list.retain(|x| x != id);
    list.push(id.to_owned());
    if list.len() > MAX_KNOWN {
        let excess = list.len() - MAX_KNOWN;
        list.drain(..excess);
    }
}

/// The owner's own score distribution, but never narrower than `min_spread`: a handful of very
/// similar enrolment batches must not make every later batch look far outside the owner's range.
fn calibrate(genuine: &[f64], min_spread: f64, fallback: Calibration) -> Calibration {
    Calibration::from_scores(genuine, 0.95)
        .filter(|_| genuine.len() >= 3)
        .map(|c| Calibration {
            typical: c.typical,
            high: c.high.max(c.typical + min_spread),
        })
        .unwrap_or(fallback)
}

/// One explanation for a context step followed by a behaviour step of the same batch.
fn merge(first: Explanation, second: Explanation) -> Explanation {
    let mut top = first.top_features;
    top.extend(second.top_features);
    top.sort_by(|a, b| b.value.abs().total_cmp(&a.value.abs()));
    top.truncate(TOP_FEATURES);
    let mut reasons = first.reasons;
    reasons.extend(second.reasons);
    Explanation {
        event: format!("{}; {}", first.event, second.event),
        trust_before: first.trust_before,
        decay_applied: first.decay_applied + second.decay_applied,
        delta: first.delta + second.delta,
        trust_after: second.trust_after,
        thresholds: second.thresholds,
        decision: second.decision,
        reasons,
        top_features: top,
    }
}

/// Pointer events from the browser as the mouse model reads them (seconds; non-finite values
/// dropped; events out of time order dropped).
fn pointer_events(mouse: &[PointerSample]) -> Vec<MouseEvent> {
    let mut out: Vec<MouseEvent> = Vec::with_capacity(mouse.len());
    for m in mouse {
        if !(m.t.is_finite() && m.x.is_finite() && m.y.is_finite()) {
            continue;
        }
        let t = m.t / 1000.0;
        if out.last().is_some_and(|l| t < l.t) {
            continue;
        }
        out.push(MouseEvent {
            t,
            button: match m.button {
                PointerButton::None => Button::None,
                PointerButton::Left => Button::Left,
                PointerButton::Right => Button::Right,
            },
            state: match m.state {
                PointerState::Move => State::Move,
                PointerState::Drag => State::Drag,
                PointerState::Down => State::Pressed,
                PointerState::Up => State::Released,
            },
            x: m.x.clamp(-1e6, 1e6),
            y: m.y.clamp(-1e6, 1e6),
        });
    }
    out
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
