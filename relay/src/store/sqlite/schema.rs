//! The schema: migrations as files, applied in order at start
//! (`PRAGMA user_version`); a database from a newer relay is refused.

use rusqlite::Connection;

use crate::store::error::{StoreError, StoreResult};

/// Migrations in order; the file name's number is its schema version.
const MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_accounts_queues.sql"),
    include_str!("../../../migrations/sqlite/0003_shared_payloads.sql"),
];

/// Applies the migrations the database has not seen yet.
pub fn migrate(conn: &mut Connection) -> StoreResult<()> {
    let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > known {
        return Err(StoreError::TooNew {
            found: current,
            known,
        });
    }
    for (version, sql) in (1i64..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", version)?;
        tx.commit()?;
    }
    Ok(())
}
