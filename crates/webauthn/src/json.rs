//! The WebAuthn Level 3 JSON forms (§5.1.8 `toJSON()`, §5.1.10/§5.1.11 `parse*OptionsFromJSON`):
//! what a browser sends to the relying party and what the relying party sends back.
//!
//! Binary members are base64url without padding on output; input with padding is tolerated.
//! Unknown members are ignored (the spec's dictionaries are open to extension), except that the
//! `type` of a credential must be `public-key`.

use crate::b64::serde_bytes;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// `RegistrationResponseJSON` (§5.1.8): the result of `navigator.credentials.create()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationResponseJSON {
    /// The credential id, base64url.
    pub id: String,
    /// The credential id.
    #[serde(with = "serde_bytes")]
    pub raw_id: Vec<u8>,
    /// The attestation response.
    pub response: AuthenticatorAttestationResponseJSON,
    /// `platform` or `cross-platform`, when the client reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// Client extension outputs.
    #[serde(default)]
    pub client_extension_results: ClientExtensionResults,
    /// Must be `public-key`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// `AuthenticatorAttestationResponseJSON` (§5.2.1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorAttestationResponseJSON {
    /// The client data, as the exact bytes that were hashed.
    #[serde(rename = "clientDataJSON", with = "serde_bytes")]
    pub client_data_json: Vec<u8>,
    /// The CBOR attestation object.
    #[serde(with = "serde_bytes")]
    pub attestation_object: Vec<u8>,
    /// Authenticator data (a convenience copy; the attestation object's is authoritative).
    #[serde(
        default,
        with = "serde_bytes::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub authenticator_data: Option<Vec<u8>>,
    /// Transports the authenticator reports (`usb`, `nfc`, `ble`, `internal`, `hybrid`, ...).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub transports: Vec<String>,
    /// The public key as SubjectPublicKeyInfo (convenience; not used for verification).
    #[serde(
        default,
        with = "serde_bytes::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub public_key: Option<Vec<u8>>,
    /// The COSE algorithm of the public key (convenience).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key_algorithm: Option<i64>,
}

/// Some clients send `null` where the spec has an empty list.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(Option::<Vec<String>>::deserialize(d)?.unwrap_or_default())
}

/// `AuthenticationResponseJSON` (§5.1.8): the result of `navigator.credentials.get()`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationResponseJSON {
    /// The credential id, base64url.
    pub id: String,
    /// The credential id.
    #[serde(with = "serde_bytes")]
    pub raw_id: Vec<u8>,
    /// The assertion response.
    pub response: AuthenticatorAssertionResponseJSON,
    /// `platform` or `cross-platform`, when the client reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<String>,
    /// Client extension outputs.
    #[serde(default)]
    pub client_extension_results: ClientExtensionResults,
    /// Must be `public-key`.
    #[serde(rename = "type")]
    pub ty: String,
}

/// `AuthenticatorAssertionResponseJSON` (§5.2.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorAssertionResponseJSON {
    /// The client data, as the exact bytes that were hashed.
    #[serde(rename = "clientDataJSON", with = "serde_bytes")]
    pub client_data_json: Vec<u8>,
    /// The authenticator data.
    #[serde(with = "serde_bytes")]
    pub authenticator_data: Vec<u8>,
    /// The assertion signature.
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
    /// The user handle, present for discoverable credentials.
    #[serde(
        default,
        with = "serde_bytes::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub user_handle: Option<Vec<u8>>,
    /// An attestation object, when attestation was requested for the assertion (L3).
    #[serde(
        default,
        with = "serde_bytes::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub attestation_object: Option<Vec<u8>>,
}

/// `AuthenticationExtensionsClientOutputsJSON`: the outputs passkeyd understands; any other
/// member is kept in `other` so a caller can inspect it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientExtensionResults {
    /// `credProps` (§10.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_props: Option<CredPropsOutput>,
    /// `prf` (§10.1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prf: Option<PrfOutput>,
    /// `largeBlob` (§10.1.5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub large_blob: Option<LargeBlobOutput>,
    /// `appid` (§10.1.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appid: Option<bool>,
    /// `credProtect` as some clients echo it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cred_protect: Option<Json>,
    /// Any other output.
    #[serde(flatten)]
    pub other: serde_json::Map<String, Json>,
}

/// `credProps` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CredPropsOutput {
    /// Whether the credential is client-side discoverable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rk: Option<bool>,
}

/// `prf` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PrfOutput {
    /// Whether PRF is enabled for the credential (registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Evaluation results.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<Json>,
}

/// `largeBlob` output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LargeBlobOutput {
    /// Whether the authenticator supports large blobs (registration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub supported: Option<bool>,
    /// The blob read (authentication), base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob: Option<String>,
    /// Whether a write succeeded (authentication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written: Option<bool>,
}

/// `PublicKeyCredentialRpEntity`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpEntity {
    /// The RP ID (omitted: the caller's effective domain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Human-palatable name.
    pub name: String,
}

/// `PublicKeyCredentialUserEntityJSON`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserEntityJSON {
    /// The user handle: random, at most 64 bytes, never personal data.
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    /// Account name (e.g. a username).
    pub name: String,
    /// Display name.
    pub display_name: String,
}

/// `PublicKeyCredentialParameters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PubKeyCredParam {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub ty: CredentialType,
    /// COSE algorithm identifier.
    pub alg: i64,
}

/// The only credential type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CredentialType {
    /// `public-key`.
    #[default]
    #[serde(rename = "public-key")]
    PublicKey,
}

/// `PublicKeyCredentialDescriptorJSON`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialDescriptorJSON {
    /// Always `public-key`.
    #[serde(rename = "type")]
    pub ty: CredentialType,
    /// The credential id.
    #[serde(with = "serde_bytes")]
    pub id: Vec<u8>,
    /// Transport hints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transports: Vec<String>,
}

/// `AuthenticatorSelectionCriteria`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSelection {
    /// `platform` or `cross-platform`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_attachment: Option<AuthenticatorAttachment>,
    /// `discouraged`, `preferred` or `required`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resident_key: Option<ResidentKeyRequirement>,
    /// Level 1 compatibility: true when resident_key is `required`.
    #[serde(default)]
    pub require_resident_key: bool,
    /// `required`, `preferred` or `discouraged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_verification: Option<UserVerificationRequirement>,
}

/// `AuthenticatorAttachment`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthenticatorAttachment {
    /// Built into the device.
    Platform,
    /// Roaming (security key, phone over hybrid).
    CrossPlatform,
}

/// `ResidentKeyRequirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKeyRequirement {
    /// Prefer a server-side credential.
    Discouraged,
    /// Prefer a discoverable credential.
    Preferred,
    /// Require a discoverable credential (a passkey).
    Required,
}

/// `UserVerificationRequirement`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum UserVerificationRequirement {
    /// The UV flag must be set.
    Required,
    /// UV is wanted but not required.
    #[default]
    Preferred,
    /// UV is not wanted.
    Discouraged,
}

/// `PublicKeyCredentialHint` (L3 §5.8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PublicKeyCredentialHint {
    /// A physical security key.
    SecurityKey,
    /// The platform authenticator.
    ClientDevice,
    /// A general-purpose device such as a phone (hybrid).
    Hybrid,
}

/// `AttestationConveyancePreference`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttestationConveyance {
    /// No attestation.
    #[default]
    None,
    /// Attestation possibly anonymised by the client.
    Indirect,
    /// The authenticator's attestation.
    Direct,
    /// Enterprise attestation (uniquely identifying).
    Enterprise,
}

/// `PublicKeyCredentialCreationOptionsJSON` (§5.1.10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCredentialCreationOptionsJSON {
    /// The relying party.
    pub rp: RpEntity,
    /// The user account.
    pub user: UserEntityJSON,
    /// The challenge.
    #[serde(with = "serde_bytes")]
    pub challenge: Vec<u8>,
    /// Algorithms in preference order.
    pub pub_key_cred_params: Vec<PubKeyCredParam>,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// Credentials the user already has (the authenticator refuses to create a second one).
    #[serde(default)]
    pub exclude_credentials: Vec<CredentialDescriptorJSON>,
    /// Authenticator selection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authenticator_selection: Option<AuthenticatorSelection>,
    /// UI hints (L3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PublicKeyCredentialHint>,
    /// Attestation conveyance.
    #[serde(default)]
    pub attestation: AttestationConveyance,
    /// Preferred attestation formats (L3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_formats: Vec<String>,
    /// Extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Map<String, Json>>,
}

/// `PublicKeyCredentialRequestOptionsJSON` (§5.1.11).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicKeyCredentialRequestOptionsJSON {
    /// The challenge.
    #[serde(with = "serde_bytes")]
    pub challenge: Vec<u8>,
    /// Milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<u32>,
    /// The RP ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rp_id: Option<String>,
    /// Acceptable credentials; empty for discoverable credentials.
    #[serde(default)]
    pub allow_credentials: Vec<CredentialDescriptorJSON>,
    /// User verification requirement.
    #[serde(default)]
    pub user_verification: UserVerificationRequirement,
    /// UI hints (L3).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<PublicKeyCredentialHint>,
    /// Extension inputs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<serde_json::Map<String, Json>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_browser_json_with_padding_and_unknown_members() {
        let text = r#"{"id":"AQI","rawId":"AQI=","type":"public-key","unknownThing":1,
            "response":{"clientDataJSON":"e30","authenticatorData":"AA","signature":"AQ","userHandle":null},
            "clientExtensionResults":{"credProps":{"rk":true},"somethingNew":{"a":1}}}"#;
        let r: AuthenticationResponseJSON = serde_json::from_str(text).unwrap();
        assert_eq!(r.raw_id, vec![1, 2]);
        assert_eq!(r.response.user_handle, None);
        assert_eq!(
            r.client_extension_results.cred_props.unwrap().rk,
            Some(true)
        );
        assert!(
            r.client_extension_results
                .other
                .contains_key("somethingNew")
        );
    }

    #[test]
    fn options_serialise_unpadded_with_spec_member_names() {
        let o = PublicKeyCredentialRequestOptionsJSON {
            challenge: vec![0xfb, 0xff],
            timeout: Some(60000),
            rp_id: Some("example.com".into()),
            allow_credentials: vec![CredentialDescriptorJSON {
                ty: CredentialType::PublicKey,
                id: vec![1],
                transports: vec!["usb".into()],
            }],
            user_verification: UserVerificationRequirement::Required,
            hints: vec![PublicKeyCredentialHint::SecurityKey],
            extensions: None,
        };
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["challenge"], "-_8");
        assert_eq!(v["rpId"], "example.com");
        assert_eq!(v["allowCredentials"][0]["type"], "public-key");
        assert_eq!(v["hints"][0], "security-key");
        assert_eq!(v["userVerification"], "required");
        let back: PublicKeyCredentialRequestOptionsJSON = serde_json::from_value(v).unwrap();
        assert_eq!(back, o);
    }

    #[test]
    fn bad_base64url_is_an_error_not_a_panic() {
        let text = r#"{"id":"x","rawId":"***","type":"public-key","response":{"clientDataJSON":"e30","attestationObject":"oA"}}"#;
        assert!(serde_json::from_str::<RegistrationResponseJSON>(text).is_err());
    }
}
