//! Collected client data (WebAuthn L3 §5.8.1), parsed from `clientDataJSON`.
//!
//! The spec lets a relying party use any JSON parser (§7.1 step 6); members this crate does not
//! know (`extraData`, `other_keys_can_be_added_here`, ...) are ignored as §5.8.1.2 requires.

use serde::Deserialize;
use std::borrow::Cow;

/// The members of collected client data that verification uses.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct CollectedClientData<'a> {
    /// `webauthn.create` or `webauthn.get`.
    #[serde(rename = "type", borrow)]
    pub ty: Cow<'a, str>,
    /// The challenge, base64url-encoded by the client.
    #[serde(borrow)]
    pub challenge: Cow<'a, str>,
    /// The origin of the calling document.
    #[serde(borrow)]
    pub origin: Cow<'a, str>,
    /// Whether the call came from an iframe not same-origin with its ancestors.
    #[serde(rename = "crossOrigin", default)]
    pub cross_origin: Option<bool>,
    /// The top-level origin, present for cross-origin calls (L3).
    #[serde(rename = "topOrigin", default, borrow)]
    pub top_origin: Option<Cow<'a, str>>,
    /// Legacy Token Binding (Level 2, removed in Level 3). Kept as raw JSON: some clients sent
    /// a bare string here; an object must carry a defined `status`.
    #[serde(rename = "tokenBinding", default)]
    pub token_binding: Option<serde_json::Value>,
}

/// Level 2 Token Binding check: an object `tokenBinding` must have `status` `present` or
/// `supported`; other shapes (a string some old clients sent) carry no binding and are ignored.
pub fn token_binding_error(tb: &serde_json::Value) -> Option<String> {
    let obj = tb.as_object()?;
    match obj.get("status").and_then(|s| s.as_str()) {
        Some("present" | "supported") => None,
        Some(other) => Some(format!(
            "tokenBinding.status is '{other}', expected 'present' or 'supported'"
        )),
        None => Some("tokenBinding has no status".into()),
    }
}

/// Decodes clientDataJSON as UTF-8 with any leading byte order mark stripped (§7.1 step 5,
/// §7.2 step 8).
pub fn utf8_decode(bytes: &[u8]) -> Result<&str, std::str::Utf8Error> {
    let bytes = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]).unwrap_or(bytes);
    std::str::from_utf8(bytes)
}

/// Parses client data JSON text (§7.1 step 6, §7.2 step 9).
pub fn parse(text: &str) -> Result<CollectedClientData<'_>, serde_json::Error> {
    serde_json::from_str(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignores_unknown_members_and_strips_bom() {
        let raw = b"\xef\xbb\xbf{\"type\":\"webauthn.get\",\"challenge\":\"abc\",\"origin\":\"https://a.example\",\"crossOrigin\":false,\"extraData\":\"x\"}";
        let text = utf8_decode(raw).unwrap();
        let c = parse(text).unwrap();
        assert_eq!(c.ty, "webauthn.get");
        assert_eq!(c.cross_origin, Some(false));
        assert_eq!(c.top_origin, None);
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let c = parse(r#"{"type":"webauthn.get","challenge":"a","origin":"https:\/\/a.example"}"#)
            .unwrap();
        assert_eq!(c.origin, "https://a.example");
    }

    #[test]
    fn rejects_missing_members_and_invalid_utf8() {
        assert!(parse(r#"{"type":"webauthn.get","challenge":"a"}"#).is_err());
        assert!(utf8_decode(&[0xff, 0xfe]).is_err());
    }
}
