//! [`RecordStore`] over IndexedDB (rexie). One database per account.
//!
//! Every operation opens its own transaction and awaits only IndexedDB
//! requests inside it: a transaction closes across any other await.

use std::cell::RefCell;

use js_sys::Uint8Array;
use rexie::{Direction, KeyRange, ObjectStore, Rexie, TransactionMode};
use wasm_bindgen::{JsCast, JsValue};

use super::{Record, RecordStore, SCHEMA_VERSION, Scan, StoreError, Table, Write, hex, prefix_end};

fn backend(error: rexie::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

fn bytes(value: &[u8]) -> JsValue {
    Uint8Array::from(value).into()
}

fn to_bytes(table: Table, key: &[u8], value: JsValue) -> Result<Vec<u8>, StoreError> {
    value
        .dyn_into::<Uint8Array>()
        .map(|array| array.to_vec())
        .or_else(|value| {
            value
                .dyn_into::<js_sys::ArrayBuffer>()
                .map(|buffer| Uint8Array::new(&buffer).to_vec())
        })
        .map_err(|_| StoreError::NotBytes {
            table: table.name(),
            key: hex(key),
        })
}

/// Names of this origin's IndexedDB databases, from a page or a worker
/// (`indexedDB.databases()`; empty when the browser cannot tell).
pub async fn database_names() -> Vec<String> {
    use js_sys::{Array, Function, Promise, Reflect};
    let Ok(factory) = Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB")) else {
        return Vec::new();
    };
    // `databases()` is not in web-sys yet.
    let Ok(method) = Reflect::get(&factory, &JsValue::from_str("databases")) else {
        return Vec::new();
    };
    let Some(promise) = method
        .dyn_ref::<Function>()
        .and_then(|f| f.call0(&factory).ok())
        .and_then(|p| p.dyn_into::<Promise>().ok())
    else {
        return Vec::new();
    };
    let Ok(list) = wasm_bindgen_futures::JsFuture::from(promise).await else {
        return Vec::new();
    };
    Array::from(&list)
        .iter()
        .filter_map(|info| Reflect::get(&info, &JsValue::from_str("name")).ok())
        .filter_map(|name| name.as_string())
        .collect()
}

/// Whether the database `name` exists, without opening (which creates it).
pub async fn database_exists(name: &str) -> bool {
    database_names().await.iter().any(|n| n == name)
}

/// An IndexedDB database holding one account's records.
pub struct IndexedDbStore {
    name: String,
    db: RefCell<Option<Rexie>>,
}

impl IndexedDbStore {
    /// Opens (creating or upgrading) the database `name`.
    pub async fn open(name: &str) -> Result<Self, StoreError> {
        let builder = Table::ALL
            .iter()
            .fold(Rexie::builder(name).version(SCHEMA_VERSION), |b, t| {
                b.add_object_store(ObjectStore::new(t.name()))
            });
        let db = builder.build().await.map_err(backend)?;
        Ok(Self {
            name: name.to_owned(),
            db: RefCell::new(Some(db)),
        })
    }

    fn transaction(
        &self,
        tables: &[&str],
        mode: TransactionMode,
    ) -> Result<rexie::Transaction, StoreError> {
        let db = self.db.borrow();
        let db = db
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the database was erased".into()))?;
        db.transaction(tables, mode).map_err(backend)
    }
}

impl RecordStore for IndexedDbStore {
    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tx = self.transaction(&[table.name()], TransactionMode::ReadOnly)?;
        let store = tx.store(table.name()).map_err(backend)?;
        let value = store.get(bytes(key)).await.map_err(backend)?;
        tx.done().await.map_err(backend)?;
        value.map(|v| to_bytes(table, key, v)).transpose()
    }

    async fn get_many(
        &self,
        table: Table,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let tx = self.transaction(&[table.name()], TransactionMode::ReadOnly)?;
        let store = tx.store(table.name()).map_err(backend)?;
        // Every request is issued before any is awaited: one round of the
        // event loop for the lot instead of one per key.
        let found = futures::future::join_all(keys.iter().map(|key| store.get(bytes(key)))).await;
        tx.done().await.map_err(backend)?;
        keys.iter()
            .zip(found)
            .map(|(key, value)| {
                value
                    .map_err(backend)?
                    .map(|v| to_bytes(table, key, v))
                    .transpose()
            })
            .collect()
    }

    async fn scan(&self, table: Table, scan: Scan) -> Result<Vec<Record>, StoreError> {
        let range = match (scan.prefix.is_empty(), prefix_end(&scan.prefix)) {
            (true, _) => None,
            (false, Some(end)) => Some(
                KeyRange::bound(&bytes(&scan.prefix), &bytes(&end), Some(false), Some(true))
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            ),
            (false, None) => Some(
                KeyRange::lower_bound(&bytes(&scan.prefix), Some(false))
                    .map_err(|e| StoreError::Backend(e.to_string()))?,
            ),
        };
        let direction = if scan.reverse {
            Direction::Prev
        } else {
            Direction::Next
        };
        let tx = self.transaction(&[table.name()], TransactionMode::ReadOnly)?;
        let store = tx.store(table.name()).map_err(backend)?;
        let rows = store
            .scan(range, scan.limit, None, Some(direction))
            .await
            .map_err(backend)?;
        tx.done().await.map_err(backend)?;
        rows.into_iter()
            .map(|(k, v)| {
                let key = to_bytes(table, b"", k)?;
                let value = to_bytes(table, &key, v)?;
                Ok((key, value))
            })
            .collect()
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut names: Vec<&str> = writes
            .iter()
            .map(|w| match w {
                Write::Put { table, .. } | Write::Delete { table, .. } => table.name(),
            })
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Ok(());
        }
        let tx = self.transaction(&names, TransactionMode::ReadWrite)?;
        // Runs of puts to one table are issued together (`put_all` waits only
        // for the last); IndexedDB applies requests in the order issued. The
        // sort is stable, so writes to one table keep their order.
        let mut writes = writes;
        writes.sort_by_key(|w| match w {
            Write::Put { table, .. } | Write::Delete { table, .. } => *table,
        });
        let mut rest = writes.as_slice();
        while let Some(first) = rest.first() {
            match first {
                Write::Put { table, .. } => {
                    let run = rest
                        .iter()
                        .take_while(|w| matches!(w, Write::Put { table: t, .. } if t == table))
                        .count();
                    let (puts, after) = rest.split_at(run);
                    let store = tx.store(table.name()).map_err(backend)?;
                    let pairs = puts.iter().filter_map(|w| match w {
                        Write::Put { key, value, .. } => Some((bytes(value), Some(bytes(key)))),
                        Write::Delete { .. } => None,
                    });
                    store.put_all(pairs).await.map_err(backend)?;
                    rest = after;
                }
                Write::Delete { table, key } => {
                    let store = tx.store(table.name()).map_err(backend)?;
                    store.delete(bytes(key)).await.map_err(backend)?;
                    rest = rest.get(1..).unwrap_or_default();
                }
            }
        }
        tx.commit().await.map_err(backend)
    }

    async fn erase(&self) -> Result<(), StoreError> {
        if let Some(db) = self.db.borrow_mut().take() {
            db.close();
        }
        Rexie::delete(&self.name).await.map_err(backend)
    }
}

impl Drop for IndexedDbStore {
    /// An open connection blocks deleting the database (erase), even after
    /// the JavaScript object is unreachable: close it explicitly.
    fn drop(&mut self) {
        if let Some(db) = self.db.get_mut().take() {
            db.close();
        }
    }
}
