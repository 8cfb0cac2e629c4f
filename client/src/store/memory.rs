use std::cell::RefCell;
use std::collections::BTreeMap;

use super::{Record, RecordStore, Scan, StoreError, Table, Write};

/// Records keyed by table and key.
type Tables = BTreeMap<(Table, Vec<u8>), Vec<u8>>;

/// Records in memory: native tests, and the browser test suite's reference.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: RefCell<Tables>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Replaces a raw stored value (tests: simulate tampering or corruption).
    pub fn poke(&self, table: Table, key: &[u8], value: Vec<u8>) {
        self.tables
            .borrow_mut()
            .insert((table, key.to_vec()), value);
    }

    /// Number of records in all tables.
    pub fn len(&self) -> usize {
        self.tables.borrow().len()
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RecordStore for MemoryStore {
    async fn get(&self, table: Table, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.tables.borrow().get(&(table, key.to_vec())).cloned())
    }

    async fn scan(&self, table: Table, scan: Scan) -> Result<Vec<Record>, StoreError> {
        let tables = self.tables.borrow();
        let start = (table, scan.prefix.clone());
        let in_range = |k: &(Table, Vec<u8>)| k.0 == table && k.1.starts_with(&scan.prefix);
        let iter = tables.range(start..).take_while(|(k, _)| in_range(k));
        let limit = scan.limit.map_or(usize::MAX, |l| l as usize);
        let mut out: Vec<_> = iter.map(|((_, k), v)| (k.clone(), v.clone())).collect();
        if scan.reverse {
            out.reverse();
        }
        out.truncate(limit);
        Ok(out)
    }

    async fn write(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        let mut tables = self.tables.borrow_mut();
        for write in writes {
            match write {
                Write::Put { table, key, value } => {
                    tables.insert((table, key), value);
                }
                Write::Delete { table, key } => {
                    tables.remove(&(table, key));
                }
            }
        }
        Ok(())
    }

    async fn erase(&self) -> Result<(), StoreError> {
        self.tables.borrow_mut().clear();
        Ok(())
    }
}
