//! FIDO Metadata Service v3 (MDS3): verifying a metadata BLOB and looking authenticators up in it.
//!
//! The BLOB is a compact JWS whose `x5c` header carries the signing certificate chain and whose
//! payload is the JSON object `{legalHeader, no, nextUpdate, entries}`. This module does no I/O:
//! the caller downloads the BLOB (and, where it wants revocation checks, the CRLs of the
//! certificates in its chain) and hands over the bytes. [`MetadataBlob::verify`] then
//!
//! 1. parses the JWS and verifies its signature with the `x5c` leaf key;
//! 2. validates the `x5c` chain to one of the configured trust anchors at the configured time
//!    ([`crate::trust::verify_chain`]); the defaults ([`default_roots`]) are both roots the FIDO
//!    Alliance has used for the BLOB, GlobalSign Root CA - R3 and GlobalSign Root R46, so a change
//!    of signing hierarchy does not break loading, and a path may use a prefix of `x5c` (extra
//!    cross-certificates are tolerated); the leaf must be the MDS signing certificate
//!    ([`MdsOptions::signer_names`]), since the GlobalSign roots also issue ordinary TLS
//!    certificates;
//! 3. checks every certificate of the validated path against the CRLs the caller supplied (each
//!    CRL's signature is verified with its issuer from the path or the anchors, and its
//!    thisUpdate/nextUpdate window must contain the verification time); a revoked serial number
//!    refuses the BLOB, and [`MdsOptions::require_crls`] refuses a certificate no CRL covers;
//! 4. requires the BLOB's serial number `no` to be greater than the previously accepted one,
//!    when the caller gives it ([`MdsOptions::previous_no`]);
//! 5. refuses a stale BLOB, one whose `nextUpdate` date has passed at the verification time,
//!    unless [`MdsOptions::allow_stale`] is set (then [`MetadataBlob::is_stale`] says so);
//! 6. parses the payload defensively: unknown members are ignored, members of the wrong type are
//!    reported with their path, what was expected and what was found.
//!
//! There is deliberately no way to load a payload without a signature check.
//!
//! ```no_run
//! use passkeyd_webauthn::mds::{MdsError, MdsOptions, MetadataBlob};
//! use passkeyd_webauthn::trust::UnixTime;
//!
//! fn refresh(downloaded: &[u8], last_no: Option<u64>, crls: Vec<Vec<u8>>) -> Result<MetadataBlob, MdsError> {
//!     let options = MdsOptions { previous_no: last_no, crls, ..MdsOptions::default() };
//!     let blob = MetadataBlob::verify(downloaded, &options)?;
//!     // Persist blob.no() for the next refresh; fetch again before blob.next_update().
//!     let yubikey_5 = passkeyd_webauthn::aaguid::parse_aaguid("cb69481e-8ff7-4039-93ec-0a2729a154a8");
//!     if let Some(aaguid) = yubikey_5 {
//!         let blocked = blob.is_blocked(&aaguid, UnixTime::now());
//!         println!("{:?} blocked: {blocked}", blob.entry(&aaguid).and_then(|e| e.description()));
//!     }
//!     Ok(blob)
//! }
//! ```
//!
//! An entry's authenticator status ([`MetadataEntry::status`]) is the status of its latest
//! *effective* report: reports dated after the time asked about are ignored; a report without
//! `effectiveDate` is effective "while present" and so ranks as of that time. Reports of the same
//! date are ranked by [`AuthenticatorStatus::severity`] (a compromise or revocation outranks a
//! certification), and only reports of equal severity are ordered by position, the one listed
//! later winning. The MDS does not define an order for `statusReports` (the production BLOB lists
//! them newest first, test builders often append), so the result never depends on that order when
//! it matters. [`MetadataEntry::is_blocked`] is conservative in the same way: it blocks when any
//! report of the latest effective date has a blocking status.

use crate::aaguid::{format_aaguid, parse_aaguid};
use crate::b64;
use crate::cose::{EcCurve, KeyMaterial};
use crate::jws::{Jws, JwsError};
use crate::trust::{
    Certificate, ChainError, ChainPolicy, TrustAnchors, UnixTime, ValidatedChain, verify_chain,
};
use aws_lc_rs::signature::{self as sig, VerificationAlgorithm};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::fmt;
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

/// GlobalSign Root CA - R3 (PEM), the root that signed the MDS3 BLOB until August 2026
/// (from Debian's `ca-certificates`).
pub const GLOBALSIGN_ROOT_CA_R3_PEM: &[u8] = include_bytes!("../roots/globalsign-root-ca-r3.pem");

/// GlobalSign Root R46 (PEM), the root that signs the MDS3 BLOB since August 2026
/// (from Debian's `ca-certificates`).
pub const GLOBALSIGN_ROOT_R46_PEM: &[u8] = include_bytes!("../roots/globalsign-root-r46.pem");

/// The default trust anchors for the BLOB signature: both GlobalSign roots.
pub fn default_roots() -> TrustAnchors {
    let mut roots = TrustAnchors::new();
    for pem in [GLOBALSIGN_ROOT_CA_R3_PEM, GLOBALSIGN_ROOT_R46_PEM] {
        // The bundled files are checked by a unit test; a parse failure cannot happen at run time,
        // and would only leave that root out.
        if let Ok(set) = TrustAnchors::from_pem(pem) {
            roots.extend(&set);
        }
    }
    roots
}

/// The status of an authenticator model in a status report (MDS3 `AuthenticatorStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuthenticatorStatus {
    /// `NOT_FIDO_CERTIFIED`: not (yet) FIDO certified.
    NotFidoCertified,
    /// `FIDO_CERTIFIED`: FIDO functionally certified.
    FidoCertified,
    /// `USER_VERIFICATION_BYPASS`: malware can bypass user verification.
    UserVerificationBypass,
    /// `ATTESTATION_KEY_COMPROMISE`: an attestation key of the model has been compromised.
    AttestationKeyCompromise,
    /// `USER_KEY_REMOTE_COMPROMISE`: user keys can be extracted or misused remotely.
    UserKeyRemoteCompromise,
    /// `USER_KEY_PHYSICAL_COMPROMISE`: user keys can be extracted with physical access.
    UserKeyPhysicalCompromise,
    /// `UPDATE_AVAILABLE`: a firmware or software update is available.
    UpdateAvailable,
    /// `REVOKED`: the FIDO Alliance revoked the model's certification (or the vendor withdrew it).
    Revoked,
    /// `SELF_ASSERTION_SUBMITTED`: the vendor submitted a self-assertion checklist.
    SelfAssertionSubmitted,
    /// `FIDO_CERTIFIED_L1`.
    FidoCertifiedL1,
    /// `FIDO_CERTIFIED_L1plus`.
    FidoCertifiedL1Plus,
    /// `FIDO_CERTIFIED_L2`.
    FidoCertifiedL2,
    /// `FIDO_CERTIFIED_L2plus`.
    FidoCertifiedL2Plus,
    /// `FIDO_CERTIFIED_L3`.
    FidoCertifiedL3,
    /// `FIDO_CERTIFIED_L3plus`.
    FidoCertifiedL3Plus,
    /// A value this crate does not know (kept verbatim).
    Other(String),
}

impl AuthenticatorStatus {
    /// The status for its MDS3 name; unknown names become [`AuthenticatorStatus::Other`].
    pub fn from_name(name: &str) -> Self {
        match name {
            "NOT_FIDO_CERTIFIED" => Self::NotFidoCertified,
            "FIDO_CERTIFIED" => Self::FidoCertified,
            "USER_VERIFICATION_BYPASS" => Self::UserVerificationBypass,
            "ATTESTATION_KEY_COMPROMISE" => Self::AttestationKeyCompromise,
            "USER_KEY_REMOTE_COMPROMISE" => Self::UserKeyRemoteCompromise,
            "USER_KEY_PHYSICAL_COMPROMISE" => Self::UserKeyPhysicalCompromise,
            "UPDATE_AVAILABLE" => Self::UpdateAvailable,
            "REVOKED" => Self::Revoked,
            "SELF_ASSERTION_SUBMITTED" => Self::SelfAssertionSubmitted,
            "FIDO_CERTIFIED_L1" => Self::FidoCertifiedL1,
            "FIDO_CERTIFIED_L1plus" => Self::FidoCertifiedL1Plus,
            "FIDO_CERTIFIED_L2" => Self::FidoCertifiedL2,
            "FIDO_CERTIFIED_L2plus" => Self::FidoCertifiedL2Plus,
            "FIDO_CERTIFIED_L3" => Self::FidoCertifiedL3,
            "FIDO_CERTIFIED_L3plus" => Self::FidoCertifiedL3Plus,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The MDS3 name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Other(name) => name,
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The MDS3 name of a status this crate knows, as a `'static` string; `None` for
    /// [`AuthenticatorStatus::Other`].
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self {
            Self::NotFidoCertified => "NOT_FIDO_CERTIFIED",
            Self::FidoCertified => "FIDO_CERTIFIED",
            Self::UserVerificationBypass => "USER_VERIFICATION_BYPASS",
            Self::AttestationKeyCompromise => "ATTESTATION_KEY_COMPROMISE",
            Self::UserKeyRemoteCompromise => "USER_KEY_REMOTE_COMPROMISE",
            Self::UserKeyPhysicalCompromise => "USER_KEY_PHYSICAL_COMPROMISE",
            Self::UpdateAvailable => "UPDATE_AVAILABLE",
            Self::Revoked => "REVOKED",
            Self::SelfAssertionSubmitted => "SELF_ASSERTION_SUBMITTED",
            Self::FidoCertifiedL1 => "FIDO_CERTIFIED_L1",
            Self::FidoCertifiedL1Plus => "FIDO_CERTIFIED_L1plus",
            Self::FidoCertifiedL2 => "FIDO_CERTIFIED_L2",
            Self::FidoCertifiedL2Plus => "FIDO_CERTIFIED_L2plus",
            Self::FidoCertifiedL3 => "FIDO_CERTIFIED_L3",
            Self::FidoCertifiedL3Plus => "FIDO_CERTIFIED_L3plus",
            Self::Other(_) => return None,
        })
    }

    /// How much this status matters when several reports share one effective date: 4 for
    /// revocation and compromises, 3 for unknown statuses, 2 for `UPDATE_AVAILABLE`, 1 for
    /// certification levels (`FIDO_CERTIFIED_L1` ...), 0 for `FIDO_CERTIFIED`,
    /// `NOT_FIDO_CERTIFIED` and `SELF_ASSERTION_SUBMITTED`.
    pub fn severity(&self) -> u8 {
        match self {
            Self::Revoked
            | Self::AttestationKeyCompromise
            | Self::UserVerificationBypass
            | Self::UserKeyRemoteCompromise
            | Self::UserKeyPhysicalCompromise => 4,
            Self::Other(_) => 3,
            Self::UpdateAvailable => 2,
            Self::FidoCertifiedL1
            | Self::FidoCertifiedL1Plus
            | Self::FidoCertifiedL2
            | Self::FidoCertifiedL2Plus
            | Self::FidoCertifiedL3
            | Self::FidoCertifiedL3Plus => 1,
            Self::FidoCertified | Self::NotFidoCertified | Self::SelfAssertionSubmitted => 0,
        }
    }

    /// The statuses that block an authenticator by default: `REVOKED`,
    /// `ATTESTATION_KEY_COMPROMISE`, `USER_VERIFICATION_BYPASS`, `USER_KEY_REMOTE_COMPROMISE`
    /// and `USER_KEY_PHYSICAL_COMPROMISE`.
    pub fn default_blocking() -> Vec<Self> {
        vec![
            Self::Revoked,
            Self::AttestationKeyCompromise,
            Self::UserVerificationBypass,
            Self::UserKeyRemoteCompromise,
            Self::UserKeyPhysicalCompromise,
        ]
    }
}

impl fmt::Display for AuthenticatorStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How to verify a BLOB.
#[derive(Debug, Clone)]
pub struct MdsOptions {
    /// Trust anchors for the BLOB's `x5c` chain. Default: [`default_roots`].
    pub roots: TrustAnchors,
    /// The verification time (certificate and CRL validity, staleness). Default: now.
    pub time: UnixTime,
    /// The `no` of the BLOB accepted last time, if any: the new BLOB's `no` must be greater.
    pub previous_no: Option<u64>,
    /// DER-encoded CRLs for the certificates of the chain (CRLs of unrelated issuers are
    /// ignored). Default: none.
    pub crls: Vec<Vec<u8>>,
    /// Refuse the BLOB when a certificate of its chain (below the anchor) is not covered by a
    /// supplied CRL from its issuer. Default `false`.
    pub require_crls: bool,
    /// Accept a BLOB whose `nextUpdate` has passed (the blob then reports
    /// [`MetadataBlob::is_stale`]). Default `false`.
    pub allow_stale: bool,
    /// The statuses that block an authenticator. Default:
    /// [`AuthenticatorStatus::default_blocking`].
    pub blocking_statuses: Vec<AuthenticatorStatus>,
    /// Chain rules (SHA-1 refused by default).
    pub chain_policy: ChainPolicy,
    /// Names the signing (leaf) certificate must carry, as its subject CN or a subjectAltName DNS
    /// name (compared case-insensitively). The default roots are public TLS roots, so without
    /// this any certificate they issued could sign a BLOB. Default:
    /// [`DEFAULT_SIGNER_NAMES`]; an empty list disables the check.
    pub signer_names: Vec<String>,
}

/// The most certificates accepted in the BLOB's `x5c` header (path building tries every prefix).
pub const MAX_X5C: usize = 8;

/// The names the FIDO Alliance's BLOB signing certificate carries.
pub const DEFAULT_SIGNER_NAMES: [&str; 2] = ["mds.fidoalliance.org", "mds3.fidoalliance.org"];

impl Default for MdsOptions {
    fn default() -> Self {
        Self {
            roots: default_roots(),
            time: UnixTime::now(),
            previous_no: None,
            crls: Vec::new(),
            require_crls: false,
            allow_stale: false,
            blocking_statuses: AuthenticatorStatus::default_blocking(),
            chain_policy: ChainPolicy::default(),
            signer_names: DEFAULT_SIGNER_NAMES
                .iter()
                .map(|n| (*n).to_owned())
                .collect(),
        }
    }
}

/// Why a BLOB was refused.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MdsError {
    /// The BLOB is not a compact JWS with an `x5c` chain, or its signature does not verify with
    /// the leaf certificate's key.
    Jws(JwsError),
    /// No trust anchor is configured.
    NoTrustAnchors,
    /// The `x5c` chain does not validate to a configured trust anchor at the verification time.
    Chain(ChainError),
    /// A supplied CRL is not valid DER, or cannot be used.
    CrlInvalid {
        /// Its index in [`MdsOptions::crls`].
        index: usize,
        /// What is wrong.
        detail: String,
    },
    /// A supplied CRL names an issuer of the chain but its signature does not verify with that
    /// issuer's key.
    CrlBadSignature {
        /// Its index in [`MdsOptions::crls`].
        index: usize,
        /// The CRL issuer.
        issuer: String,
    },
    /// A supplied CRL is not valid yet (thisUpdate after the verification time).
    CrlNotYetValid {
        /// Its index in [`MdsOptions::crls`].
        index: usize,
        /// The CRL issuer.
        issuer: String,
        /// thisUpdate, seconds since the epoch.
        this_update: i64,
        /// The verification time.
        at: i64,
    },
    /// A supplied CRL is out of date (nextUpdate before the verification time).
    CrlExpired {
        /// Its index in [`MdsOptions::crls`].
        index: usize,
        /// The CRL issuer.
        issuer: String,
        /// nextUpdate, seconds since the epoch.
        next_update: i64,
        /// The verification time.
        at: i64,
    },
    /// [`MdsOptions::require_crls`] is set and no supplied CRL covers a certificate.
    CrlMissing {
        /// The certificate's subject.
        subject: String,
        /// Its issuer, whose CRL is needed.
        issuer: String,
    },
    /// A certificate of the chain is revoked by a supplied CRL.
    CertificateRevoked {
        /// The certificate's subject.
        subject: String,
        /// Its serial number, hexadecimal.
        serial: String,
        /// The revocation date, seconds since the epoch.
        revoked_at: i64,
    },
    /// The signed payload is not JSON.
    PayloadNotJson(String),
    /// A payload member is missing or has the wrong type or form.
    Payload {
        /// JSON path of the member, e.g. `entries[3].statusReports[0].status`.
        path: String,
        /// What it must be.
        expected: &'static str,
        /// What was found.
        found: String,
    },
    /// The BLOB's `no` is not greater than the previously accepted one (a replayed or rolled-back
    /// BLOB).
    NotNewer {
        /// This BLOB's `no`.
        no: u64,
        /// The previously accepted `no`.
        previous: u64,
    },
    /// The BLOB's `nextUpdate` has passed at the verification time.
    Stale {
        /// `nextUpdate` as written in the BLOB.
        next_update: String,
        /// The verification time.
        at: i64,
    },
    /// The `x5c` header holds more certificates than any real chain needs.
    TooManyCertificates {
        /// How many it holds.
        found: usize,
        /// The most accepted ([`MAX_X5C`]).
        max: usize,
    },
    /// The signing certificate does not carry any of [`MdsOptions::signer_names`].
    SignerNotAllowed {
        /// The signing certificate's subject.
        subject: String,
        /// Its subject CN and subjectAltName DNS names.
        found: Vec<String>,
        /// The names allowed.
        expected: Vec<String>,
    },
}

impl MdsError {
    /// A stable machine-readable code for this kind of failure.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Jws(JwsError::BadSignature) => "mds_bad_signature",
            Self::Jws(_) => "mds_malformed_jws",
            Self::NoTrustAnchors => "mds_no_trust_anchors",
            Self::Chain(_) => "mds_untrusted_chain",
            Self::CrlInvalid { .. } => "mds_crl_invalid",
            Self::CrlBadSignature { .. } => "mds_crl_bad_signature",
            Self::CrlNotYetValid { .. } => "mds_crl_not_yet_valid",
            Self::CrlExpired { .. } => "mds_crl_expired",
            Self::CrlMissing { .. } => "mds_crl_missing",
            Self::CertificateRevoked { .. } => "mds_certificate_revoked",
            Self::PayloadNotJson(_) => "mds_payload_not_json",
            Self::Payload { .. } => "mds_payload_invalid",
            Self::NotNewer { .. } => "mds_not_newer",
            Self::Stale { .. } => "mds_stale",
            Self::SignerNotAllowed { .. } => "mds_signer_not_allowed",
            Self::TooManyCertificates { .. } => "mds_too_many_certificates",
        }
    }
}

impl fmt::Display for MdsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FIDO metadata BLOB refused: ")?;
        match self {
            Self::Jws(e) => write!(f, "{e}"),
            Self::NoTrustAnchors => f.write_str("no trust anchor is configured"),
            Self::Chain(e) => write!(f, "signing certificate chain: {e}"),
            Self::CrlInvalid { index, detail } => write!(f, "CRL #{index} is invalid: {detail}"),
            Self::CrlBadSignature { index, issuer } => write!(
                f,
                "CRL #{index} claims issuer '{issuer}' but its signature does not verify with that issuer's key"
            ),
            Self::CrlNotYetValid {
                index,
                issuer,
                this_update,
                at,
            } => write!(
                f,
                "CRL #{index} from '{issuer}' is not valid before {this_update} (checked at {at})"
            ),
            Self::CrlExpired {
                index,
                issuer,
                next_update,
                at,
            } => write!(
                f,
                "CRL #{index} from '{issuer}' is out of date: its nextUpdate {next_update} is before {at}"
            ),
            Self::CrlMissing { subject, issuer } => write!(
                f,
                "no CRL from '{issuer}' was supplied to check certificate '{subject}'"
            ),
            Self::CertificateRevoked {
                subject,
                serial,
                revoked_at,
            } => write!(
                f,
                "certificate '{subject}' (serial {serial}) was revoked at {revoked_at}"
            ),
            Self::PayloadNotJson(e) => write!(f, "payload is not JSON: {e}"),
            Self::Payload {
                path,
                expected,
                found,
            } => write!(
                f,
                "payload member '{path}' must be {expected}, found {found}"
            ),
            Self::NotNewer { no, previous } => write!(
                f,
                "its serial number no={no} is not greater than the previously accepted {previous}"
            ),
            Self::Stale { next_update, at } => write!(
                f,
                "it is stale: nextUpdate {next_update} has passed (checked at {at})"
            ),
            Self::TooManyCertificates { found, max } => write!(
                f,
                "its x5c header holds {found} certificates; at most {max} are accepted"
            ),
            Self::SignerNotAllowed {
                subject,
                found,
                expected,
            } => write!(
                f,
                "the signing certificate '{subject}' is for [{}], none of the allowed signer names [{}] (MdsOptions::signer_names)",
                found.join(", "),
                expected.join(", ")
            ),
        }
    }
}

impl std::error::Error for MdsError {}

impl From<JwsError> for MdsError {
    fn from(e: JwsError) -> Self {
        Self::Jws(e)
    }
}

/// A protocol version (`upv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// Major version.
    pub major: u64,
    /// Minor version.
    pub minor: u64,
}

/// One user verification method descriptor of `userVerificationDetails`.
#[derive(Debug, Clone, PartialEq)]
pub struct VerificationMethod {
    /// `userVerificationMethod`, e.g. `presence_internal`, `passcode_external`.
    pub method: String,
    /// The whole descriptor as JSON (with `caDesc`, `baDesc`, `paDesc` when present).
    pub raw: Value,
}

/// A metadata statement (FIDO Metadata Statement specification), the members relying parties
/// use most, plus the raw JSON for everything else.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataStatement {
    /// `description`: a human-readable model name.
    pub description: String,
    /// `legalHeader`.
    pub legal_header: Option<String>,
    /// `aaguid` (FIDO2 authenticators).
    pub aaguid: Option<[u8; 16]>,
    /// `aaid` (UAF authenticators).
    pub aaid: Option<String>,
    /// `attestationCertificateKeyIdentifiers` (U2F and some UAF), lowercase hex.
    pub attestation_certificate_key_identifiers: Vec<String>,
    /// `authenticatorVersion`.
    pub authenticator_version: Option<u64>,
    /// `protocolFamily`: `uaf`, `u2f` or `fido2`.
    pub protocol_family: Option<String>,
    /// `schema`: the metadata statement schema version.
    pub schema: Option<u64>,
    /// `upv`: supported protocol versions.
    pub upv: Vec<Version>,
    /// `attestationTypes`, e.g. `basic_full`, `attca`, `anonca`, `none`.
    pub attestation_types: Vec<String>,
    /// `userVerificationDetails`: alternatives (OR) of combinations (AND) of methods.
    pub user_verification_details: Vec<Vec<VerificationMethod>>,
    /// `keyProtection`, e.g. `hardware`, `secure_element`.
    pub key_protection: Vec<String>,
    /// `matcherProtection`, e.g. `on_chip`.
    pub matcher_protection: Vec<String>,
    /// `attachmentHint`, e.g. `external`, `wired`, `nfc`.
    pub attachment_hint: Vec<String>,
    /// `attestationRootCertificates` that parse as X.509 (see [`MetadataBlob::warnings`] for
    /// those that do not).
    pub attestation_root_certificates: Vec<Certificate>,
    /// The whole statement as JSON.
    pub raw: Value,
}

/// A status report of an entry.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    /// `status`.
    pub status: AuthenticatorStatus,
    /// `effectiveDate` (midnight UTC of that date); `None` when absent.
    pub effective_date: Option<UnixTime>,
    /// `authenticatorVersion`: the lowest firmware version the report applies to.
    pub authenticator_version: Option<u64>,
    /// `certificate`: DER of the certificate the report concerns (e.g. a compromised attestation
    /// certificate).
    pub certificate: Option<Vec<u8>>,
    /// `url`: more information.
    pub url: Option<String>,
    /// `certificationDescriptor`.
    pub certification_descriptor: Option<String>,
    /// `certificateNumber`.
    pub certificate_number: Option<String>,
}

/// One entry of the BLOB: an authenticator model.
#[derive(Debug, Clone, PartialEq)]
pub struct MetadataEntry {
    /// `aaguid` (FIDO2), or the statement's when the entry does not repeat it.
    pub aaguid: Option<[u8; 16]>,
    /// `aaid` (UAF).
    pub aaid: Option<String>,
    /// `attestationCertificateKeyIdentifiers` (U2F), lowercase hex.
    pub attestation_certificate_key_identifiers: Vec<String>,
    /// `metadataStatement`.
    pub metadata_statement: Option<MetadataStatement>,
    /// `statusReports`, in BLOB order.
    pub status_reports: Vec<StatusReport>,
    /// `timeOfLastStatusChange` as written.
    pub time_of_last_status_change: Option<String>,
}

impl MetadataEntry {
    /// The model's description, from its metadata statement.
    pub fn description(&self) -> Option<&str> {
        self.metadata_statement
            .as_ref()
            .map(|s| s.description.as_str())
    }

    /// The reports effective at `at` that share the latest effective date, in BLOB order.
    fn latest_reports(&self, at: UnixTime) -> impl Iterator<Item = &StatusReport> {
        let effective =
            move |r: &StatusReport| Some(r.effective_date.unwrap_or(at)).filter(|d| *d <= at);
        let latest = self.status_reports.iter().filter_map(effective).max();
        self.status_reports
            .iter()
            .filter(move |r| latest.is_some() && effective(r) == latest)
    }

    /// The latest status report effective at `at` (see the module documentation for the rule).
    pub fn latest_report(&self, at: UnixTime) -> Option<&StatusReport> {
        let mut best: Option<&StatusReport> = None;
        for report in self.latest_reports(at) {
            // `>=`: among equal severities the report listed later wins.
            if best.is_none_or(|b| report.status.severity() >= b.status.severity()) {
                best = Some(report);
            }
        }
        best
    }

    /// The authenticator status effective at `at`; `None` when no report is effective.
    pub fn status(&self, at: UnixTime) -> Option<AuthenticatorStatus> {
        self.latest_report(at).map(|r| r.status.clone())
    }

    /// Whether the model is blocked at `at`: some report of the latest effective date has one of
    /// the `blocking` statuses (normally that is [`MetadataEntry::status`] itself).
    pub fn is_blocked(&self, at: UnixTime, blocking: &[AuthenticatorStatus]) -> bool {
        self.latest_reports(at)
            .any(|r| blocking.contains(&r.status))
    }

    /// The statement's attestation root certificates as trust anchors for this model's
    /// attestation (empty when there is no statement).
    pub fn attestation_roots(&self) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        if let Some(statement) = &self.metadata_statement {
            for cert in &statement.attestation_root_certificates {
                anchors.add(cert.clone());
            }
        }
        anchors
    }
}

/// A verified metadata BLOB. The only way to get one is [`MetadataBlob::verify`].
#[derive(Clone)]
pub struct MetadataBlob {
    legal_header: Option<String>,
    no: u64,
    next_update: UnixTime,
    next_update_text: String,
    stale: bool,
    entries: Vec<MetadataEntry>,
    by_aaguid: HashMap<[u8; 16], usize>,
    anchor_subject: String,
    blocking: Vec<AuthenticatorStatus>,
    warnings: Vec<String>,
}

impl fmt::Debug for MetadataBlob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataBlob")
            .field("no", &self.no)
            .field("next_update", &self.next_update_text)
            .field("stale", &self.stale)
            .field("entries", &self.entries.len())
            .field("anchor", &self.anchor_subject)
            .field("warnings", &self.warnings.len())
            .finish()
    }
}

impl MetadataBlob {
    /// Verifies a BLOB (the compact JWS text as downloaded) and parses its payload; see the
    /// module documentation for every check.
    pub fn verify(bytes: &[u8], options: &MdsOptions) -> Result<Self, MdsError> {
        let jws = Jws::parse(bytes)?;
        jws.verify_signature()?;
        if options.roots.is_empty() {
            return Err(MdsError::NoTrustAnchors);
        }
        if jws.x5c.len() > MAX_X5C {
            return Err(MdsError::TooManyCertificates {
                found: jws.x5c.len(),
                max: MAX_X5C,
            });
        }
        let (path, validated) = build_path(&jws.x5c, options)?;
        check_signer_name(path, &options.signer_names)?;
        check_revocation(path, &validated, options)?;
        Self::from_verified_payload(&jws.payload, options, validated.anchor_subject)
    }

    /// Parses and checks (`no`, `nextUpdate`) a payload whose signature has been verified.
    fn from_verified_payload(
        payload: &[u8],
        options: &MdsOptions,
        anchor_subject: String,
    ) -> Result<Self, MdsError> {
        let root: Value =
            serde_json::from_slice(payload).map_err(|e| MdsError::PayloadNotJson(e.to_string()))?;
        let top = object(&root, "payload")?;
        let no = required(top, "no", "payload").and_then(|v| {
            v.as_u64()
                .ok_or_else(|| wrong("no", "a non-negative integer", v))
        })?;
        if let Some(previous) = options.previous_no
            && no <= previous
        {
            return Err(MdsError::NotNewer { no, previous });
        }
        let next_update_value = required(top, "nextUpdate", "payload")?;
        let next_update_text = next_update_value
            .as_str()
            .ok_or_else(|| wrong("nextUpdate", "a date (YYYY-MM-DD)", next_update_value))?;
        let next_update = parse_date(next_update_text)
            .ok_or_else(|| wrong("nextUpdate", "a date (YYYY-MM-DD)", next_update_value))?;
        // nextUpdate is a date: the BLOB is current until the end of that day (UTC).
        let stale = options.time.0 >= next_update.0.saturating_add(86_400);
        if stale && !options.allow_stale {
            return Err(MdsError::Stale {
                next_update: next_update_text.to_owned(),
                at: options.time.0,
            });
        }
        let legal_header = opt_string(top, "legalHeader", "")?;

        let mut warnings = Vec::new();
        let entries_value = required(top, "entries", "payload")?;
        let items = entries_value
            .as_array()
            .ok_or_else(|| wrong("entries", "an array", entries_value))?;
        let mut entries = Vec::with_capacity(items.len());
        let mut by_aaguid = HashMap::new();
        for (i, item) in items.iter().enumerate() {
            let path = format!("entries[{i}]");
            let entry = parse_entry(item, &path, &mut warnings)?;
            if let Some(aaguid) = entry.aaguid {
                match by_aaguid.entry(aaguid) {
                    std::collections::hash_map::Entry::Occupied(_) => warnings.push(format!(
                        "{path}: AAGUID {} appears again; the first entry is used",
                        format_aaguid(aaguid)
                    )),
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(i);
                    }
                }
            }
            entries.push(entry);
        }

        Ok(Self {
            legal_header,
            no,
            next_update,
            next_update_text: next_update_text.to_owned(),
            stale,
            entries,
            by_aaguid,
            anchor_subject,
            blocking: options.blocking_statuses.clone(),
            warnings,
        })
    }

    /// The BLOB's serial number `no` (store it and pass it as [`MdsOptions::previous_no`] next
    /// time).
    pub fn no(&self) -> u64 {
        self.no
    }

    /// `nextUpdate` (midnight UTC of that date): fetch a new BLOB by then.
    pub fn next_update(&self) -> UnixTime {
        self.next_update
    }

    /// `nextUpdate` as written in the BLOB.
    pub fn next_update_text(&self) -> &str {
        &self.next_update_text
    }

    /// Whether the BLOB was past its `nextUpdate` at the verification time (only possible with
    /// [`MdsOptions::allow_stale`]).
    pub fn is_stale(&self) -> bool {
        self.stale
    }

    /// `legalHeader`.
    pub fn legal_header(&self) -> Option<&str> {
        self.legal_header.as_deref()
    }

    /// The subject of the trust anchor the signing chain led to.
    pub fn anchor_subject(&self) -> &str {
        &self.anchor_subject
    }

    /// Data problems that did not prevent loading (duplicate AAGUIDs, attestation root
    /// certificates that do not parse, a statement AAGUID that differs from its entry's).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Every entry, in BLOB order.
    pub fn entries(&self) -> &[MetadataEntry] {
        &self.entries
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the BLOB has no entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entry for a FIDO2 AAGUID.
    pub fn entry(&self, aaguid: &[u8; 16]) -> Option<&MetadataEntry> {
        self.by_aaguid
            .get(aaguid)
            .and_then(|&i| self.entries.get(i))
    }

    /// The entry for a UAF AAID (e.g. `4e4e#4005`), compared case-insensitively.
    pub fn entry_by_aaid(&self, aaid: &str) -> Option<&MetadataEntry> {
        self.entries.iter().find(|e| {
            e.aaid
                .as_deref()
                .is_some_and(|a| a.eq_ignore_ascii_case(aaid))
        })
    }

    /// The entry listing an attestation certificate key identifier (U2F: the SHA-1 of the
    /// attestation certificate's public key), given as bytes.
    pub fn entry_by_key_identifier(&self, key_identifier: &[u8]) -> Option<&MetadataEntry> {
        let hex: String = key_identifier.iter().map(|b| format!("{b:02x}")).collect();
        self.entries
            .iter()
            .find(|e| e.attestation_certificate_key_identifiers.contains(&hex))
    }

    /// The statuses this BLOB was loaded with as blocking ([`MdsOptions::blocking_statuses`]).
    pub fn blocking_statuses(&self) -> &[AuthenticatorStatus] {
        &self.blocking
    }

    /// The authenticator status of a FIDO2 model at `at`; `None` when it is not in the BLOB or
    /// has no effective report.
    pub fn status(&self, aaguid: &[u8; 16], at: UnixTime) -> Option<AuthenticatorStatus> {
        self.entry(aaguid).and_then(|e| e.status(at))
    }

    /// Whether a FIDO2 model's status at `at` is one of the blocking statuses the BLOB was loaded
    /// with. A model that is not in the BLOB is not blocked (policy about unknown models is the
    /// caller's).
    pub fn is_blocked(&self, aaguid: &[u8; 16], at: UnixTime) -> bool {
        self.entry(aaguid)
            .is_some_and(|e| e.is_blocked(at, &self.blocking))
    }
}

// ---------------------------------------------------------------------------------------------
// Signer and path.

/// Requires the leaf to carry one of `allowed` as subject CN or subjectAltName DNS name.
fn check_signer_name(x5c: &[Certificate], allowed: &[String]) -> Result<(), MdsError> {
    if allowed.is_empty() {
        return Ok(());
    }
    let leaf = x5c
        .first()
        .ok_or(MdsError::Jws(JwsError::MissingX5c))?
        .parsed()
        .map_err(MdsError::Chain)?;
    let mut names: Vec<String> = leaf
        .subject()
        .iter_common_name()
        .filter_map(|cn| cn.as_str().ok())
        .map(str::to_owned)
        .collect();
    if let Ok(Some(san)) = leaf.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push((*dns).to_owned());
            }
        }
    }
    if names
        .iter()
        .any(|n| allowed.iter().any(|a| a.eq_ignore_ascii_case(n)))
    {
        return Ok(());
    }
    Err(MdsError::SignerNotAllowed {
        subject: leaf.subject().to_string(),
        found: names,
        expected: allowed.to_vec(),
    })
}

/// Finds a path from the `x5c` leaf to a trust anchor: the whole `x5c` first, then ever shorter
/// prefixes of it. The FIDO Alliance ships extra certificates during root transitions (a
/// cross-certificate of GlobalSign Root R46 signed by Root CA - R3 since August 2026), so the path
/// to a configured root may not use every certificate. When no prefix validates, the error of the
/// whole chain is returned.
fn build_path<'c>(
    x5c: &'c [Certificate],
    options: &MdsOptions,
) -> Result<(&'c [Certificate], ValidatedChain), MdsError> {
    let mut first_error = None;
    for len in (1..=x5c.len()).rev() {
        let Some(path) = x5c.get(..len) else { continue };
        match verify_chain(path, &options.roots, options.time, &options.chain_policy) {
            Ok(validated) => return Ok((path, validated)),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(MdsError::Chain(first_error.unwrap_or(ChainError::Empty)))
}

// ---------------------------------------------------------------------------------------------
// Revocation.

/// The aws-lc-rs verifier for a signature algorithm OID and the signer's key, with the key bytes.
fn signature_verifier(
    oid: &str,
    key: &KeyMaterial,
) -> Option<(&'static dyn VerificationAlgorithm, Vec<u8>)> {
    use EcCurve::*;
    let alg: &'static dyn VerificationAlgorithm = match (oid, key) {
        ("1.2.840.113549.1.1.11", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA256,
        ("1.2.840.113549.1.1.12", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA384,
        ("1.2.840.113549.1.1.13", KeyMaterial::Rsa { .. }) => &sig::RSA_PKCS1_2048_8192_SHA512,
        ("1.2.840.10045.4.3.2", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA256_ASN1,
            P384 => &sig::ECDSA_P384_SHA256_ASN1,
            P521 => &sig::ECDSA_P521_SHA256_ASN1,
        },
        ("1.2.840.10045.4.3.3", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA384_ASN1,
            P384 => &sig::ECDSA_P384_SHA384_ASN1,
            P521 => &sig::ECDSA_P521_SHA384_ASN1,
        },
        ("1.2.840.10045.4.3.4", KeyMaterial::Ec2 { curve, .. }) => match curve {
            P256 => &sig::ECDSA_P256_SHA512_ASN1,
            P384 => &sig::ECDSA_P384_SHA512_ASN1,
            P521 => &sig::ECDSA_P521_SHA512_ASN1,
        },
        ("1.3.101.112", KeyMaterial::Ed25519(_)) => &sig::ED25519,
        _ => return None,
    };
    let bytes = match key {
        KeyMaterial::Ec2 { point, .. } => point.clone(),
        KeyMaterial::Ed25519(x) => x.to_vec(),
        KeyMaterial::Rsa { n, e } => crate::cose::rsa_pkcs1_der(n, e),
        KeyMaterial::Ed448(_) | KeyMaterial::MlDsa(_) => return None,
    };
    Some((alg, bytes))
}

/// Whether `signer`'s key verifies `signature` over `signed` with the X.509 signature algorithm
/// `oid`. `None` when the algorithm or key type is not supported.
fn verify_x509_signature(
    oid: &str,
    signed: &[u8],
    signature: &[u8],
    signer: &Certificate,
) -> Option<bool> {
    let key = signer.key_material().ok()?;
    let (alg, key_bytes) = signature_verifier(oid, &key)?;
    Some(
        sig::UnparsedPublicKey::new(alg, key_bytes)
            .verify(signed, signature)
            .is_ok(),
    )
}

fn serial_hex(raw: &[u8]) -> String {
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the validated part of `chain` against the supplied CRLs.
fn check_revocation(
    chain: &[Certificate],
    validated: &ValidatedChain,
    options: &MdsOptions,
) -> Result<(), MdsError> {
    if options.crls.is_empty() && !options.require_crls {
        return Ok(());
    }
    // The path verify_chain validated: the chain up to the anchor when the anchor is in it
    // (anything after it was not checked and is not trusted), then the anchor.
    let end = chain
        .iter()
        .position(|c| *c == validated.anchor)
        .unwrap_or(chain.len());
    let below_anchor = chain.get(..end).unwrap_or(chain);
    let mut signers: Vec<&Certificate> = below_anchor.iter().collect();
    signers.push(&validated.anchor);

    let at = options.time.0;
    let mut crls = Vec::new();
    for (index, der) in options.crls.iter().enumerate() {
        let invalid = |detail: String| MdsError::CrlInvalid { index, detail };
        let (rest, crl) =
            CertificateRevocationList::from_der(der).map_err(|e| invalid(e.to_string()))?;
        if !rest.is_empty() {
            return Err(invalid(format!("{} bytes after the CRL", rest.len())));
        }
        let issuer_raw = crl.issuer().as_raw();
        let candidates: Vec<&Certificate> = signers
            .iter()
            .copied()
            .filter(|c| c.parsed().is_ok_and(|p| p.subject().as_raw() == issuer_raw))
            .collect();
        if candidates.is_empty() {
            continue; // a CRL of another hierarchy
        }
        let issuer = crl.issuer().to_string();
        let oid = crl.signature_algorithm.algorithm.to_id_string();
        if crl.tbs_cert_list.signature.algorithm != crl.signature_algorithm.algorithm {
            return Err(invalid(format!(
                "signature algorithm {oid} differs from the one in the signed part"
            )));
        }
        let mut supported = false;
        let mut verified = false;
        for signer in &candidates {
            if let Ok(parsed) = signer.parsed()
                && let Ok(Some(ku)) = parsed.key_usage()
                && !ku.value.crl_sign()
            {
                continue; // keyUsage present without cRLSign
            }
            match verify_x509_signature(
                &oid,
                crl.tbs_cert_list.as_ref(),
                &crl.signature_value.data,
                signer,
            ) {
                Some(ok) => {
                    supported = true;
                    if ok {
                        verified = true;
                        break;
                    }
                }
                None => continue,
            }
        }
        if !verified {
            if !supported {
                return Err(invalid(format!(
                    "signature algorithm {oid} is not supported for CRLs, or issuer '{issuer}' may not sign CRLs"
                )));
            }
            return Err(MdsError::CrlBadSignature { index, issuer });
        }
        let this_update = crl.last_update().timestamp();
        if this_update > at {
            return Err(MdsError::CrlNotYetValid {
                index,
                issuer,
                this_update,
                at,
            });
        }
        if let Some(next) = crl.next_update() {
            let next_update = next.timestamp();
            if next_update < at {
                return Err(MdsError::CrlExpired {
                    index,
                    issuer,
                    next_update,
                    at,
                });
            }
        }
        crls.push(crl);
    }

    for cert in below_anchor {
        let parsed = cert.parsed().map_err(MdsError::Chain)?;
        let mut covered = false;
        for crl in &crls {
            if crl.issuer().as_raw() != parsed.issuer().as_raw() {
                continue;
            }
            covered = true;
            if let Some(revoked) = crl
                .iter_revoked_certificates()
                .find(|r| r.user_certificate == parsed.tbs_certificate.serial)
            {
                return Err(MdsError::CertificateRevoked {
                    subject: parsed.subject().to_string(),
                    serial: serial_hex(parsed.raw_serial()),
                    revoked_at: revoked.revocation_date.timestamp(),
                });
            }
        }
        if options.require_crls && !covered {
            return Err(MdsError::CrlMissing {
                subject: parsed.subject().to_string(),
                issuer: parsed.issuer().to_string(),
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Payload parsing.

/// Parses an MDS date: `YYYY-MM-DD` (midnight UTC) or a full RFC 3339 date-time.
fn parse_date(text: &str) -> Option<UnixTime> {
    let b = text.as_bytes();
    if b.len() == 10 {
        let shape_ok = b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
        return if shape_ok {
            UnixTime::parse_rfc3339(&format!("{text}T00:00:00Z"))
        } else {
            None
        };
    }
    UnixTime::parse_rfc3339(text)
}

/// Describes a JSON value for an error message: its type, and a short preview of scalars.
fn describe(v: &Value) -> String {
    fn preview(s: &str) -> String {
        let mut out: String = s.chars().take(40).collect();
        if s.chars().nth(40).is_some() {
            out.push('…');
        }
        out
    }
    match v {
        Value::Null => "null".to_owned(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {}", preview(&n.to_string())),
        Value::String(s) => format!("the string {:?}", preview(s)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".to_owned(),
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() || parent == "payload" {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn wrong(path: &str, expected: &'static str, found: &Value) -> MdsError {
    MdsError::Payload {
        path: path.to_owned(),
        expected,
        found: describe(found),
    }
}

fn object<'v>(v: &'v Value, path: &str) -> Result<&'v Map<String, Value>, MdsError> {
    v.as_object().ok_or_else(|| wrong(path, "an object", v))
}

/// A member that is absent or `null` is `None`.
fn member<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    obj.get(key).filter(|v| !v.is_null())
}

fn required<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<&'v Value, MdsError> {
    member(obj, key).ok_or_else(|| MdsError::Payload {
        path: join(parent, key),
        expected: "present",
        found: "nothing (the member is missing)".to_owned(),
    })
}

fn opt_string(
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<Option<String>, MdsError> {
    member(obj, key)
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong(&join(parent, key), "a string", v))
        })
        .transpose()
}

fn opt_u64(obj: &Map<String, Value>, key: &str, parent: &str) -> Result<Option<u64>, MdsError> {
    member(obj, key)
        .map(|v| {
            v.as_u64()
                .ok_or_else(|| wrong(&join(parent, key), "a non-negative integer", v))
        })
        .transpose()
}

/// An optional array member; absent is empty.
fn opt_array<'v>(
    obj: &'v Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<&'v [Value], MdsError> {
    match member(obj, key) {
        None => Ok(&[]),
        Some(v) => v
            .as_array()
            .map(Vec::as_slice)
            .ok_or_else(|| wrong(&join(parent, key), "an array", v)),
    }
}

fn string_list(obj: &Map<String, Value>, key: &str, parent: &str) -> Result<Vec<String>, MdsError> {
    let path = join(parent, key);
    opt_array(obj, key, parent)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| wrong(&format!("{path}[{i}]"), "a string", v))
        })
        .collect()
}

fn opt_aaguid(
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<Option<[u8; 16]>, MdsError> {
    let path = join(parent, key);
    member(obj, key)
        .map(|v| {
            v.as_str()
                .and_then(parse_aaguid)
                .ok_or_else(|| wrong(&path, "an AAGUID string (8-4-4-4-12 hex digits)", v))
        })
        .transpose()
}

fn key_identifiers(
    obj: &Map<String, Value>,
    key: &str,
    parent: &str,
) -> Result<Vec<String>, MdsError> {
    let path = join(parent, key);
    opt_array(obj, key, parent)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            v.as_str()
                .filter(|s| !s.is_empty() && s.len() % 2 == 0)
                .filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(str::to_ascii_lowercase)
                .ok_or_else(|| wrong(&format!("{path}[{i}]"), "a hexadecimal string", v))
        })
        .collect()
}

fn parse_entry(
    item: &Value,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<MetadataEntry, MdsError> {
    let obj = object(item, path)?;
    let entry_aaguid = opt_aaguid(obj, "aaguid", path)?;
    let aaid = opt_string(obj, "aaid", path)?;
    let key_ids = key_identifiers(obj, "attestationCertificateKeyIdentifiers", path)?;
    let metadata_statement = member(obj, "metadataStatement")
        .map(|v| parse_statement(v, &join(path, "metadataStatement"), warnings))
        .transpose()?;
    let reports_path = join(path, "statusReports");
    let status_reports = opt_array(obj, "statusReports", path)?
        .iter()
        .enumerate()
        .map(|(i, v)| parse_report(v, &format!("{reports_path}[{i}]")))
        .collect::<Result<Vec<_>, _>>()?;
    let time_of_last_status_change = opt_string(obj, "timeOfLastStatusChange", path)?;

    let statement_aaguid = metadata_statement.as_ref().and_then(|s| s.aaguid);
    if let (Some(a), Some(b)) = (entry_aaguid, statement_aaguid)
        && a != b
    {
        warnings.push(format!(
            "{path}: entry AAGUID {} differs from its statement's {}; the entry's is used",
            format_aaguid(a),
            format_aaguid(b)
        ));
    }
    Ok(MetadataEntry {
        aaguid: entry_aaguid.or(statement_aaguid),
        aaid,
        attestation_certificate_key_identifiers: key_ids,
        metadata_statement,
        status_reports,
        time_of_last_status_change,
    })
}

fn parse_statement(
    v: &Value,
    path: &str,
    warnings: &mut Vec<String>,
) -> Result<MetadataStatement, MdsError> {
    let obj = object(v, path)?;
    let description_value = required(obj, "description", path)?;
    let description = description_value
        .as_str()
        .ok_or_else(|| wrong(&join(path, "description"), "a string", description_value))?
        .to_owned();

    let upv_path = join(path, "upv");
    let upv = opt_array(obj, "upv", path)?
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let p = format!("{upv_path}[{i}]");
            let o = object(v, &p)?;
            let major = opt_u64(o, "major", &p)?;
            let minor = opt_u64(o, "minor", &p)?;
            match (major, minor) {
                (Some(major), Some(minor)) => Ok(Version { major, minor }),
                _ => Err(wrong(&p, "an object with integer major and minor", v)),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;

    let uvd_path = join(path, "userVerificationDetails");
    let user_verification_details = opt_array(obj, "userVerificationDetails", path)?
        .iter()
        .enumerate()
        .map(|(i, combination)| {
            let p = format!("{uvd_path}[{i}]");
            combination
                .as_array()
                .ok_or_else(|| wrong(&p, "an array of verification methods", combination))?
                .iter()
                .enumerate()
                .map(|(j, d)| {
                    let dp = format!("{p}[{j}]");
                    let o = object(d, &dp)?;
                    let method_value = required(o, "userVerificationMethod", &dp)?;
                    let method = method_value
                        .as_str()
                        .ok_or_else(|| {
                            wrong(
                                &join(&dp, "userVerificationMethod"),
                                "a string",
                                method_value,
                            )
                        })?
                        .to_owned();
                    Ok::<_, MdsError>(VerificationMethod {
                        method,
                        raw: d.clone(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .collect::<Result<Vec<_>, _>>()?;

    let roots_path = join(path, "attestationRootCertificates");
    let mut attestation_root_certificates = Vec::new();
    for (i, c) in opt_array(obj, "attestationRootCertificates", path)?
        .iter()
        .enumerate()
    {
        let p = format!("{roots_path}[{i}]");
        let text = c
            .as_str()
            .ok_or_else(|| wrong(&p, "a base64 DER certificate string", c))?;
        let der = b64::decode_standard(text)
            .map_err(|_| wrong(&p, "a base64 DER certificate string", c))?;
        match Certificate::from_der(&der) {
            Ok(cert) => attestation_root_certificates.push(cert),
            Err(e) => warnings.push(format!("{p}: skipped, not a certificate: {e}")),
        }
    }

    Ok(MetadataStatement {
        description,
        legal_header: opt_string(obj, "legalHeader", path)?,
        aaguid: opt_aaguid(obj, "aaguid", path)?,
        aaid: opt_string(obj, "aaid", path)?,
        attestation_certificate_key_identifiers: key_identifiers(
            obj,
            "attestationCertificateKeyIdentifiers",
            path,
        )?,
        authenticator_version: opt_u64(obj, "authenticatorVersion", path)?,
        protocol_family: opt_string(obj, "protocolFamily", path)?,
        schema: opt_u64(obj, "schema", path)?,
        upv,
        attestation_types: string_list(obj, "attestationTypes", path)?,
        user_verification_details,
        key_protection: string_list(obj, "keyProtection", path)?,
        matcher_protection: string_list(obj, "matcherProtection", path)?,
        attachment_hint: string_list(obj, "attachmentHint", path)?,
        attestation_root_certificates,
        raw: v.clone(),
    })
}

fn parse_report(v: &Value, path: &str) -> Result<StatusReport, MdsError> {
    let obj = object(v, path)?;
    let status_value = required(obj, "status", path)?;
    let status = status_value
        .as_str()
        .map(AuthenticatorStatus::from_name)
        .ok_or_else(|| wrong(&join(path, "status"), "a status string", status_value))?;
    let effective_date = member(obj, "effectiveDate")
        .map(|d| {
            d.as_str()
                .and_then(parse_date)
                .ok_or_else(|| wrong(&join(path, "effectiveDate"), "a date (YYYY-MM-DD)", d))
        })
        .transpose()?;
    let certificate = member(obj, "certificate")
        .map(|c| {
            c.as_str()
                .and_then(|t| b64::decode_standard(t).ok())
                .ok_or_else(|| {
                    wrong(
                        &join(path, "certificate"),
                        "a base64 DER certificate string",
                        c,
                    )
                })
        })
        .transpose()?;
    Ok(StatusReport {
        status,
        effective_date,
        authenticator_version: opt_u64(obj, "authenticatorVersion", path)?,
        certificate,
        url: opt_string(obj, "url", path)?,
        certification_descriptor: opt_string(obj, "certificationDescriptor", path)?,
        certificate_number: opt_string(obj, "certificateNumber", path)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn day(text: &str) -> UnixTime {
        parse_date(text).unwrap()
    }

    fn entry_with(reports: Value) -> MetadataEntry {
        let mut w = Vec::new();
        parse_entry(
            &json!({"aaguid": "01234567-89ab-cdef-0123-456789abcdef", "statusReports": reports}),
            "entries[0]",
            &mut w,
        )
        .unwrap()
    }

    #[test]
    fn bundled_roots_are_the_two_globalsign_self_signed_cas() {
        let r3 = Certificate::all_from_pem(GLOBALSIGN_ROOT_CA_R3_PEM).unwrap();
        let r46 = Certificate::all_from_pem(GLOBALSIGN_ROOT_R46_PEM).unwrap();
        assert_eq!((r3.len(), r46.len()), (1, 1));
        let expected = [
            (
                &r3[0],
                "OU=GlobalSign Root CA - R3, O=GlobalSign, CN=GlobalSign",
            ),
            (&r46[0], "C=BE, O=GlobalSign nv-sa, CN=GlobalSign Root R46"),
        ];
        for (cert, subject) in expected {
            let p = cert.parsed().unwrap();
            assert_eq!(p.subject().to_string(), subject);
            assert_eq!(p.subject().as_raw(), p.issuer().as_raw(), "{subject}");
            let bc = p.basic_constraints().unwrap().unwrap();
            assert!(bc.value.ca, "{subject} must be a CA");
            let oid = p.signature_algorithm.algorithm.to_id_string();
            assert_eq!(
                verify_x509_signature(
                    &oid,
                    p.tbs_certificate.as_ref(),
                    &p.signature_value.data,
                    cert
                ),
                Some(true),
                "{subject} must be self-signed"
            );
        }
        let roots = default_roots();
        assert_eq!(roots.certificates().len(), 2);
    }

    #[test]
    fn dates() {
        assert_eq!(day("1970-01-02"), UnixTime(86_400));
        assert_eq!(parse_date("2026-11-01T00:00:00Z"), Some(day("2026-11-01")));
        for bad in [
            "2026-1-01",
            "2026/11/01",
            "",
            "2026-11-0x",
            "２０２６-11-01",
            "2026-13-01",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_names_round_trip() {
        let mut all = AuthenticatorStatus::default_blocking();
        all.extend([
            AuthenticatorStatus::NotFidoCertified,
            AuthenticatorStatus::FidoCertified,
            AuthenticatorStatus::UpdateAvailable,
            AuthenticatorStatus::SelfAssertionSubmitted,
            AuthenticatorStatus::FidoCertifiedL1,
            AuthenticatorStatus::FidoCertifiedL1Plus,
            AuthenticatorStatus::FidoCertifiedL2,
            AuthenticatorStatus::FidoCertifiedL2Plus,
            AuthenticatorStatus::FidoCertifiedL3,
            AuthenticatorStatus::FidoCertifiedL3Plus,
            AuthenticatorStatus::Other("RETIRED".into()),
        ]);
        for s in all {
            assert_eq!(AuthenticatorStatus::from_name(s.as_str()), s);
        }
    }

    #[test]
    fn latest_effective_report_wins() {
        let e = entry_with(json!([
            {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"},
            {"status": "UPDATE_AVAILABLE", "effectiveDate": "2022-01-01"},
            {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2021-01-01"},
        ]));
        assert_eq!(e.status(day("2019-06-01")), None);
        assert_eq!(
            e.status(day("2020-06-01")),
            Some(AuthenticatorStatus::FidoCertified)
        );
        assert_eq!(
            e.status(day("2021-06-01")),
            Some(AuthenticatorStatus::FidoCertifiedL1)
        );
        assert_eq!(
            e.status(day("2022-01-01")),
            Some(AuthenticatorStatus::UpdateAvailable)
        );
    }

    #[test]
    fn same_day_reports_rank_by_severity_then_order_and_undated_reports_are_current() {
        let at = day("2024-01-01");
        for reports in [
            json!([
                {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2023-03-28"},
                {"status": "FIDO_CERTIFIED", "effectiveDate": "2023-03-28"},
            ]),
            json!([
                {"status": "FIDO_CERTIFIED", "effectiveDate": "2023-03-28"},
                {"status": "FIDO_CERTIFIED_L2", "effectiveDate": "2023-03-28"},
            ]),
        ] {
            assert_eq!(
                entry_with(reports).status(at),
                Some(AuthenticatorStatus::FidoCertifiedL2)
            );
        }
        // A same-day revocation outranks a certification, whichever order they are listed in.
        for reports in [
            json!([
                {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2023-03-28"},
                {"status": "REVOKED", "effectiveDate": "2023-03-28"},
            ]),
            json!([
                {"status": "REVOKED", "effectiveDate": "2023-03-28"},
                {"status": "FIDO_CERTIFIED_L1", "effectiveDate": "2023-03-28"},
            ]),
        ] {
            let e = entry_with(reports);
            assert_eq!(e.status(at), Some(AuthenticatorStatus::Revoked));
            assert!(e.is_blocked(at, &AuthenticatorStatus::default_blocking()));
        }
        // Equal severity: the later listed wins; is_blocked looks at every same-day report.
        let e = entry_with(json!([
            {"status": "UPDATE_AVAILABLE", "effectiveDate": "2023-03-28", "authenticatorVersion": 2},
            {"status": "UPDATE_AVAILABLE", "effectiveDate": "2023-03-28", "authenticatorVersion": 3},
            {"status": "FIDO_CERTIFIED", "effectiveDate": "2023-03-28"},
        ]));
        assert_eq!(e.latest_report(at).unwrap().authenticator_version, Some(3));
        assert!(e.is_blocked(at, &[AuthenticatorStatus::FidoCertified]));
        assert!(!e.is_blocked(at, &[AuthenticatorStatus::Revoked]));
        let e = entry_with(json!([
            {"status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01"},
            {"status": "REVOKED"},
        ]));
        assert_eq!(
            e.status(day("2021-01-01")),
            Some(AuthenticatorStatus::Revoked)
        );
        assert!(e.is_blocked(day("2021-01-01"), &AuthenticatorStatus::default_blocking()));
        assert!(!e.is_blocked(day("2021-01-01"), &[AuthenticatorStatus::UpdateAvailable]));
    }

    #[test]
    fn wrong_types_are_reported_with_their_path() {
        let mut w = Vec::new();
        let err = parse_entry(
            &json!({"statusReports": [{"status": "FIDO_CERTIFIED"}, {"status": 7}]}),
            "entries[4]",
            &mut w,
        )
        .unwrap_err();
        assert_eq!(
            err,
            MdsError::Payload {
                path: "entries[4].statusReports[1].status".into(),
                expected: "a status string",
                found: "the number 7".into(),
            }
        );
        let err = parse_entry(
            &json!({"metadataStatement": {"description": "x", "upv": "1.0"}}),
            "entries[0]",
            &mut w,
        )
        .unwrap_err();
        assert!(
            err.to_string().contains(
                "'entries[0].metadataStatement.upv' must be an array, found the string \"1.0\""
            ),
            "{err}"
        );
        let err = parse_entry(&json!({"aaguid": "nope"}), "entries[1]", &mut w).unwrap_err();
        assert_eq!(err.code(), "mds_payload_invalid");
        let err = parse_entry(&json!({"metadataStatement": {}}), "entries[2]", &mut w).unwrap_err();
        assert!(
            err.to_string().contains("metadataStatement.description"),
            "{err}"
        );
        let err = parse_entry(
            &json!({"attestationCertificateKeyIdentifiers": ["zz"]}),
            "entries[3]",
            &mut w,
        )
        .unwrap_err();
        assert!(err.to_string().contains("hexadecimal"), "{err}");
    }

    #[test]
    fn unknown_members_are_ignored_and_statement_fields_parsed() {
        let mut w = Vec::new();
        let e = parse_entry(
            &json!({
                "aaguid": "01234567-89AB-cdef-0123-456789abcdef",
                "futureMember": {"anything": [1, 2, 3]},
                "metadataStatement": {
                    "description": "Test Key",
                    "authenticatorVersion": 5,
                    "protocolFamily": "fido2",
                    "schema": 3,
                    "upv": [{"major": 1, "minor": 1}],
                    "attestationTypes": ["basic_full"],
                    "userVerificationDetails": [[{"userVerificationMethod": "presence_internal"}]],
                    "keyProtection": ["hardware", "secure_element"],
                    "matcherProtection": ["on_chip"],
                    "attachmentHint": ["external", "wired"],
                    "attestationRootCertificates": ["AAAA"],
                    "somethingNew": true
                },
                "statusReports": []
            }),
            "entries[0]",
            &mut w,
        )
        .unwrap();
        let s = e.metadata_statement.as_ref().unwrap();
        assert_eq!(e.description(), Some("Test Key"));
        assert_eq!(s.upv, vec![Version { major: 1, minor: 1 }]);
        assert_eq!(
            s.user_verification_details[0][0].method,
            "presence_internal"
        );
        assert_eq!(s.key_protection, ["hardware", "secure_element"]);
        assert_eq!(s.raw["somethingNew"], json!(true));
        assert!(s.attestation_root_certificates.is_empty());
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("attestationRootCertificates[0]"));
        assert_eq!(e.status(UnixTime(0)), None);
    }

    /// Every member of a full payload replaced by values of every JSON type, and the payload
    /// truncated everywhere: the parser returns (an error or a blob) and never panics.
    #[test]
    fn mutated_payloads_never_panic() {
        let sample = json!({
            "legalHeader": "h", "no": 3, "nextUpdate": "2026-11-01",
            "entries": [{
                "aaguid": "01234567-89ab-cdef-0123-456789abcdef",
                "aaid": "4e4e#4005",
                "attestationCertificateKeyIdentifiers": ["0a1b"],
                "metadataStatement": {
                    "description": "d", "legalHeader": "l",
                    "aaguid": "01234567-89ab-cdef-0123-456789abcdef",
                    "authenticatorVersion": 1, "protocolFamily": "fido2", "schema": 3,
                    "upv": [{"major": 1, "minor": 0}],
                    "attestationTypes": ["basic_full"],
                    "userVerificationDetails": [[{"userVerificationMethod": "none", "caDesc": {"base": 10}}]],
                    "keyProtection": ["hardware"], "matcherProtection": ["on_chip"],
                    "attachmentHint": ["external"],
                    "attestationRootCertificates": ["MAA="]
                },
                "statusReports": [{
                    "status": "FIDO_CERTIFIED", "effectiveDate": "2020-01-01",
                    "authenticatorVersion": 2, "certificate": "MAA=", "url": "u",
                    "certificationDescriptor": "c", "certificateNumber": "n"
                }],
                "timeOfLastStatusChange": "2020-01-01"
            }]
        });
        let substitutes = [
            Value::Null,
            json!(true),
            json!(-1),
            json!(1e300),
            json!(18446744073709551615u64),
            json!(""),
            json!("9999-99-99"),
            json!("\u{0}é"),
            json!([]),
            json!([null]),
            json!({}),
        ];
        fn paths(v: &Value, here: Vec<String>, out: &mut Vec<Vec<String>>) {
            out.push(here.clone());
            match v {
                Value::Object(o) => {
                    for (k, c) in o {
                        let mut p = here.clone();
                        p.push(k.clone());
                        paths(c, p, out);
                    }
                }
                Value::Array(a) => {
                    for (i, c) in a.iter().enumerate() {
                        let mut p = here.clone();
                        p.push(i.to_string());
                        paths(c, p, out);
                    }
                }
                _ => {}
            }
        }
        fn slot<'v>(v: &'v mut Value, path: &[String]) -> &'v mut Value {
            path.iter().fold(v, |v, k| match v {
                Value::Object(o) => o.get_mut(k).unwrap(),
                Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
                _ => unreachable!(),
            })
        }
        let options = MdsOptions {
            time: day("2026-10-01"),
            ..MdsOptions::default()
        };
        let load =
            |bytes: &[u8]| MetadataBlob::from_verified_payload(bytes, &options, String::new());
        let blob = load(sample.to_string().as_bytes()).unwrap();
        assert_eq!(blob.len(), 1);
        let mut all = Vec::new();
        paths(&sample, Vec::new(), &mut all);
        let mut loaded = 0;
        for path in &all {
            for sub in &substitutes {
                let mut mutated = sample.clone();
                *slot(&mut mutated, path) = sub.clone();
                if let Ok(blob) = load(mutated.to_string().as_bytes()) {
                    loaded += 1;
                    for e in blob.entries() {
                        let _ = (
                            e.status(options.time),
                            e.attestation_roots(),
                            e.description(),
                        );
                    }
                }
            }
        }
        assert!(loaded > 0);
        let text = sample.to_string();
        for cut in 0..text.len() {
            assert!(load(&text.as_bytes()[..cut]).is_err());
        }
    }

    #[test]
    fn garbage_blobs_do_not_panic() {
        let opts = MdsOptions::default();
        for input in [
            &b""[..],
            b"...",
            b"a.b.c",
            b"\xff\xfe",
            b"eyJhbGciOiJSUzI1NiIsIng1YyI6WyIiXX0.e30.AA",
        ] {
            assert!(MetadataBlob::verify(input, &opts).is_err());
        }
    }
}
