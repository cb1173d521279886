//! A call into another store's instance (an import from a registered
//! instance of another linked family) spends what its caller has left:
//! fuel, CPU time and deadline are the caller's, not fresh ones.

use crate::common::{connect, connect_fuel, server};
use sandcall::{Connection, ErrorKind, Eval, Value};
use std::time::{Duration, Instant};

/// `spin` and `one` registered from two stores, and `user`, which imports
/// `one` and a mutable global (state) from `b`, so it lives in `b`'s store,
/// and calls `spin` through a proxy into `a`'s store.
async fn families(conn: &mut Connection) {
    let spin = r#"(module (func (export "spin") (loop br 0)))"#;
    conn.execute("a", spin).await.unwrap();
    conn.register("a", "a").await.unwrap();
    let one = r#"(module (func (export "one") (result i32) i32.const 1)
      (global (export "g") (mut i32) (i32.const 0)))"#;
    conn.execute("b", one).await.unwrap();
    conn.register("b", "b").await.unwrap();
    let user = r#"(module
      (import "b" "one" (func $one (result i32)))
      (import "a" "spin" (func $spin))
      (import "b" "g" (global (mut i32)))
      (func (export "one") (result i32) call $one)
      (func (export "go") call $spin))"#;
    conn.execute("user", user).await.unwrap();
    let one = conn.eval("user", "one", &[]).await.unwrap();
    assert_eq!(one, [Value::I32(1)]);
}

/// Call `eval`, which must be stopped with `kind`; how long it took.
async fn stopped(conn: &mut Connection, eval: Eval, kind: ErrorKind) -> (Duration, String) {
    let started = Instant::now();
    let e = conn.eval_with(eval).await.unwrap_err();
    assert_eq!(e.kind(), Some(kind), "{e}");
    (started.elapsed(), e.to_string())
}

fn go(fuel: Option<u64>, cpu_ms: Option<u64>, deadline_ms: Option<u64>) -> Eval {
    Eval {
        name: "user".into(),
        export: "go".into(),
        args: vec![],
        fuel,
        deadline_ms,
        cpu_ms,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callers_cpu_time_and_deadline_bound_the_callee() {
    let server = server().await;
    let mut conn = connect(&server).await;
    families(&mut conn).await;
    // 100 ms of CPU time, not the 1,000 ms a fresh budget would give.
    let cpu = go(None, Some(100), None);
    let (took, e) = stopped(&mut conn, cpu, ErrorKind::CpuTimeExceeded).await;
    assert!(took < Duration::from_millis(900), "{took:?}: {e}");
    // The caller's deadline too.
    let deadline = go(None, Some(5_000), Some(150));
    let (took, e) = stopped(&mut conn, deadline, ErrorKind::DeadlineExceeded).await;
    assert!(took < Duration::from_secs(2), "{took:?}: {e}");
    // Both instances stay usable.
    assert_eq!(
        conn.eval("user", "one", &[]).await.unwrap(),
        [Value::I32(1)]
    );
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_callee_burns_the_callers_fuel() {
    let server = server().await;
    let mut conn = connect_fuel(&server).await;
    families(&mut conn).await;
    let fuel = || go(Some(1_000_000), None, None);
    let (_, e) = stopped(&mut conn, fuel(), ErrorKind::OutOfFuel).await;
    assert!(e.contains("1000000"), "{e}");
    // Without a fresh budget, a second try fails the same way, and quickly.
    let (took, e) = stopped(&mut conn, fuel(), ErrorKind::OutOfFuel).await;
    assert!(took < Duration::from_millis(500), "{took:?}: {e}");
    assert_eq!(
        conn.eval("user", "one", &[]).await.unwrap(),
        [Value::I32(1)]
    );
    server.stop().await.unwrap();
}
