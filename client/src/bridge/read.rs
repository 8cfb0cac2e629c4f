//! The page's reader of [`Post`]s.
//!
//! The worker writes posts with the derived `minicbor` encoders; the page
//! reads them here, by hand, through one generic CBOR item tree. The derived
//! decoders of every type a post can carry came to about 60 KB of the
//! page's wasm (a tenth of its code); this reader is a fraction of that, and
//! the page's download is what the first screen waits for (docs/app.md,
//! "Two parts"). The tests below write every variant with the derived
//! encoder and read it back here.
//!
//! The layout is minicbor-derive's: a struct is an array of its fields by
//! index (`null` for `None`, trailing `None`s may be left out), an enum is
//! `[variant, [fields…]]`, an `index_only` enum is its index.

use super::{Joined, Post, Reply, Unlocked};
use crate::conversation::{Conversation, GroupFacts};
use crate::engine::Event;
use crate::group::{GroupEvent, Person};
use crate::messenger::{
    DeliveryState, DeviceSummary, DirectoryEntry, GroupView, MemberTrust, MemberView, StoredMessage,
};
use crate::{ConnectionState, Profile, UserMessage};

/// A post that does not read: cut short, nested too deep, or not one of
/// the shapes the worker writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("The worker's message could not be read.")]
pub struct Malformed;

type Read<T> = Result<T, Malformed>;

/// Nesting a post never exceeds (an event in a reply in a post is 6).
const MAX_DEPTH: u32 = 16;

/// Reads a post written by the worker.
pub fn read_post(bytes: &[u8]) -> Result<Post, Malformed> {
    let mut reader = Reader { bytes, at: 0 };
    let item = reader.item(MAX_DEPTH)?;
    if reader.at != bytes.len() {
        return Err(Malformed);
    }
    post(&item)
}

/// One CBOR data item, of the kinds the worker writes.
enum Item<'b> {
    Int(u64),
    Bytes(&'b [u8]),
    Text(&'b str),
    Array(Vec<Item<'b>>),
    Bool(bool),
    Null,
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: u64) -> Read<&'b [u8]> {
        let n = usize::try_from(n).map_err(|_| Malformed)?;
        let end = self.at.checked_add(n).ok_or(Malformed)?;
        let taken = self.bytes.get(self.at..end).ok_or(Malformed)?;
        self.at = end;
        Ok(taken)
    }

    fn argument(&mut self, info: u8) -> Read<u64> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            _ => return Err(Malformed),
        };
        Ok(self
            .take(width)?
            .iter()
            .fold(0, |value, byte| value << 8 | u64::from(*byte)))
    }

    fn item(&mut self, depth: u32) -> Read<Item<'b>> {
        let initial = *self.take(1)?.first().ok_or(Malformed)?;
        let info = initial & 0x1f;
        Ok(match initial >> 5 {
            0 => Item::Int(self.argument(info)?),
            2 => {
                let length = self.argument(info)?;
                Item::Bytes(self.take(length)?)
            }
            3 => {
                let length = self.argument(info)?;
                Item::Text(std::str::from_utf8(self.take(length)?).map_err(|_| Malformed)?)
            }
            4 => {
                let length = self.argument(info)?;
                let depth = depth.checked_sub(1).ok_or(Malformed)?;
                // Every item is at least a byte: a length beyond what is
                // left is a lie, and must not size an allocation.
                if length > (self.bytes.len() - self.at) as u64 {
                    return Err(Malformed);
                }
                let mut items = Vec::with_capacity(length as usize);
                for _ in 0..length {
                    items.push(self.item(depth)?);
                }
                Item::Array(items)
            }
            7 => match info {
                20 => Item::Bool(false),
                21 => Item::Bool(true),
                22 => Item::Null,
                _ => return Err(Malformed),
            },
            _ => return Err(Malformed),
        })
    }
}

impl<'b> Item<'b> {
    fn fields(&self) -> Read<&[Item<'b>]> {
        match self {
            Item::Array(items) => Ok(items),
            _ => Err(Malformed),
        }
    }

    fn int(&self) -> Read<u64> {
        match self {
            Item::Int(value) => Ok(*value),
            _ => Err(Malformed),
        }
    }

    fn small(&self) -> Read<u32> {
        u32::try_from(self.int()?).map_err(|_| Malformed)
    }

    fn text(&self) -> Read<String> {
        match self {
            Item::Text(text) => Ok((*text).to_owned()),
            _ => Err(Malformed),
        }
    }

    fn flag(&self) -> Read<bool> {
        match self {
            Item::Bool(flag) => Ok(*flag),
            _ => Err(Malformed),
        }
    }

    fn bytes(&self) -> Read<&'b [u8]> {
        match self {
            Item::Bytes(bytes) => Ok(bytes),
            _ => Err(Malformed),
        }
    }

    /// `[variant, [fields…]]`.
    fn variant(&self) -> Read<(u64, &[Item<'b>])> {
        let pair = self.fields()?;
        Ok((at(pair, 0)?.int()?, at(pair, 1)?.fields()?))
    }

    fn list<T>(&self, read: impl Fn(&Item<'b>) -> Read<T>) -> Read<Vec<T>> {
        self.fields()?.iter().map(read).collect()
    }
}

/// Field `i`, which must be there.
fn at<'a, 'b>(fields: &'a [Item<'b>], i: usize) -> Read<&'a Item<'b>> {
    fields.get(i).ok_or(Malformed)
}

/// Field `i` of an `Option`: `None` when left out or `null`.
fn optional<'a, 'b>(fields: &'a [Item<'b>], i: usize) -> Option<&'a Item<'b>> {
    fields.get(i).filter(|item| !matches!(item, Item::Null))
}

fn post(item: &Item) -> Read<Post> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => Post::Ready,
        1 => Post::Reply {
            id: at(f, 0)?.small()?,
            reply: reply(at(f, 1)?)?,
        },
        2 => Post::Event {
            session: at(f, 0)?.small()?,
            event: event(at(f, 1)?)?,
        },
        3 => Post::Link(connection(at(f, 0)?)?),
        _ => return Err(Malformed),
    })
}

fn reply(item: &Item) -> Read<Reply> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => Reply::Found(at(f, 0)?.flag()?),
        1 => Reply::Joined(joined(at(f, 0)?)?),
        2 => Reply::Unlocked(unlocked(at(f, 0)?)?),
        3 => Reply::Done,
        4 => Reply::Saved(at(f, 0)?.flag()?),
        5 => Reply::Conversations(at(f, 0)?.list(conversation)?),
        6 => Reply::Messages {
            messages: at(f, 0)?.list(stored_message)?,
            unreadable: at(f, 1)?.small()?,
        },
        7 => Reply::Unavailable,
        _ => return Err(Malformed),
    })
}

fn joined(item: &Item) -> Read<Joined> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => Joined::Joined {
            profile: profile(at(f, 0)?)?,
            session: at(f, 1)?.small()?,
        },
        1 => Joined::AlreadyJoined(user_message(at(f, 0)?)?),
        2 => Joined::Failed(user_message(at(f, 0)?)?),
        _ => return Err(Malformed),
    })
}

fn unlocked(item: &Item) -> Read<Unlocked> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => Unlocked::Unlocked {
            profile: profile(at(f, 0)?)?,
            preferences: match optional(f, 1) {
                Some(bytes) => Some(bytes.bytes()?.to_vec().into()),
                None => None,
            },
            session: at(f, 2)?.small()?,
        },
        1 => Unlocked::WrongPassphrase,
        2 => Unlocked::Broken,
        _ => return Err(Malformed),
    })
}

fn profile(item: &Item) -> Read<Profile> {
    let f = item.fields()?;
    Ok(Profile {
        handle: at(f, 0)?.text()?,
        name: at(f, 1)?.text()?,
        relay_url: at(f, 2)?.text()?,
    })
}

fn user_message(item: &Item) -> Read<UserMessage> {
    let f = item.fields()?;
    match (at(f, 0)?, at(f, 1)?) {
        (Item::Text(fr), Item::Text(en)) => Ok(UserMessage::interned(fr, en)),
        _ => Err(Malformed),
    }
}

fn connection(item: &Item) -> Read<ConnectionState> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => ConnectionState::Connecting,
        1 => ConnectionState::Connected,
        2 => ConnectionState::Reconnecting {
            attempt: at(f, 0)?.small()?,
            retry_in_ms: at(f, 1)?.small()?,
        },
        3 => ConnectionState::Offline,
        _ => return Err(Malformed),
    })
}

fn event(item: &Item) -> Read<Event> {
    let (variant, f) = item.variant()?;
    Ok(match variant {
        0 => Event::Connection(connection(at(f, 0)?)?),
        1 => Event::SearchResults {
            query: at(f, 0)?.text()?,
            accounts: at(f, 1)?.list(|entry| {
                let f = entry.fields()?;
                Ok(DirectoryEntry {
                    handle: at(f, 0)?.text()?,
                    name: at(f, 1)?.text()?,
                })
            })?,
        },
        2 => Event::OwnDevices(at(f, 0)?.list(|device| {
            let f = device.fields()?;
            Ok(DeviceSummary {
                id_hex: at(f, 0)?.text()?,
                this_device: at(f, 1)?.flag()?,
            })
        })?),
        3 => Event::Failed(user_message(at(f, 0)?)?),
        4 => Event::Stopped(user_message(at(f, 0)?)?),
        5 => Event::MessageAdded(stored_message(at(f, 0)?)?),
        6 => Event::MessageUpdated(stored_message(at(f, 0)?)?),
        7 => Event::ConversationUpdated(conversation(at(f, 0)?)?),
        8 => Event::Typing {
            conversation: at(f, 0)?.text()?,
            typing: at(f, 1)?.flag()?,
        },
        9 => Event::IdentityChanged(at(f, 0)?.text()?),
        10 => Event::Rejected {
            sender: at(f, 0)?.text()?,
            reason: at(f, 1)?.text()?,
        },
        11 => Event::GroupUpdated(group_view(at(f, 0)?)?),
        12 => Event::PreKeysRefilled {
            one_time: at(f, 0)?.small()?,
            kem_one_time: at(f, 1)?.small()?,
        },
        _ => return Err(Malformed),
    })
}

fn stored_message(item: &Item) -> Read<StoredMessage> {
    let f = item.fields()?;
    Ok(StoredMessage {
        id: at(f, 0)?.bytes()?.try_into().map_err(|_| Malformed)?,
        conversation: at(f, 1)?.text()?,
        sender: at(f, 2)?.text()?,
        sent_at_ms: at(f, 3)?.int()?,
        text: at(f, 4)?.text()?,
        state: match at(f, 5)?.int()? {
            0 => DeliveryState::Sending,
            1 => DeliveryState::Sent,
            2 => DeliveryState::Received,
            3 => DeliveryState::Delivered,
            4 => DeliveryState::Read,
            5 => DeliveryState::Failed,
            _ => return Err(Malformed),
        },
        event: optional(f, 6).map(group_event).transpose()?,
    })
}

fn person(item: &Item) -> Read<Person> {
    let f = item.fields()?;
    Ok(Person {
        handle: at(f, 0)?.text()?,
        name: at(f, 1)?.text()?,
    })
}

fn group_event(item: &Item) -> Read<GroupEvent> {
    let (variant, f) = item.variant()?;
    let by = || person(at(f, 0)?);
    Ok(match variant {
        0 => GroupEvent::Created {
            by: by()?,
            name: at(f, 1)?.text()?,
        },
        1 => GroupEvent::Renamed {
            by: by()?,
            name: at(f, 1)?.text()?,
        },
        2 => GroupEvent::Added {
            by: by()?,
            members: at(f, 1)?.list(person)?,
        },
        3 => GroupEvent::Removed {
            by: by()?,
            members: at(f, 1)?.list(person)?,
        },
        4 => GroupEvent::Left { member: by()? },
        5 => GroupEvent::MadeAdmin {
            by: by()?,
            member: person(at(f, 1)?)?,
        },
        6 => GroupEvent::Undone { by: by()? },
        _ => return Err(Malformed),
    })
}

/// A conversation as the page shows it: the unread ids (for read receipts)
/// stay in the worker.
fn conversation(item: &Item) -> Read<Conversation> {
    let f = item.fields()?;
    Ok(Conversation {
        handle: at(f, 0)?.text()?,
        name: at(f, 1)?.text()?,
        last_text: at(f, 2)?.text()?,
        last_at_ms: at(f, 3)?.int()?,
        unread: at(f, 4)?.small()?,
        identity_changed: at(f, 5)?.flag()?,
        unread_ids: Vec::new(),
        group: match optional(f, 7) {
            Some(facts) => {
                let f = facts.fields()?;
                Some(GroupFacts {
                    members: at(f, 0)?.small()?,
                    member: at(f, 1)?.flag()?,
                    admin: at(f, 2)?.flag()?,
                })
            }
            None => None,
        },
    })
}

fn group_view(item: &Item) -> Read<GroupView> {
    let f = item.fields()?;
    Ok(GroupView {
        conversation: at(f, 0)?.text()?,
        name: at(f, 1)?.text()?,
        epoch: at(f, 2)?.int()?,
        members: at(f, 3)?.list(|member| {
            let f = member.fields()?;
            Ok(MemberView {
                handle: at(f, 0)?.text()?,
                name: at(f, 1)?.text()?,
                admin: at(f, 2)?.flag()?,
                trust: match at(f, 3)?.variant()?.0 {
                    0 => MemberTrust::Me,
                    1 => MemberTrust::Trusted,
                    2 => MemberTrust::Changed,
                    _ => return Err(Malformed),
                },
            })
        })?,
        member: at(f, 4)?.flag()?,
        admin: at(f, 5)?.flag()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::encode;

    fn person(name: &str) -> Person {
        Person {
            handle: format!("{}@x.gouv.fr", name.to_lowercase()),
            name: name.into(),
        }
    }

    fn message(state: DeliveryState, event: Option<GroupEvent>) -> StoredMessage {
        StoredMessage {
            id: [7; 16],
            conversation: "g:0123".into(),
            sender: "alice@x.gouv.fr".into(),
            sent_at_ms: 1_764_633_600_123,
            text: "Bonjour à tous 👋".into(),
            state,
            event,
        }
    }

    fn conversation(group: Option<GroupFacts>, unread_ids: usize) -> Conversation {
        let mut c = Conversation::new("bob@x.gouv.fr", "Bob Leroy");
        c.last_text = "À demain".into();
        c.last_at_ms = u64::MAX;
        c.unread = 3;
        c.identity_changed = true;
        c.unread_ids = vec![crate::content::ByteId([1; 16]); unread_ids];
        c.group = group;
        c
    }

    /// One of every shape a post can take.
    fn every_post() -> Vec<Post> {
        let profile = Profile {
            handle: "a@b".into(),
            name: "Anne".into(),
            relay_url: "wss://relay/ws".into(),
        };
        let failed = UserMessage {
            fr: "Aucun compte ne porte cette adresse.",
            en: "No account has this address.",
        };
        let mut replies = vec![
            Reply::Found(true),
            Reply::Found(false),
            Reply::Joined(Joined::Joined {
                profile: profile.clone(),
                session: 1,
            }),
            Reply::Joined(Joined::AlreadyJoined(failed)),
            Reply::Joined(Joined::Failed(failed)),
            Reply::Unlocked(Unlocked::Unlocked {
                profile: profile.clone(),
                preferences: None,
                session: u32::MAX,
            }),
            Reply::Unlocked(Unlocked::Unlocked {
                profile,
                preferences: Some(b"5\nAnne".to_vec().into()),
                session: 2,
            }),
            Reply::Unlocked(Unlocked::WrongPassphrase),
            Reply::Unlocked(Unlocked::Broken),
            Reply::Done,
            Reply::Saved(true),
            Reply::Conversations(vec![
                conversation(None, 0),
                conversation(
                    Some(GroupFacts {
                        members: 1000,
                        member: false,
                        admin: true,
                    }),
                    0,
                ),
            ]),
            Reply::Messages {
                messages: vec![message(DeliveryState::Read, None)],
                unreadable: 2,
            },
            Reply::Unavailable,
        ];
        let states = [
            DeliveryState::Sending,
            DeliveryState::Sent,
            DeliveryState::Received,
            DeliveryState::Delivered,
            DeliveryState::Read,
            DeliveryState::Failed,
        ];
        let lines = [
            GroupEvent::Created {
                by: person("Alice"),
                name: "Équipe".into(),
            },
            GroupEvent::Renamed {
                by: person("Alice"),
                name: String::new(),
            },
            GroupEvent::Added {
                by: person("Alice"),
                members: vec![person("Bob"), person("Chloé")],
            },
            GroupEvent::Removed {
                by: person("Alice"),
                members: vec![],
            },
            GroupEvent::Left {
                member: person("Bob"),
            },
            GroupEvent::MadeAdmin {
                by: person("Alice"),
                member: person("Bob"),
            },
            GroupEvent::Undone { by: person("Bob") },
        ];
        let mut events = vec![
            Event::Connection(ConnectionState::Connected),
            Event::SearchResults {
                query: "al".into(),
                accounts: vec![DirectoryEntry {
                    handle: "alice@x".into(),
                    name: "Alice".into(),
                }],
            },
            Event::OwnDevices(vec![DeviceSummary {
                id_hex: "00ff".into(),
                this_device: true,
            }]),
            Event::Failed(failed),
            Event::Stopped(failed),
            Event::ConversationUpdated(conversation(None, 0)),
            Event::Typing {
                conversation: "bob@x".into(),
                typing: true,
            },
            Event::IdentityChanged("bob@x".into()),
            Event::Rejected {
                sender: "eve@x".into(),
                reason: "bad signature".into(),
            },
            Event::GroupUpdated(GroupView {
                conversation: "g:0123".into(),
                name: "Équipe".into(),
                epoch: 9,
                members: [MemberTrust::Me, MemberTrust::Trusted, MemberTrust::Changed]
                    .into_iter()
                    .enumerate()
                    .map(|(i, trust)| MemberView {
                        handle: format!("m{i}@x"),
                        name: format!("M {i}"),
                        admin: i == 0,
                        trust,
                    })
                    .collect(),
                member: true,
                admin: false,
            }),
            Event::PreKeysRefilled {
                one_time: 100,
                kem_one_time: 100,
            },
        ];
        events.extend(states.map(|s| Event::MessageAdded(message(s, None))));
        events.extend(
            lines
                .into_iter()
                .map(|l| Event::MessageUpdated(message(DeliveryState::Sent, Some(l)))),
        );
        let mut posts = vec![
            Post::Ready,
            Post::Link(ConnectionState::Connecting),
            Post::Link(ConnectionState::Reconnecting {
                attempt: 3,
                retry_in_ms: 8_000,
            }),
            Post::Link(ConnectionState::Offline),
        ];
        posts.extend(replies.drain(..).enumerate().map(|(i, reply)| Post::Reply {
            id: i as u32,
            reply,
        }));
        posts.extend(
            events
                .into_iter()
                .map(|event| Post::Event { session: 7, event }),
        );
        posts
    }

    #[test]
    fn every_post_written_by_the_worker_reads_back_unchanged() {
        for post in every_post() {
            assert_eq!(read_post(&encode(&post)), Ok(post));
        }
    }

    #[test]
    fn unread_ids_stay_in_the_worker() {
        let sent = Post::Event {
            session: 1,
            event: Event::ConversationUpdated(conversation(None, 3)),
        };
        let read = Post::Event {
            session: 1,
            event: Event::ConversationUpdated(conversation(None, 0)),
        };
        assert_eq!(read_post(&encode(&sent)), Ok(read));
    }

    #[test]
    fn anything_cut_short_or_extended_is_malformed() {
        for post in every_post() {
            let bytes = encode(&post);
            for cut in 0..bytes.len() {
                assert_eq!(read_post(&bytes[..cut]), Err(Malformed));
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert_eq!(read_post(&longer), Err(Malformed));
        }
    }

    #[test]
    fn hostile_shapes_are_malformed_without_panic_or_huge_allocation() {
        // An array claiming 2^64-1 items.
        assert_eq!(
            read_post(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            Err(Malformed)
        );
        // Nesting deeper than any post.
        assert_eq!(read_post(&[0x81; 64]), Err(Malformed));
        // Not UTF-8; an unknown variant; a float; indefinite lengths.
        assert_eq!(
            read_post(&[0x82, 0x03, 0x81, 0x62, 0xff, 0xfe]),
            Err(Malformed)
        );
        assert_eq!(read_post(&[0x82, 0x09, 0x80]), Err(Malformed));
        assert_eq!(read_post(&[0xf9, 0x3c, 0x00]), Err(Malformed));
        assert_eq!(read_post(&[0x9f, 0x00, 0x80, 0xff]), Err(Malformed));
        // A message id of the wrong length.
        let mut wrong = encode(&Post::Event {
            session: 1,
            event: Event::MessageAdded(message(DeliveryState::Sent, None)),
        });
        let id = wrong
            .windows(17)
            .position(|w| w == [0x50, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7]);
        let Some(id) = id else {
            panic!("the id is not where expected");
        };
        wrong[id] = 0x4f;
        wrong.remove(id + 1);
        assert_eq!(read_post(&wrong), Err(Malformed));
    }
}
