//! What a new member receives: the group's state and the signed change that
//! made them a member (a creation or an addition), cut into parts because a
//! group of 1,000 (~85 KB) does not fit one message.

use minicbor::{Decode, Encode};

use super::GroupError;
use super::control::SignedControl;
use super::state::{Change, GroupState};

/// Bytes of welcome per part: a part, padded and signed, stays well under
/// the relay's 64 KiB payload limit.
pub const WELCOME_PART_BYTES: usize = 48 * 1024;

/// Parts a welcome has at most.
pub const MAX_WELCOME_PARTS: u16 = 8;

/// The state and the change that made it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Welcome {
    /// The canonical encoding of the group's state.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub state: Vec<u8>,
    /// The creation, or the addition of the recipient.
    #[n(1)]
    pub control: SignedControl,
}

impl Welcome {
    /// The welcome's bytes, cut into parts of at most [`WELCOME_PART_BYTES`].
    pub fn parts(&self) -> Vec<Vec<u8>> {
        super::cbor(self)
            .chunks(WELCOME_PART_BYTES)
            .map(<[u8]>::to_vec)
            .collect()
    }

    /// Reassembles parts given in order.
    pub fn from_parts(parts: &[Vec<u8>]) -> Result<Self, GroupError> {
        let bytes = parts.concat();
        minicbor::decode(&bytes).map_err(|_| GroupError::Invalid("the welcome does not decode"))
    }

    /// The state, if this welcome, sent by `sender`, makes `me` a member:
    /// the state is canonical and holds `me`; the change is signed by its
    /// author (the sender, an admin of the state, with the key the state
    /// gives); a creation must make exactly this state, an addition must
    /// have made this epoch and added `me`.
    pub fn accept(&self, sender: &str, me: &str) -> Result<GroupState, GroupError> {
        let state = GroupState::decode(&self.state)?;
        let control = self.control.decode()?;
        if control.author != sender || control.group_id != state.group_id {
            return Err(GroupError::Invalid(
                "the welcome's change is not its sender's",
            ));
        }
        if !state.is_member(me) {
            return Err(GroupError::NotMember(me.to_owned()));
        }
        match &control.change {
            Change::Create { .. } => {
                if self.control.apply_to(None)? != state {
                    return Err(GroupError::Invalid("the creation does not make this state"));
                }
            }
            Change::Add(members) => {
                if control.epoch != state.epoch
                    || !state.is_admin(sender)
                    || !members.iter().any(|m| m.handle == me)
                {
                    return Err(GroupError::Invalid("the addition does not make this state"));
                }
                let author = state
                    .member(sender)
                    .ok_or_else(|| GroupError::NotMember(sender.to_owned()))?;
                self.control.verify(&author.account_key)?;
            }
            _ => {
                return Err(GroupError::Invalid(
                    "a welcome follows a creation or an addition",
                ));
            }
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use estafette_crypto::Account;

    use super::*;
    use crate::group::{Control, Member};

    fn member(account: &Account, handle: &str) -> Member {
        Member {
            handle: handle.into(),
            name: "N".repeat(100),
            account_key: account.public_key().to_bytes(),
        }
    }

    #[test]
    fn a_welcome_of_1000_members_parts_and_reassembles() {
        let alice = Account::generate().unwrap();
        let mut members: Vec<Member> = (0..999)
            .map(|i| Member {
                handle: format!("agent.{i:04}@ministere.gouv.fr"),
                ..member(&alice, "x")
            })
            .collect();
        members.push(member(&alice, "alice@x.fr"));
        let create = Control {
            group_id: [2; 16],
            epoch: 1,
            parent: [0; 32],
            author: "alice@x.fr".into(),
            issued_at_ms: 1,
            change: Change::Create {
                name: "Tous".into(),
                members,
            },
        };
        let signed = SignedControl::sign(&alice, &create);
        let state = signed.apply_to(None).unwrap();
        let welcome = Welcome {
            state: state.encode(),
            control: signed,
        };
        let parts = welcome.parts();
        assert!(parts.len() > 1 && parts.len() <= usize::from(MAX_WELCOME_PARTS));
        let back = Welcome::from_parts(&parts).unwrap();
        assert_eq!(
            back.accept("alice@x.fr", "agent.0007@ministere.gouv.fr")
                .unwrap(),
            state
        );
        // Not from its author, or not for a member: refused.
        assert!(
            back.accept(
                "agent.0001@ministere.gouv.fr",
                "agent.0007@ministere.gouv.fr"
            )
            .is_err()
        );
        assert!(back.accept("alice@x.fr", "mallory@x.fr").is_err());
        // A state other than the one the creation makes: refused.
        let mut other = state.clone();
        other.name = "Autre".into();
        let forged = Welcome {
            state: other.encode(),
            ..back
        };
        assert!(
            forged
                .accept("alice@x.fr", "agent.0007@ministere.gouv.fr")
                .is_err()
        );
    }
}
