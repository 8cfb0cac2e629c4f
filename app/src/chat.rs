//! The unlocked session's conversations and messages as signals, fed by the
//! engine's events. Everything here is plaintext: `clear` on lock.

use estafette_client::UserMessage;
use leptos::prelude::*;

use crate::engine::{Conversation, DeviceSummary, DirectoryEntry, Event, MessageView};

/// How many messages a conversation loads when opened.
pub const HISTORY_LIMIT: u32 = 500;
/// A typing notice without renewal expires after this long.
pub const TYPING_EXPIRY_MS: f64 = 6_000.0;

/// A message from someone else, to announce to screen readers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arrival {
    /// Sender's name.
    pub from: String,
    /// Text.
    pub text: String,
}

/// Signals of the unlocked session.
#[derive(Clone, Copy)]
pub struct Chat {
    /// Conversations, most recent first.
    pub conversations: RwSignal<Vec<Conversation>>,
    /// The conversation on screen.
    pub open: RwSignal<Option<String>>,
    /// Its messages, oldest first.
    pub messages: RwSignal<Vec<MessageView>>,
    /// Records of it that could not be read.
    pub unreadable: RwSignal<usize>,
    /// Who is typing, until when (ms since epoch).
    pub typing: RwSignal<Vec<(String, f64)>>,
    /// The last directory answer.
    pub search: RwSignal<Option<(String, Vec<DirectoryEntry>)>>,
    /// A conversation being started (directory lookup in flight).
    pub starting: RwSignal<Option<String>>,
    /// This account's devices.
    pub devices: RwSignal<Option<Vec<DeviceSummary>>>,
    /// The last error to show.
    pub failure: RwSignal<Option<UserMessage>>,
    /// The last message from someone else (live region).
    pub arrival: RwSignal<Option<Arrival>>,
    /// Contacts whose identity changed and is not acknowledged yet.
    pub identity_changed: RwSignal<Vec<String>>,
}

impl Chat {
    /// Empty state.
    pub fn new() -> Self {
        Self {
            conversations: RwSignal::new(Vec::new()),
            open: RwSignal::new(None),
            messages: RwSignal::new(Vec::new()),
            unreadable: RwSignal::new(0),
            typing: RwSignal::new(Vec::new()),
            search: RwSignal::new(None),
            starting: RwSignal::new(None),
            devices: RwSignal::new(None),
            failure: RwSignal::new(None),
            arrival: RwSignal::new(None),
            identity_changed: RwSignal::new(Vec::new()),
        }
    }

    /// Forgets every conversation and message (lock, erase).
    pub fn clear(&self) {
        self.conversations.set(Vec::new());
        self.open.set(None);
        self.messages.set(Vec::new());
        self.unreadable.set(0);
        self.typing.set(Vec::new());
        self.search.set(None);
        self.starting.set(None);
        self.devices.set(None);
        self.failure.set(None);
        self.arrival.set(None);
        self.identity_changed.set(Vec::new());
    }

    /// The display name of a handle, from the conversation list.
    pub fn name_of(&self, handle: &str) -> String {
        self.conversations.with(|list| {
            list.iter()
                .find(|c| c.handle == handle)
                .map(|c| c.name.clone())
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| handle.to_owned())
        })
    }

    /// Whether `handle` is typing now.
    pub fn is_typing(&self, handle: &str) -> bool {
        let now = js_sys::Date::now();
        self.typing
            .with(|t| t.iter().any(|(h, until)| h == handle && *until > now))
    }

    /// Whether `handle`'s new identity waits for acknowledgement.
    pub fn identity_pending(&self, handle: &str) -> bool {
        self.identity_changed
            .with(|list| list.iter().any(|h| h == handle))
    }

    /// Adds the conversation list read from the store; events that arrived
    /// while it was read are newer and stay.
    pub fn conversations_loaded(&self, list: Vec<Conversation>) {
        self.identity_changed.set(
            list.iter()
                .filter(|c| c.identity_changed)
                .map(|c| c.handle.clone())
                .collect(),
        );
        self.conversations.update(|current| {
            for conversation in list {
                if !current.iter().any(|c| c.handle == conversation.handle) {
                    insert_conversation(current, conversation);
                }
            }
        });
    }

    /// Shows a conversation, empty until its history is read; `false` when
    /// it is already the one shown.
    pub fn begin_open(&self, handle: &str) -> bool {
        if self.open.get_untracked().as_deref() == Some(handle) {
            return false;
        }
        self.open.set(Some(handle.to_owned()));
        self.messages.set(Vec::new());
        self.unreadable.set(0);
        true
    }

    /// Adds the history read from the store, if `handle` is still shown.
    pub fn history_loaded(&self, handle: &str, history: Vec<MessageView>, unreadable: usize) {
        if self.open.get_untracked().as_deref() != Some(handle) {
            return;
        }
        self.unreadable.set(unreadable);
        self.messages.update(|current| {
            for message in history {
                if !current.iter().any(|m| m.id == message.id) {
                    insert_message(current, message);
                }
            }
        });
    }

    /// Applies an engine event.
    pub fn apply(&self, event: Event, own_handle: &str) {
        match event {
            Event::MessageAdded(message) => {
                if message.sender != own_handle {
                    self.typing
                        .update(|t| t.retain(|(h, _)| *h != message.sender));
                    self.arrival.set(Some(Arrival {
                        from: self.name_of(&message.sender),
                        text: message.text.clone(),
                    }));
                }
                if self.open.get_untracked().as_deref() == Some(message.conversation.as_str()) {
                    self.messages.update(|list| {
                        if !list.iter().any(|m| m.id == message.id) {
                            insert_message(list, message);
                        }
                    });
                }
            }
            Event::MessageUpdated(message) => {
                self.messages.update(|list| {
                    if let Some(existing) = list.iter_mut().find(|m| m.id == message.id) {
                        *existing = message;
                    }
                });
            }
            Event::ConversationUpdated(conversation) => {
                if conversation.identity_changed {
                    self.mark_identity_changed(&conversation.handle);
                } else {
                    self.identity_acknowledged(&conversation.handle);
                }
                self.conversations.update(|list| {
                    list.retain(|c| c.handle != conversation.handle);
                    insert_conversation(list, conversation);
                });
            }
            Event::Typing {
                conversation,
                typing,
            } => {
                self.typing.update(|list| {
                    list.retain(|(h, _)| *h != conversation);
                    if typing {
                        list.push((conversation, js_sys::Date::now() + TYPING_EXPIRY_MS));
                    }
                });
                // Expire it on screen even if no "stopped" notice comes.
                let typing_signal = self.typing;
                set_timeout(
                    move || typing_signal.update(|_| {}),
                    std::time::Duration::from_millis(TYPING_EXPIRY_MS as u64 + 50),
                );
            }
            Event::IdentityChanged(handle) => self.mark_identity_changed(&handle),
            Event::SearchResults { query, accounts } => self.search.set(Some((query, accounts))),
            Event::OwnDevices(devices) => self.devices.set(Some(devices)),
            Event::Failed(message) => {
                self.starting.set(None);
                self.failure.set(Some(message));
            }
            // Not displayed; the engine logs it. Connection and Stopped are
            // handled by the session.
            // Groups are the session's `Groups`.
            Event::Rejected { .. }
            | Event::Connection(_)
            | Event::Stopped(_)
            | Event::GroupUpdated(_) => {}
        }
    }

    fn mark_identity_changed(&self, handle: &str) {
        self.identity_changed.update(|list| {
            if !list.iter().any(|h| h == handle) {
                list.push(handle.to_owned());
            }
        });
    }

    /// The user acknowledged the new identity of `handle`.
    pub fn identity_acknowledged(&self, handle: &str) {
        self.identity_changed
            .update(|list| list.retain(|h| h != handle));
    }
}

impl Default for Chat {
    fn default() -> Self {
        Self::new()
    }
}

// The lists stay sorted by inserting each item in its place, after its
// equals (what a stable sort would do). Each `sort_by_key` would link its own
// copy of the standard library's sort (about 3 KB of wasm per type).

/// Inserts `conversation` into a list kept most recent first.
fn insert_conversation(list: &mut Vec<Conversation>, conversation: Conversation) {
    let at = list.partition_point(|c| c.last_at_ms >= conversation.last_at_ms);
    list.insert(at, conversation);
}

/// Inserts `message` into a history kept oldest first.
fn insert_message(list: &mut Vec<MessageView>, message: MessageView) {
    let at = list.partition_point(|m| m.sent_at_ms <= message.sent_at_ms);
    list.insert(at, message);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Delivery;

    fn message(id: &str, at: u64) -> MessageView {
        MessageView {
            id: id.into(),
            conversation: "bob".into(),
            sender: "bob".into(),
            sent_at_ms: at,
            text: String::new(),
            state: Delivery::Received,
            line: None,
        }
    }

    fn conversation(handle: &str, at: u64) -> Conversation {
        Conversation {
            handle: handle.into(),
            name: handle.into(),
            last_text: String::new(),
            last_at_ms: at,
            unread: 0,
            identity_changed: false,
            group: None,
        }
    }

    #[test]
    fn insertion_keeps_the_order_a_stable_sort_gives() {
        let mut list = Vec::new();
        for (id, at) in [
            ("c", 30),
            ("a", 10),
            ("b", 20),
            ("a2", 10),
            ("d", 40),
            ("b2", 20),
        ] {
            insert_message(&mut list, message(id, at));
        }
        let ids: Vec<_> = list.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["a", "a2", "b", "b2", "c", "d"]);

        let mut list = Vec::new();
        for (handle, at) in [("x", 5), ("y", 9), ("z", 5), ("w", 1)] {
            insert_conversation(&mut list, conversation(handle, at));
        }
        let handles: Vec<_> = list.iter().map(|c| c.handle.as_str()).collect();
        assert_eq!(handles, ["y", "x", "z", "w"]);
    }
}
