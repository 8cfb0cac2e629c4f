//! Roaming accounts (PROTOCOL.md sections 9.2 and 9.4): the vault, the mailbox state and
//! history segments, all sealed on the client under keys the relay never sees.

pub(crate) mod history_key;
pub(crate) mod mailbox;
pub(crate) mod restore;
pub(crate) mod sealed_blob;
pub(crate) mod segment;
pub(crate) mod segment_header;
pub(crate) mod vault;
pub(crate) mod vault_contents;
