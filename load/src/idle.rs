//! Phase 3: idle sockets. Devices register, the relay restarts (so its
//! memory holds nothing of the registrations), they reconnect,
//! authenticate and stay idle; the relay's memory with them open.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use estafette_testkit::ws::{Ws, ws_config};
use estafette_testkit::{RelayProcess, fetch_metrics, metric, rss_kib};
use futures::StreamExt;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::args::Args;
use crate::connect::{Open, open_all};
use crate::plan::Member;
use crate::procfs::{mib, open_fds};
use crate::{Context, Res};

/// The figures the idle goal is judged on.
pub struct IdleReport {
    /// Idle sockets still open after the hold.
    pub open: usize,
    /// The relay's RSS with them, in KiB.
    pub rss_kib: Option<u64>,
}

/// Waits until the relay counts at most `target` open connections (bounded).
async fn wait_connections(relay: &RelayProcess, target: f64) -> f64 {
    let mut open = f64::NAN;
    for _ in 0..300 {
        open = fetch_metrics(relay.addr)
            .await
            .map_or(f64::NAN, |m| metric(&m, "estafette_relay_connections_open"));
        if open <= target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    open
}

/// Holds a socket open until `until`, reading (and dropping) what arrives.
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

/// Phase 3: devices registered, the relay restarted, then the devices
/// authenticated and left idle; the relay's memory with them.
pub async fn idle_phase(
    args: &Args,
    relay: &mut RelayProcess,
    members: &Arc<Vec<Member>>,
) -> Res<IdleReport> {
    let first = (args.pairs * 2) as usize;
    let which = first..first + args.idle as usize;
    let baseline_open = wait_connections(relay, 0.0).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = relay.rss_kib();
    println!(
        "idle: registering {} devices ({} at a time)…",
        args.idle, args.concurrency
    );
    let config = ws_config(4 * 1024);
    let registered = open_all(
        relay.addr,
        args,
        members,
        which.clone().collect(),
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
    let rss_registered = relay.rss_kib();
    let ok: Vec<bool> = registered.sockets.iter().map(Option::is_some).collect();
    let registration_failures = registered.failures();
    let registration_elapsed = registered.elapsed;
    drop(registered);
    let open_after_close = wait_connections(relay, baseline_open.max(0.0)).await;
    let rss_closed = relay.rss_kib();
    // A fresh process: its memory holds nothing of the registrations.
    relay.kill9_and_restart().context("restart the relay")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_fresh = relay.rss_kib();
    println!(
        "idle: closed them (relay counted {open_after_close} open); restarted the relay (pid {}, {}); reconnecting and authenticating…",
        relay.pid(),
        relay.addr
    );
    // Authenticate only the devices that registered.
    let again: Vec<usize> = which
        .clone()
        .zip(&ok)
        .filter_map(|(index, ok)| ok.then_some(index))
        .collect();
    let started = Instant::now();
    let reopened = open_all(relay.addr, args, members, again, Open::Authenticate, config).await;
    let failures = reopened.failures.clone();
    let sockets: Vec<Ws> = reopened.sockets.into_iter().flatten().collect();
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
    let metrics = fetch_metrics(relay.addr).await.unwrap_or_default();
    let rss_idle = relay.rss_kib();
    let relay_anon = relay.status("RssAnon:").unwrap_or_else(|| "?".into());
    let relay_threads = relay.status("Threads:").unwrap_or_else(|| "?".into());
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
        open_fds(&relay.pid().to_string()).map_or("?".into(), |n| n.to_string()),
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
