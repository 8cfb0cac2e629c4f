
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use estafette_crypto::{
    Account, Argon2Params, Device, DeviceId, PreKeyStore, SafetyNumber, Session, StorageKey,
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

criterion_group!(benches, pqxdh, messages, safety_number, unlock);
criterion_main!(benches);
