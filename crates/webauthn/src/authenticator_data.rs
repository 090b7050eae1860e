//! Authenticator data (WebAuthn L3 §6.1): `rpIdHash (32) | flags (1) | signCount (4)
//! | attestedCredentialData? | extensions?`, parsed without copying.

use crate::cbor::{self, CborError, Value};
use std::fmt;

/// The flags byte of authenticator data (§6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// User Present (bit 0).
    pub const UP: u8 = 0x01;
    /// User Verified (bit 2).
    pub const UV: u8 = 0x04;
    /// Backup Eligibility (bit 3).
    pub const BE: u8 = 0x08;
    /// Backup State (bit 4).
    pub const BS: u8 = 0x10;
    /// Attested credential data included (bit 6).
    pub const AT: u8 = 0x40;
    /// Extension data included (bit 7).
    pub const ED: u8 = 0x80;

    /// The user was present.
    pub fn user_present(self) -> bool {
        self.0 & Self::UP != 0
    }
    /// The user was verified.
    pub fn user_verified(self) -> bool {
        self.0 & Self::UV != 0
    }
    /// The credential may be backed up (a multi-device credential, e.g. a synced passkey).
    pub fn backup_eligible(self) -> bool {
        self.0 & Self::BE != 0
    }
    /// The credential is currently backed up.
    pub fn backup_state(self) -> bool {
        self.0 & Self::BS != 0
    }
    /// Attested credential data follows the counter.
    pub fn attested_credential_data(self) -> bool {
        self.0 & Self::AT != 0
    }
    /// Extension outputs follow.
    pub fn extension_data(self) -> bool {
        self.0 & Self::ED != 0
    }
}

/// Attested credential data (§6.5.2).
#[derive(Debug, Clone, PartialEq)]
pub struct AttestedCredentialData<'a> {
    /// The authenticator's AAGUID.
    pub aaguid: [u8; 16],
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The credential public key, as COSE_Key CBOR bytes.
    pub credential_public_key: &'a [u8],
}

/// Parsed authenticator data borrowing from the raw bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthenticatorData<'a> {
    /// The raw bytes (signatures cover them as they are).
    pub raw: &'a [u8],
    /// SHA-256 of the RP ID the authenticator scoped the credential to.
    pub rp_id_hash: &'a [u8; 32],
    /// The flags.
    pub flags: Flags,
    /// The signature counter.
    pub sign_count: u32,
    /// Present when the AT flag is set.
    pub attested_credential_data: Option<AttestedCredentialData<'a>>,
    /// The extension outputs map, present when the ED flag is set.
    pub extensions: Option<Value<'a>>,
}

/// Why authenticator data is malformed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthenticatorDataError {
    /// Fewer than the 37 fixed bytes.
    TooShort(usize),
    /// The AT flag is set but the attested credential data is cut short.
    TruncatedAttestedCredentialData,
    /// The credential public key is not a single well-formed CBOR item.
    CredentialPublicKey(CborError),
    /// The ED flag is set but the extensions are not a well-formed CBOR map.
    Extensions(String),
    /// Bytes follow the last declared component.
    TrailingBytes(usize),
}

impl fmt::Display for AuthenticatorDataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort(n) => write!(
                f,
                "authenticator data has {n} bytes; at least 37 are required"
            ),
            Self::TruncatedAttestedCredentialData => {
                f.write_str("attested credential data is truncated")
            }
            Self::CredentialPublicKey(e) => {
                write!(f, "credential public key is not valid CBOR: {e}")
            }
            Self::Extensions(e) => write!(f, "extension outputs are not a valid CBOR map: {e}"),
            Self::TrailingBytes(n) => {
                write!(
                    f,
                    "{n} unexpected bytes at the end of authenticator data (flags AT/ED wrong?)"
                )
            }
        }
    }
}

impl std::error::Error for AuthenticatorDataError {}

impl<'a> AuthenticatorData<'a> {
    /// Parses authenticator data; every byte must be accounted for by the flags.
    pub fn parse(raw: &'a [u8]) -> Result<Self, AuthenticatorDataError> {
        if raw.len() < 37 {
            return Err(AuthenticatorDataError::TooShort(raw.len()));
        }
        let rp_id_hash: &[u8; 32] = raw[..32]
            .try_into()
            .map_err(|_| AuthenticatorDataError::TooShort(raw.len()))?;
        let flags = Flags(raw[32]);
        let sign_count = u32::from_be_bytes([raw[33], raw[34], raw[35], raw[36]]);
        let mut rest = &raw[37..];

        let attested_credential_data = if flags.attested_credential_data() {
            if rest.len() < 18 {
                return Err(AuthenticatorDataError::TruncatedAttestedCredentialData);
            }
            let mut aaguid = [0u8; 16];
            aaguid.copy_from_slice(&rest[..16]);
            let id_len = usize::from(u16::from_be_bytes([rest[16], rest[17]]));
            rest = &rest[18..];
            if rest.len() < id_len {
                return Err(AuthenticatorDataError::TruncatedAttestedCredentialData);
            }
            let (credential_id, after) = rest.split_at(id_len);
            let key_len =
                cbor::item_len(after).map_err(AuthenticatorDataError::CredentialPublicKey)?;
            let (credential_public_key, after) = after.split_at(key_len);
            rest = after;
            Some(AttestedCredentialData {
                aaguid,
                credential_id,
                credential_public_key,
            })
        } else {
            None
        };

        let extensions = if flags.extension_data() {
            let (value, used) = cbor::decode_prefix(rest)
                .map_err(|e| AuthenticatorDataError::Extensions(e.to_string()))?;
            if value.as_map().is_none() {
                return Err(AuthenticatorDataError::Extensions(format!(
                    "found a {}",
                    value.type_name()
                )));
            }
            rest = &rest[used..];
            Some(value)
        } else {
            None
        };

        if !rest.is_empty() {
            return Err(AuthenticatorDataError::TrailingBytes(rest.len()));
        }
        Ok(Self {
            raw,
            rp_id_hash,
            flags,
            sign_count,
            attested_credential_data,
            extensions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base(flags: u8) -> Vec<u8> {
        let mut v = vec![7u8; 32];
        v.push(flags);
        v.extend_from_slice(&5u32.to_be_bytes());
        v
    }

    #[test]
    fn parses_minimal_assertion_data() {
        let raw = base(Flags::UP | Flags::UV);
        let ad = AuthenticatorData::parse(&raw).unwrap();
        assert!(ad.flags.user_present() && ad.flags.user_verified());
        assert!(!ad.flags.backup_eligible());
        assert_eq!(ad.sign_count, 5);
        assert!(ad.attested_credential_data.is_none());
    }

    #[test]
    fn parses_attested_credential_and_extensions() {
        let mut raw = base(Flags::UP | Flags::AT | Flags::ED);
        raw.extend_from_slice(&[9u8; 16]);
        raw.extend_from_slice(&3u16.to_be_bytes());
        raw.extend_from_slice(&[1, 2, 3]);
        raw.extend_from_slice(&[0xa1, 0x01, 0x02]); // key {1: 2}
        raw.extend_from_slice(&[0xa1, 0x61, b'x', 0xf5]); // {"x": true}
        let ad = AuthenticatorData::parse(&raw).unwrap();
        let acd = ad.attested_credential_data.unwrap();
        assert_eq!(acd.aaguid, [9u8; 16]);
        assert_eq!(acd.credential_id, &[1, 2, 3]);
        assert_eq!(acd.credential_public_key, &[0xa1, 0x01, 0x02]);
        assert_eq!(
            ad.extensions.unwrap().get_text("x"),
            Some(&Value::Bool(true))
        );
    }

    #[test]
    fn rejects_truncation_and_trailing_bytes() {
        assert_eq!(
            AuthenticatorData::parse(&[0u8; 36]),
            Err(AuthenticatorDataError::TooShort(36))
        );
        let mut raw = base(Flags::UP);
        raw.push(0);
        assert_eq!(
            AuthenticatorData::parse(&raw),
            Err(AuthenticatorDataError::TrailingBytes(1))
        );
        let mut raw = base(Flags::AT);
        raw.extend_from_slice(&[0u8; 16]);
        raw.extend_from_slice(&100u16.to_be_bytes());
        raw.extend_from_slice(&[1, 2]);
        assert_eq!(
            AuthenticatorData::parse(&raw),
            Err(AuthenticatorDataError::TruncatedAttestedCredentialData)
        );
        let raw = base(Flags::ED);
        assert!(matches!(
            AuthenticatorData::parse(&raw),
            Err(AuthenticatorDataError::Extensions(_))
        ));
    }
}
