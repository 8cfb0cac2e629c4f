use std::cell::RefCell;

use estafette_crypto::{Argon2Params, StorageKey, Zeroizing};

use super::{RecordStore, Scan, StoreError, Table, Write, hex};

/// Meta key of the storage key wrapped under the passphrase.
const WRAPPED_KEY: &[u8] = b"storage-key";

/// A sealed record that failed to open: reported, skipped, left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Its table.
    pub table: Table,
    /// Its key.
    pub key: Vec<u8>,
}

/// The sealed view of a [`RecordStore`]. Every record outside [`Table::Meta`]
/// is `StorageKey::seal(table name, key, value)`: AEAD under the storage key
/// with a random nonce and the table and key as AAD, so a record cannot be read
/// without the key, nor moved to another key unnoticed.
pub struct Vault<S> {
    store: S,
    key: RefCell<Option<StorageKey>>,
}

impl<S: RecordStore> Vault<S> {
    /// A locked vault over `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            key: RefCell::new(None),
        }
    }

    /// The store underneath (raw, sealed records).
    pub fn raw(&self) -> &S {
        &self.store
    }

    /// Whether a storage key was ever set up here.
    pub async fn is_set_up(&self) -> Result<bool, StoreError> {
        Ok(self.store.get(Table::Meta, WRAPPED_KEY).await?.is_some())
    }

    /// Creates a fresh storage key, wraps it under `passphrase`, and unlocks.
    pub async fn create(&self, passphrase: &str, params: &Argon2Params) -> Result<(), StoreError> {
        let key = StorageKey::generate().map_err(|e| StoreError::Seal(e.to_string()))?;
        let wrapped = key
            .wrap(passphrase.as_bytes(), params)
            .map_err(|e| StoreError::Seal(e.to_string()))?;
        self.store
            .write(vec![Write::Put {
                table: Table::Meta,
                key: WRAPPED_KEY.to_vec(),
                value: wrapped,
            }])
            .await?;
        *self.key.borrow_mut() = Some(key);
        Ok(())
    }

    /// Unwraps the storage key with `passphrase`.
    pub async fn unlock(&self, passphrase: &str) -> Result<(), StoreError> {
        let wrapped = self
            .store
            .get(Table::Meta, WRAPPED_KEY)
            .await?
            .ok_or(StoreError::NoAccount)?;
        let key = StorageKey::unwrap(&wrapped, passphrase.as_bytes())
            .map_err(|_| StoreError::WrongPassphrase)?;
        *self.key.borrow_mut() = Some(key);
        Ok(())
    }

    /// Drops the storage key from memory (it zeroizes on drop).
    pub fn lock(&self) {
        self.key.borrow_mut().take();
    }

    /// Whether the storage key is in memory.
    pub fn is_unlocked(&self) -> bool {
        self.key.borrow().is_some()
    }

    /// Re-wraps the storage key under a new passphrase (the records stay as they are).
    pub async fn change_passphrase(
        &self,
        old: &str,
        new: &str,
        params: &Argon2Params,
    ) -> Result<(), StoreError> {
        let wrapped = self
            .store
            .get(Table::Meta, WRAPPED_KEY)
            .await?
            .ok_or(StoreError::NoAccount)?;
        let key = StorageKey::unwrap(&wrapped, old.as_bytes())
            .map_err(|_| StoreError::WrongPassphrase)?;
        let rewrapped = key
            .wrap(new.as_bytes(), params)
            .map_err(|e| StoreError::Seal(e.to_string()))?;
        self.store
            .write(vec![Write::Put {
                table: Table::Meta,
                key: WRAPPED_KEY.to_vec(),
                value: rewrapped,
            }])
            .await?;
        *self.key.borrow_mut() = Some(key);
        Ok(())
    }

    /// A sealed put, to apply with others in [`Vault::write`].
    pub fn seal(&self, table: Table, key: &[u8], value: &[u8]) -> Result<Write, StoreError> {
        let guard = self.key.borrow();
        let storage = guard.as_ref().ok_or(StoreError::Locked)?;
        let sealed = storage
            .seal(table.name(), key, value)
            .map_err(|e| StoreError::Seal(e.to_string()))?;
        Ok(Write::Put {
            table,
            key: key.to_vec(),
            value: sealed,
        })
    }

    fn open(
        &self,
        table: Table,
        key: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let guard = self.key.borrow();
        let storage = guard.as_ref().ok_or(StoreError::Locked)?;
        storage
            .open(table.name(), key, sealed)
            .map_err(|_| StoreError::Unreadable {
                table: table.name(),
                key: hex(key),
            })
    }

    /// Applies writes (made by [`Vault::seal`] or deletes) atomically.
    pub async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        if !self.is_unlocked() {
            return Err(StoreError::Locked);
        }
        self.store.write(writes).await
    }

    /// Seals and stores one record.
    pub async fn put(&self, table: Table, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let write = self.seal(table, key, value)?;
        self.store.write(vec![write]).await
    }

    /// Opens one record. A record that does not open is an
    /// [`StoreError::Unreadable`] error, and stays stored.
    pub async fn get(
        &self,
        table: Table,
        key: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, StoreError> {
        if !self.is_unlocked() {
            return Err(StoreError::Locked);
        }
        match self.store.get(table, key).await? {
            None => Ok(None),
            Some(sealed) => self.open(table, key, &sealed).map(Some),
        }
    }

    /// Opens several records read together; one that does not open is an
    /// [`StoreError::Unreadable`] error, and stays stored.
    pub async fn get_many(
        &self,
        table: Table,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Zeroizing<Vec<u8>>>>, StoreError> {
        if !self.is_unlocked() {
            return Err(StoreError::Locked);
        }
        let sealed = self.store.get_many(table, keys).await?;
        keys.iter()
            .zip(sealed)
            .map(|(key, value)| value.map(|v| self.open(table, key, &v)).transpose())
            .collect()
    }

    /// Opens the records of a scan; those that do not open are returned apart.
    #[allow(clippy::type_complexity)]
    pub async fn scan(
        &self,
        table: Table,
        scan: Scan,
    ) -> Result<(Vec<(Vec<u8>, Zeroizing<Vec<u8>>)>, Vec<Unreadable>), StoreError> {
        if !self.is_unlocked() {
            return Err(StoreError::Locked);
        }
        let mut opened = Vec::new();
        let mut unreadable = Vec::new();
        for (key, sealed) in self.store.scan(table, scan).await? {
            match self.open(table, &key, &sealed) {
                Ok(value) => opened.push((key, value)),
                Err(_) => unreadable.push(Unreadable { table, key }),
            }
        }
        Ok((opened, unreadable))
    }

    /// Deletes everything and forgets the key.
    pub async fn erase(&self) -> Result<(), StoreError> {
        self.lock();
        self.store.erase().await
    }
}
