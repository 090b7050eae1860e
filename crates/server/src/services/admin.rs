//! Administration: what the admin API (`/admin/api/...`, bearer token) and the `passkeyd admin`
//! command do, in one place. Every change is an audit event with the administrator as actor.

use super::audit::user_ref;
use super::policy::Policy;
use super::{now, random_bytes};
use crate::error::Error;
use crate::store::{AuditEvent, CredentialStatus, ProofingRecord, RecoveryLink, Store, User};
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

    /// Issues a single-use recovery enrolment link for an account, bound to one of its proofing
    /// records (`proofing_id`, or the strongest). Returns the token (shown once, never stored)
    /// and the link. `ttl_secs` defaults to the policy's `recovery_link_ttl_secs`.
    pub async fn issue_recovery(
        &self,
        actor: &str,
        username: &str,
        proofing_id: Option<&str>,
        ttl_secs: Option<u64>,
    ) -> Result<(String, RecoveryLink), Error> {
        self.issue_link(actor, username, proofing_id, ttl_secs, "recovery")
            .await
    }

    /// Issues a single-use enrolment link for an account whose tier requires a proven identity
    /// (`min_ial`): the proofing record it is bound to must reach that level.
    pub async fn issue_enrolment(
        &self,
        actor: &str,
        username: &str,
        proofing_id: Option<&str>,
        ttl_secs: Option<u64>,
    ) -> Result<(String, RecoveryLink), Error> {
        self.issue_link(actor, username, proofing_id, ttl_secs, "enrolment")
            .await
    }

    /// Creates an account without a passkey (it enrols through a link), with a tier and group.
    pub async fn create_user(
        &self,
        actor: &str,
        username: &str,
        display_name: &str,
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
        let username = super::ceremonies::normalize_username(username)?;
        let display_name = match display_name.trim() {
            "" => username.clone(),
            d => super::clean_name("display_name", d, 64)?,
        };
        let user = User {
            handle: random_bytes::<32>()?.to_vec(),
            username: username.clone(),
            display_name,
            created_at: now(),
            required_tier: tier.map(str::to_owned),
            group: group.map(str::to_owned),
        };
        let mut e = AuditEvent::new("account_created", actor, "success");
        e.subject = Some(user_ref(&user.handle));
        e.details =
            serde_json::json!({"username": username, "required_tier": tier, "group": group})
                .to_string();
        self.store.create_user(&user, &e).await?;
        Ok(user)
    }

    async fn issue_link(
        &self,
        actor: &str,
        username: &str,
        proofing_id: Option<&str>,
        ttl_secs: Option<u64>,
        purpose: &str,
    ) -> Result<(String, RecoveryLink), Error> {
        let user = self.user(username).await?;
        let records = self.store.proofing_records(&user.handle).await?;
        let proofing = match proofing_id {
            Some(id) => records.iter().find(|r| r.id == id),
            // The strongest proofing, the newest among equals.
            None => records.iter().max_by_key(|r| (r.ial, r.verified_at)),
        }
        .ok_or_else(|| {
            Error::bad_request(
                "invalid_request",
                "no such identity proofing for this account: record one first \
                 (recovery must be no weaker than enrolment)",
            )
        })?;
        if purpose == "enrolment" {
            let tier = self
                .policy
                .required_tier(user.required_tier.as_deref(), user.group.as_deref());
            if let Some(min) = tier.min_ial
                && proofing.ial < min
            {
                return Err(Error::bad_request(
                    "invalid_request",
                    format!(
                        "tier {} requires identity proofed at IAL{min}; this record is IAL{}",
                        tier.name, proofing.ial
                    ),
                ));
            }
        }
        let ttl = ttl_secs.unwrap_or(self.policy.recovery_link_ttl_secs);
        if !(60..=86_400).contains(&ttl) {
            return Err(Error::bad_request(
                "invalid_request",
                "ttl: 60 to 86400 seconds",
            ));
        }
        let token = b64::encode(random_bytes::<32>()?);
        let token_hash = super::ceremonies::recovery_hash(&token)
            .ok_or_else(|| Error::Internal("recovery token".into()))?;
        let t = now();
        let link = RecoveryLink {
            token_hash,
            user_handle: user.handle.clone(),
            proofing_id: proofing.id.clone(),
            created_by: actor.to_owned(),
            created_at: t,
            expires_at: t.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)),
            used_at: None,
            credential_id: None,
            cancelled_at: None,
            purpose: purpose.to_owned(),
        };
        let mut e = AuditEvent::new(&format!("{purpose}_issued"), actor, "success");
        e.subject = Some(user_ref(&user.handle));
        e.details = serde_json::json!({
            "username": user.username,
            "proofing": proofing.id,
            "ial": proofing.ial,
            "expires_at": link.expires_at,
        })
        .to_string();
        self.store.create_recovery_link(&link, &e).await?;
        Ok((token, link))
    }
}

/// The page a link's token opens (`&enrol=1` tells the page it is a first enrolment).
pub fn link_url(public_url: &str, token: &str, link: &RecoveryLink) -> String {
    let enrol = if link.purpose == "enrolment" {
        "&enrol=1"
    } else {
        ""
    };
    format!(
        "{}/static/recover.html#token={token}{enrol}",
        public_url.trim_end_matches('/')
    )
}

/// A QR code of `text` as an SVG image.
pub fn qr_svg(text: &str) -> Result<String, Error> {
    let code =
        qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build())
}

/// A QR code of `text` for a terminal (two rows of modules per line).
pub fn qr_text(text: &str) -> Result<String, Error> {
    let code =
        qrcode::QrCode::new(text.as_bytes()).map_err(|e| Error::Internal(format!("qr: {e}")))?;
    let width = code.width();
    let dark: Vec<bool> = code
        .to_colors()
        .iter()
        .map(|c| *c == qrcode::Color::Dark)
        .collect();
    let at = |x: i64, y: i64| {
        x >= 0
            && y >= 0
            && (x as usize) < width
            && (y as usize) < width
            && dark[y as usize * width + x as usize]
    };
    let mut out = String::new();
    let mut y = -2i64;
    while y < width as i64 + 2 {
        for x in -2..width as i64 + 2 {
            out.push(match (at(x, y), at(x, y + 1)) {
                (true, true) => ' ',
                (true, false) => '\u{2584}',
                (false, true) => '\u{2580}',
                (false, false) => '\u{2588}',
            });
        }
        out.push('\n');
        y += 2;
    }
    Ok(out)
}
