//! Invitations written straight into a relay's store, as the `invite`
//! command does, with a token the caller chooses.

use std::path::Path;
use std::time::Duration;

use estafette_relay::store::Store;
use estafette_relay::{SqliteStore, StoreLimits};
use sha2::{Digest, Sha256};

use crate::error::KitError;

/// How long a test invitation stays valid.
pub const INVITE_VALIDITY: Duration = Duration::from_secs(24 * 3600);

/// Invites `handle` (display name `name`) with `token` into `store`.
pub async fn invite(
    store: &dyn Store,
    handle: &str,
    name: &str,
    token: &str,
) -> Result<(), KitError> {
    let now = now_ms();
    let expires = now + INVITE_VALIDITY.as_millis() as u64;
    store
        .create_invite(
            handle.into(),
            name.into(),
            Sha256::digest(token.as_bytes()).into(),
            now,
            expires,
        )
        .await?
        .map_err(|refusal| KitError::InviteRefused {
            handle: handle.into(),
            why: format!("{refusal:?}"),
        })
}

/// Invites `handle` with `token` into the store in `data_dir` (which a relay
/// may be serving: SQLite takes writers from several processes).
pub async fn invite_in(
    data_dir: &Path,
    handle: &str,
    name: &str,
    token: &str,
) -> Result<(), KitError> {
    let store = SqliteStore::open(data_dir, StoreLimits::default())?;
    invite(&store, handle, name, token).await
}

/// Milliseconds since the Unix epoch, as the store counts time.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}
