//! French first, English available. Messages live in `locales/*.json`; the build
//! script turns them into [`Key`] and [`text`], checking that every locale has
//! every key.

use leptos::prelude::*;

include!(concat!(env!("OUT_DIR"), "/messages.rs"));

/// A language the interface is available in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locale {
    /// Français (default).
    Fr,
    /// English.
    En,
}

/// localStorage key of the chosen language (a device preference, not account data).
const STORAGE_KEY: &str = "estafette.locale";

impl Locale {
    /// BCP 47 tag, for `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Self::Fr => "fr",
            Self::En => "en",
        }
    }

    /// Parses a tag saved by [`Locale::tag`].
    pub fn from_tag(tag: &str) -> Option<Self> {
        match tag {
            "fr" => Some(Self::Fr),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The other language, for the switch.
    pub fn other(self) -> Self {
        match self {
            Self::Fr => Self::En,
            Self::En => Self::Fr,
        }
    }
}

/// Replaces `{name}` placeholders in a message.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
}

/// The interface language, provided as context by the `App`.
#[derive(Clone, Copy)]
pub struct I18n {
    locale: RwSignal<Locale>,
}

impl I18n {
    /// Reads the saved choice (French when none) and keeps `<html lang>` in step.
    pub fn new() -> Self {
        let saved = crate::local::storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
        let locale = RwSignal::new(
            saved
                .as_deref()
                .and_then(Locale::from_tag)
                .unwrap_or(Locale::Fr),
        );
        Effect::new(move |_| {
            let tag = locale.get().tag();
            if let Some(root) = web_sys::window()
                .and_then(|w| w.document())
                .and_then(|d| d.document_element())
            {
                let _ = root.set_attribute("lang", tag);
            }
        });
        Self { locale }
    }

    /// The current language (reactive).
    pub fn locale(&self) -> Locale {
        self.locale.get()
    }

    /// Switches language and remembers the choice on this device.
    pub fn set_locale(&self, locale: Locale) {
        self.locale.set(locale);
        if let Some(storage) = crate::local::storage() {
            let _ = storage.set_item(STORAGE_KEY, locale.tag());
        }
    }

    /// The message for `key` in the current language (reactive).
    pub fn t(&self, key: Key) -> &'static str {
        text(self.locale.get(), key)
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

/// The `I18n` of the running app.
pub fn use_i18n() -> I18n {
    expect_context::<I18n>()
}

/// The message for `key` as a reactive text, for views and attributes.
///
/// Every call returns the same closure type, so the renderer's code is
/// generated once instead of once per message (a large share of the wasm).
pub fn tr(key: Key) -> impl Fn() -> &'static str + Copy + Send + Sync + 'static {
    let i18n = use_i18n();
    move || i18n.t(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_is_translated_and_distinct_where_it_should_be() {
        for key in Key::ALL {
            assert!(
                !text(Locale::Fr, *key).is_empty(),
                "{key:?} empty in French"
            );
            assert!(
                !text(Locale::En, *key).is_empty(),
                "{key:?} empty in English"
            );
        }
        assert_ne!(
            text(Locale::Fr, Key::ConnectionConnected),
            text(Locale::En, Key::ConnectionConnected)
        );
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            fill(
                text(Locale::Fr, Key::ConnectionReconnectingIn),
                &[("seconds", "3")]
            ),
            "Reconnexion dans 3 s"
        );
    }

    #[test]
    fn tags_round_trip() {
        for locale in [Locale::Fr, Locale::En] {
            assert_eq!(Locale::from_tag(locale.tag()), Some(locale));
            assert_eq!(locale.other().other(), locale);
        }
    }
}
