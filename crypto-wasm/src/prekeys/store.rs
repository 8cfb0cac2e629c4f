//! The responder's prekey state: what it published and still holds, and what was consumed.

use std::collections::{BTreeMap, VecDeque};

use zeroize::Zeroizing;

use crate::{
    Account, Device, DeviceId, Error, Result,
    codec::{Reader, Writer},
    prekeys::{
        bundle::PreKeyBundle,
        kem_prekey::{KemPreKey, KemPreKeyPublic},
        one_time_prekey::{OneTimePreKey, OneTimePreKeyPublic},
        signed_prekey::{SignedPreKey, SignedPreKeyPublic},
    },
    types::{curve25519::X25519KeyPair, ml_kem::KemKeyPair},
};

const FORMAT_VERSION: u8 = 1;
const DAY_MS: u64 = 24 * 60 * 60 * 1000;
/// A signed prekey (and the last-resort ML-KEM key) is replaced after this long.
pub const SIGNED_PREKEY_ROTATION_MS: u64 = 7 * DAY_MS;
/// A replaced signed prekey is kept this long for late PreKeyMessages.
pub const SIGNED_PREKEY_RETENTION_MS: u64 = 14 * DAY_MS;
/// How many accepted PreKeyMessage ephemeral keys are remembered to refuse replays.
pub const SEEN_BASE_KEYS_CAP: usize = 4096;
/// Upper bound on stored one-time keys of each kind (decoding refuses more).
pub const MAX_ONE_TIME_PREKEYS: usize = 10_000;
const MAX_SIGNED: usize = 64;

/// The prekeys of one device, with their secret halves.
///
/// Identifiers are allocated in increasing order and never reused, so an identifier
/// below the next one that is no longer held was consumed (or pruned).
#[derive(Clone)]
pub struct PreKeyStore {
    device_id: DeviceId,
    /// Oldest first; the last one is current.
    signed: Vec<SignedPreKey>,
    /// Oldest first; the last one is current.
    kem_last_resort: Vec<KemPreKey>,
    one_time: BTreeMap<u32, OneTimePreKey>,
    kem_one_time: BTreeMap<u32, KemPreKey>,
    next_signed_id: u32,
    next_one_time_id: u32,
    next_kem_id: u32,
    seen_base_keys: VecDeque<[u8; 32]>,
}

/// The secret keys a PreKeyMessage names.
pub(crate) struct ResponderKeys<'a> {
    pub(crate) signed: &'a X25519KeyPair,
    pub(crate) one_time: Option<&'a X25519KeyPair>,
    pub(crate) kem: &'a KemKeyPair,
}

fn take_id(next: &mut u32) -> Result<u32> {
    let id = *next;
    *next = next.checked_add(1).ok_or(Error::CounterExhausted)?;
    Ok(id)
}

impl PreKeyStore {
    /// Creates the first signed prekey and last-resort ML-KEM key for `device`.
    pub fn new(account: &Account, device: &Device, now_ms: u64) -> Result<Self> {
        let mut store = Self {
            device_id: device.device_id(),
            signed: Vec::new(),
            kem_last_resort: Vec::new(),
            one_time: BTreeMap::new(),
            kem_one_time: BTreeMap::new(),
            next_signed_id: 1,
            next_one_time_id: 1,
            next_kem_id: 1,
            seen_base_keys: VecDeque::new(),
        };
        store.rotate(account, now_ms)?;
        Ok(store)
    }

    /// The current signed prekey, to publish.
    pub fn signed_prekey(&self) -> Option<SignedPreKeyPublic> {
        self.signed.last().map(SignedPreKey::public)
    }

    /// The current last-resort ML-KEM prekey, to publish.
    pub fn kem_last_resort_prekey(&self) -> Option<KemPreKeyPublic> {
        self.kem_last_resort.last().map(KemPreKey::public)
    }

    /// Creates `count` one-time X25519 prekeys and returns their public halves to upload.
    pub fn generate_one_time_prekeys(&mut self, count: usize) -> Result<Vec<OneTimePreKeyPublic>> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let key = OneTimePreKey {
                id: take_id(&mut self.next_one_time_id)?,
                pair: X25519KeyPair::generate()?,
            };
            out.push(key.public());
            self.one_time.insert(key.id, key);
        }
        Ok(out)
    }

    /// Creates `count` signed one-time ML-KEM prekeys and returns their public halves.
    pub fn generate_kem_one_time_prekeys(
        &mut self,
        account: &Account,
        count: usize,
        now_ms: u64,
    ) -> Result<Vec<KemPreKeyPublic>> {
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let id = take_id(&mut self.next_kem_id)?;
            let key = KemPreKey::generate(&account.aik, self.device_id, id, true, now_ms)?;
            out.push(key.public());
            self.kem_one_time.insert(id, key);
        }
        Ok(out)
    }

    /// Whether the current signed prekey is older than [`SIGNED_PREKEY_ROTATION_MS`].
    pub fn needs_rotation(&self, now_ms: u64) -> bool {
        self.signed
            .last()
            .is_none_or(|spk| now_ms.saturating_sub(spk.created_at_ms) >= SIGNED_PREKEY_ROTATION_MS)
    }

    /// Replaces the signed prekey and the last-resort ML-KEM key by fresh ones, keeps the
    /// previous ones for late messages, and prunes those replaced long ago.
    pub fn rotate(&mut self, account: &Account, now_ms: u64) -> Result<()> {
        let spk_id = take_id(&mut self.next_signed_id)?;
        let spk = SignedPreKey::generate(&account.aik, self.device_id, spk_id, now_ms)?;
        let kem_id = take_id(&mut self.next_kem_id)?;
        let kem = KemPreKey::generate(&account.aik, self.device_id, kem_id, false, now_ms)?;
        for old in &mut self.signed {
            old.replaced_at_ms.get_or_insert(now_ms);
        }
        for old in &mut self.kem_last_resort {
            old.replaced_at_ms.get_or_insert(now_ms);
        }
        self.signed.push(spk);
        self.kem_last_resort.push(kem);
        self.prune(now_ms);
        Ok(())
    }

    /// Deletes signed and last-resort keys replaced more than
    /// [`SIGNED_PREKEY_RETENTION_MS`] ago.
    pub fn prune(&mut self, now_ms: u64) {
        let keep = |replaced: Option<u64>| {
            replaced.is_none_or(|at| now_ms.saturating_sub(at) < SIGNED_PREKEY_RETENTION_MS)
        };
        self.signed.retain(|k| keep(k.replaced_at_ms));
        self.kem_last_resort.retain(|k| keep(k.replaced_at_ms));
        // Keep the store bounded even if the clock misbehaves.
        while self.signed.len() > MAX_SIGNED {
            self.signed.remove(0);
        }
        while self.kem_last_resort.len() > MAX_SIGNED {
            self.kem_last_resort.remove(0);
        }
    }

    /// How many one-time X25519 prekeys are left.
    pub fn one_time_prekey_count(&self) -> usize {
        self.one_time.len()
    }

    /// How many one-time ML-KEM prekeys are left.
    pub fn kem_one_time_prekey_count(&self) -> usize {
        self.kem_one_time.len()
    }

    /// A bundle as the relay would serve it: the current signed keys, plus the
    /// lowest-numbered one-time keys still held (not consumed by this call).
    pub fn bundle(&self, device: &Device) -> Option<PreKeyBundle> {
        let kem_prekey = match self.kem_one_time.values().next() {
            Some(k) => k.public(),
            None => self.kem_last_resort_prekey()?,
        };
        Some(PreKeyBundle {
            certificate: device.certificate().clone(),
            signed_prekey: self.signed_prekey()?,
            kem_prekey,
            one_time_prekey: self.one_time.values().next().map(OneTimePreKey::public),
        })
    }

    /// Finds the keys a PreKeyMessage names, refusing unknown and consumed ones.
    pub(crate) fn lookup(
        &self,
        signed_id: u32,
        one_time_id: u32,
        kem_id: u32,
        base_key: &[u8; 32],
    ) -> Result<ResponderKeys<'_>> {
        let signed = self
            .signed
            .iter()
            .find(|k| k.id == signed_id)
            .map(|k| &k.pair)
            .ok_or(Error::UnknownSignedPreKey(signed_id))?;
        let one_time = match one_time_id {
            0 => None,
            id => match self.one_time.get(&id) {
                Some(k) => Some(&k.pair),
                None if id < self.next_one_time_id => return Err(Error::ConsumedOneTimePreKey(id)),
                None => return Err(Error::UnknownOneTimePreKey(id)),
            },
        };
        let kem = match self.kem_one_time.get(&kem_id) {
            Some(k) => &k.pair,
            None => match self.kem_last_resort.iter().find(|k| k.id == kem_id) {
                Some(k) => &k.pair,
                None if kem_id != 0 && kem_id < self.next_kem_id => {
                    return Err(Error::ConsumedKemPreKey(kem_id));
                }
                None => return Err(Error::UnknownKemPreKey(kem_id)),
            },
        };
        if self.seen_base_keys.contains(base_key) {
            return Err(Error::PreKeyMessageReplay);
        }
        Ok(ResponderKeys {
            signed,
            one_time,
            kem,
        })
    }

    /// Deletes the one-time keys a successfully decrypted PreKeyMessage used.
    pub(crate) fn consume(&mut self, one_time_id: u32, kem_id: u32, base_key: [u8; 32]) {
        self.one_time.remove(&one_time_id);
        self.kem_one_time.remove(&kem_id);
        if self.seen_base_keys.len() >= SEEN_BASE_KEYS_CAP {
            self.seen_base_keys.pop_front();
        }
        self.seen_base_keys.push_back(base_key);
    }

    /// Serializes the whole store (secret keys included). Seal it before storing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut w = Writer::new(FORMAT_VERSION);
        w.bytes(&self.device_id.0)
            .u32(self.next_signed_id)
            .u32(self.next_one_time_id)
            .u32(self.next_kem_id);
        w.len(self.signed.len());
        for k in &self.signed {
            w.u32(k.id)
                .bytes(&k.pair.secret_bytes()[..])
                .bytes(&k.signature)
                .u64(k.created_at_ms);
            write_replaced(&mut w, k.replaced_at_ms);
        }
        w.len(self.one_time.len());
        for k in self.one_time.values() {
            w.u32(k.id).bytes(&k.pair.secret_bytes()[..]);
        }
        for list in [
            self.kem_last_resort.iter().collect::<Vec<_>>(),
            self.kem_one_time.values().collect(),
        ] {
            w.len(list.len());
            for k in list {
                w.u32(k.id)
                    .bytes(k.pair.seed())
                    .bytes(&k.signature)
                    .u64(k.created_at_ms);
                write_replaced(&mut w, k.replaced_at_ms);
            }
        }
        w.len(self.seen_base_keys.len());
        for key in &self.seen_base_keys {
            w.bytes(key);
        }
        w.finish()
    }

    /// Restores a store serialized by [`PreKeyStore::to_bytes`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::with_version(bytes, "saved prekey store", FORMAT_VERSION)?;
        let device_id = DeviceId(r.array()?);
        let next_signed_id = r.u32()?;
        let next_one_time_id = r.u32()?;
        let next_kem_id = r.u32()?;
        let mut signed = Vec::new();
        for _ in 0..r.len(MAX_SIGNED)? {
            let id = r.u32()?;
            let secret = Zeroizing::new(r.array::<32>()?);
            signed.push(SignedPreKey {
                id,
                pair: X25519KeyPair::from_secret_bytes(*secret),
                signature: r.array()?,
                created_at_ms: r.u64()?,
                replaced_at_ms: read_replaced(&mut r)?,
            });
        }
        let mut one_time = BTreeMap::new();
        for _ in 0..r.len(MAX_ONE_TIME_PREKEYS)? {
            let id = r.u32()?;
            let secret = Zeroizing::new(r.array::<32>()?);
            let pair = X25519KeyPair::from_secret_bytes(*secret);
            one_time.insert(id, OneTimePreKey { id, pair });
        }
        let mut kem_last_resort = Vec::new();
        for _ in 0..r.len(MAX_SIGNED)? {
            kem_last_resort.push(read_kem(&mut r, false)?);
        }
        let mut kem_one_time = BTreeMap::new();
        for _ in 0..r.len(MAX_ONE_TIME_PREKEYS)? {
            let key = read_kem(&mut r, true)?;
            kem_one_time.insert(key.id, key);
        }
        let mut seen_base_keys = VecDeque::new();
        for _ in 0..r.len(SEEN_BASE_KEYS_CAP)? {
            seen_base_keys.push_back(r.array()?);
        }
        r.finish()?;
        Ok(Self {
            device_id,
            signed,
            kem_last_resort,
            one_time,
            kem_one_time,
            next_signed_id,
            next_one_time_id,
            next_kem_id,
            seen_base_keys,
        })
    }
}

fn write_replaced(w: &mut Writer, replaced: Option<u64>) {
    match replaced {
        Some(at) => w.u8(1).u64(at),
        None => w.u8(0).u64(0),
    };
}

fn read_replaced(r: &mut Reader<'_>) -> Result<Option<u64>> {
    let flag = r.bool()?;
    let at = r.u64()?;
    Ok(flag.then_some(at))
}

fn read_kem(r: &mut Reader<'_>, one_time: bool) -> Result<KemPreKey> {
    let id = r.u32()?;
    let seed = Zeroizing::new(r.array::<64>()?);
    Ok(KemPreKey {
        id,
        pair: KemKeyPair::from_seed(seed),
        signature: r.array()?,
        one_time,
        created_at_ms: r.u64()?,
        replaced_at_ms: read_replaced(r)?,
    })
}

impl core::fmt::Debug for PreKeyStore {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PreKeyStore")
            .field("device_id", &self.device_id)
            .field("signed_prekey", &self.signed_prekey().map(|k| k.id))
            .field("one_time_prekeys", &self.one_time.len())
            .field("kem_one_time_prekeys", &self.kem_one_time.len())
            .finish_non_exhaustive()
    }
}
