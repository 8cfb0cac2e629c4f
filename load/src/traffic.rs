//! One device of a traffic or group run: sends on a fixed schedule within
//! a window of unanswered sends, acknowledges what it receives, and records
//! latencies of what falls in the measured window.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use estafette_testkit::ws::Ws;
use estafette_wire::{
    ClientFrame, DeviceId, Envelope, GroupRecipient, GroupSend, Send, ServerFrame,
};
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use crate::stats::micros;

/// Shared by the device tasks of the traffic phase.
pub struct Traffic {
    /// Time zero of the timestamps in payloads (µs).
    pub epoch: Instant,
    /// When the first sends are due.
    pub send_start: Instant,
    /// Start of the measured window (µs).
    pub measure_start_us: u64,
    /// End of the measured window (µs); nothing is sent after it.
    pub stop_us: u64,
    /// End of the measured window.
    pub stop: Instant,
    /// When devices stop waiting for the last answers and deliveries.
    pub deadline: Instant,
    /// Seconds between two sends of one device.
    pub period: f64,
    /// Devices that send.
    pub devices: u32,
    /// Sends in flight per device.
    pub window: usize,
    /// Payload bytes.
    pub payload: usize,
    /// Sends accepted, all devices.
    pub accepted: AtomicU64,
    /// Deliveries, all devices.
    pub delivered: AtomicU64,
    /// Sends not answered yet, all devices.
    pub in_flight: AtomicI64,
}

impl Traffic {
    /// `at` in µs since the epoch.
    pub fn us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }

    /// Whether `us` falls in the measured window.
    pub fn in_window(&self, us: u64) -> bool {
        us >= self.measure_start_us && us < self.stop_us
    }
}

/// What one device saw.
#[derive(Default)]
pub struct DeviceReport {
    /// Sends.
    pub sent: u64,
    /// Sends in the measured window.
    pub sent_in_window: u64,
    /// `Accepted` received in the window.
    pub accepted_in_window: u64,
    /// `Deliver` received in the window.
    pub delivered_in_window: u64,
    /// Send → Deliver, of messages sent in the window (µs).
    pub latency: Vec<u32>,
    /// Schedule → Deliver: includes waiting for room in the window (µs).
    pub scheduled_latency: Vec<u32>,
    /// Send → Accepted (µs).
    pub accept_latency: Vec<u32>,
    /// Messages due and not sent when sending stopped (window full).
    pub unsent: u64,
    /// Sends never answered.
    pub still_in_flight: u64,
    /// Refusals and errors, by name.
    pub errors: BTreeMap<String, u64>,
    /// Why the socket was lost, if it was.
    pub closed: Option<String>,
}

impl DeviceReport {
    /// Adds another device's figures to these; `lost` counts lost sockets by reason.
    pub fn absorb(&mut self, other: DeviceReport, lost: &mut BTreeMap<String, u64>) {
        self.sent += other.sent;
        self.sent_in_window += other.sent_in_window;
        self.accepted_in_window += other.accepted_in_window;
        self.delivered_in_window += other.delivered_in_window;
        self.latency.extend(other.latency);
        self.scheduled_latency.extend(other.scheduled_latency);
        self.accept_latency.extend(other.accept_latency);
        self.unsent += other.unsent;
        self.still_in_flight += other.still_in_flight;
        for (code, n) in other.errors {
            *self.errors.entry(code).or_default() += n;
        }
        if let Some(why) = other.closed {
            *lost.entry(why).or_default() += 1;
        }
    }
}

/// The little-endian `u64` at `at`, if the bytes go that far.
fn read_u64(bytes: &[u8], at: usize) -> Option<u64> {
    let slice = bytes.get(at..at + 8)?;
    Some(u64::from_le_bytes(slice.try_into().ok()?))
}

/// One device's bookkeeping while it runs.
struct Driver {
    index: u32,
    traffic: Arc<Traffic>,
    report: DeviceReport,
    /// Send times (µs) of sends not yet answered, in order.
    outstanding: VecDeque<u64>,
    acks: Vec<u64>,
}

impl Driver {
    /// The oldest send was answered; its send time.
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
        self.on_frame(&bytes, now);
        Ok(())
    }

    /// A frame's bytes received at `now` (µs).
    fn on_frame(&mut self, bytes: &[u8], now: u64) {
        let frame = match ServerFrame::decode(bytes) {
            Ok(frame) => frame,
            Err(_) => {
                *self.report.errors.entry("undecodable".into()).or_default() += 1;
                return;
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
    }
}

/// Whom a device sends to.
pub enum Target {
    /// One device (a 1:1 `Send` with one copy).
    Device(String, DeviceId),
    /// Many devices at once (a `GroupSend`).
    Group(Arc<Vec<GroupRecipient>>),
}

impl Target {
    /// The frame carrying `payload` to this target.
    pub fn frame(&self, idempotency_id: [u8; 16], payload: &[u8]) -> ClientFrame {
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
pub async fn drive(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

    use estafette_wire::{Delivery, ErrorCode};

    use super::*;

    /// A run whose window is 1 000..2 000 µs.
    fn traffic() -> Arc<Traffic> {
        let epoch = Instant::now();
        Arc::new(Traffic {
            epoch,
            send_start: epoch,
            measure_start_us: 1_000,
            stop_us: 2_000,
            stop: epoch,
            deadline: epoch,
            period: 0.01,
            devices: 2,
            window: 4,
            payload: 16,
            accepted: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            in_flight: AtomicI64::new(0),
        })
    }

    fn driver(traffic: &Arc<Traffic>, sent: &[u64]) -> Driver {
        traffic
            .in_flight
            .fetch_add(sent.len() as i64, Ordering::Relaxed);
        Driver {
            index: 0,
            traffic: traffic.clone(),
            report: DeviceReport::default(),
            outstanding: sent.iter().copied().collect(),
            acks: Vec::new(),
        }
    }

    fn delivery(id: u64, sent: u64, scheduled: u64) -> Vec<u8> {
        let mut payload = sent.to_le_bytes().to_vec();
        payload.extend_from_slice(&scheduled.to_le_bytes());
        ServerFrame::Deliver(Delivery {
            delivery_id: id,
            sender: "a@load.example".into(),
            sender_device: DeviceId([1; 16]),
            accepted_at_ms: 0,
            payload,
        })
        .encode()
    }

    #[test]
    fn answers_free_the_oldest_send_and_count_only_in_the_window() {
        let traffic = traffic();
        let mut d = driver(&traffic, &[500, 1_200, 1_300]);
        // Answered before the window: counted in all, not in the window.
        d.on_frame(&ServerFrame::Accepted([0; 16]).encode(), 900);
        // Answered in the window: its latency is measured (sent at 1 200).
        d.on_frame(&ServerFrame::Accepted([1; 16]).encode(), 1_500);
        assert_eq!(traffic.accepted.load(Ordering::Relaxed), 2);
        assert_eq!(d.report.accepted_in_window, 1);
        assert_eq!(d.report.accept_latency, [300]);
        assert_eq!(traffic.in_flight.load(Ordering::Relaxed), 1);
        // A refusal frees a slot too, and is counted by name.
        d.on_frame(
            &ServerFrame::QueueFull {
                idempotency_id: [2; 16],
                handle: "b@load.example".into(),
            }
            .encode(),
            1_600,
        );
        assert!(d.outstanding.is_empty());
        assert_eq!(d.report.errors["QueueFull"], 1);
    }

    #[test]
    fn deliveries_are_acknowledged_and_timed_from_send_and_schedule() {
        let traffic = traffic();
        let mut d = driver(&traffic, &[]);
        d.on_frame(&delivery(7, 1_100, 1_050), 1_400);
        // Sent before the window: delivered, acknowledged, not timed.
        d.on_frame(&delivery(8, 900, 900), 1_450);
        assert_eq!(d.acks, [7, 8]);
        assert_eq!(d.report.latency, [300]);
        assert_eq!(d.report.scheduled_latency, [350]);
        assert_eq!(d.report.delivered_in_window, 2);
        assert_eq!(traffic.delivered.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn group_skips_rate_limits_and_garbage_are_counted() {
        let traffic = traffic();
        let mut d = driver(&traffic, &[1_100, 1_200]);
        d.on_frame(
            &ServerFrame::GroupAccepted {
                idempotency_id: [0; 16],
                queue_full: vec![GroupRecipient {
                    handle: "m@load.example".into(),
                    devices: vec![DeviceId([2; 16]), DeviceId([3; 16])],
                }],
            }
            .encode(),
            1_300,
        );
        assert_eq!(d.report.accepted_in_window, 1);
        assert_eq!(d.report.errors["devices skipped (queue full)"], 2);
        // A send refused by the frame rate gets no answer of its own.
        let limited = ServerFrame::Error {
            code: ErrorCode::RateLimited,
            detail: "slow down".into(),
            request: None,
        };
        d.on_frame(&limited.encode(), 1_400);
        assert!(d.outstanding.is_empty());
        assert_eq!(d.report.errors["rate_limited"], 1);
        d.on_frame(&[0xff, 0x00], 1_500);
        assert_eq!(d.report.errors["undecodable"], 1);
    }

    #[test]
    fn device_reports_add_up() {
        let one = || DeviceReport {
            sent: 3,
            accepted_in_window: 2,
            latency: vec![10, 20],
            errors: BTreeMap::from([("QueueFull".to_owned(), 1)]),
            closed: Some("write failed".into()),
            ..DeviceReport::default()
        };
        let mut total = DeviceReport::default();
        let mut lost = BTreeMap::new();
        total.absorb(one(), &mut lost);
        total.absorb(one(), &mut lost);
        assert_eq!((total.sent, total.accepted_in_window), (6, 4));
        assert_eq!(total.latency, [10, 20, 10, 20]);
        assert_eq!(total.errors["QueueFull"], 2);
        assert_eq!(lost["write failed"], 2);
        assert!(total.closed.is_none());
    }

    #[test]
    fn a_closed_socket_ends_the_device() {
        let traffic = traffic();
        let mut d = driver(&traffic, &[]);
        assert!(
            d.on_message(Some(Ok(Message::Ping(Vec::new().into()))))
                .is_ok()
        );
        assert_eq!(d.on_message(None), Err("connection closed".into()));
    }

    #[test]
    fn targets_make_a_send_or_a_group_send() {
        let device = Target::Device("b@load.example".into(), DeviceId([4; 16]));
        let ClientFrame::Send(send) = device.frame([9; 16], b"payload") else {
            panic!("not a send")
        };
        assert_eq!(send.idempotency_id, [9; 16]);
        assert_eq!(send.envelopes.len(), 1);
        assert_eq!(send.envelopes[0].payload, b"payload");
        let members = Arc::new(vec![GroupRecipient {
            handle: "m@load.example".into(),
            devices: vec![DeviceId([5; 16])],
        }]);
        let ClientFrame::GroupSend(group) = Target::Group(members.clone()).frame([3; 16], b"p")
        else {
            panic!("not a group send")
        };
        assert_eq!(
            (group.recipients, group.payload),
            (members.to_vec(), b"p".to_vec())
        );
    }
}
