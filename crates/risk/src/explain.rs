//! Explanations returned by every trust update.

use crate::confidence::Decision;
use serde::{Deserialize, Serialize};

/// One feature's additive share of a score (or a context signal's weight).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContribution {
    /// feature name (e.g. `UD.five.Shift.r`) or reason code
    pub name: String,
    /// its term in the score (for additive detectors the terms add up to the score)
    pub value: f64,
}

/// The thresholds in force for a decision.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// allow at or above
    pub allow: f64,
    /// suspend below
    pub suspend: f64,
    /// decay floor
    pub floor: f64,
    /// decay half-life, seconds
    pub half_life_s: f64,
}

/// Why the trust moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Explanation {
    /// what happened (`keystroke anomaly 0.42`, `context`, `passkey_ceremony`, `tick`)
    pub event: String,
    /// trust before this update (before decay)
    pub trust_before: f64,
    /// trust lost to time decay since the previous update
    pub decay_applied: f64,
    /// change applied by the event itself (after decay)
    pub delta: f64,
    /// trust after the update
    pub trust_after: f64,
    /// thresholds and decay parameters used
    pub thresholds: Thresholds,
    /// the resulting decision
    pub decision: Decision,
    /// reason codes
    pub reasons: Vec<String>,
    /// largest contributions (by absolute value), at most [`crate::confidence::TOP_FEATURES`]
    pub top_features: Vec<FeatureContribution>,
}

/// Pair per-feature terms with their names, for [`Explanation::top_features`].
pub fn contributions(names: &[String], terms: &[f64]) -> Vec<FeatureContribution> {
    names
        .iter()
        .zip(terms)
        .map(|(n, v)| FeatureContribution {
            name: n.clone(),
            value: *v,
        })
        .collect()
}

/// The `n` largest terms (by absolute value) with their names, largest first; only those names
/// are copied.
pub fn top_contributions(names: &[String], terms: &[f64], n: usize) -> Vec<FeatureContribution> {
    let mut idx: Vec<usize> = (0..names.len().min(terms.len())).collect();
    idx.sort_by(|&a, &b| terms[b].abs().total_cmp(&terms[a].abs()));
    idx.truncate(n);
    idx.into_iter()
        .map(|i| FeatureContribution {
            name: names[i].clone(),
            value: terms[i],
        })
        .collect()
}
