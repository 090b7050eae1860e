//! Steps that registration (§7.1) and authentication (§7.2) share, each taking the step number
//! it has in the calling procedure so that errors name the right step.

use crate::authenticator_data::AuthenticatorData;
use crate::b64;
use crate::client_data::{self, CollectedClientData};
use crate::error::{Error, Step};
use crate::json::UserVerificationRequirement;
use crate::relying_party::RelyingParty;
use aws_lc_rs::constant_time;

/// The credential is a `public-key` credential whose `id` is the base64url of `rawId`
/// (§7.1 step 3, §7.2 step 3: the response is of the right type for the ceremony).
pub(crate) fn verify_credential_type(
    step: Step,
    ty: &str,
    id: &str,
    raw_id: &[u8],
    id_is_raw_id_text: bool,
) -> Result<(), Error> {
    if ty != "public-key" {
        return Err(Error::CredentialIdMismatch {
            step,
            detail: format!("credential type is '{ty}', expected 'public-key'"),
        });
    }
    // When `id` is textually the `rawId` member it was decoded from, they agree; otherwise
    // decode it (a client may have padded one of them).
    match id_is_raw_id_text || b64::decode(id).is_ok_and(|d| d == raw_id) {
        true => Ok(()),
        false => Err(Error::CredentialIdMismatch {
            step,
            detail: format!("id '{id}' is not the base64url encoding of rawId"),
        }),
    }
}

/// UTF-8 decode clientDataJSON (§7.1 step 5, §7.2 step 8) and parse it (§7.1 step 6,
/// §7.2 step 9). A Level 2 `tokenBinding` member must carry a defined status.
pub(crate) fn parse_client_data(
    utf8_step: Step,
    parse_step: Step,
    bytes: &[u8],
) -> Result<CollectedClientData<'_>, Error> {
    let text = client_data::utf8_decode(bytes)
        .map_err(|_| Error::ClientDataNotUtf8 { step: utf8_step })?;
    let c = client_data::parse(text).map_err(|e| Error::ClientDataInvalid {
        step: parse_step,
        detail: e.to_string(),
    })?;
    if let Some(detail) = c
        .token_binding
        .as_ref()
        .and_then(client_data::token_binding_error)
    {
        return Err(Error::ClientDataInvalid {
            step: parse_step,
            detail,
        });
    }
    Ok(c)
}

/// `C.type` is the ceremony's type (§7.1 step 7, §7.2 step 10).
pub(crate) fn verify_type(
    step: Step,
    c: &CollectedClientData<'_>,
    expected: &'static str,
) -> Result<(), Error> {
    if c.ty != expected {
        return Err(Error::TypeMismatch {
            step,
            expected,
            found: c.ty.to_string(),
        });
    }
    Ok(())
}

/// `C.challenge` equals the base64url encoding of the issued challenge (§7.1 step 8,
/// §7.2 step 11). Compared in constant time.
pub(crate) fn verify_challenge(
    step: Step,
    c: &CollectedClientData<'_>,
    expected: &[u8],
) -> Result<(), Error> {
    let ok = b64::decode(&c.challenge)
        .map(|found| constant_time::verify_slices_are_equal(&found, expected).is_ok())
        .unwrap_or(false);
    if !ok {
        return Err(Error::ChallengeMismatch {
            step,
            expected: b64::encode(expected),
            found: c.challenge.to_string(),
        });
    }
    Ok(())
}

/// `C.origin` is an origin the relying party expects (§7.1 step 9, §7.2 step 12).
pub(crate) fn verify_origin(
    step: Step,
    rp: &RelyingParty,
    c: &CollectedClientData<'_>,
) -> Result<(), Error> {
    if !rp.origins.allows(&c.origin) {
        return Err(Error::OriginNotAllowed {
            step,
            found: c.origin.to_string(),
            expected: rp.origins.exact.clone(),
        });
    }
    Ok(())
}

/// If `C.crossOrigin` is true, the relying party expects use from a cross-origin iframe
/// (§7.1 step 10, §7.2 step 13).
pub(crate) fn verify_cross_origin(
    step: Step,
    rp: &RelyingParty,
    c: &CollectedClientData<'_>,
) -> Result<(), Error> {
    if c.cross_origin == Some(true) && !rp.cross_origin.allow_cross_origin {
        return Err(Error::CrossOriginNotAllowed { step });
    }
    Ok(())
}

/// If `C.topOrigin` is present, the relying party expects cross-origin use and the top origin
/// is one it expects to be embedded in (§7.1 step 11, §7.2 step 14).
pub(crate) fn verify_top_origin(
    step: Step,
    rp: &RelyingParty,
    c: &CollectedClientData<'_>,
) -> Result<(), Error> {
    if let Some(top) = &c.top_origin {
        let allowed = rp.cross_origin.allow_cross_origin
            && rp.cross_origin.top_origins.iter().any(|o| o == top);
        if !allowed {
            return Err(Error::TopOriginNotAllowed {
                step,
                found: top.to_string(),
            });
        }
    }
    Ok(())
}

/// SHA-256 of clientDataJSON (§7.1 step 12, §7.2 step 21).
pub(crate) fn client_data_hash(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref());
    out
}

/// `rpIdHash` is SHA-256 of an expected RP ID (§7.1 step 14, §7.2 step 15). `appid_used`
/// admits the legacy AppID's hash (§10.1.1).
pub(crate) fn verify_rp_id_hash(
    step: Step,
    rp: &RelyingParty,
    ad: &AuthenticatorData<'_>,
    appid_used: bool,
) -> Result<(), Error> {
    if rp.rp_id_hash_matches(ad.rp_id_hash) {
        return Ok(());
    }
    if appid_used
        && let Some(appid) = &rp.appid
        && client_data_hash(appid.as_bytes()) == *ad.rp_id_hash
    {
        return Ok(());
    }
    Err(Error::RpIdHashMismatch {
        step,
        expected_rp_ids: rp.rp_ids().map(String::from).collect(),
        found_hash: ad.rp_id_hash.iter().map(|b| format!("{b:02x}")).collect(),
    })
}

/// The UP flag is set (§7.1 step 15 unless conditional, §7.2 step 16).
pub(crate) fn verify_user_present(step: Step, ad: &AuthenticatorData<'_>) -> Result<(), Error> {
    if !ad.flags.user_present() {
        return Err(Error::UserNotPresent { step });
    }
    Ok(())
}

/// The UV flag is set when user verification is required (§7.1 step 16, §7.2 step 17).
pub(crate) fn verify_user_verified(
    step: Step,
    ad: &AuthenticatorData<'_>,
    requirement: UserVerificationRequirement,
) -> Result<(), Error> {
    if requirement == UserVerificationRequirement::Required && !ad.flags.user_verified() {
        return Err(Error::UserNotVerified { step });
    }
    Ok(())
}

/// BS is not set unless BE is (§7.1 step 17, §7.2 step 18).
pub(crate) fn verify_backup_flags(step: Step, ad: &AuthenticatorData<'_>) -> Result<(), Error> {
    if ad.flags.backup_state() && !ad.flags.backup_eligible() {
        return Err(Error::BackupStateWithoutEligibility { step });
    }
    Ok(())
}
