//! `passkeyd admin ...`: the administration commands, over the store the server uses (the same
//! `--config`, `--data-dir`, `--store` and `PASSKEYD_*` settings as `serve`). Every change is an
//! audit event with the actor `admin:cli-<login name>`. Output is JSON.

use passkeyd_server::app::open_store;
use passkeyd_server::serve::ServeArgs;
use passkeyd_server::services::admin::{Admin, admin_ref};
use passkeyd_server::store::CredentialStatus;
use passkeyd_webauthn::b64;
use std::process::ExitCode;

/// `passkeyd admin ...`.
#[derive(clap::Subcommand, Debug)]
pub enum AdminCommand {
    /// List accounts (JSON lines).
    Users {
        /// Only usernames containing this.
        #[arg(long, default_value = "")]
        query: String,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Show one account with its passkeys, sessions and proofing records.
    User {
        /// The username.
        username: String,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Set the tier an account requires and its group (omit a flag to clear it).
    SetPolicy {
        /// The username.
        username: String,
        /// A tier of the policy.
        #[arg(long)]
        tier: Option<String>,
        /// A group of the policy.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Suspend, revoke or reactivate a passkey.
    CredentialStatus {
        /// The credential id, base64url.
        id: String,
        /// active, suspended or revoked.
        status: String,
        /// Why.
        #[arg(long, default_value = "")]
        reason: String,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Revoke one of an account's sessions.
    RevokeSession {
        /// The username.
        username: String,
        /// The session's public id.
        id: String,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Issue a single-use recovery enrolment link (URL and QR code) bound to a proofing record.
    Recovery {
        /// The username.
        username: String,
        /// The proofing record (default: the strongest, newest among equals).
        #[arg(long)]
        proofing: Option<String>,
        /// How long the link can be used, seconds (default 900).
        #[arg(long)]
        ttl: Option<u64>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Create an account without a passkey (it enrols through `enrolment`).
    CreateUser {
        /// The username.
        username: String,
        /// The name shown.
        #[arg(long = "display-name", default_value = "")]
        display_name: String,
        /// A tier of the policy.
        #[arg(long)]
        tier: Option<String>,
        /// A group of the policy.
        #[arg(long)]
        group: Option<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Issue a single-use enrolment link for an account's first passkey (URL and QR code),
    /// bound to a proofing record at its tier's `min_ial`.
    Enrolment {
        /// The username.
        username: String,
        /// The proofing record (default: the strongest).
        #[arg(long)]
        proofing: Option<String>,
        /// How long the link can be used, seconds (default 900).
        #[arg(long)]
        ttl: Option<u64>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Record an identity proofing of an account.
    Proofing {
        /// The username.
        username: String,
        /// NIST SP 800-63A identity assurance level, 1-3.
        #[arg(long)]
        ial: u8,
        /// How identity was established.
        #[arg(long)]
        method: String,
        /// Where the evidence is kept (a reference, never the document).
        #[arg(long)]
        evidence: String,
        /// Who verified.
        #[arg(long = "verified-by")]
        verified_by: String,
        #[command(flatten)]
        server: ServeArgs,
    },
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("passkeyd admin: {e}");
    ExitCode::from(2)
}

fn server_of(cmd: &AdminCommand) -> &ServeArgs {
    match cmd {
        AdminCommand::Users { server, .. }
        | AdminCommand::User { server, .. }
        | AdminCommand::SetPolicy { server, .. }
        | AdminCommand::CredentialStatus { server, .. }
        | AdminCommand::RevokeSession { server, .. }
        | AdminCommand::Proofing { server, .. }
        | AdminCommand::Recovery { server, .. }
        | AdminCommand::CreateUser { server, .. }
        | AdminCommand::Enrolment { server, .. } => server,
    }
}

/// Prints a new link's QR code to standard error and returns its URL and expiry.
fn show_link(
    config: &passkeyd_server::Config,
    (token, link): &(String, passkeyd_server::store::RecoveryLink),
) -> Result<serde_json::Value, passkeyd_server::Error> {
    let url = passkeyd_server::services::admin::link_url(config.public_url(), token, link);
    eprintln!("{}", passkeyd_server::services::admin::qr_text(&url)?);
    Ok(serde_json::json!({
        "url": url,
        "expiresAt": passkeyd_server::services::rfc3339(link.expires_at),
    }))
}

/// Runs an admin command.
pub fn run(cmd: AdminCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    runtime.block_on(async move {
        let config = match server_of(&cmd).resolve() {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let store = match open_store(&config).await {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let admin = Admin::new(store.clone(), config.policy.clone());
        let actor = admin_ref(&format!(
            "cli-{}",
            std::env::var("USER").unwrap_or_else(|_| "unknown".into())
        ));
        let result: Result<serde_json::Value, passkeyd_server::Error> = async {
            match &cmd {
                AdminCommand::Users { query, .. } => {
                    let users = store.list_users(query.trim(), 100_000).await?;
                    for u in &users {
                        println!(
                            "{}",
                            serde_json::json!({
                                "username": u.username,
                                "displayName": u.display_name,
                                "handle": b64::encode(&u.handle),
                                "requiredTier": u.required_tier,
                                "group": u.group,
                                "createdAt": u.created_at,
                            })
                        );
                    }
                    Ok(serde_json::Value::Null)
                }
                AdminCommand::User { username, .. } => {
                    let u = admin.user(username).await?;
                    let creds = store.credentials_for_user(&u.handle).await?;
                    let sessions = store
                        .sessions_for_user(&u.handle, passkeyd_server::services::now())
                        .await?;
                    let proofing = store.proofing_records(&u.handle).await?;
                    Ok(serde_json::json!({
                        "username": u.username,
                        "handle": b64::encode(&u.handle),
                        "requiredTier": u.required_tier,
                        "group": u.group,
                        "credentials": creds.iter().map(|c| serde_json::json!({
                            "id": b64::encode(&c.id),
                            "name": c.name,
                            "status": c.status.as_str(),
                            "statusReason": c.status_reason,
                            "aaguid": passkeyd_webauthn::aaguid::format_aaguid(c.aaguid),
                            "backupEligible": c.backup_eligible,
                            "attestation": c.attestation_trust,
                        })).collect::<Vec<_>>(),
                        "sessions": sessions.iter().map(|s| serde_json::json!({
                            "id": s.public_id, "aal": s.aal, "authenticatedAt": s.authenticated_at,
                        })).collect::<Vec<_>>(),
                        "proofing": proofing,
                    }))
                }
                AdminCommand::SetPolicy {
                    username,
                    tier,
                    group,
                    ..
                } => {
                    let u = admin
                        .set_user_policy(&actor, username, tier.as_deref(), group.as_deref())
                        .await?;
                    Ok(serde_json::json!({"username": u.username, "requiredTier": u.required_tier, "group": u.group}))
                }
                AdminCommand::CredentialStatus {
                    id, status, reason, ..
                } => {
                    let status = match status.as_str() {
                        "active" => CredentialStatus::Active,
                        "suspended" => CredentialStatus::Suspended,
                        "revoked" => CredentialStatus::Revoked,
                        other => {
                            return Err(passkeyd_server::Error::bad_request(
                                "invalid_request",
                                format!("status {other:?}: active, suspended or revoked"),
                            ));
                        }
                    };
                    let id = b64::decode(id).map_err(|_| {
                        passkeyd_server::Error::bad_request("invalid_request", "id: not base64url")
                    })?;
                    admin
                        .set_credential_status(&actor, &id, status, reason)
                        .await?;
                    Ok(serde_json::json!({"id": b64::encode(&id), "status": status.as_str()}))
                }
                AdminCommand::Recovery {
                    username,
                    proofing,
                    ttl,
                    ..
                } => {
                    let issued = admin
                        .issue_recovery(&actor, username, proofing.as_deref(), *ttl)
                        .await?;
                    show_link(&config, &issued)
                }
                AdminCommand::CreateUser {
                    username,
                    display_name,
                    tier,
                    group,
                    ..
                } => {
                    let u = admin
                        .create_user(&actor, username, display_name, tier.as_deref(), group.as_deref())
                        .await?;
                    Ok(serde_json::json!({"username": u.username, "handle": b64::encode(&u.handle)}))
                }
                AdminCommand::Enrolment {
                    username,
                    proofing,
                    ttl,
                    ..
                } => {
                    let issued = admin
                        .issue_enrolment(&actor, username, proofing.as_deref(), *ttl)
                        .await?;
                    show_link(&config, &issued)
                }
                AdminCommand::RevokeSession { username, id, .. } => {
                    admin.revoke_session(&actor, username, id).await?;
                    Ok(serde_json::json!({"revoked": id}))
                }
                AdminCommand::Proofing {
                    username,
                    ial,
                    method,
                    evidence,
                    verified_by,
                    ..
                } => {
                    let r = admin
                        .record_proofing(&actor, username, *ial, method, evidence, verified_by)
                        .await?;
                    serde_json::to_value(&r).map_err(|e| passkeyd_server::Error::Internal(e.to_string()))
                }
            }
        }
        .await;
        match result {
            Ok(serde_json::Value::Null) => ExitCode::SUCCESS,
            Ok(v) => {
                println!("{v}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("passkeyd admin: {}", e.public_message());
                ExitCode::from(1)
            }
        }
    })
}
