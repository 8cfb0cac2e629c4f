//! Where a connection is in its life: before `Hello`, waiting for the
//! challenge's answer, or authenticated.

use std::collections::BTreeSet;
use std::sync::Arc;

use estafette_crypto::DeviceCertificate;
use estafette_wire::DeviceId;

use crate::registry::Signals;

/// The phases of a session, in order.
pub enum Phase {
    /// Connected; `Hello` must come first.
    AwaitingHello,
    /// `Welcome` sent with this challenge; `Register` or `Authenticate` must follow.
    AwaitingAuth {
        /// The challenge the client must sign.
        challenge: [u8; 32],
    },
    /// Authenticated as a device.
    Ready(Box<Authed>),
}

/// An authenticated device's session.
pub struct Authed {
    /// The device.
    pub device: DeviceId,
    /// Its account's handle.
    pub handle: String,
    /// Its verified certificate.
    pub certificate: DeviceCertificate,
    /// What the relay tells this session from outside.
    pub control: Arc<Signals>,
    /// Highest delivery id sent on this connection.
    pub sent_up_to: u64,
    /// Deliveries sent and not yet acknowledged.
    pub in_flight: BTreeSet<u64>,
    /// The queue may hold copies not yet sent on this connection.
    pub more_queued: bool,
}
