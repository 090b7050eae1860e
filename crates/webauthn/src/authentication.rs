//! §7.2 Verifying an Authentication Assertion: every step, in order, each a named function.
//!
//! ```text
//!  AuthenticationResponseJSON + credential record
//!    ──► 3 type/id ──► 5 allowCredentials ──► 6 user handle / ownership ──► 7 authData
//!    ──► 8-9 client data ──► 10 type ──► 11 challenge ──► 12 origin ──► 13 crossOrigin
//!    ──► 14 topOrigin ──► 15 rpIdHash ──► 16 UP ──► 17 UV ──► 18 BS⇒BE ──► 19 BE unchanged
//!    ──► 20 extensions ──► 21 signature ──► 22 counter
//!    ──► VerifiedAssertion (new counter, BS, uvInitialized to store: step 24)
//! ```
//!
//! The caller looks the credential record up by `rawId` (it owns the database); this module
//! checks that the record and the response belong together.

use crate::authenticator_data::AuthenticatorData;
use crate::b64;
use crate::ceremony::*;
use crate::cose::CosePublicKey;
use crate::error::{Error, Step};
use crate::extensions::{self, ExtensionOutputs};
use crate::json::AuthenticationResponseJSON;
use crate::options::AuthenticationState;
use crate::relying_party::{CounterPolicy, RelyingParty};
use crate::wire::{self, AssertionView};
use aws_lc_rs::constant_time;

/// The stored credential record an assertion is verified against.
#[derive(Debug, Clone, Copy)]
pub struct CredentialRecord<'a> {
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The user handle of the account that holds the credential.
    pub user_handle: &'a [u8],
    /// The credential public key (decoded once, when loaded).
    pub public_key: &'a CosePublicKey,
    /// The stored signature counter.
    pub sign_count: u32,
    /// BE at registration.
    pub backup_eligible: bool,
    /// The last seen BS.
    pub backup_state: bool,
    /// Whether UV has been seen for this credential.
    pub uv_initialized: bool,
}

/// What the signature counter said (§7.2 step 22).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterOutcome {
    /// Zero in the record and in the assertion: the authenticator does not count (synced
    /// passkeys).
    NotUsed,
    /// The counter increased.
    Increased {
        /// The stored value.
        from: u32,
        /// The new value.
        to: u32,
    },
    /// The counter did not increase: a possible cloned authenticator. Only returned under
    /// [`CounterPolicy::Warn`]; [`CounterPolicy::Strict`] fails the assertion instead.
    PossibleClone {
        /// The stored value.
        stored: u32,
        /// The value received.
        received: u32,
    },
}

/// A verified assertion, with what to write back to the credential record (§7.2 step 24).
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedAssertion {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The user handle from the response, if any.
    pub user_handle: Option<Vec<u8>>,
    /// The counter to store: the received one if it increased, else the stored one.
    pub new_sign_count: u32,
    /// The counter verdict.
    pub counter: CounterOutcome,
    /// UP.
    pub user_present: bool,
    /// UV.
    pub user_verified: bool,
    /// BE (equal to the record's).
    pub backup_eligible: bool,
    /// BS to store.
    pub backup_state: bool,
    /// `uvInitialized` to store.
    pub uv_initialized: bool,
    /// `platform` or `cross-platform`, when reported.
    pub authenticator_attachment: Option<String>,
    /// Checked extension outputs.
    pub extensions: ExtensionOutputs,
}

const fn s(n: u8) -> Step {
    Step::auth(n)
}

/// Parses an `AuthenticationResponseJSON` text and verifies it (§7.2).
pub fn verify_assertion_json(
    rp: &RelyingParty,
    state: &AuthenticationState,
    json: &str,
    record: &CredentialRecord<'_>,
) -> Result<VerifiedAssertion, Error> {
    verify(rp, state, wire::assertion(json, s(3))?, record)
}

/// Verifies an assertion against the stored credential record (§7.2).
pub fn verify_assertion(
    rp: &RelyingParty,
    state: &AuthenticationState,
    response: &AuthenticationResponseJSON,
    record: &CredentialRecord<'_>,
) -> Result<VerifiedAssertion, Error> {
    verify(rp, state, AssertionView::from(response), record)
}

fn verify(
    rp: &RelyingParty,
    state: &AuthenticationState,
    response: AssertionView<'_>,
    record: &CredentialRecord<'_>,
) -> Result<VerifiedAssertion, Error> {
    // Step 3.
    verify_credential_type(
        s(3),
        &response.ty,
        &response.id,
        &response.raw_id,
        response.id_is_raw_id_text,
    )?;
    // Step 5.
    verify_allowed_credential(state, &response.raw_id)?;
    // Step 6.
    verify_user_and_credential(state, &response, record)?;
    // Step 7.
    let r = &response;
    let ad = AuthenticatorData::parse(&r.authenticator_data)
        .map_err(|detail| Error::AuthenticatorDataInvalid { step: s(7), detail })?;
    // Steps 8-9.
    let c = parse_client_data(s(8), s(9), &r.client_data_json)?;
    // Steps 10-14.
    verify_type(s(10), &c, "webauthn.get")?;
    verify_challenge(s(11), &c, &state.challenge)?;
    verify_origin(s(12), rp, &c)?;
    verify_cross_origin(s(13), rp, &c)?;
    verify_top_origin(s(14), rp, &c)?;
    // Step 15.
    let appid_used = response.client_extension_results.appid == Some(true);
    verify_rp_id_hash(s(15), rp, &ad, appid_used)?;
    // Steps 16-18.
    verify_user_present(s(16), &ad)?;
    verify_user_verified(s(17), &ad, state.user_verification)?;
    verify_backup_flags(s(18), &ad)?;
    // Step 19.
    verify_backup_eligibility_unchanged(&ad, record)?;
    // Step 20.
    let extensions = extensions::check_outputs(
        &state.extensions,
        &response.client_extension_results,
        ad.extensions.as_ref(),
    )
    .map_err(|detail| Error::ExtensionsInvalid {
        step: s(20),
        detail,
    })?;
    // Step 21.
    verify_signature(
        record.public_key,
        &r.authenticator_data,
        &r.client_data_json,
        &r.signature,
    )?;
    // Step 22.
    let counter = check_counter(rp.counter_policy, record.sign_count, ad.sign_count)?;

    let new_sign_count = match counter {
        CounterOutcome::Increased { to, .. } => to,
        _ => record.sign_count,
    };
    Ok(VerifiedAssertion {
        credential_id: response.raw_id.to_vec(),
        user_handle: r.user_handle.as_deref().map(<[u8]>::to_vec),
        new_sign_count,
        counter,
        user_present: ad.flags.user_present(),
        user_verified: ad.flags.user_verified(),
        backup_eligible: ad.flags.backup_eligible(),
        backup_state: ad.flags.backup_state(),
        uv_initialized: record.uv_initialized || ad.flags.user_verified(),
        authenticator_attachment: response
            .authenticator_attachment
            .as_deref()
            .map(String::from),
        extensions,
    })
}

/// §7.2 step 5: if allowCredentials was not empty, the credential is one of them.
fn verify_allowed_credential(state: &AuthenticationState, raw_id: &[u8]) -> Result<(), Error> {
    if !state.allow_credentials.is_empty() && !state.allow_credentials.iter().any(|c| c == raw_id) {
        return Err(Error::CredentialNotAllowed {
            step: s(5),
            credential_id: b64::encode(raw_id),
        });
    }
    Ok(())
}

/// §7.2 step 6: identify the user and the credential record.
///
/// - The record must be the one for `rawId`.
/// - If the user was identified before the ceremony, the record must belong to that user, and
///   a `userHandle` in the response must be that user's.
/// - If not (discoverable flow), `userHandle` must be present and be the record owner's.
fn verify_user_and_credential(
    state: &AuthenticationState,
    response: &AssertionView<'_>,
    record: &CredentialRecord<'_>,
) -> Result<(), Error> {
    let invalid = |detail: &str| Error::UserHandleInvalid {
        step: s(6),
        detail: detail.to_string(),
    };
    let same = |a: &[u8], b: &[u8]| constant_time::verify_slices_are_equal(a, b).is_ok();
    if record.credential_id != &*response.raw_id {
        return Err(invalid("the credential record is not the one for rawId"));
    }
    let user_handle = response.user_handle.as_deref();
    match &state.identified_user {
        Some(identified) => {
            if !same(identified, record.user_handle) {
                return Err(invalid(
                    "the credential does not belong to the identified user",
                ));
            }
            if let Some(h) = user_handle
                && !same(h, identified)
            {
                return Err(invalid("userHandle is not the identified user's"));
            }
        }
        None => match user_handle {
            None => {
                return Err(invalid(
                    "userHandle is required when the user was not identified before the ceremony",
                ));
            }
            Some(h) if !same(h, record.user_handle) => {
                return Err(invalid("userHandle does not own this credential"));
            }
            Some(_) => {}
        },
    }
    Ok(())
}

/// §7.2 step 19: BE must equal the record's backup eligibility, which never changes.
fn verify_backup_eligibility_unchanged(
    ad: &AuthenticatorData<'_>,
    record: &CredentialRecord<'_>,
) -> Result<(), Error> {
    let found = ad.flags.backup_eligible();
    if found != record.backup_eligible {
        return Err(Error::BackupEligibilityChanged {
            step: s(19),
            stored: record.backup_eligible,
            found,
        });
    }
    Ok(())
}

/// §7.2 step 21: `hash` = SHA-256(cData); `sig` verifies over `authData || hash` with the
/// credential public key.
fn verify_signature(
    key: &CosePublicKey,
    auth_data: &[u8],
    client_data_json: &[u8],
    sig: &[u8],
) -> Result<(), Error> {
    let hash = client_data_hash(client_data_json);
    let mut message = Vec::with_capacity(auth_data.len() + hash.len());
    message.extend_from_slice(auth_data);
    message.extend_from_slice(&hash);
    key.verify(&message, sig)
        .map_err(|_| Error::SignatureInvalid { step: s(21) })
}

/// §7.2 step 22: if either counter is non-zero, the new one must be greater than the stored one;
/// otherwise this is a signal that the authenticator may be cloned.
pub fn check_counter(
    policy: CounterPolicy,
    stored: u32,
    received: u32,
) -> Result<CounterOutcome, Error> {
    if stored == 0 && received == 0 {
        return Ok(CounterOutcome::NotUsed);
    }
    if received > stored {
        return Ok(CounterOutcome::Increased {
            from: stored,
            to: received,
        });
    }
    match policy {
        CounterPolicy::Strict => Err(Error::CounterNotIncreased {
            step: s(22),
            stored,
            received,
        }),
        CounterPolicy::Warn => Ok(CounterOutcome::PossibleClone { stored, received }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_policy() {
        assert_eq!(
            check_counter(CounterPolicy::Strict, 0, 0),
            Ok(CounterOutcome::NotUsed)
        );
        assert_eq!(
            check_counter(CounterPolicy::Strict, 4, 5),
            Ok(CounterOutcome::Increased { from: 4, to: 5 })
        );
        assert_eq!(
            check_counter(CounterPolicy::Strict, 0, 1),
            Ok(CounterOutcome::Increased { from: 0, to: 1 })
        );
        assert!(matches!(
            check_counter(CounterPolicy::Strict, 5, 5),
            Err(Error::CounterNotIncreased {
                stored: 5,
                received: 5,
                ..
            })
        ));
        // A counter that drops to zero is as suspicious as any other regression.
        assert!(check_counter(CounterPolicy::Strict, 7, 0).is_err());
        assert_eq!(
            check_counter(CounterPolicy::Warn, 7, 3),
            Ok(CounterOutcome::PossibleClone {
                stored: 7,
                received: 3
            })
        );
    }
}
