//! Keystroke features.
//!
//! Two kinds of input are supported:
//!
//! * **Fixed phrase** (an enrolled pass-phrase such as the CMU `.tie5Roanl`): raw key events
//!   (key value, keydown and keyup timestamps in milliseconds, as a browser reports them) are
//!   turned into hold (H), keydown-keydown (DD) and keyup-keydown (UD) times, in seconds, in the
//!   CMU column order `H.k1, DD.k1.k2, UD.k1.k2, H.k2, …, H.kn`. The phrase itself is enrolled,
//!   so knowing which key each column belongs to is not a disclosure.
//! * **Free text**: only timing *statistics* are kept, per digraph. A digraph is never stored
//!   in clear: it is identified by a 64-bit SipHash-2-4 of the two key values under a 128-bit
//!   per-user key supplied by the caller ([`DigraphKey`]). Without that key the template does not
//!   tell which characters were typed; the caller should keep the key in its secret store and
//!   may rotate it (which simply restarts the free-text template). Raw events are never kept:
//!   [`FreeTextProfile::observe`] folds them into running means/variances (Welford).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One key press as captured by the browser (`KeyboardEvent.key`, `keydown`/`keyup` times).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyEvent {
    /// `KeyboardEvent.key` value, e.g. `"t"`, `"R"`, `"Shift"`, `"Enter"`.
    pub key: String,
    /// keydown timestamp in milliseconds (any common origin).
    pub down_ms: f64,
    /// keyup timestamp in milliseconds (same origin as `down_ms`).
    pub up_ms: f64,
}

impl KeyEvent {
    /// Convenience constructor.
    pub fn new(key: &str, down_ms: f64, up_ms: f64) -> Self {
        KeyEvent {
            key: key.to_string(),
            down_ms,
            up_ms,
        }
    }
}

/// Why a sample could not be turned into features.
#[derive(Debug, Clone, PartialEq)]
pub enum FeatureError {
    /// The typed keys do not spell the enrolled phrase (after dropping modifier keys).
    WrongSequence {
        /// number of non-modifier keys that were typed
        typed: usize,
        /// number of keys in the enrolled phrase
        expected: usize,
    },
    /// A timestamp is not finite or a key was released before it was pressed.
    BadTiming,
}

impl std::fmt::Display for FeatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureError::WrongSequence { typed, expected } => {
                write!(
                    f,
                    "typed keys do not match the phrase ({typed} keys, expected {expected})"
                )
            }
            FeatureError::BadTiming => write!(f, "non-finite or inverted key timestamps"),
        }
    }
}

impl std::error::Error for FeatureError {}

/// Modifier keys that are dropped before matching a phrase (the CMU data set folds Shift into
/// the shifted key, `Shift.r`).
pub const MODIFIERS: [&str; 6] = ["Shift", "Control", "Alt", "Meta", "CapsLock", "AltGraph"];

/// An enrolled fixed phrase: the sequence of `KeyboardEvent.key` values expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixedPhrase {
    keys: Vec<String>,
    /// Column labels (CMU style) for each key, same length as `keys`.
    labels: Vec<String>,
}

impl FixedPhrase {
    /// A phrase from key values; labels are the key values themselves.
    pub fn new(keys: &[&str]) -> Self {
        FixedPhrase {
            keys: keys.iter().map(|s| s.to_string()).collect(),
            labels: keys.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The CMU benchmark password `.tie5Roanl` followed by Return, with the CMU labels.
    pub fn cmu() -> Self {
        let keys = [".", "t", "i", "e", "5", "R", "o", "a", "n", "l", "Enter"];
        let labels = [
            "period", "t", "i", "e", "five", "Shift.r", "o", "a", "n", "l", "Return",
        ];
        FixedPhrase {
            keys: keys.iter().map(|s| s.to_string()).collect(),
            labels: labels.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Number of keys in the phrase.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// True when the phrase has no key.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of features: `3 n - 2`.
    pub fn feature_len(&self) -> usize {
        if self.keys.is_empty() {
            0
        } else {
            3 * self.keys.len() - 2
        }
    }

    /// Column names in CMU order (`H.period`, `DD.period.t`, `UD.period.t`, `H.t`, …).
    pub fn feature_names(&self) -> Vec<String> {
        let mut out = Vec::with_capacity(self.feature_len());
        for (i, l) in self.labels.iter().enumerate() {
            out.push(format!("H.{l}"));
            if let Some(next) = self.labels.get(i + 1) {
                out.push(format!("DD.{l}.{next}"));
                out.push(format!("UD.{l}.{next}"));
            }
        }
        out
    }

    /// Features (seconds) from raw events. Events may come in any order; they are sorted by
    /// keydown time, modifier keys not part of the phrase are dropped, and the remaining keys must
    /// spell the phrase exactly.
    pub fn extract(&self, events: &[KeyEvent]) -> Result<Vec<f64>, FeatureError> {
        let mut evs: Vec<&KeyEvent> = events
            .iter()
            .filter(|e| !MODIFIERS.contains(&e.key.as_str()) || self.keys.contains(&e.key))
            .collect();
        for e in &evs {
            if !e.down_ms.is_finite() || !e.up_ms.is_finite() || e.up_ms < e.down_ms {
                return Err(FeatureError::BadTiming);
            }
        }
        evs.sort_by(|a, b| a.down_ms.total_cmp(&b.down_ms));
        if evs.len() != self.keys.len() || evs.iter().zip(&self.keys).any(|(e, k)| e.key != *k) {
            return Err(FeatureError::WrongSequence {
                typed: evs.len(),
                expected: self.keys.len(),
            });
        }
        let mut out = Vec::with_capacity(self.feature_len());
        for (i, e) in evs.iter().enumerate() {
            out.push((e.up_ms - e.down_ms) / 1000.0);
            if let Some(n) = evs.get(i + 1) {
                out.push((n.down_ms - e.down_ms) / 1000.0);
                out.push((n.down_ms - e.up_ms) / 1000.0);
            }
        }
        Ok(out)
    }
}

/// Running mean and variance (Welford's algorithm).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Welford {
    /// number of observations
    pub n: u64,
    /// running mean
    pub mean: f64,
    /// running sum of squared deviations from the mean
    pub m2: f64,
}

impl Welford {
    /// Add one observation.
    pub fn push(&mut self, x: f64) {
        self.n += 1;
        let d = x - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (x - self.mean);
    }

    /// Sample variance (n-1), 0 with fewer than two observations.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            0.0
        } else {
            self.m2 / (self.n - 1) as f64
        }
    }

    /// Sample standard deviation.
    pub fn sd(&self) -> f64 {
        self.variance().sqrt()
    }
}

/// 128-bit per-user key used to pseudonymise digraphs in free-text templates.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigraphKey(pub [u8; 16]);

impl std::fmt::Debug for DigraphKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigraphKey(..)")
    }
}

/// SipHash-2-4 with a 128-bit key (64-bit output), used as a keyed pseudo-random function
/// (from the `siphasher` crate).
pub fn siphash24(key: &[u8; 16], msg: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut h = siphasher::sip::SipHasher24::new_with_key(key);
    h.write(msg);
    h.finish()
}

/// Timing statistics of one (pseudonymous) digraph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DigraphStats {
    /// keydown-keydown latency, seconds
    pub dd: Welford,
    /// hold time of the second key, seconds
    pub hold: Welford,
}

/// Free-text typing template: per-digraph timing statistics keyed by a keyed hash of the digraph.
/// Holds no characters and no raw events.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FreeTextProfile {
    /// statistics per digraph id (SipHash-2-4 of `key1 \0 key2` under the user's key)
    pub digraphs: BTreeMap<u64, DigraphStats>,
}

/// Digraphs whose keydown-keydown gap is longer than this (seconds) are pauses, not typing.
pub const MAX_DIGRAPH_GAP_S: f64 = 1.5;

/// Digraph ids and timings of one free-text sample: `(id, dd_seconds, hold_seconds)`.
pub fn free_text_digraphs(key: &DigraphKey, events: &[KeyEvent]) -> Vec<(u64, f64, f64)> {
    let mut evs: Vec<&KeyEvent> = events
        .iter()
        .filter(|e| e.down_ms.is_finite() && e.up_ms.is_finite() && e.up_ms >= e.down_ms)
        .filter(|e| !MODIFIERS.contains(&e.key.as_str()))
        .collect();
    evs.sort_by(|a, b| a.down_ms.total_cmp(&b.down_ms));
    let mut out = Vec::new();
    for w in evs.windows(2) {
        let dd = (w[1].down_ms - w[0].down_ms) / 1000.0;
        if dd > MAX_DIGRAPH_GAP_S {
            continue;
        }
        let mut msg = Vec::with_capacity(w[0].key.len() + w[1].key.len() + 1);
        msg.extend_from_slice(w[0].key.as_bytes());
        msg.push(0);
        msg.extend_from_slice(w[1].key.as_bytes());
        let id = siphash24(&key.0, &msg);
        out.push((id, dd, (w[1].up_ms - w[1].down_ms) / 1000.0));
    }
    out
}

impl FreeTextProfile {
    /// Fold a free-text sample into the template (only statistics are kept).
    pub fn observe(&mut self, key: &DigraphKey, events: &[KeyEvent]) {
        for (id, dd, hold) in free_text_digraphs(key, events) {
            let s = self.digraphs.entry(id).or_default();
            s.dd.push(dd);
            s.hold.push(hold);
        }
    }

    /// Anomaly score of a free-text sample: mean over the sample's digraphs that the template
    /// knows (at least `min_count` observations) of the clipped absolute z-score of the
    /// keydown-keydown latency (clipped at 4). Returns `(score, digraphs_used)`; the score is
    /// `None` when no digraph could be compared.
    pub fn score(
        &self,
        key: &DigraphKey,
        events: &[KeyEvent],
        min_count: u64,
    ) -> (Option<f64>, usize) {
        let mut sum = 0.0;
        let mut used = 0usize;
        for (id, dd, _) in free_text_digraphs(key, events) {
            if let Some(s) = self.digraphs.get(&id)
                && s.dd.n >= min_count.max(2)
            {
                let sd = s.dd.sd().max(0.005);
                sum += ((dd - s.dd.mean) / sd).abs().min(4.0);
                used += 1;
            }
        }
        if used == 0 {
            (None, 0)
        } else {
            (Some(sum / used as f64), used)
        }
    }
}
