//! The relay's code stays navigable: no import circles between its modules,
//! no source file over 600 lines. `cargo run -p estafette-testkit --bin
//! module-graph -- relay/src/lib.rs` prints the graph.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use estafette_testkit::{ModuleGraph, files_over};

#[test]
fn no_module_of_the_relay_uses_one_that_uses_it() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = ModuleGraph::of_crate(&src.join("lib.rs")).unwrap();
    // The walk reached the modules (a broken walk finds no circle either).
    assert!(graph.module_count() > 30, "{graph}");
    assert!(
        graph
            .uses("session::run")
            .contains(&"session::dispatch".to_owned())
    );
    assert!(
        graph.cycles().is_empty(),
        "import circles: {:?}\n{graph}",
        graph.cycles()
    );
}

#[test]
fn no_source_file_of_the_relay_is_over_600_lines() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let long = files_over(&src, 600).unwrap();
    assert!(long.is_empty(), "{long:?}");
}
