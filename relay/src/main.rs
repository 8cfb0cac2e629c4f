//! `estafette-relay`: the relay's command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use estafette_relay::{Relay, Settings};

#[derive(Parser)]
#[command(
    name = "estafette-relay",
    version,
    about = "The Estafette relay: routes end-to-end encrypted messages and serves the web app."
)]
struct Cli {
    /// Log format.
    #[arg(long, env = "ESTAFETTE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the WebSocket endpoint, /healthz, /metrics and (optionally) the web app.
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ESTAFETTE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the embedded store.
    #[arg(long, env = "ESTAFETTE_DATA_DIR", default_value = "./data")]
    data_dir: PathBuf,
    /// Built web app to serve (output of `trunk build --release`); omit to serve none.
    #[arg(long, env = "ESTAFETTE_SITE_DIR")]
    site_dir: Option<PathBuf>,
    /// Frames queued per socket before a slow client is disconnected.
    #[arg(long, env = "ESTAFETTE_OUTBOUND_QUEUE", default_value_t = 64, value_parser = clap::value_parser!(u16).range(1..))]
    outbound_queue: u16,
    /// Seconds of silence after which a client is disconnected.
    #[arg(long, env = "ESTAFETTE_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=3600))]
    idle_timeout_secs: u64,
}

fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("ESTAFETTE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn stop_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

async fn serve(args: ServeArgs) -> ExitCode {
    let settings = Settings {
        listen: args.listen,
        data_dir: args.data_dir,
        site_dir: args.site_dir,
        outbound_queue: usize::from(args.outbound_queue),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
    };
    let site = settings.site_dir.is_some();
    let relay = match Relay::start(settings).await {
        Ok(relay) => relay,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            eprintln!("estafette-relay: {error}");
            return ExitCode::FAILURE;
        }
    };
    let addr = relay.local_addr();
    if site {
        println!("Estafette is running: open http://{addr}/  (Ctrl+C to stop)");
    } else {
        println!(
            "Estafette relay is running on http://{addr}/ (no web app served)  (Ctrl+C to stop)"
        );
    }
    stop_signal().await;
    tracing::info!("stopping: telling clients to reconnect later");
    relay.shutdown(Duration::from_secs(5)).await;
    tracing::info!("stopped");
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("estafette-relay: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(args)),
    }
}
