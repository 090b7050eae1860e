//! Mouse dynamics: raw pointer events → mouse actions → per-action features → per-user random
//! forest → session score. Pure functions; the caller reads files.
//!
//! Segmentation (after Antal & Egyed-Zsigmond 2019, re-implemented from their description):
//! a **point-and-click** (PC) is the movement leading to a click plus the click; a
//! **drag-and-drop** (DD) runs from a press, through drag events, to the release; a **mouse
//! move** (MM) is a movement that ends without a click, cut at pauses longer than
//! [`MAX_PAUSE_S`]. Scroll events are ignored. Actions with fewer than [`MIN_POINTS`] points are
//! dropped.

use serde::{Deserialize, Serialize};

/// Pause (seconds) that ends a movement.
pub const MAX_PAUSE_S: f64 = 10.0;
/// Minimum number of points of an action.
pub const MIN_POINTS: usize = 4;

/// Button of a raw event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Button {
    /// no button
    None,
    /// left button
    Left,
    /// right button
    Right,
    /// wheel
    Scroll,
}

/// State of a raw event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum State {
    /// pointer moved, no button down
    Move,
    /// pointer moved with a button down
    Drag,
    /// button pressed
    Pressed,
    /// button released
    Released,
    /// wheel down
    Down,
    /// wheel up
    Up,
}

/// One raw pointer event.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MouseEvent {
    /// client timestamp, seconds
    pub t: f64,
    /// button
    pub button: Button,
    /// state
    pub state: State,
    /// x coordinate, pixels
    pub x: f64,
    /// y coordinate, pixels
    pub y: f64,
}

/// Parse a Balabit session file (`record timestamp,client timestamp,button,state,x,y`).
/// Malformed lines are skipped; returns the events and the number of skipped lines.
pub fn parse_balabit(text: &str) -> (Vec<MouseEvent>, usize) {
    let mut out = Vec::new();
    let mut skipped = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.trim_end_matches('\r').split(',').collect();
        if f.len() != 6 {
            skipped += 1;
            continue;
        }
        let button = match f[2] {
            "NoButton" => Button::None,
            "Left" => Button::Left,
            "Right" => Button::Right,
            "Scroll" => Button::Scroll,
            _ => {
                skipped += 1;
                continue;
            }
        };
        let state = match f[3] {
            "Move" => State::Move,
            "Drag" => State::Drag,
            "Pressed" => State::Pressed,
            "Released" => State::Released,
            "Down" => State::Down,
            "Up" => State::Up,
            _ => {
                skipped += 1;
                continue;
            }
        };
        let (Ok(t), Ok(x), Ok(y)) = (
            f[1].parse::<f64>(),
            f[4].parse::<f64>(),
            f[5].parse::<f64>(),
        ) else {
            skipped += 1;
            continue;
        };
        if !t.is_finite() || !x.is_finite() || !y.is_finite() {
            skipped += 1;
            continue;
        }
        out.push(MouseEvent {
            t,
            button,
            state,
            x,
            y,
        });
    }
    (out, skipped)
}

/// Kind of mouse action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ActionKind {
    /// mouse move
    MouseMove,
    /// point and click
    PointClick,
    /// drag and drop
    DragDrop,
}

/// A segmented action: its kind and its points `(t, x, y)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MouseAction {
    /// kind
    pub kind: ActionKind,
    /// points (time seconds, x, y)
    pub points: Vec<(f64, f64, f64)>,
}

/// Segment raw events into actions.
pub fn segment(events: &[MouseEvent]) -> Vec<MouseAction> {
    let mut out = Vec::new();
    let mut buf: Vec<(f64, f64, f64)> = Vec::new();
    let mut press_at: Option<usize> = None;
    let mut dragged = false;
    let flush = |out: &mut Vec<MouseAction>, pts: &[(f64, f64, f64)], kind: ActionKind| {
        if pts.len() >= MIN_POINTS {
            out.push(MouseAction {
                kind,
                points: pts.to_vec(),
            });
        }
    };
    for e in events {
        if e.button == Button::Scroll {
            continue;
        }
        let p = (e.t, e.x, e.y);
        if let Some(last) = buf.last()
            && e.t - last.0 > MAX_PAUSE_S
            && press_at.is_none()
        {
            flush(&mut out, &buf, ActionKind::MouseMove);
            buf.clear();
        }
        match e.state {
            State::Move | State::Drag => {
                if e.state == State::Drag {
                    dragged = true;
                }
                buf.push(p);
            }
            State::Pressed => {
                press_at = Some(buf.len());
                dragged = false;
                buf.push(p);
            }
            State::Released => {
                buf.push(p);
                let start = press_at.unwrap_or(0).min(buf.len());
                if dragged {
                    flush(&mut out, &buf[..start], ActionKind::MouseMove);
                    flush(&mut out, &buf[start..], ActionKind::DragDrop);
                } else {
                    flush(&mut out, &buf, ActionKind::PointClick);
                }
                buf.clear();
                press_at = None;
                dragged = false;
            }
            State::Down | State::Up => {}
        }
    }
    if press_at.is_none() {
        flush(&mut out, &buf, ActionKind::MouseMove);
    }
    out
}

/// Names of the per-action features, in [`action_features`] order.
pub const FEATURE_NAMES: [&str; 34] = [
    "is_mouse_move",
    "is_point_click",
    "is_drag_drop",
    "duration",
    "traveled_distance",
    "straight_distance",
    "straightness",
    "num_points",
    "mean_speed",
    "sd_speed",
    "max_speed",
    "mean_vx",
    "sd_vx",
    "mean_vy",
    "sd_vy",
    "mean_accel",
    "sd_accel",
    "max_accel",
    "min_accel",
    "mean_jerk",
    "sd_jerk",
    "mean_angular_velocity",
    "sd_angular_velocity",
    "mean_curvature",
    "sd_curvature",
    "direction_sin",
    "direction_cos",
    "largest_deviation",
    "sum_of_angles",
    "critical_points",
    "time_to_max_speed",
    "mean_dt",
    "initial_speed",
    "final_speed",
];

fn mean_sd(v: &[f64]) -> (f64, f64) {
    if v.is_empty() {
        return (0.0, 0.0);
    }
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Features of one action (see [`FEATURE_NAMES`]).
pub fn action_features(a: &MouseAction) -> Vec<f64> {
    // drop points with non-increasing time (keep the later position)
    let mut pts: Vec<(f64, f64, f64)> = Vec::with_capacity(a.points.len());
    for &p in &a.points {
        match pts.last_mut() {
            Some(last) if p.0 - last.0 <= 1e-6 => *last = (last.0, p.1, p.2),
            _ => pts.push(p),
        }
    }
    let n = pts.len();
    let mut f = vec![0.0; FEATURE_NAMES.len()];
    f[0] = f64::from(u8::from(a.kind == ActionKind::MouseMove));
    f[1] = f64::from(u8::from(a.kind == ActionKind::PointClick));
    f[2] = f64::from(u8::from(a.kind == ActionKind::DragDrop));
    if n < 2 {
        return f;
    }
    let (t0, x0, y0) = pts[0];
    let (t1, x1, y1) = pts[n - 1];
    let mut vx = Vec::with_capacity(n);
    let mut vy = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    let mut tm = Vec::with_capacity(n);
    let mut theta = Vec::with_capacity(n);
    let mut seg = Vec::with_capacity(n);
    let mut dts = Vec::with_capacity(n);
    let mut traveled = 0.0;
    for w in pts.windows(2) {
        let dt = w[1].0 - w[0].0;
        let dx = w[1].1 - w[0].1;
        let dy = w[1].2 - w[0].2;
        let ds = (dx * dx + dy * dy).sqrt();
        traveled += ds;
        vx.push(dx / dt);
        vy.push(dy / dt);
        v.push(ds / dt);
        tm.push(0.5 * (w[0].0 + w[1].0));
        theta.push(dy.atan2(dx));
        seg.push(ds);
        dts.push(dt);
    }
    let mut acc = Vec::new();
    let mut tacc = Vec::new();
    let mut omega = Vec::new();
    let mut curv = Vec::new();
    let mut sum_angles = 0.0;
    let mut critical = 0.0;
    for i in 1..v.len() {
        let dt = (tm[i] - tm[i - 1]).max(1e-6);
        acc.push((v[i] - v[i - 1]) / dt);
        tacc.push(0.5 * (tm[i] + tm[i - 1]));
        let mut dth = theta[i] - theta[i - 1];
        while dth > std::f64::consts::PI {
            dth -= 2.0 * std::f64::consts::PI;
        }
        while dth < -std::f64::consts::PI {
            dth += 2.0 * std::f64::consts::PI;
        }
        sum_angles += dth.abs();
        omega.push(dth / dt);
        if seg[i] > 0.0 {
            let c = dth / seg[i];
            curv.push(c);
            if c.abs() > 0.5 {
                critical += 1.0;
            }
        }
    }
    let mut jerk = Vec::new();
    for i in 1..acc.len() {
        jerk.push((acc[i] - acc[i - 1]) / (tacc[i] - tacc[i - 1]).max(1e-6));
    }
    let straight = ((x1 - x0).powi(2) + (y1 - y0).powi(2)).sqrt();
    let mut largest_dev: f64 = 0.0;
    if straight > 0.0 {
        for p in &pts {
            let d = ((y1 - y0) * p.1 - (x1 - x0) * p.2 + x1 * y0 - y1 * x0).abs() / straight;
            largest_dev = largest_dev.max(d);
        }
    }
    let (mv, sv) = mean_sd(&v);
    let (mvx, svx) = mean_sd(&vx);
    let (mvy, svy) = mean_sd(&vy);
    let (ma, sa) = mean_sd(&acc);
    let (mj, sj) = mean_sd(&jerk);
    let (mo, so) = mean_sd(&omega);
    let (mc, sc) = mean_sd(&curv);
    let (imax, vmax) =
        v.iter().enumerate().fold(
            (0, 0.0f64),
            |(bi, bv), (i, &x)| {
                if x > bv { (i, x) } else { (bi, bv) }
            },
        );
    let duration = t1 - t0;
    f[3] = duration;
    f[4] = traveled;
    f[5] = straight;
    f[6] = if traveled > 0.0 {
        straight / traveled
    } else {
        0.0
    };
    f[7] = n as f64;
    f[8] = mv;
    f[9] = sv;
    f[10] = vmax;
    f[11] = mvx;
    f[12] = svx;
    f[13] = mvy;
    f[14] = svy;
    f[15] = ma;
    f[16] = sa;
    f[17] = acc.iter().copied().fold(0.0, f64::max);
    f[18] = acc.iter().copied().fold(0.0, f64::min);
    f[19] = mj;
    f[20] = sj;
    f[21] = mo;
    f[22] = so;
    f[23] = mc;
    f[24] = sc;
    let dir = (y1 - y0).atan2(x1 - x0);
    f[25] = dir.sin();
    f[26] = dir.cos();
    f[27] = largest_dev;
    f[28] = sum_angles;
    f[29] = critical;
    f[30] = tm.get(imax).map_or(0.0, |t| t - t0);
    f[31] = mean_sd(&dts).0;
    f[32] = v.first().copied().unwrap_or(0.0);
    f[33] = v.last().copied().unwrap_or(0.0);
    for x in &mut f {
        if !x.is_finite() {
            *x = 0.0;
        }
    }
    f
}

/// Features of every action of a session.
pub fn session_features(events: &[MouseEvent]) -> Vec<Vec<f64>> {
    segment(events).iter().map(action_features).collect()
}

/// A labelled test session (features of its actions).
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSession {
    /// account the session was recorded under
    pub user: String,
    /// session name
    pub name: String,
    /// true when someone else than the account owner produced it
    pub illegal: bool,
    /// per-action features
    pub actions: Vec<Vec<f64>>,
}

/// A per-user mouse model: a random forest separating the user's actions (positive) from other
/// users' actions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MouseModel {
    /// the forest
    pub forest: crate::forest::Forest,
}

impl MouseModel {
    /// Train for one user: `own` = the user's actions, `others` = actions of other users, each
    /// group of which is sampled evenly so that negatives match the number of positives.
    pub fn train(
        own: &[Vec<f64>],
        others: &[&[Vec<f64>]],
        params: &crate::forest::ForestParams,
    ) -> Option<MouseModel> {
        if own.is_empty() || others.is_empty() {
            return None;
        }
        let mut rng = crate::forest::SplitMix64(params.seed ^ 0x5eed);
        let per = own.len().div_ceil(others.len());
        let mut x: Vec<Vec<f64>> = own.to_vec();
        let mut y = vec![true; own.len()];
        for o in others {
            if o.is_empty() {
                continue;
            }
            for _ in 0..per.min(o.len()) {
                x.push(o[rng.below(o.len())].clone());
                y.push(false);
            }
        }
        crate::forest::Forest::train(&x, &y, params).map(|forest| MouseModel { forest })
    }

    /// Probability-like score that one action is the user's.
    pub fn action_genuine(&self, action: &[f64]) -> f64 {
        self.forest.predict(action)
    }

    /// Session anomaly in `[0, 1]`: one minus the mean genuine probability over its actions
    /// (0.5 when the session has no action).
    pub fn session_anomaly(&self, actions: &[Vec<f64>]) -> f64 {
        if actions.is_empty() {
            return 0.5;
        }
        1.0 - actions.iter().map(|a| self.forest.predict(a)).sum::<f64>() / actions.len() as f64
    }
}

/// Result of the Balabit evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct MouseEvalResult {
    /// global ROC AUC over all labelled sessions (illegal = positive, higher anomaly)
    pub auc: f64,
    /// global EER
    pub eer: f64,
    /// per user: (user, sessions, AUC, EER)
    pub per_user: Vec<(String, usize, f64, f64)>,
    /// (user, session, illegal, anomaly) of every labelled session
    pub scores: Vec<(String, String, bool, f64)>,
}

/// Train one model per user on `train` (user, actions of all its training sessions) and score
/// the labelled sessions.
pub fn evaluate_mouse(
    train: &[(String, Vec<Vec<f64>>)],
    test: &[LabelledSession],
    params: &crate::forest::ForestParams,
) -> MouseEvalResult {
    let mut scores = Vec::with_capacity(test.len());
    for (user, own) in train {
        let others: Vec<&[Vec<f64>]> = train
            .iter()
            .filter(|(u, _)| u != user)
            .map(|(_, a)| a.as_slice())
            .collect();
        let Some(model) = MouseModel::train(own, &others, params) else {
            continue;
        };
        for s in test.iter().filter(|s| s.user == *user) {
            scores.push((
                s.user.clone(),
                s.name.clone(),
                s.illegal,
                model.session_anomaly(&s.actions),
            ));
        }
    }
    let split = |sc: &[&(String, String, bool, f64)]| -> (Vec<f64>, Vec<f64>) {
        (
            sc.iter().filter(|s| !s.2).map(|s| s.3).collect(),
            sc.iter().filter(|s| s.2).map(|s| s.3).collect(),
        )
    };
    let all: Vec<&(String, String, bool, f64)> = scores.iter().collect();
    let (g, i) = split(&all);
    let mut per_user = Vec::new();
    for (user, _) in train {
        let mine: Vec<&(String, String, bool, f64)> =
            scores.iter().filter(|s| s.0 == *user).collect();
        let (ug, ui) = split(&mine);
        per_user.push((
            user.clone(),
            mine.len(),
            crate::eval::auc(&ug, &ui),
            crate::eval::eer(&ug, &ui),
        ));
    }
    MouseEvalResult {
        auc: crate::eval::auc(&g, &i),
        eer: crate::eval::eer(&g, &i),
        per_user,
        scores,
    }
}
