//! Message keys of skipped messages, kept for late or reordered delivery.

use std::collections::VecDeque;

use crate::{
    ratchet::{MAX_STORED_SKIPPED_KEYS, message_key::MessageKey},
    types::curve25519::X25519PublicKey,
};

#[derive(Clone)]
pub(crate) struct SkippedKey {
    pub(crate) ratchet_key: X25519PublicKey,
    pub(crate) index: u32,
    pub(crate) key: MessageKey,
}

/// At most [`MAX_STORED_SKIPPED_KEYS`], oldest first.
#[derive(Clone, Default)]
pub(crate) struct SkippedKeys {
    pub(crate) keys: VecDeque<SkippedKey>,
}

impl SkippedKeys {
    fn position(&self, ratchet_key: &X25519PublicKey, index: u32) -> Option<usize> {
        self.keys
            .iter()
            .position(|k| k.index == index && k.ratchet_key == *ratchet_key)
    }

    pub(crate) fn get(&self, ratchet_key: &X25519PublicKey, index: u32) -> Option<&MessageKey> {
        self.position(ratchet_key, index)
            .and_then(|i| self.keys.get(i))
            .map(|k| &k.key)
    }

    pub(crate) fn remove(&mut self, ratchet_key: &X25519PublicKey, index: u32) {
        if let Some(i) = self.position(ratchet_key, index) {
            self.keys.remove(i);
        }
    }

    pub(crate) fn extend(&mut self, new: Vec<SkippedKey>) {
        for key in new {
            if self.keys.len() >= MAX_STORED_SKIPPED_KEYS {
                self.keys.pop_front();
            }
            self.keys.push_back(key);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }
}
