//! The passkeyd server: `passkeyd serve` and everything behind it.
//!
//! ```text
//!  routes (axum, thin) ──► services (plain async Rust) ──► passkeyd-webauthn (pure protocol)
//!                                    │
//!                                    ├──► store::Store            (SQLite; PostgreSQL later)
//!                                    └──► ephemeral::ChallengeStore (memory; Redis later)
//! ```
//!
//! [`routes::app`] builds the router from an [`app::AppState`]; [`serve::run`] is the
//! subcommand (configuration, logging, listening, graceful shutdown).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod config;
pub mod ephemeral;
pub mod error;
pub mod metrics;
pub mod routes;
pub mod serve;
pub mod services;
pub mod store;
pub mod tokens;

pub use app::AppState;
pub use config::Config;
pub use error::Error;
pub use routes::app;
