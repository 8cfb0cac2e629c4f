//! Group messages received: members' chains (over the pairwise sessions),
//! then texts, changes and welcomes on those chains. A batch handles them in
//! the order they arrived, in memory, and stores the lot in its one write.
//!
//! A message is taken only from a member of the group as this device sees
//! it (a removed member's messages are refused), a change only if the rules
//! of `crate::group::history` take it, and a welcome only if it makes this
//! account a member.

use std::collections::{BTreeMap, BTreeSet};

use estafette_crypto::{GroupMessage, ReceiverChain, SenderKeyDistribution};
use estafette_wire::Delivery;

use super::group_store::{CHAINS_PER_DEVICE, DeviceChains, GroupCache, Roster, keys as group_keys};
use super::groups::applied_id;
use super::{Body, Contact, Content, Event, Messenger, MessengerError, Refusal, cbor};
use crate::content::WelcomePart;
use crate::group::{
    GroupError, GroupEvent, GroupId, History, SignedControl, Welcome, conversation_id,
    welcome::MAX_WELCOME_PARTS,
};
use crate::store::{RecordStore, Scan, Table, Write};
use crate::transport::Link;

/// A member device in a group.
type ChainKey = (GroupId, String, [u8; 16]);

/// What a batch of deliveries did to groups, stored with the batch.
#[derive(Default)]
pub(super) struct GroupBatch {
    /// Chains read or changed, and whether they changed.
    chains: BTreeMap<ChainKey, (Vec<ReceiverChain>, bool)>,
    /// Groups whose state, roster or chain changed.
    touched: BTreeSet<GroupId>,
    /// Welcome parts received in this batch, by record key.
    parts: BTreeMap<Vec<u8>, Vec<u8>>,
    /// Other writes (lines, summaries, contacts, deletions).
    writes: Vec<Write>,
}

impl GroupBatch {
    /// Groups changed in memory (dropped from the cache if the batch fails).
    pub(super) fn touched(&self) -> impl Iterator<Item = &GroupId> {
        self.touched.iter()
    }
}

fn reject(error: impl ToString) -> Refusal {
    Refusal::Reject(error.to_string())
}

impl<S: RecordStore, L: Link> Messenger<'_, S, L> {
    /// The group, if this device knows it.
    async fn known_group(&mut self, group: GroupId) -> Result<Option<GroupCache>, MessengerError> {
        match self.take_group(group).await {
            Ok(cache) => Ok(Some(cache)),
            Err(MessengerError::Group(GroupError::UnknownGroup)) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Whether `sender` is a member of `group` here (`None`: group unknown).
    async fn is_group_member(
        &mut self,
        group: GroupId,
        sender: &str,
    ) -> Result<Option<bool>, MessengerError> {
        let Some(cache) = self.known_group(group).await? else {
            return Ok(None);
        };
        let member = cache.history.head().is_member(sender);
        self.groups.insert(group, cache);
        Ok(Some(member))
    }

    /// The chains of a member device, read once per batch.
    async fn batch_chains<'b>(
        &self,
        batch: &'b mut GroupBatch,
        key: ChainKey,
    ) -> Result<&'b mut (Vec<ReceiverChain>, bool), MessengerError> {
        if !batch.chains.contains_key(&key) {
            let stored = self
                .vault
                .get(Table::Groups, &group_keys::chains(&key.0, &key.1, &key.2))
                .await?;
            let chains = stored
                .and_then(|b| minicbor::decode::<DeviceChains>(&b).ok())
                .map(|c| c.decode_all())
                .unwrap_or_default();
            batch.chains.insert(key.clone(), (chains, false));
        }
        batch.chains.get_mut(&key).ok_or(MessengerError::Protocol)
    }

    /// A member's chain, received over a pairwise session.
    pub(super) async fn take_sender_key(
        &mut self,
        content: &Content,
        bytes: &[u8],
        batch: &mut GroupBatch,
    ) -> Result<(), Refusal> {
        let distribution = SenderKeyDistribution::decode(bytes).map_err(reject)?;
        let group = distribution.group_id;
        if content.conversation != conversation_id(&group) {
            return Err(reject("the sender key names another group"));
        }
        // For a group not known yet, kept: the welcome that follows needs it.
        if self.is_group_member(group, &content.sender).await? == Some(false)
            && content.sender != self.handle()
        {
            return Err(reject("the sender key comes from someone not in the group"));
        }
        let key = (group, content.sender.clone(), content.sender_device);
        let entry = self.batch_chains(batch, key).await?;
        if entry
            .0
            .iter()
            .any(|c| c.chain_id() == distribution.chain_id)
        {
            return Ok(());
        }
        entry.0.insert(0, ReceiverChain::new(&distribution));
        entry.0.truncate(CHAINS_PER_DEVICE);
        entry.1 = true;
        Ok(())
    }

    /// Decrypts a group message. Texts come back for the batch to store;
    /// changes and welcomes are taken here.
    pub(super) async fn open_group(
        &mut self,
        delivery: &Delivery,
        batch: &mut GroupBatch,
    ) -> Result<Option<Content>, Refusal> {
        let message = GroupMessage::parse(&delivery.payload).map_err(reject)?;
        let group = message.group_id;
        let key = (group, delivery.sender.clone(), delivery.sender_device.0);
        let entry = self.batch_chains(batch, key).await?;
        let chain = entry
            .0
            .iter_mut()
            .find(|c| c.chain_id() == message.chain_id)
            .ok_or_else(|| reject("no chain of this member device reads the message"))?;
        let plaintext = chain.decrypt(&delivery.payload).map_err(reject)?;
        entry.1 = true;
        let content =
            Content::decode(&plaintext).ok_or_else(|| reject("the content does not decode"))?;
        if content.sender != delivery.sender
            || content.sender_device != delivery.sender_device.0
            || content.conversation != conversation_id(&group)
        {
            return Err(reject("the content names another sender or group"));
        }
        match content.body {
            Body::Text(_) | Body::Read(_) => {
                let me = self.handle().to_owned();
                let sender_in = self.is_group_member(group, &content.sender).await?;
                let me_in = self.is_group_member(group, &me).await?;
                match (sender_in, me_in) {
                    (Some(true), Some(true)) => Ok(Some(content)),
                    (_, Some(false)) => Err(reject("a message to a group we are no longer in")),
                    _ => Err(reject("the message comes from someone not in the group")),
                }
            }
            Body::GroupControl(signed) => {
                self.take_control(group, signed, batch).await?;
                Ok(None)
            }
            Body::GroupWelcome(part) => {
                self.take_welcome_part(group, &content.sender, part, batch)
                    .await?;
                Ok(None)
            }
            // Typing is not shown in groups; the rest never travels on a chain.
            Body::Typing(_) => Ok(None),
            _ => Err(reject("this kind of message does not travel in a group")),
        }
    }

    /// A change to a group we know.
    async fn take_control(
        &mut self,
        group: GroupId,
        signed: SignedControl,
        batch: &mut GroupBatch,
    ) -> Result<(), Refusal> {
        let Some(mut cache) = self.known_group(group).await? else {
            return Err(reject("a change to a group not known here"));
        };
        let before = cache.history.head().clone();
        let outcome = match cache.history.insert(signed) {
            Ok(outcome) => outcome,
            Err(error) => {
                self.groups.insert(group, cache);
                return Err(reject(error));
            }
        };
        let result = self.outcome_writes(&mut cache, &before, &outcome).await;
        let head = cache.history.head().clone();
        for gone in before.members.iter().filter(|m| !head.is_member(&m.handle)) {
            batch
                .chains
                .retain(|(g, h, _), _| !(*g == group && *h == gone.handle));
        }
        self.groups.insert(group, cache);
        batch.writes.extend(result?);
        batch.touched.insert(group);
        Ok(())
    }

    /// One part of a welcome; the last one completes it.
    async fn take_welcome_part(
        &mut self,
        group: GroupId,
        sender: &str,
        part: WelcomePart,
        batch: &mut GroupBatch,
    ) -> Result<(), Refusal> {
        if part.count == 0 || part.count > MAX_WELCOME_PARTS || part.index >= part.count {
            return Err(reject("the welcome part is out of range"));
        }
        let prefix = group_keys::welcome(&group, sender, &part.welcome_id);
        let key = group_keys::welcome_part(&group, sender, &part.welcome_id, part.index);
        batch.parts.insert(key, part.bytes);
        let (stored, _) = self
            .vault
            .scan(
                Table::Groups,
                Scan {
                    prefix: prefix.clone(),
                    ..Scan::default()
                },
            )
            .await?;
        let mut parts: BTreeMap<Vec<u8>, Vec<u8>> =
            stored.into_iter().map(|(k, v)| (k, v.to_vec())).collect();
        parts.extend(
            batch
                .parts
                .iter()
                .filter(|(k, _)| k.starts_with(&prefix))
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        if parts.len() < usize::from(part.count) {
            return Ok(());
        }
        for key in parts.keys() {
            batch.parts.remove(key);
            batch.writes.push(Write::Delete {
                table: Table::Groups,
                key: key.clone(),
            });
        }
        let bytes: Vec<Vec<u8>> = parts.into_values().collect();
        let welcome = Welcome::from_parts(&bytes).map_err(reject)?;
        self.take_welcome(welcome, sender, batch).await
    }

    /// A complete welcome: the group becomes known here (or known again,
    /// after we had been removed).
    async fn take_welcome(
        &mut self,
        welcome: Welcome,
        sender: &str,
        batch: &mut GroupBatch,
    ) -> Result<(), Refusal> {
        let me = self.handle().to_owned();
        let state = welcome.accept(sender, &me).map_err(reject)?;
        let group = state.group_id;
        if let Some(existing) = self.known_group(group).await? {
            let head = existing.history.head();
            let current = head.is_member(&me) && head.epoch >= state.epoch;
            self.groups.insert(group, existing);
            if current {
                return Ok(());
            }
        }
        // The author's key must be the one we trust for them, if we do.
        let author = state
            .member(sender)
            .ok_or_else(|| reject("the welcome's author is not in the group"))?;
        if let Some(contact) = self.contact(sender).await?
            && contact.account_key != author.account_key
        {
            return Err(reject("the welcome's author signed with a key not trusted"));
        }
        // Members we have no key for yet are trusted as the admin gave them.
        let known = self
            .contacts_of(state.members.iter().map(|m| m.handle.as_str()))
            .await?;
        for (member, stored) in state.members.iter().zip(known) {
            if stored.is_none() && member.handle != me {
                let contact = Contact {
                    handle: member.handle.clone(),
                    name: member.name.clone(),
                    account_key: member.account_key,
                    devices: Vec::new(),
                    changed_key: None,
                };
                batch.writes.push(self.vault.seal(
                    Table::Contacts,
                    &super::keys::contact(&member.handle),
                    &cbor(&contact),
                )?);
            }
        }
        let control = welcome.control.decode().map_err(reject)?;
        let cache = GroupCache {
            history: History::new(state.clone()),
            roster: Roster::default(),
            chain: None,
            rotate: false,
        };
        let event = GroupEvent::of(&control, &state, &state);
        let line = self.line_for(&group, &applied_id(&control), &control, event);
        batch.writes.extend(self.message_writes(&line)?);
        self.pending_events.push(Event::MessageAdded(line));
        let summary = self.group_summary(&cache, None).await?;
        batch.writes.push(self.vault.seal(
            Table::Conversations,
            summary.handle.as_bytes(),
            &summary.encode(),
        )?);
        self.pending_events
            .push(Event::ConversationUpdated(summary));
        let view = self.view_of(&cache).await?;
        self.pending_events.push(Event::GroupUpdated(view));
        self.groups.insert(group, cache);
        batch.touched.insert(group);
        Ok(())
    }

    /// The writes of what the batch did to groups.
    pub(super) fn group_batch_writes(
        &self,
        batch: &mut GroupBatch,
    ) -> Result<Vec<Write>, MessengerError> {
        let mut writes = std::mem::take(&mut batch.writes);
        for ((group, handle, device), (chains, dirty)) in &batch.chains {
            if *dirty {
                writes.push(self.vault.seal(
                    Table::Groups,
                    &group_keys::chains(group, handle, device),
                    &cbor(&DeviceChains::of(chains)),
                )?);
            }
        }
        for (key, bytes) in &batch.parts {
            writes.push(self.vault.seal(Table::Groups, key, bytes)?);
        }
        for group in &batch.touched {
            if let Some(cache) = self.groups.get(group) {
                writes.extend(self.group_writes(cache)?);
            }
        }
        Ok(writes)
    }
}
