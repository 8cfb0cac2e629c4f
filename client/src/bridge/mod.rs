//! What the page and its worker say to each other.
//!
//! The web app runs in two parts: the page (the interface, Leptos) and a
//! dedicated worker that holds everything secret: the vault, the keys, the
//! engine and its connection to the relay. The page asks with a [`Call`] and
//! the worker answers with a [`Post`]; both are CBOR, sent with
//! `postMessage`. The page never holds a key, and its download stays small
//! (docs/app.md, "Two parts").

use minicbor::bytes::ByteVec;
use minicbor::{Decode, Encode};

use crate::conversation::Conversation;
use crate::engine::{Command, Event};
use crate::messenger::StoredMessage;
use crate::{ConnectionState, Profile, UserMessage};

mod read;
pub use read::{Malformed, read_post};

/// The IndexedDB database of the browser's one account: the worker opens
/// it, the page only checks that it exists and, on erase, deletes it.
pub const DATABASE: &str = "estafette";

/// A request and its number; `id` 0 asks for no reply.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Call {
    /// Repeated in the [`Post::Reply`]; 0: no reply.
    #[n(0)]
    pub id: u32,
    /// What the page asks.
    #[n(1)]
    pub request: Request,
}

/// What the page asks of the worker.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Request {
    /// Whether this browser holds an account; answered by [`Reply::Found`].
    #[n(0)]
    Probe,
    /// Create the account with an invitation token; answered by
    /// [`Reply::Joined`]. On success the engine runs.
    #[n(1)]
    Join {
        /// The invitation token.
        #[n(0)]
        token: String,
        /// The chosen passphrase.
        #[n(1)]
        passphrase: String,
    },
    /// Unlock; answered by [`Reply::Unlocked`]. On success the engine runs.
    #[n(2)]
    Unlock {
        /// The passphrase.
        #[n(0)]
        passphrase: String,
    },
    /// Stop the engine and forget the storage key; answered by [`Reply::Done`].
    #[n(3)]
    Lock,
    /// Stop the engine and delete the account's database; answered by
    /// [`Reply::Done`].
    #[n(4)]
    Erase,
    /// A command for the running engine (ignored while locked); no reply,
    /// its results come as events.
    #[n(5)]
    Command(#[n(0)] Command),
    /// Store the app's preferences, sealed; answered by [`Reply::Saved`].
    #[n(6)]
    SavePreferences(#[n(0)] ByteVec),
    /// The conversation list; answered by [`Reply::Conversations`].
    #[n(7)]
    Conversations,
    /// The last `limit` messages of a conversation; answered by
    /// [`Reply::Messages`].
    #[n(8)]
    Messages {
        /// The conversation.
        #[n(0)]
        conversation: String,
        /// At most this many.
        #[n(1)]
        limit: u32,
    },
}

/// The worker's answer to a [`Request`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Reply {
    /// Whether an account is set up here.
    #[n(0)]
    Found(#[n(0)] bool),
    /// How joining went.
    #[n(1)]
    Joined(#[n(0)] Joined),
    /// How unlocking went.
    #[n(2)]
    Unlocked(#[n(0)] Unlocked),
    /// Done (lock, erase).
    #[n(3)]
    Done,
    /// Whether the preferences were stored.
    #[n(4)]
    Saved(#[n(0)] bool),
    /// Conversations, most recent first.
    #[n(5)]
    Conversations(#[n(0)] Vec<Conversation>),
    /// Messages, oldest first, and how many records could not be read.
    #[n(6)]
    Messages {
        /// The messages.
        #[n(0)]
        messages: Vec<StoredMessage>,
        /// Records that did not decrypt or decode.
        #[n(1)]
        unreadable: u32,
    },
    /// The request cannot be carried out now (locked, storage failure).
    #[n(7)]
    Unavailable,
}

/// How joining went.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Joined {
    /// The account exists and the engine runs as session `session`.
    #[n(0)]
    Joined {
        /// Who we are.
        #[n(0)]
        profile: Profile,
        /// The number the session's events carry.
        #[n(1)]
        session: u32,
    },
    /// This browser already holds an account: it stays, locked.
    #[n(1)]
    AlreadyJoined(#[n(0)] UserMessage),
    /// Joining failed; nothing was kept.
    #[n(2)]
    Failed(#[n(0)] UserMessage),
}

/// How unlocking went.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Unlocked {
    /// Unlocked; the engine runs as session `session`.
    #[n(0)]
    Unlocked {
        /// Who we are.
        #[n(0)]
        profile: Profile,
        /// The app's preferences as last saved.
        #[n(1)]
        preferences: Option<ByteVec>,
        /// The number the session's events carry.
        #[n(2)]
        session: u32,
    },
    /// Not the right passphrase.
    #[n(1)]
    WrongPassphrase,
    /// Anything else (storage, a record that does not decode).
    #[n(2)]
    Broken,
}

/// What the worker tells the page.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Post {
    /// The worker listens: calls sent before this are not lost, the page
    /// holds them until then.
    #[n(0)]
    Ready,
    /// The answer to call `id`.
    #[n(1)]
    Reply {
        /// The call's number.
        #[n(0)]
        id: u32,
        /// The answer.
        #[n(1)]
        reply: Reply,
    },
    /// An event of the engine of session `session`.
    #[n(2)]
    Event {
        /// The session it belongs to (events of an earlier one are dropped).
        #[n(0)]
        session: u32,
        /// The event.
        #[n(1)]
        event: Event,
    },
    /// The state of the link to the relay while no account is unlocked.
    #[n(3)]
    Link(#[n(0)] ConnectionState),
}

/// Encodes a call or a post.
pub fn encode<T: Encode<()>>(value: &T) -> Vec<u8> {
    // Writing to a Vec cannot fail.
    minicbor::to_vec(value).unwrap_or_default()
}

/// Decodes a call or a post; anything malformed is an error, never a panic.
pub fn decode<T: for<'b> Decode<'b, ()>>(bytes: &[u8]) -> Result<T, minicbor::decode::Error> {
    minicbor::decode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::group::{GroupEvent, Person};
    use crate::messenger::{DeliveryState, DirectoryEntry, GroupCommand};

    fn round_trip<T>(value: T)
    where
        T: Encode<()> + for<'b> Decode<'b, ()> + PartialEq + std::fmt::Debug,
    {
        assert_eq!(decode::<T>(&encode(&value)).ok(), Some(value));
    }

    #[test]
    fn calls_and_posts_cross_unchanged() {
        round_trip(Call {
            id: 7,
            request: Request::Join {
                token: "t".into(),
                passphrase: "correct horse".into(),
            },
        });
        round_trip(Call {
            id: 0,
            request: Request::Command(Command::ChangeGroup {
                conversation: "g:00".into(),
                change: GroupCommand::Add(vec!["a@b".into()]),
            }),
        });
        round_trip(Post::Event {
            session: 3,
            event: Event::MessageAdded(StoredMessage {
                id: [9; 16],
                conversation: "g:01".into(),
                sender: "alice@x".into(),
                sent_at_ms: 1_700_000_000_000,
                text: String::new(),
                state: DeliveryState::Sent,
                event: Some(GroupEvent::Created {
                    by: Person {
                        handle: "alice@x".into(),
                        name: "Alice".into(),
                    },
                    name: "Équipe".into(),
                }),
            }),
        });
        round_trip(Post::Event {
            session: 1,
            event: Event::SearchResults {
                query: "al".into(),
                accounts: vec![DirectoryEntry {
                    handle: "alice@x".into(),
                    name: "Alice".into(),
                }],
            },
        });
        round_trip(Post::Link(ConnectionState::Reconnecting {
            attempt: 2,
            retry_in_ms: 4000,
        }));
        round_trip(Post::Reply {
            id: 2,
            reply: Reply::Unlocked(Unlocked::Unlocked {
                profile: Profile {
                    handle: "a@b".into(),
                    name: "A".into(),
                    relay_url: "ws://x/ws".into(),
                },
                preferences: Some(b"10\n".to_vec().into()),
                session: 4,
            }),
        });
    }

    #[test]
    fn a_user_message_keeps_both_texts() {
        let message = UserMessage {
            fr: "Aucun compte ne porte cette adresse.",
            en: "No account has this address.",
        };
        round_trip(Post::Event {
            session: 1,
            event: Event::Failed(message),
        });
    }

    #[test]
    fn malformed_bytes_are_an_error() {
        let good = encode(&Post::Reply {
            id: 1,
            reply: Reply::Found(true),
        });
        for cut in 0..good.len() {
            assert!(decode::<Post>(&good[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode::<Post>(&[0xff, 0x00, 0x13]).is_err());
        assert!(decode::<Call>(&encode(&Post::Ready)).is_err());
    }
}
