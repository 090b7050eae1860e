//! Evaluation: ROC, EER, DET curves, and the CMU benchmark protocol.

use crate::detectors::{DetectorKind, Model, TrainError};
use serde::{Deserialize, Serialize};

/// One point of an ROC/DET curve.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RocPoint {
    /// decision threshold: a score `>= threshold` is called an impostor
    pub threshold: f64,
    /// miss rate: share of impostor scores below the threshold (accepted impostors)
    pub miss: f64,
    /// false-alarm rate: share of genuine scores at or above the threshold (rejected users)
    pub false_alarm: f64,
}

/// ROC curve: thresholds `+inf` then every distinct score in decreasing order. Genuine scores
/// are the "negatives", impostor scores the "positives" (as in the CMU evaluation script).
pub fn roc(genuine: &[f64], impostor: &[f64]) -> Vec<RocPoint> {
    let mut all: Vec<(f64, bool)> = genuine
        .iter()
        .map(|&s| (s, false))
        .chain(impostor.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| b.0.total_cmp(&a.0));
    let ng = genuine.len().max(1) as f64;
    let ni = impostor.len().max(1) as f64;
    let mut out = Vec::with_capacity(all.len() + 1);
    out.push(RocPoint {
        threshold: f64::INFINITY,
        miss: 1.0,
        false_alarm: 0.0,
    });
    let (mut fp, mut tp) = (0usize, 0usize);
    let mut i = 0;
    while i < all.len() {
        let t = all[i].0;
        while i < all.len() && all[i].0 == t {
            if all[i].1 {
                tp += 1
            } else {
                fp += 1
            }
            i += 1;
        }
        out.push(RocPoint {
            threshold: t,
            miss: (impostor.len() - tp) as f64 / ni,
            false_alarm: fp as f64 / ng,
        });
    }
    out
}

/// Equal-error rate: on the ROC, the last point with miss >= false alarm and the next point
/// (miss < false alarm) are joined by a straight line and the rate where both are equal is
/// returned (the CMU script's definition). Returns `NaN` when either set is empty.
pub fn eer(genuine: &[f64], impostor: &[f64]) -> f64 {
    if genuine.is_empty() || impostor.is_empty() {
        return f64::NAN;
    }
    let pts = roc(genuine, impostor);
    let Some(k) = pts.iter().rposition(|p| p.miss - p.false_alarm >= 0.0) else {
        return f64::NAN;
    };
    let Some(y) = pts.get(k + 1) else {
        return pts[k].miss;
    };
    let x = pts[k];
    let a = (x.miss - x.false_alarm) / (y.false_alarm - x.false_alarm - y.miss + x.miss);
    x.miss + a * (y.miss - x.miss)
}

/// Area under the ROC curve: probability that a random impostor scores above a random genuine
/// sample (ties count one half).
pub fn auc(genuine: &[f64], impostor: &[f64]) -> f64 {
    let mut all: Vec<(f64, bool)> = genuine
        .iter()
        .map(|&s| (s, false))
        .chain(impostor.iter().map(|&s| (s, true)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    // rank-sum (Mann-Whitney) with average ranks for ties
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j < all.len() && all[j].0 == all[i].0 {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0;
        rank_sum += avg * all[i..j].iter().filter(|p| p.1).count() as f64;
        i = j;
    }
    let ni = impostor.len() as f64;
    let ng = genuine.len() as f64;
    (rank_sum - ni * (ni + 1.0) / 2.0) / (ni * ng)
}

/// Miss rate at a given false-alarm rate, linearly interpolated on the ROC.
pub fn miss_at_false_alarm(pts: &[RocPoint], fa: f64) -> f64 {
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        if b.false_alarm >= fa {
            if b.false_alarm == a.false_alarm {
                return a.miss.min(b.miss);
            }
            let t = (fa - a.false_alarm) / (b.false_alarm - a.false_alarm);
            return a.miss + t * (b.miss - a.miss);
        }
    }
    0.0
}

/// One row of the CMU data set.
#[derive(Debug, Clone, PartialEq)]
pub struct CmuRow {
    /// subject id (`s002` …)
    pub subject: String,
    /// session 1..=8
    pub session: u32,
    /// repetition 1..=50
    pub rep: u32,
    /// the 31 timing features, seconds, CMU column order
    pub features: Vec<f64>,
}

/// The CMU data set grouped per subject (rows in file order).
#[derive(Debug, Clone, PartialEq)]
pub struct CmuData {
    /// feature column names
    pub columns: Vec<String>,
    /// (subject, rows) in order of first appearance
    pub subjects: Vec<(String, Vec<CmuRow>)>,
}

/// Parse the text of `DSL-StrongPasswordData.csv` (CRLF or LF).
pub fn parse_cmu_csv(text: &str) -> Result<CmuData, String> {
    let mut lines = text.lines();
    let header = lines.next().ok_or("empty file")?;
    let cols: Vec<&str> = header.trim_end_matches('\r').split(',').collect();
    if cols.len() < 4 || cols[0] != "subject" || cols[1] != "sessionIndex" || cols[2] != "rep" {
        return Err("unexpected header".into());
    }
    let columns: Vec<String> = cols[3..].iter().map(|s| s.to_string()).collect();
    let mut subjects: Vec<(String, Vec<CmuRow>)> = Vec::new();
    for (ln, line) in lines.enumerate() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split(',').collect();
        if f.len() != cols.len() {
            return Err(format!(
                "line {}: {} fields, expected {}",
                ln + 2,
                f.len(),
                cols.len()
            ));
        }
        let bad = |what: &str| format!("line {}: bad {what}", ln + 2);
        let session = f[1].parse::<u32>().map_err(|_| bad("sessionIndex"))?;
        let rep = f[2].parse::<u32>().map_err(|_| bad("rep"))?;
        let mut features = Vec::with_capacity(columns.len());
        for v in &f[3..] {
            let x = v.parse::<f64>().map_err(|_| bad("value"))?;
            if !x.is_finite() {
                return Err(bad("value"));
            }
            features.push(x);
        }
        let row = CmuRow {
            subject: f[0].to_string(),
            session,
            rep,
            features,
        };
        match subjects.last_mut() {
            Some((s, rows)) if *s == row.subject => rows.push(row),
            _ => match subjects.iter_mut().find(|(s, _)| *s == row.subject) {
                Some((_, rows)) => rows.push(row),
                None => subjects.push((row.subject.clone(), vec![row])),
            },
        }
    }
    if subjects.is_empty() {
        return Err("no data rows".into());
    }
    Ok(CmuData { columns, subjects })
}

/// The CMU protocol split of one subject.
#[derive(Debug, Clone)]
pub struct CmuSplit {
    /// subject id
    pub subject: String,
    /// sessions 1-4 (200 vectors)
    pub train: Vec<Vec<f64>>,
    /// sessions 5-8 (200 vectors)
    pub genuine_test: Vec<Vec<f64>>,
    /// every other subject's session 1, reps 1-5 (250 vectors), grouped per impostor subject
    pub impostor_test: Vec<(String, Vec<Vec<f64>>)>,
    /// every other subject's whole session 1 (50 vectors each, in order): impostor streams
    pub impostor_stream: Vec<(String, Vec<Vec<f64>>)>,
    /// every other subject's whole session 2 (50 vectors each, in order): impostor streams for
    /// tuning the trust model (disjoint from the session-1 test streams)
    pub impostor_dev: Vec<(String, Vec<Vec<f64>>)>,
}

impl CmuData {
    /// Split every subject per the CMU protocol.
    pub fn splits(&self) -> Vec<CmuSplit> {
        self.subjects
            .iter()
            .map(|(s, rows)| CmuSplit {
                subject: s.clone(),
                train: rows
                    .iter()
                    .filter(|r| r.session <= 4)
                    .map(|r| r.features.clone())
                    .collect(),
                genuine_test: rows
                    .iter()
                    .filter(|r| r.session > 4)
                    .map(|r| r.features.clone())
                    .collect(),
                impostor_test: self
                    .subjects
                    .iter()
                    .filter(|(o, _)| o != s)
                    .map(|(o, orows)| {
                        (
                            o.clone(),
                            orows
                                .iter()
                                .filter(|r| r.session == 1 && r.rep <= 5)
                                .map(|r| r.features.clone())
                                .collect(),
                        )
                    })
                    .collect(),
                impostor_stream: self
                    .subjects
                    .iter()
                    .filter(|(o, _)| o != s)
                    .map(|(o, orows)| {
                        (
                            o.clone(),
                            orows
                                .iter()
                                .filter(|r| r.session == 1)
                                .map(|r| r.features.clone())
                                .collect(),
                        )
                    })
                    .collect(),
                impostor_dev: self
                    .subjects
                    .iter()
                    .filter(|(o, _)| o != s)
                    .map(|(o, orows)| {
                        (
                            o.clone(),
                            orows
                                .iter()
                                .filter(|r| r.session == 2)
                                .map(|r| r.features.clone())
                                .collect(),
                        )
                    })
                    .collect(),
            })
            .collect()
    }
}

/// Scores of one subject under one detector.
#[derive(Debug, Clone)]
pub struct SubjectScores {
    /// subject id
    pub subject: String,
    /// genuine test scores
    pub genuine: Vec<f64>,
    /// impostor test scores
    pub impostor: Vec<f64>,
    /// EER for this subject
    pub eer: f64,
}

/// Result of one detector on the whole benchmark.
#[derive(Debug, Clone)]
pub struct DetectorResult {
    /// which detector
    pub kind: DetectorKind,
    /// per-subject scores and EERs
    pub subjects: Vec<SubjectScores>,
    /// mean EER over subjects
    pub mean_eer: f64,
    /// standard deviation (n-1) of the per-subject EERs
    pub sd_eer: f64,
}

/// Mean and sample standard deviation.
pub fn mean_sd(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let m = xs.iter().sum::<f64>() / n;
    let v = if xs.len() > 1 {
        xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, v.sqrt())
}

/// Train and score one detector for every subject per the CMU protocol.
pub fn evaluate_detector(
    kind: DetectorKind,
    splits: &[CmuSplit],
) -> Result<DetectorResult, TrainError> {
    let mut subjects = Vec::with_capacity(splits.len());
    for s in splits {
        let model: Model = kind.train(&s.train)?;
        let genuine: Vec<f64> = s.genuine_test.iter().map(|x| model.score(x)).collect();
        let impostor: Vec<f64> = s
            .impostor_test
            .iter()
            .flat_map(|(_, v)| v.iter().map(|x| model.score(x)))
            .collect();
        let e = eer(&genuine, &impostor);
        subjects.push(SubjectScores {
            subject: s.subject.clone(),
            genuine,
            impostor,
            eer: e,
        });
    }
    let eers: Vec<f64> = subjects.iter().map(|s| s.eer).collect();
    let (mean_eer, sd_eer) = mean_sd(&eers);
    Ok(DetectorResult {
        kind,
        subjects,
        mean_eer,
        sd_eer,
    })
}
