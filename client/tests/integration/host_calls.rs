//! Bounds that reach into host calls and the engine (issue "every resource
//! bounded", findings 7 and 8): a guest sleeping in WASI is cut off at its
//! deadline and at shutdown, a client that never reads does not hold
//! shutdown, the wasm proposals are exactly those `info` lists, and
//! sandboxed WASI clocks and randomness are virtual.

use crate::common::{connect, server};
use sandcall::{ErrorKind, Eval, Request, Value};
use std::time::{Duration, Instant};

/// `sleep(ns)`: one WASI `poll_oneoff` on a relative monotonic-clock
/// subscription of `ns` nanoseconds; returns the WASI errno (0: slept).
const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "sleep") (param $ns i64) (result i32)
    (i64.store (i32.const 0) (i64.const 7))      ;; userdata
    (i32.store8 (i32.const 8) (i32.const 0))     ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))     ;; clock id: monotonic
    (i64.store (i32.const 24) (local.get $ns))   ;; timeout
    (i64.store (i32.const 32) (i64.const 0))     ;; precision
    (i32.store16 (i32.const 40) (i32.const 0))   ;; flags: relative
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#;

fn sleep(ns: i64, deadline_ms: Option<u64>) -> Eval {
    Eval {
        name: "sleeper".into(),
        export: "sleep".into(),
        args: vec![Value::I64(ns)],
        fuel: None,
        deadline_ms,
        cpu_ms: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasi_sleep_is_cut_at_the_deadline() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sleeper", SLEEPER).await.unwrap();
    // A short sleep within its deadline sleeps and returns errno 0.
    let slept = conn
        .eval_with(sleep(10_000_000, Some(5_000)))
        .await
        .unwrap();
    assert_eq!(slept.results, [Value::I32(0)]);
    assert!(slept.guest_ns >= 10_000_000, "slept {} ns", slept.guest_ns);

    // 3 s of sleep with a 100 ms deadline: before, it returned after 3 s.
    let started = Instant::now();
    let e = conn
        .eval_with(sleep(3_000_000_000, Some(100)))
        .await
        .unwrap_err();
    let took = started.elapsed();
    assert_eq!(e.kind(), Some(ErrorKind::DeadlineExceeded), "{e}");
    assert!(e.to_string().contains("deadline of 100 ms"), "{e}");
    assert!(took < Duration::from_millis(1_500), "cut after {took:?}");
    // The instance is still usable (a core module keeps its state).
    let again = conn.eval_with(sleep(1_000, Some(5_000))).await.unwrap();
    assert_eq!(again.results, [Value::I32(0)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_cuts_a_wasi_sleep() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sleeper", SLEEPER).await.unwrap();
    // 50 s of sleep under a 60 s deadline: only shutdown can end it early.
    let call =
        tokio::spawn(async move { conn.eval_with(sleep(50_000_000_000, Some(60_000))).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("the server stops while its guest sleeps")
        .unwrap();
    let took = started.elapsed();
    let e = call.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ShuttingDown), "{e}");
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_does_not_hold_shutdown() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("mem", r#"(module (memory (export "memory") 16))"#)
        .await
        .unwrap();
    // 400 reads of 1 MiB each, pipelined, none of the answers read: the
    // socket's buffers fill and the server's writes block.
    let read = Request::ReadMemory(sandcall_protocol::MemoryRead {
        name: "mem".into(),
        memory: None,
        offset: 0,
        len: 1 << 20,
    });
    for _ in 0..400 {
        conn.send(&read).await.unwrap();
    }
    conn.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(20), server.stop())
        .await
        .expect("the server stops although its client does not read")
        .unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(6), "shutdown took {took:?}");
    drop(conn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_listed_wasm_proposals_are_accepted() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let features = conn.info().await.unwrap().features;
    for listed in ["multi-memory", "simd", "tail-call", "function-references"] {
        assert!(features.iter().any(|f| f == listed), "{features:?}");
    }
    for (proposal, wat) in [
        ("multi-memory", "(module (memory 1) (memory 1))"),
        (
            "tail-call",
            "(module (func $f (result i32) (i32.const 1)) (func (result i32) (return_call $f)))",
        ),
        (
            "simd",
            "(module (func (result v128) (v128.const i32x4 1 2 3 4)))",
        ),
    ] {
        conn.validate(wat)
            .await
            .unwrap_or_else(|e| panic!("{proposal} refused: {e}"));
    }
    for (proposal, wat) in [
        (
            "gc",
            "(module (type (struct (field i32))) (func (result (ref null 0)) (ref.null 0)))",
        ),
        ("exceptions", "(module (tag (param i32)))"),
    ] {
        assert!(features.iter().any(|f| f == proposal), "{features:?}");
        conn.validate(wat)
            .await
            .unwrap_or_else(|e| panic!("{proposal} refused: {e}"));
    }
    for (proposal, wat) in [
        ("memory64", "(module (memory i64 1))"),
        (
            "relaxed-simd",
            "(module (func (param v128 v128 v128) (result v128)
               (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))",
        ),
        (
            "wide-arithmetic",
            "(module (func (param i64 i64 i64 i64) (result i64 i64)
               (i64.add128 (local.get 0) (local.get 1) (local.get 2) (local.get 3))))",
        ),
    ] {
        assert!(
            !features.iter().any(|f| f == proposal),
            "{proposal} in {features:?}"
        );
        let e = conn.validate(wat).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::InvalidModule), "{proposal}: {e}");
    }
}

/// `wall()`, `mono()`: WASI clock readings in ns; `random(n)`: the first 8
/// of `n` random bytes as an i64.
const CLOCKS: &str = r#"(module
  (import "wasi_snapshot_preview1" "clock_time_get"
    (func $time (param i32 i64 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get"
    (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func $read (param $clock i32) (result i64)
    (drop (call $time (local.get $clock) (i64.const 1) (i32.const 0)))
    (i64.load (i32.const 0)))
  (func (export "wall") (result i64) (call $read (i32.const 0)))
  (func (export "mono") (result i64) (call $read (i32.const 1)))
  (func (export "random") (param $n i32) (result i64)
    (drop (call $random (i32.const 64) (local.get $n)))
    (i64.load (i32.const 64))))"#;

#[tokio::test(flavor = "multi_thread")]
async fn sandboxed_clocks_and_randomness_are_virtual() {
    let server = server().await;
    // Two instances, two stores: the same readings, whatever the host's time.
    let mut readings = Vec::new();
    for name in ["a", "b"] {
        let mut conn = connect(&server).await;
        conn.execute(name, CLOCKS).await.unwrap();
        let wall = conn.eval(name, "wall", &[]).await.unwrap();
        let first = conn.eval(name, "mono", &[]).await.unwrap();
        let second = conn.eval(name, "mono", &[]).await.unwrap();
        let random = conn.eval(name, "random", &[Value::I32(64)]).await.unwrap();
        readings.push((wall, first, second, random));
    }
    let (wall, first, second, random) = &readings[0];
    assert_eq!(wall, &[Value::I64(0)], "the wall clock reads the epoch");
    let (Value::I64(first), Value::I64(second)) = (&first[0], &second[0]) else {
        panic!("{first:?} {second:?}");
    };
    assert!(
        second > first,
        "the monotonic clock moves: {first} then {second}"
    );
    assert!(
        second - first < 1_000_000,
        "by virtual steps: {first} then {second}"
    );
    assert_ne!(random, &[Value::I64(0)]);
    assert_eq!(
        readings[0], readings[1],
        "every store sees the same sequence"
    );
}
