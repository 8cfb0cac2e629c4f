//! The app's port to the messaging engine: the commands it sends, the events it
//! renders, and the view types of conversations and messages. Only this file
//! knows how `estafette_client` shapes them.
//!
//! Until `estafette_client::engine` lands, [`EngineHandle`] is a local stand-in
//! that keeps what is typed in memory (nothing reaches the relay), so the
//! screens can be built and tested; it has the engine's exact interface.

pub use estafette_client::{ConnectionState, UserMessage};
use estafette_client::{Identity, store::Vault};

use crate::session::Store;

/// Where a message stands.
// The stand-in engine does not construct every variant.
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Stored here, not yet accepted by the relay.
    Sending,
    /// Accepted by the relay.
    Sent,
    /// A message from the other party.
    Received,
    /// Stored by the recipient's device.
    Delivered,
    /// Read by the recipient.
    Read,
}

impl Delivery {
    /// Stable machine name, for `data-state` and tests.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::Sending => "sending",
            Delivery::Sent => "sent",
            Delivery::Received => "received",
            Delivery::Delivered => "delivered",
            Delivery::Read => "read",
        }
    }
}

/// A message as the chat shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageView {
    /// Message id, hex (stable key for the list).
    pub id: String,
    /// The other party's handle.
    pub conversation: String,
    /// Who wrote it.
    pub sender: String,
    /// Sent time (sender's clock).
    pub sent_at_ms: u64,
    /// Text, rendered as text nodes only.
    pub text: String,
    /// Delivery state.
    pub state: Delivery,
}

/// A conversation in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    /// The other party's handle.
    pub handle: String,
    /// Their display name.
    pub name: String,
    /// Last message's text.
    pub last_text: String,
    /// Last message's time.
    pub last_at_ms: u64,
    /// Messages not read yet.
    pub unread: u32,
    /// Their identity key changed and was not acknowledged yet.
    pub identity_changed: bool,
}

/// A directory search result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    /// Handle.
    pub handle: String,
    /// Display name.
    pub name: String,
}

/// One device of this account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceSummary {
    /// Device id, hex.
    pub id_hex: String,
    /// Whether it is this browser.
    pub this_device: bool,
}

/// What the UI asks of the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Stored at once (sending), sent when connected.
    SendText {
        /// Handle.
        conversation: String,
        /// Text.
        text: String,
    },
    /// Clears unread and sends read receipts.
    MarkRead {
        /// Handle.
        conversation: String,
    },
    /// Ephemeral typing notice.
    Typing {
        /// Handle.
        conversation: String,
        /// Started or stopped.
        typing: bool,
    },
    /// Directory search.
    Search {
        /// Name or handle prefix.
        query: String,
    },
    /// Looks the handle up and trusts it on first use.
    StartConversation {
        /// Handle.
        handle: String,
    },
    /// Accepts a contact's new identity key.
    AcceptIdentity {
        /// Handle.
        handle: String,
    },
    /// Lists this account's devices.
    RefreshDevices,
}

/// What the engine tells the UI.
#[allow(dead_code)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The link to the relay.
    Connection(ConnectionState),
    /// A message was stored.
    MessageAdded(MessageView),
    /// A message's delivery state changed.
    MessageUpdated(MessageView),
    /// A conversation changed (new, last message, unread).
    ConversationUpdated(Conversation),
    /// The other party is typing (expires after a few seconds).
    Typing {
        /// Handle.
        conversation: String,
        /// Started or stopped.
        typing: bool,
    },
    /// A contact's identity key changed.
    IdentityChanged(String),
    /// Directory results.
    SearchResults {
        /// The query answered.
        query: String,
        /// Accounts found.
        accounts: Vec<DirectoryEntry>,
    },
    /// This account's devices.
    OwnDevices(Vec<DeviceSummary>),
    /// A delivery that did not decrypt; not displayed.
    Rejected {
        /// Claimed sender.
        sender: String,
        /// Why (for the log).
        reason: String,
    },
    /// A user-facing error.
    Failed(UserMessage),
    /// Fatal: the account cannot continue here.
    Stopped(UserMessage),
}

/// Hex of bytes (ids).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

mod stand_in {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// The local stand-in for `estafette_client::engine::Engine`.
    pub struct EngineHandle {
        inner: Rc<Inner>,
    }

    struct Inner {
        me: String,
        device: String,
        on_event: Box<dyn Fn(Event)>,
        conversations: RefCell<Vec<Conversation>>,
        sequence: RefCell<u64>,
    }

    impl EngineHandle {
        /// Starts the engine for the unlocked account.
        pub fn start(
            _vault: Rc<Vault<Store>>,
            identity: Identity,
            on_event: impl Fn(Event) + 'static,
        ) -> Self {
            let inner = Rc::new(Inner {
                me: identity.profile.handle.clone(),
                device: hex(&identity.device.device_id().0),
                on_event: Box::new(on_event),
                conversations: RefCell::new(Vec::new()),
                sequence: RefCell::new(0),
            });
            Self { inner }
        }

        /// Sends a command; results come back as events.
        pub fn command(&self, command: Command) {
            let inner = &self.inner;
            let emit = |event| (inner.on_event)(event);
            match command {
                Command::SendText { conversation, text } => {
                    let id = {
                        let mut sequence = inner.sequence.borrow_mut();
                        *sequence += 1;
                        format!("{:032x}", *sequence)
                    };
                    let now = js_sys::Date::now() as u64;
                    emit(Event::MessageAdded(MessageView {
                        id,
                        conversation: conversation.clone(),
                        sender: inner.me.clone(),
                        sent_at_ms: now,
                        text: text.clone(),
                        state: Delivery::Sending,
                    }));
                    let updated = {
                        let mut list = inner.conversations.borrow_mut();
                        list.iter_mut().find(|c| c.handle == conversation).map(|c| {
                            c.last_text = text;
                            c.last_at_ms = now;
                            c.clone()
                        })
                    };
                    if let Some(conversation) = updated {
                        emit(Event::ConversationUpdated(conversation));
                    }
                }
                Command::StartConversation { handle } => {
                    let conversation = Conversation {
                        name: handle.clone(),
                        handle,
                        last_text: String::new(),
                        last_at_ms: js_sys::Date::now() as u64,
                        unread: 0,
                        identity_changed: false,
                    };
                    inner.conversations.borrow_mut().push(conversation.clone());
                    emit(Event::ConversationUpdated(conversation));
                }
                Command::Search { query } => emit(Event::SearchResults {
                    query,
                    accounts: Vec::new(),
                }),
                Command::RefreshDevices => emit(Event::OwnDevices(vec![DeviceSummary {
                    id_hex: inner.device.clone(),
                    this_device: true,
                }])),
                Command::MarkRead { .. }
                | Command::Typing { .. }
                | Command::AcceptIdentity { .. } => {}
            }
        }
    }

    /// Conversations, most recent first.
    pub async fn conversations(_vault: &Vault<Store>) -> Result<Vec<Conversation>, String> {
        Ok(Vec::new())
    }

    /// The last `limit` messages of a conversation, oldest first, and how many
    /// records could not be read.
    pub async fn messages(
        _vault: &Vault<Store>,
        _conversation: &str,
        _limit: u32,
    ) -> Result<(Vec<MessageView>, usize), String> {
        Ok((Vec::new(), 0))
    }
}

pub use stand_in::{EngineHandle, conversations, messages};

/// Whether the real engine runs (it owns the relay connection then).
pub const ENGINE_OWNS_CONNECTION: bool = false;
