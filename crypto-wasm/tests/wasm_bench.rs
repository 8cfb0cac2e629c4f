//! Benchmarks in the browser. Skipped unless built with `ESTAFETTE_BENCH=1`:
//!
//! ```sh
//! ESTAFETTE_BENCH=1 CHROMEDRIVER=/usr/bin/chromedriver \
//!   CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
//!   cargo test -p estafette-crypto --release --target wasm32-unknown-unknown --test wasm_bench
//! ```
#![cfg(target_arch = "wasm32")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Party;
use estafette_crypto::{Account, Argon2Params, SafetyNumber, Session, StorageKey};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

fn enabled() -> bool {
    option_env!("ESTAFETTE_BENCH").is_some()
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Runs `f` `n` times and returns milliseconds per run.
fn time(n: usize, mut f: impl FnMut()) -> f64 {
    let start = now_ms();
    for _ in 0..n {
        f();
    }
    (now_ms() - start) / n as f64
}

#[wasm_bindgen_test]
fn bench_pqxdh() {
    if !enabled() {
        return;
    }
    let alice = Party::new(0, 0);
    let bob = Party::new(1, 1);
    let bundle = bob.bundle();
    let expected = bob.account.public_key();
    let n = 100;
    let initiator = time(n, || {
        Session::initiate(&alice.device, &bundle, &expected, b"hi").unwrap();
    });
    let firsts: Vec<_> = (0..n)
        .map(|_| {
            Session::initiate(&alice.device, &bundle, &expected, b"hi")
                .unwrap()
                .1
        })
        .collect();
    let stores: Vec<_> = (0..n).map(|_| bob.prekeys.clone()).collect();
    let mut it = firsts.iter().zip(stores);
    let responder = time(n, || {
        let (first, mut store) = it.next().unwrap();
        Session::respond(&bob.device, &mut store, first).unwrap();
    });
    console_log!(
        "wasm pqxdh: initiator {initiator:.3} ms, responder {responder:.3} ms, both {:.3} ms",
        initiator + responder
    );
}

#[wasm_bindgen_test]
fn bench_messages() {
    if !enabled() {
        return;
    }
    let alice = Party::new(0, 0);
    let mut bob = Party::new(1, 1);
    let (mut a, mut b) = common::handshake(&alice, &mut bob);
    a.decrypt(&b.encrypt(b"ok").unwrap()).unwrap();
    for size in [100usize, 1024] {
        let content = vec![0x61u8; size];
        let n = 20_000;
        let per = time(n, || {
            let m = a.encrypt(&content).unwrap();
            b.decrypt(&m).unwrap();
        });
        console_log!(
            "wasm encrypt+decrypt {size} B: {:.2} us/pair, {:.0} pairs/s",
            per * 1000.0,
            1000.0 / per
        );
    }
}

#[wasm_bindgen_test]
fn bench_safety_number_and_unlock() {
    if !enabled() {
        return;
    }
    let (x, y) = (Account::generate().unwrap(), Account::generate().unwrap());
    let sn = time(20, || {
        SafetyNumber::compute(&x.public_key(), "alice", &y.public_key(), "bob");
    });
    console_log!("wasm safety number: {sn:.2} ms");
    let key = StorageKey::generate().unwrap();
    let wrapped = key.wrap(b"passphrase", &Argon2Params::default()).unwrap();
    let unlock = time(3, || {
        StorageKey::unwrap(&wrapped, b"passphrase").unwrap();
    });
    console_log!("wasm unlock (Argon2id 64 MiB, t=3, p=1): {unlock:.0} ms");
}

#[wasm_bindgen_test]
fn bench_opaque_login() {
    if !enabled() {
        return;
    }
    use estafette_crypto::{
        AccountSettings, ClientLogin, ClientRegistration, SegmentHeader, ServerLogin, ServerSetup,
        VaultContents,
    };
    let origin = "wss://relay.example.gouv.fr";
    let setup = ServerSetup::generate().unwrap();
    let (client, request) = ClientRegistration::start("alice", origin, b"passphrase").unwrap();
    let response = setup.start_registration("alice", &request).unwrap();
    let (record, export_key) = client.finish(&response).unwrap();
    let n = 5;
    let (mut client_ms, mut relay_ms) = (0.0, 0.0);
    for _ in 0..n {
        let t0 = now_ms();
        let (client, ke1) = ClientLogin::start("alice", origin, b"passphrase").unwrap();
        let t1 = now_ms();
        let (server, ke2) =
            ServerLogin::start(&setup, Some(&record), &ke1, "alice", origin).unwrap();
        let t2 = now_ms();
        let finish = client.finish(&ke2).unwrap();
        let t3 = now_ms();
        server.finish(&finish.ke3).unwrap();
        let t4 = now_ms();
        client_ms += (t1 - t0) + (t3 - t2);
        relay_ms += (t2 - t1) + (t4 - t3);
    }
    console_log!(
        "wasm opaque login: client {:.0} ms (Argon2id 64 MiB), relay side {:.2} ms",
        client_ms / n as f64,
        relay_ms / n as f64
    );
    let contents =
        VaultContents::new(Account::generate().unwrap(), AccountSettings::default()).unwrap();
    let vk = export_key.vault_key();
    let vault = vk.seal("alice", 1, &contents).unwrap();
    let open = time(1000, || {
        vk.open("alice", &vault).unwrap();
    });
    let entry = [&[0x58, 200][..], &[0x61; 200]].concat();
    let entries: Vec<&[u8]> = (0..100).map(|_| &entry[..]).collect();
    let header = SegmentHeader::drained(0);
    let segment = contents
        .history_key
        .seal_segment("alice", &header, &entries)
        .unwrap();
    let segment_open = time(1000, || {
        contents
            .history_key
            .open_segment("alice", &segment.bytes)
            .unwrap();
    });
    console_log!(
        "wasm vault open {:.3} ms, segment open (100 x 200 B) {:.3} ms",
        open,
        segment_open
    );
}
