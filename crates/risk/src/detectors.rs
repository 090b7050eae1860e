//! Anomaly detectors for fixed-phrase keystroke vectors.
//!
//! The Killourhy & Maxion (2009) detectors are re-implemented from the paper's descriptions;
//! [`DetectorKind::RobustEnsemble`] is passkeyd's own genuine-only detector (see
//! [`RobustEnsemble`]). Every detector is trained only on the genuine user's samples and returns
//! an anomaly score (higher = less like the user).

use crate::ensemble::{EnsembleParams, RobustEnsemble};
use crate::linalg::{col_means, covariance, mat_vec, pinv_sqrt};
use serde::{Deserialize, Serialize};

/// The detectors this crate ships.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DetectorKind {
    /// Euclidean distance to the mean vector.
    Euclidean,
    /// Squared Euclidean distance divided by the product of the norms of sample and mean.
    EuclideanNormed,
    /// Manhattan (city-block) distance to the mean vector.
    Manhattan,
    /// Manhattan distance with each feature divided by its mean absolute deviation.
    ManhattanScaled,
    /// Manhattan distance to a filtered mean: per feature, training values more than three
    /// standard deviations from the feature's mean are dropped before averaging.
    ManhattanFilter,
    /// Mahalanobis distance under the pseudo-inverse of the sample covariance.
    Mahalanobis,
    /// Distance to the nearest training vector in the whitened (Mahalanobis) space.
    NearestNeighborMahalanobis,
    /// Number of features whose z-score exceeds 1.96 in absolute value.
    OutlierCount,
    /// passkeyd's own detector: robustly scaled nearest-neighbour ensemble.
    RobustEnsemble,
}

impl DetectorKind {
    /// All shipped detectors, literature ones first.
    pub const ALL: [DetectorKind; 9] = [
        DetectorKind::ManhattanScaled,
        DetectorKind::NearestNeighborMahalanobis,
        DetectorKind::OutlierCount,
        DetectorKind::Mahalanobis,
        DetectorKind::ManhattanFilter,
        DetectorKind::Manhattan,
        DetectorKind::Euclidean,
        DetectorKind::EuclideanNormed,
        DetectorKind::RobustEnsemble,
    ];

    /// Display name (as in the CMU table).
    pub fn name(self) -> &'static str {
        match self {
            DetectorKind::Euclidean => "Euclidean",
            DetectorKind::EuclideanNormed => "Euclidean (normed)",
            DetectorKind::Manhattan => "Manhattan",
            DetectorKind::ManhattanScaled => "Manhattan (scaled)",
            DetectorKind::ManhattanFilter => "Manhattan (filter)",
            DetectorKind::Mahalanobis => "Mahalanobis",
            DetectorKind::NearestNeighborMahalanobis => "Nearest Neighbor (Mahalanobis)",
            DetectorKind::OutlierCount => "Outlier Count (z-score)",
            DetectorKind::RobustEnsemble => "passkeyd robust ensemble",
        }
    }

    /// Published mean EER (Killourhy & Maxion 2009, CMU table), when there is one.
    pub fn published_eer(self) -> Option<f64> {
        match self {
            DetectorKind::Euclidean => Some(0.1706),
            DetectorKind::EuclideanNormed => Some(0.2153),
            DetectorKind::Manhattan => Some(0.1529),
            DetectorKind::ManhattanScaled => Some(0.0962),
            DetectorKind::ManhattanFilter => Some(0.1360),
            DetectorKind::Mahalanobis => Some(0.1101),
            DetectorKind::NearestNeighborMahalanobis => Some(0.0996),
            DetectorKind::OutlierCount => Some(0.1022),
            DetectorKind::RobustEnsemble => None,
        }
    }

    /// Train this detector on the genuine user's vectors (all of the same length, at least 2).
    pub fn train(self, train: &[Vec<f64>]) -> Result<Model, TrainError> {
        let d = check(train)?;
        let means = col_means(train);
        Ok(match self {
            DetectorKind::Euclidean => Model::Euclidean { means },
            DetectorKind::EuclideanNormed => {
                let mnorm = norm(&means);
                Model::EuclideanNormed { means, mnorm }
            }
            DetectorKind::Manhattan => Model::Manhattan { means },
            DetectorKind::ManhattanScaled => {
                let mut scale = vec![0.0; d];
                for r in train {
                    for j in 0..d {
                        scale[j] += (r[j] - means[j]).abs();
                    }
                }
                let n = train.len() as f64;
                scale.iter_mut().for_each(|s| *s = nonzero(*s / n));
                Model::ManhattanScaled { means, scale }
            }
            DetectorKind::ManhattanFilter => {
                // per feature: drop the training values more than 3 sd from the feature's
                // mean, then re-average the remaining values
                let sds = col_sds(train, &means);
                let mut filtered = vec![0.0; d];
                for j in 0..d {
                    let (mut sum, mut n) = (0.0, 0usize);
                    for r in train {
                        if (r[j] - means[j]).abs() <= 3.0 * sds[j] {
                            sum += r[j];
                            n += 1;
                        }
                    }
                    filtered[j] = if n == 0 { means[j] } else { sum / n as f64 };
                }
                Model::Manhattan { means: filtered }
            }
            DetectorKind::Mahalanobis => {
                let w = pinv_sqrt(&covariance(train, &means), d);
                Model::Mahalanobis { means, w }
            }
            DetectorKind::NearestNeighborMahalanobis => {
                let w = pinv_sqrt(&covariance(train, &means), d);
                let sphered = train.iter().map(|r| mat_vec(&w, r)).collect();
                Model::NearestNeighborMahalanobis { w, sphered }
            }
            DetectorKind::OutlierCount => {
                let sds = col_sds(train, &means).into_iter().map(nonzero).collect();
                Model::OutlierCount { means, sds }
            }
            DetectorKind::RobustEnsemble => {
                Model::RobustEnsemble(RobustEnsemble::train(train, &EnsembleParams::default())?)
            }
        })
    }
}

/// Why a detector could not be trained.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainError {
    /// Fewer than two training vectors.
    TooFewSamples,
    /// Vectors of different lengths, empty vectors, or non-finite values.
    BadShape,
}

impl std::fmt::Display for TrainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TrainError::TooFewSamples => f.write_str("need at least two training samples"),
            TrainError::BadShape => f.write_str("training vectors of unequal length or non-finite"),
        }
    }
}

impl std::error::Error for TrainError {}

fn check(train: &[Vec<f64>]) -> Result<usize, TrainError> {
    if train.len() < 2 {
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
    Ok(d)
}

fn nonzero(s: f64) -> f64 {
    if s > 1e-9 { s } else { 1e-9 }
}

fn norm(x: &[f64]) -> f64 {
    x.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Column sample standard deviations (n-1).
pub fn col_sds(rows: &[Vec<f64>], means: &[f64]) -> Vec<f64> {
    let d = means.len();
    let mut s = vec![0.0; d];
    for r in rows {
        for j in 0..d {
            let e = r[j] - means[j];
            s[j] += e * e;
        }
    }
    let div = (rows.len() as f64 - 1.0).max(1.0);
    s.into_iter().map(|v| (v / div).sqrt()).collect()
}

/// A trained detector (the user's template). Serialisable; holds statistics only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Model {
    /// see [`DetectorKind::Euclidean`]
    Euclidean {
        /// mean vector
        means: Vec<f64>,
    },
    /// see [`DetectorKind::EuclideanNormed`]
    EuclideanNormed {
        /// mean vector
        means: Vec<f64>,
        /// norm of the mean vector
        mnorm: f64,
    },
    /// see [`DetectorKind::Manhattan`] and [`DetectorKind::ManhattanFilter`]
    Manhattan {
        /// mean vector
        means: Vec<f64>,
    },
    /// see [`DetectorKind::ManhattanScaled`]
    ManhattanScaled {
        /// mean vector
        means: Vec<f64>,
        /// mean absolute deviation per feature
        scale: Vec<f64>,
    },
    /// see [`DetectorKind::Mahalanobis`]
    Mahalanobis {
        /// mean vector
        means: Vec<f64>,
        /// whitening matrix (pseudo-inverse square root of the covariance), row-major
        w: Vec<f64>,
    },
    /// see [`DetectorKind::NearestNeighborMahalanobis`]
    NearestNeighborMahalanobis {
        /// whitening matrix, row-major
        w: Vec<f64>,
        /// whitened training vectors
        sphered: Vec<Vec<f64>>,
    },
    /// see [`DetectorKind::OutlierCount`]
    OutlierCount {
        /// mean vector
        means: Vec<f64>,
        /// standard deviations
        sds: Vec<f64>,
    },
    /// see [`RobustEnsemble`]
    RobustEnsemble(RobustEnsemble),
}

impl Model {
    /// Anomaly score of one vector (higher = more anomalous). `x` must have the training length;
    /// a vector of another length scores `f64::INFINITY`.
    pub fn score(&self, x: &[f64]) -> f64 {
        if x.len() != self.dim() {
            return f64::INFINITY;
        }
        match self {
            Model::Euclidean { means } => x
                .iter()
                .zip(means)
                .map(|(a, m)| (a - m) * (a - m))
                .sum::<f64>()
                .sqrt(),
            Model::EuclideanNormed { means, mnorm } => {
                let d2: f64 = x.iter().zip(means).map(|(a, m)| (a - m) * (a - m)).sum();
                d2 / (norm(x) * mnorm).max(1e-300)
            }
            Model::Manhattan { means } => x.iter().zip(means).map(|(a, m)| (a - m).abs()).sum(),
            Model::ManhattanScaled { means, scale } => x
                .iter()
                .zip(means)
                .zip(scale)
                .map(|((a, m), s)| (a - m).abs() / s)
                .sum(),
            Model::Mahalanobis { means, w } => mahal(w, means, x).sqrt(),
            Model::NearestNeighborMahalanobis { w, sphered } => {
                let y = mat_vec(w, x);
                sphered
                    .iter()
                    .map(|t| {
                        t.iter()
                            .zip(&y)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f64>()
                    })
                    .fold(f64::INFINITY, f64::min)
                    .sqrt()
            }
            Model::OutlierCount { means, sds } => x
                .iter()
                .zip(means)
                .zip(sds)
                .filter(|((a, m), s)| ((*a - *m) / **s).abs() > 1.959_963_984_540_054)
                .count() as f64,
            Model::RobustEnsemble(e) => e.score(x),
        }
    }

    /// Per-feature additive terms of the score for additive detectors (they sum to the score,
    /// or to its square for Euclidean), `None` for the others.
    pub fn contributions(&self, x: &[f64]) -> Option<Vec<f64>> {
        if x.len() != self.dim() {
            return None;
        }
        match self {
            Model::Euclidean { means } => Some(
                x.iter()
                    .zip(means)
                    .map(|(a, m)| (a - m) * (a - m))
                    .collect(),
            ),
            Model::Manhattan { means } => {
                Some(x.iter().zip(means).map(|(a, m)| (a - m).abs()).collect())
            }
            Model::ManhattanScaled { means, scale } => Some(
                x.iter()
                    .zip(means)
                    .zip(scale)
                    .map(|((a, m), s)| (a - m).abs() / s)
                    .collect(),
            ),
            Model::OutlierCount { means, sds } => Some(
                x.iter()
                    .zip(means)
                    .zip(sds)
                    .map(|((a, m), s)| {
                        if ((a - m) / s).abs() > 1.959_963_984_540_054 {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect(),
            ),
            Model::RobustEnsemble(e) => Some(e.contributions(x)),
            _ => None,
        }
    }

    /// Feature dimension the model was trained on.
    pub fn dim(&self) -> usize {
        match self {
            Model::Euclidean { means }
            | Model::EuclideanNormed { means, .. }
            | Model::Manhattan { means }
            | Model::ManhattanScaled { means, .. }
            | Model::Mahalanobis { means, .. }
            | Model::OutlierCount { means, .. } => means.len(),
            Model::NearestNeighborMahalanobis { w, .. } => (w.len() as f64).sqrt().round() as usize,
            Model::RobustEnsemble(e) => e.center.len(),
        }
    }
}

fn mahal(w: &[f64], means: &[f64], x: &[f64]) -> f64 {
    let dev: Vec<f64> = x.iter().zip(means).map(|(a, m)| a - m).collect();
    mat_vec(w, &dev).iter().map(|a| a * a).sum()
}
