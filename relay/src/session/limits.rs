//! A connection's rate limits: frames, directory searches, bundle fetches.

use estafette_wire::ErrorCode;
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};

use crate::config::SessionConfig;
use crate::session::outbound::Outbound;

/// The budgets of one connection.
pub struct Limits {
    frames: DefaultDirectRateLimiter,
    directory: DefaultDirectRateLimiter,
    bundles: DefaultDirectRateLimiter,
}

impl Limits {
    /// Full budgets, as `config` sets them.
    pub fn new(config: &SessionConfig) -> Self {
        Self {
            frames: RateLimiter::direct(
                Quota::per_second(config.frame_rate).allow_burst(config.frame_burst),
            ),
            directory: RateLimiter::direct(Quota::per_minute(config.directory_per_minute)),
            bundles: RateLimiter::direct(
                Quota::per_minute(config.bundles_per_minute).allow_burst(config.bundle_burst),
            ),
        }
    }

    /// Counts a frame; `false` when the connection sends too fast.
    pub fn frame(&self) -> bool {
        self.frames.check().is_ok()
    }

    /// Counts a search; answers `RateLimited` when over budget.
    pub fn search(&self, out: &Outbound, request: u32) -> bool {
        allowed(&self.directory, out, request)
    }

    /// Counts a bundle fetch; answers `RateLimited` when over budget.
    pub fn bundle_fetch(&self, out: &Outbound, request: u32) -> bool {
        allowed(&self.bundles, out, request)
    }
}

fn allowed(limit: &DefaultDirectRateLimiter, out: &Outbound, request: u32) -> bool {
    let allowed = limit.check().is_ok();
    if !allowed {
        out.error(
            ErrorCode::RateLimited,
            "Too many directory requests; wait a minute.",
            Some(request),
        );
    }
    allowed
}
