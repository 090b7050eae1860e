//! Context signals with reason codes. The crate does no GeoIP or device fingerprinting: the
//! caller supplies what it knows ([`ContextSnapshot`]) and gets signals with codes and weights.

use serde::{Deserialize, Serialize};

/// A context signal, each with a stable reason code ([`ContextSignal::code`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ContextSignal {
    /// `new_device`: a device id never seen for this user
    NewDevice,
    /// `new_network`: a network (e.g. ASN or prefix, chosen by the caller) never seen for this user
    NewNetwork,
    /// `user_agent_changed`: the user agent differs from the session's
    UserAgentChanged,
    /// `impossible_travel`: two located events further apart than `max_speed_kmh` allows
    ImpossibleTravel {
        /// implied ground speed, km/h
        speed_kmh: f64,
    },
    /// `idle_gap`: a long pause since the previous action
    IdleGap {
        /// seconds since the previous action
        seconds: f64,
    },
    /// `velocity`: more actions per minute than a person plausibly makes
    Velocity {
        /// actions per minute
        per_minute: f64,
    },
}

impl ContextSignal {
    /// Stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            ContextSignal::NewDevice => "new_device",
            ContextSignal::NewNetwork => "new_network",
            ContextSignal::UserAgentChanged => "user_agent_changed",
            ContextSignal::ImpossibleTravel { .. } => "impossible_travel",
            ContextSignal::IdleGap { .. } => "idle_gap",
            ContextSignal::Velocity { .. } => "velocity",
        }
    }
}

/// Weights (trust penalties, on the 0-100 scale) and limits for context signals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContextConfig {
    /// penalty for `new_device`
    pub new_device: f64,
    /// penalty for `new_network`
    pub new_network: f64,
    /// penalty for `user_agent_changed`
    pub user_agent_changed: f64,
    /// penalty for `impossible_travel`
    pub impossible_travel: f64,
    /// penalty for `idle_gap`
    pub idle_gap: f64,
    /// penalty for `velocity`
    pub velocity: f64,
    /// speed above which travel is impossible, km/h
    pub max_speed_kmh: f64,
    /// distances below this are never impossible travel (GeoIP noise), km
    pub min_distance_km: f64,
    /// pause that counts as an idle gap, seconds
    pub idle_gap_s: f64,
    /// actions (key presses and clicks) per minute above which `velocity` fires; people type
    /// at most a few hundred keys a minute
    pub max_per_minute: f64,
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            new_device: 25.0,
            new_network: 10.0,
            user_agent_changed: 15.0,
            impossible_travel: 60.0,
            idle_gap: 10.0,
            velocity: 20.0,
            max_speed_kmh: 900.0,
            min_distance_km: 200.0,
            idle_gap_s: 1800.0,
            max_per_minute: 900.0,
        }
    }
}

impl ContextConfig {
    /// Trust penalty (positive number) of a signal.
    pub fn penalty(&self, s: &ContextSignal) -> f64 {
        let w = match s {
            ContextSignal::NewDevice => self.new_device,
            ContextSignal::NewNetwork => self.new_network,
            ContextSignal::UserAgentChanged => self.user_agent_changed,
            ContextSignal::ImpossibleTravel { .. } => self.impossible_travel,
            ContextSignal::IdleGap { .. } => self.idle_gap,
            ContextSignal::Velocity { .. } => self.velocity,
        };
        w.max(0.0)
    }
}

/// What the caller knows about one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ContextSnapshot {
    /// time, seconds
    pub at_s: f64,
    /// opaque device id (e.g. a credential id or a cookie id)
    pub device: Option<String>,
    /// opaque network id (e.g. ASN or /24)
    pub network: Option<String>,
    /// user agent string
    pub user_agent: Option<String>,
    /// (latitude, longitude) in degrees, if the caller geolocated the request
    pub location: Option<(f64, f64)>,
    /// actions (key presses and clicks) in the last minute
    pub actions_last_minute: u32,
}

/// Great-circle distance, km (haversine, mean Earth radius 6371 km).
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1) = (a.0.to_radians(), a.1.to_radians());
    let (la2, lo2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2)
        + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6371.0 * h.sqrt().min(1.0).asin()
}

/// Signals for the current request given the previous one and the user's known devices/networks.
pub fn context_signals(
    cfg: &ContextConfig,
    prev: Option<&ContextSnapshot>,
    cur: &ContextSnapshot,
    known_devices: &[String],
    known_networks: &[String],
) -> Vec<ContextSignal> {
    let mut out = Vec::new();
    if let Some(d) = &cur.device
        && !known_devices.contains(d)
    {
        out.push(ContextSignal::NewDevice);
    }
    if let Some(n) = &cur.network
        && !known_networks.contains(n)
    {
        out.push(ContextSignal::NewNetwork);
    }
    if let Some(p) = prev {
        if let (Some(a), Some(b)) = (&p.user_agent, &cur.user_agent)
            && a != b
        {
            out.push(ContextSignal::UserAgentChanged);
        }
        let dt = cur.at_s - p.at_s;
        if let (Some(a), Some(b)) = (p.location, cur.location) {
            let km = haversine_km(a, b);
            if km >= cfg.min_distance_km {
                let hours = (dt / 3600.0).max(1.0 / 3600.0);
                let speed = km / hours;
                if speed > cfg.max_speed_kmh {
                    out.push(ContextSignal::ImpossibleTravel { speed_kmh: speed });
                }
            }
        }
        if dt >= cfg.idle_gap_s {
            out.push(ContextSignal::IdleGap { seconds: dt });
        }
    }
    if f64::from(cur.actions_last_minute) > cfg.max_per_minute {
        out.push(ContextSignal::Velocity {
            per_minute: f64::from(cur.actions_last_minute),
        });
    }
    out
}
