//! Errors that say what to do: each names the flag, maximum, export,
//! signature or range that the reader must change, over real TCP.

use crate::common::{TOOLS, connect, connect_fuel, server, server_with};
use sandcall::text::parse_value;
use sandcall::{ClientError, ErrorKind, Eval, Value, wave};
use sandcall_protocol::{ValType, WitType};
use sandcall_server::LimitConfig;

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

fn message(e: &ClientError) -> String {
    e.to_string()
}

#[tokio::test]
async fn out_of_fuel_names_the_option_and_the_maximum() {
    let server = server_with(LimitConfig {
        max_fuel: 7_000_000_000,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect_fuel(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn
        .eval_with(Eval {
            fuel: Some(1_000),
            ..eval("t", "spin", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::OutOfFuel), "{e}");
    let m = message(&e);
    for words in [
        "1000 units",
        "`--fuel N`",
        "Eval::fuel",
        "7000000000",
        "--max-fuel",
    ] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
    // At the maximum, more cannot be asked for: the server's flag is named.
    let e = conn
        .eval_with(Eval {
            fuel: Some(7_000_000_000),
            deadline_ms: Some(60_000),
            ..eval("t", "spin", vec![])
        })
        .await;
    // 7e9 fuel of a tight loop takes seconds; either it runs out of fuel
    // (the message names the ceiling) or of time (names the deadline's).
    let m = message(&e.unwrap_err());
    assert!(
        m.contains("--max-fuel 7000000000") || m.contains("--max-deadline-ms"),
        "{m}"
    );
}

#[tokio::test]
async fn out_of_cpu_time_names_the_option_and_the_maximum() {
    let server = server_with(LimitConfig {
        max_cpu_ms: 9_000,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn
        .eval_with(Eval {
            cpu_ms: Some(20),
            ..eval("t", "spin", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::CpuTimeExceeded), "{e}");
    let m = message(&e);
    for words in [
        "20 ms it was given",
        "`--cpu-ms N`",
        "Eval::cpu_ms",
        "9000",
        "--max-cpu-ms",
    ] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
    // Fuel is refused in a session metered by CPU time, with the way to it.
    let e = conn
        .eval_with(Eval {
            fuel: Some(1_000),
            ..eval("t", "spin", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    assert!(message(&e).contains("ConnectOptions::metering"), "{e}");
}

#[tokio::test]
async fn a_deadline_names_the_option_and_the_maximum() {
    let server = server_with(LimitConfig {
        max_deadline_ms: 45_000,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn
        .eval_with(Eval {
            deadline_ms: Some(50),
            ..eval("t", "spin", vec![])
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::DeadlineExceeded), "{e}");
    let m = message(&e);
    for words in [
        "deadline of 50 ms",
        "`--deadline-ms N`",
        "Eval::deadline_ms",
        "45000 ms",
        "--max-deadline-ms",
    ] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
}

#[tokio::test]
async fn memory_limits_name_their_flag() {
    let server = server_with(LimitConfig {
        memory_bytes: 4 << 20,
        ..LimitConfig::default()
    })
    .await;
    let mut conn = connect(&server).await;
    // 100 pages (6.4 MB) at instantiation: over the 4 MiB cap.
    let e = conn
        .execute("big", "(module (memory (export \"m\") 100))")
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(message(&e).contains("--memory-bytes"), "{e}");
    // Growth refused, then a trap: the trap says which limit refused.
    let grow_then_trap = r#"(module (memory 1)
        (func (export "f") i32.const 100 memory.grow i32.const -1 i32.eq
          if unreachable end))"#;
    conn.execute("g", grow_then_trap).await.unwrap();
    let e = conn.eval("g", "f", &[]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Trap), "{e}");
    assert!(message(&e).contains("--memory-bytes"), "{e}");
}

#[tokio::test]
async fn an_unknown_export_lists_the_exports_and_suggests_one() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn
        .eval("t", "ad", &[Value::I32(1), Value::I32(2)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    let m = message(&e);
    for words in ["`add`", "`bump`", "`spin`", "did you mean `add`?"] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
    // Only functions are offered for a call, only globals for `get`.
    assert!(!m.contains("`counter`"), "{m}");
    let e = conn.get_global("t", "countr").await.unwrap_err();
    assert!(message(&e).contains("did you mean `counter`?"), "{e}");
    // Nothing close: the list, no guess.
    let e = conn.eval("t", "frobnicate", &[]).await.unwrap_err();
    assert!(message(&e).contains("`add`"), "{e}");
    assert!(!message(&e).contains("did you mean"), "{e}");

    // Many exports: 20 listed, then how many more.
    let funcs: String = (0..30)
        .map(|i| format!("(func (export \"f{i:02}\"))"))
        .collect();
    conn.execute("many", format!("(module {funcs})"))
        .await
        .unwrap();
    let m = message(&conn.eval("many", "f29x", &[]).await.unwrap_err());
    assert!(m.contains("`f19`") && !m.contains("`f20`"), "{m}");
    assert!(m.contains("and 10 more"), "{m}");
    // The guess may be one the list left out.
    assert!(m.contains("did you mean `f29`?"), "{m}");
}

#[tokio::test]
async fn an_unknown_component_export_suggests_one() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    let e = conn
        .eval("sorter", "quicksort", &[Value::list_of(&[3i32, 1])])
        .await
        .unwrap_err();
    let m = message(&e);
    assert!(m.contains("did you mean `quick-sort`?"), "{m}");
    assert!(m.contains("`bubble-sort`"), "{m}");
}

#[tokio::test]
async fn an_unknown_instance_lists_the_instances_and_suggests_one() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let e = conn.eval("scores", "f", &[]).await.unwrap_err();
    assert!(
        message(&e).contains("instances in this namespace: none"),
        "{e}"
    );
    conn.execute("scores", TOOLS).await.unwrap();
    conn.execute("sorter", TOOLS).await.unwrap();
    let e = conn.eval("score", "bump", &[]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    let m = message(&e);
    for words in ["`scores`", "`sorter`", "did you mean `scores`?"] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
}

#[tokio::test]
async fn already_exists_names_how_to_replace() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn.execute("t", TOOLS).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::AlreadyExists), "{e}");
    let m = message(&e);
    for words in ["--replace", "execute_with", "drop t"] {
        assert!(m.contains(words), "{words:?} missing: {m}");
    }
    // What it says works.
    conn.execute_with("t", TOOLS, true).await.unwrap();
}

#[tokio::test]
async fn wrong_arguments_name_the_signature() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let e = conn
        .eval("t", "add", &[Value::I32(1), Value::I32(2), Value::I32(3)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    assert!(
        message(&e).contains("`add` takes 2 arguments: (i32, i32) -> i32; got 3"),
        "{e}"
    );
    let e = conn
        .eval("t", "add", &[Value::I32(1), Value::I64(2)])
        .await
        .unwrap_err();
    assert!(message(&e).contains("(i32, i32) -> i32"), "{e}");
    assert!(message(&e).contains("expected i32"), "{e}");

    conn.execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    let list = Value::list_of(&[3i32, 1]);
    let e = conn
        .eval("sorter", "quick-sort", &[list.clone(), list])
        .await
        .unwrap_err();
    assert!(
        message(&e)
            .contains("`quick-sort` takes 1 argument: (data: list<s32>) -> list<s32>; got 2"),
        "{e}"
    );
    let e = conn
        .eval("sorter", "quick-sort", &[Value::I32(5)])
        .await
        .unwrap_err();
    assert!(
        message(&e).contains("(data: list<s32>) -> list<s32>"),
        "{e}"
    );
}

#[tokio::test]
async fn numbers_out_of_range_are_refused_by_client_and_server() {
    // The client's text: a range, not "invalid value"; no wrapping.
    let e = parse_value(&ValType::I32, "4294967295").unwrap_err();
    assert!(
        e.contains("out of range for i32 (-2147483648..=2147483647)"),
        "{e}"
    );
    let e = wave::parse(&WitType::S32, "4294967295").unwrap_err();
    assert!(
        e.contains("out of range for s32 (-2147483648..=2147483647)"),
        "{e}"
    );
    assert!(!e.contains("invalid value"), "{e}");
    let e = parse_value(&ValType::F64, "1e400").unwrap_err();
    assert!(e.contains("out of range for f64"), "{e}");
    let e = wave::parse(&WitType::F32, "1e39").unwrap_err();
    assert!(e.contains("out of range for f32"), "{e}");
    // No parser byte spans, the text quoted instead.
    let e = wave::parse(&WitType::List(Box::new(WitType::S32)), "[1, 2 3]").unwrap_err();
    assert!(
        e.contains("`3`") && !e.contains("byte") && !e.contains(".."),
        "{e}"
    );

    // The server converts nothing: a wider or unsigned number for an i32
    // global is refused, with the range, and the global keeps its value.
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    for wrong in [Value::I64(4_294_967_295), Value::U32(u32::MAX)] {
        let e = conn.set_global("t", "counter", wrong).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
        assert!(
            message(&e).contains("4294967295 is out of range for i32 (-2147483648..=2147483647)"),
            "{e}"
        );
    }
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(10)
    );

    // A component's s32 parameter, sent an i64 that does not fit.
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    let e = conn
        .eval("v", "echo-s32", &[Value::I64(1 << 40)])
        .await
        .unwrap_err();
    assert!(message(&e).contains("out of range for s32"), "{e}");
    assert!(message(&e).contains("(v: s32) -> s32"), "{e}");
}
