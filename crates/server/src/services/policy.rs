//! Authenticator policy: named tiers, each with a NIST SP 800-63B authenticator assurance level
//! (AAL), what a credential must show to meet it, and the assurance of a ceremony.
//!
//! ```text
//!  account ──► required tier (its own, else its group's, else the default)
//!  register/start ──► options asking for what the tier needs (UV required, direct attestation)
//!  register/finish ──► Policy::check(tier, facts) ──► refused, saying why in plain words
//!  sign-in / step-up ──► Policy::assess(facts) ──► AAL + highest tier met + reason codes
//! ```
//!
//! Facts come from the verification: user verification (UV), backup eligibility (BE: a synced
//! passkey), whether the attestation chained to a configured root, and the AAGUID.
//!
//! Levels: AAL1 without user verification (one factor: something you have). AAL2 with user
//! verification (the authenticator's PIN or biometric is the second factor; synced passkeys
//! included, as SP 800-63B-4 allows). AAL3 only through a tier with `aal = 3`, which must
//! demand a device-bound credential, user verification and attestation (hardware whose model
//! is proven), so the level is never claimed for a key that could have been copied.

use passkeyd_webauthn::aaguid::{format_aaguid, name_for, parse_aaguid};
use passkeyd_webauthn::mds::AuthenticatorStatus;
use std::collections::BTreeMap;

/// The default tier of accounts that have none.
pub const DEFAULT_TIER: &str = "tier1";

/// What a tier asks of user verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UvRule {
    /// The ceremony must verify the user (PIN or biometric).
    Required,
    /// Asked for, not demanded.
    Preferred,
    /// Not asked for.
    Discouraged,
}

impl UvRule {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "required" => Some(Self::Required),
            "preferred" => Some(Self::Preferred),
            "discouraged" => Some(Self::Discouraged),
            _ => None,
        }
    }

    /// The WebAuthn option value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Preferred => "preferred",
            Self::Discouraged => "discouraged",
        }
    }
}

/// One tier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tier {
    /// Its name (`tier1`, ...).
    pub name: String,
    /// The AAL a credential meeting it reaches (with user verification).
    pub aal: u8,
    /// Whether synced (backup-eligible) passkeys meet it.
    pub allow_synced: bool,
    /// User verification.
    pub user_verification: UvRule,
    /// Whether the attestation must chain to a configured root.
    pub attestation_required: bool,
    /// Only these models, when not empty.
    pub aaguid_allow: Vec<[u8; 16]>,
    /// Never these models.
    pub aaguid_deny: Vec<[u8; 16]>,
    /// The identity assurance level (NIST SP 800-63A) an account must have been proofed at
    /// before a credential of this tier is registered; such accounts enrol through an
    /// administrator's single-use enrolment link.
    pub min_ial: Option<u8>,
    /// FIDO metadata statuses (MDS3 names) that keep a model out of this tier.
    pub mds_block: Vec<&'static str>,
}

/// `[policy.tiers.NAME]` in the configuration file.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TierSection {
    /// 1, 2 or 3.
    pub aal: Option<u8>,
    /// Whether synced passkeys are accepted (default true).
    pub synced: Option<bool>,
    /// `required`, `preferred` (default) or `discouraged`.
    pub user_verification: Option<String>,
    /// `required` or `optional` (default).
    pub attestation: Option<String>,
    /// AAGUIDs (hyphenated) allowed; empty or absent: any.
    pub aaguid_allow: Option<Vec<String>>,
    /// AAGUIDs refused.
    pub aaguid_deny: Option<Vec<String>>,
    /// Identity assurance level required before registering (1-3; default none).
    pub min_ial: Option<u8>,
    /// FIDO metadata statuses (MDS3 names, e.g. `UPDATE_AVAILABLE`) that keep a model out of
    /// this tier; default the compromise statuses ([`mds_block_default`]).
    pub mds_block: Option<Vec<String>>,
}

/// The statuses every tier blocks unless it says otherwise: revocation and the compromises
/// (the core library's default blocking list).
pub fn mds_block_default() -> Vec<&'static str> {
    AuthenticatorStatus::default_blocking()
        .iter()
        .filter_map(AuthenticatorStatus::known_name)
        .collect()
}

/// A stored status as a known MDS3 name, or `OTHER` for a name passkeyd does not know.
pub fn mds_status_name(s: &str) -> &'static str {
    AuthenticatorStatus::from_name(s)
        .known_name()
        .unwrap_or("OTHER")
}

/// `[policy]` in the configuration file.
#[derive(Debug, Clone, Default, serde::Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// The tier of accounts (and groups) that name none; default `tier1`.
    pub default_tier: Option<String>,
    /// Tiers: the built-in `tier1`, `tier2`, `tier3` can be redefined, others added.
    pub tiers: Option<BTreeMap<String, TierSection>>,
    /// Group name to tier name.
    pub groups: Option<BTreeMap<String, String>>,
    /// Longest elevation a step-up may grant, in seconds (default 900).
    pub stepup_max_age_secs: Option<u64>,
    /// Elevation lifetime when the request names none, in seconds (default 300).
    pub stepup_default_age_secs: Option<u64>,
    /// After an account recovery, sensitive actions stay blocked this long (default 86400).
    pub recovery_cooling_off_secs: Option<u64>,
    /// How long a recovery link can be used (default 900, at most 86400).
    pub recovery_link_ttl_secs: Option<u64>,
    /// Refuse sensitive actions until the account has two working passkeys (default false), so
    /// that losing one never leaves only recovery.
    pub require_two_passkeys: Option<bool>,
}

/// The validated policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Tiers, weakest first (by AAL, then name).
    pub tiers: Vec<Tier>,
    /// The default tier's name.
    pub default_tier: String,
    /// Group name to tier name.
    pub groups: BTreeMap<String, String>,
    /// Longest elevation, seconds.
    pub stepup_max_age_secs: u64,
    /// Default elevation, seconds.
    pub stepup_default_age_secs: u64,
    /// Cooling-off after a recovery, seconds.
    pub recovery_cooling_off_secs: u64,
    /// Recovery link lifetime, seconds.
    pub recovery_link_ttl_secs: u64,
    /// Sensitive actions need two working passkeys.
    pub require_two_passkeys: bool,
}

/// What a ceremony showed about the credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The ceremony verified the user.
    pub user_verified: bool,
    /// A synced passkey (BE).
    pub backup_eligible: bool,
    /// The attestation chained to a configured root.
    pub attested: bool,
    /// The model.
    pub aaguid: [u8; 16],
    /// The model's latest status in the imported FIDO metadata, if listed.
    pub mds_status: Option<&'static str>,
}

/// The assurance of a ceremony.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assurance {
    /// AAL 1-3.
    pub aal: u8,
    /// The highest tier met (by AAL), if any.
    pub tier: Option<String>,
    /// Reason codes.
    pub reasons: Vec<String>,
}

fn builtin_tiers() -> Vec<Tier> {
    let tier = |name: &str, aal, synced, uv, att| Tier {
        name: name.to_owned(),
        aal,
        allow_synced: synced,
        user_verification: uv,
        attestation_required: att,
        aaguid_allow: Vec::new(),
        aaguid_deny: Vec::new(),
        min_ial: None,
        mds_block: mds_block_default(),
    };
    vec![
        tier("tier1", 2, true, UvRule::Preferred, false),
        tier("tier2", 2, false, UvRule::Required, false),
        tier("tier3", 3, false, UvRule::Required, true),
    ]
}

impl Default for Policy {
    fn default() -> Self {
        Self::from_section(&PolicySection::default()).expect("built-in policy is valid")
    }
}

fn parse_aaguids(list: &Option<Vec<String>>, key: &str) -> Result<Vec<[u8; 16]>, String> {
    list.iter()
        .flatten()
        .map(|s| {
            parse_aaguid(s.trim()).ok_or_else(|| format!("{key}: {s:?} is not an AAGUID (UUID)"))
        })
        .collect()
}

impl Policy {
    /// Validates `[policy]`: known rule values, AAGUIDs that parse, AAL 1-3 with AAL3 only for
    /// device-bound, user-verified, attested tiers, and every named tier defined.
    pub fn from_section(s: &PolicySection) -> Result<Self, String> {
        let mut tiers: BTreeMap<String, Tier> = builtin_tiers()
            .into_iter()
            .map(|t| (t.name.clone(), t))
            .collect();
        for (name, t) in s.tiers.iter().flatten() {
            let key = format!("policy.tiers.{name}");
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(format!("{key}: tier names use letters, digits, - and _"));
            }
            let base = tiers.get(name).cloned();
            let aal = t.aal.or(base.as_ref().map(|b| b.aal)).unwrap_or(2);
            if !(1..=3).contains(&aal) {
                return Err(format!("{key}.aal: expected 1, 2 or 3, found {aal}"));
            }
            let user_verification = match &t.user_verification {
                Some(v) => UvRule::parse(v).ok_or_else(|| {
                    format!("{key}.user_verification: expected required, preferred or discouraged, found {v:?}")
                })?,
                None => base.as_ref().map_or(UvRule::Preferred, |b| b.user_verification),
            };
            let attestation_required = match t.attestation.as_deref() {
                Some("required") => true,
                Some("optional") => false,
                Some(other) => {
                    return Err(format!(
                        "{key}.attestation: expected required or optional, found {other:?}"
                    ));
                }
                None => base.as_ref().is_some_and(|b| b.attestation_required),
            };
            let tier = Tier {
                name: name.clone(),
                aal,
                allow_synced: t
                    .synced
                    .unwrap_or(base.as_ref().is_none_or(|b| b.allow_synced)),
                user_verification,
                attestation_required,
                aaguid_allow: parse_aaguids(&t.aaguid_allow, &format!("{key}.aaguid_allow"))?,
                aaguid_deny: parse_aaguids(&t.aaguid_deny, &format!("{key}.aaguid_deny"))?,
                min_ial: match t.min_ial.or(base.as_ref().and_then(|b| b.min_ial)) {
                    Some(n) if !(1..=3).contains(&n) => {
                        return Err(format!("{key}.min_ial: expected 1, 2 or 3, found {n}"));
                    }
                    other => other,
                },
                mds_block: match &t.mds_block {
                    Some(list) => list
                        .iter()
                        .map(|n| {
                            AuthenticatorStatus::from_name(n)
                                .known_name()
                                .ok_or_else(|| {
                                    format!("{key}.mds_block: {n:?} is not a FIDO metadata status (e.g. \"UPDATE_AVAILABLE\")")
                                })
                        })
                        .collect::<Result<_, _>>()?,
                    None => base
                        .as_ref()
                        .map_or_else(mds_block_default, |b| b.mds_block.clone()),
                },
            };
            if tier.aal == 3
                && (tier.allow_synced
                    || tier.user_verification != UvRule::Required
                    || !tier.attestation_required)
            {
                return Err(format!(
                    "{key}: AAL3 needs synced = false, user_verification = \"required\" and attestation = \"required\""
                ));
            }
            tiers.insert(name.clone(), tier);
        }
        let default_tier = s
            .default_tier
            .clone()
            .unwrap_or_else(|| DEFAULT_TIER.to_owned());
        if !tiers.contains_key(&default_tier) {
            return Err(format!(
                "policy.default_tier: no tier named {default_tier:?}"
            ));
        }
        let groups = s.groups.clone().unwrap_or_default();
        for (group, tier) in &groups {
            if !tiers.contains_key(tier) {
                return Err(format!("policy.groups.{group}: no tier named {tier:?}"));
            }
        }
        let stepup_max_age_secs = s.stepup_max_age_secs.unwrap_or(900);
        let stepup_default_age_secs = s.stepup_default_age_secs.unwrap_or(300);
        if stepup_max_age_secs == 0
            || stepup_default_age_secs == 0
            || stepup_default_age_secs > stepup_max_age_secs
        {
            return Err(
                "policy: step-up ages must be at least 1 second, the default at most the maximum"
                    .into(),
            );
        }
        let recovery_link_ttl_secs = s.recovery_link_ttl_secs.unwrap_or(900);
        if !(60..=86_400).contains(&recovery_link_ttl_secs) {
            return Err("policy.recovery_link_ttl_secs: 60 to 86400 seconds".into());
        }
        let mut tiers: Vec<Tier> = tiers.into_values().collect();
        tiers.sort_by(|a, b| a.aal.cmp(&b.aal).then_with(|| a.name.cmp(&b.name)));
        Ok(Self {
            tiers,
            default_tier,
            groups,
            stepup_max_age_secs,
            stepup_default_age_secs,
            recovery_cooling_off_secs: s.recovery_cooling_off_secs.unwrap_or(86_400),
            recovery_link_ttl_secs,
            require_two_passkeys: s.require_two_passkeys.unwrap_or(false),
        })
    }

    /// The tier called `name`.
    pub fn tier(&self, name: &str) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.name == name)
    }

    /// The tier an account requires: its own, else its group's, else the default. An unknown
    /// name (a tier removed from the configuration) falls back to the strictest tier, so that
    /// a configuration mistake never lowers what an account requires.
    pub fn required_tier(&self, own: Option<&str>, group: Option<&str>) -> &Tier {
        let name = own
            .map(str::to_owned)
            .or_else(|| group.and_then(|g| self.groups.get(g).cloned()))
            .unwrap_or_else(|| self.default_tier.clone());
        self.tier(&name)
            .or_else(|| self.tiers.last())
            .expect("the policy has tiers")
    }

    /// Why `facts` do not meet `tier`, in words for the person registering; `None` when they do.
    pub fn check(&self, tier: &Tier, f: &Facts) -> Option<String> {
        let model = name_for(&f.aaguid, None)
            .map(|n| format!(" ({n})"))
            .unwrap_or_default();
        if tier.aaguid_deny.contains(&f.aaguid) {
            return Some(format!(
                "This kind of authenticator{model} is not accepted here. Use another passkey or security key."
            ));
        }
        if !tier.aaguid_allow.is_empty() && !tier.aaguid_allow.contains(&f.aaguid) {
            let names: Vec<String> = tier
                .aaguid_allow
                .iter()
                .map(|a| name_for(a, None).unwrap_or_else(|| format_aaguid(*a)))
                .collect();
            return Some(format!(
                "Your account needs an approved security key ({}). This authenticator{model} is not one of them.",
                names.join(", ")
            ));
        }
        if let Some(status) = f.mds_status
            && tier.mds_block.contains(&status)
        {
            return Some(format!(
                "This kind of authenticator{model} has a known problem (FIDO metadata status \
                 {status}) and is not accepted here. Use another passkey or security key."
            ));
        }
        if !tier.allow_synced && f.backup_eligible {
            return Some(
                "Your account needs a passkey that stays on one device, such as a security key. \
                 This passkey is synced between devices (for example by a password manager or \
                 a phone's cloud keychain), so it cannot be used here."
                    .into(),
            );
        }
        if tier.user_verification == UvRule::Required && !f.user_verified {
            return Some(
                "Your account needs a passkey that checks it is you, with a PIN, fingerprint or \
                 face. This authenticator did not verify you; set a PIN on it, or use another."
                    .into(),
            );
        }
        if tier.attestation_required && !f.attested {
            return Some(format!(
                "Your account needs a security key whose maker can be confirmed. This authenticator{model} \
                 did not prove what it is (or your browser hid it), so it cannot be used here."
            ));
        }
        None
    }

    /// The assurance of a ceremony with these facts.
    pub fn assess(&self, f: &Facts) -> Assurance {
        let mut reasons = vec![
            if f.user_verified {
                "user_verified"
            } else {
                "user_not_verified"
            }
            .to_owned(),
            if f.backup_eligible {
                "synced"
            } else {
                "device_bound"
            }
            .to_owned(),
            if f.attested {
                "attested"
            } else {
                "not_attested"
            }
            .to_owned(),
        ];
        if let Some(status) = f.mds_status {
            reasons.push(format!("mds:{status}"));
        }
        let met: Vec<&Tier> = self
            .tiers
            .iter()
            .filter(|t| self.check(t, f).is_none())
            .collect();
        let best = met.iter().max_by_key(|t| t.aal).copied();
        let aal = match best {
            _ if !f.user_verified => 1,
            Some(t) => t.aal.max(2),
            None => 2,
        };
        match best {
            Some(t) => reasons.push(format!("tier:{}", t.name)),
            None => reasons.push("no_tier_met".to_owned()),
        }
        reasons.push(format!("aal{aal}"));
        Assurance {
            aal,
            tier: best.map(|t| t.name.clone()),
            reasons,
        }
    }

    /// The AAL `f`'s credential could reach in a user-verified ceremony (for step-up: which
    /// passkeys to offer).
    pub fn reachable_aal(&self, f: &Facts) -> u8 {
        self.assess(&Facts {
            user_verified: true,
            ..*f
        })
        .aal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YUBIKEY: &str = "cb69481e-8ff7-4039-93ec-0a2729a154a8";

    fn facts(uv: bool, be: bool, attested: bool) -> Facts {
        Facts {
            user_verified: uv,
            backup_eligible: be,
            attested,
            aaguid: parse_aaguid(YUBIKEY).unwrap(),
            mds_status: None,
        }
    }

    #[test]
    fn levels_follow_user_verification_binding_and_attestation() {
        let p = Policy::default();
        let a = p.assess(&facts(false, true, false));
        assert_eq!((a.aal, a.tier.as_deref()), (1, Some("tier1")));
        assert!(a.reasons.contains(&"user_not_verified".to_owned()));
        let a = p.assess(&facts(true, true, false));
        assert_eq!((a.aal, a.tier.as_deref()), (2, Some("tier1")));
        let a = p.assess(&facts(true, false, false));
        assert_eq!((a.aal, a.tier.as_deref()), (2, Some("tier2")));
        let a = p.assess(&facts(true, false, true));
        assert_eq!((a.aal, a.tier.as_deref()), (3, Some("tier3")));
        // A synced passkey never reaches AAL3, attested or not.
        assert_eq!(p.assess(&facts(true, true, true)).aal, 2);
    }

    #[test]
    fn refusals_say_why_in_plain_words() {
        let p = Policy::default();
        let tier3 = p.tier("tier3").unwrap();
        assert!(
            p.check(tier3, &facts(true, true, true))
                .unwrap()
                .contains("synced")
        );
        assert!(
            p.check(tier3, &facts(false, false, true))
                .unwrap()
                .contains("PIN")
        );
        assert!(
            p.check(tier3, &facts(true, false, false))
                .unwrap()
                .contains("maker")
        );
        assert_eq!(p.check(tier3, &facts(true, false, true)), None);
        assert_eq!(
            p.check(p.tier("tier1").unwrap(), &facts(false, true, false)),
            None
        );
    }

    #[test]
    fn allow_and_deny_lists_and_groups() {
        let section: PolicySection = toml::from_str(&format!(
            "default_tier = \"tier1\"\n[tiers.tier3]\naaguid_allow = [\"{YUBIKEY}\"]\n\
             [tiers.kiosk]\naal = 2\naaguid_deny = [\"{YUBIKEY}\"]\n[groups]\nstaff = \"tier3\"\n"
        ))
        .unwrap();
        let p = Policy::from_section(&section).unwrap();
        assert_eq!(p.required_tier(None, Some("staff")).name, "tier3");
        assert_eq!(p.required_tier(Some("tier2"), Some("staff")).name, "tier2");
        assert_eq!(p.required_tier(None, None).name, "tier1");
        // A tier that no longer exists: the strictest, never the weakest.
        assert_eq!(p.required_tier(Some("gone"), None).name, "tier3");
        let other = Facts {
            aaguid: [7; 16],
            ..facts(true, false, true)
        };
        assert!(
            p.check(p.tier("tier3").unwrap(), &other)
                .unwrap()
                .contains("approved")
        );
        assert!(
            p.check(p.tier("kiosk").unwrap(), &facts(true, true, false))
                .unwrap()
                .contains("not accepted")
        );
    }

    #[test]
    fn inconsistent_policies_are_refused() {
        let bad = |t: &str| Policy::from_section(&toml::from_str(t).unwrap()).unwrap_err();
        assert!(bad("[tiers.x]\naal = 3\n").contains("AAL3"));
        assert!(bad("[tiers.x]\naal = 4\n").contains("aal"));
        assert!(bad("default_tier = \"nope\"\n").contains("nope"));
        assert!(bad("[groups]\na = \"nope\"\n").contains("nope"));
        assert!(bad("[tiers.x]\nuser_verification = \"always\"\n").contains("user_verification"));
        assert!(bad("[tiers.x]\naaguid_allow = [\"not-a-uuid\"]\n").contains("AAGUID"));
        assert!(bad("[tiers.x]\nmds_block = [\"BROKEN\"]\n").contains("mds_block"));
    }

    #[test]
    fn fido_metadata_statuses_block_per_tier() {
        // tier3 also refuses models with a pending firmware update; tier1 keeps the default list.
        let section: PolicySection = toml::from_str(
            "[tiers.tier3]\nmds_block = [\"REVOKED\", \"ATTESTATION_KEY_COMPROMISE\", \"USER_VERIFICATION_BYPASS\", \"USER_KEY_REMOTE_COMPROMISE\", \"USER_KEY_PHYSICAL_COMPROMISE\", \"UPDATE_AVAILABLE\"]\n",
        )
        .unwrap();
        let p = Policy::from_section(&section).unwrap();
        let with = |status: &'static str| Facts {
            mds_status: Some(status),
            ..facts(true, false, true)
        };
        let tier3 = p.tier("tier3").unwrap();
        let why = p.check(tier3, &with("UPDATE_AVAILABLE")).unwrap();
        assert!(why.contains("UPDATE_AVAILABLE"), "{why}");
        assert_eq!(p.check(tier3, &with("FIDO_CERTIFIED_L2")), None);
        assert_eq!(
            p.check(p.tier("tier2").unwrap(), &with("UPDATE_AVAILABLE")),
            None
        );
        // The session's assurance follows: the same key reaches AAL3 only while certified.
        let a = p.assess(&with("UPDATE_AVAILABLE"));
        assert_eq!((a.aal, a.tier.as_deref()), (2, Some("tier2")));
        assert!(a.reasons.contains(&"mds:UPDATE_AVAILABLE".to_owned()));
        assert_eq!(p.assess(&with("FIDO_CERTIFIED_L2")).aal, 3);
        // A revoked model meets no tier at all by default.
        let revoked = Policy::default().assess(&with("REVOKED"));
        assert_eq!(revoked.tier, None);
        assert_eq!(mds_status_name("SOMETHING_NEW"), "OTHER");
        assert_eq!(mds_status_name("REVOKED"), "REVOKED");
    }
}
