//! authenticator_data::AuthenticatorData::parse, with structural properties of a successful
//! parse: raw is the input, counter and flags are read from their bytes, AT/ED flags match the
//! optional parts, and the parts account for every byte.
#![no_main]
use libfuzzer_sys::fuzz_target;
use passkeyd_fuzz::PERMISSIVE_KEYS;
use passkeyd_webauthn::authenticator_data::AuthenticatorData;
use passkeyd_webauthn::cbor;
use passkeyd_webauthn::cose::CosePublicKey;

fuzz_target!(|data: &[u8]| {
    let Ok(ad) = AuthenticatorData::parse(data) else {
        return;
    };
    assert_eq!(ad.raw, data);
    assert_eq!(&ad.rp_id_hash[..], &data[..32]);
    assert_eq!(ad.flags.0, data[32]);
    assert_eq!(ad.sign_count.to_be_bytes(), data[33..37]);
    assert_eq!(ad.flags.attested_credential_data(), ad.attested_credential_data.is_some());
    assert_eq!(ad.flags.extension_data(), ad.extensions.is_some());
    let mut used = 37;
    if let Some(acd) = &ad.attested_credential_data {
        assert!(acd.credential_id.len() <= usize::from(u16::MAX));
        used += 18 + acd.credential_id.len() + acd.credential_public_key.len();
        assert_eq!(cbor::item_len(acd.credential_public_key), Ok(acd.credential_public_key.len()));
        if let Ok(k) = CosePublicKey::from_cbor(acd.credential_public_key, &PERMISSIVE_KEYS) {
            let _ = k.to_cbor();
        }
    }
    if let Some(ext) = &ad.extensions {
        assert!(ext.as_map().is_some());
        used = data.len();
    }
    assert_eq!(used, data.len(), "authenticator data parts do not account for every byte");
    let _ = (ad.flags.user_present(), ad.flags.user_verified(), ad.flags.backup_eligible(), ad.flags.backup_state());
});
