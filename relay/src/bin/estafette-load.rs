//! `estafette-load`: starts a fresh relay and measures it under load.
//!
//! It creates the invitations directly in a new data directory, starts the
//! relay binary on it, registers devices over WebSockets from several loopback
//! source addresses, then measures:
//!
//! 1. traffic: pairs of devices sending each other messages at a fixed total
//!    rate (pipelined, a window of sends in flight per device); acceptance and
//!    delivery rates, latencies, errors, the relay's CPU and memory;
//! 2. group: one sender sending group messages (one `GroupSend` each) to many
//!    connected devices; delivery latency per message and device, then the
//!    database bytes per group message stored for offline devices, against
//!    the same messages as one 1:1 copy per device;
//! 3. idle: many devices registered, then reconnected and authenticated, and
//!    left idle; the relay's memory with those sockets open.
//!
//! Everything runs on loopback; every loop is bounded in count and time.
//! See `docs/load.md`.

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Display;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Parser;
use estafette_crypto::{Account, Device, DeviceId as CryptoDeviceId, PreKeyStore};
use estafette_relay::{SqliteStore, Store, StoreLimits};
use estafette_wire::limits::{MAX_ENVELOPES_PER_SEND, MAX_GROUP_ACCOUNTS};
use estafette_wire::{
    ChallengeAnswer, ClientFrame, DeviceId, Envelope, GroupRecipient, GroupSend, Hello, KemPreKey,
    PreKeyUpload, Register, Send, ServerFrame, SignedPreKey, WIRE_VERSION, Welcome,
};
use futures::{FutureExt, SinkExt, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// `/proc/<pid>/stat` times are in USER_HZ, 100 on every Linux ABI.
const TICKS_PER_SECOND: f64 = 100.0;
/// How long one connection may take to open and authenticate.
const SETUP_TIMEOUT: Duration = Duration::from_secs(60);
/// How long to wait, after the last send, for the last answers and deliveries.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Parser, Clone)]
#[command(
    name = "estafette-load",
    about = "Load generator for the Estafette relay: message throughput and latency, then idle sockets."
)]
struct Args {
    /// Relay binary to start (default: estafette-relay next to this program).
    #[arg(long)]
    relay_bin: Option<PathBuf>,
    /// Connect from 127.0.0.1 ..= 127.0.0.N (spreads the ephemeral ports).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=250))]
    sources: u8,
    /// Pairs of devices exchanging messages (0: no traffic phase).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=20_000))]
    pairs: u32,
    /// Messages per second offered, all devices together.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    rate: u32,
    /// Seconds of measured traffic.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Seconds of traffic before the measurement starts.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(0..=600))]
    warmup: u64,
    /// Sends in flight (sent, not yet answered) per device.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    window: u32,
    /// Payload bytes per message (the first 16 carry timestamps).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(16..=65_536))]
    payload: u32,
    /// Recipient devices of the group phase, one account each, plus one sender (0: no group phase).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=MAX_GROUP_ACCOUNTS as i64))]
    group_members: u32,
    /// Group messages per second the sender offers.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    group_rate: u32,
    /// Group messages stored for offline members to measure the storage per message (0: skip).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(0..=100_000))]
    storage_messages: u32,
    /// Idle devices to register, reconnect, authenticate and hold (0: no idle phase).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=500_000))]
    idle: u32,
    /// Seconds to hold the idle sockets before the final figures.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(0..=3600))]
    idle_hold: u64,
    /// Connections being opened at once during setup.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    concurrency: u32,
    /// Worker threads of the generator (default: the number of CPUs).
    #[arg(long)]
    threads: Option<usize>,
    /// Parent of the temporary data directory (default: the system's temp dir).
    #[arg(long)]
    tmp_dir: Option<PathBuf>,
    /// Keep the data directory (and the relay's log) afterwards.
    #[arg(long)]
    keep_data: bool,
    /// Extra argument for `estafette-relay serve`, repeatable (e.g. --relay-arg=--outbound-queue=1024).
    #[arg(long = "relay-arg", allow_hyphen_values = true)]
    relay_args: Vec<String>,
}

type Res<T> = Result<T, String>;

trait Context<T> {
    fn context(self, what: impl Display) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("estafette-load: {error}");
            ExitCode::FAILURE
        }
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

// ---------------------------------------------------------------------------
// Process and machine figures (/proc).

/// Raises RLIMIT_NOFILE (soft and hard) as far as allowed; returns the soft limit.
fn raise_nofile() -> u64 {
    let ceiling = std::fs::read_to_string("/proc/sys/fs/nr_open")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(1 << 20);
    if rlimit::setrlimit(rlimit::Resource::NOFILE, ceiling, ceiling).is_ok() {
        return ceiling;
    }
    rlimit::increase_nofile_limit(ceiling).unwrap_or(0)
}

/// Open file descriptors of a process (`self` or a pid).
fn open_fds(pid: &str) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
}

fn rss_kib(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// (comm, utime + stime in ticks) from a `/proc/.../stat` file.
fn stat_cpu(path: &Path) -> Option<(String, u64)> {
    let text = std::fs::read_to_string(path).ok()?;
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let comm = text.get(open + 1..close)?.to_owned();
    let mut fields = text.get(close + 1..)?.split_whitespace();
    // After the comm: state(3) ... utime(14) stime(15): the 12th and 13th.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((comm, utime + stime))
}

/// CPU ticks of a process, in all and by thread name.
#[derive(Clone, Default)]
struct ProcCpu {
    total: u64,
    threads: BTreeMap<String, u64>,
}

fn proc_cpu(pid: &str) -> ProcCpu {
    let mut cpu = ProcCpu {
        total: stat_cpu(Path::new(&format!("/proc/{pid}/stat"))).map_or(0, |(_, t)| t),
        threads: BTreeMap::new(),
    };
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for task in tasks.flatten() {
            if let Some((comm, ticks)) = stat_cpu(&task.path().join("stat")) {
                *cpu.threads.entry(comm).or_default() += ticks;
            }
        }
    }
    cpu
}

/// (busy, total) ticks of the whole machine.
fn machine_cpu() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    let line = text.lines().next()?.strip_prefix("cpu ")?;
    let values: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = values.iter().take(8).sum();
    let idle: u64 = values.iter().skip(3).take(2).sum();
    Some((total - idle, total))
}

/// Figures sampled at one instant, to difference later.
#[derive(Clone)]
struct Sample {
    at: Instant,
    relay: ProcCpu,
    generator: ProcCpu,
    machine: Option<(u64, u64)>,
}

impl Sample {
    fn take(relay_pid: u32) -> Self {
        Self {
            at: Instant::now(),
            relay: proc_cpu(&relay_pid.to_string()),
            generator: proc_cpu("self"),
            machine: machine_cpu(),
        }
    }
}

/// CPU use between two samples.
struct CpuUse {
    seconds: f64,
    relay: f64,
    relay_threads: BTreeMap<String, f64>,
    generator: f64,
    machine_busy: Option<f64>,
}

fn cpu_use(a: &Sample, b: &Sample) -> CpuUse {
    let seconds = b.at.duration_since(a.at).as_secs_f64().max(1e-9);
    let share = |ticks: u64| ticks as f64 / TICKS_PER_SECOND / seconds;
    let relay_threads = b
        .relay
        .threads
        .iter()
        .map(|(name, t)| {
            let before = a.relay.threads.get(name).copied().unwrap_or(0);
            (name.clone(), share(t.saturating_sub(before)))
        })
        .collect();
    CpuUse {
        seconds,
        relay: share(b.relay.total.saturating_sub(a.relay.total)),
        relay_threads,
        generator: share(b.generator.total.saturating_sub(a.generator.total)),
        machine_busy: match (a.machine, b.machine) {
            (Some((busy_a, total_a)), Some((busy_b, total_b))) if total_b > total_a => {
                Some((busy_b - busy_a) as f64 / (total_b - total_a) as f64)
            }
            _ => None,
        },
    }
}

fn print_cpu(cpu: &CpuUse) {
    let threads: Vec<String> = cpu
        .relay_threads
        .iter()
        .filter(|(_, v)| **v >= 0.005)
        .map(|(name, v)| format!("{name} {:.0}%", v * 100.0))
        .collect();
    println!(
        "  relay CPU                : {:.0}% of one core over {:.1} s ({})",
        cpu.relay * 100.0,
        cpu.seconds,
        threads.join(", ")
    );
    println!(
        "  generator CPU            : {:.0}% of one core",
        cpu.generator * 100.0
    );
    if let Some(busy) = cpu.machine_busy {
        let cores = cpus() as f64;
        println!(
            "  machine CPU busy         : {:.0}% of {} cores (relay and generator share them); other processes and kernel threads {:.0}% of one core",
            busy * 100.0,
            cores,
            ((busy * cores - cpu.relay - cpu.generator) * 100.0).max(0.0)
        );
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("?".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

// ---------------------------------------------------------------------------
// The data directory and the relay process.

struct DataDir {
    path: PathBuf,
    keep: bool,
}

impl DataDir {
    fn create(parent: Option<PathBuf>, keep: bool) -> Res<Self> {
        let parent = parent.unwrap_or_else(std::env::temp_dir);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!("estafette-load-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).context(format!(
            "cannot create the data directory {}",
            path.display()
        ))?;
        Ok(Self { path, keep })
    }
}

impl Drop for DataDir {
    fn drop(&mut self) {
        if self.keep {
            println!("data directory kept: {}", self.path.display());
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

struct RelayProc {
    child: Child,
    addr: SocketAddr,
    pid: u32,
    log: PathBuf,
    bin: PathBuf,
    data: PathBuf,
    extra: Vec<String>,
}

impl RelayProc {
    fn start(bin: &Path, data: &Path, extra: &[String]) -> Res<Self> {
        let log = data.join("relay.log");
        let log_file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .context("cannot create the relay log")?;
        let mut child = Command::new(bin)
            .arg("--data-dir")
            .arg(data)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--connections-per-ip",
                "1000000",
                "--frame-rate",
                "100000",
                "--queue-max",
                "1000000",
                "--idle-timeout-secs",
                "3600",
            ])
            .args(extra)
            .env("ESTAFETTE_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .context(format!("cannot start {}", bin.display()))?;
        let pid = child.id();
        let mut line = String::new();
        if let Some(stdout) = child.stdout.take() {
            // The relay prints its address first, or exits (EOF) on failure.
            let _ = BufReader::new(stdout).read_line(&mut line);
        }
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split('/').next())
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            let said = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(format!(
                "the relay did not start (stdout {line:?}); its log:\n{said}"
            ));
        };
        Ok(Self {
            child,
            addr,
            pid,
            log,
            bin: bin.to_path_buf(),
            data: data.to_path_buf(),
            extra: extra.to_vec(),
        })
    }

    /// Kills the relay (its data is durable) and starts it again on the same data.
    fn restart(&mut self) -> Res<()> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        *self = Self::start(&self.bin, &self.data, &self.extra)?;
        Ok(())
    }

    /// A `/proc/<pid>/status` field, e.g. `RssAnon:` or `Threads:`.
    fn status(&self, field: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix(field).map(|v| v.trim().to_owned()))
            })
            .unwrap_or_else(|| "?".into())
    }

    fn rss(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// `/metrics` as text.
    async fn metrics(&self) -> Res<String> {
        let fetch = async {
            let mut stream = TcpStream::connect(self.addr)
                .await
                .context("metrics: connect")?;
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
                .await
                .context("metrics: request")?;
            let mut body = Vec::new();
            stream
                .read_to_end(&mut body)
                .await
                .context("metrics: answer")?;
            let text = String::from_utf8_lossy(&body).into_owned();
            Ok::<_, String>(
                text.split_once("\r\n\r\n")
                    .map_or(String::new(), |(_, b)| b.to_owned()),
            )
        };
        tokio::time::timeout(Duration::from_secs(10), fetch)
            .await
            .map_err(|_| "metrics: no answer in 10 s".to_owned())?
    }
}

impl Drop for RelayProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sum of the samples of one metric (all label sets).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with(' ') || rest.starts_with('{'))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Lines of one metric, label sets and values.
fn metric_lines(text: &str, name: &str) -> Vec<String> {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{'))
        })
        .map(|l| l.trim_start_matches(name).to_owned())
        .collect()
}

// ---------------------------------------------------------------------------
// Identities and invitations.

/// A device to register: its keys and its invitation.
struct Identity {
    account: Arc<Account>,
    device: Device,
    certificate: Vec<u8>,
    upload: PreKeyUpload,
    handle: String,
    token: String,
}

impl Identity {
    fn id(&self) -> DeviceId {
        DeviceId(self.device.device_id().0)
    }

    fn answer(&self, challenge: [u8; 32], origin: &str) -> ChallengeAnswer {
        ChallengeAnswer {
            challenge,
            certificate: self.certificate.clone(),
            signature: self.account.sign_relay_challenge(
                &challenge,
                self.device.device_id(),
                origin,
            ),
        }
    }
}

/// One device of `handle` (account number `account`), invited with `token`.
struct Plan {
    handle: String,
    account: usize,
    token: String,
}

fn make_identity(account: &Arc<Account>, plan: &Plan) -> Res<Identity> {
    let id = CryptoDeviceId::generate().context("device id")?;
    let device = Device::generate(account, id, 1).context("device")?;
    let prekeys = PreKeyStore::new(account, &device, 1).context("prekeys")?;
    let spk = prekeys.signed_prekey().ok_or("no signed prekey")?;
    let last = prekeys
        .kem_last_resort_prekey()
        .ok_or("no last-resort KEM prekey")?;
    Ok(Identity {
        account: account.clone(),
        certificate: device.certificate().encode().to_vec(),
        device,
        upload: PreKeyUpload {
            signed_prekey: Some(SignedPreKey {
                id: spk.id,
                public_key: spk.public_key.to_bytes(),
                signature: spk.signature,
            }),
            kem_last_resort: Some(KemPreKey {
                id: last.id,
                public_key: last.public_key.as_bytes().to_vec(),
                signature: last.signature,
            }),
            one_time: Vec::new(),
            kem_one_time: Vec::new(),
        },
        handle: plan.handle.clone(),
        token: plan.token.clone(),
    })
}

/// Keys for every planned device, on every CPU.
fn make_identities(plans: &[Plan]) -> Res<Vec<Identity>> {
    let accounts = plans.iter().map(|p| p.account).max().map_or(0, |m| m + 1);
    let accounts: Vec<Arc<Account>> = (0..accounts)
        .map(|_| Account::generate().map(Arc::new).context("account key"))
        .collect::<Res<_>>()?;
    let chunk = plans.len().div_ceil(cpus()).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = plans
            .chunks(chunk)
            .map(|part| {
                let accounts = &accounts;
                scope.spawn(move || {
                    part.iter()
                        .map(|plan| {
                            let account = accounts
                                .get(plan.account)
                                .ok_or("no such account in the plan")?;
                            make_identity(account, plan)
                        })
                        .collect::<Res<Vec<_>>>()
                })
            })
            .collect();
        let mut all = Vec::with_capacity(plans.len());
        for worker in workers {
            let part = worker
                .join()
                .map_err(|_| "a key generation thread panicked".to_owned())??;
            all.extend(part);
        }
        Ok(all)
    })
}

/// Creates every invitation directly in the store, before the relay starts.
async fn create_invites(data: &Path, plans: &[Plan]) -> Res<()> {
    let store = SqliteStore::open(data, StoreLimits::default()).context("cannot open the store")?;
    let now = now_ms();
    let expires = now + 7 * 24 * 3600 * 1000;
    let results: Vec<_> = futures::stream::iter(plans.iter().map(|plan| {
        store.create_invite(
            plan.handle.clone(),
            format!("Load {}", plan.handle),
            Sha256::digest(plan.token.as_bytes()).into(),
            now,
            expires,
        )
    }))
    .buffer_unordered(1024)
    .collect()
    .await;
    for result in results {
        match result {
            Err(error) => return Err(format!("cannot create an invitation: {error}")),
            Ok(Err(refusal)) => return Err(format!("invitation refused: {refusal:?}")),
            Ok(Ok(())) => {}
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// WebSocket client.

type Ws = WebSocketStream<TcpStream>;

fn ws_config(buffer: usize) -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(buffer)
        .write_buffer_size(buffer)
}

fn source(index: usize, sources: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 1 + (index % usize::from(sources)) as u8)
}

async fn connect(addr: SocketAddr, from: Ipv4Addr, config: WebSocketConfig) -> Res<Ws> {
    let socket = TcpSocket::new_v4().context("socket")?;
    socket.set_reuseaddr(true).context("SO_REUSEADDR")?;
    socket
        .bind(SocketAddr::from((from, 0)))
        .context(format!("bind {from}"))?;
    let stream = socket.connect(addr).await.context("connect")?;
    stream.set_nodelay(true).context("TCP_NODELAY")?;
    let (ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/ws"),
        stream,
        Some(config),
    )
    .await
    .context("WebSocket handshake")?;
    Ok(ws)
}

async fn send_frame(ws: &mut Ws, frame: &ClientFrame) -> Res<()> {
    ws.send(Message::Binary(frame.encode().into()))
        .await
        .context("send")
}

async fn recv_frame(ws: &mut Ws) -> Res<ServerFrame> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    // Bounded: control messages between frames are few.
    for _ in 0..64 {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Err(_) => return Err("no answer within 30 s".into()),
            Ok(None) => return Err("connection closed".into()),
            Ok(Some(Err(error))) => return Err(format!("connection failed: {error}")),
            Ok(Some(Ok(Message::Binary(bytes)))) => {
                return ServerFrame::decode(&bytes).context("undecodable frame");
            }
            Ok(Some(Ok(Message::Close(frame)))) => {
                return Err(format!(
                    "closed by the relay ({:?})",
                    frame.map(|f| u16::from(f.code))
                ));
            }
            Ok(Some(Ok(_))) => {}
        }
    }
    Err("only control messages".into())
}

async fn welcome(ws: &mut Ws) -> Res<Welcome> {
    send_frame(
        ws,
        &ClientFrame::Hello(Hello {
            wire_version: WIRE_VERSION,
            software: "estafette-load".into(),
        }),
    )
    .await?;
    match recv_frame(ws).await? {
        ServerFrame::Welcome(welcome) => Ok(welcome),
        ServerFrame::Error { code, detail, .. } => Err(format!("{}: {detail}", code.name())),
        other => Err(format!("expected Welcome, got {}", other.kind())),
    }
}

async fn authenticated(ws: &mut Ws) -> Res<()> {
    for _ in 0..8 {
        match recv_frame(ws).await? {
            ServerFrame::Authenticated { .. } => return Ok(()),
            ServerFrame::PreKeysLow { .. } | ServerFrame::Pong(_) => {}
            ServerFrame::Error { code, .. } => return Err(code.name().to_owned()),
            other => return Err(format!("expected Authenticated, got {}", other.kind())),
        }
    }
    Err("no Authenticated".into())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Open {
    Register,
    Authenticate,
}

async fn open(
    addr: SocketAddr,
    from: Ipv4Addr,
    identity: &Identity,
    how: Open,
    config: WebSocketConfig,
) -> Res<Ws> {
    let mut ws = connect(addr, from, config).await?;
    let welcome = welcome(&mut ws).await?;
    let answer = identity.answer(welcome.challenge, &welcome.origin);
    let frame = match how {
        Open::Register => ClientFrame::Register(Box::new(Register {
            token: identity.token.clone(),
            answer,
            prekeys: identity.upload.clone(),
        })),
        Open::Authenticate => ClientFrame::Authenticate(answer),
    };
    send_frame(&mut ws, &frame).await?;
    authenticated(&mut ws).await?;
    Ok(ws)
}

/// Opened sockets (by identity index), failures by message, and the time it took.
struct Opened {
    sockets: Vec<Option<Ws>>,
    failures: BTreeMap<String, u64>,
    elapsed: Duration,
}

impl Opened {
    fn count(&self) -> usize {
        self.sockets.iter().filter(|s| s.is_some()).count()
    }

    fn failures(&self) -> String {
        if self.failures.is_empty() {
            return "none".into();
        }
        self.failures
            .iter()
            .map(|(what, n)| format!("{n} × {what}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// Opens a socket for every identity, `concurrency` at a time.
async fn open_all(
    addr: SocketAddr,
    args: &Args,
    identities: &Arc<Vec<Identity>>,
    which: std::ops::Range<usize>,
    how: Open,
    config: WebSocketConfig,
) -> Opened {
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    for index in which.clone() {
        let gate = gate.clone();
        let identities = identities.clone();
        let from = source(index, args.sources);
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let Some(identity) = identities.get(index) else {
                return (index, Err("no such identity".to_owned()));
            };
            let result =
                tokio::time::timeout(SETUP_TIMEOUT, open(addr, from, identity, how, config))
                    .await
                    .unwrap_or_else(|_| Err(format!("not open after {SETUP_TIMEOUT:?}")));
            (index, result)
        });
    }
    let mut sockets: Vec<Option<Ws>> = (0..which.len()).map(|_| None).collect();
    let mut failures = BTreeMap::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(ws))) => {
                if let Some(slot) = sockets.get_mut(index - which.start) {
                    *slot = Some(ws);
                }
            }
            Ok((_, Err(error))) => *failures.entry(error).or_default() += 1,
            Err(error) => *failures.entry(format!("task: {error}")).or_default() += 1,
        }
    }
    Opened {
        sockets,
        failures,
        elapsed: started.elapsed(),
    }
}

// ---------------------------------------------------------------------------
// Phase 1: traffic.

/// Shared by the device tasks of the traffic phase.
struct Traffic {
    /// Time zero of the timestamps in payloads (µs).
    epoch: Instant,
    send_start: Instant,
    measure_start_us: u64,
    stop_us: u64,
    stop: Instant,
    deadline: Instant,
    /// Seconds between two sends of one device.
    period: f64,
    devices: u32,
    window: usize,
    payload: usize,
    accepted: AtomicU64,
    delivered: AtomicU64,
    in_flight: AtomicI64,
}

impl Traffic {
    fn us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    fn in_window(&self, us: u64) -> bool {
        us >= self.measure_start_us && us < self.stop_us
    }
}

#[derive(Default)]
struct DeviceReport {
    sent: u64,
    sent_in_window: u64,
    accepted_in_window: u64,
    delivered_in_window: u64,
    /// Send → Deliver, of messages sent in the window (µs).
    latency: Vec<u32>,
    /// Schedule → Deliver: includes waiting for room in the window (µs).
    scheduled_latency: Vec<u32>,
    /// Send → Accepted (µs).
    accept_latency: Vec<u32>,
    /// Messages due and not sent when sending stopped (window full).
    unsent: u64,
    still_in_flight: u64,
    errors: BTreeMap<String, u64>,
    closed: Option<String>,
}

fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(slice.try_into().ok()?))
}

fn micros(us: u64) -> u32 {
    u32::try_from(us).unwrap_or(u32::MAX)
}

struct Driver {
    index: u32,
    traffic: Arc<Traffic>,
    report: DeviceReport,
    /// Send times (µs) of sends not yet answered, in order.
    outstanding: VecDeque<u64>,
    acks: Vec<u64>,
}

impl Driver {
    fn answered(&mut self) -> Option<u64> {
        let sent = self.outstanding.pop_front()?;
        self.traffic.in_flight.fetch_sub(1, Ordering::Relaxed);
        Some(sent)
    }

    /// The oldest send was stored (answered at `now`, µs).
    fn on_message_accepted(&mut self, now: u64) {
        self.traffic.accepted.fetch_add(1, Ordering::Relaxed);
        if self.traffic.in_window(now) {
            self.report.accepted_in_window += 1;
        }
        if let Some(sent) = self.answered()
            && self.traffic.in_window(sent)
        {
            self.report
                .accept_latency
                .push(micros(now.saturating_sub(sent)));
        }
    }

    /// One message from the relay; `Err` when the socket is gone.
    fn on_message(&mut self, item: Option<Result<Message, WsError>>) -> Result<(), String> {
        let bytes = match item {
            None => return Err("connection closed".into()),
            Some(Err(error)) => return Err(format!("connection failed: {error}")),
            Some(Ok(Message::Close(frame))) => {
                return Err(format!(
                    "closed by the relay ({:?})",
                    frame.map(|f| u16::from(f.code))
                ));
            }
            Some(Ok(Message::Binary(bytes))) => bytes,
            Some(Ok(_)) => return Ok(()),
        };
        let now = self.traffic.us(Instant::now());
        let frame = match ServerFrame::decode(&bytes) {
            Ok(frame) => frame,
            Err(_) => {
                *self.report.errors.entry("undecodable".into()).or_default() += 1;
                return Ok(());
            }
        };
        match frame {
            ServerFrame::Accepted(_) => self.on_message_accepted(now),
            ServerFrame::Deliver(delivery) => {
                self.traffic.delivered.fetch_add(1, Ordering::Relaxed);
                if self.traffic.in_window(now) {
                    self.report.delivered_in_window += 1;
                }
                if let (Some(sent), Some(scheduled)) = (
                    read_u64(&delivery.payload, 0),
                    read_u64(&delivery.payload, 8),
                ) && self.traffic.in_window(sent)
                {
                    self.report.latency.push(micros(now.saturating_sub(sent)));
                    self.report
                        .scheduled_latency
                        .push(micros(now.saturating_sub(scheduled)));
                }
                self.acks.push(delivery.delivery_id);
            }
            ServerFrame::StaleDevices { .. } => {
                self.answered();
                *self.report.errors.entry("StaleDevices".into()).or_default() += 1;
            }
            ServerFrame::QueueFull { .. } => {
                self.answered();
                *self.report.errors.entry("QueueFull".into()).or_default() += 1;
            }
            ServerFrame::GroupAccepted { queue_full, .. } => {
                // Stored, but not for every device: counted, and its skips.
                self.on_message_accepted(now);
                let skipped: u64 = queue_full.iter().map(|r| r.devices.len() as u64).sum();
                *self
                    .report
                    .errors
                    .entry("devices skipped (queue full)".into())
                    .or_default() += skipped;
            }
            ServerFrame::Error { code, request, .. } => {
                // A send refused without an answer of its own (rate limit) frees its slot.
                if request.is_none() && !code.is_fatal() {
                    self.answered();
                }
                *self.report.errors.entry(code.name().into()).or_default() += 1;
            }
            _ => {}
        }
        Ok(())
    }
}

/// Whom a device sends to.
enum Target {
    /// One device (a 1:1 `Send` with one copy).
    Device(String, DeviceId),
    /// Many devices at once (a `GroupSend`).
    Group(Arc<Vec<GroupRecipient>>),
}

impl Target {
    fn frame(&self, idempotency_id: [u8; 16], payload: &[u8]) -> ClientFrame {
        match self {
            Self::Device(handle, device) => ClientFrame::Send(Send {
                idempotency_id,
                envelopes: vec![Envelope {
                    handle: handle.clone(),
                    device: *device,
                    payload: payload.to_vec(),
                }],
            }),
            Self::Group(recipients) => ClientFrame::GroupSend(GroupSend {
                idempotency_id,
                recipients: recipients.to_vec(),
                payload: payload.to_vec(),
            }),
        }
    }
}

/// Runs one device: sends to `target` (if any) on schedule, acknowledges what it receives.
async fn drive(
    mut ws: Ws,
    index: u32,
    target: Option<Target>,
    traffic: Arc<Traffic>,
    mut done: watch::Receiver<bool>,
) -> DeviceReport {
    let period = traffic.period;
    // Devices start their schedules spread over one period.
    let first = traffic.send_start
        + Duration::from_secs_f64(period * f64::from(index) / f64::from(traffic.devices));
    let to_send = if target.is_some() && traffic.stop > first {
        (traffic.stop.duration_since(first).as_secs_f64() / period).ceil() as u64
    } else {
        0
    };
    let mut tick = tokio::time::interval_at(
        first.into(),
        Duration::from_secs_f64(period.clamp(0.001, 0.010)),
    );
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let deadline = tokio::time::Instant::from_std(traffic.deadline);
    let mut payload = vec![0u8; traffic.payload];
    let mut next: u64 = 0;
    let mut driver = Driver {
        index,
        traffic: traffic.clone(),
        report: DeviceReport::default(),
        outstanding: VecDeque::with_capacity(traffic.window),
        acks: Vec::with_capacity(64),
    };
    let mut closed: Option<String> = None;
    while closed.is_none() {
        // Nothing is sent after the stop, even if the window held messages back.
        let sending = next < to_send && Instant::now() < traffic.stop;
        tokio::select! {
            biased;
            _ = done.changed() => break,
            () = tokio::time::sleep_until(deadline) => break,
            item = ws.next() => {
                let mut item = item;
                // Everything already received, then one flush for the acks.
                for _ in 0..256 {
                    if let Err(why) = driver.on_message(item) {
                        closed = Some(why);
                        break;
                    }
                    match ws.next().now_or_never() {
                        Some(more) => item = more,
                        None => break,
                    }
                }
                for ack in driver.acks.drain(..) {
                    if ws.feed(Message::Binary(ClientFrame::Ack(ack).encode().into())).await.is_err() {
                        closed.get_or_insert_with(|| "write failed".into());
                        break;
                    }
                }
                if closed.is_none() && ws.flush().await.is_err() {
                    closed = Some("write failed".into());
                }
            }
            _ = tick.tick(), if sending => {
                let now = Instant::now();
                let due = if now < first {
                    0
                } else {
                    ((now.duration_since(first).as_secs_f64() / period) as u64 + 1).min(to_send)
                };
                let room = (traffic.window - driver.outstanding.len()) as u64;
                let batch = due.saturating_sub(next).min(room);
                for _ in 0..batch {
                    let scheduled = traffic.us(first + Duration::from_secs_f64(period * next as f64));
                    let sent = traffic.us(Instant::now());
                    if let Some(head) = payload.get_mut(0..16) {
                        let (a, b) = head.split_at_mut(8);
                        a.copy_from_slice(&sent.to_le_bytes());
                        b.copy_from_slice(&scheduled.to_le_bytes());
                    }
                    let mut id = [0u8; 16];
                    let (a, b) = id.split_at_mut(4);
                    a.copy_from_slice(&driver.index.to_le_bytes());
                    if let Some(b) = b.get_mut(0..8) {
                        b.copy_from_slice(&next.to_le_bytes());
                    }
                    let Some(target) = &target else { break };
                    let frame = target.frame(id, &payload);
                    if ws.feed(Message::Binary(frame.encode().into())).await.is_err() {
                        closed = Some("write failed".into());
                        break;
                    }
                    driver.outstanding.push_back(sent);
                    traffic.in_flight.fetch_add(1, Ordering::Relaxed);
                    driver.report.sent += 1;
                    if traffic.in_window(sent) {
                        driver.report.sent_in_window += 1;
                    }
                    next += 1;
                }
                if closed.is_none() && batch > 0 && ws.flush().await.is_err() {
                    closed = Some("write failed".into());
                }
            }
        }
    }
    let mut report = driver.report;
    report.unsent = to_send.saturating_sub(next);
    report.still_in_flight = driver.outstanding.len() as u64;
    report.closed = closed;
    let _ = ws.close(None).await;
    report
}

struct Percentiles {
    count: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

/// Percentiles in ms of samples in µs.
fn percentiles(samples: &mut [u32]) -> Option<Percentiles> {
    samples.sort_unstable();
    let count = samples.len();
    let at = |p: f64| {
        let rank = ((p * count as f64).ceil() as usize).clamp(1, count);
        samples
            .get(rank - 1)
            .map_or(0.0, |&us| f64::from(us) / 1000.0)
    };
    (count > 0).then(|| Percentiles {
        count,
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: at(1.0),
    })
}

fn show(p: &Option<Percentiles>) -> String {
    p.as_ref().map_or("no samples".into(), |p| {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  ({} samples)",
            p.p50, p.p90, p.p99, p.max, p.count
        )
    })
}

struct TrafficReport {
    accepted_per_s: f64,
    p99: Option<f64>,
}

async fn traffic_phase(
    args: &Args,
    relay: &mut RelayProc,
    identities: &Arc<Vec<Identity>>,
) -> Res<TrafficReport> {
    let devices = args.pairs * 2;
    let opened = register_all(relay, args, identities, 0..devices as usize, "traffic").await?;
    let mut sockets = Vec::with_capacity(devices as usize);
    for (index, ws) in opened.sockets.into_iter().enumerate() {
        let Some(ws) = ws else { continue };
        let peer = identities.get(index ^ 1).ok_or("no peer")?;
        sockets.push((ws, Some(Target::Device(peer.handle.clone(), peer.id()))));
    }
    let setup = Load {
        label: "traffic",
        sockets,
        senders: devices,
        rate: args.rate,
        fanout: 1,
    };
    run_load(args, relay, setup).await
}

/// Registers the devices `which`, all or an error.
async fn register_all(
    relay: &RelayProc,
    args: &Args,
    identities: &Arc<Vec<Identity>>,
    which: std::ops::Range<usize>,
    label: &str,
) -> Res<Opened> {
    println!("{label}: registering {} devices…", which.len());
    let opened = open_all(
        relay.addr,
        args,
        identities,
        which,
        Open::Register,
        ws_config(64 * 1024),
    )
    .await;
    if !opened.failures.is_empty() {
        return Err(format!(
            "{label} devices could not register: {}",
            opened.failures()
        ));
    }
    println!(
        "{label}: {} devices registered in {:.2} s",
        opened.count(),
        opened.elapsed.as_secs_f64()
    );
    Ok(opened)
}

/// Connected devices and what they send.
struct Load {
    /// `traffic` or `group`, in the output.
    label: &'static str,
    /// The first `senders` send to their target; the others only receive.
    sockets: Vec<(Ws, Option<Target>)>,
    senders: u32,
    /// Messages per second offered, all senders together.
    rate: u32,
    /// Deliveries per accepted message.
    fanout: u64,
}

/// Drives `load` for the warm-up and measured window, then drains and reports.
async fn run_load(args: &Args, relay: &mut RelayProc, load: Load) -> Res<TrafficReport> {
    let Load {
        label,
        sockets,
        senders,
        rate,
        fanout,
    } = load;
    let epoch = Instant::now();
    let send_start = epoch + Duration::from_millis(500);
    let measure_start = send_start + Duration::from_secs(args.warmup);
    let stop = measure_start + Duration::from_secs(args.duration);
    let traffic = Arc::new(Traffic {
        epoch,
        send_start,
        measure_start_us: measure_start.duration_since(epoch).as_micros() as u64,
        stop_us: stop.duration_since(epoch).as_micros() as u64,
        stop,
        deadline: stop + DRAIN_TIMEOUT,
        period: f64::from(senders) / f64::from(rate),
        devices: senders,
        window: args.window as usize,
        payload: args.payload as usize,
        accepted: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        in_flight: AtomicI64::new(0),
    });
    let (done_tx, done_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let devices = sockets.len();
    for (index, (ws, target)) in sockets.into_iter().enumerate() {
        tasks.spawn(drive(
            ws,
            index as u32,
            target,
            traffic.clone(),
            done_rx.clone(),
        ));
    }
    println!(
        "{label}: {rate} msg/s offered by {senders} devices ({:.1} msg/s each) to {devices} devices in all, {} s warm-up, {} s measured",
        f64::from(rate) / f64::from(senders),
        args.warmup,
        args.duration
    );
    // Progress each second; samples at the start and end of the measured window.
    let mut start_sample = None;
    let mut end_sample = None;
    let mut last = (Instant::now(), 0u64, 0u64);
    let mut second = 0u64;
    let total_seconds = args.warmup + args.duration + 1;
    while second < total_seconds {
        second += 1;
        let at = send_start + Duration::from_secs(second);
        let until = if start_sample.is_none() && measure_start <= at {
            measure_start
        } else if at >= stop {
            stop
        } else {
            at
        };
        tokio::time::sleep_until(until.into()).await;
        if until == measure_start && start_sample.is_none() {
            start_sample = Some(Sample::take(relay.pid));
            second -= 1;
            continue;
        }
        let accepted = traffic.accepted.load(Ordering::Relaxed);
        let delivered = traffic.delivered.load(Ordering::Relaxed);
        let dt = last.0.elapsed().as_secs_f64().max(1e-9);
        println!(
            "  t={:>5.1}s  accepted {:>8.0}/s  delivered {:>8.0}/s  in flight {:>6}",
            until.duration_since(send_start).as_secs_f64(),
            (accepted - last.1) as f64 / dt,
            (delivered - last.2) as f64 / dt,
            traffic.in_flight.load(Ordering::Relaxed)
        );
        last = (Instant::now(), accepted, delivered);
        if until == stop {
            end_sample = Some(Sample::take(relay.pid));
            break;
        }
        if !relay.alive() {
            return Err("the relay exited during the traffic phase".into());
        }
    }
    let rss_at_stop = relay.rss();
    // Drain: until every send is answered and every accepted message delivered.
    let drain_started = Instant::now();
    while Instant::now() < traffic.deadline {
        let accepted = traffic.accepted.load(Ordering::Relaxed);
        let delivered = traffic.delivered.load(Ordering::Relaxed);
        if traffic.in_flight.load(Ordering::Relaxed) <= 0 && delivered >= accepted * fanout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drain = drain_started.elapsed();
    let _ = done_tx.send(true);
    let mut total = DeviceReport::default();
    let mut closed = BTreeMap::<String, u64>::new();
    while let Some(joined) = tasks.join_next().await {
        let report = joined.context("a device task failed")?;
        total.sent += report.sent;
        total.sent_in_window += report.sent_in_window;
        total.accepted_in_window += report.accepted_in_window;
        total.delivered_in_window += report.delivered_in_window;
        total.latency.extend(report.latency);
        total.scheduled_latency.extend(report.scheduled_latency);
        total.accept_latency.extend(report.accept_latency);
        total.unsent += report.unsent;
        total.still_in_flight += report.still_in_flight;
        for (code, n) in report.errors {
            *total.errors.entry(code).or_default() += n;
        }
        if let Some(why) = report.closed {
            *closed.entry(why).or_default() += 1;
        }
    }
    let seconds = args.duration as f64;
    let latency = percentiles(&mut total.latency);
    let scheduled = percentiles(&mut total.scheduled_latency);
    let accept = percentiles(&mut total.accept_latency);
    let accepted_all = traffic.accepted.load(Ordering::Relaxed);
    let delivered_all = traffic.delivered.load(Ordering::Relaxed);
    let metrics = relay.metrics().await.unwrap_or_default();
    println!();
    println!("==== {label} ====");
    println!(
        "  command                  : pairs={} group-members={} rate={rate} duration={} s warm-up={} s window={} payload={} B sources={}",
        args.pairs,
        args.group_members,
        args.duration,
        args.warmup,
        args.window,
        args.payload,
        args.sources
    );
    println!(
        "  offered                  : {rate} msg/s ({senders} devices × {:.1} msg/s), {fanout} deliveries per message",
        1.0 / traffic.period
    );
    println!(
        "  sent in window           : {:.0} msg/s",
        total.sent_in_window as f64 / seconds
    );
    println!(
        "  accepted in window       : {:.0} msg/s  (durable: committed before Accepted)",
        total.accepted_in_window as f64 / seconds
    );
    println!(
        "  delivered in window      : {:.0} deliveries/s",
        total.delivered_in_window as f64 / seconds
    );
    println!("  send → deliver (ms)      : {}", show(&latency));
    println!("  send → Accepted (ms)     : {}", show(&accept));
    println!("  schedule → deliver (ms)  : {}", show(&scheduled));
    println!(
        "  not sent on schedule     : {} (window of {} full when sending stopped)",
        total.unsent, args.window
    );
    println!(
        "  all phases               : {} sent, {accepted_all} accepted, {delivered_all} delivered, {} unanswered; drain {:.2} s",
        total.sent,
        total.still_in_flight,
        drain.as_secs_f64()
    );
    let errors: Vec<String> = total
        .errors
        .iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect();
    println!(
        "  errors                   : {}",
        if errors.is_empty() {
            "none".into()
        } else {
            errors.join(", ")
        }
    );
    if !closed.is_empty() {
        println!("  sockets lost             : {closed:?}");
    }
    if let (Some(a), Some(b)) = (&start_sample, &end_sample) {
        print_cpu(&cpu_use(a, b));
    }
    println!("  relay RSS at stop        : {}", mib(rss_at_stop));
    let relay_errors = metric_lines(&metrics, "estafette_relay_errors_total");
    if !relay_errors.is_empty() {
        println!("  relay errors_total       : {}", relay_errors.join(", "));
    }
    println!(
        "  relay /metrics           : messages_accepted_total {}, copies_accepted_total {}, queue_depth {}",
        metric(&metrics, "estafette_relay_messages_accepted_total"),
        metric(&metrics, "estafette_relay_copies_accepted_total"),
        metric(&metrics, "estafette_relay_queue_depth")
    );
    Ok(TrafficReport {
        accepted_per_s: total.accepted_in_window as f64 / seconds,
        p99: latency.map(|p| p.p99),
    })
}

// ---------------------------------------------------------------------------
// Phase 2: group messages.

async fn group_phase(
    args: &Args,
    relay: &mut RelayProc,
    identities: &Arc<Vec<Identity>>,
) -> Res<TrafficReport> {
    let which = group_devices(args);
    let opened = register_all(relay, args, identities, which.clone(), "group").await?;
    let members = identities
        .get(which.start + 1..which.end)
        .ok_or("no members")?;
    let recipients: Arc<Vec<GroupRecipient>> = Arc::new(
        members
            .iter()
            .map(|m| GroupRecipient {
                handle: m.handle.clone(),
                devices: vec![m.id()],
            })
            .collect(),
    );
    // The first socket is the sender's; every member only receives (and acks).
    let sockets = opened
        .sockets
        .into_iter()
        .enumerate()
        .filter_map(|(n, ws)| Some((ws?, (n == 0).then(|| Target::Group(recipients.clone())))))
        .collect();
    let load = Load {
        label: "group",
        sockets,
        senders: 1,
        rate: args.group_rate,
        fanout: u64::from(args.group_members),
    };
    let report = run_load(args, relay, load).await?;
    if args.storage_messages > 0 {
        let sender = identities.get(which.start).ok_or("no sender")?;
        group_storage(args, relay, sender, &recipients).await?;
    }
    Ok(report)
}

/// Bytes of the database in use (pages not on the free list), read through
/// SQLite: the WAL's content counts, free pages do not.
fn database_bytes(data: &Path) -> Res<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .context("cannot open the relay's database")?;
    let pragma = |name: &str| -> Res<u64> {
        conn.pragma_query_value(None, name, |r| r.get::<_, i64>(0))
            .map(|v| u64::try_from(v).unwrap_or(0))
            .context(format!("PRAGMA {name}"))
    };
    Ok((pragma("page_count")?.saturating_sub(pragma("freelist_count")?)) * pragma("page_size")?)
}

/// Queue entries left in the database.
fn queued_entries(data: &Path) -> Res<u64> {
    let conn = rusqlite::Connection::open_with_flags(
        data.join("relay.sqlite3"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .context("cannot open the relay's database")?;
    conn.query_row("SELECT count(*) FROM queue_entries", [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|v| u64::try_from(v).unwrap_or(0))
    .context("count the queue")
}

/// Sends `frames` with at most `window` unanswered; every one must be `Accepted`.
async fn send_all(ws: &mut Ws, frames: Vec<ClientFrame>, window: usize) -> Res<()> {
    let mut frames = frames.into_iter();
    let mut outstanding = 0usize;
    loop {
        while outstanding < window.max(1) {
            let Some(frame) = frames.next() else { break };
            ws.feed(Message::Binary(frame.encode().into()))
                .await
                .context("send")?;
            outstanding += 1;
        }
        ws.flush().await.context("send")?;
        if outstanding == 0 {
            return Ok(());
        }
        match recv_frame(ws).await? {
            ServerFrame::Accepted(_) => outstanding -= 1,
            ServerFrame::PreKeysLow { .. } => {}
            other => return Err(format!("expected Accepted, got {}", other.kind())),
        }
    }
}

/// Database bytes per group message stored for offline members, against the
/// same messages sent as one 1:1 copy per member device.
async fn group_storage(
    args: &Args,
    relay: &RelayProc,
    sender: &Identity,
    recipients: &[GroupRecipient],
) -> Res<()> {
    // The members are offline now; their last acks reach the database shortly.
    let mut left = queued_entries(&relay.data)?;
    for _ in 0..300 {
        if left == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = queued_entries(&relay.data)?;
    }
    let messages = args.storage_messages;
    let devices = recipients.len();
    println!(
        "group: storing {messages} group messages for the {devices} members, offline ({left} entries were left)…"
    );
    let mut ws = open(
        relay.addr,
        source(0, args.sources),
        sender,
        Open::Authenticate,
        ws_config(64 * 1024),
    )
    .await?;
    let payload = vec![0x42u8; args.payload as usize];
    let id = |kind: u8, message: u32, part: usize| {
        let mut id = [kind; 16];
        id[1..5].copy_from_slice(&message.to_le_bytes());
        id[5..9].copy_from_slice(&(part as u32).to_le_bytes());
        id
    };
    let before = database_bytes(&relay.data)?;
    let group: Vec<ClientFrame> = (0..messages)
        .map(|m| Target::Group(Arc::new(recipients.to_vec())).frame(id(1, m, 0), &payload))
        .collect();
    let started = Instant::now();
    send_all(&mut ws, group, args.window as usize).await?;
    let group_elapsed = started.elapsed();
    let after_group = database_bytes(&relay.data)?;
    // The same as 1:1 copies: MAX_ENVELOPES_PER_SEND copies per Send.
    let mut copies = Vec::new();
    for m in 0..messages {
        for (part, chunk) in recipients.chunks(MAX_ENVELOPES_PER_SEND).enumerate() {
            copies.push(ClientFrame::Send(Send {
                idempotency_id: id(2, m, part),
                envelopes: chunk
                    .iter()
                    .flat_map(|r| {
                        r.devices.iter().map(|d| Envelope {
                            handle: r.handle.clone(),
                            device: *d,
                            payload: payload.clone(),
                        })
                    })
                    .collect(),
            }));
        }
    }
    let started = Instant::now();
    send_all(&mut ws, copies, args.window as usize).await?;
    let copies_elapsed = started.elapsed();
    let after_copies = database_bytes(&relay.data)?;
    let _ = ws.close(None).await;
    let per = |bytes: u64| bytes as f64 / f64::from(messages.max(1));
    let group_bytes = per(after_group.saturating_sub(before));
    let copy_bytes = per(after_copies.saturating_sub(after_group));
    println!();
    println!("==== group storage ====");
    println!(
        "  command                  : group-members={devices} storage-messages={messages} payload={} B",
        args.payload
    );
    println!(
        "  as group messages        : {:.0} bytes per message ({:.1} per device; {:.2} s to store, {:.0} msg/s)",
        group_bytes,
        group_bytes / devices.max(1) as f64,
        group_elapsed.as_secs_f64(),
        f64::from(messages) / group_elapsed.as_secs_f64().max(1e-9)
    );
    println!(
        "  as 1:1 copies            : {:.0} bytes per message ({:.1} per device; {:.2} s to store)",
        copy_bytes,
        copy_bytes / devices.max(1) as f64,
        copies_elapsed.as_secs_f64()
    );
    println!(
        "  ratio                    : group messages take {:.1}× less ({} → {} → {} bytes in use)",
        copy_bytes / group_bytes.max(1.0),
        before,
        after_group,
        after_copies
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Phase 3: idle sockets.

struct IdleReport {
    open: usize,
    rss_kib: Option<u64>,
}

/// Waits until the relay counts at most `target` open connections (bounded).
async fn wait_connections(relay: &RelayProc, target: f64) -> f64 {
    let mut open = f64::NAN;
    for _ in 0..300 {
        open = relay
            .metrics()
            .await
            .map_or(f64::NAN, |m| metric(&m, "estafette_relay_connections_open"));
        if open <= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    open
}

async fn hold(mut ws: Ws, until: tokio::time::Instant) -> Result<Ws, String> {
    // Reads (and drops) whatever arrives; answers nothing.
    for _ in 0..1_000 {
        tokio::select! {
            item = ws.next() => match item {
                None | Some(Err(_)) => return Err("closed".into()),
                Some(Ok(Message::Close(frame))) => {
                    return Err(format!("closed {:?}", frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(_)) => {}
            },
            () = tokio::time::sleep_until(until) => return Ok(ws),
        }
    }
    Ok(ws)
}

async fn idle_phase(
    args: &Args,
    relay: &mut RelayProc,
    identities: &Arc<Vec<Identity>>,
) -> Res<IdleReport> {
    let first = (args.pairs * 2) as usize;
    let which = first..first + args.idle as usize;
    let baseline_open = wait_connections(relay, 0.0).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = relay.rss();
    println!(
        "idle: registering {} devices ({} at a time)…",
        args.idle, args.concurrency
    );
    let config = ws_config(4 * 1024);
    let registered = open_all(
        relay.addr,
        args,
        identities,
        which.clone(),
        Open::Register,
        config,
    )
    .await;
    println!(
        "idle: {} registered in {:.2} s; failures: {}",
        registered.count(),
        registered.elapsed.as_secs_f64(),
        registered.failures()
    );
    if registered.count() == 0 {
        return Err("no idle device could register".into());
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_registered = relay.rss();
    let ok: Vec<bool> = registered.sockets.iter().map(Option::is_some).collect();
    let registration_failures = registered.failures();
    let registration_elapsed = registered.elapsed;
    drop(registered);
    let open_after_close = wait_connections(relay, baseline_open.max(0.0)).await;
    let rss_closed = relay.rss();
    // A fresh process: its memory holds nothing of the registrations.
    relay.restart()?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_fresh = relay.rss();
    println!(
        "idle: closed them (relay counted {open_after_close} open); restarted the relay (pid {}, {}); reconnecting and authenticating…",
        relay.pid, relay.addr
    );
    // Authenticate only the devices that registered.
    let started = Instant::now();
    let gate = Arc::new(Semaphore::new(args.concurrency as usize));
    let mut tasks = JoinSet::new();
    for (offset, index) in which.clone().enumerate() {
        if !ok.get(offset).copied().unwrap_or(false) {
            continue;
        }
        let gate = gate.clone();
        let identities = identities.clone();
        let from = source(index, args.sources);
        let addr = relay.addr;
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await;
            let identity = identities.get(index).ok_or("no such identity")?;
            tokio::time::timeout(
                SETUP_TIMEOUT,
                open(addr, from, identity, Open::Authenticate, config),
            )
            .await
            .unwrap_or_else(|_| Err(format!("not open after {SETUP_TIMEOUT:?}")))
        });
    }
    let mut sockets = Vec::with_capacity(which.len());
    let mut failures = BTreeMap::<String, u64>::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(ws)) => sockets.push(ws),
            Ok(Err(error)) => *failures.entry(error).or_default() += 1,
            Err(error) => *failures.entry(format!("task: {error}")).or_default() += 1,
        }
    }
    let auth_elapsed = started.elapsed();
    let authenticated = sockets.len();
    println!(
        "idle: {authenticated} authenticated in {:.2} s; failures: {failures:?}; holding {} s…",
        auth_elapsed.as_secs_f64(),
        args.idle_hold
    );
    let until = tokio::time::Instant::now() + Duration::from_secs(args.idle_hold.max(1));
    let mut holders = JoinSet::new();
    for ws in sockets {
        holders.spawn(hold(ws, until));
    }
    let mut kept = Vec::with_capacity(authenticated);
    let mut lost = BTreeMap::<String, u64>::new();
    while let Some(joined) = holders.join_next().await {
        match joined {
            Ok(Ok(ws)) => kept.push(ws),
            Ok(Err(why)) => *lost.entry(why).or_default() += 1,
            Err(error) => *lost.entry(format!("task: {error}")).or_default() += 1,
        }
    }
    let metrics = relay.metrics().await.unwrap_or_default();
    let rss_idle = relay.rss();
    let relay_anon = relay.status("RssAnon:");
    let relay_threads = relay.status("Threads:");
    let generator_rss = rss_kib(std::process::id());
    let per_socket = match (rss_idle, rss_fresh) {
        (Some(idle), Some(closed)) if !kept.is_empty() => {
            format!(
                "{:.1} KiB",
                idle.saturating_sub(closed) as f64 / kept.len() as f64
            )
        }
        _ => "?".into(),
    };
    println!();
    println!("==== idle ====");
    println!(
        "  command                  : idle={} concurrency={} sources={} hold={} s",
        args.idle, args.concurrency, args.sources, args.idle_hold
    );
    println!(
        "  register (open+Register) : {} in {:.2} s ({:.0}/s); failures: {}",
        ok.iter().filter(|b| **b).count(),
        registration_elapsed.as_secs_f64(),
        ok.iter().filter(|b| **b).count() as f64 / registration_elapsed.as_secs_f64().max(1e-9),
        registration_failures
    );
    println!(
        "  open + authenticate      : {authenticated} in {:.2} s ({:.0}/s); failures: {}",
        auth_elapsed.as_secs_f64(),
        authenticated as f64 / auth_elapsed.as_secs_f64().max(1e-9),
        if failures.is_empty() {
            "none".into()
        } else {
            format!("{failures:?}")
        }
    );
    println!(
        "  still open after hold    : {} (lost: {})",
        kept.len(),
        if lost.is_empty() {
            "none".into()
        } else {
            format!("{lost:?}")
        }
    );
    println!(
        "  relay /metrics           : connections_open {}, devices_connected {}",
        metric(&metrics, "estafette_relay_connections_open"),
        metric(&metrics, "estafette_relay_devices_connected")
    );
    println!("  relay RSS before         : {}", mib(rss_before));
    println!(
        "  relay RSS, registered    : {}  (the {} registration sockets open)",
        mib(rss_registered),
        ok.iter().filter(|b| **b).count()
    );
    println!(
        "  relay RSS, all closed    : {}  (freed memory stays with the allocator)",
        mib(rss_closed)
    );
    println!(
        "  relay RSS, restarted     : {}  (fresh process, before the idle sockets)",
        mib(rss_fresh)
    );
    println!(
        "  relay RSS, idle sockets  : {}  ({} authenticated idle sockets, fresh relay; {per_socket} per socket; RssAnon {}, threads {})",
        mib(rss_idle),
        kept.len(),
        relay_anon,
        relay_threads
    );
    println!(
        "  generator RSS            : {}; open files: relay {}, generator {} (limit {})",
        mib(generator_rss),
        open_fds(&relay.pid.to_string()).map_or("?".into(), |n| n.to_string()),
        open_fds("self").map_or("?".into(), |n| n.to_string()),
        rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map_or("?".into(), |(soft, _)| soft.to_string())
    );
    let report = IdleReport {
        open: kept.len(),
        rss_kib: rss_idle,
    };
    drop(kept);
    Ok(report)
}

// ---------------------------------------------------------------------------

fn plans(args: &Args) -> Vec<Plan> {
    let mut plans = Vec::new();
    let mut account = 0;
    for pair in 0..args.pairs {
        for side in ["a", "b"] {
            let handle = format!("load-{side}{pair}@load.example");
            plans.push(Plan {
                token: format!("token-{handle}"),
                handle,
                account,
            });
            account += 1;
        }
    }
    // Idle devices: 16 per account (the most an account may have).
    let per_account = estafette_wire::limits::MAX_DEVICES_PER_ACCOUNT;
    for device in 0..args.idle as usize {
        let group = device / per_account;
        let handle = format!("idle-{group}@load.example");
        plans.push(Plan {
            token: format!("token-{handle}-{device}"),
            handle,
            account: account + group,
        });
    }
    // Group: a sender, then one account per member.
    let first = account + (args.idle as usize).div_ceil(per_account);
    let members = if args.group_members > 0 {
        args.group_members as usize + 1
    } else {
        0
    };
    for member in 0..members {
        let handle = match member {
            0 => "group-sender@load.example".to_owned(),
            n => format!("group-m{n}@load.example"),
        };
        plans.push(Plan {
            token: format!("token-{handle}"),
            handle,
            account: first + member,
        });
    }
    plans
}

/// Where the group phase's devices are among the identities.
fn group_devices(args: &Args) -> std::ops::Range<usize> {
    let first = (args.pairs * 2 + args.idle) as usize;
    first..first + args.group_members as usize + 1
}

fn run(args: &Args) -> Res<()> {
    if args.pairs == 0 && args.idle == 0 && args.group_members == 0 {
        return Err("nothing to do: give --pairs, --group-members or --idle".into());
    }
    let nofile = raise_nofile();
    // Each process (this one, the relay) holds one end of every socket.
    let needed = u64::from(args.pairs * 2 + args.group_members + 1).max(u64::from(args.idle)) + 64;
    if nofile < needed {
        return Err(format!(
            "the open-files limit is {nofile} (it cannot be raised further here), this run needs about {needed} per process; lower --idle or --pairs"
        ));
    }
    let relay_bin = match &args.relay_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .context("cannot find this program's path")?
            .with_file_name("estafette-relay"),
    };
    if !relay_bin.is_file() {
        return Err(format!(
            "no relay binary at {} (build it: cargo build --profile relay -p estafette-relay --bins, or give --relay-bin)",
            relay_bin.display()
        ));
    }
    let threads = args.threads.unwrap_or_else(cpus).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let data = DataDir::create(args.tmp_dir.clone(), args.keep_data)?;

    let plans = plans(args);
    let started = Instant::now();
    let identities = Arc::new(make_identities(&plans)?);
    println!(
        "setup: {} device identities (ML-KEM-1024 last-resort keys) in {:.2} s on {} threads",
        identities.len(),
        started.elapsed().as_secs_f64(),
        cpus()
    );
    let started = Instant::now();
    runtime.block_on(create_invites(&data.path, &plans))?;
    println!(
        "setup: {} invitations written to {} in {:.2} s",
        plans.len(),
        data.path.display(),
        started.elapsed().as_secs_f64()
    );
    let mut relay = RelayProc::start(&relay_bin, &data.path, &args.relay_args)?;
    println!(
        "setup: relay {} pid {} on {}; open-files limit {nofile}; {} CPUs shared by relay and generator ({threads} generator threads)",
        relay_bin.display(),
        relay.pid,
        relay.addr,
        cpus()
    );

    let result = runtime.block_on(async {
        let traffic = if args.pairs > 0 {
            Some(traffic_phase(args, &mut relay, &identities).await?)
        } else {
            None
        };
        let group = if args.group_members > 0 {
            Some(group_phase(args, &mut relay, &identities).await?)
        } else {
            None
        };
        let idle = if args.idle > 0 {
            Some(idle_phase(args, &mut relay, &identities).await?)
        } else {
            None
        };
        Ok::<_, String>((traffic, group, idle))
    });
    let relay_alive = relay.alive();
    let log = std::fs::read_to_string(&relay.log).unwrap_or_default();
    drop(relay);
    drop(runtime);
    let (traffic, group, idle) = result?;

    println!();
    println!("==== goals ====");
    match &traffic {
        Some(t) if args.rate >= 20_000 => {
            let met = t.accepted_per_s >= 20_000.0 && t.p99.is_some_and(|p| p <= 50.0);
            println!(
                "  ≥ 20000 durable msg/s, p99 ≤ 50 ms : {} (accepted {:.0} msg/s, p99 {} ms)",
                if met { "MET" } else { "MISSED" },
                t.accepted_per_s,
                t.p99.map_or("?".into(), |p| format!("{p:.2}"))
            );
        }
        Some(t) => println!(
            "  ≥ 20000 durable msg/s, p99 ≤ 50 ms : not tested (offered {} msg/s; accepted {:.0} msg/s, p99 {} ms)",
            args.rate,
            t.accepted_per_s,
            t.p99.map_or("?".into(), |p| format!("{p:.2}"))
        ),
        None => println!("  ≥ 20000 durable msg/s, p99 ≤ 50 ms : not tested (--pairs 0)"),
    }
    match &group {
        Some(g) if args.group_members as usize >= MAX_GROUP_ACCOUNTS => println!(
            "  p99 delivery ≤ 250 ms, 1000 devices : {} (p99 {} ms at {} group msg/s, accepted {:.1} msg/s)",
            if g.p99.is_some_and(|p| p <= 250.0) {
                "MET"
            } else {
                "MISSED"
            },
            g.p99.map_or("?".into(), |p| format!("{p:.2}")),
            args.group_rate,
            g.accepted_per_s
        ),
        Some(g) => println!(
            "  p99 delivery ≤ 250 ms, 1000 devices : not tested ({} members; p99 {} ms)",
            args.group_members,
            g.p99.map_or("?".into(), |p| format!("{p:.2}"))
        ),
        None => println!("  p99 delivery ≤ 250 ms, 1000 devices : not tested (--group-members 0)"),
    }
    match &idle {
        Some(i) if i.open >= 20_000 => {
            let met = i.rss_kib.is_some_and(|k| k <= 200 * 1000);
            println!(
                "  20000 idle sockets ≤ 200 MB RSS    : {} ({} sockets, {})",
                if met { "MET" } else { "MISSED" },
                i.open,
                mib(i.rss_kib)
            );
        }
        Some(i) => println!(
            "  20000 idle sockets ≤ 200 MB RSS    : not tested ({} sockets open, {})",
            i.open,
            mib(i.rss_kib)
        ),
        None => println!("  20000 idle sockets ≤ 200 MB RSS    : not tested (--idle 0)"),
    }
    if !relay_alive {
        println!("  the relay exited before the end of the run");
    }
    let lines: Vec<&str> = log.lines().collect();
    if !lines.is_empty() {
        println!("  relay log: {} line(s); first ones:", lines.len());
        for line in lines.iter().take(5) {
            println!("    {line}");
        }
    }
    drop(data);
    Ok(())
}
