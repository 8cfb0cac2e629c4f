//! The embedded backend: one SQLite file, WAL, `synchronous = FULL`.
//!
//! Every mutation is a job sent to one writer thread, which runs the jobs it
//! finds waiting in one transaction (each in its own savepoint) and commits
//! once: one fsync for many sends. A job's answer leaves only after the commit,
//! so an `Accepted` is durable. Reads use separate connections (WAL readers).
//!
//! `sqlite_store` holds the connections and the writer's job queue;
//! `writer` commits the jobs in batches; `store_impl` is the [`Store`]
//! contract over the queries in `accounts`, `prekeys` and `queue`, with
//! `rows` for conversions and `device_sets` for the writer's cache.
//!
//! [`Store`]: crate::store::Store

mod accounts;
mod device_sets;
mod prekeys;
mod queue;
mod rows;
mod schema;
mod sqlite_store;
mod store_impl;
mod writer;

pub use sqlite_store::SqliteStore;
