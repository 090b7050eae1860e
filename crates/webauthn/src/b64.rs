//! base64url as WebAuthn uses it: the JSON forms encode every binary field as base64url without
//! padding (WebAuthn L3 §5.1.8 `toJSON()`); client input that carries padding is tolerated.

use base64::Engine as _;
use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
const STRICT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false),
);

/// Encodes bytes as base64url without padding.
pub fn encode(bytes: impl AsRef<[u8]>) -> String {
    STRICT.encode(bytes)
}

/// Decodes base64url, with or without padding.
pub fn decode(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    LENIENT.decode(text)
}

/// Decodes standard base64 (the alphabet X.509 `x5c` headers in JWS use), padding optional.
pub fn decode_standard(text: &str) -> Result<Vec<u8>, base64::DecodeError> {
    const STD: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    );
    STD.decode(text)
}

/// Serde adapter: a byte vector carried as base64url text.
pub mod serde_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::borrow::Cow;

    /// Serialises as unpadded base64url.
    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode(bytes))
    }

    /// Deserialises base64url (padding tolerated).
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <Cow<'de, str>>::deserialize(d)?;
        super::decode(&text)
            .map_err(|e| serde::de::Error::custom(format!("invalid base64url: {e}")))
    }

    /// The same for an optional field (`null` or absent is `None`).
    pub mod option {
        use serde::{Deserialize, Deserializer, Serializer};
        use std::borrow::Cow;

        /// Serialises `Some` as unpadded base64url and `None` as null.
        pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match bytes {
                Some(b) => s.serialize_str(&super::super::encode(b)),
                None => s.serialize_none(),
            }
        }

        /// Deserialises base64url or null.
        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text = <Option<Cow<'de, str>>>::deserialize(d)?;
            text.map(|t| {
                super::super::decode(&t)
                    .map_err(|e| serde::de::Error::custom(format!("invalid base64url: {e}")))
            })
            .transpose()
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn padding_is_tolerated_on_input_and_never_emitted() {
        assert_eq!(super::encode([0xfb, 0xff]), "-_8");
        assert_eq!(super::decode("-_8").unwrap(), vec![0xfb, 0xff]);
        assert_eq!(super::decode("-_8=").unwrap(), vec![0xfb, 0xff]);
        assert!(
            super::decode("+/8").is_err(),
            "standard alphabet is not base64url"
        );
        assert!(super::decode("a").is_err());
    }
}
