//! Mouse and context signals through the router: a mouse template enrolled and then scored, a
//! foreign hand driving the confidence down, typing and mouse fused by quality, the context
//! reason codes (`new_device`, `new_network`, `user_agent_changed`, `impossible_travel`,
//! `velocity`) with their configured weights, and malformed batches refused.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use passkeyd_server::services::behavior::{ContinuousAuth, ContinuousAuthSection};
use serde_json::{Value, json};
use std::time::Duration;

/// A deterministic pseudo-random stream in [0, 1).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A hand: how long a pointing movement takes, how curved it is, how often the browser
/// samples it, and how long the button is held.
#[derive(Clone, Copy)]
struct Hand {
    duration_ms: f64,
    curve: f64,
    dt_ms: f64,
    hold_ms: f64,
}

const CALM: Hand = Hand {
    duration_ms: 650.0,
    curve: 0.25,
    dt_ms: 16.0,
    hold_ms: 110.0,
};

const DARTING: Hand = Hand {
    duration_ms: 140.0,
    curve: 0.0,
    dt_ms: 8.0,
    hold_ms: 40.0,
};

/// `n` point-and-clicks by `hand` between pseudo-random targets: pointer events as
/// passkeyd.js sends them.
fn pointing(hand: Hand, n: usize, seed: u64) -> Vec<Value> {
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    let (mut x, mut y) = (400.0, 300.0);
    let mut t = 1000.0;
    for _ in 0..n {
        let (tx, ty) = (100.0 + rng.next() * 900.0, 80.0 + rng.next() * 600.0);
        let duration = hand.duration_ms * (0.85 + 0.3 * rng.next());
        let steps = (duration / hand.dt_ms).ceil() as usize;
        let (dx, dy) = (tx - x, ty - y);
        for i in 1..=steps {
            let s = i as f64 / steps as f64;
            // Minimum-jerk progress: slow, fast, slow.
            let p = 10.0 * s.powi(3) - 15.0 * s.powi(4) + 6.0 * s.powi(5);
            let bow = hand.curve * (std::f64::consts::PI * p).sin();
            out.push(json!({
                "t": t + s * duration,
                "x": x + dx * p - dy * bow,
                "y": y + dy * p + dx * bow,
                "button": "none", "state": "move",
            }));
        }
        t += duration + 30.0;
        out.push(json!({"t": t, "x": tx, "y": ty, "button": "left", "state": "down"}));
        t += hand.hold_ms;
        out.push(json!({"t": t, "x": tx, "y": ty, "button": "left", "state": "up"}));
        t += 400.0 + 300.0 * rng.next();
        (x, y) = (tx, ty);
    }
    out
}

async fn signals(c: &mut Client, body: &Value) -> Resp {
    let r = c.post("/api/session/signals", body).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    r
}

#[tokio::test]
async fn a_mouse_template_is_enrolled_then_a_foreign_hand_is_caught() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "mo").await;

    // Enrolment: 40 actions by default; the confidence does not move.
    for seed in 0..4 {
        let r = signals(&mut c, &json!({"mouse": pointing(CALM, 12, seed)})).await;
        assert_eq!(r.json["reasons"], json!(["enrolling"]), "{:?}", r.json);
        assert!(
            r.json["explanation"]["event"]
                .as_str()
                .unwrap()
                .contains("mouse enrolment")
        );
    }
    // The owner's hand: typical.
    let r = signals(&mut c, &json!({"mouse": pointing(CALM, 12, 11)})).await;
    assert_eq!(
        r.json["reasons"],
        json!(["behaviour_typical"]),
        "{:?}",
        r.json
    );
    assert_eq!(r.json["decision"], "allow");
    let event = r.json["explanation"]["event"].as_str().unwrap();
    assert!(event.starts_with("mouse (weight "), "{event}");

    // Someone else's hand on the same session.
    let mut last = Value::Null;
    for seed in 20..30 {
        last = signals(&mut c, &json!({"mouse": pointing(DARTING, 12, seed)}))
            .await
            .json;
        assert_eq!(last["reasons"], json!(["behaviour_anomalous"]), "{last:?}");
        if last["decision"] != "allow" {
            break;
        }
    }
    assert_eq!(last["decision"], "step_up_required", "{last:?}");
    let top = last["explanation"]["top_features"].as_array().unwrap();
    assert!(
        top.iter()
            .all(|f| f["name"].as_str().unwrap().starts_with("mouse:")),
        "{top:?}"
    );

    // What is stored: statistics per action kind, no coordinates.
    let template = stored_template(&app, "mo").await;
    let v: Value = serde_json::from_str(&template).unwrap();
    let clicks = &v["mouse"]["point_click"]["features"];
    assert_eq!(clicks.as_array().unwrap().len(), 31);
    assert!(clicks[0]["n"].as_u64().unwrap() >= 48);
    assert!(!template.contains("\"x\"") && !template.contains("\"t\""));
}

#[tokio::test]
async fn typing_and_mouse_are_fused_by_quality() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "fu").await;
    for seed in 0..5 {
        signals(
            &mut c,
            &json!({"keystrokes": typing_keys(150.0, 80.0, seed), "mouse": pointing(CALM, 10, seed)}),
        )
        .await;
    }
    let r = signals(
        &mut c,
        &json!({"keystrokes": typing_keys(150.0, 80.0, 9), "mouse": pointing(CALM, 10, 9)}),
    )
    .await;
    let event = r.json["explanation"]["event"].as_str().unwrap();
    assert!(
        event.starts_with("fused (keystroke ") && event.contains("mouse "),
        "{event}"
    );
    assert_eq!(
        r.json["reasons"],
        json!(["behaviour_typical"]),
        "{:?}",
        r.json
    );
    // The owner types, someone else moves the mouse: typing has more evidence here (more
    // digraphs than actions, both fully covered), so its weight is larger and the batch
    // stays closer to typical than the mouse alone would put it.
    let mixed = signals(
        &mut c,
        &json!({"keystrokes": typing_keys(150.0, 80.0, 10), "mouse": pointing(DARTING, 3, 10)}),
    )
    .await;
    let event = mixed.json["explanation"]["event"].as_str().unwrap();
    let weight = |name: &str| -> f64 {
        let at = event.find(&format!("{name} ")).unwrap() + name.len() + 1;
        event[at..]
            .split([',', ')'])
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(weight("keystroke") > weight("mouse"), "{event}");
}

fn geo_csv(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("geo.csv");
    std::fs::write(
        &p,
        "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider,postal_code,latitude,longitude,accuracy_radius\n\
         192.0.2.0/24,2988507,3017382,,0,0,75001,48.8566,2.3522,10\n\
         198.51.100.0/24,2147714,2077456,,0,0,2000,-33.8688,151.2093,20\n",
    )
    .unwrap();
    p
}

async fn post_from(c: &mut Client, body: &Value, addr: &str, ua: &str) -> Resp {
    let r = c
        .send_with(
            Method::POST,
            "/api/session/signals",
            Some(body.to_string().into_bytes()),
            &[("x-forwarded-for", addr), ("user-agent", ua)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);
    r
}

fn codes(r: &Resp) -> Vec<String> {
    r.json["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn context_signals_carry_reason_codes_and_configured_weights() {
    let geo_dir = tempfile::tempdir().unwrap();
    let csv = geo_csv(geo_dir.path());
    let app = TestApp::with(
        move |cfg| {
            cfg.client_ip_header = Some("x-forwarded-for".into());
            let mut section = ContinuousAuthSection {
                geoip_csv: Some(vec![csv]),
                ..ContinuousAuthSection::default()
            };
            let mut weights = passkeyd_risk::context::ContextConfig {
                new_network: 7.0,
                ..Default::default()
            };
            weights.user_agent_changed = 4.0;
            weights.impossible_travel = 45.0;
            weights.new_device = 10.0;
            section.context = Some(weights);
            cfg.continuous_auth = ContinuousAuth::from_section(&section).unwrap();
        },
        Duration::from_secs(300),
    )
    .await;
    let mut c = app.client();
    sign_up(&mut c, "cy").await;
    let paris = "192.0.2.10";
    let ua = "Mozilla/5.0 (X11; Linux x86_64) Chromium/156";
    // The first batches learn the account's device and network without penalty.
    for seed in 0..5 {
        let r = post_from(
            &mut c,
            &json!({"keystrokes": typing_keys(150.0, 80.0, seed)}),
            paris,
            ua,
        )
        .await;
        assert_eq!(codes(&r), ["enrolling"]);
    }
    let device = c
        .cookies
        .get("passkeyd_device")
        .cloned()
        .expect("device cookie");
    let r = post_from(
        &mut c,
        &json!({"keystrokes": typing_keys(150.0, 80.0, 6)}),
        paris,
        ua,
    )
    .await;
    assert_eq!(codes(&r), ["behaviour_typical"], "{:?}", r.json);

    // The same session from Sydney a moment later: a new network, and impossible travel.
    let before = r.json["value"].as_f64().unwrap();
    let r = post_from(&mut c, &json!({"keystrokes": []}), "198.51.100.20", ua).await;
    assert_eq!(
        codes(&r),
        ["new_network", "impossible_travel"],
        "{:?}",
        r.json
    );
    let e = &r.json["explanation"];
    assert!(
        (e["delta"].as_f64().unwrap() + 7.0 + 45.0).abs() < 1e-9,
        "{e:?}"
    );
    assert!(r.json["value"].as_f64().unwrap() <= before - 52.0);
    assert_eq!(r.json["decision"], "step_up_required");
    let top: Vec<&str> = e["top_features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap())
        .collect();
    assert_eq!(top, ["impossible_travel", "new_network"]);

    // The session cookie replayed from another browser: a new device, once per session.
    let mut thief = app.client();
    thief.cookies = c.cookies.clone();
    thief
        .cookies
        .insert("passkeyd_device".into(), "AAAAAAAAAAAAAAAAAAAAAA".into());
    let r = post_from(
        &mut thief,
        &json!({"keystrokes": []}),
        "198.51.100.20",
        "curl/8",
    )
    .await;
    assert_eq!(
        codes(&r),
        ["new_device", "user_agent_changed"],
        "{:?}",
        r.json
    );
    assert!((r.json["explanation"]["delta"].as_f64().unwrap() + 14.0).abs() < 1e-9);
    let r = post_from(
        &mut thief,
        &json!({"keystrokes": []}),
        "198.51.100.20",
        "curl/8",
    )
    .await;
    assert_eq!(codes(&r), ["too_few_keys"], "{:?}", r.json);

    // A malformed device cookie is replaced by a fresh one (and, coming back from Sydney to
    // Paris at once on a new device, the session is suspended).
    let mut odd = app.client();
    odd.cookies = c.cookies.clone();
    odd.cookies.insert("passkeyd_device".into(), "x".into());
    let r = post_from(&mut odd, &json!({"keystrokes": []}), paris, ua).await;
    let set = r.set_cookies().join("; ");
    assert!(
        set.contains("passkeyd_device=") && set.contains("HttpOnly"),
        "{set}"
    );
    assert_ne!(odd.cookies["passkeyd_device"], device);
    assert_eq!(r.json["decision"], "suspended", "{:?}", r.json);
    assert_eq!(c.get("/api/session").await.status, StatusCode::UNAUTHORIZED);

    // The decision change went to the audit trail with the codes.
    let events = app.state.store.audit_events(0, 1000).await.unwrap();
    let d: Value = serde_json::from_str(
        &events
            .iter()
            .find(|e| e.event == "risk_decision")
            .expect("risk decision")
            .details,
    )
    .unwrap();
    assert_eq!(
        d["explanation"]["reasons"],
        json!(["new_network", "impossible_travel"])
    );

    // The stored template has keyed hashes, never the address, cookie or user agent.
    let template = stored_template(&app, "cy").await;
    for secret in [paris, "192.0.2", &device, "Chromium", "198.51.100"] {
        assert!(!template.contains(secret), "{secret} in {template}");
    }
    let v: Value = serde_json::from_str(&template).unwrap();
    assert_eq!(v["known_devices"].as_array().unwrap().len(), 1);
    // The odd browser came from Paris last.
    assert_eq!(v["last_seen"]["lat"], 48.9);
}

#[tokio::test]
async fn scripted_bursts_trip_velocity() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "vel").await;
    for seed in 0..5 {
        signals(
            &mut c,
            &json!({"keystrokes": typing_keys(150.0, 80.0, seed)}),
        )
        .await;
    }
    let burst: Vec<Value> = (0..950)
        .map(|i| {
            let t = f64::from(i) * 2.0;
            json!({"key": "a", "down": t, "up": t + 1.0})
        })
        .collect();
    let r = signals(&mut c, &json!({"keystrokes": burst})).await;
    assert!(codes(&r).contains(&"velocity".to_owned()), "{:?}", r.json);
}

#[tokio::test]
async fn malformed_or_refused_pointer_batches_are_4xx() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "bad").await;
    for body in [
        json!({"mouse": [{"t": 1, "x": 1, "y": 1, "button": "middle", "state": "move"}]}),
        json!({"mouse": [{"t": 1, "x": 1, "y": 1, "button": "none"}]}),
        json!({"mouse": [{"t": "soon", "x": 1, "y": 1, "button": "none", "state": "move"}]}),
        json!({"mouse": [{"t": 1, "x": 1, "y": 1, "button": "none", "state": "move", "page": "/"}]}),
        json!({"mouse": {"t": 1}}),
        json!({"pointer": []}),
    ] {
        let r = c.post("/api/session/signals", &body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body} -> {:?}", r.json);
    }
    let many: Vec<Value> = (0..1001)
        .map(|i| json!({"t": i, "x": 1, "y": 1, "button": "none", "state": "move"}))
        .collect();
    let r = c
        .post("/api/session/signals", &json!({"mouse": many}))
        .await;
    assert!(
        r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::PAYLOAD_TOO_LARGE,
        "{:?}",
        r.status
    );
    // Out-of-order and non-finite events are dropped, not fatal.
    let r = c
        .post(
            "/api/session/signals",
            &json!({"mouse": [
                {"t": 5, "x": 1, "y": 1, "button": "none", "state": "move"},
                {"t": 1, "x": 1e300, "y": -1e300, "button": "none", "state": "move"},
                {"t": 9, "x": 3, "y": 3, "button": "right", "state": "up"}
            ]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.json);

    // With mouse turned off, pointer events are refused and typing still works.
    let app = TestApp::with(
        |cfg| cfg.continuous_auth.mouse = false,
        Duration::from_secs(300),
    )
    .await;
    let mut c = app.client();
    sign_up(&mut c, "nomouse").await;
    let r = c
        .post(
            "/api/session/signals",
            &json!({"mouse": pointing(CALM, 2, 1)}),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json["message"]
            .as_str()
            .unwrap_or_default()
            .contains("mouse"),
        "{:?}",
        r.json
    );
    signals(&mut c, &json!({"keystrokes": typing_keys(150.0, 80.0, 1)})).await;
}

#[tokio::test]
async fn each_mouse_action_is_folded_into_the_template_once() {
    let app = TestApp::new().await;
    let mut c = app.client();
    sign_up(&mut c, "once").await;
    for seed in 0..6 {
        signals(
            &mut c,
            &json!({"keystrokes": typing_keys(150.0, 80.0, seed)}),
        )
        .await;
    }
    // Typing is enrolled and typical; the mouse template is still empty and learns this batch.
    let r = signals(
        &mut c,
        &json!({"keystrokes": typing_keys(150.0, 80.0, 7), "mouse": pointing(CALM, 12, 7)}),
    )
    .await;
    assert_eq!(
        r.json["reasons"],
        json!(["behaviour_typical"]),
        "{:?}",
        r.json
    );
    let template: Value = serde_json::from_str(&stored_template(&app, "once").await).unwrap();
    assert_eq!(template["mouse"]["point_click"]["features"][0]["n"], 12);
}
