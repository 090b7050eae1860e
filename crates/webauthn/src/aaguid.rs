//! Authenticator model names for AAGUIDs.
//!
//! An AAGUID (WebAuthn L3 §6.5.1) identifies an authenticator model, not a device. Relying
//! parties show it to users as the name of the passkey provider ("iCloud Keychain", "YubiKey 5
//! Series") so they can tell their passkeys apart. [`name_for`] prefers the description the FIDO
//! Metadata Service gives (when a verified BLOB is loaded) and falls back to [`friendly_name`], a
//! small bundled list of well-known passkey providers and security keys.
//!
//! The bundled list was written for this crate: each AAGUID in it was checked either against the
//! FIDO MDS3 BLOB payload (security keys, Windows Hello, Samsung Pass, Dashlane) or against the
//! provider's published AAGUID (synced passkey providers that are not in the MDS). The all-zero
//! AAGUID, which authenticators use when they do not identify their model (and which `none`
//! attestation may replace the real value with), never has a name.
//!
//! ```
//! use passkeyd_webauthn::aaguid::{format_aaguid, friendly_name, name_for, parse_aaguid};
//!
//! let aaguid = parse_aaguid("FBFC3007-154E-4ECC-8C0B-6E020557D7BD").unwrap();
//! assert_eq!(format_aaguid(aaguid), "fbfc3007-154e-4ecc-8c0b-6e020557d7bd");
//! assert_eq!(friendly_name(&aaguid), Some("iCloud Keychain"));
//! assert_eq!(name_for(&aaguid, None).as_deref(), Some("iCloud Keychain"));
//! assert_eq!(name_for(&[0; 16], None), None);
//! ```

use crate::mds::MetadataBlob;

/// The all-zero AAGUID: "no model given".
pub const ZERO_AAGUID: [u8; 16] = [0; 16];

/// Value of one hexadecimal digit.
const fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Parses `8-4-4-4-12` hexadecimal text (either case) in const context.
const fn parse_const(text: &str) -> Option<[u8; 16]> {
    let b = text.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut i = 0; // index into text
    let mut o = 0; // index into out
    while i < 36 {
        if i == 8 || i == 13 || i == 18 || i == 23 {
            if b[i] != b'-' {
                return None;
            }
            i += 1;
            continue;
        }
        let (Some(hi), Some(lo)) = (hex_value(b[i]), hex_value(b[i + 1])) else {
            return None;
        };
        out[o] = (hi << 4) | lo;
        o += 1;
        i += 2;
    }
    Some(out)
}

/// Parses an AAGUID written as `8-4-4-4-12` hexadecimal digits (upper or lower case), as the
/// FIDO Metadata Service and most tools print it. Also accepts the 32 digits without hyphens.
/// Returns `None` for anything else.
pub fn parse_aaguid(text: &str) -> Option<[u8; 16]> {
    let text = text.trim();
    if text.len() == 32 {
        let b = text.as_bytes();
        let mut out = [0u8; 16];
        for (slot, pair) in out.iter_mut().zip(b.chunks_exact(2)) {
            let &[h, l] = pair else {
                return None;
            };
            *slot = (hex_value(h)? << 4) | hex_value(l)?;
        }
        return Some(out);
    }
    parse_const(text)
}

/// Formats an AAGUID as lowercase `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
pub fn format_aaguid(aaguid: [u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, byte) in aaguid.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{byte:02x}"));
    }
    s
}

/// Builds a table entry; a malformed literal fails the build (the table is a `const`).
const fn known(text: &str, name: &'static str) -> ([u8; 16], &'static str) {
    match parse_const(text) {
        Some(a) => (a, name),
        None => panic!("malformed AAGUID literal in the bundled table"),
    }
}

/// The bundled names. Hardware models are grouped under the product-line name a user would
/// recognise on the device; the MDS description (via [`name_for`]) is more specific.
const KNOWN: &[([u8; 16], &str)] = &[
    // Synced passkey providers (platform and password managers).
    known("fbfc3007-154e-4ecc-8c0b-6e020557d7bd", "iCloud Keychain"),
    known(
        "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4",
        "Google Password Manager",
    ),
    known("adce0002-35bc-c60a-648b-0b25f1f05503", "Chrome on Mac"),
    known("08987058-cadc-4b81-b6e1-30de50dcbe96", "Windows Hello"),
    known("9ddd1817-af5a-4672-a2b9-3e3dd95000a9", "Windows Hello"),
    known("6028b017-b1d4-4c02-b4b3-afcdafc96bb2", "Windows Hello"),
    known("bada5566-a7aa-401f-bd96-45619a55120d", "1Password"),
    known("d548826e-79b4-db40-a3d8-11116f7e8349", "Bitwarden"),
    known("531126d6-e717-415c-9320-3d9aa6981239", "Dashlane"),
    known("53414d53-554e-4700-0000-000000000000", "Samsung Pass"),
    known("50726f74-6f6e-5061-7373-50726f746f6e", "Proton Pass"),
    known("fdb141b2-5d84-443e-8a35-4698c205a502", "KeePassXC"),
    known("b84e4048-15dc-4dd0-8640-f4f60813c8af", "NordPass"),
    known("0ea242b4-43c4-4a1b-8b17-dd6d0b6baec6", "Keeper"),
    // Yubico.
    known("ee882879-721c-4913-9775-3dfcce97072a", "YubiKey 5 Series"),
    known("cb69481e-8ff7-4039-93ec-0a2729a154a8", "YubiKey 5 Series"),
    known("19083c3d-8383-4b18-bc03-8f1c9ab2fd1b", "YubiKey 5 Series"),
    known("ff4dac45-ede8-4ec2-aced-cf66103f4335", "YubiKey 5 Series"),
    known(
        "fa2b99dc-9e39-4257-8f92-4a30d23c4118",
        "YubiKey 5 Series with NFC",
    ),
    known(
        "2fc0579f-8113-47ea-b116-bb5a8db9202a",
        "YubiKey 5 Series with NFC",
    ),
    known(
        "a25342c0-3cdc-4414-8e46-f4807fca511c",
        "YubiKey 5 Series with NFC",
    ),
    known(
        "d7781e5d-e353-46aa-afe2-3ca49f13332a",
        "YubiKey 5 Series with NFC",
    ),
    known(
        "c5ef55ff-ad9a-4b9f-b580-adebafe026d0",
        "YubiKey 5 Series with Lightning",
    ),
    known(
        "a02167b9-ae71-4ac7-9a07-06432ebb6f1c",
        "YubiKey 5 Series with Lightning",
    ),
    known(
        "73bb0cd4-e502-49b8-9c6f-b59445bf720b",
        "YubiKey 5 FIPS Series",
    ),
    known(
        "c1f9a0bc-1dd2-404a-b27f-8e29047a43fd",
        "YubiKey 5 FIPS Series with NFC",
    ),
    known(
        "f8a011f3-8c0a-4d15-8006-17111f9edc7d",
        "Security Key by Yubico",
    ),
    known(
        "b92c3f9a-c014-4056-887f-140a2501163b",
        "Security Key by Yubico",
    ),
    known(
        "149a2021-8ef6-4133-96b8-81f8d5b7f1f5",
        "Security Key by Yubico with NFC",
    ),
    known(
        "6d44ba9b-f6ec-2e49-b930-0c8fe920cb73",
        "Security Key by Yubico with NFC",
    ),
    known(
        "a4e9fc6d-4cbe-4758-b8ba-37598bb5bbaa",
        "Security Key NFC by Yubico",
    ),
    known(
        "e77e3c64-05e3-428b-8824-0cbeb04b829d",
        "Security Key NFC by Yubico",
    ),
    known("d8522d9f-575b-4866-88a9-ba99fa02f35b", "YubiKey Bio Series"),
    // Google, Feitian, SoloKeys, Nitrokey, others.
    known(
        "42b4fb4a-2866-43b2-9bf7-6c6669c2e5d3",
        "Google Titan Security Key",
    ),
    known(
        "ee041bce-25e5-4cdb-8f86-897fd6418464",
        "Feitian ePass FIDO2-NFC",
    ),
    known(
        "833b721a-ff5f-4d00-bb2e-bdda3ec01e29",
        "Feitian ePass FIDO2",
    ),
    known(
        "77010bd7-212a-4fc9-b236-d2ca5e9d4084",
        "Feitian BioPass FIDO2",
    ),
    known(
        "b6ede29c-3772-412c-8a78-539c1f4c62d2",
        "Feitian BioPass FIDO2 Plus",
    ),
    known(
        "12ded745-4bed-47d4-abaa-e713f51d6393",
        "Feitian AllinOne FIDO2",
    ),
    known("8876631b-d4a0-427f-5773-0ec71c9e0279", "SoloKeys Solo"),
    known("8976631b-d4a0-427f-5773-0ec71c9e0279", "SoloKeys Solo Tap"),
    known("2cd2f727-f6ca-44da-8f48-5c2e5da000a2", "Nitrokey 3"),
    known(
        "ab32f0c6-2239-afbb-c470-d2ef4e254db7",
        "TOKEN2 FIDO2 Security Key",
    ),
];

/// A friendly name for an authenticator model from the bundled list, or `None` when the AAGUID
/// is unknown or all zeros.
pub fn friendly_name(aaguid: &[u8; 16]) -> Option<&'static str> {
    if *aaguid == ZERO_AAGUID {
        return None;
    }
    KNOWN
        .iter()
        .find(|(id, _)| id == aaguid)
        .map(|(_, name)| *name)
}

/// The name to show for an authenticator model: the description of its entry in the loaded FIDO
/// MDS BLOB when there is one (and it is not blank), otherwise the bundled [`friendly_name`].
/// The all-zero AAGUID has no name.
pub fn name_for(aaguid: &[u8; 16], mds: Option<&MetadataBlob>) -> Option<String> {
    if *aaguid == ZERO_AAGUID {
        return None;
    }
    let from_mds = mds
        .and_then(|blob| blob.entry(aaguid))
        .and_then(|entry| entry.description())
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned);
    from_mds.or_else(|| friendly_name(aaguid).map(str::to_owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_parse_round_trip() {
        let text = "fbfc3007-154e-4ecc-8c0b-6e020557d7bd";
        let bytes = parse_aaguid(text).unwrap();
        assert_eq!(bytes[0], 0xfb);
        assert_eq!(bytes[15], 0xbd);
        assert_eq!(format_aaguid(bytes), text);
        assert_eq!(parse_aaguid(&text.to_uppercase()), Some(bytes));
        assert_eq!(parse_aaguid(&text.replace('-', "")), Some(bytes));
        assert_eq!(
            format_aaguid(ZERO_AAGUID),
            "00000000-0000-0000-0000-000000000000"
        );
    }

    #[test]
    fn malformed_text_is_refused() {
        for bad in [
            "",
            "fbfc3007",
            "fbfc3007-154e-4ecc-8c0b-6e020557d7b",
            "fbfc3007-154e-4ecc-8c0b-6e020557d7bdd",
            "fbfc3007x154e-4ecc-8c0b-6e020557d7bd",
            "gbfc3007-154e-4ecc-8c0b-6e020557d7bd",
            "fbfc300-7154e-4ecc-8c0b-6e020557d7bd",
            "fbfc3007154e4ecc8c0b6e020557d7bz",
            "ééééééééééééééééé-ab",
            "fbfc3007-154e-4ecc-8c0b-6e020557d7b\u{e9}",
        ] {
            assert_eq!(parse_aaguid(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bundled_names() {
        let name = |t: &str| friendly_name(&parse_aaguid(t).unwrap());
        assert_eq!(
            name("fbfc3007-154e-4ecc-8c0b-6e020557d7bd"),
            Some("iCloud Keychain")
        );
        assert_eq!(
            name("ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4"),
            Some("Google Password Manager")
        );
        assert_eq!(
            name("ee882879-721c-4913-9775-3dfcce97072a"),
            Some("YubiKey 5 Series")
        );
        assert_eq!(
            name("50726f74-6f6e-5061-7373-50726f746f6e"),
            Some("Proton Pass")
        );
        assert_eq!(name("00000000-0000-0000-0000-000000000000"), None);
        assert_eq!(name("01234567-89ab-cdef-0123-456789abcdef"), None);
    }

    #[test]
    fn bundled_table_has_no_duplicates_or_zero() {
        for (i, (a, _)) in KNOWN.iter().enumerate() {
            assert_ne!(*a, ZERO_AAGUID);
            assert!(
                KNOWN[i + 1..].iter().all(|(b, _)| a != b),
                "duplicate {}",
                format_aaguid(*a)
            );
        }
    }

    #[test]
    fn name_for_without_mds_falls_back_to_bundled_list() {
        let icloud = parse_aaguid("fbfc3007-154e-4ecc-8c0b-6e020557d7bd").unwrap();
        assert_eq!(name_for(&icloud, None).as_deref(), Some("iCloud Keychain"));
        assert_eq!(name_for(&ZERO_AAGUID, None), None);
        assert_eq!(name_for(&[0x42; 16], None), None);
    }
}
