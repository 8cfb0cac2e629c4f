//! What the vault holds, as a CBOR map with small integer keys. Keys this version does
//! not know are kept as they are and written back, so a later version can add fields
//! without an older browser erasing them when it re-seals the vault.

use core::fmt;

use minicbor::{Decoder, Encoder};
use zeroize::Zeroizing;

use crate::{
    Account, Error, Result,
    roaming::{history_key::HistoryKey, mailbox::MailboxKey},
    types::ed25519::Ed25519SigningKey,
};

const AIK_SEED: u64 = 0;
const HISTORY_KEY: u64 = 1;
const MAILBOX_KEY: u64 = 2;
const DISPLAY_NAME: u64 = 3;
const LANGUAGE: u64 = 4;
const LOCK_DELAY_S: u64 = 5;
const RETIRED_HISTORY_KEYS: u64 = 6;
const KNOWN_KEYS: u64 = 7;

/// Largest encoded vault contents, in bytes (sealing refuses more; opening too).
pub const MAX_VAULT_CONTENTS_LEN: usize = 64 * 1024;
/// History keys kept for segments not yet re-sealed under the current one.
pub const MAX_RETIRED_HISTORY_KEYS: usize = 16;
const MAX_TEXT_LEN: usize = 1024;
const MAX_UNKNOWN_ENTRIES: usize = 64;

/// The account's settings that follow the person from browser to browser.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct AccountSettings {
    /// The name shown to contacts (at most 1024 bytes).
    pub display_name: String,
    /// The interface language, a BCP 47 tag such as `fr` (at most 1024 bytes).
    pub language: String,
    /// Seconds of inactivity before the app locks.
    pub lock_delay_s: u32,
}

impl fmt::Debug for AccountSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountSettings")
            .field("language", &self.language)
            .field("lock_delay_s", &self.lock_delay_s)
            .finish_non_exhaustive()
    }
}

/// The vault's contents (PROTOCOL.md section 9.2).
pub struct VaultContents {
    /// The account identity key (AIK).
    pub account: Account,
    /// HK: seals new history segments.
    pub history_key: HistoryKey,
    /// History keys replaced by a rotation (section 9.6) whose segments are not all
    /// re-sealed yet; emptied by [`VaultContents::forget_retired_history_keys`].
    pub retired_history_keys: Vec<HistoryKey>,
    /// MK: seals the mailbox state.
    pub mailbox_key: MailboxKey,
    /// Settings.
    pub settings: AccountSettings,
    pub(crate) unknown: Vec<(u64, Zeroizing<Vec<u8>>)>,
}

fn malformed(why: &'static str) -> Error {
    Error::Malformed {
        what: "vault contents",
        why,
    }
}

fn not_cbor<E>(_: E) -> Error {
    malformed("it is not the expected CBOR")
}

impl VaultContents {
    /// Contents for a new account: fresh HK and MK.
    pub fn new(account: Account, settings: AccountSettings) -> Result<Self> {
        Ok(Self {
            account,
            history_key: HistoryKey::generate()?,
            retired_history_keys: Vec::new(),
            mailbox_key: MailboxKey::generate()?,
            settings,
            unknown: Vec::new(),
        })
    }

    /// Rotation on revocation or passphrase change (section 9.6): a new HK and MK. The
    /// old HK is kept as retired until every segment sealed under it is re-sealed, so a
    /// browser that signs in meanwhile can still read the whole history.
    pub fn rotate_keys(&mut self) -> Result<()> {
        if self.retired_history_keys.len() >= MAX_RETIRED_HISTORY_KEYS {
            return Err(Error::TooManyRetiredKeys);
        }
        let history_key = HistoryKey::generate()?;
        let mailbox_key = MailboxKey::generate()?;
        let old = core::mem::replace(&mut self.history_key, history_key);
        self.retired_history_keys.push(old);
        self.mailbox_key = mailbox_key;
        Ok(())
    }

    /// Once a compaction re-sealed every segment under the current HK.
    pub fn forget_retired_history_keys(&mut self) {
        self.retired_history_keys.clear();
    }

    /// The current history key, then the retired ones, newest first.
    pub fn history_keys(&self) -> impl Iterator<Item = &HistoryKey> {
        core::iter::once(&self.history_key).chain(self.retired_history_keys.iter().rev())
    }

    /// The CBOR map the vault seals (keys in increasing order, unknown ones kept). It
    /// holds every secret of the account: seal it before storing (e.g. in a sealed record).
    pub fn to_bytes(&self) -> Result<Zeroizing<Vec<u8>>> {
        let settings = &self.settings;
        if settings.display_name.len() > MAX_TEXT_LEN || settings.language.len() > MAX_TEXT_LEN {
            return Err(malformed("a setting is longer than 1024 bytes"));
        }
        if self.retired_history_keys.len() > MAX_RETIRED_HISTORY_KEYS {
            return Err(Error::TooManyRetiredKeys);
        }
        let retired = !self.retired_history_keys.is_empty();
        let entries = 6 + u64::from(retired) + self.unknown.len() as u64;
        // Reserved up front so the buffer holding secrets is never reallocated (and copied).
        let mut buf = Zeroizing::new(Vec::with_capacity(MAX_VAULT_CONTENTS_LEN));
        let mut e = Encoder::new(&mut *buf);
        e.map(entries)
            .and_then(|e| e.u64(AIK_SEED)?.bytes(&self.account.aik.seed()[..]))
            .and_then(|e| e.u64(HISTORY_KEY)?.bytes(&self.history_key.0[..]))
            .and_then(|e| e.u64(MAILBOX_KEY)?.bytes(&self.mailbox_key.0[..]))
            .and_then(|e| e.u64(DISPLAY_NAME)?.str(&settings.display_name))
            .and_then(|e| e.u64(LANGUAGE)?.str(&settings.language))
            .and_then(|e| e.u64(LOCK_DELAY_S)?.u32(settings.lock_delay_s))
            .map_err(not_cbor)?;
        if retired {
            e.u64(RETIRED_HISTORY_KEYS)
                .and_then(|e| e.array(self.retired_history_keys.len() as u64))
                .map_err(not_cbor)?;
            for key in &self.retired_history_keys {
                e.bytes(&key.0[..]).map_err(not_cbor)?;
            }
        }
        for (key, raw) in &self.unknown {
            e.u64(*key).map_err(not_cbor)?;
            e.writer_mut().extend_from_slice(raw);
        }
        if buf.len() > MAX_VAULT_CONTENTS_LEN {
            return Err(malformed("it is larger than 64 KiB"));
        }
        Ok(buf)
    }

    /// Reads [`VaultContents::to_bytes`]: a definite-length map, each key once, every
    /// known entry present (the retired keys may be absent), no trailing bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > MAX_VAULT_CONTENTS_LEN {
            return Err(malformed("it is larger than 64 KiB"));
        }
        let mut d = Decoder::new(bytes);
        let entries = d
            .map()
            .map_err(not_cbor)?
            .ok_or_else(|| malformed("its map has no definite length"))?;
        if entries > KNOWN_KEYS + MAX_UNKNOWN_ENTRIES as u64 {
            return Err(malformed("it has too many entries"));
        }
        let mut fields = Fields::default();
        for _ in 0..entries {
            let key = d.u64().map_err(not_cbor)?;
            fields.read(key, &mut d)?;
        }
        if d.position() != bytes.len() {
            return Err(malformed("it has trailing bytes"));
        }
        fields.finish()
    }
}

/// The entries read so far; each key may appear once.
#[derive(Default)]
struct Fields {
    aik_seed: Option<Zeroizing<[u8; 32]>>,
    history_key: Option<HistoryKey>,
    mailbox_key: Option<MailboxKey>,
    display_name: Option<String>,
    language: Option<String>,
    lock_delay_s: Option<u32>,
    retired: Option<Vec<HistoryKey>>,
    unknown: Vec<(u64, Zeroizing<Vec<u8>>)>,
}

fn key32(d: &mut Decoder<'_>) -> Result<Zeroizing<[u8; 32]>> {
    let bytes = d.bytes().map_err(not_cbor)?;
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(malformed("a key is not 32 bytes"));
    }
    out.copy_from_slice(bytes);
    Ok(out)
}

fn text(d: &mut Decoder<'_>) -> Result<String> {
    let s = d.str().map_err(not_cbor)?;
    if s.len() > MAX_TEXT_LEN {
        return Err(malformed("a setting is longer than 1024 bytes"));
    }
    Ok(s.to_owned())
}

fn once<T>(slot: &mut Option<T>, value: T) -> Result<()> {
    if slot.replace(value).is_some() {
        return Err(malformed("a key appears twice"));
    }
    Ok(())
}

impl Fields {
    fn read(&mut self, key: u64, d: &mut Decoder<'_>) -> Result<()> {
        match key {
            AIK_SEED => once(&mut self.aik_seed, key32(d)?),
            HISTORY_KEY => once(&mut self.history_key, HistoryKey(key32(d)?)),
            MAILBOX_KEY => once(&mut self.mailbox_key, MailboxKey(key32(d)?)),
            DISPLAY_NAME => once(&mut self.display_name, text(d)?),
            LANGUAGE => once(&mut self.language, text(d)?),
            LOCK_DELAY_S => once(&mut self.lock_delay_s, d.u32().map_err(not_cbor)?),
            RETIRED_HISTORY_KEYS => {
                let n = d
                    .array()
                    .map_err(not_cbor)?
                    .ok_or_else(|| malformed("its key list has no definite length"))?;
                if n > MAX_RETIRED_HISTORY_KEYS as u64 {
                    return Err(Error::TooManyRetiredKeys);
                }
                let keys = (0..n)
                    .map(|_| key32(d).map(HistoryKey))
                    .collect::<Result<Vec<_>>>()?;
                once(&mut self.retired, keys)
            }
            _ => {
                if self.unknown.iter().any(|(k, _)| *k == key) {
                    return Err(malformed("a key appears twice"));
                }
                let start = d.position();
                d.skip().map_err(not_cbor)?;
                let raw = d.input().get(start..d.position()).unwrap_or_default();
                self.unknown.push((key, Zeroizing::new(raw.to_vec())));
                Ok(())
            }
        }
    }

    fn finish(self) -> Result<VaultContents> {
        let missing = || malformed("a required entry is missing");
        let seed = self.aik_seed.ok_or_else(missing)?;
        let mut unknown = self.unknown;
        unknown.sort_by_key(|(k, _)| *k);
        Ok(VaultContents {
            account: Account {
                aik: Ed25519SigningKey::from_seed(&seed),
            },
            history_key: self.history_key.ok_or_else(missing)?,
            retired_history_keys: self.retired.unwrap_or_default(),
            mailbox_key: self.mailbox_key.ok_or_else(missing)?,
            settings: AccountSettings {
                display_name: self.display_name.ok_or_else(missing)?,
                language: self.language.ok_or_else(missing)?,
                lock_delay_s: self.lock_delay_s.ok_or_else(missing)?,
            },
            unknown,
        })
    }
}

impl fmt::Debug for VaultContents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultContents")
            .field("account", &self.account)
            .field("retired_history_keys", &self.retired_history_keys.len())
            .field("settings", &self.settings)
            .field("unknown_entries", &self.unknown.len())
            .finish_non_exhaustive()
    }
}
