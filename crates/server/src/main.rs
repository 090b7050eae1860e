//! `passkeyd`: the passkey authentication server and its offline tools.
//!
//! ```text
//! passkeyd serve [--listen ADDR] [--rp-id ID] [--origin URL]...   run the passkey server
//! passkeyd verify CASE.json                 verify a recorded WebAuthn response offline
//! passkeyd risk eval keystroke --data FILE  reproduce the keystroke-dynamics benchmark
//! passkeyd risk eval mouse --data DIR       evaluate mouse dynamics on the Balabit data
//! passkeyd admin users|user|set-policy|credential-status|revoke-session|proofing ...
//! passkeyd mds import BLOB [--root PEM]        block compromised models, suspend their passkeys
//! passkeyd audit verify [--expect SEQ:HASH]  check the audit chain, name the first broken link
//! passkeyd audit export [--since TIME|SEQ]   audit events as JSON lines
//! ```
#![forbid(unsafe_code)]

mod admin_cli;
mod audit_cli;
mod mds_cli;
mod risk_cli;
mod verify;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "passkeyd",
    version,
    about = "Passkey (WebAuthn) authentication server and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the passkey server (defaults: 127.0.0.1:8080, rp id localhost, ./passkeyd-data).
    Serve(passkeyd_server::serve::ServeArgs),
    /// Verify a recorded registration or authentication response offline.
    ///
    /// CASE.json uses the passkeyd test-vector schema (the response, the expected challenge,
    /// origins and RP ID, and for assertions the stored credential). Prints one JSON verdict;
    /// exits 0 whether or not the response verifies, 2 if the file cannot be read.
    Verify {
        /// The case file.
        case: PathBuf,
    },
    /// Administration: accounts, tiers, passkeys, sessions, identity proofing.
    Admin {
        #[command(subcommand)]
        cmd: admin_cli::AdminCommand,
    },
    /// FIDO Metadata Service: import a BLOB, block compromised models, suspend their passkeys.
    Mds {
        #[command(subcommand)]
        cmd: mds_cli::MdsCommand,
    },
    /// The tamper-evident audit log: verify the chain, export events.
    Audit {
        #[command(subcommand)]
        cmd: audit_cli::AuditCommand,
    },
    /// Continuous-authentication evaluations.
    Risk {
        #[command(subcommand)]
        cmd: risk_cli::RiskCommand,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => passkeyd_server::serve::run(args),
        Command::Verify { case } => verify::run(&case),
        Command::Audit { cmd } => audit_cli::run(cmd),
        Command::Admin { cmd } => admin_cli::run(cmd),
        Command::Mds { cmd } => mds_cli::run(cmd),
        Command::Risk { cmd } => match risk_cli::run(cmd) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("passkeyd risk: {e}");
                ExitCode::from(2)
            }
        },
    }
}
