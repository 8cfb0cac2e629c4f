//! How groups are kept in the `groups` table, and the cache the messenger
//! holds of the groups it used (a group of 1,000 is ~85 KB of state: it is
//! read once per unlock, not once per message).
//!
//! Records, each sealed:
//! - `h<group>`: the [`History`] (settled state and unsettled changes);
//! - `r<group>`: the [`Roster`], member devices and which hold our chain;
//! - `s<group>`: our [`OwnChain`], rewritten at every message we send;
//! - `x<group><handle>\0<device>`: the chains of one member device, newest first;
//! - `w<group><sender>\0<welcome id><index>`: parts of a welcome not complete yet.

use estafette_crypto::{ReceiverChain, SenderChain};
use estafette_wire::DeviceId;
use minicbor::{Decode, Encode};

use crate::group::{GroupId, History};

/// Chains kept per member device: the current one and two before it, for
/// messages sent just before a rotation that arrive after it.
pub(super) const CHAINS_PER_DEVICE: usize = 3;

pub(super) mod keys {
    use crate::group::GroupId;

    fn with(tag: u8, group: &GroupId) -> Vec<u8> {
        let mut key = vec![tag];
        key.extend_from_slice(group);
        key
    }
    pub fn history(group: &GroupId) -> Vec<u8> {
        with(b'h', group)
    }
    pub fn roster(group: &GroupId) -> Vec<u8> {
        with(b'r', group)
    }
    pub fn own_chain(group: &GroupId) -> Vec<u8> {
        with(b's', group)
    }
    pub fn chains_of(group: &GroupId, handle: &str) -> Vec<u8> {
        let mut key = with(b'x', group);
        key.extend_from_slice(handle.as_bytes());
        key.push(0);
        key
    }
    pub fn chains(group: &GroupId, handle: &str, device: &[u8; 16]) -> Vec<u8> {
        let mut key = chains_of(group, handle);
        key.extend_from_slice(device);
        key
    }
    pub fn welcome(group: &GroupId, sender: &str, welcome_id: &[u8; 16]) -> Vec<u8> {
        let mut key = with(b'w', group);
        key.extend_from_slice(sender.as_bytes());
        key.push(0);
        key.extend_from_slice(welcome_id);
        key
    }
    pub fn welcome_part(
        group: &GroupId,
        sender: &str,
        welcome_id: &[u8; 16],
        index: u16,
    ) -> Vec<u8> {
        let mut key = welcome(group, sender, welcome_id);
        key.extend_from_slice(&index.to_be_bytes());
        key
    }
}

/// One member account's devices as last seen, and those holding our
/// current chain.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RosterAccount {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Devices (ours without this one).
    #[n(1)]
    pub devices: Vec<DeviceId>,
    /// Devices that were given our current chain.
    #[n(2)]
    pub holding: Vec<DeviceId>,
}

/// Where our group messages go.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct Roster {
    /// Sorted by handle.
    #[n(0)]
    pub accounts: Vec<RosterAccount>,
}

impl Roster {
    /// The entry of `handle`, if any.
    pub fn get(&self, handle: &str) -> Option<&RosterAccount> {
        self.accounts
            .binary_search_by(|a| a.handle.as_str().cmp(handle))
            .ok()
            .and_then(|i| self.accounts.get(i))
    }

    /// Sets the devices of `handle`; `holding` keeps only devices still there.
    pub fn set_devices(&mut self, handle: &str, devices: Vec<DeviceId>) {
        match self
            .accounts
            .binary_search_by(|a| a.handle.as_str().cmp(handle))
        {
            Ok(i) => {
                if let Some(entry) = self.accounts.get_mut(i) {
                    entry.holding.retain(|d| devices.contains(d));
                    entry.devices = devices;
                }
            }
            Err(i) => self.accounts.insert(
                i,
                RosterAccount {
                    handle: handle.to_owned(),
                    devices,
                    holding: Vec::new(),
                },
            ),
        }
    }

    /// Records that every device of `handle` now holds our chain.
    pub fn mark_holding(&mut self, handle: &str) {
        if let Ok(i) = self
            .accounts
            .binary_search_by(|a| a.handle.as_str().cmp(handle))
            && let Some(entry) = self.accounts.get_mut(i)
        {
            entry.holding = entry.devices.clone();
        }
    }

    /// Drops accounts `keep` refuses; whether any of them held our chain.
    pub fn retain(&mut self, keep: impl Fn(&str) -> bool) -> bool {
        let mut held = false;
        self.accounts.retain(|a| {
            let kept = keep(&a.handle);
            held |= !kept && !a.holding.is_empty();
            kept
        });
        held
    }

    /// A new chain: nobody holds it.
    pub fn forget_holders(&mut self) {
        for account in &mut self.accounts {
            account.holding.clear();
        }
    }
}

/// Our sending chain in a group.
#[derive(Encode, Decode)]
pub struct OwnChain {
    /// `SenderChain::to_bytes` (secret; the record is sealed).
    #[cbor(n(0), with = "minicbor::bytes")]
    pub chain: Vec<u8>,
    /// A device that held it is gone (revoked): start a new one before the next message.
    #[n(1)]
    pub rotate: bool,
}

/// The chains of one member device, newest first.
#[derive(Encode, Decode, Default)]
pub struct DeviceChains {
    /// `ReceiverChain::to_bytes` each (secret; the record is sealed).
    #[n(0)]
    pub chains: Vec<minicbor::bytes::ByteVec>,
}

impl DeviceChains {
    /// Decoded chains (those that do not decode are dropped: they cannot read anything).
    pub fn decode_all(&self) -> Vec<ReceiverChain> {
        self.chains
            .iter()
            .filter_map(|b| ReceiverChain::from_bytes(b).ok())
            .collect()
    }

    /// The record for `chains` (newest first, at most [`CHAINS_PER_DEVICE`]).
    pub fn of(chains: &[ReceiverChain]) -> Self {
        Self {
            chains: chains
                .iter()
                .take(CHAINS_PER_DEVICE)
                .map(|c| c.to_bytes().to_vec().into())
                .collect(),
        }
    }
}

/// What the messenger keeps in memory of a group it used.
pub struct GroupCache {
    /// State and changes.
    pub history: History,
    /// Member devices.
    pub roster: Roster,
    /// Our chain, once we sent (or prepared to send) something.
    pub chain: Option<SenderChain>,
    /// Whether `chain` must be replaced before the next message.
    pub rotate: bool,
}

impl GroupCache {
    /// The group's id.
    pub fn id(&self) -> GroupId {
        self.history.head().group_id
    }
}
