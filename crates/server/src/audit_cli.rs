//! `passkeyd audit verify` and `passkeyd audit export`: offline tools over the store the server
//! uses (the same `--config`, `--data-dir`, `--store` and `PASSKEYD_*` settings as `serve`).

use passkeyd_server::app::open_store;
use passkeyd_server::serve::ServeArgs;
use passkeyd_server::services::audit::{Audit, verify_chain};
use passkeyd_webauthn::trust::UnixTime;
use std::io::Write;
use std::process::ExitCode;

/// `passkeyd audit ...`.
#[derive(clap::Subcommand, Debug)]
pub enum AuditCommand {
    /// Check the whole chain: numbering, links, hashes, head and signed checkpoints. Prints the
    /// first broken link and exits 1 when there is one; exits 0 when the chain is whole.
    Verify {
        /// A checkpoint recorded elsewhere (from the log line `audit checkpoint`), as
        /// SEQ:HASH; repeatable.
        #[arg(long = "expect", value_name = "SEQ:HASH")]
        expect: Vec<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
    /// Write events as JSON lines to standard output.
    Export {
        /// Only events at or after this time (RFC 3339, e.g. 2026-11-01T00:00:00Z) or, as a
        /// plain number, after this sequence number.
        #[arg(long)]
        since: Option<String>,
        #[command(flatten)]
        server: ServeArgs,
    },
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("passkeyd audit: {e}");
    ExitCode::from(2)
}

/// Runs an audit command.
pub fn run(cmd: AuditCommand) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    runtime.block_on(async move {
        match cmd {
            AuditCommand::Verify { expect, server } => verify(&server, &expect).await,
            AuditCommand::Export { since, server } => export(&server, since.as_deref()).await,
        }
    })
}

async fn verify(server: &ServeArgs, expect: &[String]) -> ExitCode {
    let mut expected = Vec::new();
    for x in expect {
        match x
            .split_once(':')
            .and_then(|(s, h)| Some((s.parse::<i64>().ok()?, h)))
        {
            Some((seq, hash)) => expected.push((seq, hash.to_ascii_lowercase())),
            None => return fail(format!("--expect {x:?}: expected SEQ:HASH")),
        }
    }
    let config = match server.resolve() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let audit = match Audit::open(store.clone(), config.audit_checkpoint_every).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    match verify_chain(store.as_ref(), &audit.public_key(), &expected).await {
        Err(e) => fail(e),
        Ok(r) => match r.broken {
            None => {
                println!(
                    "audit chain intact: {} events, {} signed checkpoints verified",
                    r.events, r.checkpoints
                );
                ExitCode::SUCCESS
            }
            Some(why) => {
                println!("audit chain BROKEN after {} good events: {why}", r.events);
                ExitCode::from(1)
            }
        },
    }
}

async fn export(server: &ServeArgs, since: Option<&str>) -> ExitCode {
    let (after_seq, since_time) = match since {
        None => (0, i64::MIN),
        Some(s) => match s.parse::<i64>() {
            Ok(seq) => (seq, i64::MIN),
            Err(_) => match UnixTime::parse_rfc3339(s) {
                Some(t) => (0, t.0),
                None => {
                    return fail(format!(
                        "--since {s:?}: expected RFC 3339 (2026-11-01T00:00:00Z) or a sequence number"
                    ));
                }
            },
        },
    };
    let config = match server.resolve() {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let store = match open_store(&config).await {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut after = after_seq;
    loop {
        let page = match store.audit_events(after, 1000).await {
            Ok(p) => p,
            Err(e) => return fail(e),
        };
        let Some(last) = page.last().map(|e| e.seq) else {
            break;
        };
        for e in page.iter().filter(|e| e.at >= since_time) {
            let line = match serde_json::to_string(e) {
                Ok(l) => l,
                Err(e) => return fail(e),
            };
            if writeln!(out, "{line}").is_err() {
                return ExitCode::SUCCESS; // the reader went away
            }
        }
        after = last;
    }
    if out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    ExitCode::SUCCESS
}
