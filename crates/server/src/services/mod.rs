//! Services: the server's rules as plain async Rust, with no HTTP types. Routes call them;
//! they call `passkeyd-webauthn` for the protocol and the store traits for state.
//!
//! * [`ceremonies`]: registration and authentication, start and finish.
//! * [`sessions`]: server-side sessions with idle and absolute expiry.
//! * [`credentials`]: the signed-in user's passkeys (list, rename, delete).
//! * [`fake`]: plausible `allowCredentials` for usernames that do not exist.
//! * [`tokens`]: JWTs for other applications, the JWKS and introspection.

pub mod admin;
pub mod audit;
pub mod behavior;
pub mod ceremonies;
pub mod credentials;
pub mod fake;
pub mod geoip;
pub mod group_commit;
pub mod limits;
pub mod policy;
pub mod sessions;
pub mod tokens;
pub mod webhook;

use crate::error::Error;
use aws_lc_rs::digest;
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds now.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// `n` bytes from AWS-LC's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    aws_lc_rs::rand::fill(&mut b).map_err(|_| Error::Internal("system RNG failed".into()))?;
    Ok(b)
}

/// SHA-256.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, data).as_ref());
    out
}

/// Equality of secrets in time independent of where they differ.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a, b).is_ok()
}

/// Formats Unix seconds as RFC 3339 (UTC).
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Trims a user-supplied name and checks its length (in characters) and that it has no
/// control characters.
pub fn clean_name(field: &str, value: &str, max: usize) -> Result<String, Error> {
    let v = value.trim();
    if v.is_empty() {
        return Err(Error::bad_request(
            "invalid_request",
            format!("{field} must not be empty."),
        ));
    }
    if v.chars().count() > max {
        return Err(Error::bad_request(
            "invalid_request",
            format!("{field} must be at most {max} characters."),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "invalid_request",
            format!("{field} must not contain control characters."),
        ));
    }
    Ok(v.to_owned())
}
