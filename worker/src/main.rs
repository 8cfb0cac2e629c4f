//! The web app's worker (docs/app.md, "Two parts"): it holds the vault, the
//! keys, the engine and the link to the relay, and answers the page's calls
//! (`estafette_client::bridge`). The page never holds a key.

#[cfg(target_arch = "wasm32")]
mod serve;

fn main() {
    #[cfg(target_arch = "wasm32")]
    serve::start();
}
