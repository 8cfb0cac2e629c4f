//! `module-graph <crate root file>`: prints a crate's module edges and its
//! import circles; exits 1 if it has any.

use std::path::PathBuf;
use std::process::ExitCode;

use estafette_testkit::ModuleGraph;

fn main() -> ExitCode {
    let Some(root) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: module-graph <path/to/src/lib.rs>");
        return ExitCode::from(2);
    };
    let graph = match ModuleGraph::of_crate(&root) {
        Ok(graph) => graph,
        Err(error) => {
            eprintln!("module-graph: {error}");
            return ExitCode::from(2);
        }
    };
    print!("{graph}");
    let cycles = graph.cycles();
    if cycles.is_empty() {
        println!("{} modules, no import circle", graph.module_count());
        return ExitCode::SUCCESS;
    }
    for cycle in cycles {
        println!("import circle: {}", cycle.join(" <-> "));
    }
    ExitCode::FAILURE
}
