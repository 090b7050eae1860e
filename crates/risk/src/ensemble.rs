//! passkeyd's own genuine-only keystroke detector.
//!
//! Trained only on the user's own enrolment vectors:
//!
//! 1. **Robust scaling**: each feature is centred on its median and divided by its median
//!    absolute deviation (times 1.4826), floored at a fraction of the typical spread so a
//!    near-constant feature cannot dominate.
//! 2. Two clipped city-block distances in that space: to the robust centre, and the mean of the
//!    distances to the `k` nearest enrolment vectors. Each per-feature term is clipped at `clip`
//!    so one slipped key cannot dominate.
//! 3. **Self-normalisation and ensembling**: each distance is turned into a z-like value with the
//!    median and MAD of the same distance over the enrolment vectors (leave-one-out for the
//!    neighbour distance), and the two are averaged.
//!
//! Hyperparameters are fixed a priori in [`EnsembleParams::default`] (see docs/continuous-auth.md).

use crate::detectors::TrainError;
use serde::{Deserialize, Serialize};

/// Hyperparameters of [`RobustEnsemble`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnsembleParams {
    /// neighbours averaged in the nearest-neighbour term
    pub k: usize,
    /// per-feature clip of scaled absolute deviations
    pub clip: f64,
    /// only the last `recent` enrolment vectors serve as neighbours (0 = all)
    pub recent: usize,
    /// weight of the neighbour term (the centre term gets `1 - w`)
    pub nn_weight: f64,
}

impl Default for EnsembleParams {
    fn default() -> Self {
        EnsembleParams {
            k: 3,
            clip: 3.0,
            recent: 0,
            nn_weight: 0.5,
        }
    }
}

/// Trained state of passkeyd's robust ensemble detector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RobustEnsemble {
    /// per-feature median
    pub center: Vec<f64>,
    /// per-feature robust scale
    pub scale: Vec<f64>,
    /// scaled reference vectors used for the neighbour term
    /// (single precision, feature-major: reference `i`'s feature `j` is at `j * n + i`, so
    /// the distances to all references are computed in vectorisable passes over one feature)
    pub refs: Vec<f32>,
    /// number of reference vectors
    pub n_refs: usize,
    /// hyperparameters
    pub params: EnsembleParams,
    /// (median, MAD) of the centre term over the enrolment vectors
    pub norm_center: (f64, f64),
    /// (median, MAD) of the leave-one-out neighbour term over the enrolment vectors
    pub norm_nn: (f64, f64),
}

/// Median of a slice (NaN when empty).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

/// (median, median absolute deviation) of a slice; MAD floored at 1e-9.
pub fn median_mad(xs: &[f64]) -> (f64, f64) {
    let m = median(xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    (m, median(&dev).max(1e-9))
}

impl RobustEnsemble {
    /// Train on the user's enrolment vectors (oldest first).
    pub fn train(train: &[Vec<f64>], params: &EnsembleParams) -> Result<Self, TrainError> {
        if train.len() < 3 {
            return Err(TrainError::TooFewSamples);
        }
        let d = train[0].len();
        if d == 0
            || train
                .iter()
                .any(|r| r.len() != d || r.iter().any(|x| !x.is_finite()))
        {
            return Err(TrainError::BadShape);
        }
        let mut center = vec![0.0; d];
        let mut scale = vec![0.0; d];
        let mut col = vec![0.0; train.len()];
        for j in 0..d {
            for (c, r) in col.iter_mut().zip(train) {
                *c = r[j];
            }
            let (m, mad) = median_mad(&col);
            center[j] = m;
            scale[j] = 1.4826 * mad;
        }
        let floor = 0.2 * median(&scale);
        scale.iter_mut().for_each(|s| *s = s.max(floor).max(1e-6));
        let start = if params.recent == 0 || params.recent >= train.len() {
            0
        } else {
            train.len() - params.recent
        };
        let scaled: Vec<Vec<f64>> = train
            .iter()
            .map(|r| {
                r.iter()
                    .zip(&center)
                    .zip(&scale)
                    .map(|((x, c), s)| (x - c) / s)
                    .collect()
            })
            .collect();
        let chosen = &scaled[start..];
        let n_refs = chosen.len();
        let mut refs = vec![0f32; d * n_refs];
        for (i, z) in chosen.iter().enumerate() {
            for (j, v) in z.iter().enumerate() {
                refs[j * n_refs + i] = *v as f32;
            }
        }
        let mut e = RobustEnsemble {
            center,
            scale,
            refs,
            n_refs,
            params: params.clone(),
            norm_center: (0.0, 1.0),
            norm_nn: (0.0, 1.0),
        };
        let cterms: Vec<f64> = scaled.iter().map(|z| e.center_term(z)).collect();
        let nterms: Vec<f64> = chosen
            .iter()
            .enumerate()
            .map(|(i, z)| {
                let z32: Vec<f32> = z.iter().map(|v| *v as f32).collect();
                e.nn_term(&z32, Some(i), &[])
            })
            .collect();
        e.norm_center = median_mad(&cterms);
        e.norm_nn = median_mad(&nterms);
        Ok(e)
    }

    /// The robustly scaled vector `(x - center) / scale`.
    pub fn scaled(&self, x: &[f64]) -> Vec<f64> {
        x.iter()
            .zip(&self.center)
            .zip(&self.scale)
            .map(|((x, c), s)| (x - c) / s)
            .collect()
    }

    fn center_term(&self, z: &[f64]) -> f64 {
        let c = self.params.clip;
        z.iter().map(|v| v.abs().min(c)).sum()
    }

    /// Mean clipped city-block distance from `z` (single precision) to the `k` nearest
    /// references, skipping reference `skip` (leave-one-out); `extra` are additional references
    /// (row vectors).
    fn nn_term(&self, z: &[f32], skip: Option<usize>, extra: &[Vec<f32>]) -> f64 {
        let c = self.params.clip as f32;
        let k = self.params.k.max(1);
        let n = self.n_refs;
        // distances to every reference, one feature at a time (auto-vectorised over references)
        let mut stack = [0f32; 256];
        let mut heap = Vec::new();
        let acc: &mut [f32] = if n <= stack.len() {
            &mut stack[..n]
        } else {
            heap.resize(n, 0f32);
            &mut heap[..]
        };
        for (j, zj) in z.iter().enumerate() {
            let Some(col) = self.refs.get(j * n..(j + 1) * n) else {
                break;
            };
            for (a, r) in acc.iter_mut().zip(col) {
                let t = (zj - r).abs();
                *a += if t < c { t } else { c };
            }
        }
        if let Some(s) = skip.and_then(|i| acc.get_mut(i)) {
            *s = f32::INFINITY;
        }
        let mut best: Vec<f32> = Vec::with_capacity(k + 1);
        let push = |dist: f32, best: &mut Vec<f32>| {
            if best.len() < k || dist < best[best.len() - 1] {
                let pos = best.partition_point(|v| *v <= dist);
                best.insert(pos, dist);
                best.truncate(k);
            }
        };
        for &dist in acc.iter() {
            if dist.is_finite() {
                push(dist, &mut best);
            }
        }
        for r in extra {
            let dist: f32 = z
                .iter()
                .zip(r)
                .map(|(a, b)| {
                    let t = (a - b).abs();
                    if t < c { t } else { c }
                })
                .sum();
            push(dist, &mut best);
        }
        if best.is_empty() {
            0.0
        } else {
            best.iter().map(|v| f64::from(*v)).sum::<f64>() / best.len() as f64
        }
    }

    /// Anomaly score with extra (already scaled, see [`RobustEnsemble::scaled_f32`]) reference
    /// vectors joining the enrolment references in the neighbour term: the session-adapted
    /// template of [`crate::stream`].
    pub fn score_with_refs(&self, x: &[f64], extra: &[Vec<f32>]) -> f64 {
        self.score_adapted(x, extra, &[])
    }

    /// [`RobustEnsemble::score_with_refs`] with the robust centre moved by `shift` (in scaled
    /// units, one value per feature; empty = no shift) for the centre term: the session-adapted
    /// centre of [`crate::stream`]. The neighbour term does not depend on the centre.
    pub fn score_adapted(&self, x: &[f64], extra: &[Vec<f32>], shift: &[f64]) -> f64 {
        // scaled sample in single precision (on the stack for the usual dimensions) and its
        // clipped distance to the centre, in one pass
        let d = self.center.len().min(x.len());
        let mut stack = [0f32; 64];
        let mut heap = Vec::new();
        let z32: &mut [f32] = if d <= stack.len() {
            &mut stack[..d]
        } else {
            heap.resize(d, 0f32);
            &mut heap[..]
        };
        let clip = self.params.clip;
        let mut q = 0.0;
        for (j, zj) in z32.iter_mut().enumerate() {
            let v = (x[j] - self.center[j]) / self.scale[j];
            let u = v - shift.get(j).copied().unwrap_or(0.0);
            q += u.abs().min(clip);
            *zj = v as f32;
        }
        let z32: &[f32] = z32;
        let w = self.params.nn_weight;
        let a = (q - self.norm_center.0) / self.norm_center.1;
        let b = (self.nn_term(z32, None, extra) - self.norm_nn.0) / self.norm_nn.1;
        (1.0 - w) * a + w * b
    }

    /// Anomaly score (a robust z-like value: around 0 for typical samples).
    pub fn score(&self, x: &[f64]) -> f64 {
        self.score_with_refs(x, &[])
    }

    /// The scaled vector in the single precision used for neighbour references (see
    /// [`RobustEnsemble::score_with_refs`]).
    pub fn scaled_f32(&self, x: &[f64]) -> Vec<f32> {
        self.scaled(x).into_iter().map(|v| v as f32).collect()
    }

    /// Per-feature clipped scaled deviations from the robust centre (the centre term's summands).
    pub fn contributions(&self, x: &[f64]) -> Vec<f64> {
        let c = self.params.clip;
        self.scaled(x).iter().map(|v| v.abs().min(c)).collect()
    }
}
