//! Components through the real server: the sort guest on edge cases and a
//! million elements, WIT signatures, every WIT value kind, wrong values.

use crate::common::components::{random, remote_kind, sort, sorted};
use crate::common::{connect, server};
use sandcall::{ErrorKind, Value};
use sandcall_protocol::{ExportKind, InstanceKind};

const SORTS: [&str; 3] = ["bubble-sort", "quick-sort", "sort-unstable"];

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
        assert!(answer.cpu_ns > 1_000_000, "{export} used CPU time");
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
        matches!(&upper.kind, ExportKind::ComponentFunc(f) if f.to_string() == "func(s: string) -> string")
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
