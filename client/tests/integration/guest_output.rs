//! Guest output: what guests write to WASI stdout and stderr comes back
//! with the answer or the error, bounded by the server's `output_bytes`.

use crate::common::{connect, connect_in, server, server_allowing_unrestricted, server_with};
use sandcall::{ConnectOptions, Connection, ErrorKind, Eval, Mode, Value};
use sandcall_server::LimitConfig;
use std::time::{Duration, Instant};

/// A core module (WASI preview 1) that prints, traps and floods.
const PRINTER: &str = r#"
(module $printer
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (data (i32.const 16) "hello stdout\n")
  (data (i32.const 64) "thread 'main' panicked at src/lib.rs:3:5:\noops: something broke\n")
  ;; write `len` bytes at `ptr` to `fd`, through an iovec at 0
  (func $write (param $fd i32) (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "hello")
    (call $write (i32.const 1) (i32.const 16) (i32.const 13)))
  (func (export "greet") (result i32)
    (call $write (i32.const 1) (i32.const 16) (i32.const 13))
    (call $write (i32.const 2) (i32.const 64) (i32.const 64))
    i32.const 7)
  (func $fail_deep_inside
    (call $write (i32.const 2) (i32.const 64) (i32.const 64))
    unreachable)
  (func (export "fail") call $fail_deep_inside)
  ;; write the second page (64 KiB) to stdout `times` times; returns 0
  (func (export "flood") (param $times i32) (result i32)
    (block $done (loop $again
      (br_if $done (i32.eqz (local.get $times)))
      (call $write (i32.const 1) (i32.const 65536) (i32.const 65536))
      (local.set $times (i32.sub (local.get $times) (i32.const 1)))
      (br $again)))
    i32.const 0)
)
"#;

/// A module whose start function prints.
const STARTER: &str = r#"
(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "started\n")
  (func $start
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 8))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (start $start)
  (func (export "nothing"))
)
"#;

fn eval(export: &str, args: Vec<Value>, deadline_ms: Option<u64>) -> Eval {
    Eval {
        name: "p".into(),
        export: export.into(),
        args,
        fuel: None,
        deadline_ms,
        cpu_ms: None,
    }
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test]
async fn stdout_and_stderr_come_back_with_the_result() {
    let server = server().await;
    let mut conn = connect(&server).await;
    assert_eq!(conn.server_info().limits.output_bytes, 64 << 10);
    conn.execute("p", PRINTER).await.unwrap();
    let answer = conn.eval_with(eval("greet", vec![], None)).await.unwrap();
    assert_eq!(answer.results, vec![Value::I32(7)]);
    assert_eq!(answer.output.stdout, b"hello stdout\n");
    assert!(
        answer.output.stderr.ends_with(b"oops: something broke\n"),
        "{:?}",
        String::from_utf8_lossy(&answer.output.stderr)
    );
    assert_eq!(answer.output.dropped, 0);
    // Each call gets its own output.
    let quiet = conn
        .eval_with(eval("flood", vec![Value::I32(0)], None))
        .await;
    assert!(quiet.unwrap().output.is_empty());
}

#[tokio::test]
async fn a_start_function_prints_into_the_execute_answer_which_tells_cache_hits() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let first = conn.execute("s", STARTER).await.unwrap();
    assert_eq!(first.output.stdout, b"started\n");
    assert!(!first.cache_hit);
    assert!(first.compile_ns > 0);
    let second = conn.execute("t", STARTER).await.unwrap();
    assert_eq!(second.output.stdout, b"started\n");
    assert!(second.cache_hit, "the same bytes again come from the cache");
    // A hit only hashes and looks up: far less than the compile.
    assert!(
        second.compile_ns < first.compile_ns,
        "hit {} ns, compile {} ns",
        second.compile_ns,
        first.compile_ns
    );
    let reset = conn.reset("s").await.unwrap();
    assert_eq!(reset.output.stdout, b"started\n");
    let listed = conn.namespace().await.unwrap();
    assert!(listed.iter().all(|i| i.output.is_empty()));
}

#[tokio::test]
async fn a_trap_carries_the_output_the_last_stderr_lines_and_a_named_backtrace() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("p", PRINTER).await.unwrap();
    let e = conn
        .eval_with(eval("fail", vec![], None))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Trap), "{e}");
    let remote = e.remote().unwrap();
    let output = e.output().expect("the error carries the output");
    assert_eq!(Some(output), remote.output.as_ref());
    assert!(output.stderr.ends_with(b"oops: something broke\n"));
    let message = &remote.message;
    eprintln!("the trap, as the client gets it:\n{e}");
    assert!(message.contains("| oops: something broke"), "{message}");
    assert!(message.contains("panicked at src/lib.rs"), "{message}");
    // Function names from the name section, innermost first.
    let inner = message.find("printer!fail_deep_inside").expect(message);
    assert!(message[inner..].contains("printer!"), "{message}");
    // An error without output carries none.
    let e = conn
        .eval_with(eval("nope", vec![], None))
        .await
        .unwrap_err();
    assert_eq!(e.remote().unwrap().output, None);
}

#[tokio::test]
async fn a_guest_printing_a_gigabyte_gets_the_cap_and_the_server_stays_healthy() {
    let server = server_with(LimitConfig {
        output_bytes: 100_000,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    let mut bystander = connect(&server).await;
    conn.execute("p", PRINTER).await.unwrap();
    let before = rss_kib();
    // 16,384 writes of 64 KiB: 1 GiB.
    let flood = tokio::spawn(async move {
        let started = Instant::now();
        let answer = conn
            .eval_with(eval("flood", vec![Value::I32(16_384)], Some(60_000)))
            .await;
        (answer, started.elapsed(), conn)
    });
    let asked = Instant::now();
    let info = bystander.info().await.unwrap();
    let bystander_wait = asked.elapsed();
    assert_eq!(info.limits.output_bytes, 100_000);
    let (answer, took, _conn) = flood.await.unwrap();
    let answer = answer.unwrap();
    let grown_kib = rss_kib().saturating_sub(before);
    eprintln!(
        "1 GiB of guest stdout: {took:?}, kept {} bytes, dropped {}, RSS +{grown_kib} KiB, \
         a bystander's info answered in {bystander_wait:?}",
        answer.output.stdout.len(),
        answer.output.dropped
    );
    assert_eq!(answer.results, vec![Value::I32(0)]);
    assert_eq!(answer.output.stdout.len(), 100_000);
    assert_eq!(answer.output.dropped, (1u64 << 30) - 100_000);
    assert!(
        answer.output.stdout.iter().all(|&b| b == 0),
        "the kept bytes are the guest's"
    );
    // Not a gigabyte, nor a tenth of one (other tests run beside this one).
    assert!(grown_kib < 100 << 10, "RSS grew {grown_kib} KiB");
    assert!(
        bystander_wait < Duration::from_secs(5),
        "{bystander_wait:?}"
    );
}

#[tokio::test]
async fn unrestricted_guests_are_captured_too_unless_host_stdio_is_asked() {
    let dir = std::env::temp_dir();
    let server = server_allowing_unrestricted(LimitConfig::default(), &dir).await;
    let mut conn = connect_in(&server, Mode::Unrestricted).await.unwrap();
    conn.execute("p", PRINTER).await.unwrap();
    let answer = conn.eval_with(eval("greet", vec![], None)).await.unwrap();
    assert_eq!(answer.output.stdout, b"hello stdout\n");

    let options = ConnectOptions {
        mode: Mode::Unrestricted,
        host_stdio: true,
        ..ConnectOptions::default()
    };
    let mut host = Connection::connect_with(server.addr(), options.clone())
        .await
        .unwrap();
    host.execute("p", PRINTER).await.unwrap();
    let answer = host.eval_with(eval("hello", vec![], None)).await.unwrap();
    assert!(
        answer.output.is_empty(),
        "written to the server's own stdio"
    );

    let sandboxed = ConnectOptions {
        mode: Mode::Sandboxed,
        ..options
    };
    let refused = Connection::connect_with(server.addr(), sandboxed).await;
    let e = refused
        .err()
        .expect("host stdio is refused in sandboxed mode");
    assert_eq!(e.kind(), Some(ErrorKind::Unsupported), "{e}");
    assert!(e.to_string().contains("unrestricted"), "{e}");
}
