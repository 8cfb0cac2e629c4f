//! Receipts (delivered, read) and typing: ordinary encrypted messages
//! (PROTOCOL.md section 5). Receipts owed are stored in the outbox with the
//! message that caused them, then sent in batches, one per contact, when the
//! link is idle; typing is never stored.

use std::collections::BTreeMap;

use crate::content::{Body, ByteId, Content, MessageId};
use crate::store::{RecordStore, Scan, Table, Write};
use crate::transport::Link;

use super::{Event, Messenger, MessengerError, keys, random_id};
use crate::account::now_ms;

/// Outbox key prefix of delivered receipts owed.
pub(super) const DELIVERED: u8 = b'd';
/// Outbox key prefix of read receipts owed.
pub(super) const READ: u8 = b'r';

/// Ids one receipt carries at most.
pub(crate) const MAX_RECEIPT_IDS: usize = 256;

impl<S: RecordStore, L: Link> Messenger<'_, S, L> {
    /// The user has seen `conversation`: its unread count drops to zero and
    /// read receipts are owed to the contact (and our other devices, which
    /// clear their count too). Works offline.
    pub async fn mark_read(&mut self, conversation: &str) -> Result<(), MessengerError> {
        let Some(mut summary) = crate::conversation::conversation(self.vault, conversation).await?
        else {
            return Ok(());
        };
        if summary.unread == 0 && summary.unread_ids.is_empty() {
            return Ok(());
        }
        let mut writes = Vec::new();
        // In a group, nobody is owed a receipt (they would go to 1,000 people).
        let owed = crate::group::group_of(conversation).is_none();
        for id in summary.unread_ids.drain(..).filter(|_| owed) {
            writes.push(self.vault.seal(
                Table::Outbox,
                &keys::receipt(READ, conversation, &id.0),
                &[],
            )?);
        }
        summary.unread = 0;
        writes.push(self.vault.seal(
            Table::Conversations,
            conversation.as_bytes(),
            &summary.encode(),
        )?);
        self.vault.write(writes).await?;
        self.pending_events
            .push(Event::ConversationUpdated(summary));
        Ok(())
    }

    /// Sends the receipts owed, one message per contact and kind. A contact
    /// whose identity changed keeps its receipts until the user decides.
    /// Returns how many receipt messages left.
    pub async fn flush_receipts(&mut self) -> Result<usize, MessengerError> {
        let mut sent = 0;
        for kind in [DELIVERED, READ] {
            let scan = Scan {
                prefix: vec![kind],
                ..Scan::default()
            };
            let (records, _) = self.vault.scan(Table::Outbox, scan).await?;
            let mut owed: BTreeMap<String, Vec<(Vec<u8>, MessageId)>> = BTreeMap::new();
            for (key, _) in records {
                let Some(rest) = key.get(1..) else { continue };
                let Some(split) = rest.iter().position(|b| *b == 0) else {
                    continue;
                };
                let (handle, id) = rest.split_at(split);
                let (Ok(handle), Ok(id)) = (
                    String::from_utf8(handle.to_vec()),
                    <[u8; 16]>::try_from(id.get(1..).unwrap_or_default()),
                ) else {
                    continue;
                };
                owed.entry(handle).or_default().push((key, id));
            }
            for (handle, entries) in owed {
                for chunk in entries.chunks(MAX_RECEIPT_IDS) {
                    let ids = chunk.iter().map(|(_, id)| ByteId(*id)).collect();
                    let body = if kind == READ {
                        Body::Read(ids)
                    } else {
                        Body::Delivered(ids)
                    };
                    match self.send_control(&handle, body).await {
                        Ok(()) => {}
                        Err(MessengerError::IdentityChanged(_) | MessengerError::NotFound(_)) => {
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                    let deletes = chunk
                        .iter()
                        .map(|(key, _)| Write::Delete {
                            table: Table::Outbox,
                            key: key.clone(),
                        })
                        .collect();
                    self.vault.write(deletes).await?;
                    sent += 1;
                }
            }
        }
        Ok(sent)
    }

    /// Receipts owed, of both kinds.
    pub async fn receipts_owed(&self) -> Result<usize, MessengerError> {
        let mut owed = 0;
        for kind in [DELIVERED, READ] {
            let scan = Scan {
                prefix: vec![kind],
                ..Scan::default()
            };
            owed += self.vault.scan(Table::Outbox, scan).await?.0.len();
        }
        Ok(owed)
    }

    /// Tells the contact we are typing (or stopped). Never stored; dropped
    /// when offline.
    pub async fn send_typing(
        &mut self,
        conversation: &str,
        typing: bool,
    ) -> Result<(), MessengerError> {
        // Not shown in groups.
        if !self.is_connected() || crate::group::group_of(conversation).is_some() {
            return Ok(());
        }
        self.send_control(conversation, Body::Typing(typing)).await
    }

    /// Encrypts and sends a message that is not displayed.
    async fn send_control(&mut self, handle: &str, body: Body) -> Result<(), MessengerError> {
        let content = Content {
            id: random_id()?,
            sent_at_ms: now_ms(),
            sender: self.handle().to_owned(),
            sender_device: self.my_device().0,
            conversation: handle.to_owned(),
            body,
        };
        self.deliver(handle, &content).await
    }
}
