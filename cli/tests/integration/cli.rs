//! The `sandcall` command line, run as a user would, against an embedded server.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn sandcall(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sandcall"))
        .args(args)
        .output()
        .expect("sandcall runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh folder for this test's files.
pub fn scratch(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sandcall-cli-{}-{test}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

pub const ADD: &str = r#"(module
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "swap") (param f64 i64) (result i64 f64) local.get 1 local.get 0)
  (func (export "spin") (loop br 0)))"#;

#[test]
fn the_seminar_script_runs_end_to_end() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/examples/seminar.sandcall");
    let out = sandcall(&["--embedded", "run", script.to_str().unwrap()]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"mode: sandboxed"), "{stdout}");
    // incr_foo → 11, then get Foo → 11, get Bar → 42, then the sorted bytes.
    let values: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.contains(':') && !l.starts_with(' '))
        .collect();
    assert_eq!(values[..3], ["11", "11", "42"], "{stdout}");
    assert!(
        lines.contains(&"01000000030000000500000009000000"),
        "{stdout}"
    );
    assert!(stdout.contains("scores (core module"), "{stdout}");
}

#[test]
fn run_stops_at_the_first_error_unless_keep_going() {
    let dir = scratch("errors");
    write(&dir, "add.wat", ADD);
    let script = write(
        &dir,
        "script.sandcall",
        "execute m add.wat\neval m nothing\neval m add 1 2\n",
    );
    let out = sandcall(&["--embedded", "run", script.to_str().unwrap()]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains(":2: error: not-found: "), "{stderr}");
    assert!(text(&out.stdout).is_empty(), "line 3 must not run");
    let out = sandcall(&[
        "--embedded",
        "run",
        "--keep-going",
        script.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "an error still fails the run");
    assert_eq!(text(&out.stdout).trim(), "3");
}

#[test]
fn call_uploads_and_calls_once_with_wave_values() {
    let dir = scratch("call");
    let file = write(&dir, "add.wat", ADD);
    let file = file.to_str().unwrap();
    let out = sandcall(&["--embedded", "call", file, "add", "40", "2"]);
    assert_eq!(text(&out.stdout).trim(), "42", "{}", text(&out.stderr));
    let out = sandcall(&[
        "--embedded",
        "call",
        file,
        "swap",
        "-1.5",
        "-9223372036854775808",
    ]);
    assert_eq!(text(&out.stdout).trim(), "(-9223372036854775808, -1.5)");
    let out = sandcall(&["--embedded", "call", file, "add", "1.5", "2"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("error: usage: `1.5` is not a i32"),
        "{}",
        text(&out.stderr)
    );
    let out = sandcall(&["--embedded", "call", file, "spin", "--fuel", "1000"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("error: out-of-fuel: "),
        "{}",
        text(&out.stderr)
    );
    // The default session meters CPU time.
    let out = sandcall(&["--embedded", "call", file, "spin", "--cpu-ms", "20"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with("error: cpu-time-exceeded: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn shell_reads_commands_from_standard_input() {
    let dir = scratch("shell");
    let file = write(&dir, "add.wat", ADD);
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandcall"))
        .args(["--embedded", "shell"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let input = format!(
        "execute m {}\neval m add 20 22\neval m nothing\n# a comment\neval m add 1 1\nquit\n",
        file.display()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    // The line after `execute`: kind, exports, compile time or cache hit.
    assert!(
        lines[0].starts_with("m: core module, exports add, swap, spin; "),
        "{stdout}"
    );
    assert!(
        lines[0].contains("compiled in") || lines[0].contains("cache hit"),
        "{stdout}"
    );
    assert_eq!(lines[1..], ["42", "2"]);
    assert!(
        text(&out.stderr).contains("error: not-found: "),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn help_explains_the_commands() {
    let out = sandcall(&["--help"]);
    let help = text(&out.stdout);
    for word in ["--embedded", "--server", "run", "shell", "call", "info"] {
        assert!(help.contains(word), "{word} missing from:\n{help}");
    }
    let out = sandcall(&["run", "--help"]);
    assert!(text(&out.stdout).contains("execute NAME PATH"));
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // A port the system just handed out and this test closed again:
    // nothing listens there (no fixed port is assumed to be free).
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .to_string();
    let out = sandcall(&["--server", &addr, "info"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).starts_with(&format!("error: connection: cannot connect to {addr}")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn components_take_and_print_wave_values_typed_by_their_signature() {
    let sort = sandcall_guests::SORT;
    let out = sandcall(&["--embedded", "call", sort, "quick-sort", "[5, 3, 9, 1]"]);
    assert_eq!(text(&out.stdout), "[1, 3, 5, 9]\n", "{}", text(&out.stderr));
    let out = sandcall(&["--embedded", "call", sort, "quick-sort", "[5, x]"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: usage: `[5, x]` is not a list<s32>"),
        "{stderr}"
    );
    let out = sandcall(&["--embedded", "call", sort, "quick-sort", "[1]", "[2]"]);
    assert!(text(&out.stderr).contains("func(data: list<s32>) -> list<s32>"));

    // --input: a list far too long for a command line, read from a file.
    let dir = scratch("input");
    let data: Vec<i64> = (0..200_000)
        .map(|i| (i * 7919) % 100_003 - 50_000)
        .collect();
    let words: Vec<String> = data.iter().map(|v| v.to_string()).collect();
    let input = write(&dir, "data.wave", &format!("[{}]\n", words.join(",\n ")));
    let out = sandcall(&[
        "--embedded",
        "call",
        sort,
        "sort-unstable",
        "--input",
        input.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let back: Vec<i64> = printed
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .map(|v| v.parse().unwrap())
        .collect();
    let mut expected = data.clone();
    expected.sort_unstable();
    assert_eq!(back, expected);
}

#[test]
fn a_script_drives_a_component_through_a_trap_and_a_reset() {
    let dir = scratch("reset");
    let script = write(
        &dir,
        "values.sandcall",
        &format!(
            "execute v {}\n\
             eval v echo-record {{x: 1, y: -2, label: \"a b\"}}\n\
             eval v echo-variant circle(2.5)\n\
             eval v echo-flags {{read, exec}}\n\
             eval v echo-option none\n\
             eval v upper \"straße\"\n\
             eval v bump\n\
             eval v crash \"boom\"\n\
             eval v bump\n\
             reset v\n\
             eval v bump\n",
            sandcall_guests::VALUES
        ),
    );
    let out = sandcall(&[
        "--embedded",
        "run",
        "--keep-going",
        script.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[..6],
        [
            "{x: 1, y: -2, label: \"a b\"}",
            "circle(2.5)",
            "{read, exec}",
            "none",
            "\"STRASSE\"",
            "1"
        ],
        "{stdout}\n{stderr}"
    );
    assert!(stderr.contains(":8: error: trap: "), "{stderr}");
    assert!(stderr.contains(":9: error: poisoned: "), "{stderr}");
    assert!(lines[6].starts_with("v (component "), "{stdout}");
    assert_eq!(
        lines.last(),
        Some(&"1"),
        "reset gives a fresh instance: {stdout}"
    );
}

#[test]
fn compare_prints_both_tables_with_every_attack_as_expected() {
    let out = sandcall(&["--embedded", "compare", "--quick"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(stdout.contains(
        "| attack | what it does | sandboxed (CPU budget) | sandboxed (fuel) | unrestricted |"
    ));
    for attack in sandcall_cli::corpus::Attack::ALL {
        assert!(
            stdout.contains(&format!("| {} |", attack.name())),
            "{stdout}"
        );
    }
    assert!(stdout.contains(
        "| sort | N | sandboxed (CPU budget) | sandboxed (fuel) | unrestricted | native |"
    ));
    for row in [
        "bubble-sort | 1,000",
        "quick-sort | 100,000",
        "sort-unstable | 100,000",
    ] {
        assert!(stdout.contains(&format!("| {row} |")), "{row}: {stdout}");
    }
    // The planted file was read in unrestricted mode only.
    assert!(stdout.contains("read ") && stdout.contains("bytes of ./secret.txt"));
    assert!(stdout.contains("denied: path_open failed"));
    assert!(!stdout.contains('⚠'), "{stdout}");
}

#[test]
fn mode_unrestricted_needs_a_server_that_allows_it() {
    // The embedded server offers it when asked for on the command line.
    let out = sandcall(&["--embedded", "--mode", "unrestricted", "info"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(stdout.contains("mode: unrestricted"), "{stdout}");
    assert!(stdout.contains("fuel per call: none"), "{stdout}");
    let out = sandcall(&["--embedded", "info"]);
    assert!(text(&out.stdout).contains("mode: sandboxed"));
}
