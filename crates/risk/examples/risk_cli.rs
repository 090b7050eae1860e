//! Runs the `passkeyd risk` subcommands (crates/server/src/risk_cli.rs) before the server's
//! main.rs wires them: `cargo run --release -p passkeyd-risk --example risk_cli -- eval keystroke --data FILE`.
#[path = "../../server/src/risk_cli.rs"]
mod risk_cli;

use clap::Parser;

#[derive(Parser, Debug)]
struct Cli {
    #[command(subcommand)]
    cmd: risk_cli::RiskCommand,
}

fn main() {
    let cli = Cli::parse();
    if let Err(e) = risk_cli::run(cli.cmd) {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}
