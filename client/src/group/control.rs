//! Control messages: a change to a group, made on one state (named by its
//! hash) and signed by its author's account identity key, so any member can
//! check it whoever relayed it.

use estafette_crypto::{Account, AccountPublicKey, group_digest};
use minicbor::{Decode, Encode};

use super::state::{Change, GroupState};
use super::{GroupError, GroupId};

/// A change as its author signed it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Control {
    /// The group.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub group_id: GroupId,
    /// The epoch of the state this change makes.
    #[n(1)]
    pub epoch: u64,
    /// Hash of the state it was made on (zeros for a creation).
    #[cbor(n(2), with = "minicbor::bytes")]
    pub parent: [u8; 32],
    /// Who made it.
    #[n(3)]
    pub author: String,
    /// When (author's clock, ms since the Unix epoch): shown, never trusted for order.
    #[n(4)]
    pub issued_at_ms: u64,
    /// What it changes.
    #[n(5)]
    pub change: Change,
}

/// A control and its author's signature over its exact bytes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SignedControl {
    /// The CBOR of a [`Control`].
    #[cbor(n(0), with = "minicbor::bytes")]
    pub control: Vec<u8>,
    /// `SIG.sign(AIK, "Estafette/v1/group-control" || 0x00 || control)`.
    #[cbor(n(1), with = "minicbor::bytes")]
    pub signature: [u8; 64],
}

impl SignedControl {
    /// Signs `control` with `account`.
    pub fn sign(account: &Account, control: &Control) -> Self {
        let bytes = super::cbor(control);
        Self {
            signature: account.sign_group_control(&bytes),
            control: bytes,
        }
    }

    /// The control's name: SHA-256 of its bytes and signature. Concurrent
    /// changes to one state are ordered by it.
    pub fn id(&self) -> [u8; 32] {
        group_digest(&[&self.control, &self.signature])
    }

    /// The control, decoded (not verified).
    pub fn decode(&self) -> Result<Control, GroupError> {
        minicbor::decode(&self.control)
            .map_err(|_| GroupError::Invalid("the control does not decode"))
    }

    /// Checks the signature against `key`.
    pub fn verify(&self, key: &[u8; 32]) -> Result<(), GroupError> {
        let key = AccountPublicKey::from_bytes(*key).map_err(|_| GroupError::BadSignature)?;
        key.verify_group_control(&self.control, &self.signature)
            .map_err(|_| GroupError::BadSignature)
    }

    /// The state this control makes from `parent` (`None` for a creation),
    /// if its signature, author, epoch and link are right.
    pub fn apply_to(&self, parent: Option<&GroupState>) -> Result<GroupState, GroupError> {
        let control = self.decode()?;
        match (parent, &control.change) {
            (None, Change::Create { name, members }) => {
                if control.epoch != 1 || control.parent != [0; 32] {
                    return Err(GroupError::Stale);
                }
                let state = GroupState::create(control.group_id, &control.author, name, members)?;
                let author = state
                    .member(&control.author)
                    .ok_or_else(|| GroupError::NotMember(control.author.clone()))?;
                self.verify(&author.account_key)?;
                Ok(state)
            }
            (None, _) => Err(GroupError::UnknownGroup),
            (Some(parent), change) => {
                if control.group_id != parent.group_id {
                    return Err(GroupError::Invalid("the control is for another group"));
                }
                if control.epoch != parent.epoch.saturating_add(1)
                    || control.parent != parent.hash()
                {
                    return Err(GroupError::Stale);
                }
                let author = parent
                    .member(&control.author)
                    .ok_or_else(|| GroupError::NotMember(control.author.clone()))?;
                self.verify(&author.account_key)?;
                parent.apply(&control.author, change)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::state::Member;

    fn member_of(account: &Account, handle: &str) -> Member {
        Member {
            handle: handle.into(),
            name: handle.into(),
            account_key: account.public_key().to_bytes(),
        }
    }

    #[test]
    fn a_signed_change_applies_only_to_its_parent_and_with_its_author_key() {
        let alice = Account::generate().unwrap();
        let bob = Account::generate().unwrap();
        let members = [member_of(&alice, "alice@x.fr"), member_of(&bob, "bob@x.fr")];
        let create = Control {
            group_id: [1; 16],
            epoch: 1,
            parent: [0; 32],
            author: "alice@x.fr".into(),
            issued_at_ms: 5,
            change: Change::Create {
                name: "G".into(),
                members: members.to_vec(),
            },
        };
        let state = SignedControl::sign(&alice, &create).apply_to(None).unwrap();
        // Bob signing in Alice's name fails.
        assert_eq!(
            SignedControl::sign(&bob, &create).apply_to(None),
            Err(GroupError::BadSignature)
        );
        let rename = Control {
            epoch: 2,
            parent: state.hash(),
            change: Change::Rename("H".into()),
            ..create.clone()
        };
        let signed = SignedControl::sign(&alice, &rename);
        let renamed = signed.apply_to(Some(&state)).unwrap();
        assert_eq!(renamed.name, "H");
        // Replayed on the new state: stale.
        assert_eq!(signed.apply_to(Some(&renamed)), Err(GroupError::Stale));
        // A flipped byte breaks the signature (or the decoding).
        let mut tampered = signed.clone();
        if let Some(last) = tampered.control.last_mut() {
            *last ^= 1;
        }
        assert!(tampered.apply_to(Some(&state)).is_err());
        // A non-admin's change is refused even when well signed.
        let by_bob = Control {
            author: "bob@x.fr".into(),
            ..rename
        };
        assert_eq!(
            SignedControl::sign(&bob, &by_bob).apply_to(Some(&state)),
            Err(GroupError::NotAdmin("bob@x.fr".into()))
        );
    }
}
