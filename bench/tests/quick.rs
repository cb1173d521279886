//! `sandcall-bench --quick`, end to end, as part of `make test`: every
//! section runs small against real servers (the `sandcall-server` binary
//! beside it, a raw TCP echo, TLS; the Python client when `make python` has
//! set up its virtualenv, else its row says why it was skipped), and the
//! run fails only on a real error
//! such as a wrong sort or a server that will not start. No timing is
//! asserted: the figures of a noisy machine are reported, not tested.
//! Being a test, it is built with the rest of the workspace's tests.

use std::path::Path;
use std::process::Command;

#[test]
fn the_quick_bench_runs_every_section() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-quick");
    let run = Command::new(env!("CARGO_BIN_EXE_sandcall-bench"))
        .arg("--quick")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("the bench starts");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the bench failed:\n{stderr}");
    let table = String::from_utf8_lossy(&run.stdout);
    for section in [
        "1 calls",
        "3 sorts",
        "4 native",
        "5b memory",
        "7 TLS",
        "8 Python",
    ] {
        assert!(
            table.contains(&format!("| {section}")),
            "no row of section {section:?} in:\n{table}"
        );
    }
    let results = std::fs::read_to_string(out.join("results.md")).expect("results.md written");
    assert!(results.contains("## Targets"), "{results}");
    assert!(out.join("sorts.svg").exists());
}

/// `sandcall-load --quick`: a few connections on the server binary, every
/// answer checked; its last line says how many were lost (none may be).
#[test]
fn the_quick_load_loses_nothing() {
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/load-quick");
    let run = Command::new(env!("CARGO_BIN_EXE_sandcall-load"))
        .arg("--quick")
        .arg("--out")
        .arg(&out)
        .output()
        .expect("the load generator starts");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "the load failed:\n{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let words: Vec<&str> = last.split_whitespace().collect();
    // load: C connections, N calls, E errors, L lost
    assert!(
        matches!(
            words.as_slice(),
            [
                "load:",
                _,
                "connections,",
                _,
                "calls,",
                "0",
                "errors,",
                "0",
                "lost"
            ]
        ),
        "{stdout}\n{stderr}"
    );
    let calls: u64 = words[3].parse().expect("a count of calls");
    assert!(calls > 0, "{last}");
    assert!(out.join("load.md").exists());
}
