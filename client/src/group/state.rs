//! A group's state (id, name, members with their identity keys, admins,
//! epoch) and the changes an admin can make to it. Pure: no I/O, no clock.
//!
//! The state has one canonical encoding (members and admins sorted, no
//! duplicates), so every member computes the same hash for the same state;
//! the hash links each change to the state it was made on.

use std::collections::BTreeSet;

use estafette_crypto::group_digest;
use minicbor::{Decode, Encode};

use super::{GroupError, GroupId, MAX_GROUP_MEMBERS, MAX_GROUP_NAME_BYTES};

/// Domain separation of state hashes.
const STATE_HASH_CONTEXT: &[u8] = b"Estafette/v1/group-state\0";

/// Longest handle or display name a member entry carries, in bytes (the
/// directory's own limits).
const MAX_MEMBER_TEXT_BYTES: usize = 128;

/// One member account.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Member {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Display name, as the admin who added them saw it in the directory.
    #[n(1)]
    pub name: String,
    /// The account identity key the admin vouches for.
    #[cbor(n(2), with = "minicbor::bytes")]
    pub account_key: [u8; 32],
}

/// The state of a group at one epoch.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct GroupState {
    /// The group.
    #[cbor(n(0), with = "minicbor::bytes")]
    pub group_id: GroupId,
    /// Number of changes since creation (creation makes epoch 1).
    #[n(1)]
    pub epoch: u64,
    /// Name.
    #[n(2)]
    pub name: String,
    /// Members, sorted by handle, without duplicates.
    #[n(3)]
    pub members: Vec<Member>,
    /// Handles of the admins, sorted, each a member.
    #[n(4)]
    pub admins: Vec<String>,
}

/// What a control message changes.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Change {
    /// A new group: its name and members (the author among them, sole admin).
    #[n(0)]
    Create {
        /// Name.
        #[n(0)]
        name: String,
        /// Every member, the author included.
        #[n(1)]
        members: Vec<Member>,
    },
    /// A new name.
    #[n(1)]
    Rename(#[n(0)] String),
    /// New members.
    #[n(2)]
    Add(#[n(0)] Vec<Member>),
    /// Members removed (by handle; not the author).
    #[n(3)]
    Remove(#[n(0)] Vec<String>),
    /// The author leaves.
    #[n(4)]
    Leave,
    /// A member becomes admin.
    #[n(5)]
    MakeAdmin(#[n(0)] String),
}

impl Member {
    fn check(&self) -> Result<(), GroupError> {
        if self.handle.is_empty()
            || self.handle.len() > MAX_MEMBER_TEXT_BYTES
            || self.name.len() > MAX_MEMBER_TEXT_BYTES
        {
            return Err(GroupError::Invalid("a member's handle or name is too long"));
        }
        Ok(())
    }
}

impl GroupState {
    /// The canonical CBOR encoding.
    pub fn encode(&self) -> Vec<u8> {
        super::cbor(self)
    }

    /// Decodes a state and checks it is canonical and within limits.
    pub fn decode(bytes: &[u8]) -> Result<Self, GroupError> {
        let state: Self = minicbor::decode(bytes)
            .map_err(|_| GroupError::Invalid("the state does not decode"))?;
        state.check()?;
        if state.encode() != bytes {
            return Err(GroupError::Invalid("the state is not in canonical form"));
        }
        Ok(state)
    }

    /// The state's name: SHA-256 over its canonical encoding.
    pub fn hash(&self) -> [u8; 32] {
        group_digest(&[STATE_HASH_CONTEXT, &self.encode()])
    }

    /// The member with `handle`.
    pub fn member(&self, handle: &str) -> Option<&Member> {
        self.members
            .binary_search_by(|m| m.handle.as_str().cmp(handle))
            .ok()
            .and_then(|i| self.members.get(i))
    }

    /// Whether `handle` is a member.
    pub fn is_member(&self, handle: &str) -> bool {
        self.member(handle).is_some()
    }

    /// Whether `handle` is an admin.
    pub fn is_admin(&self, handle: &str) -> bool {
        self.admins
            .binary_search_by(|a| a.as_str().cmp(handle))
            .is_ok()
    }

    /// Members sorted and unique, admins sorted, unique and members, limits.
    fn check(&self) -> Result<(), GroupError> {
        check_name(&self.name)?;
        if self.members.len() > MAX_GROUP_MEMBERS {
            return Err(GroupError::TooManyMembers);
        }
        for member in &self.members {
            member.check()?;
        }
        if self
            .members
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.handle >= b.handle))
        {
            return Err(GroupError::Invalid("the members are not sorted and unique"));
        }
        if self
            .admins
            .windows(2)
            .any(|w| matches!(w, [a, b] if a >= b))
        {
            return Err(GroupError::Invalid("the admins are not sorted and unique"));
        }
        if self.admins.iter().any(|a| !self.is_member(a)) {
            return Err(GroupError::Invalid("an admin is not a member"));
        }
        Ok(())
    }

    /// The state `change` by `author` makes from this one (at the next epoch).
    /// Refuses what the author may not do and changes that change nothing.
    pub fn apply(&self, author: &str, change: &Change) -> Result<GroupState, GroupError> {
        if !self.is_member(author) {
            return Err(GroupError::NotMember(author.to_owned()));
        }
        let admin_only = !matches!(change, Change::Leave);
        if admin_only && !self.is_admin(author) {
            return Err(GroupError::NotAdmin(author.to_owned()));
        }
        let mut next = self.clone();
        next.epoch = self
            .epoch
            .checked_add(1)
            .ok_or(GroupError::Invalid("the epoch overflows"))?;
        match change {
            Change::Create { .. } => {
                return Err(GroupError::Invalid("the group exists already"));
            }
            Change::Rename(name) => {
                check_name(name)?;
                if *name == self.name {
                    return Err(GroupError::NoChange);
                }
                next.name = name.clone();
            }
            Change::Add(members) => {
                if members.is_empty() {
                    return Err(GroupError::NoChange);
                }
                let mut seen = BTreeSet::new();
                for member in members {
                    member.check()?;
                    if self.is_member(&member.handle) || !seen.insert(member.handle.as_str()) {
                        return Err(GroupError::AlreadyMember(member.handle.clone()));
                    }
                }
                next.members.extend(members.iter().cloned());
                if next.members.len() > MAX_GROUP_MEMBERS {
                    return Err(GroupError::TooManyMembers);
                }
                next.members.sort_by(|a, b| a.handle.cmp(&b.handle));
            }
            Change::Remove(handles) => {
                if handles.is_empty() {
                    return Err(GroupError::NoChange);
                }
                let mut seen = BTreeSet::new();
                for handle in handles {
                    if handle == author {
                        return Err(GroupError::Invalid(
                            "an admin leaves, not removes, themself",
                        ));
                    }
                    if !self.is_member(handle) || !seen.insert(handle.as_str()) {
                        return Err(GroupError::NotMember(handle.clone()));
                    }
                }
                next.members.retain(|m| !seen.contains(m.handle.as_str()));
                next.admins.retain(|a| !seen.contains(a.as_str()));
            }
            Change::Leave => {
                next.members.retain(|m| m.handle != author);
                next.admins.retain(|a| a != author);
                // The last admin leaving hands the group to the first member
                // by handle, so a group never ends up without an admin.
                if next.admins.is_empty()
                    && let Some(first) = next.members.first()
                {
                    next.admins.push(first.handle.clone());
                }
            }
            Change::MakeAdmin(handle) => {
                if !self.is_member(handle) {
                    return Err(GroupError::NotMember(handle.clone()));
                }
                if self.is_admin(handle) {
                    return Err(GroupError::NoChange);
                }
                next.admins.push(handle.clone());
                next.admins.sort();
            }
        }
        Ok(next)
    }

    /// The state a `Create` by `author` makes.
    pub fn create(
        group_id: GroupId,
        author: &str,
        name: &str,
        members: &[Member],
    ) -> Result<GroupState, GroupError> {
        check_name(name)?;
        let mut sorted = members.to_vec();
        for member in &sorted {
            member.check()?;
        }
        sorted.sort_by(|a, b| a.handle.cmp(&b.handle));
        if sorted
            .windows(2)
            .any(|w| matches!(w, [a, b] if a.handle == b.handle))
        {
            return Err(GroupError::Invalid("a member is listed twice"));
        }
        if sorted.len() > MAX_GROUP_MEMBERS {
            return Err(GroupError::TooManyMembers);
        }
        let state = GroupState {
            group_id,
            epoch: 1,
            name: name.to_owned(),
            members: sorted,
            admins: vec![author.to_owned()],
        };
        if !state.is_member(author) {
            return Err(GroupError::NotMember(author.to_owned()));
        }
        Ok(state)
    }
}

/// A group name: not blank, at most [`MAX_GROUP_NAME_BYTES`], no control characters.
pub fn check_name(name: &str) -> Result<(), GroupError> {
    if name.trim().is_empty()
        || name.len() > MAX_GROUP_NAME_BYTES
        || name.chars().any(char::is_control)
    {
        return Err(GroupError::BadName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn member(handle: &str) -> Member {
        Member {
            handle: handle.into(),
            name: handle.to_uppercase(),
            account_key: [handle.len() as u8; 32],
        }
    }

    fn group() -> GroupState {
        GroupState::create(
            [7; 16],
            "alice@x.fr",
            "Équipe",
            &[
                member("carol@x.fr"),
                member("alice@x.fr"),
                member("bob@x.fr"),
            ],
        )
        .unwrap()
    }

    #[test]
    fn creation_sorts_members_and_makes_the_author_sole_admin() {
        let g = group();
        let handles: Vec<_> = g.members.iter().map(|m| m.handle.as_str()).collect();
        assert_eq!(handles, ["alice@x.fr", "bob@x.fr", "carol@x.fr"]);
        assert_eq!(g.admins, ["alice@x.fr"]);
        assert_eq!(g.epoch, 1);
        assert_eq!(GroupState::decode(&g.encode()).unwrap(), g);
        let dup = [member("a@x.fr"), member("a@x.fr")];
        assert!(GroupState::create([1; 16], "a@x.fr", "n", &dup).is_err());
        assert!(GroupState::create([1; 16], "z@x.fr", "n", &[member("a@x.fr")]).is_err());
        assert!(GroupState::create([1; 16], "a@x.fr", " ", &[member("a@x.fr")]).is_err());
    }

    #[test]
    fn only_admins_change_membership_and_name() {
        let g = group();
        assert_eq!(
            g.apply("bob@x.fr", &Change::Rename("Autre".into())),
            Err(GroupError::NotAdmin("bob@x.fr".into()))
        );
        assert!(matches!(
            g.apply("bob@x.fr", &Change::Remove(vec!["carol@x.fr".into()])),
            Err(GroupError::NotAdmin(_))
        ));
        assert!(matches!(
            g.apply("mallory@x.fr", &Change::Leave),
            Err(GroupError::NotMember(_))
        ));
        let renamed = g
            .apply("alice@x.fr", &Change::Rename("Autre".into()))
            .unwrap();
        assert_eq!((renamed.name.as_str(), renamed.epoch), ("Autre", 2));
        assert_eq!(
            g.apply("alice@x.fr", &Change::Rename("Équipe".into())),
            Err(GroupError::NoChange)
        );
    }

    #[test]
    fn add_remove_leave_and_admin_rules() {
        let g = group();
        let added = g
            .apply("alice@x.fr", &Change::Add(vec![member("dan@x.fr")]))
            .unwrap();
        assert!(added.is_member("dan@x.fr"));
        assert!(matches!(
            added.apply("alice@x.fr", &Change::Add(vec![member("dan@x.fr")])),
            Err(GroupError::AlreadyMember(_))
        ));
        let removed = added
            .apply("alice@x.fr", &Change::Remove(vec!["bob@x.fr".into()]))
            .unwrap();
        assert!(!removed.is_member("bob@x.fr"));
        assert!(
            removed
                .apply("alice@x.fr", &Change::Remove(vec!["alice@x.fr".into()]))
                .is_err()
        );
        let promoted = removed
            .apply("alice@x.fr", &Change::MakeAdmin("dan@x.fr".into()))
            .unwrap();
        assert_eq!(promoted.admins, ["alice@x.fr", "dan@x.fr"]);
        // The last admin leaving: the first member by handle takes over.
        let left = g.apply("alice@x.fr", &Change::Leave).unwrap();
        assert_eq!(left.admins, ["bob@x.fr"]);
        assert!(!left.is_member("alice@x.fr"));
        // A member leaves without being admin.
        assert!(g.apply("carol@x.fr", &Change::Leave).is_ok());
    }

    #[test]
    fn a_state_not_in_canonical_form_is_refused() {
        let mut g = group();
        g.members.swap(0, 1);
        assert!(GroupState::decode(&g.encode()).is_err());
        let mut g = group();
        g.admins.push("zed@x.fr".into());
        assert!(GroupState::decode(&g.encode()).is_err());
        assert!(GroupState::decode(b"\x00garbage").is_err());
    }

    #[test]
    fn the_hash_changes_with_any_field() {
        let g = group();
        let mut other = g.clone();
        other.members[1].account_key[0] ^= 1;
        assert_ne!(g.hash(), other.hash());
        assert_eq!(g.hash(), group().hash());
    }
}
