//! Extensions (WebAuthn L3 §9, §10; CTAP 2.1 §12): the inputs a relying party requests and the
//! check of the outputs against them (§7.1 step 21, §7.2 step 20).
//!
//! Policy: an output for a requested extension must be well-formed and consistent with the
//! request (e.g. `credProtect` no weaker than requested when enforcement was asked for).
//! Unsolicited outputs are reported in [`ExtensionOutputs::unsolicited`]; they are refused only
//! when [`UnsolicitedExtensions::Reject`] is chosen, because real authenticators add some on
//! their own (several security keys always report `credProtect`).

use crate::cbor::Value;
use crate::json::ClientExtensionResults;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json, json};

/// `credProtect` levels (CTAP 2.1 §12.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CredProtect {
    /// userVerificationOptional (1).
    UserVerificationOptional = 1,
    /// userVerificationOptionalWithCredentialIDList (2).
    UserVerificationOptionalWithCredentialIdList = 2,
    /// userVerificationRequired (3).
    UserVerificationRequired = 3,
}

impl CredProtect {
    fn json_name(self) -> &'static str {
        match self {
            Self::UserVerificationOptional => "userVerificationOptional",
            Self::UserVerificationOptionalWithCredentialIdList => {
                "userVerificationOptionalWithCredentialIDList"
            }
            Self::UserVerificationRequired => "userVerificationRequired",
        }
    }
}

/// `largeBlob` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LargeBlobRequest {
    /// Registration: ask for large-blob support; `required` refuses authenticators without it.
    Support {
        /// `required` (true) or `preferred` (false).
        required: bool,
    },
    /// Authentication: read the blob.
    Read,
    /// Authentication: write this blob.
    Write(Vec<u8>),
}

/// What to do with outputs for extensions that were not requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UnsolicitedExtensions {
    /// Accept and report them (default).
    #[default]
    Allow,
    /// Refuse the ceremony.
    Reject,
}

/// Extensions requested for a ceremony.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedExtensions {
    /// `credProps` (registration).
    pub cred_props: bool,
    /// `prf`: `Some(None)` asks only whether PRF is enabled (registration); `Some(Some(salt))`
    /// evaluates it with `first = salt`.
    pub prf: Option<Option<Vec<u8>>>,
    /// `largeBlob`.
    pub large_blob: Option<LargeBlobRequest>,
    /// `credProtect` (registration) and whether the client must enforce it.
    pub cred_protect: Option<(CredProtect, bool)>,
    /// `minPinLength` (registration).
    pub min_pin_length: bool,
    /// What to do with unrequested outputs.
    pub unsolicited: UnsolicitedExtensions,
}

/// Extension outputs, as checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExtensionOutputs {
    /// `credProps.rk`: whether the credential is discoverable.
    pub cred_props_rk: Option<bool>,
    /// `prf.enabled`.
    pub prf_enabled: Option<bool>,
    /// Whether PRF results were returned.
    pub prf_results: bool,
    /// `largeBlob.supported`.
    pub large_blob_supported: Option<bool>,
    /// `largeBlob.written`.
    pub large_blob_written: Option<bool>,
    /// Authenticator `credProtect` output.
    pub cred_protect: Option<u8>,
    /// Authenticator `minPinLength` output.
    pub min_pin_length: Option<u64>,
    /// Authenticator `hmac-secret` output.
    pub hmac_secret: Option<bool>,
    /// Names of outputs for extensions that were not requested.
    pub unsolicited: Vec<String>,
}

impl RequestedExtensions {
    /// The `extensions` member of creation options.
    pub fn registration_json(&self) -> Option<Map<String, Json>> {
        let mut m = Map::new();
        if self.cred_props {
            m.insert("credProps".into(), json!(true));
        }
        if let Some(prf) = &self.prf {
            m.insert(
                "prf".into(),
                match prf {
                    Some(salt) => json!({"eval": {"first": crate::b64::encode(salt)}}),
                    None => json!({}),
                },
            );
        }
        if let Some(LargeBlobRequest::Support { required }) = &self.large_blob {
            m.insert(
                "largeBlob".into(),
                json!({"support": if *required { "required" } else { "preferred" }}),
            );
        }
        if let Some((level, enforce)) = self.cred_protect {
            m.insert(
                "credentialProtectionPolicy".into(),
                json!(level.json_name()),
            );
            m.insert("enforceCredentialProtectionPolicy".into(), json!(enforce));
        }
        if self.min_pin_length {
            m.insert("minPinLength".into(), json!(true));
        }
        (!m.is_empty()).then_some(m)
    }

    /// The `extensions` member of request options.
    pub fn authentication_json(&self) -> Option<Map<String, Json>> {
        let mut m = Map::new();
        if let Some(Some(salt)) = &self.prf {
            m.insert(
                "prf".into(),
                json!({"eval": {"first": crate::b64::encode(salt)}}),
            );
        }
        match &self.large_blob {
            Some(LargeBlobRequest::Read) => {
                m.insert("largeBlob".into(), json!({"read": true}));
            }
            Some(LargeBlobRequest::Write(blob)) => {
                m.insert(
                    "largeBlob".into(),
                    json!({"write": crate::b64::encode(blob)}),
                );
            }
            _ => {}
        }
        (!m.is_empty()).then_some(m)
    }
}

/// Checks client and authenticator extension outputs against the request.
pub fn check_outputs(
    requested: &RequestedExtensions,
    client: &ClientExtensionResults,
    authenticator: Option<&Value<'_>>,
) -> Result<ExtensionOutputs, String> {
    let mut out = ExtensionOutputs::default();
    let unsolicited = |name: &str, out: &mut ExtensionOutputs| -> Result<(), String> {
        if requested.unsolicited == UnsolicitedExtensions::Reject {
            return Err(format!("unrequested extension output '{name}'"));
        }
        out.unsolicited.push(name.to_string());
        Ok(())
    };

    // Client extension outputs.
    if let Some(cp) = &client.cred_props {
        if !requested.cred_props {
            unsolicited("credProps", &mut out)?;
        }
        out.cred_props_rk = cp.rk;
    }
    if let Some(prf) = &client.prf {
        if requested.prf.is_none() {
            unsolicited("prf", &mut out)?;
        }
        out.prf_enabled = prf.enabled;
        out.prf_results = prf.results.is_some();
        if matches!(requested.prf, Some(Some(_)))
            && prf.enabled == Some(false)
            && prf.results.is_some()
        {
            return Err("prf reports enabled=false but returned results".into());
        }
    }
    if let Some(lb) = &client.large_blob {
        match &requested.large_blob {
            None => unsolicited("largeBlob", &mut out)?,
            Some(LargeBlobRequest::Support { required: true }) if lb.supported == Some(false) => {
                return Err("largeBlob support was required but the authenticator has none".into());
            }
            Some(LargeBlobRequest::Write(_)) if lb.written.is_none() => {
                return Err(
                    "largeBlob write was requested but no 'written' result came back".into(),
                );
            }
            _ => {}
        }
        out.large_blob_supported = lb.supported;
        out.large_blob_written = lb.written;
    }
    for name in client.other.keys() {
        unsolicited(name, &mut out)?;
    }

    // Authenticator extension outputs (a CBOR map in authenticator data).
    if let Some(map) = authenticator.and_then(Value::as_map) {
        for (k, v) in map {
            let Some(name) = k.as_text() else {
                return Err("authenticator extension output has a non-text key".into());
            };
            match name {
                "credProtect" => {
                    let level = v
                        .as_i64()
                        .filter(|l| (1..=3).contains(l))
                        .ok_or("credProtect output must be 1, 2 or 3")?;
                    match requested.cred_protect {
                        Some((want, true)) if level < want as i64 => {
                            return Err(format!(
                                "credProtect {level} is weaker than the enforced {}",
                                want as i64
                            ));
                        }
                        None => unsolicited(name, &mut out)?,
                        _ => {}
                    }
                    out.cred_protect = Some(level as u8);
                }
                "minPinLength" => {
                    let n = v
                        .as_i64()
                        .and_then(|n| u64::try_from(n).ok())
                        .ok_or("minPinLength output must be an unsigned integer")?;
                    if !requested.min_pin_length {
                        unsolicited(name, &mut out)?;
                    }
                    out.min_pin_length = Some(n);
                }
                "hmac-secret" => {
                    out.hmac_secret =
                        Some(v.as_bool().ok_or("hmac-secret output must be a boolean")?);
                    if requested.prf.is_none() {
                        unsolicited(name, &mut out)?;
                    }
                }
                other => unsolicited(other, &mut out)?,
            }
        }
    }
    if matches!(requested.cred_protect, Some((_, true))) && out.cred_protect.is_none() {
        return Err(
            "credProtect enforcement was requested but the authenticator reported none".into(),
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cbor;

    #[test]
    fn requested_inputs_serialise() {
        let r = RequestedExtensions {
            cred_props: true,
            prf: Some(None),
            cred_protect: Some((CredProtect::UserVerificationRequired, true)),
            min_pin_length: true,
            large_blob: Some(LargeBlobRequest::Support { required: false }),
            ..Default::default()
        };
        let j = Json::Object(r.registration_json().unwrap());
        assert_eq!(j["credProps"], true);
        assert_eq!(j["prf"], json!({}));
        assert_eq!(j["credentialProtectionPolicy"], "userVerificationRequired");
        assert_eq!(j["largeBlob"]["support"], "preferred");
        assert!(RequestedExtensions::default().registration_json().is_none());
    }

    #[test]
    fn enforced_cred_protect_must_not_be_weaker() {
        let r = RequestedExtensions {
            cred_protect: Some((CredProtect::UserVerificationRequired, true)),
            ..Default::default()
        };
        // {"credProtect": 1}
        let weak = cbor::decode(&[
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x01,
        ])
        .unwrap();
        assert!(check_outputs(&r, &ClientExtensionResults::default(), Some(&weak)).is_err());
        let strong = cbor::decode(&[
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x03,
        ])
        .unwrap();
        let out = check_outputs(&r, &ClientExtensionResults::default(), Some(&strong)).unwrap();
        assert_eq!(out.cred_protect, Some(3));
        assert!(check_outputs(&r, &ClientExtensionResults::default(), None).is_err());
    }

    #[test]
    fn unsolicited_outputs_are_reported_or_refused() {
        let client: ClientExtensionResults =
            serde_json::from_str(r#"{"credProps":{"rk":true},"devicePubKey":{}}"#).unwrap();
        let out = check_outputs(&RequestedExtensions::default(), &client, None).unwrap();
        assert_eq!(out.unsolicited, vec!["credProps", "devicePubKey"]);
        assert_eq!(out.cred_props_rk, Some(true));
        let strict = RequestedExtensions {
            unsolicited: UnsolicitedExtensions::Reject,
            ..Default::default()
        };
        assert!(check_outputs(&strict, &client, None).is_err());
    }

    #[test]
    fn malformed_authenticator_outputs_are_refused() {
        // {"credProtect": 9}
        let bad = cbor::decode(&[
            0xa1, 0x6b, b'c', b'r', b'e', b'd', b'P', b'r', b'o', b't', b'e', b'c', b't', 0x09,
        ])
        .unwrap();
        assert!(
            check_outputs(
                &RequestedExtensions::default(),
                &ClientExtensionResults::default(),
                Some(&bad)
            )
            .is_err()
        );
        // {1: true}: non-text key
        let bad = cbor::decode(&[0xa1, 0x01, 0xf5]).unwrap();
        assert!(
            check_outputs(
                &RequestedExtensions::default(),
                &ClientExtensionResults::default(),
                Some(&bad)
            )
            .is_err()
        );
    }
}
