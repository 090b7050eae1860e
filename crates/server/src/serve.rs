//! `passkeyd serve`: merge the configuration, start logging, open the data directory, listen,
//! and shut down gracefully on SIGTERM or SIGINT (in-flight requests finish, the database is
//! closed).

use crate::app::AppState;
use crate::config::{Config, FileConfig, LogFormat};
use crate::routes::app;
use std::path::PathBuf;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

/// Flags of `passkeyd serve`. Each wins over its `PASSKEYD_*` variable, which wins over the
/// config file.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080; env: PASSKEYD_LISTEN].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Relying-party id: the domain passkeys are bound to [default: localhost; env: PASSKEYD_RP_ID].
    #[arg(long = "rp-id", value_name = "ID")]
    pub rp_id: Option<String>,
    /// Relying-party name shown by authenticators [default: passkeyd; env: PASSKEYD_RP_NAME].
    #[arg(long = "rp-name", value_name = "NAME")]
    pub rp_name: Option<String>,
    /// Accepted origin, repeatable [default: http://localhost:PORT for rp id localhost;
    /// env: PASSKEYD_ORIGINS, comma-separated].
    #[arg(long = "origin", value_name = "URL")]
    pub origins: Vec<String>,
    /// Directory for the database and server secret [default: ./passkeyd-data; env: PASSKEYD_DATA_DIR].
    #[arg(long = "data-dir", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Log format: compact, pretty or json [default: compact; env: PASSKEYD_LOG_FORMAT].
    #[arg(long = "log-format", value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// Shared PostgreSQL for accounts, credentials and sessions, postgres://... [default: SQLite
    /// in the data directory; env: PASSKEYD_STORE_URL].
    #[arg(long = "store", value_name = "URL")]
    pub store: Option<String>,
    /// Shared Redis for pending ceremonies, redis://... [default: process memory;
    /// env: PASSKEYD_EPHEMERAL_URL].
    #[arg(long = "ephemeral", value_name = "URL")]
    pub ephemeral: Option<String>,
    /// TOML configuration file (see passkeyd.example.toml).
    #[arg(long, value_name = "FILE", env = "PASSKEYD_CONFIG")]
    pub config: Option<PathBuf>,
}

impl ServeArgs {
    fn as_overlay(&self) -> FileConfig {
        FileConfig {
            listen: self.listen.clone(),
            rp_id: self.rp_id.clone(),
            rp_name: self.rp_name.clone(),
            origins: (!self.origins.is_empty()).then(|| self.origins.clone()),
            data_dir: self.data_dir.clone(),
            log_format: self.log_format.clone(),
            store: self.store.clone().map(|url| crate::config::StoreSection {
                url: Some(url),
                ..Default::default()
            }),
            ephemeral: self
                .ephemeral
                .clone()
                .map(|url| crate::config::EphemeralSection {
                    url: Some(url),
                    key_prefix: None,
                }),
            ..FileConfig::default()
        }
    }

    /// The validated configuration: file, then environment, then flags.
    pub fn resolve(&self) -> Result<Config, crate::config::ConfigError> {
        let file = match &self.config {
            Some(path) => FileConfig::from_file(path)?,
            None => FileConfig::default(),
        };
        let env = FileConfig::from_env(|k| std::env::var(k).ok())?;
        Config::resolve(file.overlay(env).overlay(self.as_overlay()))
    }
}

/// The log subscriber of `passkeyd serve`, writing to `writer` (stderr in production, a
/// buffer in tests). Every event inside a request carries the request's span (`request_id`,
/// `method`, `route`): as a `request{...}:` prefix in the text formats, as the `span` and
/// `spans` members in JSON.
pub fn log_subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
    ansi: bool,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(builder.json().finish()),
        LogFormat::Pretty => Box::new(builder.pretty().finish()),
        LogFormat::Compact => Box::new(builder.compact().finish()),
    }
}

fn init_logging(config: &Config) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log_level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let ansi = config.log_format != LogFormat::Json
        && std::io::IsTerminal::is_terminal(&std::io::stderr());
    let subscriber = log_subscriber(config.log_format, filter, std::io::stderr, ansi);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Runs `passkeyd serve` to completion.
pub fn run(args: ServeArgs) -> ExitCode {
    let config = match args.resolve() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("passkeyd serve: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("passkeyd serve: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "passkeyd serve stopped");
            eprintln!("passkeyd serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Serves until SIGTERM or SIGINT.
pub async fn serve(config: Config) -> Result<(), Box<dyn std::error::Error>> {
    let listen = config.listen;
    let url = config.public_url().to_owned();
    let state = AppState::open(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, rp_id = %state.config.rp_id, data_dir = %state.config.data_dir.display(), "passkeyd serving");
    println!("passkeyd is listening on {bound}; open {url}");
    let purge = tokio::spawn(purge_ended_sessions(state.clone()));
    let checkpoints = tokio::spawn(sign_audit_checkpoints(state.clone()));
    axum::serve(
        listener,
        app(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    purge.abort();
    checkpoints.abort();
    state.close().await;
    tracing::info!("passkeyd stopped");
    Ok(())
}

/// Signs audit checkpoints as the chain grows (every instance may: a checkpoint per sequence
/// number is stored once).
async fn sign_audit_checkpoints(state: AppState) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        if let Err(e) = state.audit.checkpoint().await {
            tracing::warn!(error = %e, "cannot sign audit checkpoints");
        }
    }
}

/// How long an ended session's record is kept (the session list and introspection only need
/// live ones; the audit trail keeps sign-ins for good).
pub const ENDED_SESSION_RETENTION_SECS: i64 = 24 * 3600;
/// How often ended sessions are purged.
const PURGE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(3600);

/// Deletes session records a day after they ended, hourly, so the sessions table holds about a
/// day of sign-ins rather than every sign-in ever.
async fn purge_ended_sessions(state: AppState) {
    let mut tick = tokio::time::interval(PURGE_INTERVAL);
    loop {
        tick.tick().await;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        match state
            .store
            .purge_sessions(now - ENDED_SESSION_RETENTION_SECS)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(purged = n, "ended sessions purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge ended sessions"),
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("SIGINT: shutting down"),
        () = term => tracing::info!("SIGTERM: shutting down"),
    }
}
