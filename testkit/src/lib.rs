//! What the relay's tests, the load generator and the client's tests share.
//!
//! - [`Identity`], [`DeviceKeys`]: devices with real keys, and their answers
//!   to a relay's challenge; [`frames`]: frames tests send often.
//! - [`Client`] over a [`Link`]: a real WebSocket ([`ws`]) or channels to a
//!   session of a relay in memory ([`MemoryRelay`]); `expect` adds the
//!   assertions tests use, [`fixtures`] the participants they need.
//! - [`RelayProcess`]: the relay binary as a child process; [`invite`],
//!   [`invite_in`]: invitations written straight into a store;
//!   [`fetch_metrics`]: its `/metrics`; [`start_relay_on`]: the relay in
//!   this process on a given address (a restart).
//! - [`ModuleGraph`]: a crate's import circles, and [`files_over`] its long files.
//!
//! Everything returns errors except `expect` and [`fixtures`], whose
//! failures panic like assertions: the load generator uses the former.

mod client;
mod error;
mod expect;
pub mod fixtures;
pub mod frames;
mod identity;
mod in_process;
mod invites;
mod link;
mod memory;
mod metrics;
mod module_graph;
mod relay_process;
pub mod ws;

pub use client::{ANSWER_TIME, Client, Heard, SignIn, unexpected};
pub use error::KitError;
pub use expect::WAIT;
pub use identity::{DeviceKeys, Identity};
pub use in_process::start_relay_on;
pub use invites::{INVITE_VALIDITY, invite, invite_in, now_ms};
pub use link::{Incoming, Link};
pub use memory::{ChannelLink, MEMORY_ORIGIN, MemoryRelay};
pub use metrics::{fetch_metrics, metric, metric_lines};
pub use module_graph::{ModuleGraph, files_over};
pub use relay_process::{RelayProcess, admin, proc_status, rss_kib};
