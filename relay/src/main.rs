//! `estafette-relay`: the relay's command line.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use clap::{Parser, Subcommand, ValueEnum};
use estafette_relay::store::RegisterRefusal;
use estafette_relay::{Relay, SessionConfig, Settings, SqliteStore, Store, StoreLimits};
use sha2::{Digest, Sha256};

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
    /// Directory of the embedded store.
    #[arg(
        long,
        env = "ESTAFETTE_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    data_dir: PathBuf,
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
    Serve(Box<ServeArgs>),
    /// Invite someone: prints a single-use join URL.
    Invite {
        /// The person's handle, e.g. prenom.nom@ministere.gouv.fr.
        #[arg(long)]
        handle: String,
        /// The person's display name, e.g. "Prénom Nom".
        #[arg(long)]
        name: String,
        /// Days before the invitation expires.
        #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u64).range(1..=90))]
        expires_days: u64,
        /// The site's public URL, the start of the join link.
        #[arg(
            long,
            env = "ESTAFETTE_SITE_URL",
            default_value = "http://127.0.0.1:8080"
        )]
        site_url: String,
    },
    /// Revoke an account: no more sign-in, queues and prekeys dropped, sockets closed.
    Revoke {
        /// The account's handle.
        #[arg(long)]
        handle: String,
    },
    /// List accounts.
    List,
    /// List an account's devices.
    Devices {
        /// The account's handle.
        #[arg(long)]
        handle: String,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ESTAFETTE_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Built web app to serve (output of `trunk build --release`); omit to serve none.
    #[arg(long, env = "ESTAFETTE_SITE_DIR")]
    site_dir: Option<PathBuf>,
    /// Origin clients reach the relay at (e.g. wss://relay.ministere.gouv.fr); repeatable.
    /// Default: ws://<listen> (and ws://localhost:<port> on loopback), for development.
    #[arg(
        long = "public-origin",
        env = "ESTAFETTE_PUBLIC_ORIGINS",
        value_delimiter = ','
    )]
    public_origins: Vec<String>,
    /// Frames queued per socket before a slow client is disconnected.
    #[arg(long, env = "ESTAFETTE_OUTBOUND_QUEUE", default_value_t = 256, value_parser = clap::value_parser!(u16).range(16..))]
    outbound_queue: u16,
    /// Seconds of silence after which a client is disconnected.
    #[arg(long, env = "ESTAFETTE_IDLE_TIMEOUT_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(5..=3600))]
    idle_timeout_secs: u64,
    /// New connections per second accepted from one IP address.
    #[arg(long, env = "ESTAFETTE_CONNECTIONS_PER_IP", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    connections_per_ip: u32,
    /// Frames per second one connection may send.
    #[arg(long, env = "ESTAFETTE_FRAME_RATE", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    frame_rate: u32,
    /// Copies queued per device before sends to it answer QueueFull.
    #[arg(long, env = "ESTAFETTE_QUEUE_MAX", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    queue_max: u64,
    /// Days a copy waits in a queue before it expires.
    #[arg(long, env = "ESTAFETTE_RETENTION_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=365))]
    retention_days: u64,
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

fn nonzero(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

async fn serve(args: ServeArgs, data_dir: PathBuf) -> ExitCode {
    let session = SessionConfig {
        outbound_queue: usize::from(args.outbound_queue),
        idle_timeout: Duration::from_secs(args.idle_timeout_secs),
        frame_rate: nonzero(args.frame_rate),
        frame_burst: nonzero(args.frame_rate.saturating_mul(2)),
        ..SessionConfig::default()
    };
    let limits = StoreLimits {
        max_queue_count: args.queue_max,
        retention_ms: args.retention_days * 24 * 3600 * 1000,
        ..StoreLimits::default()
    };
    let settings = Settings {
        listen: args.listen,
        data_dir,
        site_dir: args.site_dir,
        public_origins: args.public_origins,
        connections_per_ip: nonzero(args.connections_per_ip),
        session,
        limits,
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

/// `prenom.nom@ministere.gouv.fr`: lowercase ASCII letters, digits, `.`, `-`, `_`, one `@`.
fn valid_handle(handle: &str) -> bool {
    let Some((local, domain)) = handle.split_once('@') else {
        return false;
    };
    let ok = |part: &str| {
        !part.is_empty()
            && part
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b".-_".contains(&b))
    };
    handle.len() <= estafette_wire::limits::MAX_HANDLE_BYTES
        && ok(local)
        && ok(domain)
        && domain.contains('.')
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("estafette-relay: {message}");
    ExitCode::FAILURE
}

async fn admin(command: Command, data_dir: PathBuf) -> ExitCode {
    let store: Arc<dyn Store> = match SqliteStore::open(&data_dir, StoreLimits::default()) {
        Ok(store) => Arc::new(store),
        Err(error) => return fail(error),
    };
    match command {
        Command::Serve(_) => ExitCode::FAILURE,
        Command::Invite {
            handle,
            name,
            expires_days,
            site_url,
        } => {
            let handle = handle.trim().to_lowercase();
            let name = name.trim().to_owned();
            if !valid_handle(&handle) {
                return fail(format!(
                    "'{handle}' is not a valid handle: use prenom.nom@ministere.gouv.fr (lowercase letters, digits, '.', '-', '_')."
                ));
            }
            if name.is_empty() || name.len() > estafette_wire::limits::MAX_NAME_BYTES {
                return fail("the name must have 1 to 128 bytes.");
            }
            let mut secret = [0u8; 32];
            if getrandom::fill(&mut secret).is_err() {
                return fail("the system has no randomness available.");
            }
            let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
            let now = now_ms();
            let expires = now + expires_days * 24 * 3600 * 1000;
            match store
                .create_invite(
                    handle.clone(),
                    name,
                    Sha256::digest(token.as_bytes()).into(),
                    now,
                    expires,
                )
                .await
            {
                Err(error) => fail(error),
                Ok(Err(RegisterRefusal::Revoked)) => {
                    fail(format!("{handle} is revoked; invite a new handle."))
                }
                Ok(Err(_)) => fail("the invitation could not be created."),
                Ok(Ok(())) => {
                    println!("{}/#/join/{token}", site_url.trim_end_matches('/'));
                    eprintln!(
                        "Single-use invitation for {handle}, valid {expires_days} days. Send this link to them only."
                    );
                    ExitCode::SUCCESS
                }
            }
        }
        Command::Revoke { handle } => match store.revoke(handle.clone(), now_ms()).await {
            Err(error) => fail(error),
            Ok(None) => fail(format!("no account has the handle {handle}.")),
            Ok(Some(devices)) => {
                println!(
                    "{handle} revoked: {} device(s) signed out, queues and prekeys deleted.",
                    devices.len()
                );
                ExitCode::SUCCESS
            }
        },
        Command::List => match store.list_accounts().await {
            Err(error) => fail(error),
            Ok(accounts) => {
                println!("{:<40} {:<30} {:<11} devices", "handle", "name", "state");
                for a in accounts {
                    let state = match (a.revoked_at_ms, a.registered) {
                        (Some(_), _) => "revoked",
                        (None, true) => "active",
                        (None, false) => "invited",
                    };
                    println!(
                        "{:<40} {:<30} {:<11} {}",
                        a.handle, a.name, state, a.devices
                    );
                }
                ExitCode::SUCCESS
            }
        },
        Command::Devices { handle } => match store.list_devices(handle.clone()).await {
            Err(error) => fail(error),
            Ok(None) => fail(format!("no account has the handle {handle}.")),
            Ok(Some(devices)) => {
                println!(
                    "{:<34} {:>14} {:>8} {:>6} {:>6}",
                    "device", "registered_ms", "queued", "opk", "pqopk"
                );
                for d in devices {
                    let id: String = d.device_id.0.iter().map(|b| format!("{b:02x}")).collect();
                    println!(
                        "{id:<34} {:>14} {:>8} {:>6} {:>6}",
                        d.created_at_ms, d.queued, d.one_time_prekeys, d.kem_one_time_prekeys
                    );
                }
                ExitCode::SUCCESS
            }
        },
    }
}

/// Raises the open-files limit as far as allowed: every client holds a socket.
/// Root may raise the hard limit up to `fs.nr_open`; others the soft one up to the hard one.
#[cfg(unix)]
fn raise_open_files_limit() {
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    if rlimit::setrlimit(rlimit::Resource::NOFILE, ceiling, ceiling).is_ok() {
        return;
    }
    if let Err(error) = rlimit::increase_nofile_limit(ceiling) {
        tracing::warn!(%error, "cannot raise the open-files limit; few clients may connect");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs(cli.log_format);
    #[cfg(unix)]
    raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        // Store reads run on blocking threads; bursts must not spawn hundreds.
        .max_blocking_threads(16)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => return fail(format!("cannot start the async runtime: {error}")),
    };
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve(*args, cli.data_dir)),
        command => runtime.block_on(admin(command, cli.data_dir)),
    }
}
