//! The relying party's configuration: who it is, which origins it accepts, what it trusts and
//! how strict it is. Built once at start-up and shared by every ceremony.

use crate::attestation::AttestationOptions;
use crate::cose::KeyPolicy;
use crate::origin::OriginPolicy;
use crate::trust::{ChainPolicy, TrustAnchors, UnixTime};
use aws_lc_rs::digest;
use std::collections::HashMap;

/// What to do when a non-zero signature counter does not increase (§7.2 step 22).
///
/// Counters that are zero both in the record and in the assertion are always fine: synced
/// passkeys do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CounterPolicy {
    /// Reject the assertion and report a possible cloned authenticator (default).
    #[default]
    Strict,
    /// Accept the assertion but report the clone signal in the outcome.
    Warn,
}

/// How to treat cross-origin iframes (§7.1 steps 10-11, §7.2 steps 13-14).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrossOriginPolicy {
    /// Accept ceremonies run in an iframe that is not same-origin with its ancestors.
    pub allow_cross_origin: bool,
    /// Top-level origins such iframes may be embedded in (exact match). A `topOrigin` in
    /// client data is accepted only if cross-origin use is allowed and it is listed here.
    pub top_origins: Vec<String>,
}

/// When attestation must be trusted (§7.1 steps 24-25).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AttestationRequirement {
    /// Any attestation, including none and self. A trust path is still validated when anchors
    /// are configured for its format, and an invalid one fails the ceremony (default).
    #[default]
    Any,
    /// The attestation must chain to a configured anchor (basic, attca or anonca).
    Trusted,
    /// Evaluate the chain when anchors are configured, but never fail the ceremony for lack
    /// of trust: a chain that does not lead to an anchor is reported as
    /// [`AttestationTrust::Untrusted`](crate::registration::AttestationTrust::Untrusted), for a
    /// policy above the verifier to decide (a server whose accounts need attestation in some
    /// tiers only).
    Assess,
}

/// A relying party's configuration.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    rp_ids: Vec<(String, [u8; 32])>,
    /// Origins accepted in client data.
    pub origins: OriginPolicy,
    /// Cross-origin iframe policy.
    pub cross_origin: CrossOriginPolicy,
    /// Key rules for credential public keys (RSA size, RS1).
    pub key_policy: KeyPolicy,
    /// Attestation statement options (SafetyNet, Android Key, chain policy).
    pub attestation: AttestationOptions,
    /// Whether attestation must be trusted.
    pub attestation_requirement: AttestationRequirement,
    /// Trust anchors per attestation format (`packed`, `tpm`, ...).
    pub format_anchors: HashMap<String, TrustAnchors>,
    /// Trust anchors per AAGUID, typically from FIDO metadata.
    pub aaguid_anchors: HashMap<[u8; 16], TrustAnchors>,
    /// Signature counter policy.
    pub counter_policy: CounterPolicy,
    /// Fixed verification time for certificates; `None` uses the clock. Tests and replays of
    /// old responses fix it.
    pub verification_time: Option<UnixTime>,
    /// The legacy FIDO AppID (`appid` extension): its SHA-256 is accepted as rpIdHash when the
    /// client reports that it used it.
    pub appid: Option<String>,
}

fn hash(rp_id: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, rp_id.as_bytes()).as_ref());
    out
}

impl RelyingParty {
    /// A relying party with RP ID `rp_id` accepting exactly `origins`.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(rp_id: &str, origins: I) -> Self {
        Self {
            rp_ids: vec![(rp_id.to_string(), hash(rp_id))],
            origins: OriginPolicy::exact(origins),
            cross_origin: CrossOriginPolicy::default(),
            key_policy: KeyPolicy::default(),
            attestation: AttestationOptions::default(),
            attestation_requirement: AttestationRequirement::default(),
            format_anchors: HashMap::new(),
            aaguid_anchors: HashMap::new(),
            counter_policy: CounterPolicy::default(),
            verification_time: None,
            appid: None,
        }
    }

    /// Also accept credentials scoped to another RP ID (e.g. during a domain migration).
    pub fn with_additional_rp_id(mut self, rp_id: &str) -> Self {
        self.rp_ids.push((rp_id.to_string(), hash(rp_id)));
        self
    }

    /// Adds trust anchors for an attestation format.
    pub fn with_format_anchors(mut self, fmt: &str, anchors: TrustAnchors) -> Self {
        self.format_anchors
            .entry(fmt.to_string())
            .or_default()
            .extend(&anchors);
        self
    }

    /// The primary RP ID.
    pub fn rp_id(&self) -> &str {
        &self.rp_ids[0].0
    }

    /// Every accepted RP ID.
    pub fn rp_ids(&self) -> impl Iterator<Item = &str> {
        self.rp_ids.iter().map(|(id, _)| id.as_str())
    }

    /// Whether `h` is SHA-256 of an accepted RP ID.
    pub(crate) fn rp_id_hash_matches(&self, h: &[u8; 32]) -> bool {
        self.rp_ids.iter().any(|(_, expected)| expected == h)
    }

    /// The time certificates are checked at.
    pub fn now(&self) -> UnixTime {
        self.verification_time.unwrap_or_else(UnixTime::now)
    }

    pub(crate) fn attestation_options(&self) -> AttestationOptions {
        AttestationOptions {
            time: self.now(),
            key_policy: self.key_policy,
            ..self.attestation
        }
    }

    pub(crate) fn chain_policy(&self) -> ChainPolicy {
        self.attestation.chain_policy
    }

    /// The anchors for a format and AAGUID (format anchors and metadata anchors together).
    pub fn anchors_for(&self, fmt: &str, aaguid: &[u8; 16]) -> TrustAnchors {
        let mut anchors = TrustAnchors::new();
        if let Some(a) = self.format_anchors.get(fmt) {
            anchors.extend(a);
        }
        if let Some(a) = self.aaguid_anchors.get(aaguid) {
            anchors.extend(a);
        }
        anchors
    }
}
