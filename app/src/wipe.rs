//! What "sign out and erase" clears besides the account's database: every
//! IndexedDB database, localStorage, sessionStorage and Cache Storage of this
//! origin. A kiosk must keep nothing of the previous user.

use js_sys::{Array, Promise};
use wasm_bindgen_futures::JsFuture;

pub use estafette_client::store::database_exists;
use estafette_client::store::database_names;

/// Deletes every database, storage entry and cache of this origin.
pub async fn wipe_browser_storage() {
    let Some(window) = web_sys::window() else {
        return;
    };
    if let Ok(Some(storage)) = window.local_storage() {
        let _ = storage.clear();
    }
    if let Ok(Some(storage)) = window.session_storage() {
        let _ = storage.clear();
    }
    if let Ok(caches) = window.caches()
        && let Ok(keys) = JsFuture::from(caches.keys()).await
    {
        for name in Array::from(&keys).iter().filter_map(|k| k.as_string()) {
            let _ = JsFuture::from(caches.delete(&name)).await;
        }
    }
    if let Ok(Some(factory)) = window.indexed_db() {
        for name in database_names().await {
            if let Ok(request) = factory.delete_database(&name) {
                wait_for(&request).await;
            }
        }
    }
}

/// Waits for an IndexedDB request to succeed, fail or be blocked.
async fn wait_for(request: &web_sys::IdbOpenDbRequest) {
    let done = Promise::new(&mut |resolve, _| {
        let resolve = resolve.clone();
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&resolve));
        request.set_onblocked(Some(&resolve));
    });
    let _ = JsFuture::from(done).await;
}
