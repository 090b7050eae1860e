//! Quality-weighted fusion of modalities (keystroke, mouse, context).
//!
//! Each modality reports a normalised anomaly (0 = the user's typical, 1 = the edge of the
//! user's typical range) together with how much evidence backs it. The weight of a modality is
//! its *quality*:
//!
//! `w = (1 - exp(-samples / half_evidence)) * typicality`
//!
//! where `samples` is how many samples (typings, mouse actions, digraphs) produced the score,
//! `half_evidence` is the modality's evidence scale (≈ 69% of full weight at that many samples),
//! and `typicality` in `[0, 1]` says how well the model covers this input (for instance the
//! share of digraphs or action kinds present in the template). The fused anomaly is the
//! weighted mean `sum(w a) / sum(w)`, and its confidence is `1 - prod(1 - w_i)`. A modality with
//! no samples gets weight 0; with no weight at all the fusion returns `None`.

use serde::{Deserialize, Serialize};

/// One modality's input to the fusion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModalityScore {
    /// modality name (`keystroke`, `mouse`, `context`)
    pub name: String,
    /// normalised anomaly
    pub anomaly: f64,
    /// number of samples behind the score
    pub samples: usize,
    /// evidence scale of this modality (samples for ~69% weight)
    pub half_evidence: f64,
    /// coverage of the input by the model, `[0, 1]`
    pub typicality: f64,
}

/// Fused result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fused {
    /// weighted mean normalised anomaly
    pub anomaly: f64,
    /// combined confidence `1 - prod(1 - w_i)` in `[0, 1]`
    pub confidence: f64,
    /// (name, weight) per modality, weights before normalisation
    pub weights: Vec<(String, f64)>,
}

/// Quality weight of one modality.
pub fn quality_weight(m: &ModalityScore) -> f64 {
    if m.samples == 0 || !m.anomaly.is_finite() {
        return 0.0;
    }
    let scale = if m.half_evidence > 0.0 {
        m.half_evidence
    } else {
        1.0
    };
    let t = if m.typicality.is_nan() {
        0.0
    } else {
        m.typicality.clamp(0.0, 1.0)
    };
    (1.0 - (-(m.samples as f64) / scale).exp()) * t
}

/// Fuse modalities by quality weight; `None` when no modality carries weight.
pub fn fuse(inputs: &[ModalityScore]) -> Option<Fused> {
    let weights: Vec<(String, f64)> = inputs
        .iter()
        .map(|m| (m.name.clone(), quality_weight(m)))
        .collect();
    let total: f64 = weights.iter().map(|w| w.1).sum();
    if total <= 0.0 {
        return None;
    }
    let anomaly = inputs
        .iter()
        .zip(&weights)
        .filter(|(_, w)| w.1 > 0.0)
        .map(|(m, w)| m.anomaly * w.1)
        .sum::<f64>()
        / total;
    let confidence = 1.0 - weights.iter().map(|w| 1.0 - w.1).product::<f64>();
    Some(Fused {
        anomaly,
        confidence,
        weights,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, anomaly: f64, samples: usize, typicality: f64) -> ModalityScore {
        ModalityScore {
            name: name.into(),
            anomaly,
            samples,
            half_evidence: 10.0,
            typicality,
        }
    }

    #[test]
    fn no_evidence_no_result() {
        assert!(fuse(&[]).is_none());
        assert!(fuse(&[m("keystroke", 3.0, 0, 1.0)]).is_none());
    }

    #[test]
    fn single_modality_passes_through() {
        let f = fuse(&[m("keystroke", 2.5, 5, 1.0)]).unwrap();
        assert!((f.anomaly - 2.5).abs() < 1e-12);
        assert!(f.confidence > 0.0 && f.confidence < 1.0);
    }

    #[test]
    fn more_samples_more_weight() {
        let f = fuse(&[m("keystroke", 0.0, 50, 1.0), m("mouse", 4.0, 2, 1.0)]).unwrap();
        // keystroke has far more evidence: fused anomaly stays near keystroke's
        assert!(f.anomaly < 1.0, "{}", f.anomaly);
        let g = fuse(&[m("keystroke", 0.0, 2, 1.0), m("mouse", 4.0, 50, 1.0)]).unwrap();
        assert!(g.anomaly > 3.0, "{}", g.anomaly);
    }

    #[test]
    fn atypical_input_counts_less() {
        let a = fuse(&[m("keystroke", 0.0, 20, 1.0), m("mouse", 4.0, 20, 0.1)]).unwrap();
        let b = fuse(&[m("keystroke", 0.0, 20, 1.0), m("mouse", 4.0, 20, 1.0)]).unwrap();
        assert!(a.anomaly < b.anomaly);
        assert!((b.anomaly - 2.0).abs() < 1e-9);
    }

    #[test]
    fn confidence_grows_with_modalities() {
        let one = fuse(&[m("keystroke", 1.0, 10, 1.0)]).unwrap();
        let two = fuse(&[m("keystroke", 1.0, 10, 1.0), m("mouse", 1.0, 10, 1.0)]).unwrap();
        assert!(two.confidence > one.confidence);
    }
}
