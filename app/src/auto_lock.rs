//! Locks the account after a period without any keyboard, pointer or touch
//! activity (default 10 minutes, set in the settings).

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;

use crate::session::{LockReason, Phase, Session};

/// How often inactivity is checked.
const CHECK_EVERY: Duration = Duration::from_secs(1);

/// Listens for activity and locks `session` when it stops for too long.
pub fn install(session: Session) {
    let last_activity = Rc::new(Cell::new(js_sys::Date::now()));
    for event in [
        "pointerdown",
        "pointermove",
        "keydown",
        "wheel",
        "touchstart",
        "focusin",
    ] {
        let last = last_activity.clone();
        let handle = window_event_listener_untyped(event, move |_| last.set(js_sys::Date::now()));
        // The app lives as long as the page.
        std::mem::forget(handle);
    }
    let last = last_activity.clone();
    // Runs as long as the page (the handle is only needed to stop it).
    let _ = set_interval_with_handle(
        move || {
            if session.phase.get_untracked() != Phase::Unlocked {
                last.set(js_sys::Date::now());
                return;
            }
            let minutes = session.preferences.with_untracked(|p| p.lock_minutes);
            let limit = f64::from(minutes) * 60_000.0;
            if js_sys::Date::now() - last.get() >= limit {
                session.lock(LockReason::Inactive);
            }
        },
        CHECK_EVERY,
    );
}
