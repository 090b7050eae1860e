//! The behavioural-signal pipeline behind `POST /api/session/signals`: any bytes are read as a
//! JSON batch (`{keystrokes, mouse}`) or, failing that, as packed binary events; the events go
//! through digraph extraction, the free-text template, mouse segmentation, action features, the
//! genuine-only mouse template and the quality-weighted fusion. Nothing may panic, and every
//! score that comes out must be finite.
#![no_main]

use libfuzzer_sys::fuzz_target;
use passkeyd_risk::fusion::{ModalityScore, fuse};
use passkeyd_risk::keystroke::{DigraphKey, FreeTextProfile, KeyEvent, free_text_digraphs};
use passkeyd_risk::mouse::{Button, MouseEvent, State};
use passkeyd_risk::mouse_profile::{MouseProfile, actions_of};
use serde::Deserialize;

#[derive(Deserialize)]
struct Key {
    key: String,
    down: f64,
    up: f64,
}

#[derive(Deserialize)]
struct Pointer {
    t: f64,
    x: f64,
    y: f64,
    button: u8,
    state: u8,
}

#[derive(Deserialize, Default)]
struct Batch {
    #[serde(default)]
    keystrokes: Vec<Key>,
    #[serde(default)]
    mouse: Vec<Pointer>,
}

fn f(b: &[u8]) -> f64 {
    f64::from(i16::from_le_bytes([b[0], b[1]]))
}

/// Packed: the first byte splits the rest into key records (4 bytes: key, down, hold) and
/// pointer records (8 bytes: dt, x, y, button/state).
fn packed(data: &[u8]) -> Batch {
    let Some((&split, rest)) = data.split_first() else {
        return Batch::default();
    };
    let cut = (usize::from(split) * 4).min(rest.len());
    let (keys, pointer) = rest.split_at(cut);
    let mut t = 0.0;
    let keystrokes = keys
        .chunks_exact(4)
        .map(|c| {
            t += f64::from(c[1]) * 3.0;
            Key {
                key: ((c[0] % 40 + b'a') as char).to_string(),
                down: t,
                up: t + f(&c[2..4]),
            }
        })
        .collect();
    let mut t = 0.0;
    let mouse = pointer
        .chunks_exact(8)
        .map(|c| {
            t += f(&c[0..2]);
            Pointer {
                t,
                x: f(&c[2..4]),
                y: f(&c[4..6]),
                button: c[6],
                state: c[7],
            }
        })
        .collect();
    Batch { keystrokes, mouse }
}

fn pointer_event(p: &Pointer) -> Option<MouseEvent> {
    if !(p.t.is_finite() && p.x.is_finite() && p.y.is_finite()) {
        return None;
    }
    Some(MouseEvent {
        t: p.t / 1000.0,
        button: match p.button % 3 {
            0 => Button::None,
            1 => Button::Left,
            _ => Button::Right,
        },
        state: match p.state % 4 {
            0 => State::Move,
            1 => State::Drag,
            2 => State::Pressed,
            _ => State::Released,
        },
        x: p.x.clamp(-1e6, 1e6),
        y: p.y.clamp(-1e6, 1e6),
    })
}

fuzz_target!(|data: &[u8]| {
    let batch = serde_json::from_slice::<Batch>(data).unwrap_or_else(|_| packed(data));
    let key = DigraphKey([7; 16]);
    let events: Vec<KeyEvent> = batch
        .keystrokes
        .iter()
        .filter(|k| k.down.is_finite() && k.up.is_finite() && k.key.chars().count() <= 32)
        .map(|k| KeyEvent::new(&k.key, k.down, k.up))
        .collect();
    let digraphs = free_text_digraphs(&key, &events);
    let mut profile = FreeTextProfile::default();
    profile.observe(&key, &events);
    profile.observe(&key, &events);
    let (ks, used) = profile.score(&key, &events, 2);
    if let Some(s) = ks {
        assert!(s.is_finite() && used <= digraphs.len(), "{s} {used}");
    }

    let mut pointer: Vec<MouseEvent> = Vec::new();
    for p in &batch.mouse {
        if let Some(e) = pointer_event(p)
            && pointer.last().is_none_or(|l| e.t >= l.t)
        {
            pointer.push(e);
        }
    }
    let actions = actions_of(&pointer);
    let mut mouse = MouseProfile::default();
    for _ in 0..10 {
        mouse.observe(&actions);
    }
    let scored = mouse.score_with_terms(&actions);
    if let Some((m, terms)) = &scored {
        assert!(m.score.is_finite() && (0.0..=1.0).contains(&m.typicality), "{m:?}");
        assert!(terms.iter().all(|t| t.is_finite()));
    }
    let mut inputs = Vec::new();
    if let Some(s) = ks {
        inputs.push(ModalityScore {
            name: "keystroke".into(),
            anomaly: s - 1.0,
            samples: used,
            half_evidence: 10.0,
            typicality: used as f64 / digraphs.len().max(1) as f64,
        });
    }
    if let Some((m, _)) = scored {
        inputs.push(ModalityScore {
            name: "mouse".into(),
            anomaly: m.score - 1.0,
            samples: m.used,
            half_evidence: 10.0,
            typicality: m.typicality,
        });
    }
    if let Some(fused) = fuse(&inputs) {
        assert!(fused.anomaly.is_finite() && (0.0..=1.0).contains(&fused.confidence));
    }
});
