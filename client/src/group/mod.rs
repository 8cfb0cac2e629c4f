//! Groups: their state, the signed changes admins make, and how every member
//! agrees on the result (PROTOCOL.md section 6 for the cryptography,
//! `docs/client.md` for the rules). Pure: the messenger stores and sends.

pub mod control;
pub mod event;
pub mod history;
pub mod state;
pub mod welcome;

use minicbor::Encode;
use thiserror::Error;

pub use control::{Control, SignedControl};
pub use event::{GroupEvent, Person};
pub use history::{History, Outcome};
pub use state::{Change, GroupState, Member};
pub use welcome::Welcome;

/// A group id: 16 random bytes chosen by its creator.
pub type GroupId = [u8; 16];

/// Members a group holds at most.
pub const MAX_GROUP_MEMBERS: usize = 1000;

/// Longest group name, in UTF-8 bytes.
pub const MAX_GROUP_NAME_BYTES: usize = 128;

/// The conversation id of a group: `g:` and the group id in hex. A handle
/// always holds an `@`, so the two never meet.
pub fn conversation_id(group_id: &GroupId) -> String {
    format!("g:{}", crate::store::hex(group_id))
}

/// The group id a conversation id names, if it names one.
pub fn group_of(conversation: &str) -> Option<GroupId> {
    let hex = conversation.strip_prefix("g:")?;
    if hex.len() != 32 {
        return None;
    }
    let mut id = [0u8; 16];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(id)
}

/// Why a group operation or a change was refused.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum GroupError {
    /// Malformed, or against a rule of the state.
    #[error("The group change is invalid: {0}.")]
    Invalid(&'static str),
    /// The author is not a member.
    #[error("{0} is not a member of the group.")]
    NotMember(String),
    /// The author is not an admin.
    #[error("{0} is not an admin of the group.")]
    NotAdmin(String),
    /// Adding someone already there.
    #[error("{0} is already a member of the group.")]
    AlreadyMember(String),
    /// The change would change nothing.
    #[error("The change changes nothing.")]
    NoChange,
    /// Made on a state that is not the one before (or too old).
    #[error("The change was made on an old state of the group.")]
    Stale,
    /// The signature does not hold.
    #[error("The change is not signed by its author.")]
    BadSignature,
    /// Over [`MAX_GROUP_MEMBERS`].
    #[error("A group holds at most 1000 members.")]
    TooManyMembers,
    /// An empty or too long name.
    #[error("A group name has 1 to 128 bytes and no control character.")]
    BadName,
    /// More unsettled changes than [`history::MAX_UNSETTLED`].
    #[error("Too many changes to the group are unsettled.")]
    TooManyChanges,
    /// A change to a group we do not know.
    #[error("The group is not known here.")]
    UnknownGroup,
}

pub(crate) fn cbor<T: Encode<()>>(value: &T) -> Vec<u8> {
    let mut out = Vec::new();
    match minicbor::encode(value, &mut out) {
        Ok(()) | Err(_) => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_ids_round_trip_and_never_parse_a_handle() {
        let id = [0xab; 16];
        assert_eq!(group_of(&conversation_id(&id)), Some(id));
        assert_eq!(group_of("alice@x.fr"), None);
        assert_eq!(group_of("g:zz"), None);
        assert_eq!(group_of(&format!("g:{}", "é".repeat(16))), None);
    }
}
