//! Small dense linear algebra: symmetric eigen-decomposition (cyclic Jacobi) and the
//! pseudo-inverse square root of a covariance matrix.

/// Column means of `rows`.
pub fn col_means(rows: &[Vec<f64>]) -> Vec<f64> {
    let d = rows.first().map_or(0, |r| r.len());
    let mut m = vec![0.0; d];
    for r in rows {
        for (a, b) in m.iter_mut().zip(r) {
            *a += b;
        }
    }
    let n = rows.len().max(1) as f64;
    m.iter_mut().for_each(|a| *a /= n);
    m
}

/// Sample covariance (divisor n-1), row-major `d x d`.
pub fn covariance(rows: &[Vec<f64>], means: &[f64]) -> Vec<f64> {
    let d = means.len();
    let mut c = vec![0.0; d * d];
    let mut dev = vec![0.0; d];
    for r in rows {
        for j in 0..d {
            dev[j] = r[j] - means[j];
        }
        for i in 0..d {
            let di = dev[i];
            for j in i..d {
                c[i * d + j] += di * dev[j];
            }
        }
    }
    let div = (rows.len() as f64 - 1.0).max(1.0);
    for i in 0..d {
        for j in i..d {
            let v = c[i * d + j] / div;
            c[i * d + j] = v;
            c[j * d + i] = v;
        }
    }
    c
}

/// Eigen-decomposition of a symmetric `d x d` matrix by cyclic Jacobi rotations.
/// Returns `(eigenvalues, eigenvectors)` with eigenvectors as columns of a row-major matrix.
pub fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    for _sweep in 0..100 {
        let mut off = 0.0;
        let mut diag = 0.0;
        for i in 0..d {
            diag += a[i * d + i] * a[i * d + i];
            for j in (i + 1)..d {
                off += a[i * d + j] * a[i * d + j];
            }
        }
        if off <= 1e-30 * diag.max(1e-300) {
            break;
        }
        for p in 0..d {
            for q in (p + 1)..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                let app = a[p * d + p];
                let aqq = a[q * d + q];
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let akp = a[k * d + p];
                    let akq = a[k * d + q];
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let apk = a[p * d + k];
                    let aqk = a[q * d + k];
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let vkp = v[k * d + p];
                    let vkq = v[k * d + q];
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let vals = (0..d).map(|i| a[i * d + i]).collect();
    (vals, v)
}

/// Whitening matrix `W = E diag(1/sqrt(l)) E^T` of a covariance, where eigenvalues at or below
/// `sqrt(machine epsilon) * max |l|` are treated as zero (Moore-Penrose convention, as MASS::ginv).
/// `||W (x - m)||` is then the Mahalanobis distance under the pseudo-inverse.
pub fn pinv_sqrt(cov: &[f64], d: usize) -> Vec<f64> {
    let (vals, vecs) = symmetric_eigen(cov, d);
    let maxabs = vals.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let tol = f64::EPSILON.sqrt() * maxabs;
    let inv: Vec<f64> = vals
        .iter()
        .map(|&l| {
            if l.abs() > tol && l > 0.0 {
                1.0 / l.sqrt()
            } else {
                0.0
            }
        })
        .collect();
    let mut w = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            let mut s = 0.0;
            for k in 0..d {
                s += vecs[i * d + k] * inv[k] * vecs[j * d + k];
            }
            w[i * d + j] = s;
        }
    }
    w
}

/// `y = W x` for a row-major `d x d` matrix.
pub fn mat_vec(w: &[f64], x: &[f64]) -> Vec<f64> {
    let d = x.len().max(1);
    let mut out: Vec<f64> = w
        .chunks_exact(d)
        .take(x.len())
        .map(|row| row.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect();
    out.resize(x.len(), 0.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_of_2x2() {
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut v = vals.clone();
        v.sort_by(f64::total_cmp);
        assert!((v[0] - 1.0).abs() < 1e-12 && (v[1] - 3.0).abs() < 1e-12);
        // A v = l v for each column
        for k in 0..2 {
            let x = [vecs[k], vecs[2 + k]];
            let ax = [2.0 * x[0] + x[1], x[0] + 2.0 * x[1]];
            assert!((ax[0] - vals[k] * x[0]).abs() < 1e-12);
            assert!((ax[1] - vals[k] * x[1]).abs() < 1e-12);
        }
    }

    #[test]
    fn pinv_sqrt_of_singular() {
        // rank-1 covariance [[1,1],[1,1]]: pseudo-inverse is [[.25,.25],[.25,.25]]
        let w = pinv_sqrt(&[1.0, 1.0, 1.0, 1.0], 2);
        let x = [1.0, 1.0];
        let y = mat_vec(&w, &x);
        let d2: f64 = y.iter().map(|a| a * a).sum();
        assert!((d2 - 1.0).abs() < 1e-12, "{d2}");
    }
}
