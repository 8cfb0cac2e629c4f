use leptos::prelude::*;

use crate::engine::Delivery;
use crate::i18n::{Key, use_i18n};

/// The delivery state of one of our messages: a clock while sending, one
/// tick when sent, two when delivered, two coloured when read.
#[component]
pub fn Ticks(state: Delivery) -> impl IntoView {
    let i18n = use_i18n();
    let label = move || match state {
        Delivery::Sending => i18n.t(Key::DeliverySending),
        Delivery::Sent => i18n.t(Key::DeliverySent),
        Delivery::Delivered => i18n.t(Key::DeliveryDelivered),
        Delivery::Read => i18n.t(Key::DeliveryRead),
        Delivery::Received => "",
        Delivery::Failed => i18n.t(Key::DeliveryFailed),
    };
    let icon = match state {
        Delivery::Sending => view! {
            <svg viewBox="0 0 16 16" class="tick-icon" aria-hidden="true">
                <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" stroke-width="1.6" />
                <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" stroke-width="1.6" stroke-linecap="round" />
            </svg>
        }
        .into_any(),
        Delivery::Failed => view! {
            <svg viewBox="0 0 16 16" class="tick-icon failed" aria-hidden="true">
                <circle cx="8" cy="8" r="6.2" fill="none" stroke="currentColor" stroke-width="1.6" />
                <path d="M8 4.6v4.2M8 10.9v.4" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" />
            </svg>
        }
        .into_any(),
        Delivery::Sent => view! {
            <svg viewBox="0 0 16 16" class="tick-icon" aria-hidden="true">
                <path d="M3 8.5l3 3 7-7" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
        }
        .into_any(),
        _ => view! {
            <svg viewBox="0 0 20 16" class="tick-icon double" aria-hidden="true">
                <path d="M1.5 8.5l3 3 7-7M8 11.5l7-7" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round" />
            </svg>
        }
        .into_any(),
    };
    view! {
        <span class="ticks" data-testid="ticks" data-state=state.as_str() role="img" aria-label=label title=label>
            {icon}
        </span>
    }
}
