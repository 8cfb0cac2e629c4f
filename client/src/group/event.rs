//! The lines a group change leaves in its conversation ("Alice a ajouté
//! Bob"): stored with the messages, rendered by the UI in its language.

use minicbor::{Decode, Encode};

use super::control::Control;
use super::state::{Change, GroupState};

/// Someone named in a line: handle and display name at the time.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Person {
    /// Handle.
    #[n(0)]
    pub handle: String,
    /// Display name.
    #[n(1)]
    pub name: String,
}

/// What happened to the group.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum GroupEvent {
    /// `by` created the group `name`.
    #[n(0)]
    Created {
        /// Author.
        #[n(0)]
        by: Person,
        /// Name.
        #[n(1)]
        name: String,
    },
    /// `by` renamed the group to `name`.
    #[n(1)]
    Renamed {
        /// Author.
        #[n(0)]
        by: Person,
        /// New name.
        #[n(1)]
        name: String,
    },
    /// `by` added `members`.
    #[n(2)]
    Added {
        /// Author.
        #[n(0)]
        by: Person,
        /// New members.
        #[n(1)]
        members: Vec<Person>,
    },
    /// `by` removed `members`.
    #[n(3)]
    Removed {
        /// Author.
        #[n(0)]
        by: Person,
        /// Members removed.
        #[n(1)]
        members: Vec<Person>,
    },
    /// `member` left.
    #[n(4)]
    Left {
        /// Who left.
        #[n(0)]
        member: Person,
    },
    /// `by` made `member` an admin.
    #[n(5)]
    MadeAdmin {
        /// Author.
        #[n(0)]
        by: Person,
        /// New admin.
        #[n(1)]
        member: Person,
    },
    /// A change by `by` was undone: another admin changed the group at the
    /// same moment and that change won (`docs/client.md`, groups).
    #[n(6)]
    Undone {
        /// Author of the change undone.
        #[n(0)]
        by: Person,
    },
}

/// `handle` as named in `state` (its handle when not a member).
fn person(state: &GroupState, handle: &str) -> Person {
    Person {
        handle: handle.to_owned(),
        name: state
            .member(handle)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| handle.to_owned()),
    }
}

impl GroupEvent {
    /// The line for `control`, which turned `before` into `after` (`before`
    /// is `after` itself for a creation).
    pub fn of(control: &Control, before: &GroupState, after: &GroupState) -> Self {
        let by = person(before, &control.author);
        match &control.change {
            Change::Create { name, .. } => Self::Created {
                by: person(after, &control.author),
                name: name.clone(),
            },
            Change::Rename(name) => Self::Renamed {
                by,
                name: name.clone(),
            },
            Change::Add(members) => Self::Added {
                by,
                members: members
                    .iter()
                    .map(|m| Person {
                        handle: m.handle.clone(),
                        name: m.name.clone(),
                    })
                    .collect(),
            },
            Change::Remove(handles) => Self::Removed {
                by,
                members: handles.iter().map(|h| person(before, h)).collect(),
            },
            Change::Leave => Self::Left { member: by },
            Change::MakeAdmin(handle) => Self::MadeAdmin {
                by,
                member: person(before, handle),
            },
        }
    }
}
