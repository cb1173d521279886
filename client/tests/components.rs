//! Components through the real server: the sort guest on edge cases and a
//! million elements, every WIT value kind, wrong types, traps and `reset`.

mod common;

use common::{connect, server, server_with};
use sandcall::{ClientError, Connection, ErrorKind, Value};
use sandcall_protocol::{Eval, ExportKind, InstanceKind};
use sandcall_server::LimitConfig;
use std::time::Duration;

const SORTS: [&str; 3] = ["bubble-sort", "quick-sort", "sort-unstable"];

async fn sort(conn: &mut Connection, export: &str, data: &[i32]) -> Vec<i32> {
    let answer = conn
        .call("sorter", export, vec![Value::list_of(data)])
        .await
        .unwrap_or_else(|e| panic!("{export} of {} elements: {e}", data.len()));
    assert_eq!(answer.results.len(), 1);
    assert!(
        matches!(answer.results[0], Value::Packed(_)),
        "lists of numbers come back packed"
    );
    answer.results[0].to_numbers::<i32>().expect("a list<s32>")
}

/// A deterministic pseudo-random list (xorshift), so failures reproduce.
fn random(n: usize, seed: u32) -> Vec<i32> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as i32
        })
        .collect()
}

fn sorted(data: &[i32]) -> Vec<i32> {
    let mut v = data.to_vec();
    v.sort();
    v
}

fn remote_kind(e: ClientError) -> (ErrorKind, String) {
    let remote = e.remote().expect("a remote error").clone();
    (remote.kind, remote.message)
}

#[tokio::test]
async fn every_sort_handles_the_edge_cases() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let info = conn
        .execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    assert_eq!(info.kind, InstanceKind::Component);
    let cases: Vec<Vec<i32>> = vec![
        vec![],
        vec![42],
        vec![3, 3, 3, 1, 1, 2, 2, 3],
        (0..500).collect(),
        (0..500).rev().collect(),
        vec![i32::MAX, i32::MIN, 0, -1, 1, i32::MIN, i32::MAX],
        vec![7; 300],
        random(2000, 99),
    ];
    for export in SORTS {
        for case in &cases {
            assert_eq!(
                sort(&mut conn, export, case).await,
                sorted(case),
                "{export} on {} elements",
                case.len()
            );
        }
    }
}

#[tokio::test]
async fn a_million_elements_sort_through_the_server() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    let data = random(1_000_000, 7);
    let expected = sorted(&data);
    for export in ["quick-sort", "sort-unstable"] {
        let answer = conn
            .call("sorter", export, vec![Value::list_of(&data)])
            .await
            .unwrap();
        assert_eq!(answer.results[0].to_numbers::<i32>().unwrap(), expected);
        assert!(answer.fuel_used > 1_000_000, "{export} used fuel");
        assert!(answer.guest_ns > 0);
    }
}

#[tokio::test]
async fn namespace_lists_wit_signatures_and_interface_functions() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    conn.execute("values", sandcall_guests::values())
        .await
        .unwrap();
    let ns = conn.namespace().await.unwrap();
    let sorter = ns.iter().find(|i| i.name == "sorter").unwrap();
    assert!(
        sorter.memory_bytes >= 64 << 10,
        "a component's memories are counted, exported or not: {}",
        sorter.memory_bytes
    );
    for export in SORTS {
        let e = sorter.exports.iter().find(|e| e.name == export).unwrap();
        assert_eq!(e.kind.to_string(), "func(data: list<s32>) -> list<s32>");
    }
    let values = ns.iter().find(|i| i.name == "values").unwrap();
    let upper = values
        .exports
        .iter()
        .find(|e| e.name == "sandcall:values/text@0.1.0#upper")
        .expect("interface functions are named interface#function");
    assert!(
        matches!(&upper.kind, ExportKind::Function(f) if f.to_string() == "func(s: string) -> string")
    );
    let answer = conn
        .eval(
            "values",
            "sandcall:values/text@0.1.0#upper",
            &[Value::String("straße".into())],
        )
        .await
        .unwrap();
    assert_eq!(answer, [Value::String("STRASSE".into())]);
}

fn some(v: Value) -> Option<Box<Value>> {
    Some(Box::new(v))
}

fn point(x: i32, label: &str) -> Value {
    Value::Record(vec![
        ("x".into(), Value::I32(x)),
        ("y".into(), Value::I32(-x)),
        ("label".into(), Value::String(label.into())),
    ])
}

#[tokio::test]
async fn every_wit_value_kind_round_trips() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    let cases: Vec<(&str, Value)> = vec![
        ("echo-bool", Value::Bool(true)),
        ("echo-s8", Value::S8(i8::MIN)),
        ("echo-u8", Value::U8(u8::MAX)),
        ("echo-s16", Value::S16(-12345)),
        ("echo-u16", Value::U16(54321)),
        ("echo-s32", Value::I32(i32::MIN)),
        ("echo-u32", Value::U32(u32::MAX)),
        ("echo-s64", Value::I64(i64::MIN)),
        ("echo-u64", Value::U64(u64::MAX)),
        ("echo-f32", Value::f32(-1.5)),
        ("echo-f64", Value::f64(f64::INFINITY)),
        ("echo-char", Value::Char('ß')),
        (
            "echo-string",
            Value::String("quote \" and ünïcode\n".into()),
        ),
        ("echo-list-u8", Value::list_of(&[0u8, 1, 255])),
        ("echo-list-s64", Value::list_of(&[i64::MIN, 0, i64::MAX])),
        ("echo-list-f64", Value::list_of(&[0.5f64, -0.0, 1e300])),
        (
            "echo-list-string",
            Value::List(vec![Value::String("a".into()), Value::String("".into())]),
        ),
        ("echo-record", point(3, "p")),
        (
            "echo-tuple",
            Value::Tuple(vec![
                Value::U8(1),
                Value::String("two".into()),
                Value::f64(3.0),
            ]),
        ),
        (
            "echo-variant",
            Value::Variant("circle".into(), some(Value::f64(2.5))),
        ),
        (
            "echo-variant",
            Value::Variant("square".into(), some(Value::U32(4))),
        ),
        ("echo-variant", Value::Variant("empty".into(), None)),
        ("echo-enum", Value::Enum("green".into())),
        (
            "echo-option",
            Value::Option(some(Value::String("x".into()))),
        ),
        ("echo-option", Value::Option(None)),
        ("echo-result", Value::Result(Ok(some(Value::U32(7))))),
        (
            "echo-result",
            Value::Result(Err(some(Value::String("bad".into())))),
        ),
        (
            "echo-flags",
            Value::Flags(vec!["read".into(), "exec".into()]),
        ),
        ("echo-flags", Value::Flags(vec![])),
        (
            "echo-nested",
            Value::List(vec![
                Value::Option(some(point(1, "a"))),
                Value::Option(None),
                Value::Option(some(point(2, "b"))),
            ]),
        ),
    ];
    for (export, value) in cases {
        let back = conn
            .eval("v", export, std::slice::from_ref(&value))
            .await
            .unwrap();
        assert_eq!(back, [value], "{export}");
    }
    // Unpacked lists of numbers are accepted too, and come back packed.
    let plain = Value::List(vec![Value::U8(9), Value::U8(8)]);
    let back = conn.eval("v", "echo-list-u8", &[plain]).await.unwrap();
    assert_eq!(back, [Value::list_of(&[9u8, 8])]);
    // Several parameters, a packed list into the dynamic path.
    let back = conn
        .eval(
            "v",
            "many",
            &[
                Value::U8(5),
                Value::String("s".into()),
                Value::list_of(&[1.5f32, -2.0]),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        back,
        [Value::Tuple(vec![
            Value::U8(5),
            Value::String("s".into()),
            Value::list_of(&[1.5f32, -2.0])
        ])]
    );
    let data = random(10_000, 3);
    let total: i64 = data.iter().map(|&x| x as i64).sum();
    let back = conn
        .eval("v", "sum", &[Value::list_of(&data)])
        .await
        .unwrap();
    assert_eq!(back, [Value::I64(total)]);
    assert_eq!(conn.eval("v", "bump", &[]).await.unwrap(), [Value::U32(1)]);
}

#[tokio::test]
async fn wrong_values_are_refused_and_the_instance_stays_usable() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("sorter", sandcall_guests::sort())
        .await
        .unwrap();
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    let refused: Vec<(&str, &str, Vec<Value>, &str)> = vec![
        (
            "sorter",
            "quick-sort",
            vec![Value::list_of(&[1i64, 2])],
            "list<s32>",
        ),
        (
            "sorter",
            "quick-sort",
            vec![Value::List(vec![Value::String("1".into())])],
            "list<s32>",
        ),
        ("sorter", "quick-sort", vec![Value::I32(1)], "list<s32>"),
        ("sorter", "quick-sort", vec![], "takes 1 argument"),
        ("v", "echo-s32", vec![Value::U32(1)], "expected s32"),
        (
            "v",
            "echo-record",
            vec![Value::Record(vec![("x".into(), Value::I32(1))])],
            "no field `y`",
        ),
        (
            "v",
            "echo-variant",
            vec![Value::Variant("hexagon".into(), None)],
            "no case `hexagon`",
        ),
        (
            "v",
            "echo-variant",
            vec![Value::Variant("circle".into(), None)],
            "needs a payload",
        ),
        (
            "v",
            "echo-enum",
            vec![Value::Enum("purple".into())],
            "no case `purple`",
        ),
        (
            "v",
            "echo-flags",
            vec![Value::Flags(vec!["fly".into()])],
            "no flag `fly`",
        ),
        (
            "v",
            "echo-tuple",
            vec![Value::Tuple(vec![Value::U8(1)])],
            "expected tuple",
        ),
        (
            "v",
            "echo-list-u8",
            vec![Value::Packed(sandcall_protocol::Packed {
                elem: sandcall_protocol::NumType::S16,
                bytes: vec![1, 2, 3],
            })],
            "list<u8>",
        ),
    ];
    for (name, export, args, needle) in refused {
        let e = conn.eval(name, export, &args).await.unwrap_err();
        let (kind, message) = remote_kind(e);
        assert_eq!(kind, ErrorKind::BadRequest, "{export}: {message}");
        assert!(
            message.contains(needle),
            "{export}: `{message}` lacks `{needle}`"
        );
    }
    let e = conn.eval("v", "no-such-export", &[]).await.unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::NotFound);
    let e = conn.get_global("v", "g").await.unwrap_err();
    assert!(remote_kind(e).1.contains("is a component"));
    assert_eq!(sort(&mut conn, "quick-sort", &[2, 1]).await, [1, 2]);
    assert_eq!(conn.eval("v", "bump", &[]).await.unwrap(), [Value::U32(1)]);
}

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
    // A runaway loop: fuel or the deadline stops it, whichever comes first.
    let e = conn.eval("v", "spin", &[]).await.unwrap_err();
    let kind = remote_kind(e).0;
    assert!(
        matches!(kind, ErrorKind::OutOfFuel | ErrorKind::DeadlineExceeded),
        "{kind:?}"
    );
    conn.reset("v").await.unwrap();
    let e = conn
        .eval_with(Eval {
            name: "v".into(),
            export: "spin".into(),
            args: vec![],
            fuel: Some(1_000_000),
            deadline_ms: None,
        })
        .await
        .unwrap_err();
    assert_eq!(remote_kind(e).0, ErrorKind::OutOfFuel);
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
async fn a_component_that_imports_anything_is_refused() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let wat = r#"(component (import "wasi:cli/environment@0.2.0" (instance)))"#;
    let e = conn.execute("c", wat).await.unwrap_err();
    let (kind, message) = remote_kind(e);
    assert_eq!(kind, ErrorKind::LinkError);
    assert!(message.contains("wasi:cli/environment@0.2.0"), "{message}");
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
                fuel: Some(50_000_000_000),
                deadline_ms: Some(3_000),
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
