//! The sentence a group change leaves in its conversation, in the interface
//! language, with "you" where it is us.

use estafette_client::group::{GroupEvent, Person};

use crate::i18n::{I18n, Key, fill};

/// `person`'s name, or "you" (in the sentence's case) when it is us.
fn name_of(person: &Person, me: &str, i18n: I18n) -> String {
    if person.handle == me {
        i18n.t(Key::LineYou).to_owned()
    } else if person.name.is_empty() {
        person.handle.clone()
    } else {
        person.name.clone()
    }
}

/// Names joined as "A, B et C".
fn names(people: &[Person], me: &str, i18n: I18n) -> String {
    let all: Vec<String> = people.iter().map(|p| name_of(p, me, i18n)).collect();
    match all.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => fill(
            i18n.t(Key::LineAnd),
            &[("first", &rest.join(", ")), ("last", last)],
        ),
    }
}

/// The line for `event`, seen by `me`.
pub fn line_text(event: &GroupEvent, me: &str, i18n: I18n) -> String {
    let by_me = |by: &Person| by.handle == me;
    match event {
        GroupEvent::Created { by, name } if by_me(by) => {
            fill(i18n.t(Key::LineCreatedByYou), &[("name", name)])
        }
        GroupEvent::Created { by, name } => fill(
            i18n.t(Key::LineCreated),
            &[("by", &name_of(by, me, i18n)), ("name", name)],
        ),
        GroupEvent::Renamed { by, name } if by_me(by) => {
            fill(i18n.t(Key::LineRenamedByYou), &[("name", name)])
        }
        GroupEvent::Renamed { by, name } => fill(
            i18n.t(Key::LineRenamed),
            &[("by", &name_of(by, me, i18n)), ("name", name)],
        ),
        GroupEvent::Added { by, members } if by_me(by) => fill(
            i18n.t(Key::LineAddedByYou),
            &[("names", &names(members, me, i18n))],
        ),
        GroupEvent::Added { by, members } if members.iter().any(|m| m.handle == me) => {
            fill(i18n.t(Key::LineAddedYou), &[("by", &name_of(by, me, i18n))])
        }
        GroupEvent::Added { by, members } => fill(
            i18n.t(Key::LineAdded),
            &[
                ("by", &name_of(by, me, i18n)),
                ("names", &names(members, me, i18n)),
            ],
        ),
        GroupEvent::Removed { by, members } if by_me(by) => fill(
            i18n.t(Key::LineRemovedByYou),
            &[("names", &names(members, me, i18n))],
        ),
        GroupEvent::Removed { by, members } if members.iter().any(|m| m.handle == me) => fill(
            i18n.t(Key::LineRemovedYou),
            &[("by", &name_of(by, me, i18n))],
        ),
        GroupEvent::Removed { by, members } => fill(
            i18n.t(Key::LineRemoved),
            &[
                ("by", &name_of(by, me, i18n)),
                ("names", &names(members, me, i18n)),
            ],
        ),
        GroupEvent::Left { member } if by_me(member) => i18n.t(Key::LineLeftYou).to_owned(),
        GroupEvent::Left { member } => fill(
            i18n.t(Key::LineLeft),
            &[("name", &name_of(member, me, i18n))],
        ),
        GroupEvent::MadeAdmin { by, member } if by_me(by) => fill(
            i18n.t(Key::LineMadeAdminByYou),
            &[("name", &name_of(member, me, i18n))],
        ),
        GroupEvent::MadeAdmin { by, member } if member.handle == me => fill(
            i18n.t(Key::LineMadeAdminYou),
            &[("by", &name_of(by, me, i18n))],
        ),
        GroupEvent::MadeAdmin { by, member } => fill(
            i18n.t(Key::LineMadeAdmin),
            &[
                ("by", &name_of(by, me, i18n)),
                ("name", &name_of(member, me, i18n)),
            ],
        ),
        GroupEvent::Undone { by } => {
            fill(i18n.t(Key::LineUndone), &[("by", &name_of(by, me, i18n))])
        }
    }
}
