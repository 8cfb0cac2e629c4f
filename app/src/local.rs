//! The origin's `localStorage`, which holds only device facts: the
//! language, the count of wrong unlock attempts and the hint that an account
//! exists (docs/app.md, "Where things are stored"). Erase clears it.

/// `localStorage`, when the browser gives it.
pub fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}
