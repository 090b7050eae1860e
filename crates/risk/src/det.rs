//! DET curves (miss vs false alarm on probit axes) rendered as a self-contained SVG.

use crate::eval::{DetectorResult, miss_at_false_alarm, roc};

/// Standard normal CDF (series for erf; adequate for plotting in `[-5, 5]`).
pub fn normal_cdf(x: f64) -> f64 {
    let z = (x / std::f64::consts::SQRT_2).clamp(-4.5, 4.5);
    // erf(z) = 2/sqrt(pi) * sum_n (-1)^n z^(2n+1) / (n! (2n+1))
    let mut term = z;
    let mut sum = z;
    for n in 1..200 {
        term *= -z * z / n as f64;
        let add = term / (2 * n + 1) as f64;
        sum += add;
        if add.abs() < 1e-17 {
            break;
        }
    }
    (0.5 * (1.0 + 2.0 / std::f64::consts::PI.sqrt() * sum)).clamp(0.0, 1.0)
}

/// Inverse of [`normal_cdf`] by bisection, for `p` in `(0, 1)`.
pub fn probit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    let (mut lo, mut hi) = (-6.0, 6.0);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if normal_cdf(mid) < p {
            lo = mid
        } else {
            hi = mid
        }
    }
    0.5 * (lo + hi)
}

/// Subject-averaged DET curve: at each false-alarm rate of a log-spaced grid from 0.1% to 90%,
/// the miss rate of every subject's ROC (linear interpolation) is averaged over subjects.
pub fn averaged_det(r: &DetectorResult) -> Vec<(f64, f64)> {
    let rocs: Vec<_> = r
        .subjects
        .iter()
        .map(|s| roc(&s.genuine, &s.impostor))
        .collect();
    let n = 60;
    (0..=n)
        .map(|i| {
            let fa = 0.001 * (900.0f64).powf(i as f64 / n as f64);
            let m = rocs.iter().map(|p| miss_at_false_alarm(p, fa)).sum::<f64>()
                / rocs.len().max(1) as f64;
            (fa, m)
        })
        .collect()
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#000000",
];

/// SVG of DET curves: `(label, points (false_alarm, miss))` each, probit axes from 0.1% to 90%.
pub fn det_svg(title: &str, curves: &[(String, Vec<(f64, f64)>)]) -> String {
    let (w, h, ml, mr, mt, mb) = (760.0, 560.0, 70.0, 250.0, 40.0, 60.0);
    let (lo, hi) = (probit(0.001), probit(0.9));
    let px = |p: f64| ml + (probit(p) - lo) / (hi - lo) * (w - ml - mr);
    let py = |p: f64| mt + (1.0 - (probit(p) - lo) / (hi - lo)) * (h - mt - mb);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\n",
        (w - mr + ml) / 2.0,
        xml_escape(title)
    );
    for t in [
        0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9,
    ] {
        let (x, y) = (px(t), py(t));
        s += &format!(
            "<line x1=\"{x:.1}\" y1=\"{mt}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#ddd\"/>\n<line x1=\"{ml}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\n",
            h - mb,
            w - mr
        );
        let label = format!("{}", t * 100.0);
        s += &format!(
            "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{label}</text>\n",
            h - mb + 16.0
        );
        s += &format!(
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{label}</text>\n",
            ml - 6.0,
            y + 4.0
        );
    }
    s += &format!(
        "<rect x=\"{ml}\" y=\"{mt}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"none\" stroke=\"black\"/>\n",
        w - ml - mr,
        h - mt - mb
    );
    s += &format!(
        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">False-alarm rate (%), probit scale</text>\n",
        (w - mr + ml) / 2.0,
        h - 18.0
    );
    s += &format!(
        "<text transform=\"translate(18,{:.1}) rotate(-90)\" text-anchor=\"middle\">Miss rate (%), probit scale</text>\n",
        (h - mb + mt) / 2.0
    );
    // EER diagonal
    s += &format!(
        "<line x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\" stroke=\"#999\" stroke-dasharray=\"4 4\"/>\n",
        px(0.001),
        py(0.001),
        px(0.9),
        py(0.9)
    );
    for (k, (label, pts)) in curves.iter().enumerate() {
        let color = COLORS[k % COLORS.len()];
        let path: Vec<String> = pts
            .iter()
            .filter(|(fa, m)| *fa >= 0.001 && *fa <= 0.9 && *m >= 0.001 && *m <= 0.9)
            .map(|(fa, m)| format!("{:.1},{:.1}", px(*fa), py(*m)))
            .collect();
        if !path.is_empty() {
            s += &format!(
                "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"1.8\" points=\"{}\"/>\n",
                path.join(" ")
            );
        }
        let ly = mt + 14.0 + 18.0 * k as f64;
        s += &format!(
            "<line x1=\"{:.1}\" y1=\"{ly:.1}\" x2=\"{:.1}\" y2=\"{ly:.1}\" stroke=\"{color}\" stroke-width=\"3\"/>\n<text x=\"{:.1}\" y=\"{:.1}\">{}</text>\n",
            w - mr + 10.0,
            w - mr + 30.0,
            w - mr + 36.0,
            ly + 4.0,
            xml_escape(label)
        );
    }
    s += "</svg>\n";
    s
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probit_inverts_cdf() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-12);
        assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-9);
        assert!((probit(0.975) - 1.959_963_984_540_054).abs() < 1e-6);
        assert!((probit(0.01) + 2.326_347_874).abs() < 1e-6);
    }
}
