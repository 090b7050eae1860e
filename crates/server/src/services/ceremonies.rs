//! Registration and authentication ceremonies.
//!
//! ```text
//!  start ──► options for the browser + state ──► ChallengeStore::put(key, state, 5 min)
//!            key ──► cookie `passkeyd_ceremony` (and, for sign-in, the body's challengeKey)
//!  finish ─► ChallengeStore::take(key)   (single use: a second finish finds nothing)
//!            ──► passkeyd-webauthn verifies (§7.1 / §7.2, each failure names its step)
//!            ──► store: create account / add credential / counter compare-and-set
//!            ──► session (sign-up and sign-in)
//! ```
//!
//! Registration has two modes: sign-up (signed out, with a username; allowed while
//! `signup_open`) and adding a passkey (signed in; the pending state is bound to the account
//! and only that account's session can finish it). Authentication is discoverable (no
//! username: any passkey of this RP) or for a username; unknown usernames get fake
//! `allowCredentials` ([`super::fake`]) and fail at finish exactly like a wrong passkey.

use super::audit::{RequestContext, user_ref};
use super::fake::FakeCredentials;
use super::limits::{Limits, handle_key, username_key};
use super::policy::UvRule;
use super::policy::{Facts, Policy};
use super::sessions::{CurrentSession, NewSession, Sessions};
use super::{clean_name, ct_eq, now, random_bytes};
use crate::ephemeral::{ChallengeStore, EphemeralError};
use crate::error::Error;
use crate::store::{
    AuditEvent, CounterAdvance, Credential, CredentialStatus, Elevation, SignInWrite, Store, User,
};
use passkeyd_webauthn::aaguid::name_for;
use passkeyd_webauthn::authentication::{CredentialRecord, VerifiedAssertion, verify_assertion};
use passkeyd_webauthn::b64;
use passkeyd_webauthn::cose::CosePublicKey;
use passkeyd_webauthn::json::{
    AttestationConveyance, AuthenticationResponseJSON, CredentialDescriptorJSON, CredentialType,
    PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialHint,
    PublicKeyCredentialRequestOptionsJSON, ResidentKeyRequirement, UserVerificationRequirement,
};
use passkeyd_webauthn::options::{
    AuthenticationState, CreationOptionsBuilder, RegistrationState, RequestOptionsBuilder,
};
use passkeyd_webauthn::registration::{AttestationTrust, verify_registration_json};
use passkeyd_webauthn::relying_party::RelyingParty;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

/// Cookie name of the pending ceremony's challenge key.
pub const CEREMONY_COOKIE: &str = "passkeyd_ceremony";
/// How long a started ceremony can be finished.
pub const CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 64;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 64;

/// What the challenge store keeps between start and finish.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    Registration {
        state: RegistrationState,
        /// Present for a sign-up: the account to create at finish.
        signup: Option<Signup>,
        /// The policy tier the credential must meet.
        #[serde(default)]
        tier: Option<String>,
        /// Present for an enrolment through a recovery link: the link's token hash.
        #[serde(default)]
        recovery: Option<[u8; 32]>,
    },
    Authentication {
        state: AuthenticationState,
        /// The failure key of the username the sign-in was started for, if any.
        #[serde(default)]
        account: Option<String>,
    },
    StepUp {
        state: AuthenticationState,
        /// The session the elevation will be bound to (SHA-256 of its token).
        session_hash: [u8; 32],
        action: String,
        level: u8,
        max_age_secs: i64,
    },
}

/// A granted step-up.
#[derive(Debug, Clone)]
pub struct SteppedUp {
    /// The elevation now bound to the session.
    pub elevation: Elevation,
}

/// Splits an assertion body into the `AuthenticationResponseJSON` value and its top-level
/// `challengeKey` (or, without one, the ceremony cookie's key).
fn split_challenge_key(
    body: &[u8],
    cookie_key: Option<&str>,
) -> Result<(serde_json::Value, String), Error> {
    let mut value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| Error::auth_failed("invalid_body", format!("body is not JSON: {e}")))?;
    let key = match value
        .as_object_mut()
        .ok_or_else(|| Error::auth_failed("invalid_body", "body is not a JSON object"))?
        .remove("challengeKey")
    {
        Some(serde_json::Value::String(k)) => k,
        Some(_) => {
            return Err(Error::auth_failed(
                "invalid_body",
                "challengeKey is not a string",
            ));
        }
        None => cookie_key.map(str::to_owned).ok_or_else(|| {
            Error::auth_failed(
                "challenge_not_found",
                "no challengeKey and no ceremony cookie",
            )
        })?,
    };
    Ok((value, key))
}

/// The compare-and-set that records a verified assertion of `c` at `t`.
fn counter_advance(c: &Credential, v: &VerifiedAssertion, t: i64) -> CounterAdvance {
    CounterAdvance {
        expected_sign_count: c.sign_count,
        expected_use_count: c.use_count,
        new_sign_count: v.new_sign_count,
        backup_state: v.backup_state,
        uv_initialized: v.uv_initialized,
        last_used_at: t,
    }
}

/// SHA-256 of a recovery link's token (32 bytes, base64url); `None` when it is not one.
pub fn recovery_hash(token: &str) -> Option<[u8; 32]> {
    let raw = b64::decode(token.trim()).ok().filter(|r| r.len() == 32)?;
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &raw);
    d.as_ref().try_into().ok()
}

/// Longest action name, in characters.
pub const MAX_ACTION_CHARS: usize = 64;

/// Checks an action name: 1-64 characters of `a-z 0-9 _ . : -`.
pub fn validate_action(action: &str) -> Result<(), Error> {
    let ok = !action.is_empty()
        && action.len() <= MAX_ACTION_CHARS
        && action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.:-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request(
            "invalid_request",
            "action: 1 to 64 characters of a-z, 0-9, _ . : -",
        ))
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Signup {
    username: String,
    display_name: String,
}

/// A started ceremony: the options for the browser and the key of the pending state.
#[derive(Debug, Clone)]
pub struct Started<T> {
    /// `PublicKeyCredentialCreationOptionsJSON` or `...RequestOptionsJSON`.
    pub options: T,
    /// The challenge key (cookie value; for sign-in also returned in the body).
    pub key: String,
}

/// A finished registration.
#[derive(Debug, Clone)]
pub struct Registered {
    /// The stored credential.
    pub credential: Credential,
    /// The new session, for a sign-up.
    pub new_session: Option<NewSession>,
}

/// A finished sign-in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// The account.
    pub user: User,
    /// Its new session.
    pub new_session: NewSession,
}

/// The ceremony service.
pub struct Ceremonies {
    store: Arc<dyn Store>,
    challenges: Arc<dyn ChallengeStore>,
    sessions: Arc<Sessions>,
    rp: RelyingParty,
    rp_name: String,
    signup_open: bool,
    fake: FakeCredentials,
    challenge_ttl: Duration,
    policy: Policy,
    limits: Arc<Limits>,
    recovery_webhook: Option<Arc<super::webhook::Webhook>>,
    cancel_tokens: super::webhook::CancelTokens,
    public_url: String,
    mds_cache: std::sync::Mutex<Option<MdsCache>>,
    sign_ins: super::group_commit::SignInWriter,
}

/// FIDO metadata statuses as sign-ins read them: all of them, reloaded after
/// [`MDS_CACHE_TTL`], so a sign-in costs no query for them. Registration reads the store.
type MdsCache = (
    std::time::Instant,
    Arc<std::collections::HashMap<[u8; 16], &'static str>>,
);

/// How long sign-ins use a loaded copy of the metadata statuses.
pub const MDS_CACHE_TTL: Duration = Duration::from_secs(30);

/// Normalises a username: trimmed, lower-case, 1 to 64 characters, no control characters.
pub fn normalize_username(raw: &str) -> Result<String, Error> {
    Ok(clean_name("username", raw, MAX_USERNAME_CHARS)?.to_lowercase())
}

fn ephemeral(e: EphemeralError) -> Error {
    match e {
        EphemeralError::Full => Error::Busy,
        EphemeralError::Backend(e) => Error::Unavailable(e),
    }
}

fn parse_assertion(value: serde_json::Value) -> Result<AuthenticationResponseJSON, Error> {
    serde_json::from_value(value).map_err(|e| {
        Error::auth_failed(
            "malformed_response",
            format!("malformed AuthenticationResponseJSON: {e}"),
        )
    })
}

fn unknown_credential(response: &AuthenticationResponseJSON) -> Error {
    Error::auth_failed(
        "unknown_credential",
        format!("unknown credential id {}", b64::encode(&response.raw_id)),
    )
}

fn descriptor(c: &Credential) -> CredentialDescriptorJSON {
    CredentialDescriptorJSON {
        ty: CredentialType::PublicKey,
        id: c.id.clone(),
        transports: c.transports.clone(),
    }
}

/// Settings of the ceremony service.
#[derive(Debug, Clone)]
pub struct CeremonySettings {
    /// The relying party (RP id, origins, policies).
    pub rp: RelyingParty,
    /// The name authenticators show.
    pub rp_name: String,
    /// Whether signed-out visitors may sign up.
    pub signup_open: bool,
    /// How long a started ceremony can be finished.
    pub challenge_ttl: Duration,
    /// The server secret (fake credentials).
    pub secret: Vec<u8>,
    /// Authenticator tiers.
    pub policy: Policy,
    /// Abuse controls (account delays).
    pub limits: Arc<Limits>,
    /// Where recoveries are announced.
    pub recovery_webhook: Option<Arc<super::webhook::Webhook>>,
    /// The first origin: links in notices point there.
    pub public_url: String,
}

impl Ceremonies {
    /// A ceremony service.
    pub fn new(
        store: Arc<dyn Store>,
        challenges: Arc<dyn ChallengeStore>,
        sessions: Arc<Sessions>,
        settings: CeremonySettings,
    ) -> Self {
        Self {
            sign_ins: super::group_commit::SignInWriter::start(store.clone()),
            store,
            challenges,
            sessions,
            fake: FakeCredentials::new(&settings.secret),
            cancel_tokens: super::webhook::CancelTokens::new(&settings.secret),
            recovery_webhook: settings.recovery_webhook,
            public_url: settings.public_url,
            mds_cache: std::sync::Mutex::new(None),
            rp: settings.rp,
            rp_name: settings.rp_name,
            signup_open: settings.signup_open,
            challenge_ttl: settings.challenge_ttl,
            policy: settings.policy,
            limits: settings.limits,
        }
    }

    /// The authenticator policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Verifies a cancel token from a recovery notice: the link hash it names.
    pub fn recovery_cancel_token(&self, token: &str) -> Option<[u8; 32]> {
        self.cancel_tokens.verify(token)
    }

    async fn put_pending(&self, pending: &Pending) -> Result<String, Error> {
        let key = b64::encode(random_bytes::<32>()?);
        let bytes = serde_json::to_vec(pending)
            .map_err(|e| Error::Internal(format!("serialising ceremony state: {e}")))?;
        self.challenges
            .put(&key, bytes, self.challenge_ttl)
            .await
            .map_err(ephemeral)?;
        Ok(key)
    }

    async fn take_pending(&self, key: &str) -> Result<Option<Pending>, Error> {
        let Some(bytes) = self.challenges.take(key).await.map_err(ephemeral)? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| Error::Internal(format!("stored ceremony state: {e}")))
    }

    /// `register/start`: sign-up when signed out (`username` required), adding a passkey
    /// when signed in (the body's names are ignored).
    pub async fn start_registration(
        &self,
        current: Option<&CurrentSession>,
        username: Option<&str>,
        display_name: Option<&str>,
    ) -> Result<Started<PublicKeyCredentialCreationOptionsJSON>, Error> {
        let (handle, username, display_name, exclude, signup, tier) = match current {
            Some(cur) => {
                let existing = self.store.credentials_for_user(&cur.user.handle).await?;
                let tier = self
                    .policy
                    .required_tier(cur.user.required_tier.as_deref(), cur.user.group.as_deref());
                if let Some(min) = tier.min_ial {
                    let best = self
                        .store
                        .proofing_records(&cur.user.handle)
                        .await?
                        .iter()
                        .map(|r| r.ial)
                        .max()
                        .unwrap_or(0);
                    if best < min {
                        return Err(Error::PolicyRefused {
                            tier: tier.name.clone(),
                            message: format!(
                                "Your account needs your identity confirmed (level {min}) before \
                                 a passkey can be added. Ask your administrator."
                            ),
                        });
                    }
                }
                (
                    cur.user.handle.clone(),
                    cur.user.username.clone(),
                    cur.user.display_name.clone(),
                    existing.iter().map(descriptor).collect(),
                    None,
                    tier,
                )
            }
            None => {
                if !self.signup_open {
                    return Err(Error::SignupClosed);
                }
                let Some(raw) = username else {
                    return Err(Error::bad_request(
                        "invalid_request",
                        "username is required to sign up (or sign in first to add a passkey).",
                    ));
                };
                let username = normalize_username(raw)?;
                let display_name = match display_name {
                    Some(d) if !d.trim().is_empty() => {
                        clean_name("displayName", d, MAX_DISPLAY_NAME_CHARS)?
                    }
                    _ => username.clone(),
                };
                if self.store.user_by_username(&username).await?.is_some() {
                    return Err(Error::UsernameTaken);
                }
                let handle = random_bytes::<32>()?.to_vec();
                let signup = Signup {
                    username: username.clone(),
                    display_name: display_name.clone(),
                };
                let tier = self.policy.required_tier(None, None);
                if tier.min_ial.is_some() {
                    return Err(Error::PolicyRefused {
                        tier: tier.name.clone(),
                        message: "This service confirms who you are before you register. Ask \
                                  your administrator for an enrolment link."
                            .into(),
                    });
                }
                (
                    handle,
                    username,
                    display_name,
                    Vec::new(),
                    Some(signup),
                    tier,
                )
            }
        };
        let (options, state) =
            self.creation_options(tier, &handle, &username, &display_name, exclude);
        let tier = Some(tier.name.clone());
        let key = self
            .put_pending(&Pending::Registration {
                state,
                signup,
                tier,
                recovery: None,
            })
            .await?;
        Ok(Started { options, key })
    }

    /// `recovery/start`: registration options for the account a recovery link names, if the
    /// link is unused, not cancelled and not expired. The ceremony is bound to the link.
    pub async fn start_recovery(
        &self,
        token: &str,
    ) -> Result<Started<PublicKeyCredentialCreationOptionsJSON>, Error> {
        let hash = recovery_hash(token).ok_or(Error::RecoveryLinkInvalid)?;
        let Some(link) = self.store.recovery_link(&hash).await? else {
            return Err(Error::RecoveryLinkInvalid);
        };
        if link.used_at.is_some() || link.cancelled_at.is_some() || link.expires_at <= now() {
            return Err(Error::RecoveryLinkInvalid);
        }
        let Some(user) = self.store.user_by_handle(&link.user_handle).await? else {
            return Err(Error::RecoveryLinkInvalid);
        };
        let existing = self.store.credentials_for_user(&user.handle).await?;
        let tier = self
            .policy
            .required_tier(user.required_tier.as_deref(), user.group.as_deref());
        let (options, state) = self.creation_options(
            tier,
            &user.handle,
            &user.username,
            &user.display_name,
            existing.iter().map(descriptor).collect(),
        );
        let key = self
            .put_pending(&Pending::Registration {
                state,
                signup: None,
                tier: Some(tier.name.clone()),
                recovery: Some(hash),
            })
            .await?;
        Ok(Started { options, key })
    }

    /// Blocks sensitive actions while the account is in its cooling-off period after a
    /// recovery.
    pub async fn check_cooling_off(&self, current: &CurrentSession) -> Result<(), Error> {
        if let Some(link) = self.store.last_recovery(&current.user.handle).await?
            && let Some(used) = link.used_at
        {
            let until = used.saturating_add(
                i64::try_from(self.policy.recovery_cooling_off_secs).unwrap_or(i64::MAX),
            );
            if now() < until {
                return Err(Error::CoolingOff(until));
            }
        }
        Ok(())
    }

    /// `register/finish`: verifies the response against the pending state named by `key` and
    /// stores the credential (creating the account and a session for a sign-up).
    pub async fn finish_registration(
        &self,
        current: Option<&CurrentSession>,
        key: Option<&str>,
        response_json: &str,
        ctx: &RequestContext,
    ) -> Result<Registered, Error> {
        let Some(key) = key else {
            return Err(Error::CeremonyNotFound);
        };
        let Some(Pending::Registration {
            state,
            signup,
            tier,
            recovery,
        }) = self.take_pending(key).await?
        else {
            return Err(Error::CeremonyNotFound);
        };
        if signup.is_none() && recovery.is_none() {
            // Adding a passkey: only the account that started it may finish it.
            match current {
                Some(cur) if ct_eq(&cur.user.handle, &state.user_handle) => {}
                Some(_) => return Err(Error::CeremonyNotFound),
                None => return Err(Error::Unauthenticated),
            }
        }
        // §7.1 step 26 asks whether the id is registered; the verifier's callback is
        // synchronous, so look the claimed id up first (the unique key catches a race).
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct RawId {
            raw_id: String,
        }
        let claimed = serde_json::from_str::<RawId>(response_json)
            .ok()
            .and_then(|r| b64::decode(&r.raw_id).ok());
        let registered = match &claimed {
            Some(id) => self.store.credential_by_id(id).await?.is_some(),
            None => false,
        };
        let is_registered = |id: &[u8]| registered && claimed.as_deref().is_some_and(|c| c == id);
        let verify = |rp: &passkeyd_webauthn::relying_party::RelyingParty| {
            verify_registration_json(rp, &state, response_json, &is_registered).map_err(|e| match e
            {
                passkeyd_webauthn::Error::CredentialIdAlreadyRegistered { .. } => {
                    Error::CredentialAlreadyRegistered
                }
                e => Error::RegistrationFailed {
                    code: e.code(),
                    reason: format!("step {} {}: {e}", e.step(), e.code()),
                },
            })
        };
        let mut v = verify(&self.rp)?;
        // §7.1 step 24 with FIDO metadata: an attestation that no configured root vouches for is
        // checked again against the roots the imported BLOB lists for its model (the AAGUID it
        // claims; a chain to those roots is what proves the claim).
        if !matches!(v.trust, AttestationTrust::Trusted { .. }) && v.aaguid != [0u8; 16] {
            let mut anchors = passkeyd_webauthn::trust::TrustAnchors::new();
            for der in self.store.mds_roots(&v.aaguid).await? {
                match passkeyd_webauthn::trust::Certificate::from_der(&der) {
                    Ok(c) => anchors.add(c),
                    Err(e) => tracing::warn!(error = %e, "FIDO metadata root does not parse"),
                }
            }
            if !anchors.is_empty() {
                let mut rp = self.rp.clone();
                rp.aaguid_anchors.insert(v.aaguid, anchors);
                v = verify(&rp)?;
            }
        }
        let facts = Facts {
            user_verified: v.user_verified,
            backup_eligible: v.backup_eligible,
            attested: matches!(v.trust, AttestationTrust::Trusted { .. }),
            aaguid: v.aaguid,
            mds_status: self.mds_status_fresh(&v.aaguid).await?,
        };
        let required = match tier.as_deref().and_then(|n| self.policy.tier(n)) {
            Some(t) => t,
            None => match current {
                Some(cur) => self
                    .policy
                    .required_tier(cur.user.required_tier.as_deref(), cur.user.group.as_deref()),
                None => self.policy.required_tier(None, None),
            },
        };
        if let Some(why) = self.policy.check(required, &facts) {
            return Err(Error::PolicyRefused {
                tier: required.name.clone(),
                message: why,
            });
        }
        let t = now();
        let credential = Credential {
            id: v.credential_id.clone(),
            user_handle: state.user_handle.clone(),
            public_key_cose: v.public_key_cose.clone(),
            alg: v.alg.id(),
            sign_count: v.sign_count,
            use_count: 0,
            transports: v.transports.clone(),
            aaguid: v.aaguid,
            attestation_format: v.fmt.clone(),
            attestation_type: v.attestation_type.as_str().to_owned(),
            attestation_trust: match &v.trust {
                AttestationTrust::Trusted { anchor_subject } => {
                    format!("trusted: {anchor_subject}")
                }
                AttestationTrust::NoTrustPath => "no_trust_path".into(),
                AttestationTrust::NotEvaluated => "not_evaluated".into(),
                AttestationTrust::Untrusted { detail } => format!("untrusted: {detail}"),
            },
            authenticator_attachment: v.authenticator_attachment.clone(),
            backup_eligible: v.backup_eligible,
            backup_state: v.backup_state,
            uv_initialized: v.uv_initialized,
            name: name_for(&v.aaguid, None).unwrap_or_else(|| "Passkey".to_owned()),
            status: CredentialStatus::Active,
            status_reason: None,
            created_at: t,
            // A sign-up signs in with the new passkey, so it has been used.
            last_used_at: signup.is_some().then_some(t),
            attestation_object: v.attestation_object.clone(),
            attestation_client_data_json: v.client_data_json.clone(),
        };
        let event = |kind: &str, details: serde_json::Value| {
            let who = user_ref(&state.user_handle);
            let mut e = ctx.stamp(AuditEvent::new(kind, who.clone(), "success"));
            e.subject = Some(who);
            e.credential_id = Some(b64::encode(&credential.id));
            e.aaguid = Some(passkeyd_webauthn::aaguid::format_aaguid(credential.aaguid));
            e.counter = Some(i64::from(credential.sign_count));
            e.details = details.to_string();
            e
        };
        let details = |username: Option<&str>| {
            serde_json::json!({
                "username": username,
                "tier": required.name,
                "attestation_format": credential.attestation_format,
                "attestation_type": credential.attestation_type,
                "attestation_trust": credential.attestation_trust,
                "backup_eligible": credential.backup_eligible,
                "user_verified": v.user_verified,
            })
        };
        if let Some(hash) = recovery {
            let enrolment = self
                .store
                .recovery_link(&hash)
                .await?
                .is_some_and(|l| l.purpose == "enrolment");
            // A recovered session starts at the lowest level whatever the new passkey could show:
            // the person proved only what the recovery link and its proofing record prove. An
            // enrolment link gives the account's first passkey: assessed like any registration.
            let assurance = if enrolment {
                self.policy.assess(&facts)
            } else {
                super::policy::Assurance {
                    aal: 1,
                    tier: None,
                    reasons: vec!["recovery".into(), "aal1".into()],
                }
            };
            let new = self.sessions.prepare(
                &state.user_handle,
                &credential.id,
                &assurance,
                ctx.user_agent.clone(),
            )?;
            let mut e = event(
                if enrolment {
                    "enrolment_used"
                } else {
                    "recovery_used"
                },
                details(None),
            );
            e.details = serde_json::json!({
                "tier": required.name,
                "session": new.session.public_id,
                "attestation_trust": credential.attestation_trust,
            })
            .to_string();
            if !self
                .store
                .complete_recovery(&hash, t, &credential, &new.session, &e)
                .await?
            {
                return Err(Error::RecoveryLinkInvalid);
            }
            if !enrolment && let Some(webhook) = &self.recovery_webhook {
                let username = self
                    .store
                    .user_by_handle(&state.user_handle)
                    .await?
                    .map(|u| u.username);
                let token = self.cancel_tokens.issue(&hash);
                let cooling =
                    i64::try_from(self.policy.recovery_cooling_off_secs).unwrap_or(i64::MAX);
                webhook.notify(
                    &state.user_handle,
                    serde_json::json!({
                        "event": "recovery_used",
                        "at": super::rfc3339(t),
                        "account": {
                            "handle": b64::encode(&state.user_handle),
                            "username": username,
                        },
                        "credential_id": b64::encode(&credential.id),
                        "session": new.session.public_id,
                        "client_addr": ctx.client_addr,
                        "user_agent": ctx.user_agent,
                        "cooling_off_until": super::rfc3339(t.saturating_add(cooling)),
                        "cancel_url": format!("{}/static/recover.html#cancel={token}", self.public_url),
                        "cancel": {
                            "method": "POST",
                            "url": format!("{}/api/recovery/cancel-token", self.public_url),
                            "body": {"cancelToken": token},
                        },
                    }),
                );
            }
            return Ok(Registered {
                credential,
                new_session: Some(new),
            });
        }
        let new_session = match signup {
            Some(s) => {
                let user = User {
                    handle: state.user_handle.clone(),
                    username: s.username,
                    display_name: s.display_name,
                    created_at: t,
                    required_tier: None,
                    group: None,
                };
                self.store
                    .create_account(
                        &user,
                        &credential,
                        &event("sign_up", details(Some(&user.username))),
                    )
                    .await?;
                let assurance = self.policy.assess(&facts);
                Some(
                    self.sessions
                        .create(
                            &user.handle,
                            &credential.id,
                            &assurance,
                            ctx.user_agent.clone(),
                        )
                        .await?,
                )
            }
            None => {
                self.store
                    .insert_credential(&credential, &event("passkey_added", details(None)))
                    .await?;
                None
            }
        };
        Ok(Registered {
            credential,
            new_session,
        })
    }

    /// `auth/start`: discoverable without a username; with one, the account's passkeys or,
    /// for an unknown username, deterministic fakes of the same shape.
    pub async fn start_authentication(
        &self,
        username: Option<&str>,
    ) -> Result<Started<PublicKeyCredentialRequestOptionsJSON>, Error> {
        let builder = match username {
            None => RequestOptionsBuilder::discoverable(self.rp.rp_id()),
            Some(raw) => {
                let username = normalize_username(raw)?;
                self.limits.account(&username_key(&username)).await?;
                let user = self.store.user_by_username(&username).await?;
                let fake_handle = self.fake.user_handle(&username);
                // The same two queries whether or not the account exists, so that the answer
                // time does not tell either.
                let handle = user.as_ref().map_or(&fake_handle, |u| &u.handle);
                let real: Vec<_> = self
                    .store
                    .credentials_for_user(handle)
                    .await?
                    .iter()
                    .filter(|c| c.status == CredentialStatus::Active)
                    .map(descriptor)
                    .collect();
                match user {
                    Some(u) if !real.is_empty() => {
                        RequestOptionsBuilder::for_user(self.rp.rp_id(), &u.handle, real)
                    }
                    _ => RequestOptionsBuilder::for_user(
                        self.rp.rp_id(),
                        &fake_handle,
                        self.fake.descriptors(&username),
                    ),
                }
            }
        };
        let (options, state) = builder
            .user_verification(UserVerificationRequirement::Preferred)
            .build();
        let account = username.map(|u| normalize_username(u).map(|n| username_key(&n)));
        let account = account.transpose()?;
        let key = self
            .put_pending(&Pending::Authentication { state, account })
            .await?;
        Ok(Started { options, key })
    }

    /// `auth/finish`: `body` is an `AuthenticationResponseJSON` with a top-level
    /// `challengeKey` (or the key comes from the ceremony cookie). On success the browser's
    /// previous session (`replacing`: the hash of the session cookie it sent, looked up by
    /// nobody: revoking an unknown, expired or already revoked session changes nothing), if
    /// any, is revoked. Every failure is
    /// [`Error::AuthenticationFailed`] with the precise reason for the log.
    pub async fn finish_authentication(
        &self,
        replacing: Option<[u8; 32]>,
        cookie_key: Option<&str>,
        body: &[u8],
        ctx: &RequestContext,
    ) -> Result<SignedIn, Error> {
        let mut account = None;
        let result = self
            .finish_authentication_inner(replacing, cookie_key, body, ctx, &mut account)
            .await;
        if let Some(account) = &account {
            match &result {
                Ok(_) => self.limits.succeeded(account).await,
                Err(Error::RateLimited(_) | Error::Unavailable(_)) => {}
                Err(_) => self.limits.failed(account).await,
            }
        }
        result
    }

    async fn finish_authentication_inner(
        &self,
        replacing: Option<[u8; 32]>,
        cookie_key: Option<&str>,
        body: &[u8],
        ctx: &RequestContext,
        account: &mut Option<String>,
    ) -> Result<SignedIn, Error> {
        let (value, key) = split_challenge_key(body, cookie_key)?;
        let state = match self.take_pending(&key).await? {
            Some(Pending::Authentication {
                state,
                account: started_for,
            }) => {
                *account = started_for;
                state
            }
            Some(Pending::Registration { .. } | Pending::StepUp { .. }) => {
                return Err(Error::auth_failed(
                    "challenge_wrong_kind",
                    "challenge key belongs to a registration or a step-up",
                ));
            }
            None => {
                return Err(Error::auth_failed(
                    "challenge_not_found",
                    "unknown, expired or already used challenge key",
                ));
            }
        };
        let (response, credential, owner) = self.response_credential_owner(value).await?;
        if account.is_none() {
            *account = Some(handle_key(&credential.user_handle));
        }
        if let Some(a) = account.as_deref() {
            self.limits.account(a).await?;
        }
        if credential.status != CredentialStatus::Active {
            self.anomaly(
                ctx,
                &credential,
                serde_json::json!({
                    "kind": "inactive_credential_used",
                    "status": credential.status.as_str(),
                    "status_reason": credential.status_reason,
                    "action": "refused",
                }),
            )
            .await;
            return Err(Error::auth_failed(
                "credential_not_active",
                format!(
                    "credential {} is {}",
                    b64::encode(&credential.id),
                    credential.status.as_str()
                ),
            ));
        }
        let verified = self.verify(&state, &response, &credential, ctx).await?;
        let Some(user) = owner else {
            return Err(Error::Internal("credential without an account".into()));
        };
        let assurance = self.policy.assess(&Facts {
            user_verified: verified.user_verified,
            backup_eligible: credential.backup_eligible,
            attested: credential.attestation_trust.starts_with("trusted"),
            aaguid: credential.aaguid,
            mds_status: self.mds_status(&credential.aaguid).await?,
        });
        let new_session = self.sessions.prepare(
            &user.handle,
            &credential.id,
            &assurance,
            ctx.user_agent.clone(),
        )?;
        let who = user_ref(&user.handle);
        let mut event = ctx.stamp(AuditEvent::new("sign_in", who.clone(), "success"));
        event.subject = Some(who);
        event.credential_id = Some(b64::encode(&credential.id));
        event.aaguid = Some(passkeyd_webauthn::aaguid::format_aaguid(credential.aaguid));
        event.counter = Some(i64::from(verified.new_sign_count));
        event.details = serde_json::json!({
            "aal": assurance.aal,
            "tier": assurance.tier,
            "reasons": assurance.reasons,
            "session": new_session.session.public_id,
            "counter_before": credential.sign_count,
        })
        .to_string();
        // One transaction: the counter compare-and-set, the new session, the revocation of the
        // browser's previous session (a sign-in replaces it rather than leaving it alive beside
        // the new one) and the audit event, committed together with the other sign-ins waiting
        // at this moment (group commit). A lost compare-and-set writes nothing.
        let advanced = self
            .sign_ins
            .complete(SignInWrite {
                credential_id: credential.id.clone(),
                advance: counter_advance(&credential, &verified, now()),
                session: new_session.session.clone(),
                replacing,
                audit: event,
            })
            .await?;
        if !advanced {
            return Err(Error::auth_failed(
                "counter_race",
                "counter compare-and-set lost: the credential was used concurrently",
            ));
        }
        Ok(SignedIn { user, new_session })
    }

    fn facts_of(c: &Credential, user_verified: bool, mds_status: Option<&'static str>) -> Facts {
        Facts {
            user_verified,
            backup_eligible: c.backup_eligible,
            attested: c.attestation_trust.starts_with("trusted"),
            aaguid: c.aaguid,
            mds_status,
        }
    }

    /// A model's latest FIDO metadata status, read from the store (registration: what was just
    /// imported counts at once). None for the all-zero AAGUID, which names no model.
    async fn mds_status_fresh(&self, aaguid: &[u8; 16]) -> Result<Option<&'static str>, Error> {
        if *aaguid == [0u8; 16] {
            return Ok(None);
        }
        Ok(self
            .store
            .mds_status(aaguid)
            .await?
            .map(|s| super::policy::mds_status_name(&s)))
    }

    /// A model's latest FIDO metadata status for a sign-in or step-up: from a copy of all
    /// statuses at most [`MDS_CACHE_TTL`] old (an import reaches sign-ins within that time;
    /// compromised models' passkeys are suspended by the import itself, at once).
    async fn mds_status(&self, aaguid: &[u8; 16]) -> Result<Option<&'static str>, Error> {
        if *aaguid == [0u8; 16] {
            return Ok(None);
        }
        let cached = self
            .mds_cache
            .lock()
            .ok()
            .and_then(|c| c.clone())
            .filter(|(at, _)| at.elapsed() < MDS_CACHE_TTL);
        let map = match cached {
            Some((_, map)) => map,
            None => {
                let map: std::collections::HashMap<[u8; 16], &'static str> = self
                    .store
                    .mds_statuses()
                    .await?
                    .into_iter()
                    .map(|(a, s)| (a, super::policy::mds_status_name(&s)))
                    .collect();
                let map = Arc::new(map);
                if let Ok(mut c) = self.mds_cache.lock() {
                    *c = Some((std::time::Instant::now(), map.clone()));
                }
                map
            }
        };
        Ok(map.get(aaguid).copied())
    }

    /// `stepup/start`: a user-verified ceremony for the signed-in account, offering only its
    /// passkeys that can reach `level`, whose success grants `action` for `max_age` seconds
    /// (the policy's default when `None`, never more than its maximum).
    pub async fn start_step_up(
        &self,
        current: &CurrentSession,
        action: &str,
        level: u8,
        max_age: Option<u64>,
    ) -> Result<Started<PublicKeyCredentialRequestOptionsJSON>, Error> {
        validate_action(action)?;
        if !(1..=3).contains(&level) {
            return Err(Error::bad_request("invalid_request", "level: 1, 2 or 3"));
        }
        let max_age = max_age.unwrap_or(self.policy.stepup_default_age_secs);
        if max_age == 0 || max_age > self.policy.stepup_max_age_secs {
            return Err(Error::bad_request(
                "invalid_request",
                format!("max_age: 1 to {} seconds", self.policy.stepup_max_age_secs),
            ));
        }
        let mut able = Vec::new();
        for c in self
            .store
            .credentials_for_user(&current.user.handle)
            .await?
            .iter()
            .filter(|c| c.status == CredentialStatus::Active)
        {
            let mds = self.mds_status(&c.aaguid).await?;
            if self.policy.reachable_aal(&Self::facts_of(c, true, mds)) >= level {
                able.push(descriptor(c));
            }
        }
        if able.is_empty() {
            return Err(Error::StepUpImpossible(level));
        }
        let (options, state) =
            RequestOptionsBuilder::for_user(self.rp.rp_id(), &current.user.handle, able)
                .user_verification(UserVerificationRequirement::Required)
                .build();
        let key = self
            .put_pending(&Pending::StepUp {
                state,
                session_hash: current.session.id_hash,
                action: action.to_owned(),
                level,
                max_age_secs: i64::try_from(max_age).unwrap_or(i64::MAX),
            })
            .await?;
        Ok(Started { options, key })
    }

    /// `stepup/finish`: verifies the assertion (user verification required, a passkey of the
    /// same account, the level reached) and binds the elevation to the session, atomically
    /// with the counter update. Every failure is [`Error::AuthenticationFailed`].
    pub async fn finish_step_up(
        &self,
        current: &CurrentSession,
        body: &[u8],
        ctx: &RequestContext,
    ) -> Result<SteppedUp, Error> {
        let (value, key) = split_challenge_key(body, None)?;
        let Some(Pending::StepUp {
            state,
            session_hash,
            action,
            level,
            max_age_secs,
        }) = self.take_pending(&key).await?
        else {
            return Err(Error::auth_failed(
                "challenge_not_found",
                "unknown, expired, used or not a step-up challenge key",
            ));
        };
        if !ct_eq(&session_hash, &current.session.id_hash) {
            return Err(Error::auth_failed(
                "stepup_wrong_session",
                "the step-up was started by another session",
            ));
        }
        let (response, credential) = self.response_and_credential(value).await?;
        if !ct_eq(&credential.user_handle, &current.user.handle) {
            return Err(Error::auth_failed(
                "stepup_foreign_credential",
                "the passkey belongs to another account",
            ));
        }
        if credential.status != CredentialStatus::Active {
            return Err(Error::auth_failed(
                "credential_not_active",
                format!("credential is {}", credential.status.as_str()),
            ));
        }
        let verified = self.verify(&state, &response, &credential, ctx).await?;
        let mds = self.mds_status(&credential.aaguid).await?;
        let assurance =
            self.policy
                .assess(&Self::facts_of(&credential, verified.user_verified, mds));
        if assurance.aal < level {
            return Err(Error::auth_failed(
                "stepup_level_not_reached",
                format!(
                    "level {level} asked, the ceremony reached {}",
                    assurance.aal
                ),
            ));
        }
        let t = now();
        let elevation = Elevation {
            action,
            aal: assurance.aal,
            credential_id: credential.id.clone(),
            granted_at: t,
            expires_at: t.saturating_add(max_age_secs),
        };
        let who = user_ref(&current.user.handle);
        let mut event = ctx.stamp(AuditEvent::new("step_up", who.clone(), "success"));
        event.subject = Some(who);
        event.credential_id = Some(b64::encode(&credential.id));
        event.aaguid = Some(passkeyd_webauthn::aaguid::format_aaguid(credential.aaguid));
        event.counter = Some(i64::from(verified.new_sign_count));
        event.details = serde_json::json!({
            "action": elevation.action,
            "aal": elevation.aal,
            "level": level,
            "expires_at": elevation.expires_at,
            "session": current.session.public_id,
        })
        .to_string();
        let advanced = self
            .store
            .complete_step_up(
                &credential.id,
                &counter_advance(&credential, &verified, t),
                &current.session.id_hash,
                &elevation,
                &event,
            )
            .await?;
        if !advanced {
            return Err(Error::auth_failed(
                "counter_race",
                "counter compare-and-set lost: the credential was used concurrently",
            ));
        }
        Ok(SteppedUp { elevation })
    }

    /// Whether the session holds a live elevation for `action` at `level` or above; the
    /// error to answer when it does not.
    pub async fn require_elevation(
        &self,
        current: &CurrentSession,
        action: &str,
        level: u8,
    ) -> Result<Elevation, Error> {
        self.check_cooling_off(current).await?;
        if self.policy.require_two_passkeys {
            let working = self
                .store
                .credentials_for_user(&current.user.handle)
                .await?
                .iter()
                .filter(|c| c.status == CredentialStatus::Active)
                .count();
            if working < 2 {
                return Err(Error::SecondPasskeyRequired);
            }
        }
        self.store
            .elevations(&current.session.id_hash, now())
            .await?
            .into_iter()
            .find(|e| e.action == action && e.aal >= level)
            .ok_or_else(|| Error::StepUpRequired {
                action: action.to_owned(),
                level,
            })
    }

    /// Records an anomaly about `credential` in the audit trail.
    async fn anomaly(
        &self,
        ctx: &RequestContext,
        credential: &Credential,
        details: serde_json::Value,
    ) {
        let mut e = ctx.stamp(AuditEvent::new("anomaly", "system", "detected"));
        e.subject = Some(user_ref(&credential.user_handle));
        e.credential_id = Some(b64::encode(&credential.id));
        e.aaguid = Some(passkeyd_webauthn::aaguid::format_aaguid(credential.aaguid));
        e.counter = Some(i64::from(credential.sign_count));
        e.details = details.to_string();
        tracing::warn!(details = %e.details, "anomaly");
        if let Err(err) = self.store.append_audit(&e).await {
            tracing::error!(error = %err, "audit: cannot append anomaly");
        }
    }

    /// The assertion in `value` and the stored credential it names.
    async fn response_and_credential(
        &self,
        value: serde_json::Value,
    ) -> Result<(AuthenticationResponseJSON, Credential), Error> {
        let response = parse_assertion(value)?;
        let Some(credential) = self.store.credential_by_id(&response.raw_id).await? else {
            return Err(unknown_credential(&response));
        };
        Ok((response, credential))
    }

    /// [`Ceremonies::response_and_credential`] with the owning account, in one query (sign-in).
    async fn response_credential_owner(
        &self,
        value: serde_json::Value,
    ) -> Result<(AuthenticationResponseJSON, Credential, Option<User>), Error> {
        let response = parse_assertion(value)?;
        let Some((credential, owner)) = self.store.credential_with_owner(&response.raw_id).await?
        else {
            return Err(unknown_credential(&response));
        };
        Ok((response, credential, owner))
    }

    /// §7.2 against the stored credential. A counter that went backwards (two copies of the
    /// key exist) suspends the passkey and records an anomaly, whichever ceremony saw it.
    async fn verify(
        &self,
        state: &AuthenticationState,
        response: &AuthenticationResponseJSON,
        credential: &Credential,
        ctx: &RequestContext,
    ) -> Result<VerifiedAssertion, Error> {
        let public_key = CosePublicKey::from_cbor(&credential.public_key_cose, &self.rp.key_policy)
            .map_err(|e| Error::Internal(format!("stored public key does not parse: {e}")))?;
        let record = CredentialRecord {
            credential_id: &credential.id,
            user_handle: &credential.user_handle,
            public_key: &public_key,
            sign_count: credential.sign_count,
            backup_eligible: credential.backup_eligible,
            backup_state: credential.backup_state,
            uv_initialized: credential.uv_initialized,
        };
        match verify_assertion(&self.rp, state, response, &record) {
            Ok(v) => Ok(v),
            Err(e) => {
                if matches!(e, passkeyd_webauthn::Error::CounterNotIncreased { .. }) {
                    let reason = format!("possible cloned authenticator: {e}");
                    self.store
                        .set_credential_status(
                            &credential.id,
                            CredentialStatus::Suspended,
                            Some(&reason),
                        )
                        .await?;
                    self.anomaly(
                        ctx,
                        credential,
                        serde_json::json!({
                            "kind": "counter_regression",
                            "stored": credential.sign_count,
                            "detail": e.to_string(),
                            "action": "credential_suspended",
                        }),
                    )
                    .await;
                }
                Err(Error::auth_failed(
                    e.code(),
                    format!("step {} {}: {e}", e.step(), e.code()),
                ))
            }
        }
    }

    /// Creation options asking the browser for what `tier` needs (user verification, direct
    /// attestation, the security-key hint), so that a suitable authenticator is offered and an
    /// unsuitable one is refused before the person has gone through it all.
    fn creation_options(
        &self,
        tier: &super::policy::Tier,
        handle: &[u8],
        username: &str,
        display_name: &str,
        exclude: Vec<CredentialDescriptorJSON>,
    ) -> (PublicKeyCredentialCreationOptionsJSON, RegistrationState) {
        let uv = match tier.user_verification {
            UvRule::Required => UserVerificationRequirement::Required,
            UvRule::Preferred => UserVerificationRequirement::Preferred,
            UvRule::Discouraged => UserVerificationRequirement::Discouraged,
        };
        let attestation = if tier.attestation_required {
            AttestationConveyance::Direct
        } else {
            AttestationConveyance::None
        };
        let hints = if tier.allow_synced {
            Vec::new()
        } else {
            vec![PublicKeyCredentialHint::SecurityKey]
        };
        CreationOptionsBuilder::new(
            self.rp.rp_id(),
            &self.rp_name,
            handle,
            username,
            display_name,
        )
        .resident_key(ResidentKeyRequirement::Required)
        .user_verification(uv)
        .attestation(attestation, Vec::new())
        .hints(hints)
        .exclude_credentials(exclude)
        .build()
    }
}
