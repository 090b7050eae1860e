//! A genuine-only mouse template: per action kind, the running mean and spread of each action
//! feature. This is what the server keeps per user (statistics, never events or paths); the
//! random forest of [`crate::mouse`] needs other users' actions as negatives, which a server
//! must not pool, so the server scores with this model instead.
//!
//! Features are those of [`crate::mouse::action_features`] without the three kind indicators,
//! each compressed by a signed `ln(1 + |x|)` so that speeds and accelerations with heavy tails
//! weigh like the rest. An action's score is the mean over features of `min(|z|, CLIP)`, with
//! each spread floored at [`SD_FLOOR`]; a batch's score is the mean over its actions whose kind
//! the template has seen at least [`MIN_KIND_ACTIONS`] times.

use crate::keystroke::Welford;
use crate::mouse::{ActionKind, MouseEvent, action_features, segment};
use serde::{Deserialize, Serialize};

/// Number of features kept per action (the 34 of `action_features` less the 3 kind flags).
pub const FEATURES: usize = 31;
/// |z| is clipped here so that one wild feature cannot decide a batch.
pub const CLIP: f64 = 4.0;
/// Smallest spread (in log units) a feature is taken to have.
pub const SD_FLOOR: f64 = 0.05;
/// Actions of a kind the template needs before it scores that kind.
pub const MIN_KIND_ACTIONS: u64 = 10;

/// Statistics of one action kind.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KindStats {
    /// per-feature running mean and variance
    pub features: Vec<Welford>,
}

impl KindStats {
    fn n(&self) -> u64 {
        self.features.first().map_or(0, |w| w.n)
    }
}

/// A user's mouse template.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MouseProfile {
    /// mouse moves
    pub mouse_move: KindStats,
    /// point-and-clicks
    pub point_click: KindStats,
    /// drag-and-drops
    pub drag_drop: KindStats,
}

/// The score of one batch of actions against a template.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MouseScore {
    /// mean action score (mean clipped |z|)
    pub score: f64,
    /// actions that were scored
    pub used: usize,
    /// share of the batch's actions the template could score, `[0, 1]`
    pub typicality: f64,
}

fn compress(x: f64) -> f64 {
    if x.is_finite() {
        x.signum() * x.abs().ln_1p()
    } else {
        0.0
    }
}

/// One action's kind and compressed features.
pub type ActionVector = (ActionKind, Vec<f64>);

/// Segments raw pointer events and returns each action's kind and compressed features.
pub fn actions_of(events: &[MouseEvent]) -> Vec<ActionVector> {
    segment(events)
        .iter()
        .map(|a| {
            let f = action_features(a);
            (a.kind, f.iter().skip(3).map(|&x| compress(x)).collect())
        })
        .collect()
}

/// Compresses a full `action_features` vector (34 values) into the template's space; `None`
/// when it has the wrong length.
pub fn vector_of(features: &[f64]) -> Option<ActionVector> {
    if features.len() != FEATURES + 3 {
        return None;
    }
    let kind = if features[1] > 0.5 {
        ActionKind::PointClick
    } else if features[2] > 0.5 {
        ActionKind::DragDrop
    } else {
        ActionKind::MouseMove
    };
    Some((kind, features[3..].iter().map(|&x| compress(x)).collect()))
}

impl MouseProfile {
    fn kind(&self, k: ActionKind) -> &KindStats {
        match k {
            ActionKind::MouseMove => &self.mouse_move,
            ActionKind::PointClick => &self.point_click,
            ActionKind::DragDrop => &self.drag_drop,
        }
    }

    fn kind_mut(&mut self, k: ActionKind) -> &mut KindStats {
        match k {
            ActionKind::MouseMove => &mut self.mouse_move,
            ActionKind::PointClick => &mut self.point_click,
            ActionKind::DragDrop => &mut self.drag_drop,
        }
    }

    /// Actions folded in, all kinds.
    pub fn actions(&self) -> u64 {
        self.mouse_move.n() + self.point_click.n() + self.drag_drop.n()
    }

    /// Folds actions into the template (vectors of the wrong length are skipped).
    pub fn observe(&mut self, actions: &[ActionVector]) {
        for (kind, f) in actions {
            if f.len() != FEATURES {
                continue;
            }
            let stats = self.kind_mut(*kind);
            if stats.features.len() != FEATURES {
                stats.features = vec![Welford::default(); FEATURES];
            }
            for (w, &x) in stats.features.iter_mut().zip(f) {
                w.push(x);
            }
        }
    }

    /// Per-feature terms of one action (each clipped |z| divided by [`FEATURES`], so they add
    /// up to the action's score), `None` when the template has too few actions of its kind.
    pub fn action_terms(&self, kind: ActionKind, f: &[f64]) -> Option<Vec<f64>> {
        let stats = self.kind(kind);
        if stats.n() < MIN_KIND_ACTIONS || f.len() != FEATURES {
            return None;
        }
        Some(
            stats
                .features
                .iter()
                .zip(f)
                .map(|(w, &x)| {
                    ((x - w.mean).abs() / w.sd().max(SD_FLOOR)).min(CLIP) / FEATURES as f64
                })
                .collect(),
        )
    }

    /// The score of one action, `None` when the template has too few actions of its kind.
    pub fn score_action(&self, kind: ActionKind, f: &[f64]) -> Option<f64> {
        self.action_terms(kind, f).map(|t| t.iter().sum())
    }

    /// The score of a batch of actions, `None` when none could be scored.
    pub fn score(&self, actions: &[ActionVector]) -> Option<MouseScore> {
        self.score_with_terms(actions).map(|(s, _)| s)
    }

    /// The score of a batch and its per-feature terms (means over the scored actions, in
    /// [`crate::mouse::FEATURE_NAMES`] order less the three kind flags; they add up to the
    /// score).
    pub fn score_with_terms(&self, actions: &[ActionVector]) -> Option<(MouseScore, Vec<f64>)> {
        let mut terms = vec![0.0; FEATURES];
        let mut used = 0usize;
        for (k, f) in actions {
            if let Some(t) = self.action_terms(*k, f) {
                used += 1;
                for (acc, v) in terms.iter_mut().zip(t) {
                    *acc += v;
                }
            }
        }
        if used == 0 {
            return None;
        }
        for v in &mut terms {
            *v /= used as f64;
        }
        let score = MouseScore {
            score: terms.iter().sum(),
            used,
            typicality: used as f64 / actions.len() as f64,
        };
        Some((score, terms))
    }
}

/// Name of the `i`-th template feature (`crate::mouse::FEATURE_NAMES` less the kind flags).
pub fn feature_name(i: usize) -> &'static str {
    crate::mouse::FEATURE_NAMES
        .get(i + 3)
        .copied()
        .unwrap_or("unknown")
}

/// Session-level anomaly of each labelled session with a genuine-only template per user built
/// from `train` (user, full `action_features` vectors of its training sessions): returns
/// `(user, session, illegal, anomaly)` and the global ROC AUC (illegal = positive).
pub fn evaluate_profiles(
    train: &[(String, Vec<Vec<f64>>)],
    test: &[crate::mouse::LabelledSession],
) -> (Vec<(String, String, bool, f64)>, f64) {
    let mut scores = Vec::with_capacity(test.len());
    for (user, own) in train {
        let mut profile = MouseProfile::default();
        let vectors: Vec<ActionVector> = own.iter().filter_map(|f| vector_of(f)).collect();
        profile.observe(&vectors);
        for s in test.iter().filter(|s| s.user == *user) {
            let v: Vec<ActionVector> = s.actions.iter().filter_map(|f| vector_of(f)).collect();
            let anomaly = profile.score(&v).map_or(CLIP, |m| m.score);
            scores.push((s.user.clone(), s.name.clone(), s.illegal, anomaly));
        }
    }
    let g: Vec<f64> = scores.iter().filter(|s| !s.2).map(|s| s.3).collect();
    let i: Vec<f64> = scores.iter().filter(|s| s.2).map(|s| s.3).collect();
    let auc = crate::eval::auc(&g, &i);
    (scores, auc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mouse::{Button, State};

    fn stroke(t0: f64, speed: f64, click: bool) -> Vec<MouseEvent> {
        let mut v: Vec<MouseEvent> = (0..20)
            .map(|i| MouseEvent {
                t: t0 + f64::from(i) * 0.02,
                button: Button::None,
                state: State::Move,
                x: f64::from(i) * speed,
                y: f64::from(i) * speed * 0.5,
            })
            .collect();
        if click {
            let last = *v.last().unwrap();
            for state in [State::Pressed, State::Released] {
                v.push(MouseEvent {
                    t: last.t + 0.05,
                    button: Button::Left,
                    state,
                    ..last
                });
            }
        }
        v
    }

    fn batch(speed: f64, n: usize) -> Vec<ActionVector> {
        let mut events = Vec::new();
        for i in 0..n {
            events.extend(stroke(
                i as f64 * 20.0,
                speed * (1.0 + 0.03 * (i % 5) as f64),
                true,
            ));
        }
        actions_of(&events)
    }

    #[test]
    fn needs_enough_actions_of_a_kind() {
        let mut p = MouseProfile::default();
        p.observe(&batch(10.0, 3));
        assert!(p.score(&batch(10.0, 3)).is_none());
        p.observe(&batch(10.0, 12));
        assert!(p.score(&batch(10.0, 3)).is_some());
    }

    #[test]
    fn a_different_hand_scores_higher() {
        let mut p = MouseProfile::default();
        p.observe(&batch(10.0, 40));
        let own = p.score(&batch(10.0, 5)).unwrap();
        let other = p.score(&batch(40.0, 5)).unwrap();
        assert!(own.score < other.score, "{own:?} {other:?}");
        assert!((own.typicality - 1.0).abs() < 1e-12);
        let (with_terms, terms) = p.score_with_terms(&batch(40.0, 5)).unwrap();
        assert_eq!(with_terms, other);
        assert!((terms.iter().sum::<f64>() - other.score).abs() < 1e-9);
        assert_eq!(feature_name(0), "duration");
    }

    #[test]
    fn wrong_lengths_are_ignored() {
        let mut p = MouseProfile::default();
        p.observe(&[(ActionKind::MouseMove, vec![1.0; 3])]);
        assert_eq!(p.actions(), 0);
        assert!(vector_of(&[0.0; 5]).is_none());
        assert!(p.score_action(ActionKind::MouseMove, &[1.0; 3]).is_none());
    }
}
