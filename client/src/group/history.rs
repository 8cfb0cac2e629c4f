//! Which changes a member takes, whatever order they arrive in.
//!
//! Two admins may change the same state at once: both changes name the same
//! parent and the same epoch. The rule (the same on every device): starting
//! from a settled state, at each epoch take, among the valid changes made on
//! the state chosen so far, the one with the smallest id (SHA-256 of the
//! signed control); the others are set aside, with anything built on them.
//! Every member that has seen the same changes is therefore at the same
//! state, and a change that arrives late can still win and undo the ones
//! that lost. Changes more than [`WINDOW`] epochs behind the head are
//! settled: a change to a settled state is refused as stale.

use minicbor::{Decode, Encode};

use super::GroupError;
use super::control::{Control, SignedControl};
use super::state::GroupState;

/// Epochs after which a state is settled.
pub const WINDOW: usize = 16;

/// Unsettled changes kept at most (on the chain or set aside).
pub const MAX_UNSETTLED: usize = 64;

/// One step of the chosen chain: the state, its hash, and the change that
/// made it (none for the settled state it starts from).
#[derive(Debug, Clone)]
struct Link {
    state: GroupState,
    hash: [u8; 32],
    made_by: Option<([u8; 32], Control)>,
}

impl Link {
    fn new(state: GroupState, made_by: Option<([u8; 32], Control)>) -> Self {
        Self {
            hash: state.hash(),
            state,
            made_by,
        }
    }
}

/// What taking a change did to the chosen chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Changes now on the chain, in order, each with the state it made.
    pub applied: Vec<(Control, GroupState)>,
    /// Changes that were on the chain and are not any more.
    pub undone: Vec<Control>,
}

/// A group's settled state and the changes since.
#[derive(Debug, Clone)]
pub struct History {
    anchor: GroupState,
    controls: Vec<SignedControl>,
    chain: Vec<Link>,
}

/// The stored form.
#[derive(Encode, Decode)]
struct Record {
    #[cbor(n(0), with = "minicbor::bytes")]
    anchor: Vec<u8>,
    #[n(1)]
    controls: Vec<SignedControl>,
}

impl History {
    /// A history starting at `anchor` (a creation, or the state a welcome gave).
    pub fn new(anchor: GroupState) -> Self {
        let chain = vec![Link::new(anchor.clone(), None)];
        Self {
            anchor,
            controls: Vec::new(),
            chain,
        }
    }

    /// The current state.
    pub fn head(&self) -> &GroupState {
        // The chain always holds the anchor at least.
        match self.chain.last() {
            Some(link) => &link.state,
            None => &self.anchor,
        }
    }

    /// The current state's hash.
    pub fn head_hash(&self) -> [u8; 32] {
        match self.chain.last() {
            Some(link) => link.hash,
            None => self.anchor.hash(),
        }
    }

    /// Takes a change. Refused (and not kept): stale, for another group,
    /// badly signed, not allowed to its author on the state it names, or
    /// beyond [`MAX_UNSETTLED`]. A change made on a state not known here
    /// yet is kept, and counts once that state is.
    pub fn insert(&mut self, signed: SignedControl) -> Result<Outcome, GroupError> {
        let control = signed.decode()?;
        if control.group_id != self.anchor.group_id {
            return Err(GroupError::Invalid("the control is for another group"));
        }
        if control.epoch <= self.anchor.epoch {
            return Err(GroupError::Stale);
        }
        let id = signed.id();
        if self.controls.iter().any(|c| c.id() == id) {
            return Ok(Outcome::default());
        }
        if let Some(parent) = self.chain.iter().find(|l| l.hash == control.parent) {
            signed.apply_to(Some(&parent.state))?;
        }
        if self.controls.len() >= MAX_UNSETTLED {
            return Err(GroupError::TooManyChanges);
        }
        self.controls.push(signed);
        let before: Vec<([u8; 32], Control)> = self
            .chain
            .iter()
            .filter_map(|l| l.made_by.clone())
            .collect();
        self.recompute();
        let after: Vec<[u8; 32]> = self
            .chain
            .iter()
            .filter_map(|l| l.made_by.as_ref().map(|(id, _)| *id))
            .collect();
        let outcome = Outcome {
            applied: self
                .chain
                .iter()
                .filter_map(|l| {
                    let (id, control) = l.made_by.as_ref()?;
                    (!before.iter().any(|(b, _)| b == id))
                        .then(|| (control.clone(), l.state.clone()))
                })
                .collect(),
            undone: before
                .into_iter()
                .filter(|(id, _)| !after.contains(id))
                .map(|(_, control)| control)
                .collect(),
        };
        self.settle();
        Ok(outcome)
    }

    /// Walks from the anchor, taking at each epoch the smallest valid change.
    fn recompute(&mut self) {
        let mut chain = vec![Link::new(self.anchor.clone(), None)];
        let mut candidates: Vec<(&SignedControl, [u8; 32], Control)> = self
            .controls
            .iter()
            .filter_map(|s| Some((s, s.id(), s.decode().ok()?)))
            .collect();
        candidates.sort_by_key(|c| c.1);
        while let Some(tip) = chain.last() {
            let next = candidates.iter().find_map(|(signed, id, control)| {
                if control.parent != tip.hash || control.epoch != tip.state.epoch.saturating_add(1)
                {
                    return None;
                }
                let state = signed.apply_to(Some(&tip.state)).ok()?;
                Some(Link::new(state, Some((*id, control.clone()))))
            });
            match next {
                Some(link) => chain.push(link),
                None => break,
            }
        }
        self.chain = chain;
    }

    /// Moves the anchor up to [`WINDOW`] epochs behind the head, dropping
    /// the changes it settles (those on the chain and those set aside).
    fn settle(&mut self) {
        let Some(excess) = self.chain.len().checked_sub(WINDOW + 1) else {
            return;
        };
        if excess == 0 {
            return;
        }
        let mut rest = self.chain.split_off(excess);
        if let Some(first) = rest.first_mut() {
            first.made_by = None;
            self.anchor = first.state.clone();
        }
        self.chain = rest;
        let epoch = self.anchor.epoch;
        self.controls
            .retain(|c| c.decode().is_ok_and(|control| control.epoch > epoch));
    }

    /// The bytes to store.
    pub fn encode(&self) -> Vec<u8> {
        super::cbor(&Record {
            anchor: self.anchor.encode(),
            controls: self.controls.clone(),
        })
    }

    /// Restores what [`Self::encode`] wrote.
    pub fn decode(bytes: &[u8]) -> Result<Self, GroupError> {
        let record: Record = minicbor::decode(bytes)
            .map_err(|_| GroupError::Invalid("the history does not decode"))?;
        if record.controls.len() > MAX_UNSETTLED {
            return Err(GroupError::TooManyChanges);
        }
        let mut history = Self::new(GroupState::decode(&record.anchor)?);
        history.controls = record.controls;
        history.recompute();
        Ok(history)
    }
}

#[cfg(test)]
mod tests {
    use estafette_crypto::Account;
    #[cfg(not(target_arch = "wasm32"))]
    use proptest::prelude::*;

    use super::*;
    use crate::group::state::{Change, Member};

    struct Admins {
        accounts: Vec<(String, Account)>,
    }

    impl Admins {
        fn new(n: usize) -> Self {
            Self {
                accounts: (0..n)
                    .map(|i| (format!("admin{i}@x.fr"), Account::generate().unwrap()))
                    .collect(),
            }
        }

        fn genesis(&self) -> GroupState {
            let members: Vec<Member> = self
                .accounts
                .iter()
                .map(|(h, a)| Member {
                    handle: h.clone(),
                    name: h.clone(),
                    account_key: a.public_key().to_bytes(),
                })
                .collect();
            let mut state =
                GroupState::create([3; 16], &self.accounts[0].0, "G", &members).unwrap();
            state.admins = self.accounts.iter().map(|(h, _)| h.clone()).collect();
            state
        }

        fn change(&self, who: usize, on: &GroupState, change: Change) -> SignedControl {
            let (handle, account) = &self.accounts[who];
            SignedControl::sign(
                account,
                &Control {
                    group_id: on.group_id,
                    epoch: on.epoch + 1,
                    parent: on.hash(),
                    author: handle.clone(),
                    issued_at_ms: 0,
                    change,
                },
            )
        }
    }

    #[cfg(not(target_arch = "wasm32"))]
    fn outsider(i: usize) -> Member {
        Member {
            handle: format!("new{i}@x.fr"),
            name: format!("New {i}"),
            account_key: [9; 32],
        }
    }

    #[test]
    fn the_smaller_of_two_concurrent_changes_wins_in_either_order() {
        let admins = Admins::new(2);
        let genesis = admins.genesis();
        let a = admins.change(0, &genesis, Change::Rename("A".into()));
        let b = admins.change(1, &genesis, Change::Rename("B".into()));
        let (winner, loser) = if a.id() < b.id() { (&a, &b) } else { (&b, &a) };

        let mut first_loser = History::new(genesis.clone());
        let outcome = first_loser.insert(loser.clone()).unwrap();
        assert_eq!(outcome.applied.len(), 1);
        let outcome = first_loser.insert(winner.clone()).unwrap();
        assert_eq!(outcome.undone, vec![loser.decode().unwrap()]);
        assert_eq!(outcome.applied.len(), 1);

        let mut first_winner = History::new(genesis);
        first_winner.insert(winner.clone()).unwrap();
        let outcome = first_winner.insert(loser.clone()).unwrap();
        assert_eq!(outcome, Outcome::default());
        assert_eq!(first_loser.head(), first_winner.head());
        assert_eq!(first_loser.head().epoch, 2);
    }

    #[test]
    fn refused_changes_are_not_kept() {
        let admins = Admins::new(2);
        let mut genesis = admins.genesis();
        genesis.admins.truncate(1);
        let mut history = History::new(genesis.clone());
        // admin1 is no longer admin: refused at once, the state is known.
        let by_member = admins.change(1, &genesis, Change::Rename("X".into()));
        assert!(matches!(
            history.insert(by_member),
            Err(GroupError::NotAdmin(_))
        ));
        let rename = admins.change(0, &genesis, Change::Rename("Y".into()));
        history.insert(rename.clone()).unwrap();
        // The same change twice: nothing happens.
        assert_eq!(history.insert(rename).unwrap(), Outcome::default());
        // A change to a settled state is stale.
        let mut settled = History::new(history.head().clone());
        let old = admins.change(0, &genesis, Change::Rename("Z".into()));
        assert_eq!(settled.insert(old), Err(GroupError::Stale));
        assert_eq!(history.head().name, "Y");
    }

    #[test]
    fn the_history_survives_a_round_trip_and_settles_old_epochs() {
        let admins = Admins::new(1);
        let mut history = History::new(admins.genesis());
        for i in 0..(WINDOW + 5) {
            let change = admins.change(0, history.head(), Change::Rename(format!("N{i}")));
            history.insert(change).unwrap();
        }
        assert_eq!(history.head().epoch, 1 + WINDOW as u64 + 5);
        assert_eq!(history.anchor.epoch, 1 + 5);
        assert_eq!(history.controls.len(), WINDOW);
        let restored = History::decode(&history.encode()).unwrap();
        assert_eq!(restored.head(), history.head());
        assert!(History::decode(b"junk").is_err());
    }

    /// Builds a tree of changes: each made by a random admin on a random
    /// state already made (concurrent branches), as the devices that made
    /// them saw it.
    #[cfg(not(target_arch = "wasm32"))]
    fn tree(admins: &Admins, picks: &[(usize, usize)]) -> (GroupState, Vec<SignedControl>) {
        let genesis = admins.genesis();
        let mut states = vec![genesis.clone()];
        let mut controls = Vec::new();
        for (i, (who, on)) in picks.iter().enumerate() {
            let parent = states[on % states.len()].clone();
            let change = match i % 3 {
                0 => Change::Rename(format!("name {i}")),
                1 => Change::Add(vec![outsider(i)]),
                _ => Change::Remove(
                    parent
                        .members
                        .iter()
                        .find(|m| m.handle.starts_with("new"))
                        .map(|m| vec![m.handle.clone()])
                        .unwrap_or_default(),
                ),
            };
            let signed = admins.change(who % admins.accounts.len(), &parent, change);
            if let Ok(state) = signed.apply_to(Some(&parent)) {
                states.push(state);
                controls.push(signed);
            }
        }
        (genesis, controls)
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every order of arrival of the same changes ends at the same state.
        #[test]
        fn any_order_of_arrival_converges(
            picks in proptest::collection::vec((0usize..3, 0usize..64), 1..14),
            seed in any::<u64>(),
        ) {
            let admins = Admins::new(3);
            let (genesis, controls) = tree(&admins, &picks);
            let mut reference = History::new(genesis.clone());
            for c in &controls {
                let _ = reference.insert(c.clone());
            }
            let mut shuffled = controls.clone();
            let mut state = seed;
            for i in (1..shuffled.len()).rev() {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                shuffled.swap(i, (state >> 33) as usize % (i + 1));
            }
            let mut other = History::new(genesis);
            for c in &shuffled {
                let _ = other.insert(c.clone());
            }
            prop_assert_eq!(reference.head(), other.head());
            prop_assert_eq!(reference.head_hash(), other.head_hash());
        }
    }
}
