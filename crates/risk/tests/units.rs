//! Unit tests of features, EER, trust decay and decisions, context signals.

use passkeyd_risk::confidence::{BehaviourSample, Calibration, Decision, TrustConfig, TrustState};
use passkeyd_risk::context::{
    ContextConfig, ContextSignal, ContextSnapshot, context_signals, haversine_km,
};
use passkeyd_risk::detectors::DetectorKind;
use passkeyd_risk::eval::{auc, eer, roc};
use passkeyd_risk::keystroke::{
    DigraphKey, FeatureError, FixedPhrase, FreeTextProfile, KeyEvent, Welford, siphash24,
};

fn ev(k: &str, d: f64, u: f64) -> KeyEvent {
    KeyEvent::new(k, d, u)
}

#[test]
fn hold_dd_ud_from_events() {
    let p = FixedPhrase::new(&["a", "b", "c"]);
    assert_eq!(
        p.feature_names(),
        ["H.a", "DD.a.b", "UD.a.b", "H.b", "DD.b.c", "UD.b.c", "H.c"]
    );
    // b pressed before a is released: negative UD
    let f = p
        .extract(&[
            ev("a", 0.0, 120.0),
            ev("b", 100.0, 180.0),
            ev("c", 400.0, 450.0),
        ])
        .unwrap();
    let want = [0.120, 0.100, -0.020, 0.080, 0.300, 0.220, 0.050];
    for (g, w) in f.iter().zip(want) {
        assert!((g - w).abs() < 1e-12, "{f:?}");
    }
    // DD = H + UD in every digraph
    assert!((f[1] - (f[0] + f[2])).abs() < 1e-12);
}

#[test]
fn cmu_phrase_drops_shift_and_orders_by_keydown() {
    let p = FixedPhrase::cmu();
    assert_eq!(p.feature_len(), 31);
    let names = p.feature_names();
    assert_eq!(names[0], "H.period");
    assert_eq!(names[13], "DD.five.Shift.r");
    assert_eq!(names[30], "H.Return");
    let keys = [".", "t", "i", "e", "5", "R", "o", "a", "n", "l", "Enter"];
    let mut evs: Vec<KeyEvent> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| ev(k, i as f64 * 200.0, i as f64 * 200.0 + 90.0))
        .collect();
    evs.push(ev("Shift", 950.0, 1100.0));
    evs.reverse();
    let f = p.extract(&evs).unwrap();
    assert_eq!(f.len(), 31);
    assert!(
        (f[0] - 0.09).abs() < 1e-12 && (f[1] - 0.2).abs() < 1e-12 && (f[2] - 0.11).abs() < 1e-12
    );
}

#[test]
fn wrong_sequence_and_bad_timing_are_errors() {
    let p = FixedPhrase::new(&["a", "b"]);
    assert!(matches!(
        p.extract(&[ev("a", 0.0, 1.0)]),
        Err(FeatureError::WrongSequence { .. })
    ));
    assert!(matches!(
        p.extract(&[ev("b", 0.0, 1.0), ev("a", 5.0, 6.0)]),
        Err(FeatureError::WrongSequence { .. })
    ));
    assert_eq!(
        p.extract(&[ev("a", 0.0, -1.0), ev("b", 5.0, 6.0)]),
        Err(FeatureError::BadTiming)
    );
    assert_eq!(
        p.extract(&[ev("a", f64::NAN, 1.0), ev("b", 5.0, 6.0)]),
        Err(FeatureError::BadTiming)
    );
}

#[test]
fn welford_matches_two_pass() {
    let xs = [0.1, 0.25, 0.12, 0.3, 0.18];
    let mut w = Welford::default();
    xs.iter().for_each(|x| w.push(*x));
    let m = xs.iter().sum::<f64>() / 5.0;
    let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 4.0;
    assert!((w.mean - m).abs() < 1e-15 && (w.variance() - v).abs() < 1e-15);
}

#[test]
fn siphash_reference_vector() {
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    assert_eq!(siphash24(&key, b""), 0x726f_db47_dd0e_0e31);
    let msg: Vec<u8> = (0u8..15).collect();
    assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
}

#[test]
fn free_text_profile_keeps_no_characters() {
    let key = DigraphKey([7; 16]);
    let mut prof = FreeTextProfile::default();
    let sample: Vec<KeyEvent> = "hello there"
        .chars()
        .enumerate()
        .map(|(i, c)| ev(&c.to_string(), i as f64 * 150.0, i as f64 * 150.0 + 80.0))
        .collect();
    for _ in 0..5 {
        prof.observe(&key, &sample);
    }
    let dump = format!("{prof:?}");
    assert!(!dump.contains("\"h\"") && !dump.contains("he"));
    let (score, used) = prof.score(&key, &sample, 3);
    assert!(used > 0 && score.unwrap() < 1e-6);
    // a different key maps the same digraphs elsewhere
    let (other, used2) = prof.score(&DigraphKey([8; 16]), &sample, 3);
    assert!(other.is_none() && used2 == 0);
}

#[test]
fn eer_on_hand_made_scores() {
    // perfectly separated
    assert_eq!(eer(&[0.1, 0.2, 0.3], &[0.5, 0.6]), 0.0);
    // identical scores: ROC goes straight from (miss 1, fa 0) to (0, 1): EER 0.5
    assert!((eer(&[1.0, 1.0], &[1.0, 1.0]) - 0.5).abs() < 1e-12);
    // one genuine above one impostor out of 4/4: ROC points ... crossing interpolated at 0.25
    let g = [0.1, 0.2, 0.3, 0.8];
    let i = [0.5, 0.6, 0.7, 0.9];
    assert!((eer(&g, &i) - 0.25).abs() < 1e-12, "{}", eer(&g, &i));
    // interpolation between unequal steps
    let g = [0.1, 0.4];
    let i = [0.3, 0.5, 0.6];
    // points: (miss, fa): (1,0) t=.6 (2/3,0) t=.5 (1/3,0) t=.4 (1/3,.5) t=.3 (0,.5) t=.1 (0,1)
    // crossing between (1/3,0) and (1/3,.5): a = (1/3)/(0.5) => eer = 1/3
    assert!((eer(&g, &i) - 1.0 / 3.0).abs() < 1e-12, "{}", eer(&g, &i));
    assert_eq!(roc(&g, &i).len(), 6);
    assert!((auc(&g, &i) - 5.0 / 6.0).abs() < 1e-12);
}

#[test]
fn decay_half_life_towards_floor() {
    let cfg = TrustConfig {
        floor: 40.0,
        half_life_s: 600.0,
        ..TrustConfig::default()
    };
    let s = TrustState::new(100.0, 0.0);
    assert!((s.decayed(&cfg, 600.0) - 70.0).abs() < 1e-9);
    assert!((s.decayed(&cfg, 1200.0) - 55.0).abs() < 1e-9);
    assert!((s.decayed(&cfg, 0.0) - 100.0).abs() < 1e-12);
    // never raises trust that is below the floor
    let low = TrustState::new(20.0, 0.0);
    assert_eq!(low.decayed(&cfg, 1e6), 20.0);
    let mut st = TrustState::new(100.0, 0.0);
    let e = st.tick(&cfg, 600.0);
    assert!((e.decay_applied - 30.0).abs() < 1e-9 && (e.trust_after - 70.0).abs() < 1e-9);
}

#[test]
fn decisions_and_restore() {
    let cfg = TrustConfig::default();
    assert_eq!(cfg.decide(cfg.allow_threshold), Decision::Allow);
    assert_eq!(
        cfg.decide(cfg.allow_threshold - 0.1),
        Decision::StepUpRequired
    );
    assert_eq!(cfg.decide(cfg.suspend_threshold - 0.1), Decision::Suspended);
    let mut st = TrustState::new(100.0, 0.0);
    let bad = BehaviourSample {
        modality: "keystroke".into(),
        score: 9.0,
        anomaly: 10.0,
        features: vec![],
    };
    let mut last = Decision::Allow;
    for i in 0..5 {
        last = st.observe(&cfg, i as f64, &bad).decision;
    }
    assert_eq!(last, Decision::Suspended);
    let e = st.restore(&cfg, 10.0, 95.0);
    assert_eq!(e.decision, Decision::Allow);
    assert!((e.trust_after - 95.0).abs() < 1e-9);
}

#[test]
fn reward_and_penalty_scale_with_anomaly() {
    let cfg = TrustConfig::default();
    assert!(cfg.behaviour_delta(0.0) > 0.0);
    assert_eq!(cfg.behaviour_delta(cfg.neutral), 0.0);
    assert!(cfg.behaviour_delta(2.0) < cfg.behaviour_delta(1.0));
    assert_eq!(cfg.behaviour_delta(1e9), -cfg.penalty_max);
    assert!(cfg.behaviour_delta(f64::NAN) == 0.0);
}

#[test]
fn explanation_lists_top_features() {
    let train: Vec<Vec<f64>> = (0..50)
        .map(|i| {
            vec![
                0.1 + 0.001 * (i % 7) as f64,
                0.2,
                0.3 + 0.002 * (i % 5) as f64,
            ]
        })
        .collect();
    let model = DetectorKind::ManhattanScaled.train(&train).unwrap();
    let x = [0.5, 0.2, 0.3];
    let terms = model.contributions(&x).unwrap();
    assert!((terms.iter().sum::<f64>() - model.score(&x)).abs() < 1e-9);
    let names = vec!["H.a".to_string(), "DD.a.b".into(), "UD.a.b".into()];
    let cal = Calibration {
        typical: 1.0,
        high: 2.0,
    };
    let sample = BehaviourSample {
        modality: "keystroke".into(),
        score: model.score(&x),
        anomaly: cal.normalise(model.score(&x)),
        features: passkeyd_risk::explain::contributions(&names, &terms),
    };
    let mut st = TrustState::new(90.0, 0.0);
    let e = st.observe(&TrustConfig::default(), 5.0, &sample);
    assert_eq!(e.top_features[0].name, "H.a");
    assert!(e.trust_after < e.trust_before);
    assert_eq!(e.thresholds.allow, TrustConfig::default().allow_threshold);
    let top = passkeyd_risk::explain::top_contributions(&names, &terms, 2);
    assert_eq!(top.len(), 2);
    assert_eq!(top[0].name, "H.a");
    assert!(top[0].value.abs() >= top[1].value.abs());
}

#[test]
fn context_signals_and_codes() {
    let cfg = ContextConfig::default();
    let prev = ContextSnapshot {
        at_s: 0.0,
        user_agent: Some("A".into()),
        location: Some((48.85, 2.35)), // Paris
        ..Default::default()
    };
    let cur = ContextSnapshot {
        at_s: 3600.0,
        device: Some("dev2".into()),
        network: Some("AS1".into()),
        user_agent: Some("B".into()),
        location: Some((40.71, -74.0)), // New York, one hour later
        actions_last_minute: 1000,
    };
    let sig = context_signals(&cfg, Some(&prev), &cur, &["dev1".into()], &["AS1".into()]);
    let codes: Vec<&str> = sig.iter().map(|s| s.code()).collect();
    assert_eq!(
        codes,
        [
            "new_device",
            "user_agent_changed",
            "impossible_travel",
            "idle_gap",
            "velocity"
        ]
    );
    let d = haversine_km((48.85, 2.35), (40.71, -74.0));
    assert!((d - 5837.0).abs() < 20.0, "{d}");
    let mut st = TrustState::new(100.0, 0.0);
    let e = st.context(&TrustConfig::default(), &cfg, 0.0, &sig);
    assert_eq!(e.reasons.len(), 5);
    assert!(e.trust_after < 100.0 - cfg.impossible_travel);
    let c: ContextConfig = serde_json::from_str(r#"{"new_device": 5}"#).unwrap();
    assert_eq!(c.new_device, 5.0);
    assert_eq!(c.impossible_travel, cfg.impossible_travel);
    assert_eq!(cfg.penalty(&ContextSignal::NewNetwork), cfg.new_network);
}

#[test]
fn smoothing_forgives_a_single_spike() {
    let cfg = TrustConfig {
        smoothing: 3,
        ..TrustConfig::default()
    };
    let typical = BehaviourSample {
        modality: "keystroke".into(),
        score: 0.0,
        anomaly: 0.0,
        features: vec![],
    };
    let spike = BehaviourSample {
        anomaly: 8.0,
        ..typical.clone()
    };
    let mut st = TrustState::new(100.0, 0.0);
    st.observe(&cfg, 1.0, &typical);
    st.observe(&cfg, 2.0, &typical);
    let e = st.observe(&cfg, 3.0, &spike);
    // median of (0, 0, 8) is 0: no penalty
    assert!(e.delta >= 0.0, "{e:?}");
    st.observe(&cfg, 4.0, &spike);
    let e = st.observe(&cfg, 5.0, &spike);
    assert_eq!(e.delta, -cfg.penalty_max);
    assert_eq!(
        passkeyd_risk::confidence::smoothed_anomaly(&mut vec![], 2.0, 3),
        2.0
    );
}

#[test]
fn trust_curve_replaces_the_linear_rule() {
    let cfg = TrustConfig {
        curve: vec![[0.0, 5.0], [1.0, 0.0], [3.0, -60.0]],
        ..TrustConfig::default()
    };
    assert_eq!(cfg.behaviour_delta(-2.0), 5.0f64.min(cfg.reward_max));
    assert!((cfg.behaviour_delta(0.5) - 2.5).abs() < 1e-12);
    assert!((cfg.behaviour_delta(2.0) + 30.0).abs() < 1e-12);
    // limited by penalty_max, constant beyond the last knot
    assert_eq!(cfg.behaviour_delta(10.0), -cfg.penalty_max);
    assert_eq!(cfg.behaviour_delta(f64::NAN), 0.0);
    // empty curve: the linear rule, and nothing extra serialised
    let lin = TrustConfig::default();
    assert_eq!(lin.behaviour_delta(lin.neutral), 0.0);
    assert!(!serde_json::to_string(&lin).unwrap().contains("curve"));
}

#[test]
fn llr_table_is_non_decreasing() {
    use passkeyd_risk::stream::{SubjectStreams, llr_table};
    let dev = vec![SubjectStreams {
        genuine: (0..200).map(|i| f64::from(i % 20) * 0.1 - 0.5).collect(),
        impostors: vec![(0..50).map(|i| f64::from(i % 10) * 0.8 + 0.5).collect()],
    }];
    let t = llr_table(&dev);
    assert!(!t.is_empty());
    assert!(
        t.windows(2)
            .all(|w| w[0][0] < w[1][0] && w[0][1] <= w[1][1])
    );
    assert!(t[0][1] < 0.0 && t[t.len() - 1][1] > 0.0);
}
