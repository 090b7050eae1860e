//! The fast path for responses that arrive as JSON text: a borrowed view of exactly the members
//! verification reads, decoded without building the full [`crate::json`] structures. Member
//! names, base64url tolerance and the treatment of unknown members are the same as there.

use crate::b64;
use crate::error::{Error, Step};
use crate::json::{AuthenticationResponseJSON, ClientExtensionResults, RegistrationResponseJSON};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// What registration verification reads from a response.
pub(crate) struct RegistrationView<'a> {
    pub ty: Cow<'a, str>,
    pub id: Cow<'a, str>,
    pub raw_id: Cow<'a, [u8]>,
    /// `id` and `rawId` were the same text in the JSON.
    pub id_is_raw_id_text: bool,
    pub client_data_json: Cow<'a, [u8]>,
    pub attestation_object: Cow<'a, [u8]>,
    pub transports: Cow<'a, [String]>,
    pub authenticator_attachment: Option<Cow<'a, str>>,
    pub client_extension_results: Cow<'a, ClientExtensionResults>,
}

/// What assertion verification reads from a response.
pub(crate) struct AssertionView<'a> {
    pub ty: Cow<'a, str>,
    pub id: Cow<'a, str>,
    pub raw_id: Cow<'a, [u8]>,
    /// `id` and `rawId` were the same text in the JSON.
    pub id_is_raw_id_text: bool,
    pub client_data_json: Cow<'a, [u8]>,
    pub authenticator_data: Cow<'a, [u8]>,
    pub signature: Cow<'a, [u8]>,
    pub user_handle: Option<Cow<'a, [u8]>>,
    pub authenticator_attachment: Option<Cow<'a, str>>,
    pub client_extension_results: Cow<'a, ClientExtensionResults>,
}

impl<'a> From<&'a RegistrationResponseJSON> for RegistrationView<'a> {
    fn from(r: &'a RegistrationResponseJSON) -> Self {
        Self {
            ty: Cow::Borrowed(&r.ty),
            id: Cow::Borrowed(&r.id),
            raw_id: Cow::Borrowed(&r.raw_id),
            id_is_raw_id_text: false,
            client_data_json: Cow::Borrowed(&r.response.client_data_json),
            attestation_object: Cow::Borrowed(&r.response.attestation_object),
            transports: Cow::Borrowed(&r.response.transports),
            authenticator_attachment: r.authenticator_attachment.as_deref().map(Cow::Borrowed),
            client_extension_results: Cow::Borrowed(&r.client_extension_results),
        }
    }
}

impl<'a> From<&'a AuthenticationResponseJSON> for AssertionView<'a> {
    fn from(r: &'a AuthenticationResponseJSON) -> Self {
        Self {
            ty: Cow::Borrowed(&r.ty),
            id: Cow::Borrowed(&r.id),
            raw_id: Cow::Borrowed(&r.raw_id),
            id_is_raw_id_text: false,
            client_data_json: Cow::Borrowed(&r.response.client_data_json),
            authenticator_data: Cow::Borrowed(&r.response.authenticator_data),
            signature: Cow::Borrowed(&r.response.signature),
            user_handle: r.response.user_handle.as_deref().map(Cow::Borrowed),
            authenticator_attachment: r.authenticator_attachment.as_deref().map(Cow::Borrowed),
            client_extension_results: Cow::Borrowed(&r.client_extension_results),
        }
    }
}

#[derive(Deserialize)]
struct WireRegistration<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "rawId", borrow)]
    raw_id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    response: WireAttestationResponse<'a>,
    #[serde(rename = "authenticatorAttachment", default, borrow)]
    authenticator_attachment: Option<Cow<'a, str>>,
    #[serde(rename = "clientExtensionResults", default, borrow)]
    client_extension_results: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireAttestationResponse<'a> {
    #[serde(rename = "clientDataJSON", borrow)]
    client_data_json: Cow<'a, str>,
    #[serde(rename = "attestationObject", borrow)]
    attestation_object: Cow<'a, str>,
    #[serde(default)]
    transports: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct WireAssertion<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(rename = "rawId", borrow)]
    raw_id: Cow<'a, str>,
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    response: WireAssertionResponse<'a>,
    #[serde(rename = "authenticatorAttachment", default, borrow)]
    authenticator_attachment: Option<Cow<'a, str>>,
    #[serde(rename = "clientExtensionResults", default, borrow)]
    client_extension_results: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct WireAssertionResponse<'a> {
    #[serde(rename = "clientDataJSON", borrow)]
    client_data_json: Cow<'a, str>,
    #[serde(rename = "authenticatorData", borrow)]
    authenticator_data: Cow<'a, str>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
    #[serde(rename = "userHandle", default, borrow)]
    user_handle: Option<Cow<'a, str>>,
}

fn malformed(step: Step, detail: impl Into<String>) -> Error {
    Error::MalformedResponse {
        step,
        detail: detail.into(),
    }
}

fn bytes(step: Step, member: &str, text: &str) -> Result<Vec<u8>, Error> {
    b64::decode(text).map_err(|e| malformed(step, format!("{member} is not base64url: {e}")))
}

fn extensions(step: Step, raw: Option<&RawValue>) -> Result<ClientExtensionResults, Error> {
    match raw.map(RawValue::get).map(str::trim) {
        // Nearly every response has no client extension outputs; skip the parser for them.
        None | Some("{}") | Some("null") => Ok(ClientExtensionResults::default()),
        Some(text) => serde_json::from_str(text)
            .map_err(|e| malformed(step, format!("clientExtensionResults: {e}"))),
    }
}

/// Parses `RegistrationResponseJSON` text.
pub(crate) fn registration(json: &str, step: Step) -> Result<RegistrationView<'_>, Error> {
    let w: WireRegistration<'_> =
        serde_json::from_str(json).map_err(|e| malformed(step, e.to_string()))?;
    Ok(RegistrationView {
        raw_id: Cow::Owned(bytes(step, "rawId", &w.raw_id)?),
        id_is_raw_id_text: w.id == w.raw_id,
        ty: w.ty,
        id: w.id,
        client_data_json: Cow::Owned(bytes(step, "clientDataJSON", &w.response.client_data_json)?),
        attestation_object: Cow::Owned(bytes(
            step,
            "attestationObject",
            &w.response.attestation_object,
        )?),
        transports: Cow::Owned(w.response.transports.unwrap_or_default()),
        authenticator_attachment: w.authenticator_attachment,
        client_extension_results: Cow::Owned(extensions(step, w.client_extension_results)?),
    })
}

/// Parses `AuthenticationResponseJSON` text.
pub(crate) fn assertion(json: &str, step: Step) -> Result<AssertionView<'_>, Error> {
    let w: WireAssertion<'_> =
        serde_json::from_str(json).map_err(|e| malformed(step, e.to_string()))?;
    Ok(AssertionView {
        raw_id: Cow::Owned(bytes(step, "rawId", &w.raw_id)?),
        id_is_raw_id_text: w.id == w.raw_id,
        ty: w.ty,
        id: w.id,
        client_data_json: Cow::Owned(bytes(step, "clientDataJSON", &w.response.client_data_json)?),
        authenticator_data: Cow::Owned(bytes(
            step,
            "authenticatorData",
            &w.response.authenticator_data,
        )?),
        signature: Cow::Owned(bytes(step, "signature", &w.response.signature)?),
        user_handle: w
            .response
            .user_handle
            .map(|h| bytes(step, "userHandle", &h).map(Cow::Owned))
            .transpose()?,
        authenticator_attachment: w.authenticator_attachment,
        client_extension_results: Cow::Owned(extensions(step, w.client_extension_results)?),
    })
}
