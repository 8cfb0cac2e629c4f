//! Group conversations, our side: creating a group, changing it (admins
//! only), and sending to it (PROTOCOL.md section 6; the rules are in
//! `docs/client.md`).
//!
//! A group message is encrypted once with our sender chain and sent once
//! (`GroupSend`) to every member device. Our chain reaches a device over
//! the pairwise sessions before the first message it must read; a new chain
//! starts when a device that held ours left (a member removed, a device
//! revoked), so whoever left reads nothing sent after.

use std::collections::BTreeSet;

use estafette_crypto::SenderChain;
use estafette_wire::{ClientFrame, DeviceId, ErrorCode, GroupRecipient, GroupSend, ServerFrame};
use minicbor::{Decode, Encode};

use super::group_store::{GroupCache, OwnChain, Roster, keys as group_keys};
use super::{
    Body, Content, DeliveryState, Event, MAX_STALE_RETRIES, Messenger, MessengerError,
    StoredMessage, cbor, crypto, random_id,
};
use crate::account::now_ms;
use crate::content::WelcomePart;
use crate::conversation::{Conversation, GroupFacts};
use crate::group::{
    Change, Control, GroupError, GroupEvent, GroupId, GroupState, History, MAX_GROUP_MEMBERS,
    Member, Outcome, SignedControl, Welcome, conversation_id, group_of,
};
use crate::store::{RecordStore, Scan, Table, Write};
use crate::transport::Link;

/// Outbox key prefix of group sends (texts, changes, welcomes), in send order.
pub(super) const OUTBOX_GROUP: &[u8] = b"g";

/// Accounts given our chain in one pairwise `Send` (16 devices each at most,
/// plus our own 15 others: within the relay's 100 copies).
const DISTRIBUTION_ACCOUNTS_PER_SEND: usize = 5;

/// The outbox key of a group send.
pub(super) fn outbox_key(content: &Content) -> Vec<u8> {
    let mut key = OUTBOX_GROUP.to_vec();
    key.extend_from_slice(&content.sent_at_ms.to_be_bytes());
    key.extend_from_slice(&content.id);
    key
}

/// A group send waiting in the outbox.
#[derive(Encode, Decode)]
struct GroupOutbox {
    /// The content (its conversation names the group).
    #[cbor(n(0), with = "minicbor::bytes")]
    content: Vec<u8>,
    /// Only these accounts (a change goes to the members before it, a
    /// welcome to the new ones); `None`: the members when it leaves.
    #[n(1)]
    to: Option<Vec<String>>,
}

/// A change the user asks for.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum GroupCommand {
    /// A new name.
    #[n(0)]
    Rename(#[n(0)] String),
    /// Add these accounts (handles).
    #[n(1)]
    Add(#[n(0)] Vec<String>),
    /// Remove this member.
    #[n(2)]
    Remove(#[n(0)] String),
    /// We leave.
    #[n(3)]
    Leave,
    /// Make this member an admin.
    #[n(4)]
    MakeAdmin(#[n(0)] String),
}

/// Whether a member's identity key is the one we trust for them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub enum MemberTrust {
    /// This device: our own account.
    #[n(0)]
    Me,
    /// The key the group gives is the one trusted for this contact.
    #[n(1)]
    Trusted,
    /// The directory or the group shows another key than the one trusted:
    /// our messages do not go to them until the user accepts it.
    #[n(2)]
    Changed,
}

/// A member as the group's page shows them.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct MemberView {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Display name.
    #[n(1)]
    pub name: String,
    /// Admin or not.
    #[n(2)]
    pub admin: bool,
    /// Key check.
    #[n(3)]
    pub trust: MemberTrust,
}

/// A group as the UI shows it.
#[derive(Debug, Clone, PartialEq, Eq, minicbor::Encode, minicbor::Decode)]
pub struct GroupView {
    /// Its conversation id.
    #[n(0)]
    pub conversation: String,
    /// Name.
    #[n(1)]
    pub name: String,
    /// Number of changes since creation.
    #[n(2)]
    pub epoch: u64,
    /// Members, sorted by handle.
    #[n(3)]
    pub members: Vec<MemberView>,
    /// Whether we are still a member.
    #[n(4)]
    pub member: bool,
    /// Whether we are an admin.
    #[n(5)]
    pub admin: bool,
}

impl<S: RecordStore, L: Link> Messenger<'_, S, L> {
    /// Creates a group named `name` with us and the accounts `handles` (found
    /// in the directory, keys trusted on first use). Works offline for
    /// known contacts; the welcome leaves with the outbox.
    pub async fn create_group(
        &mut self,
        name: &str,
        handles: &[String],
    ) -> Result<Conversation, MessengerError> {
        crate::group::state::check_name(name.trim())?;
        let me = self.handle().to_owned();
        let handles: BTreeSet<&String> = handles.iter().filter(|h| **h != me).collect();
        if handles.len() + 1 > MAX_GROUP_MEMBERS {
            return Err(GroupError::TooManyMembers.into());
        }
        let mut members = vec![Member {
            handle: me.clone(),
            name: self.identity.profile.name.clone(),
            account_key: self.identity.account.public_key().to_bytes(),
        }];
        for handle in handles {
            members.push(self.member_for(handle).await?);
        }
        let group_id = random_id()?;
        let control = Control {
            group_id,
            epoch: 1,
            parent: [0; 32],
            author: me,
            issued_at_ms: now_ms(),
            change: Change::Create {
                name: name.trim().to_owned(),
                members,
            },
        };
        let signed = SignedControl::sign(&self.identity.account, &control);
        let state = signed.apply_to(None)?;
        let cache = GroupCache {
            history: History::new(state.clone()),
            roster: Roster::default(),
            chain: Some(new_chain(group_id, None)?),
            rotate: false,
        };
        let mut writes = self.group_writes(&cache)?;
        let event = GroupEvent::of(&control, &state, &state);
        let line = self.line_for(&group_id, &applied_id(&control), &control, event);
        writes.extend(self.message_writes(&line)?);
        let summary = self.group_summary(&cache, None).await?;
        writes.push(self.vault.seal(
            Table::Conversations,
            summary.handle.as_bytes(),
            &summary.encode(),
        )?);
        writes.extend(self.welcome_writes(&state, &signed, None)?);
        self.vault.write(writes).await?;
        self.pending_events.push(Event::MessageAdded(line));
        self.pending_events
            .push(Event::ConversationUpdated(summary.clone()));
        self.pending_events
            .push(Event::GroupUpdated(self.view_of(&cache).await?));
        self.groups.insert(group_id, cache);
        Ok(summary)
    }

    /// Carries out a change to the group of `conversation` (refused unless
    /// the rules allow it to us); it applies here at once and leaves with
    /// the outbox.
    pub async fn change_group(
        &mut self,
        conversation: &str,
        command: GroupCommand,
    ) -> Result<(), MessengerError> {
        let group = group_of(conversation).ok_or(GroupError::UnknownGroup)?;
        let change = match command {
            GroupCommand::Rename(name) => Change::Rename(name.trim().to_owned()),
            GroupCommand::Add(handles) => {
                let mut members = Vec::new();
                for handle in handles.iter().collect::<BTreeSet<_>>() {
                    members.push(self.member_for(handle).await?);
                }
                Change::Add(members)
            }
            GroupCommand::Remove(handle) => Change::Remove(vec![handle]),
            GroupCommand::Leave => Change::Leave,
            GroupCommand::MakeAdmin(handle) => Change::MakeAdmin(handle),
        };
        let mut cache = self.take_group(group).await?;
        let result = self.make_change(&mut cache, change).await;
        self.groups.insert(group, cache);
        result
    }

    async fn make_change(
        &mut self,
        cache: &mut GroupCache,
        change: Change,
    ) -> Result<(), MessengerError> {
        let me = self.handle().to_owned();
        let parent = cache.history.head().clone();
        parent.apply(&me, &change)?;
        let control = Control {
            group_id: parent.group_id,
            epoch: parent.epoch.saturating_add(1),
            parent: cache.history.head_hash(),
            author: me,
            issued_at_ms: now_ms(),
            change,
        };
        let signed = SignedControl::sign(&self.identity.account, &control);
        let outcome = cache.history.insert(signed.clone())?;
        let before: Vec<String> = parent.members.iter().map(|m| m.handle.clone()).collect();
        let mut writes = self.outcome_writes(cache, &parent, &outcome).await?;
        // The change goes to the members it was made among (those removed
        // and ourselves leaving included); new members get a welcome.
        let content = self.group_content(parent.group_id, Body::GroupControl(signed.clone()))?;
        writes.push(self.group_outbox_write(&content, Some(before))?);
        if let Change::Add(members) = &control.change {
            let to = members.iter().map(|m| m.handle.clone()).collect();
            let state = cache.history.head().clone();
            writes.extend(self.welcome_writes(&state, &signed, Some(to))?);
        }
        writes.extend(self.group_writes(cache)?);
        self.vault.write(writes).await?;
        Ok(())
    }

    /// The writes and events that follow changes taken into `cache`'s
    /// history (`before` was its head): lines in the conversation, its
    /// summary, the group's view. Chains of members who left are dropped.
    pub(super) async fn outcome_writes(
        &mut self,
        cache: &mut GroupCache,
        before: &GroupState,
        outcome: &Outcome,
    ) -> Result<Vec<Write>, MessengerError> {
        let mut writes = Vec::new();
        let mut previous = before.clone();
        for undone in &outcome.undone {
            let event = GroupEvent::Undone {
                by: crate::group::Person {
                    handle: undone.author.clone(),
                    name: previous
                        .member(&undone.author)
                        .map(|m| m.name.clone())
                        .unwrap_or_else(|| undone.author.clone()),
                },
            };
            let line = self.line_for(&previous.group_id, &undone_id(undone), undone, event);
            writes.extend(self.message_writes(&line)?);
            self.pending_events.push(Event::MessageAdded(line));
        }
        for (control, state) in &outcome.applied {
            let event = GroupEvent::of(control, &previous, state);
            let id = applied_id(control);
            let line = self.line_for(&state.group_id, &id, control, event);
            writes.extend(self.message_writes(&line)?);
            self.pending_events.push(Event::MessageAdded(line));
            previous = state.clone();
        }
        let head = cache.history.head().clone();
        for gone in before.members.iter().filter(|m| !head.is_member(&m.handle)) {
            if let Some(entry) = cache.roster.get(&gone.handle) {
                for device in &entry.devices {
                    writes.push(Write::Delete {
                        table: Table::Groups,
                        key: group_keys::chains(&head.group_id, &gone.handle, &device.0),
                    });
                }
            }
        }
        if !head.is_member(self.handle()) {
            cache.chain = None;
        }
        if !outcome.applied.is_empty() || !outcome.undone.is_empty() {
            let summary = self.group_summary(cache, None).await?;
            writes.push(self.vault.seal(
                Table::Conversations,
                summary.handle.as_bytes(),
                &summary.encode(),
            )?);
            self.pending_events
                .push(Event::ConversationUpdated(summary));
            self.pending_events
                .push(Event::GroupUpdated(self.view_of(cache).await?));
        }
        Ok(writes)
    }

    /// The group of `conversation` as its page shows it.
    pub async fn group_view(&mut self, conversation: &str) -> Result<GroupView, MessengerError> {
        let group = group_of(conversation).ok_or(GroupError::UnknownGroup)?;
        let cache = self.take_group(group).await?;
        let view = self.view_of(&cache).await;
        self.groups.insert(group, cache);
        view
    }

    pub(super) async fn view_of(&self, cache: &GroupCache) -> Result<GroupView, MessengerError> {
        let head = cache.history.head();
        let me = self.handle();
        let contacts = self
            .contacts_of(head.members.iter().map(|m| m.handle.as_str()))
            .await?;
        let members = head
            .members
            .iter()
            .zip(contacts)
            .map(|(m, contact)| {
                let trust = if m.handle == me {
                    MemberTrust::Me
                } else {
                    match contact {
                        Some(c) if c.changed_key.is_some() || c.account_key != m.account_key => {
                            MemberTrust::Changed
                        }
                        _ => MemberTrust::Trusted,
                    }
                };
                MemberView {
                    handle: m.handle.clone(),
                    name: m.name.clone(),
                    admin: head.is_admin(&m.handle),
                    trust,
                }
            })
            .collect();
        Ok(GroupView {
            conversation: conversation_id(&head.group_id),
            name: head.name.clone(),
            epoch: head.epoch,
            members,
            member: head.is_member(me),
            admin: head.is_admin(me),
        })
    }

    /// A member entry for `handle`: the contact's trusted key, or the
    /// directory's (trusted on first use).
    async fn member_for(&mut self, handle: &str) -> Result<Member, MessengerError> {
        let contact = match self.contact(handle).await? {
            Some(c) if c.changed_key.is_some() => {
                return Err(MessengerError::IdentityChanged(handle.to_owned()));
            }
            Some(c) => c,
            None => {
                let info = self.lookup(handle).await?;
                self.trust(&info).await?
            }
        };
        Ok(Member {
            handle: contact.handle,
            name: contact.name,
            account_key: contact.account_key,
        })
    }

    /// Refuses a text to a group we are not (or no longer) in.
    pub(super) async fn check_can_send(&mut self, group: GroupId) -> Result<(), MessengerError> {
        let cache = self.take_group(group).await?;
        let member = cache.history.head().is_member(self.handle());
        self.groups.insert(group, cache);
        if member {
            Ok(())
        } else {
            Err(GroupError::NotMember(self.handle().to_owned()).into())
        }
    }

    /// The group from the cache, or read from the store.
    pub(super) async fn take_group(
        &mut self,
        group: GroupId,
    ) -> Result<GroupCache, MessengerError> {
        if let Some(cache) = self.groups.remove(&group) {
            return Ok(cache);
        }
        let keys = [
            group_keys::history(&group),
            group_keys::roster(&group),
            group_keys::own_chain(&group),
        ];
        let mut values = self.vault.get_many(Table::Groups, &keys).await?.into_iter();
        let (history, roster, chain) = (
            values.next().flatten(),
            values.next().flatten(),
            values.next().flatten(),
        );
        let history = History::decode(&history.ok_or(GroupError::UnknownGroup)?)?;
        let roster = roster
            .and_then(|b| minicbor::decode(&b).ok())
            .unwrap_or_default();
        let (chain, rotate) = match chain.and_then(|b| minicbor::decode::<OwnChain>(&b).ok()) {
            Some(own) => (SenderChain::from_bytes(&own.chain).ok(), own.rotate),
            None => (None, false),
        };
        Ok(GroupCache {
            history,
            roster,
            chain,
            rotate,
        })
    }

    /// The writes that store `cache` (state, roster, our chain).
    pub(super) fn group_writes(&self, cache: &GroupCache) -> Result<Vec<Write>, MessengerError> {
        let group = cache.id();
        let mut writes = vec![
            self.vault.seal(
                Table::Groups,
                &group_keys::history(&group),
                &cache.history.encode(),
            )?,
            self.vault.seal(
                Table::Groups,
                &group_keys::roster(&group),
                &cbor(&cache.roster),
            )?,
        ];
        writes.push(self.chain_write(cache)?);
        Ok(writes)
    }

    fn chain_write(&self, cache: &GroupCache) -> Result<Write, MessengerError> {
        let key = group_keys::own_chain(&cache.id());
        Ok(match &cache.chain {
            Some(chain) => self.vault.seal(
                Table::Groups,
                &key,
                &cbor(&OwnChain {
                    chain: chain.to_bytes().to_vec(),
                    rotate: cache.rotate,
                }),
            )?,
            None => Write::Delete {
                table: Table::Groups,
                key,
            },
        })
    }

    /// The conversation summary of the group in `cache` (read, or new).
    pub(super) async fn group_summary(
        &self,
        cache: &GroupCache,
        stored: Option<Conversation>,
    ) -> Result<Conversation, MessengerError> {
        let head = cache.history.head();
        let id = conversation_id(&head.group_id);
        let mut summary = match stored {
            Some(summary) => summary,
            None => crate::conversation::conversation(self.vault, &id)
                .await?
                .unwrap_or_else(|| Conversation::new(&id, &head.name)),
        };
        summary.name = head.name.clone();
        summary.group = Some(GroupFacts {
            members: u32::try_from(head.members.len()).unwrap_or(u32::MAX),
            member: head.is_member(self.handle()),
            admin: head.is_admin(self.handle()),
        });
        Ok(summary)
    }

    pub(super) fn line_for(
        &self,
        group: &GroupId,
        id: &[u8; 16],
        control: &Control,
        event: GroupEvent,
    ) -> StoredMessage {
        StoredMessage {
            id: *id,
            conversation: conversation_id(group),
            sender: control.author.clone(),
            sent_at_ms: control.issued_at_ms,
            text: String::new(),
            state: DeliveryState::Received,
            event: Some(event),
        }
    }

    /// Content from us in `group`.
    fn group_content(&mut self, group: GroupId, body: Body) -> Result<Content, MessengerError> {
        self.last_sent_at_ms = now_ms().max(self.last_sent_at_ms + 1);
        Ok(Content {
            id: random_id()?,
            sent_at_ms: self.last_sent_at_ms,
            sender: self.handle().to_owned(),
            sender_device: self.my_device().0,
            conversation: conversation_id(&group),
            body,
        })
    }

    /// The outbox record of a group send.
    pub(super) fn group_outbox_write(
        &self,
        content: &Content,
        to: Option<Vec<String>>,
    ) -> Result<Write, MessengerError> {
        let record = GroupOutbox {
            content: content.encode(),
            to,
        };
        Ok(self
            .vault
            .seal(Table::Outbox, &outbox_key(content), &cbor(&record))?)
    }

    /// Outbox records of the welcome of `state` (made by `signed`), to `to`.
    fn welcome_writes(
        &mut self,
        state: &GroupState,
        signed: &SignedControl,
        to: Option<Vec<String>>,
    ) -> Result<Vec<Write>, MessengerError> {
        let welcome = Welcome {
            state: state.encode(),
            control: signed.clone(),
        };
        let parts = welcome.parts();
        let count = u16::try_from(parts.len()).map_err(|_| GroupError::TooManyMembers)?;
        let welcome_id = random_id()?;
        let mut writes = Vec::new();
        for (index, bytes) in (0u16..).zip(parts) {
            let body = Body::GroupWelcome(WelcomePart {
                welcome_id,
                index,
                count,
                bytes,
            });
            let content = self.group_content(state.group_id, body)?;
            writes.push(self.group_outbox_write(&content, to.clone())?);
        }
        Ok(writes)
    }

    /// Sends the group sends waiting in the outbox, in order; returns our
    /// texts now sent (or failed: we left the group meanwhile).
    pub(super) async fn flush_group_outbox(
        &mut self,
    ) -> Result<Vec<StoredMessage>, MessengerError> {
        let scan = Scan {
            prefix: OUTBOX_GROUP.to_vec(),
            ..Scan::default()
        };
        let (pending, _unreadable) = self.vault.scan(Table::Outbox, scan).await?;
        let mut sent = Vec::new();
        for (key, bytes) in pending {
            let record = minicbor::decode::<GroupOutbox>(&bytes).ok();
            let content = record.as_ref().and_then(|r| Content::decode(&r.content));
            let (Some(record), Some(content)) = (record, content) else {
                // Undecodable: it can never leave; dropping it loses nothing readable.
                self.vault
                    .write(vec![Write::Delete {
                        table: Table::Outbox,
                        key,
                    }])
                    .await?;
                continue;
            };
            let Some(group) = group_of(&content.conversation) else {
                continue;
            };
            match self.deliver_to_group(group, &content, record.to).await {
                Ok(()) => sent.extend(self.mark_accepted(&content, key).await?),
                Err(MessengerError::Group(_)) => {
                    sent.extend(self.mark_failed(&content, key).await?);
                }
                Err(error) => return Err(error),
            }
        }
        Ok(sent)
    }

    /// A group send that can never leave: a text turns `Failed`, the outbox
    /// record goes.
    async fn mark_failed(
        &mut self,
        content: &Content,
        outbox_key: Vec<u8>,
    ) -> Result<Option<StoredMessage>, MessengerError> {
        let seen = self
            .vault
            .get(Table::Messages, &super::keys::seen(&content.id))
            .await?;
        let mut writes = vec![Write::Delete {
            table: Table::Outbox,
            key: outbox_key,
        }];
        let mut failed = None;
        if let Some(key) = seen
            && let Some(bytes) = self.vault.get(Table::Messages, &key).await?
            && let Ok(mut message) = minicbor::decode::<StoredMessage>(&bytes)
        {
            message.state = DeliveryState::Failed;
            writes.push(self.vault.seal(Table::Messages, &key, &cbor(&message))?);
            failed = Some(message);
        }
        self.vault.write(writes).await?;
        Ok(failed)
    }

    /// Sends `content` to the group: to `to` only if given (and our other
    /// devices), else to the members of the current state.
    pub(super) async fn deliver_to_group(
        &mut self,
        group: GroupId,
        content: &Content,
        to: Option<Vec<String>>,
    ) -> Result<(), MessengerError> {
        let mut cache = self.take_group(group).await?;
        // On failure the cache is dropped: what was saved is the truth.
        self.deliver_with(&mut cache, content, to.as_deref())
            .await?;
        self.groups.insert(group, cache);
        Ok(())
    }

    async fn deliver_with(
        &mut self,
        cache: &mut GroupCache,
        content: &Content,
        to: Option<&[String]>,
    ) -> Result<(), MessengerError> {
        let me = self.handle().to_owned();
        let group = cache.id();
        let bytes = content.encode();
        for _ in 0..MAX_STALE_RETRIES {
            let head = cache.history.head();
            let mut targets: BTreeSet<String> = match to {
                Some(list) => list.iter().cloned().collect(),
                None => {
                    if !head.is_member(&me) {
                        return Err(GroupError::NotMember(me).into());
                    }
                    head.members.iter().map(|m| m.handle.clone()).collect()
                }
            };
            targets.insert(me.clone());
            if to.is_none() {
                // Whoever left, with a device holding our chain: a new chain.
                let members: BTreeSet<&str> =
                    head.members.iter().map(|m| m.handle.as_str()).collect();
                if cache.roster.retain(|h| members.contains(h)) {
                    cache.rotate = true;
                }
            }
            if cache.chain.is_none() || cache.rotate {
                let previous = cache.chain.as_ref().map(SenderChain::chain_id);
                cache.chain = Some(new_chain(group, previous)?);
                cache.rotate = false;
                cache.roster.forget_holders();
                self.vault.write(self.group_writes(cache)?).await?;
            }
            // A member whose key changed gets nothing until the user decides.
            let changed = self.changed_contacts().await?;
            let reachable: Vec<String> = targets
                .into_iter()
                .filter(|h| *h == me || !changed.contains(h))
                .collect();
            let lacking: Vec<String> = reachable
                .iter()
                .filter(|h| match cache.roster.get(h) {
                    None => true,
                    Some(entry) => entry.devices.iter().any(|d| !entry.holding.contains(d)),
                })
                .cloned()
                .collect();
            if !lacking.is_empty() {
                self.distribute(cache, &lacking).await?;
            }
            let recipients: Vec<GroupRecipient> = reachable
                .iter()
                .filter_map(|h| {
                    let entry = cache.roster.get(h)?;
                    (!entry.devices.is_empty()).then(|| GroupRecipient {
                        handle: h.clone(),
                        devices: entry.devices.clone(),
                    })
                })
                .collect();
            let chain = cache.chain.as_mut().ok_or(MessengerError::Protocol)?;
            let payload = chain.encrypt(&bytes).map_err(crypto)?;
            // The chain is saved before the message leaves.
            self.vault.write(vec![self.chain_write(cache)?]).await?;
            let send = ClientFrame::GroupSend(GroupSend {
                idempotency_id: content.id,
                recipients,
                payload,
            });
            let answer = self.submit(send, content.id).await?;
            match answer {
                ServerFrame::Accepted(_) | ServerFrame::GroupAccepted { .. } => return Ok(()),
                ServerFrame::StaleDevices { accounts, .. } => {
                    for stale in accounts {
                        let Some(entry) = cache.roster.get(&stale.handle) else {
                            continue;
                        };
                        let mut devices: Vec<DeviceId> = entry
                            .devices
                            .iter()
                            .filter(|d| !stale.extra.contains(d))
                            .copied()
                            .collect();
                        if entry.holding.iter().any(|d| stale.extra.contains(d)) {
                            cache.rotate = true;
                        }
                        devices.extend(stale.missing.iter().filter(|d| **d != self.my_device()));
                        cache.roster.set_devices(&stale.handle, devices);
                        // The contact's devices are out of date too.
                        self.forget_devices(&stale.handle).await?;
                    }
                    self.vault.write(self.group_writes(cache)?).await?;
                }
                ServerFrame::QueueFull { .. } => {
                    return Err(MessengerError::Refused(ErrorCode::RateLimited));
                }
                _ => return Err(MessengerError::Protocol),
            }
        }
        Err(MessengerError::Protocol)
    }

    /// Clears the devices stored for a contact, so the next pairwise send
    /// looks them up again.
    async fn forget_devices(&mut self, handle: &str) -> Result<(), MessengerError> {
        if let Some(mut contact) = self.contact(handle).await? {
            contact.devices.clear();
            self.vault
                .put(
                    Table::Contacts,
                    &super::keys::contact(handle),
                    &cbor(&contact),
                )
                .await?;
        }
        Ok(())
    }

    /// Gives our current chain to every device of `accounts` (and our other
    /// devices) over the pairwise sessions; the roster records who holds it.
    async fn distribute(
        &mut self,
        cache: &mut GroupCache,
        accounts: &[String],
    ) -> Result<(), MessengerError> {
        let group = cache.id();
        let distribution = cache
            .chain
            .as_ref()
            .ok_or(MessengerError::Protocol)?
            .distribution()
            .encode();
        let me = self.handle().to_owned();
        let my_device = self.my_device();
        for chunk in accounts.chunks(DISTRIBUTION_ACCOUNTS_PER_SEND) {
            let content = self.group_content(group, Body::SenderKey(distribution.to_vec()))?;
            let reached = match self.deliver_accounts(chunk, &content).await {
                Ok(reached) => reached,
                // Keep who already holds the chain: a retry starts from there.
                Err(error @ (MessengerError::Link(_) | MessengerError::Refused(_))) => {
                    self.vault.write(self.group_writes(cache)?).await?;
                    return Err(error);
                }
                // An account gone from the directory (revoked): nobody to reach.
                Err(MessengerError::NotFound(handle)) if chunk.len() == 1 => {
                    cache.roster.set_devices(&handle, Vec::new());
                    continue;
                }
                Err(MessengerError::NotFound(_)) => {
                    for handle in chunk {
                        Box::pin(self.distribute(cache, std::slice::from_ref(handle))).await?;
                    }
                    continue;
                }
                Err(error) => return Err(error),
            };
            for handle in chunk.iter().chain(std::iter::once(&me)) {
                let devices: Vec<DeviceId> = reached
                    .iter()
                    .filter(|(h, d)| h == handle && *d != my_device)
                    .map(|(_, d)| *d)
                    .collect();
                cache.roster.set_devices(handle, devices);
                cache.roster.mark_holding(handle);
            }
        }
        self.vault.write(self.group_writes(cache)?).await?;
        Ok(())
    }
}

/// A new sender chain for `group`, numbered after `previous`.
fn new_chain(group: GroupId, previous: Option<u32>) -> Result<SenderChain, MessengerError> {
    let chain_id = match previous {
        Some(id) => id.wrapping_add(1),
        None => {
            let mut bytes = [0u8; 4];
            getrandom::fill(&mut bytes).map_err(|e| MessengerError::Crypto(e.to_string()))?;
            u32::from_be_bytes(bytes)
        }
    };
    SenderChain::generate(group, chain_id).map_err(crypto)
}

/// The id of the line a change leaves: the same on every device.
pub(super) fn applied_id(control: &Control) -> [u8; 16] {
    line_id(control, 0)
}

/// The id of the line saying a change was undone.
fn undone_id(control: &Control) -> [u8; 16] {
    line_id(control, 1)
}

fn line_id(control: &Control, tag: u8) -> [u8; 16] {
    let digest = estafette_crypto::group_digest(&[&cbor(control), &[tag]]);
    let mut id = [0u8; 16];
    id.copy_from_slice(digest.split_at(16).0);
    id
}
