//! A small two-class random forest (CART trees on quantile-binned features, Gini impurity,
//! bootstrap samples, random feature subsets), deterministic given its seed.

use serde::{Deserialize, Serialize};

/// SplitMix64 pseudo-random generator (deterministic, seedable).
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * n as f64) as usize % n.max(1)
    }
}

/// Forest hyperparameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForestParams {
    /// number of trees
    pub trees: usize,
    /// features tried per split (0 = sqrt of the dimension)
    pub mtry: usize,
    /// maximum depth
    pub max_depth: usize,
    /// minimum (bootstrap-weighted) samples to split a node
    pub min_split: u32,
    /// number of quantile bins per feature (at most 255)
    pub bins: usize,
    /// seed
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams {
            trees: 100,
            mtry: 0,
            max_depth: 16,
            min_split: 4,
            bins: 64,
            seed: 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Node {
    /// feature index, or `u32::MAX` for a leaf
    feature: u32,
    /// go left when `x <= threshold`
    threshold: f64,
    left: u32,
    right: u32,
    /// leaf: share of positive (weighted) samples
    p: f64,
}

/// A trained forest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forest {
    trees: Vec<Vec<Node>>,
    dim: usize,
}

impl Forest {
    /// Train on rows `x` (equal lengths) with labels `y` (`true` = positive class).
    /// Returns `None` when the data are empty or inconsistent.
    pub fn train(x: &[Vec<f64>], y: &[bool], params: &ForestParams) -> Option<Forest> {
        let n = x.len();
        if n == 0 || n != y.len() {
            return None;
        }
        let d = x[0].len();
        if d == 0 || x.iter().any(|r| r.len() != d) {
            return None;
        }
        let nb = params.bins.clamp(2, 255);
        // quantile edges per feature
        let mut edges: Vec<Vec<f64>> = Vec::with_capacity(d);
        let mut col: Vec<f64> = vec![0.0; n];
        for j in 0..d {
            for (c, r) in col.iter_mut().zip(x) {
                *c = r[j];
            }
            col.sort_by(f64::total_cmp);
            let mut e: Vec<f64> = (1..nb).map(|b| col[(b * (n - 1)) / nb]).collect();
            e.dedup();
            edges.push(e);
        }
        // binned matrix, column-major
        let mut binned = vec![0u8; n * d];
        for j in 0..d {
            for (i, r) in x.iter().enumerate() {
                binned[j * n + i] = edges[j].partition_point(|e| *e < r[j]) as u8;
            }
        }
        let mtry = if params.mtry == 0 {
            (d as f64).sqrt().round() as usize
        } else {
            params.mtry
        }
        .clamp(1, d);
        let mut rng = SplitMix64(params.seed);
        let mut trees = Vec::with_capacity(params.trees);
        for _ in 0..params.trees {
            let mut w = vec![0u32; n];
            for _ in 0..n {
                w[rng.below(n)] += 1;
            }
            let idx: Vec<u32> = (0..n as u32).filter(|&i| w[i as usize] > 0).collect();
            let mut nodes = Vec::new();
            let mut b = Builder {
                binned: &binned,
                n,
                d,
                y,
                w: &w,
                edges: &edges,
                mtry,
                params,
                rng: &mut rng,
            };
            b.grow(&mut nodes, idx, 0);
            trees.push(nodes);
        }
        Some(Forest { trees, dim: d })
    }

    /// Share of trees' positive-class probability (mean of leaf probabilities).
    pub fn predict(&self, x: &[f64]) -> f64 {
        if x.len() != self.dim || self.trees.is_empty() {
            return 0.5;
        }
        let mut s = 0.0;
        for t in &self.trees {
            let mut k = 0usize;
            // bounded walk: a malformed (e.g. tampered, deserialised) tree cannot panic or loop
            for _ in 0..=t.len() {
                let Some(nd) = t.get(k) else {
                    s += 0.5;
                    break;
                };
                if nd.feature == u32::MAX {
                    s += nd.p;
                    break;
                }
                let v = x.get(nd.feature as usize).copied().unwrap_or(0.0);
                k = if v <= nd.threshold { nd.left } else { nd.right } as usize;
            }
        }
        s / self.trees.len() as f64
    }
}

struct Builder<'a> {
    binned: &'a [u8],
    n: usize,
    d: usize,
    y: &'a [bool],
    w: &'a [u32],
    edges: &'a [Vec<f64>],
    mtry: usize,
    params: &'a ForestParams,
    rng: &'a mut SplitMix64,
}

impl Builder<'_> {
    fn grow(&mut self, nodes: &mut Vec<Node>, idx: Vec<u32>, depth: usize) -> u32 {
        let (mut tot, mut pos) = (0u64, 0u64);
        for &i in &idx {
            let wi = u64::from(self.w[i as usize]);
            tot += wi;
            if self.y[i as usize] {
                pos += wi;
            }
        }
        let p = if tot == 0 {
            0.5
        } else {
            pos as f64 / tot as f64
        };
        let me = nodes.len() as u32;
        nodes.push(Node {
            feature: u32::MAX,
            threshold: 0.0,
            left: 0,
            right: 0,
            p,
        });
        if depth >= self.params.max_depth
            || tot < u64::from(self.params.min_split)
            || pos == 0
            || pos == tot
        {
            return me;
        }
        // choose mtry distinct features
        let mut feats: Vec<usize> = (0..self.d).collect();
        for k in 0..self.mtry {
            let r = k + self.rng.below(self.d - k);
            feats.swap(k, r);
        }
        let parent = gini(pos as f64, tot as f64) * tot as f64;
        let mut best: Option<(f64, usize, u8)> = None;
        let mut hist_t = [0u64; 256];
        let mut hist_p = [0u64; 256];
        for &j in &feats[..self.mtry] {
            let nb = self.edges[j].len() + 1;
            hist_t[..nb].iter_mut().for_each(|h| *h = 0);
            hist_p[..nb].iter_mut().for_each(|h| *h = 0);
            let col = &self.binned[j * self.n..(j + 1) * self.n];
            for &i in &idx {
                let b = col[i as usize] as usize;
                let wi = u64::from(self.w[i as usize]);
                hist_t[b] += wi;
                if self.y[i as usize] {
                    hist_p[b] += wi;
                }
            }
            let (mut lt, mut lp) = (0u64, 0u64);
            for b in 0..nb - 1 {
                lt += hist_t[b];
                lp += hist_p[b];
                if lt == 0 || lt == tot {
                    continue;
                }
                let rt = tot - lt;
                let rp = pos - lp;
                let imp =
                    gini(lp as f64, lt as f64) * lt as f64 + gini(rp as f64, rt as f64) * rt as f64;
                if imp < parent - 1e-12 && best.is_none_or(|bb| imp < bb.0) {
                    best = Some((imp, j, b as u8));
                }
            }
        }
        let Some((_, j, b)) = best else {
            return me;
        };
        let col = &self.binned[j * self.n..(j + 1) * self.n];
        let (li, ri): (Vec<u32>, Vec<u32>) = idx.into_iter().partition(|&i| col[i as usize] <= b);
        let l = self.grow(nodes, li, depth + 1);
        let r = self.grow(nodes, ri, depth + 1);
        let nd = &mut nodes[me as usize];
        nd.feature = j as u32;
        nd.threshold = self.edges[j][b as usize];
        nd.left = l;
        nd.right = r;
        me
    }
}

fn gini(pos: f64, tot: f64) -> f64 {
    if tot <= 0.0 {
        return 0.0;
    }
    let p = pos / tot;
    2.0 * p * (1.0 - p)
}
