//! Prometheus metrics, served as text on `/metrics`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Label of a per-frame-type counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct FrameLabels {
    /// `in` (from clients) or `out` (to clients).
    pub direction: &'static str,
    /// Frame type, as `ClientFrame::kind` / `ServerFrame::kind`.
    pub kind: &'static str,
}

/// Label of the error counter.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ErrorLabels {
    /// Error code name.
    pub code: &'static str,
}

/// Every metric the relay exports.
pub struct Metrics {
    registry: Registry,
    /// WebSockets open now.
    pub connections_open: Gauge,
    /// WebSockets accepted since start.
    pub connections_total: Counter,
    /// Frames by direction and type.
    pub frames: Family<FrameLabels, Counter>,
    /// Errors sent to clients, by code.
    pub errors: Family<ErrorLabels, Counter>,
    /// Authenticated devices connected to this relay.
    pub devices_connected: Gauge,
    /// Sends accepted (new, not repeated idempotency ids).
    pub messages_accepted: Counter,
    /// Copies stored by accepted sends (a group send counts one per device queued).
    pub copies_accepted: Counter,
    /// Group sends accepted (also counted in `messages_accepted`).
    pub group_messages_accepted: Counter,
    /// Devices a group send skipped because their queue was full.
    pub group_copies_skipped: Counter,
    /// Copies waiting in device queues.
    pub queue_depth: Gauge,
    /// Distinct payloads stored (refreshed every minute).
    pub payloads_stored: Gauge,
    /// Time from acceptance to delivery of a copy, in seconds.
    pub deliver_latency: Histogram,
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("estafette_relay");
        let connections_open = Gauge::default();
        let connections_total = Counter::default();
        let frames = Family::<FrameLabels, Counter>::default();
        let errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "connections_open",
            "WebSocket connections open now",
            connections_open.clone(),
        );
        registry.register(
            "connections",
            "WebSocket connections accepted",
            connections_total.clone(),
        );
        registry.register("frames", "Frames by direction and type", frames.clone());
        registry.register("errors", "Error frames sent, by code", errors.clone());
        let devices_connected = Gauge::default();
        let messages_accepted = Counter::default();
        let copies_accepted = Counter::default();
        let queue_depth = Gauge::default();
        let payloads_stored = Gauge::default();
        let group_messages_accepted = Counter::default();
        let group_copies_skipped = Counter::default();
        let buckets = [
            0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 60.0, 3600.0,
        ];
        let deliver_latency = Histogram::new(buckets);
        registry.register(
            "devices_connected",
            "Authenticated devices connected",
            devices_connected.clone(),
        );
        registry.register(
            "messages_accepted",
            "Sends accepted",
            messages_accepted.clone(),
        );
        registry.register(
            "copies_accepted",
            "Copies stored by accepted sends",
            copies_accepted.clone(),
        );
        registry.register(
            "group_messages_accepted",
            "Group sends accepted",
            group_messages_accepted.clone(),
        );
        registry.register(
            "group_copies_skipped",
            "Devices a group send skipped for a full queue",
            group_copies_skipped.clone(),
        );
        registry.register(
            "queue_depth",
            "Copies waiting in device queues",
            queue_depth.clone(),
        );
        registry.register(
            "payloads_stored",
            "Distinct payloads stored (one per group message however many devices)",
            payloads_stored.clone(),
        );
        registry.register(
            "deliver_latency_seconds",
            "Acceptance to delivery of a copy",
            deliver_latency.clone(),
        );
        Self {
            registry,
            connections_open,
            connections_total,
            frames,
            errors,
            devices_connected,
            messages_accepted,
            copies_accepted,
            group_messages_accepted,
            group_copies_skipped,
            queue_depth,
            payloads_stored,
            deliver_latency,
        }
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
