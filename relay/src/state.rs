//! What every session of one relay shares.

use std::sync::Arc;

use crate::acks::Acks;
use crate::auth::ChallengeBook;
use crate::config::SessionConfig;
use crate::entropy::Entropy;
use crate::metrics::Metrics;
use crate::registry::Registry;
use crate::store::Store;

/// What every session shares: built once by [`crate::hub::Hub::start`].
pub struct Shared {
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// The store.
    pub store: Arc<dyn Store>,
    /// Connected devices.
    pub registry: Registry,
    /// Answered challenges.
    pub challenges: ChallengeBook,
    /// Acknowledged deliveries waiting to be deleted.
    pub acks: Arc<Acks>,
    /// Tunables.
    pub config: SessionConfig,
    /// Where challenges come from.
    pub entropy: Arc<dyn Entropy>,
}
