//! What "sign out and erase" clears besides the account's database: every
//! IndexedDB database, localStorage, sessionStorage and Cache Storage of this
//! origin. A kiosk must keep nothing of the previous user.

use js_sys::{Array, Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Names of the IndexedDB databases of this origin.
async fn database_names() -> Vec<String> {
    let Some(factory) = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()) else {
        return Vec::new();
    };
    // `databases()` is not in web-sys yet.
    let Ok(method) = Reflect::get(&factory, &JsValue::from_str("databases")) else {
        return Vec::new();
    };
    let Some(promise) = method
        .dyn_ref::<Function>()
        .and_then(|f| f.call0(&factory).ok())
        .and_then(|p| p.dyn_into::<Promise>().ok())
    else {
        return Vec::new();
    };
    let Ok(list) = JsFuture::from(promise).await else {
        return Vec::new();
    };
    Array::from(&list)
        .iter()
        .filter_map(|info| Reflect::get(&info, &JsValue::from_str("name")).ok())
        .filter_map(|name| name.as_string())
        .collect()
}

/// Whether the database `name` exists (without creating it).
pub async fn database_exists(name: &str) -> bool {
    database_names().await.iter().any(|n| n == name)
}

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
