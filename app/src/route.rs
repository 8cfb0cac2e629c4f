//! Hash routes, parsed by hand (no router crate). The invitation token travels
//! in the fragment, which browsers never send to a server.

use leptos::prelude::*;

/// A screen the address can name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `#/`: the conversation list when unlocked, the landing page otherwise.
    Home,
    /// `#/join/<token>`: the join journey.
    Join(String),
    /// `#/c/<handle>`: one conversation.
    Chat(String),
    /// `#/new`: start a conversation from the directory.
    NewConversation,
    /// `#/new-group`: create a group.
    NewGroup,
    /// `#/group/<conversation id>`: a group's members and settings.
    GroupInfo(String),
    /// `#/settings`.
    Settings,
}

impl Route {
    /// Parses `location.hash` (with or without the leading `#`).
    pub fn parse(hash: &str) -> Self {
        let path = hash.trim_start_matches('#').trim_start_matches('/');
        let (head, rest) = path.split_once('/').unwrap_or((path, ""));
        match head {
            "join" if !rest.is_empty() => Route::Join(rest.to_owned()),
            "c" if !rest.is_empty() => Route::Chat(decode(rest)),
            "new" => Route::NewConversation,
            "new-group" => Route::NewGroup,
            "group" if !rest.is_empty() => Route::GroupInfo(decode(rest)),
            "settings" => Route::Settings,
            _ => Route::Home,
        }
    }

    /// The `href` of this route.
    pub fn href(&self) -> String {
        match self {
            Route::Home => "#/".to_owned(),
            Route::Join(token) => format!("#/join/{token}"),
            Route::Chat(handle) => format!("#/c/{}", encode(handle)),
            Route::NewConversation => "#/new".to_owned(),
            Route::NewGroup => "#/new-group".to_owned(),
            Route::GroupInfo(id) => format!("#/group/{}", encode(id)),
            Route::Settings => "#/settings".to_owned(),
        }
    }
}

/// Percent-encodes everything but the characters a handle is made of.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"@.-_+".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Reverses [`encode`]; malformed escapes are kept as they are.
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'%')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(value) => {
                out.push(value);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn current_hash() -> String {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .unwrap_or_default()
}

/// The current route, provided as context by the `App`.
#[derive(Clone, Copy)]
pub struct Router {
    route: RwSignal<Route>,
}

impl Router {
    /// Reads the address and follows `hashchange`.
    pub fn new() -> Self {
        let route = RwSignal::new(Route::parse(&current_hash()));
        let handle = window_event_listener(leptos::ev::hashchange, move |_| {
            route.set(Route::parse(&current_hash()));
        });
        // The app lives as long as the page.
        std::mem::forget(handle);
        Self { route }
    }

    /// The current route (reactive).
    pub fn route(&self) -> Route {
        self.route.get()
    }

    /// Goes to `route`, adding a history entry.
    pub fn navigate(&self, route: &Route) {
        if let Some(window) = web_sys::window() {
            let _ = window.location().set_hash(&route.href());
        }
        self.route.set(route.clone());
    }

    /// Goes to `route` replacing the current entry (the join link must not
    /// stay in the history once used).
    pub fn replace(&self, route: &Route) {
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let _ = history.replace_state_with_url(
                &wasm_bindgen::JsValue::NULL,
                "",
                Some(&route.href()),
            );
        }
        self.route.set(route.clone());
    }
}

impl Default for Router {
    fn default() -> Self {
        Self::new()
    }
}

/// The `Router` of the running app.
pub fn use_router() -> Router {
    expect_context::<Router>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_and_round_trip() {
        assert_eq!(Route::parse(""), Route::Home);
        assert_eq!(Route::parse("#/"), Route::Home);
        assert_eq!(Route::parse("#/nowhere"), Route::Home);
        assert_eq!(Route::parse("#/join/"), Route::Home);
        assert_eq!(
            Route::parse("#/join/AbC-_09"),
            Route::Join("AbC-_09".into())
        );
        assert_eq!(Route::parse("#/settings"), Route::Settings);
        assert_eq!(Route::parse("#/new"), Route::NewConversation);
        assert_eq!(Route::parse("#/new-group"), Route::NewGroup);
        assert_eq!(Route::parse("#/group/"), Route::Home);
        for route in [
            Route::Home,
            Route::Join("tok".into()),
            Route::Chat("marie.curie@recherche.gouv.fr".into()),
            Route::Chat("odd name/with%#".into()),
            Route::NewConversation,
            Route::Settings,
            Route::NewGroup,
            Route::GroupInfo("g:00112233445566778899aabbccddeeff".into()),
        ] {
            assert_eq!(Route::parse(&route.href()), route);
        }
    }

    #[test]
    fn malformed_escapes_do_not_fail() {
        assert_eq!(Route::parse("#/c/a%zz%4"), Route::Chat("a%zz%4".into()));
        assert_eq!(Route::parse("#/c/%C3%A9"), Route::Chat("é".into()));
    }
}
