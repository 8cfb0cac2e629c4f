//! Shared set-up for the integration tests (native and in the browser).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use estafette_crypto::{Account, Device, DeviceId, PreKeyBundle, PreKeyStore, Session};

pub const NOW: u64 = 1_700_000_000_000;

/// One account with one device and its prekeys.
pub struct Party {
    pub account: Account,
    pub device: Device,
    pub prekeys: PreKeyStore,
}

impl Party {
    pub fn new(one_time: usize, kem_one_time: usize) -> Self {
        let account = Account::generate().unwrap();
        let device = Device::generate(&account, DeviceId::generate().unwrap(), NOW).unwrap();
        let mut prekeys = PreKeyStore::new(&account, &device, NOW).unwrap();
        prekeys.generate_one_time_prekeys(one_time).unwrap();
        prekeys
            .generate_kem_one_time_prekeys(&account, kem_one_time, NOW)
            .unwrap();
        Self {
            account,
            device,
            prekeys,
        }
    }

    pub fn bundle(&self) -> PreKeyBundle {
        self.prekeys.bundle(&self.device).unwrap()
    }
}

/// Alice starts a session with Bob; Bob accepts it. Returns (alice's, bob's) sessions.
pub fn handshake(alice: &Party, bob: &mut Party) -> (Session, Session) {
    let bundle = bob.bundle();
    let (alice_session, first) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"hello").unwrap();
    let (bob_session, content) = Session::respond(&bob.device, &mut bob.prekeys, &first).unwrap();
    assert_eq!(&content[..], b"hello");
    (alice_session, bob_session)
}

/// A small deterministic generator (xorshift64*), so the browser runs the same schedules.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Runs `total` messages in both directions with random interleaving, reordering and
/// loss (`loss_percent`), then delivers what is still in flight. Asserts that every
/// delivered message decrypts exactly once to what was sent, and that re-delivering
/// any of them fails. Returns how many messages were delivered.
pub fn random_conversation(seed: u64, total: usize, loss_percent: usize) -> usize {
    let alice = Party::new(2, 2);
    let mut bob = Party::new(2, 2);
    let (mut a, mut b) = handshake(&alice, &mut bob);
    let mut rng = Rng(seed | 1);
    // In flight: (sender is alice, sequence number, bytes).
    let mut to_bob: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut to_alice: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut delivered: Vec<(bool, Vec<u8>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut sent = 0;

    let mut deliver = |queue: &mut Vec<(usize, Vec<u8>)>,
                       session: &mut Session,
                       from_alice: bool,
                       rng: &mut Rng,
                       delivered: &mut Vec<(bool, Vec<u8>)>| {
        if queue.is_empty() {
            return;
        }
        let (seq, bytes) = queue.remove(rng.below(queue.len()));
        if rng.below(100) < loss_percent {
            return;
        }
        let content = session.decrypt(&bytes).unwrap();
        assert_eq!(&content[..], format!("message {seq}").as_bytes());
        assert!(seen.insert(seq), "message {seq} decrypted twice");
        delivered.push((from_alice, bytes));
    };

    while sent < total || !to_bob.is_empty() || !to_alice.is_empty() {
        match rng.below(4) {
            0 | 1 if sent < total => {
                let content = format!("message {sent}");
                if rng.below(2) == 0 {
                    to_bob.push((sent, a.encrypt(content.as_bytes()).unwrap()));
                } else {
                    to_alice.push((sent, b.encrypt(content.as_bytes()).unwrap()));
                }
                sent += 1;
            }
            2 => deliver(&mut to_bob, &mut b, true, &mut rng, &mut delivered),
            _ => deliver(&mut to_alice, &mut a, false, &mut rng, &mut delivered),
        }
    }
    // Replays of delivered messages all fail and change nothing.
    for _ in 0..20.min(delivered.len()) {
        let (from_alice, bytes) = &delivered[rng.below(delivered.len())];
        let session = if *from_alice { &mut b } else { &mut a };
        let before = session.to_bytes();
        assert!(session.decrypt(bytes).is_err());
        assert_eq!(before, session.to_bytes());
    }
    // Both sides still talk.
    let last = a.encrypt(b"still there?").unwrap();
    assert_eq!(&b.decrypt(&last).unwrap()[..], b"still there?");
    let last = b.encrypt(b"yes").unwrap();
    assert_eq!(&a.decrypt(&last).unwrap()[..], b"yes");
    delivered.len()
}
