//! The app's port to the messaging engine (`estafette_client::engine`, run
//! by the worker): the commands it sends, the events it renders, and the
//! view types of conversations and messages. Only this file knows how the
//! engine shapes them.

pub use estafette_client::conversation::GroupFacts;
use estafette_client::engine::Event as EngineEvent;
pub use estafette_client::engine::{Command, GroupCommand};
pub use estafette_client::group::GroupEvent;
use estafette_client::messenger::{DeliveryState, StoredMessage};
pub use estafette_client::messenger::{DeviceSummary, DirectoryEntry};
pub use estafette_client::messenger::{GroupView, MemberTrust, MemberView};
pub use estafette_client::{ConnectionState, UserMessage};

/// Where a message stands.
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
    /// Never sent: we left the group (or were removed) before it could leave.
    Failed,
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
            Delivery::Failed => "failed",
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
    /// A line about the group (then `text` is empty).
    pub line: Option<GroupEvent>,
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
    /// A group: members and our place in it (`None`: a contact).
    pub group: Option<GroupFacts>,
}

/// What the engine tells the UI.
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
    /// A group's members and rights.
    GroupUpdated(GroupView),
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

fn delivery(state: DeliveryState) -> Delivery {
    match state {
        DeliveryState::Sending => Delivery::Sending,
        DeliveryState::Sent => Delivery::Sent,
        DeliveryState::Received => Delivery::Received,
        DeliveryState::Delivered => Delivery::Delivered,
        DeliveryState::Read => Delivery::Read,
        DeliveryState::Failed => Delivery::Failed,
    }
}

pub(crate) fn message_view(message: StoredMessage) -> MessageView {
    MessageView {
        id: hex(&message.id),
        conversation: message.conversation,
        sender: message.sender,
        sent_at_ms: message.sent_at_ms,
        text: message.text,
        state: delivery(message.state),
        line: message.event,
    }
}

pub(crate) fn conversation_view(c: estafette_client::conversation::Conversation) -> Conversation {
    Conversation {
        handle: c.handle,
        name: c.name,
        last_text: c.last_text,
        last_at_ms: c.last_at_ms,
        unread: c.unread,
        identity_changed: c.identity_changed,
        group: c.group,
    }
}

/// The engine's event as the UI sees it (`None`: nothing to show).
pub(crate) fn event_view(event: EngineEvent) -> Option<Event> {
    Some(match event {
        EngineEvent::Connection(state) => Event::Connection(state),
        EngineEvent::MessageAdded(m) => Event::MessageAdded(message_view(m)),
        EngineEvent::MessageUpdated(m) => Event::MessageUpdated(message_view(m)),
        EngineEvent::ConversationUpdated(c) => Event::ConversationUpdated(conversation_view(c)),
        EngineEvent::Typing {
            conversation,
            typing,
        } => Event::Typing {
            conversation,
            typing,
        },
        EngineEvent::IdentityChanged(handle) => Event::IdentityChanged(handle),
        EngineEvent::SearchResults { query, accounts } => Event::SearchResults { query, accounts },
        EngineEvent::OwnDevices(devices) => Event::OwnDevices(devices),
        EngineEvent::Rejected { sender, reason } => Event::Rejected { sender, reason },
        EngineEvent::Failed(message) => Event::Failed(message),
        EngineEvent::Stopped(message) => Event::Stopped(message),
        EngineEvent::GroupUpdated(view) => Event::GroupUpdated(view),
        EngineEvent::PreKeysRefilled { .. } => return None,
    })
}
