//! WebAuthn Level 3 relying-party verification, with no I/O.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aaguid;
pub mod attestation;
pub mod authenticator_data;
pub mod b64;
pub mod cbor;
pub mod client_data;
pub mod cose;
pub mod error;
pub mod jws;
pub mod mds;
pub mod trust;

pub use error::{Ceremony, Error, Step};
