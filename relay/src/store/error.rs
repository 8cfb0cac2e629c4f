//! Why the store could not do what was asked.

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
    /// The store's worker stopped (the relay is shutting down).
    #[error("The store is shutting down.")]
    Interrupted,
    /// The transaction holding this operation failed to commit.
    #[error("The database could not commit: {0}")]
    Commit(String),
    /// The operation was refused by a limit and rolled back (internal).
    #[error("The operation exceeds a limit and was rolled back.")]
    Refused,
    /// A value read back from the database is not what was written.
    #[error("The database holds an invalid {0}.")]
    Corrupt(&'static str),
}

/// Result type of the store.
pub type StoreResult<T> = Result<T, StoreError>;
