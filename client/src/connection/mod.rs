mod backoff;
#[cfg(target_arch = "wasm32")]
mod browser;
mod state;

pub use backoff::Backoff;
#[cfg(target_arch = "wasm32")]
pub(crate) use browser::browser_online;
#[cfg(target_arch = "wasm32")]
pub use browser::{RelayConnection, relay_url_for_page};
pub use state::ConnectionState;
