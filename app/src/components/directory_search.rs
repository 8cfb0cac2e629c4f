//! A directory search as the user types, shared by "new conversation" and the
//! group member picker: the query, the debounced `Search`, the relay's answer
//! to the current query, and the status line read to screen readers.

use std::time::Duration;

use leptos::prelude::*;

use crate::engine::{Command, DirectoryEntry};
use crate::i18n::{I18n, Key, fill};
use crate::session::{Session, use_session};

/// Queries shorter than this are not sent (the relay requires 2).
const MIN_QUERY_CHARS: usize = 2;
/// Typing pauses this long before a search is sent.
const DEBOUNCE: Duration = Duration::from_millis(250);

/// The query typed so far, and what the directory answered to it.
#[derive(Clone, Copy)]
pub struct DirectorySearch {
    /// The field's text.
    pub query: RwSignal<String>,
    session: Session,
}

impl DirectorySearch {
    pub fn new() -> Self {
        Self {
            query: RwSignal::new(String::new()),
            session: use_session(),
        }
    }

    /// The field's `input` handler: keeps the text, and searches once typing
    /// pauses on a long enough query.
    pub fn on_input(self, ev: leptos::ev::Event) {
        let value = event_target_value(&ev);
        self.query.set(value.clone());
        let Self { query, session } = self;
        set_timeout(
            move || {
                let current = query.get_untracked();
                if current == value && current.trim().chars().count() >= MIN_QUERY_CHARS {
                    session.command(Command::Search {
                        query: current.trim().to_owned(),
                    });
                }
            },
            DEBOUNCE,
        );
    }

    /// The accounts found for the current query; `None` while it is unanswered.
    pub fn answered(self) -> Option<Vec<DirectoryEntry>> {
        let q = self.query.get();
        self.session
            .chat
            .search
            .get()
            .filter(|(answered, _)| *answered == q.trim())
            .map(|(_, accounts)| accounts)
    }

    /// "Searching…", or "no result" when none of the answer is shown
    /// (`shown`: how many results the page lists, `None` while unanswered).
    pub fn status(self, i18n: I18n, shown: Option<usize>) -> Option<String> {
        let q = self.query.get();
        if q.trim().chars().count() < MIN_QUERY_CHARS {
            return None;
        }
        match shown {
            None => Some(i18n.t(Key::NewSearching).to_owned()),
            Some(0) => Some(fill(i18n.t(Key::NewNoResult), &[("query", q.trim())])),
            Some(_) => None,
        }
    }
}

/// The name to show for a directory entry: its display name, else its handle.
pub fn shown_name(account: &DirectoryEntry) -> String {
    if account.name.is_empty() {
        account.handle.clone()
    } else {
        account.name.clone()
    }
}
