//! The one writer thread: runs the jobs it finds waiting in one
//! transaction, each in its own savepoint, and commits once.

use rusqlite::Connection;
use tokio::sync::mpsc;

use crate::store::error::StoreResult;
use crate::store::records::StoreLimits;
use crate::store::sqlite::device_sets::{forget_device_sets, forget_if_changed};

/// Most jobs committed in one transaction.
const MAX_BATCH: usize = 512;

/// What a job leaves to do once the commit's outcome is known: answer its caller.
pub type Finish = Box<dyn FnOnce(Result<(), &str>) + Send>;
/// A mutation, run in the writer's transaction.
pub type Job = Box<dyn FnOnce(&Connection, &StoreLimits) -> Finish + Send>;

/// Commits the jobs of `rx` in batches until every sender is gone.
pub fn write_loop(conn: Connection, mut rx: mpsc::Receiver<Job>, limits: StoreLimits) {
    while let Some(first) = rx.blocking_recv() {
        forget_if_changed(&conn);
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(error) = conn.execute_batch("BEGIN IMMEDIATE") {
            // The jobs did not run; dropping them tells each caller `Interrupted`.
            tracing::error!(%error, "cannot begin a transaction");
            drop(batch);
            continue;
        }
        let finishers: Vec<Finish> = batch.into_iter().map(|job| job(&conn, &limits)).collect();
        let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if let Err(error) = &commit {
            tracing::error!(%error, "commit failed");
            forget_device_sets();
            let _ = conn.execute_batch("ROLLBACK");
        }
        for finish in finishers {
            finish(commit.as_ref().map(|_| ()).map_err(String::as_str));
        }
    }
}

/// Runs `f` in a savepoint: rolled back alone if it fails.
pub fn savepoint<R>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> StoreResult<R>,
) -> StoreResult<R> {
    conn.execute_batch("SAVEPOINT job")?;
    match f(conn) {
        Ok(value) => {
            conn.execute_batch("RELEASE job")?;
            Ok(value)
        }
        Err(error) => {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")?;
            Err(error)
        }
    }
}
