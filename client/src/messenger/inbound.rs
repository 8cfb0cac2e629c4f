//! Receiving: deliveries are decrypted, stored and acknowledged in batches,
//! so a burst costs one read and one write of the store, not one per message
//! (in Chromium each IndexedDB transaction costs about a millisecond).

use std::collections::{BTreeMap, BTreeSet};

use estafette_crypto::{GROUP_MESSAGE_TYPE, MessageKind, PreKeyStore, Session};
use estafette_wire::Delivery;

use crate::content::{Body, ByteId, Content, MAX_TEXT_BYTES, MessageId};
use crate::conversation::Conversation;
use crate::group::group_of;
use crate::session_record::SessionRecord;
use crate::store::{RecordStore, Table};
use crate::transport::Link;

use super::group_inbound::GroupBatch;
use super::{
    DeliveryState, Event, MAX_RECEIPT_IDS, Messenger, MessengerError, Refusal, StoredMessage, keys,
    receipts,
};

/// A sending device: handle and device id.
type Peer = (String, [u8; 16]);

/// Conversation summaries read once per batch, and whether they changed.
type Summaries = BTreeMap<String, Option<(Conversation, bool)>>;

impl<S: RecordStore, L: Link> Messenger<'_, S, L> {
    /// Decrypts, stores (one write) and then acknowledges `deliveries`.
    /// A delivery that does not decrypt or authenticate is reported as
    /// [`Event::Rejected`] and acknowledged; a local failure acknowledges
    /// nothing, so the relay delivers the lot again.
    pub(super) async fn receive(
        &mut self,
        deliveries: Vec<Delivery>,
    ) -> Result<Vec<Event>, MessengerError> {
        let mut events = Vec::new();
        let mut acks = Vec::new();
        // Stored before but not acknowledged (crash, lost link): acknowledge only.
        let markers: Vec<Vec<u8>> = deliveries
            .iter()
            .map(|d| keys::delivery(d.delivery_id))
            .collect();
        let stored = self.vault.get_many(Table::Messages, &markers).await?;
        let fresh: Vec<Delivery> = deliveries
            .into_iter()
            .zip(stored)
            .filter_map(|(delivery, stored)| match stored {
                Some(_) => {
                    acks.push(delivery.delivery_id);
                    None
                }
                None => Some(delivery),
            })
            .collect();

        let mut sessions = self.load_sessions(&fresh).await?;
        let mut dirty: BTreeSet<Peer> = BTreeSet::new();
        let mut prekeys = None;
        let mut opened = Vec::new();
        let mut handled = Vec::new();
        let mut groups = GroupBatch::default();
        let events_before = self.pending_events.len();
        for delivery in fresh {
            let outcome = if delivery.payload.first() == Some(&GROUP_MESSAGE_TYPE) {
                self.open_group(&delivery, &mut groups)
                    .await
                    .map(|c| c.map(|c| (c, true)))
            } else {
                let peer = (delivery.sender.clone(), delivery.sender_device.0);
                let record = sessions.entry(peer.clone()).or_default();
                match self.decrypt(&delivery, record, &mut prekeys).await {
                    Ok(content) => {
                        dirty.insert(peer);
                        match &content.body {
                            Body::SenderKey(bytes) => {
                                let bytes = bytes.clone();
                                self.take_sender_key(&content, &bytes, &mut groups)
                                    .await
                                    .map(|()| None)
                            }
                            // Group messages travel on the group's chains only.
                            _ if group_of(&content.conversation).is_some() => {
                                Err(Refusal::Reject("a pairwise message names a group".into()))
                            }
                            _ => Ok(Some((content, false))),
                        }
                    }
                    Err(refusal) => Err(refusal),
                }
            };
            match outcome {
                Ok(Some((content, in_group))) => {
                    opened.push((delivery.delivery_id, content, in_group));
                }
                Ok(None) => handled.push(delivery.delivery_id),
                Err(Refusal::Reject(reason)) => {
                    // Not displayed, reported; acknowledged so it does not come back forever.
                    events.push(Event::Rejected {
                        sender: delivery.sender,
                        reason,
                    });
                    acks.push(delivery.delivery_id);
                }
                Err(Refusal::Fail(error)) => {
                    self.abandon_groups(&groups, events_before);
                    return Err(error);
                }
            }
        }

        let mut writes = Vec::new();
        let mut summaries = Summaries::new();
        let mut receipts_in = Vec::new();
        let seen = self.seen_texts(&opened).await?;
        let mut stored_ids: BTreeSet<MessageId> = BTreeSet::new();
        for delivery_id in handled {
            writes.push(
                self.vault
                    .seal(Table::Messages, &keys::delivery(delivery_id), &[])?,
            );
            acks.push(delivery_id);
        }
        for (delivery_id, content, in_group) in opened {
            writes.push(
                self.vault
                    .seal(Table::Messages, &keys::delivery(delivery_id), &[])?,
            );
            acks.push(delivery_id);
            let sender = content.sender.clone();
            let from_me = sender == self.handle();
            match content.body {
                Body::Text(text) => {
                    if seen.contains(&content.id)
                        || !stored_ids.insert(content.id)
                        || text.len() > MAX_TEXT_BYTES
                    {
                        continue;
                    }
                    let conversation = if from_me || in_group {
                        content.conversation
                    } else {
                        sender.clone()
                    };
                    let message = StoredMessage {
                        id: content.id,
                        conversation,
                        sender: sender.clone(),
                        sent_at_ms: content.sent_at_ms,
                        text,
                        state: if from_me {
                            DeliveryState::Sent
                        } else {
                            DeliveryState::Received
                        },
                        event: None,
                    };
                    let owed = !from_me && !in_group;
                    writes.extend(self.message_writes(&message)?);
                    if let Some((summary, changed)) = self
                        .summary(&mut summaries, &message.conversation, true)
                        .await?
                    {
                        summary.note(&message, !from_me);
                        *changed = true;
                    }
                    if owed {
                        // Owed to the sender; sent in batches when the link is idle.
                        writes.push(self.vault.seal(
                            Table::Outbox,
                            &keys::receipt(receipts::DELIVERED, &sender, &content.id),
                            &[],
                        )?);
                    }
                    events.push(Event::MessageAdded(message));
                }
                Body::Delivered(ids) if !from_me && !in_group => {
                    receipts_in.push((ids, DeliveryState::Delivered, sender));
                }
                Body::Read(ids) if !from_me && !in_group => {
                    receipts_in.push((ids, DeliveryState::Read, sender));
                }
                Body::Read(ids) if from_me => {
                    // Read on another of our devices: clear those unread here too.
                    if let Some((summary, changed)) = self
                        .summary(&mut summaries, &content.conversation, false)
                        .await?
                    {
                        *changed |= clear_unread(summary, &ids);
                    }
                }
                Body::Delivered(_)
                | Body::Read(_)
                | Body::SenderKey(_)
                | Body::GroupControl(_)
                | Body::GroupWelcome(_) => {}
                Body::Typing(typing) => {
                    if !from_me && !in_group {
                        events.push(Event::Typing {
                            conversation: sender,
                            typing,
                        });
                    }
                }
            }
        }
        for peer in &dirty {
            if let Some(record) = sessions.get(peer) {
                writes.push(self.vault.seal(
                    Table::Sessions,
                    &keys::session(&peer.0, &peer.1),
                    &record.encode(),
                )?);
            }
        }
        if let Some(prekeys) = &prekeys {
            writes.push(
                self.vault
                    .seal(Table::Account, b"prekeys", &prekeys.to_bytes())?,
            );
        }
        for (summary, changed) in summaries.values().flatten() {
            if *changed {
                writes.push(self.vault.seal(
                    Table::Conversations,
                    summary.handle.as_bytes(),
                    &summary.encode(),
                )?);
                events.push(Event::ConversationUpdated(summary.clone()));
            }
        }
        match self.group_batch_writes(&mut groups) {
            Ok(group_writes) => writes.extend(group_writes),
            Err(error) => {
                self.abandon_groups(&groups, events_before);
                return Err(error);
            }
        }
        if let Err(error) = self.vault.write(writes).await {
            self.abandon_groups(&groups, events_before);
            return Err(error.into());
        }
        if let Some(prekeys) = prekeys {
            self.identity.prekeys = prekeys;
        }
        // What the batch did to groups (lines, summaries, states) comes first.
        let group_events: Vec<Event> = self.pending_events.drain(events_before..).collect();
        events.splice(0..0, group_events);
        for id in acks {
            self.ack(id).await?;
        }
        for (ids, state, sender) in receipts_in {
            let updated = self.advance_many(&ids, state, &sender).await?;
            events.extend(updated.into_iter().map(Event::MessageUpdated));
        }
        Ok(events)
    }

    /// Forgets what a failed batch did to groups in memory: the store has
    /// the truth, and the deliveries come again.
    fn abandon_groups(&mut self, groups: &GroupBatch, events_before: usize) {
        for group in groups.touched() {
            self.groups.remove(group);
        }
        self.pending_events.truncate(events_before);
    }

    /// The session records of every device in `deliveries`, read together.
    async fn load_sessions(
        &self,
        deliveries: &[Delivery],
    ) -> Result<BTreeMap<Peer, SessionRecord>, MessengerError> {
        let peers: Vec<Peer> = deliveries
            .iter()
            .map(|d| (d.sender.clone(), d.sender_device.0))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let session_keys: Vec<Vec<u8>> = peers
            .iter()
            .map(|(handle, device)| keys::session(handle, device))
            .collect();
        let records = self.vault.get_many(Table::Sessions, &session_keys).await?;
        let mut sessions = BTreeMap::new();
        for (peer, bytes) in peers.into_iter().zip(records) {
            let record = match bytes {
                None => SessionRecord::default(),
                Some(bytes) => SessionRecord::decode(&bytes).ok_or_else(|| {
                    MessengerError::Crypto("a stored session does not decode".into())
                })?,
            };
            sessions.insert(peer, record);
        }
        Ok(sessions)
    }

    /// Decrypts one delivery with `record` (a PreKeyMessage no session opens
    /// starts a new one, consuming prekeys in `prekeys`).
    async fn decrypt(
        &mut self,
        delivery: &Delivery,
        record: &mut SessionRecord,
        prekeys: &mut Option<PreKeyStore>,
    ) -> Result<Content, Refusal> {
        let sender = &delivery.sender;
        let device = delivery.sender_device;
        let plaintext = match (
            MessageKind::of(&delivery.payload),
            record.decrypt(&delivery.payload),
        ) {
            (_, Some(plaintext)) => plaintext,
            (Some(MessageKind::PreKey), None) => {
                let mut store = prekeys
                    .clone()
                    .unwrap_or_else(|| self.identity.prekeys.clone());
                let (session, plaintext) =
                    Session::respond(&self.identity.device, &mut store, &delivery.payload)
                        .map_err(|e| Refusal::Reject(e.to_string()))?;
                if session.remote_certificate().device_id().0 != device.0 {
                    return Err(Refusal::Reject(
                        "the certificate names another device".into(),
                    ));
                }
                self.check_sender_key(sender, session.remote_certificate())
                    .await?;
                *prekeys = Some(store);
                record.promote_new(session);
                plaintext
            }
            (Some(MessageKind::Ratchet), None) => {
                return Err(Refusal::Reject(
                    "no session of this device opens the message".into(),
                ));
            }
            (None, None) => return Err(Refusal::Reject("the message type is unknown".into())),
        };
        let content = Content::decode(&plaintext)
            .ok_or_else(|| Refusal::Reject("the content does not decode".into()))?;
        if content.sender != *sender || content.sender_device != device.0 {
            return Err(Refusal::Reject("the content names another sender".into()));
        }
        Ok(content)
    }

    /// Ids of the texts in `opened` already stored (shown once only).
    async fn seen_texts(
        &self,
        opened: &[(u64, Content, bool)],
    ) -> Result<BTreeSet<MessageId>, MessengerError> {
        let ids: Vec<MessageId> = opened
            .iter()
            .filter(|(_, c, _)| matches!(c.body, Body::Text(_)))
            .map(|(_, c, _)| c.id)
            .collect();
        let seen_keys: Vec<Vec<u8>> = ids.iter().map(keys::seen).collect();
        let found = self.vault.get_many(Table::Messages, &seen_keys).await?;
        Ok(ids
            .into_iter()
            .zip(found)
            .filter_map(|(id, found)| found.map(|_| id))
            .collect())
    }

    /// The summary of `handle` in this batch, read once; created if `create`.
    async fn summary<'m>(
        &self,
        summaries: &'m mut Summaries,
        handle: &str,
        create: bool,
    ) -> Result<Option<&'m mut (Conversation, bool)>, MessengerError> {
        if !summaries.contains_key(handle) {
            let loaded = match crate::conversation::conversation(self.vault, handle).await? {
                Some(summary) => Some((summary, false)),
                None if create => Some((self.new_summary(handle).await?, true)),
                None => None,
            };
            summaries.insert(handle.to_owned(), loaded);
        }
        Ok(summaries.get_mut(handle).and_then(Option::as_mut))
    }

    /// Moves our messages `ids` in the conversation with `sender` forward to
    /// `state`, in one write; returns those that changed.
    async fn advance_many(
        &mut self,
        ids: &[ByteId],
        state: DeliveryState,
        sender: &str,
    ) -> Result<Vec<StoredMessage>, MessengerError> {
        let ids: Vec<MessageId> = ids.iter().take(MAX_RECEIPT_IDS).map(|id| id.0).collect();
        let (updated, writes) = self.advanced(&ids, state, Some(sender)).await?;
        self.vault.write(writes).await?;
        Ok(updated)
    }
}

/// Removes `ids` from the unread of `summary`; whether anything changed.
fn clear_unread(summary: &mut Conversation, ids: &[ByteId]) -> bool {
    let before = summary.unread_ids.len();
    summary.unread_ids.retain(|id| !ids.contains(id));
    let cleared = before - summary.unread_ids.len();
    if cleared == 0 {
        return false;
    }
    summary.unread = if summary.unread_ids.is_empty() {
        0
    } else {
        summary
            .unread
            .saturating_sub(u32::try_from(cleared).unwrap_or(u32::MAX))
    };
    true
}
