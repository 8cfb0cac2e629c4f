//! The store suite natively, on the in-memory backend.
#![cfg(not(target_arch = "wasm32"))]

mod suite;

use estafette_client::store::{MemoryStore, Vault};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

#[test]
fn memory_records_round_trip_and_scan_in_key_order() {
    block_on(suite::records_round_trip_and_scan_in_key_order(
        &MemoryStore::new(),
    ));
}

#[test]
fn memory_vault_seals_every_record() {
    block_on(suite::the_vault_seals_every_record(&Vault::new(
        MemoryStore::new(),
    )));
}

#[test]
fn memory_erase_leaves_no_record() {
    let vault = Vault::new(MemoryStore::new());
    block_on(suite::erasing_forgets_the_key_and_the_records(&vault));
    assert!(vault.raw().is_empty());
}
