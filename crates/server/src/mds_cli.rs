//! `passkeyd mds import BLOB`: verifies a FIDO Metadata Service (MDS3) BLOB, records which
//! authenticator models it blocks (registration then refuses them), and suspends the stored
//! passkeys of those models, each suspension an anomaly in the audit trail.

use passkeyd_server::app::open_store;
use passkeyd_server::serve::ServeArgs;
use passkeyd_server::store::{AuditEvent, Store};
use passkeyd_webauthn::aaguid::format_aaguid;
use passkeyd_webauthn::b64;
use passkeyd_webauthn::mds::{MdsOptions, MetadataBlob};
use passkeyd_webauthn::trust::{TrustAnchors, UnixTime};
use std::path::PathBuf;
use std::process::ExitCode;

/// `passkeyd mds ...`.
#[derive(clap::Subcommand, Debug)]
pub enum MdsCommand {
    /// Verify a BLOB (the JWS from https://mds3.fidoalliance.org/), then block the models whose
    /// latest status is compromised and suspend the passkeys of those models. Prints a JSON
    /// summary; exits 1 when the BLOB does not verify.
    Import {
        /// The BLOB file.
        blob: PathBuf,
        /// Trust this root (PEM) for the BLOB's chain instead of the GlobalSign roots; repeatable.
        #[arg(long = "root", value_name = "PEM")]
        roots: Vec<PathBuf>,
        /// Accept a signing certificate with this name instead of the FIDO Alliance's; repeatable.
        #[arg(long = "signer-name", value_name = "NAME")]
        signer_names: Vec<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
}

fn fail(code: u8, e: impl std::fmt::Display) -> ExitCode {
    eprintln!("passkeyd mds: {e}");
    ExitCode::from(code)
}

/// Runs an MDS command.
pub fn run(cmd: MdsCommand) -> ExitCode {
    let MdsCommand::Import {
        blob,
        roots,
        signer_names,
        server,
    } = cmd;
    let bytes = match std::fs::read(&blob) {
        Ok(b) => b,
        Err(e) => return fail(2, format!("{}: {e}", blob.display())),
    };
    let mut options = MdsOptions::default();
    if !roots.is_empty() {
        let mut anchors = TrustAnchors::new();
        for path in &roots {
            match std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|pem| TrustAnchors::from_pem(&pem).map_err(|e| e.to_string()))
            {
                Ok(a) => anchors.extend(&a),
                Err(e) => return fail(2, format!("{}: {e}", path.display())),
            }
        }
        options.roots = anchors;
    }
    if !signer_names.is_empty() {
        options.signer_names = signer_names;
    }
    let metadata = match MetadataBlob::verify(&bytes, &options) {
        Ok(m) => m,
        Err(e) => return fail(1, format!("the BLOB does not verify: {e}")),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(2, e),
    };
    runtime.block_on(async move {
        let config = match server.resolve() {
            Ok(c) => c,
            Err(e) => return fail(2, e),
        };
        let store = match open_store(&config).await {
            Ok(s) => s,
            Err(e) => return fail(2, e),
        };
        match import(store.as_ref(), &metadata, &options).await {
            Ok(summary) => {
                println!("{summary}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(2, e),
        }
    })
}

async fn import(
    store: &dyn Store,
    metadata: &MetadataBlob,
    options: &MdsOptions,
) -> Result<serde_json::Value, passkeyd_server::store::StoreError> {
    let now = UnixTime::now();
    let blocked: Vec<([u8; 16], String)> = metadata
        .entries()
        .iter()
        .filter(|e| e.is_blocked(now, &options.blocking_statuses))
        .filter_map(|e| {
            let status = e.status(now).map(|s| s.to_string())?;
            Some((e.aaguid?, status))
        })
        .collect();
    // Every listed model's latest status, for the tiers' `mds_block` lists.
    let statuses: Vec<([u8; 16], String)> = metadata
        .entries()
        .iter()
        .filter_map(|e| Some((e.aaguid?, e.status(now)?.to_string())))
        .collect();
    // Every listed model's attestation roots: anchors of its attestation at registration.
    let roots: Vec<([u8; 16], Vec<Vec<u8>>)> = metadata
        .entries()
        .iter()
        .filter_map(|e| {
            let certs: Vec<Vec<u8>> = e
                .attestation_roots()
                .certificates()
                .iter()
                .map(|c| c.der().to_vec())
                .collect();
            Some((e.aaguid?, certs)).filter(|(_, c)| !c.is_empty())
        })
        .collect();
    let blob_no = i64::try_from(metadata.no()).unwrap_or(i64::MAX);
    let mut e = AuditEvent::new("mds_imported", "system", "success");
    e.details = serde_json::json!({
        "no": metadata.no(),
        "entries": metadata.len(),
        "blocked": blocked.iter().map(|(a, s)| serde_json::json!({"aaguid": format_aaguid(*a), "status": s})).collect::<Vec<_>>(),
        "next_update": metadata.next_update_text(),
    })
    .to_string();
    store.replace_mds(&statuses, &roots, blob_no, &e).await?;
    let in_use = store.aaguids_in_use().await?;
    let mut suspended = Vec::new();
    for (aaguid, status) in blocked.iter().filter(|(a, _)| in_use.contains(a)) {
        let reason = format!("FIDO metadata status {status} for this authenticator model");
        for (id, owner) in store.suspend_aaguid(aaguid, &reason).await? {
            let mut a = AuditEvent::new("anomaly", "system", "detected");
            a.subject = Some(passkeyd_server::services::audit::user_ref(&owner));
            a.credential_id = Some(b64::encode(&id));
            a.aaguid = Some(format_aaguid(*aaguid));
            a.details = serde_json::json!({
                "kind": "mds_compromised",
                "status": status,
                "blob_no": metadata.no(),
                "action": "credential_suspended",
            })
            .to_string();
            store.append_audit(&a).await?;
            suspended.push(b64::encode(&id));
        }
    }
    Ok(serde_json::json!({
        "no": metadata.no(),
        "entries": metadata.len(),
        "blocked_models": blocked.len(),
        "suspended_passkeys": suspended,
    }))
}
