//! The page's end of the worker that runs the engine (docs/app.md, "Two
//! parts"): it starts the worker, holds calls until it listens, matches each
//! reply to its call, and hands every other post to the session.

use estafette_client::bridge::{Post, Reply, Request};

/// How long the worker may take to say `Ready` (its download and start)
/// before the page gives up on it: long enough for a slow link.
#[cfg(target_arch = "wasm32")]
const READY_DEADLINE_MS: i32 = 60_000;

/// The running worker; dropping it ends the worker.
#[cfg(target_arch = "wasm32")]
pub struct Backend {
    worker: web_sys::Worker,
    inner: std::rc::Rc<Inner>,
    _on_message: wasm_bindgen::closure::Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_error: wasm_bindgen::closure::Closure<dyn Fn(web_sys::Event)>,
}

#[cfg(target_arch = "wasm32")]
#[derive(Default)]
struct Inner {
    ready: std::cell::Cell<bool>,
    /// The worker failed to start or died: calls end at once with `None`.
    gone: std::cell::Cell<bool>,
    held: std::cell::RefCell<Vec<Vec<u8>>>,
    pending: std::cell::RefCell<
        std::collections::BTreeMap<u32, futures::channel::oneshot::Sender<Reply>>,
    >,
    next_id: std::cell::Cell<u32>,
}

#[cfg(target_arch = "wasm32")]
impl Backend {
    /// Starts the worker named by the page's `estafette-worker` meta tag
    /// (tools/postbuild.mjs writes it); `on_post` hears what is not a reply,
    /// `on_gone` that the worker failed to start or died. `None` when the
    /// page names no worker or the browser refuses it.
    pub fn start(on_post: impl Fn(Post) + 'static, on_gone: impl Fn() + 'static) -> Option<Self> {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;

        let url = web_sys::window()?
            .document()?
            .query_selector("meta[name=estafette-worker]")
            .ok()??
            .get_attribute("content")?;
        let worker = web_sys::Worker::new(&url).ok()?;
        let inner = std::rc::Rc::new(Inner::default());
        let on_message = {
            let inner = inner.clone();
            let worker = worker.clone();
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let data = event.data();
                let Some(bytes) = data.dyn_ref::<js_sys::Uint8Array>() else {
                    return;
                };
                match estafette_client::bridge::read_post(&bytes.to_vec()) {
                    Ok(Post::Ready) => {
                        inner.ready.set(true);
                        for call in inner.held.take() {
                            post_bytes(&worker, &call);
                        }
                    }
                    Ok(Post::Reply { id, reply }) => {
                        if let Some(waiting) = inner.pending.borrow_mut().remove(&id) {
                            let _ = waiting.send(reply);
                        }
                    }
                    Ok(post) => on_post(post),
                    Err(_) => {}
                }
            })
        };
        // A worker that fails to load answers nothing: the calls waiting end
        // with `None`, which the screens report.
        // A worker that traps keeps running what survived (keys, the
        // database, a socket): it is ended, not only forgotten.
        let on_gone = std::rc::Rc::new(on_gone);
        let give_up = {
            let inner = inner.clone();
            let worker = worker.clone();
            move || {
                if inner.gone.replace(true) {
                    return;
                }
                worker.terminate();
                inner.held.borrow_mut().clear();
                inner.pending.borrow_mut().clear();
                on_gone();
            }
        };
        let on_error = {
            let give_up = give_up.clone();
            Closure::<dyn Fn(web_sys::Event)>::new(move |_event: web_sys::Event| give_up())
        };
        // A download that stalls without failing never fires `error`.
        let deadline = {
            let inner = inner.clone();
            Closure::once_into_js(move || {
                if !inner.ready.get() {
                    give_up();
                }
            })
        };
        web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                deadline.unchecked_ref(),
                READY_DEADLINE_MS,
            )
            .ok()?;
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Some(Self {
            worker,
            inner,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends a request; the reply, or `None` if the worker is gone.
    pub fn call(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Option<Reply>> + use<> {
        let id = self.inner.next_id.get().wrapping_add(1).max(1);
        self.inner.next_id.set(id);
        let (answer, reply) = futures::channel::oneshot::channel();
        if !self.inner.gone.get() {
            self.inner.pending.borrow_mut().insert(id, answer);
            self.post(id, request);
        }
        async move { reply.await.ok() }
    }

    /// Sends a request that needs no reply (an engine command).
    pub fn send(&self, request: Request) {
        self.post(0, request);
    }

    fn post(&self, id: u32, request: Request) {
        if self.inner.gone.get() {
            return;
        }
        let bytes =
            estafette_client::bridge::encode(&estafette_client::bridge::Call { id, request });
        if self.inner.ready.get() {
            post_bytes(&self.worker, &bytes);
        } else {
            self.inner.held.borrow_mut().push(bytes);
        }
    }
}

#[cfg(target_arch = "wasm32")]
fn post_bytes(worker: &web_sys::Worker, bytes: &[u8]) {
    let _ = worker.post_message(&js_sys::Uint8Array::from(bytes));
}

#[cfg(target_arch = "wasm32")]
impl Drop for Backend {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// Natively (unit tests) there is no worker.
#[cfg(not(target_arch = "wasm32"))]
pub struct Backend;

#[cfg(not(target_arch = "wasm32"))]
impl Backend {
    /// There is no worker natively.
    pub fn start(on_post: impl Fn(Post) + 'static, on_gone: impl Fn() + 'static) -> Option<Self> {
        let _ = (on_post, on_gone);
        None
    }

    /// Never answered natively.
    pub fn call(
        &self,
        request: Request,
    ) -> impl std::future::Future<Output = Option<Reply>> + use<> {
        let _ = request;
        async { None }
    }

    /// Does nothing natively.
    pub fn send(&self, request: Request) {
        let _ = request;
    }
}
