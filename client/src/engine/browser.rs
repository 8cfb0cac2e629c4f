use std::rc::Rc;

use futures::channel::mpsc::{UnboundedSender, unbounded};

use super::{Command, Event, Runtime, run};
use crate::account::Identity;
use crate::store::{IndexedDbStore, Vault};
use crate::transport::BrowserTransport;

/// Browser timers, `navigator.onLine`, `Math.random`.
#[derive(Debug, Default, Clone, Copy)]
pub struct BrowserRuntime;

impl Runtime for BrowserRuntime {
    async fn sleep(&self, ms: u32) {
        gloo_timers::future::TimeoutFuture::new(ms).await;
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    fn online(&self) -> bool {
        crate::connection::browser_online()
    }

    fn now_ms(&self) -> u64 {
        js_sys::Date::now() as u64
    }
}

/// The running engine of the page. Dropping it stops the engine (lock).
pub struct Engine {
    commands: UnboundedSender<Command>,
}

impl Engine {
    /// Starts the engine for the unlocked `identity`; `on_event` hears everything.
    pub fn start(
        vault: Rc<Vault<IndexedDbStore>>,
        identity: Identity,
        on_event: impl Fn(Event) + 'static,
    ) -> Self {
        let (commands, receiver) = unbounded();
        wasm_bindgen_futures::spawn_local(async move {
            // The identity comes back when the engine ends; dropping it zeroizes.
            let _identity = run(
                &vault,
                identity,
                &BrowserTransport,
                &BrowserRuntime,
                receiver,
                &on_event,
            )
            .await;
        });
        Self { commands }
    }

    /// Queues a command; the engine carries it out in order.
    pub fn command(&self, command: Command) {
        let _ = self.commands.unbounded_send(command);
    }
}
