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
//!
//! Modules: `args` (the command line), `plan` (devices, keys, invitations),
//! `connect` (opening sockets), `traffic` (one device's schedule and
//! bookkeeping), `measure` (a measured run and its figures), `group` and
//! `idle` (the other phases), `stats`, `procfs`, `goals`, `data_dir`.

mod args;
mod connect;
mod data_dir;
mod goals;
mod group;
mod idle;
mod measure;
mod plan;
mod procfs;
mod stats;
mod traffic;

use std::fmt::Display;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use estafette_testkit::RelayProcess;

use crate::args::Args;
use crate::data_dir::DataDir;
use crate::plan::{create_invites, make_members, plans};
use crate::procfs::{cpus, raise_nofile};

/// A result whose error is the message to print.
type Res<T> = Result<T, String>;

/// Adds what was being done to an error's message.
trait Context<T> {
    fn context(self, what: impl Display) -> Res<T>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: impl Display) -> Res<T> {
        self.map_err(|e| format!("{what}: {e}"))
    }
}

/// `serve` options of every run: nothing but the machine may limit it.
const RELAY_ARGS: [&str; 8] = [
    "--connections-per-ip",
    "1000000",
    "--frame-rate",
    "100000",
    "--queue-max",
    "1000000",
    "--idle-timeout-secs",
    "3600",
];

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

/// The relay binary: `--relay-bin`, or `estafette-relay` next to this program.
fn relay_bin(args: &Args) -> Res<PathBuf> {
    let bin = match &args.relay_bin {
        Some(bin) => bin.clone(),
        None => std::env::current_exe()
            .context("cannot find this program's path")?
            .with_file_name("estafette-relay"),
    };
    if !bin.is_file() {
        return Err(format!(
            "no relay binary at {} (build it: cargo build --profile relay -p estafette-relay -p estafette-load, or give --relay-bin)",
            bin.display()
        ));
    }
    Ok(bin)
}

fn run(args: &Args) -> Res<()> {
    args.check()?;
    let nofile = raise_nofile();
    let needed = args.files_needed();
    if nofile < needed {
        return Err(format!(
            "the open-files limit is {nofile} (it cannot be raised further here), this run needs about {needed} per process; lower --idle or --pairs"
        ));
    }
    let relay_bin = relay_bin(args)?;
    let threads = args.threads.unwrap_or_else(cpus).max(1);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let data = DataDir::create(args.tmp_dir.clone(), args.keep_data)?;

    let plans = plans(args);
    let started = Instant::now();
    let members = Arc::new(make_members(&plans)?);
    println!(
        "setup: {} device identities (ML-KEM-1024 last-resort keys) in {:.2} s on {} threads",
        members.len(),
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
    let serve_args: Vec<String> = RELAY_ARGS
        .iter()
        .map(|a| (*a).to_owned())
        .chain(args.relay_args.iter().cloned())
        .collect();
    let log = data.path.join("relay.log");
    let mut relay = RelayProcess::start(&relay_bin, &data.path, &serve_args, Some(&log))
        .context("cannot start the relay")?;
    println!(
        "setup: relay {} pid {} on {}; open-files limit {nofile}; {} CPUs shared by relay and generator ({threads} generator threads)",
        relay_bin.display(),
        relay.pid(),
        relay.addr,
        cpus()
    );

    let result = runtime.block_on(async {
        let traffic = if args.pairs > 0 {
            Some(measure::traffic_phase(args, &mut relay, &members).await?)
        } else {
            None
        };
        let group = if args.group_members > 0 {
            Some(group::group_phase(args, &mut relay, &members).await?)
        } else {
            None
        };
        let idle = if args.idle > 0 {
            Some(idle::idle_phase(args, &mut relay, &members).await?)
        } else {
            None
        };
        Ok::<_, String>((traffic, group, idle))
    });
    let relay_alive = relay.alive();
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    drop(relay);
    drop(runtime);
    let (traffic, group, idle) = result?;

    println!();
    println!("==== goals ====");
    println!("{}", goals::throughput(args, traffic.as_ref()));
    println!("{}", goals::fan_out(args, group.as_ref()));
    println!("{}", goals::idle_memory(idle.as_ref()));
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
