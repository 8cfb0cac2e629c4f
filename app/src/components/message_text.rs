use leptos::prelude::*;

use crate::text::{Piece, pieces};

/// A message's text: text nodes and `<a>` built from parsed links, never HTML.
#[component]
pub fn MessageText(#[prop(into)] text: String) -> impl IntoView {
    let parts: Vec<AnyView> = pieces(&text)
        .into_iter()
        .map(|piece| match piece {
            Piece::Text(t) => t.to_owned().into_any(),
            Piece::Link(url) => {
                let href = url.to_owned();
                let label = url.to_owned();
                view! {
                    <a href=href target="_blank" rel="noopener noreferrer">
                        {label}
                    </a>
                }
                .into_any()
            }
        })
        .collect();
    view! { <p class="msg-text">{parts}</p> }
}
