//! Sandboxed and unrestricted mode: who may ask for which, what each
//! reports, and that they share no compiled code.

use crate::{connect_in, server, server_allowing_unrestricted};
use sandcall::{ErrorKind, Eval, Mode, Value};
use sandcall_cli::corpus::modules::{HEAVY_LOOP, INFINITE_LOOP};
use sandcall_server::LimitConfig;
use std::time::Duration;

fn eval(name: &str, export: &str, args: Vec<Value>) -> Eval {
    Eval {
        name: name.into(),
        export: export.into(),
        args,
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    }
}

#[tokio::test]
async fn unrestricted_mode_is_refused_unless_the_server_allows_it() {
    let server = server().await;
    let e = connect_in(&server, Mode::Unrestricted).await.err().unwrap();
    assert_eq!(e.kind(), Some(ErrorKind::Unsupported), "{e}");
    assert!(e.to_string().contains("--allow-unrestricted"), "{e}");
    // Sandboxed mode is always there.
    let conn = connect_in(&server, Mode::Sandboxed).await.unwrap();
    assert_eq!(conn.server_info().mode, Mode::Sandboxed);
}

#[tokio::test]
async fn unrestricted_mode_reports_no_limits_and_meters_no_fuel() {
    let dir = std::env::temp_dir();
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    let mut conn = connect_in(&server, Mode::Unrestricted).await.unwrap();
    let limits = &conn.server_info().limits;
    assert_eq!(conn.server_info().mode, Mode::Unrestricted);
    assert_eq!(limits.default_fuel, None);
    assert_eq!(limits.default_deadline_ms, None);
    assert_eq!(limits.memory_bytes, None);
    assert_eq!(limits.table_elements, None);
    assert_eq!(limits.functions_per_module, None);
    let sandboxed = connect_in(&server, Mode::Sandboxed).await.unwrap();
    let strict = &sandboxed.server_info().limits;
    assert!(strict.default_cpu_ms.is_some() && strict.memory_bytes.is_some());
    assert_eq!(limits.default_cpu_ms, None);
    assert!(strict.functions_per_module.is_some());

    conn.execute("loop", INFINITE_LOOP).await.unwrap();
    let mut metered = eval("loop", "run", vec![]);
    metered.fuel = Some(1000);
    let e = conn.eval_with(metered).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    // A deadline the client asks for still holds.
    let mut bounded = eval("loop", "run", vec![]);
    bounded.deadline_ms = Some(50);
    let e = conn.eval_with(bounded).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::DeadlineExceeded), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_modes_share_no_compiled_code() {
    let dir = std::env::temp_dir();
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    // 1e9 steps: far more than the default CPU time, ~2 s unmetered.
    let steps = Value::I64(1_000_000_000);
    let mut sandboxed = connect_in(&server, Mode::Sandboxed).await.unwrap();
    let first = sandboxed.execute("heavy", HEAVY_LOOP).await.unwrap();
    let e = sandboxed
        .call("heavy", "run", vec![steps.clone()])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::CpuTimeExceeded), "{e}");

    // The same bytes (same cache key) in unrestricted mode run unmetered:
    // the code compiled above for CPU budgets was not reused.
    let mut unrestricted = connect_in(&server, Mode::Unrestricted).await.unwrap();
    let second = unrestricted.execute("heavy", HEAVY_LOOP).await.unwrap();
    assert_eq!(first.module_hash, second.module_hash);
    let answer = unrestricted
        .call("heavy", "run", vec![steps.clone()])
        .await
        .unwrap();
    assert_eq!(answer.fuel_used, 0);
    assert_eq!(
        answer.results,
        [Value::I64(sandcall_cli::corpus::modules::lcg(
            1_000_000_000
        ))]
    );

    // And back: unmetered code compiled for unrestricted mode is not reused
    // by a sandboxed session either.
    sandboxed.drop_instance("heavy").await.unwrap();
    sandboxed.execute("heavy", HEAVY_LOOP).await.unwrap();
    let e = sandboxed
        .call("heavy", "run", vec![steps])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::CpuTimeExceeded), "{e}");
}

#[tokio::test]
async fn imports_other_than_wasi_are_refused_in_both_modes() {
    let dir = std::env::temp_dir();
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    let wat = r#"(module (import "env" "system" (func (param i32))))"#;
    for mode in [Mode::Sandboxed, Mode::Unrestricted] {
        let mut conn = connect_in(&server, mode).await.unwrap();
        let e = conn.execute("m", wat).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::LinkError), "{e}");
        assert!(e.to_string().contains("env::system"), "{e}");
        // WASI itself links, even with nothing granted.
        let wasi = r#"(module (import "wasi_snapshot_preview1" "proc_exit"
            (func $exit (param i32))) (memory (export "memory") 1)
            (func (export "quit") (call $exit (i32.const 3))))"#;
        conn.execute("w", wasi).await.unwrap();
        let e = conn.call("w", "quit", vec![]).await.unwrap_err();
        let remote = e.remote().unwrap();
        assert_eq!(remote.kind, ErrorKind::Trap, "{e}");
        assert!(remote.message.contains("proc_exit(3)"), "{e}");
        // A WASI call that fails inside the host is a trap, not a link error.
        let no_memory = r#"(module (import "wasi_snapshot_preview1" "proc_exit"
            (func $exit (param i32))) (func (export "quit") (call $exit (i32.const 3))))"#;
        conn.execute("n", no_memory).await.unwrap();
        let e = conn.call("n", "quit", vec![]).await.unwrap_err();
        let remote = e.remote().unwrap();
        assert_eq!(remote.trap.as_deref(), Some("host_error"), "{e}");
        assert!(remote.message.contains("memory"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_an_unrestricted_guest_that_would_never_end() {
    let dir = std::env::temp_dir();
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    let mut conn = connect_in(&server, Mode::Unrestricted).await.unwrap();
    conn.execute("loop", INFINITE_LOOP).await.unwrap();
    let call = tokio::spawn(async move { conn.call("loop", "run", vec![]).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // No deadline would ever end this call; shutdown must interrupt it.
    tokio::time::timeout(Duration::from_secs(30), server.stop())
        .await
        .expect("the server stops")
        .unwrap();
    let e = call.await.unwrap().unwrap_err();
    // Told apart from a deadline: the kind and the message say shutdown.
    assert_eq!(e.kind(), Some(ErrorKind::ShuttingDown), "{e}");
    assert!(!e.to_string().contains("deadline"), "{e}");
}
