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
    inner: std::rc::Rc<Inner>,
}

#[cfg(target_arch = "wasm32")]
struct Inner {
    /// `None` until its script is fetched and checked.
    worker: std::cell::RefCell<Option<web_sys::Worker>>,
    ready: std::cell::Cell<bool>,
    /// The worker failed to start or died: calls end at once with `None`.
    gone: std::cell::Cell<bool>,
    held: std::cell::RefCell<Vec<Vec<u8>>>,
    pending: std::cell::RefCell<
        std::collections::BTreeMap<u32, futures::channel::oneshot::Sender<Reply>>,
    >,
    next_id: std::cell::Cell<u32>,
    /// The worker's script as a `blob:` URL, revoked once it runs.
    script_url: std::cell::RefCell<Option<String>>,
    on_post: Box<dyn Fn(Post)>,
    on_gone: Box<dyn Fn()>,
}

/// Where the worker's files are and their integrity hashes, from the page's
/// `<meta name="estafette-worker">` (tools/postbuild.mjs writes it; the page
/// itself is anchored by the integrity hashes in `index.html`).
#[cfg(target_arch = "wasm32")]
struct WorkerFiles {
    glue: String,
    glue_integrity: String,
    wasm: String,
    wasm_integrity: String,
}

#[cfg(target_arch = "wasm32")]
impl WorkerFiles {
    fn from_page() -> Option<Self> {
        let meta = web_sys::window()?
            .document()?
            .query_selector("meta[name=estafette-worker]")
            .ok()??;
        // They end up in a script: paths and base64 only.
        let attribute = |name: &str| {
            meta.get_attribute(name).filter(|value| {
                !value.is_empty()
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"/+=_.-".contains(&b))
            })
        };
        Some(Self {
            glue: attribute("content")?,
            glue_integrity: attribute("data-integrity")?,
            wasm: attribute("data-wasm")?,
            wasm_integrity: attribute("data-wasm-integrity")?,
        })
    }
}

#[cfg(target_arch = "wasm32")]
impl Backend {
    /// Starts the worker named by the page's `estafette-worker` meta tag;
    /// `on_post` hears what is not a reply, `on_gone` that the worker failed
    /// to start or died. `None` when the page names no worker.
    ///
    /// `new Worker()` takes no integrity attribute, so the page fetches the
    /// worker's glue with its integrity hash and starts the worker from a
    /// `blob:` of it, which fetches its wasm with its own hash: every byte
    /// the worker runs is checked against `index.html`.
    pub fn start(on_post: impl Fn(Post) + 'static, on_gone: impl Fn() + 'static) -> Option<Self> {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;

        let files = WorkerFiles::from_page()?;
        let inner = std::rc::Rc::new(Inner {
            worker: std::cell::RefCell::new(None),
            ready: std::cell::Cell::new(false),
            gone: std::cell::Cell::new(false),
            held: std::cell::RefCell::new(Vec::new()),
            pending: std::cell::RefCell::new(std::collections::BTreeMap::new()),
            next_id: std::cell::Cell::new(0),
            script_url: std::cell::RefCell::new(None),
            on_post: Box::new(on_post),
            on_gone: Box::new(on_gone),
        });
        // A download that stalls without failing never fires `error`.
        let deadline = {
            let inner = inner.clone();
            Closure::once_into_js(move || {
                if !inner.ready.get() {
                    inner.give_up();
                }
            })
        };
        web_sys::window()?
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                deadline.unchecked_ref(),
                READY_DEADLINE_MS,
            )
            .ok()?;
        let starting = inner.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match start_worker(&files).await {
                Ok((worker, url)) if !starting.gone.get() => {
                    starting.listen(&worker);
                    starting.script_url.replace(Some(url));
                    starting.worker.replace(Some(worker));
                }
                Ok((worker, url)) => {
                    worker.terminate();
                    let _ = web_sys::Url::revoke_object_url(&url);
                }
                Err(_) => starting.give_up(),
            }
        });
        Some(Self { inner })
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
            self.inner.post(id, request);
        }
        async move { reply.await.ok() }
    }

    /// Sends a request that needs no reply (an engine command).
    pub fn send(&self, request: Request) {
        self.inner.post(0, request);
    }
}

/// Fetches the glue with its integrity hash and starts the worker from it.
#[cfg(target_arch = "wasm32")]
async fn start_worker(
    files: &WorkerFiles,
) -> Result<(web_sys::Worker, String), wasm_bindgen::JsValue> {
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;

    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let init = web_sys::RequestInit::new();
    init.set_integrity(&files.glue_integrity);
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str_and_init(&files.glue, &init))
            .await?
            .dyn_into()?;
    if !response.ok() {
        return Err(JsValue::from_str("the worker's script did not load"));
    }
    let glue = JsFuture::from(response.text()?)
        .await?
        .as_string()
        .ok_or_else(|| JsValue::from_str("the worker's script is not text"))?;
    // In a `blob:` worker relative URLs mean nothing: the wasm's is absolute.
    let wasm = format!("{}{}", window.location().origin()?, files.wasm);
    let source = format!(
        "{glue}\nwasm_bindgen({{ module_or_path: fetch(\"{wasm}\", {{ integrity: \"{}\" }}) }})\n  \
         .catch((error) => setTimeout(() => {{ throw error; }}));\n",
        files.wasm_integrity
    );
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/javascript");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(
        &js_sys::Array::of1(&JsValue::from_str(&source)),
        &options,
    )?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let worker = web_sys::Worker::new(&url)?;
    Ok((worker, url))
}

#[cfg(target_arch = "wasm32")]
impl Inner {
    fn listen(self: &std::rc::Rc<Self>, worker: &web_sys::Worker) {
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;

        let inner = self.clone();
        let on_message =
            Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                let data = event.data();
                let Some(bytes) = data.dyn_ref::<js_sys::Uint8Array>() else {
                    return;
                };
                match estafette_client::bridge::read_post(&bytes.to_vec()) {
                    Ok(Post::Ready) => inner.on_ready(),
                    Ok(Post::Reply { id, reply }) => {
                        if let Some(waiting) = inner.pending.borrow_mut().remove(&id) {
                            let _ = waiting.send(reply);
                        }
                    }
                    Ok(post) => (inner.on_post)(post),
                    Err(_) => {}
                }
            });
        // A worker that fails to start or traps: it is ended (what survived
        // a trap, keys or a socket, must not keep running) and the calls
        // waiting end with `None`, which the screens report.
        let inner = self.clone();
        let on_error =
            Closure::<dyn Fn(web_sys::Event)>::new(move |_event: web_sys::Event| inner.give_up());
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        // Both live as long as the page's one worker.
        on_message.forget();
        on_error.forget();
    }

    fn on_ready(&self) {
        self.ready.set(true);
        if let Some(url) = self.script_url.take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        let held = self.held.take();
        if let Some(worker) = self.worker.borrow().as_ref() {
            for call in held {
                post_bytes(worker, &call);
            }
        }
    }

    fn give_up(&self) {
        if self.gone.replace(true) {
            return;
        }
        if let Some(worker) = self.worker.take() {
            worker.terminate();
        }
        if let Some(url) = self.script_url.take() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
        self.held.borrow_mut().clear();
        self.pending.borrow_mut().clear();
        (self.on_gone)();
    }

    fn post(&self, id: u32, request: Request) {
        if self.gone.get() {
            return;
        }
        let bytes =
            estafette_client::bridge::encode(&estafette_client::bridge::Call { id, request });
        match self.worker.borrow().as_ref() {
            Some(worker) if self.ready.get() => post_bytes(worker, &bytes),
            _ => self.held.borrow_mut().push(bytes),
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
        if let Some(worker) = self.inner.worker.take() {
            worker.terminate();
        }
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
