//! One short real run: `estafette-load` against the relay binary on port 0,
//! every phase, read back from what it prints.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The relay binary, built by cargo like any other target (a no-op when it
/// is fresh; `cargo test --workspace` has built it already).
fn relay_binary() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new(env!("CARGO"))
        .current_dir(&workspace)
        .args([
            "build",
            "--quiet",
            "-p",
            "estafette-relay",
            "--bin",
            "estafette-relay",
            "--message-format=json",
        ])
        .output()
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "cannot build the relay: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|m| m["target"]["name"] == "estafette-relay" && m["executable"].is_string())
        .and_then(|m| m["executable"].as_str().map(PathBuf::from))
        .expect("cargo names the relay's executable")
}

/// The number after `label` on its line of `out` (`  accepted in window : 200 msg/s`).
fn figure(out: &str, label: &str) -> f64 {
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label:?} line in:\n{out}"));
    // After the label (which may hold a colon, "1:1") and its colon.
    let after = line.trim_start()[label.len()..].split_once(':').unwrap().1;
    after
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no figure in {line:?}"))
}

#[test]
fn a_short_run_measures_every_phase_and_judges_the_goals() {
    let relay = relay_binary();
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_estafette-load"))
        .arg("--relay-bin")
        .arg(&relay)
        .arg("--tmp-dir")
        .arg(tmp.path())
        .args([
            "--pairs",
            "2",
            "--rate",
            "200",
            "--duration",
            "2",
            "--warmup",
            "1",
            "--group-members",
            "3",
            "--group-rate",
            "5",
            "--storage-messages",
            "50",
            "--idle",
            "4",
            "--idle-hold",
            "1",
            "--sources",
            "2",
            "--threads",
            "2",
        ])
        .output()
        .expect("estafette-load runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    for section in [
        "==== traffic ====",
        "==== group ====",
        "==== group storage ====",
        "==== idle ====",
        "==== goals ====",
    ] {
        assert!(stdout.contains(section), "no {section} in:\n{stdout}");
    }
    // 200 msg/s offered for 2 s: on any machine most of it is accepted and delivered.
    let accepted = figure(&stdout, "accepted in window");
    assert!(
        (100.0..=220.0).contains(&accepted),
        "accepted {accepted} msg/s:\n{stdout}"
    );
    assert!(figure(&stdout, "delivered in window") > 0.0, "{stdout}");
    assert!(
        stdout.contains("  errors                   : none"),
        "{stdout}"
    );
    assert!(!stdout.contains("sockets lost"), "{stdout}");
    // A group message is stored once, not once per member.
    let group = figure(&stdout, "as group messages");
    assert!(
        group > 0.0 && figure(&stdout, "as 1:1 copies") > group,
        "{stdout}"
    );
    assert_eq!(figure(&stdout, "still open after hold"), 4.0, "{stdout}");
    assert!(stdout.contains("not tested (offered 200 msg/s"), "{stdout}");
    assert!(stdout.contains("not tested (3 members"), "{stdout}");
    assert!(stdout.contains("not tested (4 sockets open"), "{stdout}");
    // The data directory is removed afterwards.
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn a_run_with_nothing_to_do_or_no_relay_fails_with_a_message() {
    let load = env!("CARGO_BIN_EXE_estafette-load");
    let out = Command::new(load).args(["--pairs", "0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to do"));
    let out = Command::new(load)
        .args(["--relay-bin", "/nonexistent/estafette-relay"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no relay binary at /nonexistent"));
}
