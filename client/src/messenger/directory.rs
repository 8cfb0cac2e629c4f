//! The directory as the user meets it: search, start a conversation, and
//! this account's devices.

use estafette_wire::{ClientFrame, ServerFrame};

use crate::conversation::Conversation;
use crate::store::{RecordStore, Table};
use crate::transport::Link;

use super::{Event, Messenger, MessengerError};

/// An account found in the directory.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct DirectoryEntry {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Display name.
    #[n(1)]
    pub name: String,
}

/// One device of this account.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct DeviceSummary {
    /// The device id, hex.
    #[n(0)]
    pub id_hex: String,
    /// Whether it is the device in use.
    #[n(1)]
    pub this_device: bool,
}

impl<S: RecordStore, L: Link> Messenger<'_, S, L> {
    /// Accounts whose name or handle starts with `query` (at least 2
    /// characters; the relay rate-limits and caps the results).
    pub async fn search(&mut self, query: &str) -> Result<Vec<DirectoryEntry>, MessengerError> {
        let query = query.trim().to_owned();
        match self
            .request(|request| ClientFrame::Search { request, query })
            .await?
        {
            ServerFrame::SearchResults { accounts, .. } => Ok(accounts
                .into_iter()
                .map(|a| DirectoryEntry {
                    handle: a.handle,
                    name: a.name,
                })
                .collect()),
            _ => Err(MessengerError::Protocol),
        }
    }

    /// Opens a conversation with `handle`: the directory's identity key is
    /// trusted on first use (or checked against the trusted one), and the
    /// conversation is listed.
    pub async fn start_conversation(
        &mut self,
        handle: &str,
    ) -> Result<Conversation, MessengerError> {
        if let Some(existing) = crate::conversation::conversation(self.vault, handle).await? {
            self.pending_events
                .push(Event::ConversationUpdated(existing.clone()));
            return Ok(existing);
        }
        let info = self.lookup(handle).await?;
        let contact = self.trust(&info).await?;
        let summary = Conversation::new(&contact.handle, &contact.name);
        self.vault
            .put(
                Table::Conversations,
                contact.handle.as_bytes(),
                &summary.encode(),
            )
            .await?;
        self.pending_events
            .push(Event::ConversationUpdated(summary.clone()));
        Ok(summary)
    }

    /// This account's devices as the relay knows them.
    pub async fn own_devices(&mut self) -> Result<Vec<DeviceSummary>, MessengerError> {
        let me = self.handle().to_owned();
        let info = self.lookup(&me).await?;
        let mine = self.my_device();
        Ok(info
            .devices
            .iter()
            .map(|d| DeviceSummary {
                id_hex: crate::store::hex(&d.0),
                this_device: *d == mine,
            })
            .collect())
    }
}
