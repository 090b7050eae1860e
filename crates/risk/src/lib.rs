//! Continuous-authentication scoring for passkeyd (pure: no I/O, no async, no network).
//!
//! * [`keystroke`]: features from raw key events (fixed phrase, free-text statistics).
//! * [`detectors`] and [`ensemble`]: anomaly detectors (Killourhy & Maxion 2009 and passkeyd's
//!   own robust ensemble).
//! * [`eval`]: ROC/EER/DET, the CMU benchmark protocol; [`stream`]: stream evaluation of trust;
//!   [`discriminative`]: the impostor-aware per-user stream model and its unseen-impostor protocol.
//! * [`confidence`]: the session trust model; [`context`]: context signals; [`explain`]:
//!   explanations; [`fusion`]: quality-weighted fusion of modalities; [`mouse`]: mouse dynamics;
//!   [`mouse_profile`]: the genuine-only mouse template the server keeps.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod confidence;
pub mod context;
pub mod det;
pub mod detectors;
pub mod discriminative;
pub mod ensemble;
pub mod eval;
pub mod explain;
pub mod forest;
pub mod fusion;
pub mod keystroke;
pub mod linalg;
pub mod mouse;
pub mod mouse_profile;
pub mod stream;
