//! Script lines run on a session against a real server, as `sandcall run`
//! and the shell run them: the seed script (`fuzz/seeds/scripts/`) line by
//! line, mutations of its lines, and lines put together from commands,
//! instance and export names and values. Each is answered within a bound
//! with an outcome or a `CommandError`; never a panic. Afterwards the
//! session still runs a normal call.

use super::harness::{fuzz, lock, take};
use super::seeds_dir;
use super::words::line;
use crate::server;
use proptest::collection::vec;
use proptest::prelude::*;
use sandcall::Connection;
use sandcall_cli::script::Session;
use std::sync::Mutex;
use std::time::Duration;

/// The longest a line may take before it counts as a hang (calls are
/// bounded by fuel and the deadline; modules are small).
const HANG: Duration = Duration::from_secs(60);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// `t` (the seed module) and `v` (the values guest), afresh.
async fn setup(session: &mut Session) {
    session
        .connection()
        .execute_with("v", sandcall_guests::values(), true)
        .await
        .unwrap();
    for line in ["execute t ../modules/tools.wat --replace", "ns"] {
        session.run_line(line).await.unwrap();
    }
}

/// Runs `line` within [`HANG`]; then, after a command that changes
/// instances, puts `t` and `v` back.
async fn run(session: &mut Session, line: &str) -> Result<(), String> {
    // `--input -` reads standard input, which a test must not wait on.
    if line.contains("--input") {
        return Ok(());
    }
    tokio::time::timeout(HANG, session.run_line(line))
        .await
        .map_err(|_| format!("{line:?} hung"))?
        .map(drop)
        .or_else(|e| match e.to_string().is_empty() {
            true => Err(format!("{line:?}: an error without a message")),
            false => Ok(()),
        })?;
    let first = line.split_whitespace().next().unwrap_or("");
    if ["drop", "execute", "reset", "register", "ns", "set", "write"].contains(&first) {
        setup(session).await;
    }
    Ok(())
}

async fn session(server: &sandcall_server::EmbeddedServer) -> Session {
    let conn = Connection::connect(server.addr()).await.expect("connects");
    let mut session = Session::new(conn, seeds_dir().join("scripts"));
    setup(&mut session).await;
    session
}

fn seed_lines() -> Vec<String> {
    let path = seeds_dir().join("scripts/session.sandcall");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(String::from)
        .collect()
}

/// The session still runs a normal call.
async fn still_serves(session: &mut Session) {
    setup(session).await;
    let outcome = session.run_line("eval t add 2 40").await.unwrap();
    let results = outcome.call.map(|c| c.results);
    assert_eq!(results, Some(vec!["42".to_string()]));
}

#[test]
fn the_seed_script_runs_and_mutated_lines_fail_cleanly() {
    let rt = runtime();
    let server = rt.block_on(server());
    let session = Mutex::new(rt.block_on(session(&server)));
    let lines = seed_lines();
    for line in &lines {
        let outcome = rt.block_on(lock(&session).run_line(line));
        assert!(outcome.is_ok(), "seed line {line:?}: {outcome:?}");
    }
    let mutated = (
        proptest::sample::select(lines),
        vec((any::<proptest::sample::Index>(), line()), 1..3),
    )
        .prop_map(|(line, edits)| {
            // Each edit puts a piece of text at some char boundary.
            let mut line = line;
            for (at, piece) in edits {
                let bounds: Vec<usize> = line
                    .char_indices()
                    .map(|(i, _)| i)
                    .chain([line.len()])
                    .collect();
                let at = bounds[at.index(bounds.len())];
                let cut = piece.len() % 3;
                let end = bounds
                    .iter()
                    .copied()
                    .find(|&b| b >= at + cut)
                    .unwrap_or(line.len());
                line.replace_range(at..end, &piece);
            }
            line
        });
    fuzz("mutated script lines", 3000, mutated, |line| {
        let done = rt.block_on(run(&mut lock(&session), &line));
        prop_assert!(done.is_ok(), "{done:?}");
        Ok(())
    });
    rt.block_on(still_serves(&mut take(session)));
}

/// A word of a generated line.
fn word() -> impl Strategy<Value = String> {
    let known = proptest::sample::select(vec![
        "t",
        "v",
        "lib",
        "add",
        "apply",
        "bump",
        "load",
        "grow",
        "counter",
        "memory",
        "echo-record",
        "echo-list-u8",
        "echo-flags",
        "echo-option",
        "upper",
        "many",
        "0",
        "1",
        "-1",
        "4294967296",
        "18446744073709551615",
        "0x",
        "0xzz",
        "00ff",
        "0xé1",
        "é0",
        "aé0f",
        "[1, 2]",
        "{x: 1}",
        "\"s\"",
        "'c'",
        "none",
        "some(1)",
        "--fuel",
        "--fuel=0",
        "--deadline-ms",
        "1",
        "--",
        "--replace",
        "nan",
        "-inf",
    ])
    .prop_map(String::from);
    prop_oneof![4 => known, 1 => line(), 1 => "[0-9a-fé]{0,6}"]
}

#[test]
fn generated_script_lines_run_or_fail_cleanly() {
    let rt = runtime();
    let server = rt.block_on(server());
    let session = Mutex::new(rt.block_on(session(&server)));
    let command = proptest::sample::select(vec![
        "eval", "eval", "eval", "get", "set", "read", "write", "drop", "reset", "register", "ns",
        "info", "help", "execute", "call", "#", "",
    ]);
    let lines = (command, vec(word(), 0..5)).prop_map(|(command, words)| {
        std::iter::once(command.to_string())
            .chain(words)
            .collect::<Vec<_>>()
            .join(" ")
    });
    fuzz("generated script lines", 2500, lines, |line| {
        let done = rt.block_on(run(&mut lock(&session), &line));
        prop_assert!(done.is_ok(), "{done:?}");
        Ok(())
    });
    rt.block_on(still_serves(&mut take(session)));
}

/// Crashes the fuzzing found, each now a clean answer: hex bytes with a
/// multi-byte character (`write` sliced it mid-char), and a WAVE value
/// ending in `//` (`wasm-wave`'s lexer unwrapped the missing line end).
#[test]
fn lines_that_crashed_the_cli_are_answered() {
    let rt = runtime();
    let server = rt.block_on(server());
    let mut session = rt.block_on(session(&server));
    rt.block_on(async {
        for line in ["write t 0 aé0f", "write t 0 0xé1", "write t 0 +f"] {
            let e = session.run_line(line).await.unwrap_err();
            assert!(e.message.contains("is not hex bytes"), "{line}: {e}");
        }
        let outcome = session.run_line("eval v echo-s32 7//").await.unwrap();
        assert_eq!(outcome.call.map(|c| c.results), Some(vec!["7".into()]));
        let outcome = session.run_line("eval v echo-list-f64 [1e-300]//").await;
        let results = outcome.unwrap().call.unwrap().results;
        assert!(results[0].ends_with("0001]"), "{results:?}");
        let e = session.run_line("set t counter //").await.unwrap_err();
        assert_eq!(e.kind, "usage", "{e}");
    });
}
