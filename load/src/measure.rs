//! A measured run of devices sending: warm-up, measured window, drain,
//! then the figures (rates, latencies, errors, CPU, memory, `/metrics`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use estafette_testkit::ws::Ws;
use estafette_testkit::{RelayProcess, fetch_metrics, metric, metric_lines};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::args::Args;
use crate::connect::register_all;
use crate::plan::Member;
use crate::procfs::{Sample, cpu_use, mib, print_cpu};
use crate::stats::{percentiles, show};
use crate::traffic::{DeviceReport, Target, Traffic, drive};
use crate::{Context, Res};

/// How long to wait, after the last send, for the last answers and deliveries.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(15);

/// The figures the goals are judged on.
pub struct TrafficReport {
    /// `Accepted` per second in the measured window.
    pub accepted_per_s: f64,
    /// p99 of send → deliver, in ms.
    pub p99: Option<f64>,
}

/// Phase 1: pairs of devices sending each other messages.
pub async fn traffic_phase(
    args: &Args,
    relay: &mut RelayProcess,
    members: &Arc<Vec<Member>>,
) -> Res<TrafficReport> {
    let devices = args.pairs * 2;
    let opened = register_all(relay.addr, args, members, 0..devices as usize, "traffic").await?;
    let mut sockets = Vec::with_capacity(devices as usize);
    for (index, ws) in opened.sockets.into_iter().enumerate() {
        let Some(ws) = ws else { continue };
        let peer = members.get(index ^ 1).ok_or("no peer")?;
        sockets.push((
            ws,
            Some(Target::Device(peer.handle.clone(), peer.keys.id())),
        ));
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

/// Connected devices and what they send.
pub struct Load {
    /// `traffic` or `group`, in the output.
    pub label: &'static str,
    /// The first `senders` send to their target; the others only receive.
    pub sockets: Vec<(Ws, Option<Target>)>,
    /// Devices that send.
    pub senders: u32,
    /// Messages per second offered, all senders together.
    pub rate: u32,
    /// Deliveries per accepted message.
    pub fanout: u64,
}

/// Drives `load` for the warm-up and measured window, then drains and reports.
pub async fn run_load(args: &Args, relay: &mut RelayProcess, load: Load) -> Res<TrafficReport> {
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
            start_sample = Some(Sample::take(relay.pid()));
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
            end_sample = Some(Sample::take(relay.pid()));
            break;
        }
        if !relay.alive() {
            return Err("the relay exited during the traffic phase".into());
        }
    }
    let rss_at_stop = relay.rss_kib();
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
        total.absorb(joined.context("a device task failed")?, &mut closed);
    }
    let seconds = args.duration as f64;
    let latency = percentiles(&mut total.latency);
    let scheduled = percentiles(&mut total.scheduled_latency);
    let accept = percentiles(&mut total.accept_latency);
    let accepted_all = traffic.accepted.load(Ordering::Relaxed);
    let delivered_all = traffic.delivered.load(Ordering::Relaxed);
    let metrics = fetch_metrics(relay.addr).await.unwrap_or_default();
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
