//! WAVE round trips for every WIT kind, wrong types, and large lists.

use super::*;

fn list(t: WitType) -> WitType {
    WitType::List(Box::new(t))
}

fn point() -> WitType {
    WitType::Record(vec![
        ("x".into(), WitType::S32),
        ("label".into(), WitType::String),
    ])
}

/// Parses `text`, checks the value, prints it back and compares.
fn round_trip(ty: &WitType, text: &str, value: Value) {
    let parsed = parse(ty, text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(parsed, value, "{text}");
    assert_eq!(format(ty, &parsed).unwrap(), text);
}

fn some(v: Value) -> Value {
    Value::Option(Some(Box::new(v)))
}

#[test]
fn scalars_round_trip() {
    round_trip(&WitType::Bool, "true", Value::Bool(true));
    round_trip(&WitType::S8, "-128", Value::S8(-128));
    round_trip(&WitType::U8, "255", Value::U8(255));
    round_trip(&WitType::S16, "-32768", Value::S16(i16::MIN));
    round_trip(&WitType::U16, "65535", Value::U16(u16::MAX));
    round_trip(&WitType::S32, "-7", Value::I32(-7));
    round_trip(&WitType::U32, "4294967295", Value::U32(u32::MAX));
    round_trip(&WitType::S64, "-9223372036854775808", Value::I64(i64::MIN));
    round_trip(&WitType::U64, "18446744073709551615", Value::U64(u64::MAX));
    round_trip(&WitType::F32, "-1.5", Value::f32(-1.5));
    round_trip(&WitType::F64, "0.1", Value::f64(0.1));
    round_trip(&WitType::F64, "-inf", Value::f64(f64::NEG_INFINITY));
    round_trip(&WitType::F32, "inf", Value::f32(f32::INFINITY));
    let nan = parse(&WitType::F64, "nan").unwrap();
    assert!(matches!(nan, Value::F64(b) if f64::from_bits(b).is_nan()));
    assert_eq!(format(&WitType::F64, &nan).unwrap(), "nan");
    // WAVE prints floats with Rust's Display: no `.0` on whole numbers.
    assert_eq!(format(&WitType::F64, &Value::f64(-0.0)).unwrap(), "-0");
    round_trip(&WitType::Char, "'x'", Value::Char('x'));
    round_trip(&WitType::Char, r"'\''", Value::Char('\''));
    round_trip(&WitType::Char, "'👋'", Value::Char('👋'));
    round_trip(
        &WitType::String,
        r#""a \"q\" \\ \n\t end""#,
        Value::String("a \"q\" \\ \n\t end".into()),
    );
    assert_eq!(
        parse(&WitType::String, r#""\u{1F44B}""#).unwrap(),
        Value::String("👋".into())
    );
}

#[test]
fn lists_of_numbers_are_packed() {
    round_trip(
        &list(WitType::S32),
        "[5, 3, 9, 1]",
        Value::list_of(&[5i32, 3, 9, 1]),
    );
    round_trip(&list(WitType::U8), "[]", Value::list_of::<u8>(&[]));
    round_trip(
        &list(WitType::F64),
        "[1.5, -2]",
        Value::list_of(&[1.5f64, -2.0]),
    );
    round_trip(
        &list(WitType::U64),
        "[18446744073709551615]",
        Value::list_of(&[u64::MAX]),
    );
    // A server may send numbers unpacked; they print the same.
    let plain = Value::List(vec![Value::I32(1), Value::I32(2)]);
    assert_eq!(format(&list(WitType::S32), &plain).unwrap(), "[1, 2]");
    round_trip(
        &list(WitType::String),
        r#"["a", "b c"]"#,
        Value::List(vec![Value::String("a".into()), Value::String("b c".into())]),
    );
}

#[test]
fn compound_values_round_trip() {
    let p = |x, label: &str| {
        Value::Record(vec![
            ("x".into(), Value::I32(x)),
            ("label".into(), Value::String(label.into())),
        ])
    };
    round_trip(&point(), r#"{x: 1, label: "a"}"#, p(1, "a"));
    let tuple = WitType::Tuple(vec![WitType::U8, WitType::String, WitType::F64]);
    round_trip(
        &tuple,
        r#"(1, "b", 2.5)"#,
        Value::Tuple(vec![
            Value::U8(1),
            Value::String("b".into()),
            Value::f64(2.5),
        ]),
    );
    let shape = WitType::Variant(vec![
        ("circle".into(), Some(WitType::F64)),
        ("empty".into(), None),
    ]);
    let circle = Value::Variant("circle".into(), Some(Box::new(Value::f64(1.5))));
    round_trip(&shape, "circle(1.5)", circle);
    round_trip(&shape, "empty", Value::Variant("empty".into(), None));
    let color = WitType::Enum(vec!["red".into(), "green".into()]);
    round_trip(&color, "green", Value::Enum("green".into()));
    let opt = WitType::Option(Box::new(WitType::String));
    round_trip(&opt, r#"some("s")"#, some(Value::String("s".into())));
    round_trip(&opt, "none", Value::Option(None));
    let res = WitType::Result {
        ok: Some(Box::new(WitType::U32)),
        err: Some(Box::new(WitType::String)),
    };
    round_trip(
        &res,
        "ok(3)",
        Value::Result(Ok(Some(Box::new(Value::U32(3))))),
    );
    round_trip(
        &res,
        r#"err("no")"#,
        Value::Result(Err(Some(Box::new(Value::String("no".into()))))),
    );
    let bare = WitType::Result {
        ok: None,
        err: None,
    };
    round_trip(&bare, "ok", Value::Result(Ok(None)));
    round_trip(&bare, "err", Value::Result(Err(None)));
    let perms = WitType::Flags(vec!["read".into(), "write".into(), "exec".into()]);
    round_trip(
        &perms,
        "{read, exec}",
        Value::Flags(vec!["read".into(), "exec".into()]),
    );
    round_trip(&perms, "{}", Value::Flags(vec![]));
    // Flags come back in the type's order whatever order they are typed in.
    assert_eq!(
        parse(&perms, "{exec, read}").unwrap(),
        Value::Flags(vec!["read".into(), "exec".into()])
    );
    let nested = list(WitType::Option(Box::new(point())));
    round_trip(
        &nested,
        r#"[some({x: -1, label: "}"}), none]"#,
        Value::List(vec![some(p(-1, "}")), Value::Option(None)]),
    );
    let deep = list(list(WitType::S32));
    round_trip(
        &deep,
        "[[1], []]",
        Value::List(vec![Value::list_of(&[1i32]), Value::list_of::<i32>(&[])]),
    );
}

#[test]
fn text_that_does_not_fit_names_the_type() {
    let e = parse(&list(WitType::S32), "[1, x]").unwrap_err();
    assert!(e.starts_with("`[1, x]` is not a list<s32>: "), "{e}");
    assert!(e.contains("at `x`") && !e.contains("byte"), "{e}");
    let e = parse(&WitType::U8, "256").unwrap_err();
    assert_eq!(e, "`256` is out of range for u8 (0..=255)");
    let color = WitType::Enum(vec!["red".into()]);
    let e = parse(&color, "blue").unwrap_err();
    assert!(e.contains(r#"unknown case "blue""#), "{e}");
    let e = parse(&point(), "{x: 1}").unwrap_err();
    assert!(e.contains(r#"missing field "label""#), "{e}");
    assert!(parse(&WitType::String, "abc").is_err());
    assert!(
        parse(&WitType::S32, "1 2")
            .unwrap_err()
            .contains("trailing")
    );
    let e = parse(&WitType::Other("own<file>".into()), "1").unwrap_err();
    assert_eq!(e, "values of type own<file> cannot cross the wire");
    let long = format!("[{}x]", "1, ".repeat(100));
    let e = parse(&list(WitType::S32), &long).unwrap_err();
    assert!(e.len() < 300 && e.contains("…"), "{e}");
}

#[test]
fn values_that_do_not_fit_are_errors_not_panics() {
    let e = format(&list(WitType::S32), &Value::String("x".into())).unwrap_err();
    assert_eq!(
        e,
        "the value is not a list<s32>: found a string where a list<s32> belongs"
    );
    let e = format(&list(WitType::S32), &Value::list_of(&[1u8])).unwrap_err();
    assert!(e.contains("packed list of u8"), "{e}");
    let ragged = Value::Packed(Packed {
        elem: NumType::S32,
        bytes: vec![1, 2, 3],
    });
    assert!(
        format(&list(WitType::S32), &ragged)
            .unwrap_err()
            .contains("whole")
    );
    let nested = list(WitType::Option(Box::new(point())));
    let bad = Value::List(vec![
        Value::Option(None),
        some(Value::Record(vec![
            ("x".into(), Value::I32(1)),
            ("label".into(), Value::U8(2)),
        ])),
    ]);
    let e = format(&nested, &bad).unwrap_err();
    assert!(
        e.ends_with("at [1].some.label: found a u8 where a string belongs"),
        "{e}"
    );
    let color = WitType::Enum(vec!["red".into()]);
    assert!(format(&color, &Value::Enum("blue".into())).is_err());
    let flags = WitType::Flags(vec!["read".into()]);
    assert!(format(&flags, &Value::Flags(vec!["exec".into()])).is_err());
    let res = WitType::Result {
        ok: Some(Box::new(WitType::U32)),
        err: None,
    };
    assert!(
        format(&res, &Value::Result(Ok(None)))
            .unwrap_err()
            .contains("lacks")
    );
    assert!(format(&res, &Value::Result(Err(Some(Box::new(Value::U32(1)))))).is_err());
    let missing = Value::Record(vec![
        ("x".into(), Value::I32(1)),
        ("y".into(), Value::I32(2)),
    ]);
    assert!(
        format(&point(), &missing)
            .unwrap_err()
            .contains("`label` is missing")
    );
    assert!(format(&WitType::S32, &Value::FuncRef).is_err());
}

#[test]
fn a_million_numbers_parse_and_print() {
    let n = 1_000_000i32;
    let text = format!(
        "[{}]",
        (0..n)
            .rev()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let ty = list(WitType::S32);
    let value = parse(&ty, &text).unwrap();
    let Value::Packed(p) = &value else {
        panic!("not packed")
    };
    assert_eq!(p.len(), n as usize);
    assert_eq!(value.to_numbers::<i32>().unwrap()[0], n - 1);
    assert_eq!(format(&ty, &value).unwrap(), text);
}

#[test]
fn numbers_out_of_range_name_the_range() {
    let e = parse(&WitType::S32, "4294967295").unwrap_err();
    assert!(
        e.contains("`4294967295` is out of range for s32 (-2147483648..=2147483647)"),
        "{e}"
    );
    assert!(!e.contains("invalid value"), "{e}");
    let e = parse(&list(WitType::S32), "[1, 2, 4294967295]").unwrap_err();
    assert!(e.contains("out of range for s32"), "{e}");
    let e = parse(&list(WitType::U8), "[1, -1]").unwrap_err();
    assert!(e.contains("`-1` is out of range for u8 (0..=255)"), "{e}");
    let e = parse(&WitType::S32, "1.5").unwrap_err();
    assert!(e.contains("not a whole number"), "{e}");
}

#[test]
fn floats_too_large_are_refused_not_stored_as_inf() {
    let e = parse(&WitType::F64, "1e400").unwrap_err();
    assert!(e.contains("`1e400` is out of range for f64"), "{e}");
    let e = parse(&list(WitType::F32), "[1, 1e39]").unwrap_err();
    assert!(e.contains("`1e39` is out of range for f32"), "{e}");
    // f64 holds 1e39; written infinities stay infinities.
    assert!(parse(&list(WitType::F64), "[1e39, inf, -inf]").is_ok());
    assert!(parse(&list(WitType::F32), "[inf, -inf, 3e38]").is_ok());
    let mixed = WitType::Tuple(vec![WitType::F32, WitType::F64]);
    assert!(parse(&mixed, "(inf, 1e39)").is_ok());
    let e = parse(&mixed, "(1e39, 1)").unwrap_err();
    assert!(e.contains("out of range for f32"), "{e}");
    // A string holding such a number is no number.
    assert!(parse(&WitType::String, r#""1e400""#).is_ok());
}

#[test]
fn parse_errors_quote_text_not_byte_spans() {
    for (ty, text) in [
        (list(WitType::S32), "[1, 2"),
        (list(WitType::S32), "[1 2]"),
        (WitType::S32, "x"),
        (point(), "{x: 1, label: 2}"),
    ] {
        let e = parse(&ty, text).unwrap_err();
        assert!(!e.contains("byte") && !e.contains(".."), "{e}");
    }
}
