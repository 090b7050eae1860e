//! WebAuthn Level 3 relying-party verification, with no I/O and no async.
//!
//! `passkeyd-webauthn` takes what the browser sent (the `toJSON()` form of a
//! `PublicKeyCredential`), what the relying party expects (challenge, origins, RP ID, policy) and,
//! for assertions, the stored credential record, and returns either a verified outcome or an
//! [`Error`] that names the step of the specification that failed. It is the core of the
//! passkeyd server and can be used on its own.
//!
//! ```
//! use passkeyd_testkit::{Alg, AssertParams, RegisterParams, SoftAuthenticator};
//! use passkeyd_webauthn::authentication::{verify_assertion_json, CredentialRecord};
//! use passkeyd_webauthn::options::{CreationOptionsBuilder, RequestOptionsBuilder};
//! use passkeyd_webauthn::registration::verify_registration_json;
//! use passkeyd_webauthn::relying_party::RelyingParty;
//!
//! let rp = RelyingParty::new("example.com", ["https://example.com"]);
//! let user_handle = [7u8; 16]; // random per account, never personal data
//!
//! // Registration: options for the browser, state kept by the server.
//! let (options, state) =
//!     CreationOptionsBuilder::new("example.com", "Example", &user_handle, "alice", "Alice").build();
//! // The browser and authenticator answer (here a software authenticator stands in for them).
//! let mut authenticator = SoftAuthenticator::new(Alg::Es256).with_user_handle(user_handle.to_vec());
//! let response = authenticator.register(&RegisterParams::new(options.challenge.clone(), "example.com", "https://example.com"));
//! let credential = verify_registration_json(&rp, &state, &response.json.to_string(), &|_id| false)?;
//! assert_eq!(credential.alg.name(), "ES256");
//!
//! // Authentication without a username (discoverable credential).
//! let (options, state) = RequestOptionsBuilder::discoverable("example.com").build();
//! let response = authenticator.assert(&AssertParams::new(options.challenge.clone(), "example.com", "https://example.com"));
//! let record = CredentialRecord {
//!     credential_id: &credential.credential_id,
//!     user_handle: &user_handle,
//!     public_key: &credential.public_key,
//!     sign_count: credential.sign_count,
//!     backup_eligible: credential.backup_eligible,
//!     backup_state: credential.backup_state,
//!     uv_initialized: credential.uv_initialized,
//! };
//! let verified = verify_assertion_json(&rp, &state, &response.json.to_string(), &record)?;
//! assert!(verified.new_sign_count > credential.sign_count);
//! # Ok::<(), passkeyd_webauthn::Error>(())
//! ```
//!
//! # Map of the crate
//!
//! | module | what it holds |
//! |---|---|
//! | [`registration`] | §7.1, one function per step |
//! | [`authentication`] | §7.2, one function per step; [`authentication::check_counter`] |
//! | [`relying_party`] | the relying party's configuration: RP IDs, origins, trust anchors, policies |
//! | [`options`] | option builders for both ceremonies and the state to keep between start and finish |
//! | [`json`] | the WebAuthn L3 JSON forms |
//! | [`attestation`] | the eight attestation statement formats |
//! | [`trust`] | X.509 chain validation at a given time |
//! | [`mds`] | FIDO Metadata Service BLOBs: signature, chain, statuses, lookup by AAGUID |
//! | [`cose`] | COSE keys for every supported algorithm, validated when parsed |
//! | [`cbor`], [`authenticator_data`], [`client_data`], [`jws`] | strict parsers of untrusted bytes |
//! | [`origin`] | origin matching, Android APK origins, the related-origins document |
//! | [`extensions`] | extension inputs and the check of their outputs |
//! | [`replay`] | verify a recorded case file (what `passkeyd verify` runs) |
//!
//! # Risky knobs
//!
//! Every relaxation is off by default and named for what it reopens:
//! [`cose::KeyPolicy::allow_rs1`] (SHA-1 signatures, legacy TPMs only),
//! [`cose::KeyPolicy::min_rsa_bits`] below 2048, [`trust::ChainPolicy::allow_sha1`],
//! [`relying_party::CounterPolicy::Warn`] (accepts a possibly cloned authenticator),
//! [`origin::OriginPolicy::allow_subdomains`] / `allow_any_port`, and
//! [`relying_party::CrossOriginPolicy`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod aaguid;
pub mod attestation;
pub mod authentication;
pub mod authenticator_data;
pub mod b64;
pub mod cbor;
mod ceremony;
pub mod client_data;
pub mod cose;
pub mod error;
pub mod extensions;
pub mod json;
pub mod jws;
pub mod mds;
pub mod options;
pub mod origin;
pub mod registration;
pub mod relying_party;
pub mod replay;
pub mod trust;
mod wire;

pub use error::{Ceremony, Error, Step};
