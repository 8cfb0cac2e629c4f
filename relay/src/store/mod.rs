//! Durable state of the relay. One module per backend; SQLite is embedded.

mod sqlite;

pub use sqlite::SqliteStore;

use thiserror::Error;

/// Why the store could not do what was asked.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The data directory could not be created or opened.
    #[error("The data directory {path} cannot be used: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The database refused an operation.
    #[error("The database failed: {0}")]
    Database(#[from] rusqlite::Error),
    /// The database was written by a newer relay.
    #[error(
        "The database has schema version {found}, newer than the {known} this relay knows; upgrade the relay."
    )]
    TooNew {
        /// Version found in the file.
        found: i64,
        /// Latest version this build knows.
        known: i64,
    },
    /// A blocking task was cancelled (the relay is shutting down).
    #[error("The store task was interrupted.")]
    Interrupted,
}
