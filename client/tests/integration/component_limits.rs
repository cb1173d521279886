//! Hostile or failing components through the real server: traps and
//! `reset`, fuel, deadline, memory and output limits, imports, a spinning
//! guest beside a polite client, and random values.

use crate::common::components::{random, remote_kind, sort, sorted};
use crate::common::{connect, server, server_with};
use sandcall::{ErrorKind, Value};
use sandcall_protocol::{Eval, InstanceKind};
use sandcall_server::LimitConfig;
use std::time::Duration;

#[tokio::test]
async fn a_trap_poisons_the_instance_and_reset_restores_it() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    assert_eq!(conn.eval("v", "bump", &[]).await.unwrap(), [Value::U32(1)]);
    assert_eq!(conn.eval("v", "bump", &[]).await.unwrap(), [Value::U32(2)]);
    let e = conn
        .eval("v", "crash", &[Value::String("boom".into())])
        .await
        .unwrap_err();
    let remote = e.remote().unwrap().clone();
    assert_eq!(remote.kind, ErrorKind::Trap);
    assert_eq!(remote.trap.as_deref(), Some("unreachable_code_reached"));
    assert!(remote.message.contains("reset v"), "{}", remote.message);
    let e = conn.eval("v", "bump", &[]).await.unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::Poisoned);
    assert!(message.contains("`reset v`"), "{message}");
    let info = conn.reset("v").await.unwrap();
    assert_eq!(info.kind, InstanceKind::Component);
    assert_eq!(info.fuel_used, 0);
    assert_eq!(
        conn.eval("v", "bump", &[]).await.unwrap(),
        [Value::U32(1)],
        "reset starts from a fresh instance: its state is lost"
    );
    let e = conn.reset("nobody").await.unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::NotFound);
}

#[tokio::test]
async fn component_limits_hold() {
    let limits = LimitConfig {
        memory_bytes: 64 << 20,
        deadline_ms: 300,
        ..LimitConfig::default()
    };
    let server = server_with(limits).await;
    let mut conn = connect(&server).await;
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    // A runaway loop: CPU time or the deadline stops it, whichever comes
    // first.
    let e = conn.eval("v", "spin", &[]).await.unwrap_err();
    let kind = remote_kind(e).0;
    assert!(
        matches!(
            kind,
            ErrorKind::CpuTimeExceeded | ErrorKind::DeadlineExceeded
        ),
        "{kind:?}"
    );
    conn.reset("v").await.unwrap();
    let e = conn
        .eval_with(Eval {
            name: "v".into(),
            export: "spin".into(),
            args: vec![],
            fuel: None,
            deadline_ms: None,
            cpu_ms: Some(20),
        })
        .await
        .unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::CpuTimeExceeded);
    conn.reset("v").await.unwrap();
    // A memory bomb stops at the memory limit.
    let e = conn
        .eval("v", "grow", &[Value::U64(1 << 30)])
        .await
        .unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::Trap, "{message}");
    assert!(message.contains("the limit is 67108864 bytes"), "{message}");
    conn.reset("v").await.unwrap();
    let got = conn
        .eval("v", "grow", &[Value::U64(1 << 20)])
        .await
        .unwrap();
    assert_eq!(
        got,
        [Value::U64(1 << 20)],
        "a modest allocation still works"
    );
    // An output bomb: a result too large to copy out is refused, not sent.
    let e = conn
        .eval("v", "repeat", &[Value::U32(60 << 20)])
        .await
        .unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::ResourceLimit, "{message}");
    conn.reset("v").await.unwrap();
    // A packed list expands into one host value per number for a function
    // that is not list -> list: bounded like the values of a message.
    let too_many = vec![1i32; (1 << 20) + 1];
    let e = conn
        .eval("v", "sum", &[Value::list_of(&too_many)])
        .await
        .unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::ResourceLimit, "{message}");
    let fits = vec![1i32; 1 << 20];
    let sum = conn
        .eval("v", "sum", &[Value::list_of(&fits)])
        .await
        .unwrap();
    assert_eq!(
        sum,
        [Value::I64(1 << 20)],
        "refused before entering: not poisoned"
    );
    let bytes = conn.eval("v", "repeat", &[Value::U32(1000)]).await.unwrap();
    let expected: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    assert_eq!(bytes, [Value::list_of(&expected)]);
}

#[tokio::test]
async fn a_component_that_imports_anything_but_wasi_is_refused() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let wat = r#"(component (import "sandcall:host/shell@0.1.0" (instance
        (export "run" (func (param "command" string))))))"#;
    let e = conn.execute("c", wat).await.unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::LinkError);
    assert!(message.contains("sandcall:host/shell@0.1.0"), "{message}");
    // WASI 0.2 is granted (with nothing behind it when sandboxed).
    let wasi = r#"(component (import "wasi:cli/environment@0.2.0" (instance
        (export "get-environment" (func (result (list (tuple string string))))))))"#;
    conn.execute("w", wasi).await.unwrap();
    let garbage = b"\0asm\x0d\0\x01\0\x07\x07\x07".to_vec();
    let e = conn.execute("c", garbage).await.unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::InvalidModule);
    let e = conn.register("c", "m").await.unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::NotFound);
    conn.execute("s", sandcall_guests::sort()).await.unwrap();
    let e = conn.register("s", "m").await.unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::Unsupported);
}

#[tokio::test]
async fn a_spinning_component_does_not_stall_other_clients() {
    let server = server().await;
    let mut hostile = connect(&server).await;
    hostile
        .execute("v", sandcall_guests::values())
        .await
        .unwrap();
    let spinning = tokio::spawn(async move {
        hostile
            .eval_with(Eval {
                name: "v".into(),
                export: "spin".into(),
                args: vec![],
                fuel: None,
                deadline_ms: Some(3_000),
                cpu_ms: Some(60_000),
            })
            .await
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut polite = connect(&server).await;
    polite
        .execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    for n in 0..50 {
        let data = random(n * 10, n as u32 + 1);
        assert_eq!(sort(&mut polite, "quick-sort", &data).await, sorted(&data));
    }
    assert!(
        !spinning.is_finished(),
        "the polite client should finish while the guest still spins"
    );
    let e = spinning.await.unwrap().unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::DeadlineExceeded));
}

/// A random value of a random kind, a few levels deep.
fn random_value(x: &mut u32, depth: u32) -> Value {
    let mut next = || {
        *x ^= *x << 13;
        *x ^= *x >> 17;
        *x ^= *x << 5;
        *x
    };
    let kind = next() % if depth == 0 { 12 } else { 19 };
    let n = next();
    match kind {
        0 => Value::Bool(n % 2 == 0),
        1 => Value::S8(n as i8),
        2 => Value::U8(n as u8),
        3 => Value::I32(n as i32),
        4 => Value::U32(n),
        5 => Value::I64(n as i64),
        6 => Value::U64(n as u64),
        7 => Value::f64(n as f64),
        8 => Value::Char(char::from_u32(n % 0x11_0000).unwrap_or('?')),
        9 => Value::String(format!("s{n}")),
        10 => Value::Enum(["red", "blue", "teal"][n as usize % 3].into()),
        11 => Value::Flags(vec!["read".into(), "fly".into()][..(n % 3) as usize].to_vec()),
        12 => Value::List((0..n % 4).map(|_| random_value(x, depth - 1)).collect()),
        13 => Value::list_of(&vec![n as u8; (n % 5) as usize]),
        14 => Value::Tuple((0..n % 4).map(|_| random_value(x, depth - 1)).collect()),
        15 => Value::Record(vec![
            ("x".into(), random_value(x, depth - 1)),
            ("label".into(), random_value(x, depth - 1)),
        ]),
        16 => Value::Option(Some(Box::new(random_value(x, depth - 1)))),
        17 => Value::Result(Err(Some(Box::new(random_value(x, depth - 1))))),
        _ => Value::Variant("circle".into(), Some(Box::new(random_value(x, depth - 1)))),
    }
}

#[tokio::test]
async fn random_values_get_an_answer_and_never_poison_the_instance() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    let exports = [
        "echo-bool",
        "echo-u8",
        "echo-s32",
        "echo-char",
        "echo-string",
        "echo-list-u8",
        "echo-list-string",
        "echo-record",
        "echo-tuple",
        "echo-variant",
        "echo-enum",
        "echo-option",
        "echo-result",
        "echo-flags",
        "echo-nested",
        "sum",
    ];
    let mut x = 0x5eed_u32;
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..2_000 {
        let export = exports[i % exports.len()];
        let value = random_value(&mut x, 3);
        match conn.eval("v", export, std::slice::from_ref(&value)).await {
            // Whatever was accepted came back unchanged (packed or not).
            Ok(back) if export != "sum" => {
                accepted += 1;
                let same = back[0] == value
                    || matches!((&back[0], &value), (Value::Packed(p), Value::List(l))
                        if p.len() == l.len());
                assert!(same, "{export}: sent {value:?}, got {back:?}");
            }
            Ok(_) => accepted += 1,
            Err(e) => {
                refused += 1;
                let kind = e.kind();
                assert_eq!(kind, Some(ErrorKind::BadRequest), "{export} {value:?}: {e}");
            }
        }
    }
    assert!(
        accepted > 20 && refused > 1000,
        "{accepted} accepted, {refused} refused"
    );
    assert_eq!(conn.eval("v", "bump", &[]).await.unwrap(), [Value::U32(1)]);
}
