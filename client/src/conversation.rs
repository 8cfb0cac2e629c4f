//! Conversations as the list shows them (last message, unread count), and the
//! read-only queries the UI makes on stored state, with or without a link.

use minicbor::{Decode, Encode};

use crate::content::ByteId;
use crate::messenger::StoredMessage;
use crate::store::{RecordStore, Scan, StoreError, Table, Vault};

/// Characters of the last message kept for the conversation list.
const PREVIEW_CHARS: usize = 120;

/// Received message ids remembered per conversation for read receipts; the
/// unread count itself is exact beyond it.
pub(crate) const MAX_UNREAD_IDS: usize = 500;

/// One conversation's summary.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Conversation {
    /// The contact's handle (also the conversation's id).
    #[n(0)]
    pub handle: String,
    /// The contact's display name.
    #[n(1)]
    pub name: String,
    /// The start of the last message.
    #[n(2)]
    pub last_text: String,
    /// When the last message was sent (ms since the Unix epoch), 0 if none.
    #[n(3)]
    pub last_at_ms: u64,
    /// Messages received and not yet read.
    #[n(4)]
    pub unread: u32,
    /// The contact's identity key changed and the user has not accepted it.
    #[n(5)]
    pub identity_changed: bool,
    /// The most recent unread received ids, for read receipts.
    #[n(6)]
    pub(crate) unread_ids: Vec<ByteId>,
    /// For a group: its members and our place in it (`None`: a contact).
    #[n(7)]
    pub group: Option<GroupFacts>,
}

/// What the list shows of a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct GroupFacts {
    /// Members, us included.
    #[n(0)]
    pub members: u32,
    /// Whether we are still a member (else the conversation is read-only).
    #[n(1)]
    pub member: bool,
    /// Whether we are an admin.
    #[n(2)]
    pub admin: bool,
}

impl Conversation {
    /// An empty conversation with `handle`.
    pub(crate) fn new(handle: &str, name: &str) -> Self {
        Self {
            handle: handle.to_owned(),
            name: name.to_owned(),
            last_text: String::new(),
            last_at_ms: 0,
            unread: 0,
            identity_changed: false,
            unread_ids: Vec::new(),
            group: None,
        }
    }

    /// Takes `message` as the latest if it is; counts it unread if `incoming`.
    pub(crate) fn note(&mut self, message: &StoredMessage, incoming: bool) {
        if message.sent_at_ms >= self.last_at_ms {
            self.last_at_ms = message.sent_at_ms;
            self.last_text = preview(&message.text);
        }
        if incoming {
            self.unread = self.unread.saturating_add(1);
            self.unread_ids.push(ByteId(message.id));
            if self.unread_ids.len() > MAX_UNREAD_IDS {
                let excess = self.unread_ids.len() - MAX_UNREAD_IDS;
                self.unread_ids.drain(..excess);
            }
        }
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match minicbor::encode(self, &mut out) {
            Ok(()) | Err(_) => out,
        }
    }
}

/// The first [`PREVIEW_CHARS`] characters of `text` on one line.
fn preview(text: &str) -> String {
    let line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(PREVIEW_CHARS + 1)
        .collect();
    if line.chars().count() > PREVIEW_CHARS {
        let mut cut: String = line.chars().take(PREVIEW_CHARS - 1).collect();
        cut.push('…');
        cut
    } else {
        line
    }
}

/// Every conversation, most recent first, and how many records could not be
/// opened (reported, skipped).
pub async fn conversations<S: RecordStore>(
    vault: &Vault<S>,
) -> Result<(Vec<Conversation>, usize), StoreError> {
    let (records, unreadable) = vault.scan(Table::Conversations, Scan::default()).await?;
    let mut list: Vec<Conversation> = records
        .iter()
        .filter_map(|(_, bytes)| minicbor::decode(bytes).ok())
        .collect();
    let skipped = unreadable.len() + records.len() - list.len();
    list.sort_by(|a, b| {
        b.last_at_ms
            .cmp(&a.last_at_ms)
            .then_with(|| a.name.cmp(&b.name))
    });
    Ok((list, skipped))
}

/// One conversation's summary, if it exists.
pub async fn conversation<S: RecordStore>(
    vault: &Vault<S>,
    handle: &str,
) -> Result<Option<Conversation>, StoreError> {
    Ok(vault
        .get(Table::Conversations, handle.as_bytes())
        .await?
        .and_then(|bytes| minicbor::decode(&bytes).ok()))
}

/// The last `limit` messages of a conversation, oldest first, and how many
/// records could not be opened (reported, skipped).
pub async fn messages<S: RecordStore>(
    vault: &Vault<S>,
    conversation: &str,
    limit: u32,
) -> Result<(Vec<StoredMessage>, usize), StoreError> {
    let scan = Scan {
        prefix: crate::messenger::message_prefix(conversation),
        limit: Some(limit),
        reverse: true,
    };
    let (records, unreadable) = vault.scan(Table::Messages, scan).await?;
    let mut messages: Vec<StoredMessage> = records
        .iter()
        .filter_map(|(_, bytes)| minicbor::decode(bytes).ok())
        .collect();
    let undecodable = records.len() - messages.len();
    messages.reverse();
    Ok((messages, unreadable.len() + undecodable))
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn preview_is_one_line_and_bounded() {
        assert_eq!(preview("a\nb"), "a b");
        let long = "é".repeat(500);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), 120);
        assert!(cut.ends_with('…'));
        assert_eq!(preview(&"x".repeat(120)), "x".repeat(120));
    }
}
