//! Administration: what the admin API (`/admin/api/...`, bearer token) and the `passkeyd admin`
//! command do, in one place. Every change is an audit event with the administrator as actor.

use super::audit::user_ref;
use super::policy::Policy;
use super::{now, random_bytes};
use crate::error::Error;
use crate::store::{AuditEvent, CredentialStatus, ProofingRecord, Store, User};
use passkeyd_webauthn::b64;
use std::sync::Arc;

/// The administration service.
pub struct Admin {
    store: Arc<dyn Store>,
    policy: Policy,
}

impl std::fmt::Debug for Admin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Admin").finish_non_exhaustive()
    }
}

/// `admin:<name>`, with the name cut to 64 characters of letters, digits and `._@-`.
pub fn admin_ref(name: &str) -> String {
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._@-".contains(*c))
        .take(64)
        .collect();
    format!(
        "admin:{}",
        if clean.is_empty() { "unnamed" } else { &clean }
    )
}

impl Admin {
    /// The service.
    pub fn new(store: Arc<dyn Store>, policy: Policy) -> Self {
        Self { store, policy }
    }

    async fn record(
        &self,
        actor: &str,
        event: &str,
        user: Option<&[u8]>,
        details: serde_json::Value,
    ) -> Result<(), Error> {
        let mut e = AuditEvent::new(event, actor, "success");
        e.subject = user.map(user_ref);
        e.details = details.to_string();
        self.store.append_audit(&e).await?;
        Ok(())
    }

    /// The account named `username`.
    pub async fn user(&self, username: &str) -> Result<User, Error> {
        self.store
            .user_by_username(&username.trim().to_lowercase())
            .await?
            .ok_or(Error::NotFound("user"))
    }

    /// Sets the tier an account requires and its group (`None` clears each).
    pub async fn set_user_policy(
        &self,
        actor: &str,
        username: &str,
        tier: Option<&str>,
        group: Option<&str>,
    ) -> Result<User, Error> {
        if let Some(t) = tier
            && self.policy.tier(t).is_none()
        {
            return Err(Error::bad_request(
                "invalid_request",
                format!("no tier named {t:?} in the policy"),
            ));
        }
        let user = self.user(username).await?;
        self.store
            .set_user_policy(&user.username, tier, group)
            .await?;
        self.record(
            actor,
            "policy_change",
            Some(&user.handle),
            serde_json::json!({"username": user.username, "required_tier": tier, "group": group}),
        )
        .await?;
        self.user(username).await
    }

    /// Suspends, revokes or reactivates a credential.
    pub async fn set_credential_status(
        &self,
        actor: &str,
        credential_id: &[u8],
        status: CredentialStatus,
        reason: &str,
    ) -> Result<(), Error> {
        let Some(c) = self.store.credential_by_id(credential_id).await? else {
            return Err(Error::NotFound("passkey"));
        };
        let reason = reason.trim();
        let stored_reason = (status != CredentialStatus::Active).then_some(reason);
        self.store
            .set_credential_status(credential_id, status, stored_reason)
            .await?;
        let event = match status {
            CredentialStatus::Active => "credential_reactivated",
            CredentialStatus::Suspended => "credential_suspended",
            CredentialStatus::Revoked => "credential_revoked",
        };
        let mut e = AuditEvent::new(event, actor, "success");
        e.subject = Some(user_ref(&c.user_handle));
        e.credential_id = Some(b64::encode(credential_id));
        e.aaguid = Some(passkeyd_webauthn::aaguid::format_aaguid(c.aaguid));
        e.details =
            serde_json::json!({"reason": reason, "previous": c.status.as_str()}).to_string();
        self.store.append_audit(&e).await?;
        Ok(())
    }

    /// Revokes one of an account's sessions by its public id.
    pub async fn revoke_session(
        &self,
        actor: &str,
        username: &str,
        public_id: &str,
    ) -> Result<(), Error> {
        let user = self.user(username).await?;
        if !self
            .store
            .revoke_session_by_public_id(&user.handle, public_id, now())
            .await?
        {
            return Err(Error::NotFound("session"));
        }
        self.record(
            actor,
            "session_revoked",
            Some(&user.handle),
            serde_json::json!({"session": public_id}),
        )
        .await
    }

    /// Records an identity proofing of an account.
    pub async fn record_proofing(
        &self,
        actor: &str,
        username: &str,
        ial: u8,
        method: &str,
        evidence_ref: &str,
        verified_by: &str,
    ) -> Result<ProofingRecord, Error> {
        if !(1..=3).contains(&ial) {
            return Err(Error::bad_request("invalid_request", "ial: 1, 2 or 3"));
        }
        for (name, v) in [
            ("method", method),
            ("evidence_ref", evidence_ref),
            ("verified_by", verified_by),
        ] {
            if v.trim().is_empty() || v.chars().count() > 200 {
                return Err(Error::bad_request(
                    "invalid_request",
                    format!("{name}: 1 to 200 characters"),
                ));
            }
        }
        let user = self.user(username).await?;
        let record = ProofingRecord {
            id: b64::encode(random_bytes::<12>()?),
            user_handle: user.handle.clone(),
            ial,
            method: method.trim().to_owned(),
            evidence_ref: evidence_ref.trim().to_owned(),
            verified_by: verified_by.trim().to_owned(),
            verified_at: now(),
        };
        let mut e = AuditEvent::new("proofing_recorded", actor, "success");
        e.subject = Some(user_ref(&user.handle));
        e.details = serde_json::json!({
            "proofing": record.id,
            "ial": ial,
            "method": record.method,
            "evidence_ref": record.evidence_ref,
            "verified_by": record.verified_by,
        })
        .to_string();
        self.store.add_proofing(&record, &e).await?;
        Ok(record)
    }
}
