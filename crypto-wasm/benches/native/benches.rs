
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use estafette_crypto::{
    Account, AccountSettings, Argon2Params, ClientLogin, ClientRegistration, Device, DeviceId,
    PreKeyStore, RegistrationRecord, RelayChallenge, SafetyNumber, SegmentHeader, ServerLogin,
    ServerSetup, Session, StorageKey, VaultContents,
};
use std::hint::black_box;

struct Party {
    account: Account,
    device: Device,
    prekeys: PreKeyStore,
}

fn party(one_time: usize) -> Party {
    let account = Account::generate().unwrap();
    let device = Device::generate(&account, DeviceId::generate().unwrap(), 0).unwrap();
    let mut prekeys = PreKeyStore::new(&account, &device, 0).unwrap();
    prekeys.generate_one_time_prekeys(one_time).unwrap();
    prekeys
        .generate_kem_one_time_prekeys(&account, one_time, 0)
        .unwrap();
    Party {
        account,
        device,
        prekeys,
    }
}

fn pqxdh(c: &mut Criterion) {
    let alice = party(0);
    let bob = party(1);
    let bundle = bob.prekeys.bundle(&bob.device).unwrap();
    let expected = bob.account.public_key();
    c.bench_function(
        "pqxdh/initiator (verify bundle, encaps, 4 DH, first message)",
        |b| {
            b.iter(|| {
                Session::initiate(&alice.device, black_box(&bundle), &expected, b"hi").unwrap()
            })
        },
    );
    let (_, first) = Session::initiate(&alice.device, &bundle, &expected, b"hi").unwrap();
    c.bench_function(
        "pqxdh/responder (verify cert, decaps, 4 DH, first message)",
        |b| {
            b.iter_batched(
                || bob.prekeys.clone(),
                |mut store| Session::respond(&bob.device, &mut store, black_box(&first)).unwrap(),
                BatchSize::SmallInput,
            )
        },
    );
    c.bench_function("pqxdh/both sides", |b| {
        b.iter_batched(
            || bob.prekeys.clone(),
            |mut store| {
                let (_, first) =
                    Session::initiate(&alice.device, &bundle, &expected, b"hi").unwrap();
                Session::respond(&bob.device, &mut store, &first).unwrap()
            },
            BatchSize::SmallInput,
        )
    });
}

fn messages(c: &mut Criterion) {
    let alice = party(0);
    let mut bob = party(1);
    let bundle = bob.prekeys.bundle(&bob.device).unwrap();
    let (mut a, first) =
        Session::initiate(&alice.device, &bundle, &bob.account.public_key(), b"hi").unwrap();
    let (mut b, _) = Session::respond(&bob.device, &mut bob.prekeys, &first).unwrap();
    a.decrypt(&b.encrypt(b"ok").unwrap()).unwrap();
    for size in [100usize, 1024] {
        let content = vec![0x61u8; size];
        c.bench_function(&format!("ratchet/encrypt+decrypt {size} B"), |bench| {
            bench.iter(|| {
                let m = a.encrypt(black_box(&content)).unwrap();
                b.decrypt(&m).unwrap()
            })
        });
    }
}

fn safety_number(c: &mut Criterion) {
    let (x, y) = (Account::generate().unwrap(), Account::generate().unwrap());
    c.bench_function("safety number", |b| {
        b.iter(|| SafetyNumber::compute(&x.public_key(), "alice", &y.public_key(), "bob"))
    });
}

fn unlock(c: &mut Criterion) {
    let key = StorageKey::generate().unwrap();
    let wrapped = key.wrap(b"passphrase", &Argon2Params::default()).unwrap();
    let mut group = c.benchmark_group("at rest");
    group.sample_size(10);
    group.bench_function("unlock (Argon2id 64 MiB, t=3, p=1)", |b| {
        b.iter(|| StorageKey::unwrap(black_box(&wrapped), b"passphrase").unwrap())
    });
    group.finish();
}

const ORIGIN: &str = "wss://relay.example.gouv.fr";

/// A relay with one registered account.
fn registered() -> (ServerSetup, RegistrationRecord) {
    let setup = ServerSetup::generate().unwrap();
    let (client, request) = ClientRegistration::start("alice", ORIGIN, b"passphrase").unwrap();
    let response = setup.start_registration("alice", &request).unwrap();
    (setup, client.finish(&response).unwrap().0)
}

fn opaque(c: &mut Criterion) {
    let (setup, record) = registered();
    let mut group = c.benchmark_group("opaque login");
    group.sample_size(10);
    group.bench_function("client (KE1, then KE2 -> KE3 with Argon2id 64 MiB)", |b| {
        b.iter_batched(
            || {
                let (_, ke1) = ClientLogin::start("alice", ORIGIN, b"passphrase").unwrap();
                ServerLogin::start(&setup, Some(&record), &ke1, "alice", ORIGIN)
                    .unwrap()
                    .1
            },
            |ke2| {
                // A fresh KE1 each time: KE2 does not verify against it, but the
                // client's work (OPRF, Argon2id, envelope) is all done before that.
                let (client, _) = ClientLogin::start("alice", ORIGIN, b"passphrase").unwrap();
                client.finish(black_box(&ke2)).unwrap_err()
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
    let mut group = c.benchmark_group("opaque login");
    let (_, ke1) = ClientLogin::start("alice", ORIGIN, b"passphrase").unwrap();
    group.bench_function("relay start (KE1 -> KE2), known handle", |b| {
        b.iter(|| ServerLogin::start(&setup, Some(&record), black_box(&ke1), "alice", ORIGIN).unwrap())
    });
    group.bench_function("relay start (KE1 -> KE2), unknown handle", |b| {
        b.iter(|| ServerLogin::start(&setup, None, black_box(&ke1), "alice", ORIGIN).unwrap())
    });
    let (client, ke1) = ClientLogin::start("alice", ORIGIN, b"passphrase").unwrap();
    let (server, ke2) = ServerLogin::start(&setup, Some(&record), &ke1, "alice", ORIGIN).unwrap();
    let ke3 = client.finish(&ke2).unwrap().ke3;
    drop(server);
    group.bench_function("relay finish (KE3)", |b| {
        b.iter_batched(
            || {
                // Same KE1 and KE2 state each time is impossible (fresh nonces), so the
                // finish is measured on a failing KE3: the same MAC work as a success.
                ServerLogin::start(&setup, Some(&record), &ke1, "alice", ORIGIN).unwrap().0
            },
            |server| server.finish(black_box(&ke3)).unwrap_err(),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

fn roaming(c: &mut Criterion) {
    let contents = VaultContents::new(Account::generate().unwrap(), AccountSettings::default()).unwrap();
    let (client, request) = ClientRegistration::start("alice", ORIGIN, b"p").unwrap();
    let setup = ServerSetup::generate().unwrap();
    let response = setup.start_registration("alice", &request).unwrap();
    let vk = client.finish(&response).unwrap().1.vault_key();
    let vault = vk.seal("alice", 1, &contents).unwrap();
    c.bench_function("vault open", |b| b.iter(|| vk.open("alice", black_box(&vault)).unwrap()));
    // 100 entries of 200 bytes (CBOR byte strings), about one page of history.
    let entry = [&[0x58, 200][..], &[0x61; 200]].concat();
    let entries: Vec<&[u8]> = (0..100).map(|_| &entry[..]).collect();
    let header = SegmentHeader::drained(0);
    let hk = &contents.history_key;
    c.bench_function("segment seal (100 x 200 B)", |b| {
        b.iter(|| hk.seal_segment("alice", &header, black_box(&entries)).unwrap())
    });
    let segment = hk.seal_segment("alice", &header, &entries).unwrap();
    c.bench_function("segment open (100 x 200 B)", |b| {
        b.iter(|| hk.open_segment("alice", black_box(&segment.bytes)).unwrap())
    });
    let device = party(0).device;
    let relay = RelayChallenge::generate().unwrap();
    c.bench_function("relay auth dik: device MAC + relay check", |b| {
        b.iter(|| {
            let mac = device.relay_auth_mac(relay.challenge(), &relay.public_key(), ORIGIN).unwrap();
            relay.verify_mac(device.certificate(), ORIGIN, &mac).unwrap()
        })
    });
}

criterion_group!(benches, pqxdh, messages, safety_number, unlock, opaque, roaming);
criterion_main!(benches);
