//! WAVE text against WIT signatures, and core values as text (no server):
//! values of any type print and parse back to themselves; any text, and
//! any mutation of a valid text, parses to a value of the type or fails
//! with a message; values of the wrong shape, under types a hostile server
//! may describe, print or fail with a message. Never a panic.

use super::harness::fuzz;
use super::mutate::{mutate, mutations};
use super::types::{any_value, canonical, value_of, wild_type, wit_type};
use proptest::prelude::*;
use sandcall::text::{format_value, parse_value};
use sandcall::{Value, wave};
use sandcall_protocol::{RefKind, ValType, WitFunc, WitType};

/// A type with a value of it.
fn typed_value() -> impl Strategy<Value = (WitType, Value)> {
    wit_type().prop_flat_map(|ty| {
        let values = value_of(&ty);
        (Just(ty), values)
    })
}

/// Text that is WAVE-like more often than random text is.
fn wave_like() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        3 => r#"[\[\]{}(),:'" a-z0-9.+\-_\\/]{0,40}"#,
        1 => "(some|none|ok|err|true|false|nan|inf|-inf|-0|'.'|\"\")",
        // A soup of WAVE's tokens.
        3 => r#"(some|none|ok|err|true|nan|inf|x-y|\[|\]|\(|\)|\{|\}|,|:|//|/|"|"""|'|\\|\\u\{|1|-|\.|e|_| |\n){0,14}"#,
    ]
}

/// `text` parses as a value of `ty`, which prints and parses back to itself;
/// or it is refused with a message.
fn parse_and_back(ty: &WitType, text: &str) -> Result<(), TestCaseError> {
    if let Ok(value) = wave::parse(ty, text) {
        let printed = wave::format(ty, &value);
        prop_assert!(
            printed.is_ok(),
            "{text:?} parsed but does not print: {printed:?}"
        );
        let printed = printed.unwrap();
        let back = wave::parse(ty, &printed).map(|v| canonical(&v));
        prop_assert_eq!(
            back,
            Ok(canonical(&value)),
            "{:?} printed as {:?}",
            text,
            printed
        );
    }
    Ok(())
}

#[test]
fn values_of_any_type_print_and_parse_back() {
    fuzz("wave round trip", 4000, typed_value(), |(ty, value)| {
        let text = wave::format(&ty, &value);
        prop_assert!(text.is_ok(), "{ty}: {text:?}");
        let text = text.unwrap();
        let back = wave::parse(&ty, &text).map(|v| canonical(&v));
        prop_assert_eq!(back, Ok(canonical(&value)), "{} as {:?}", ty, text);
        Ok(())
    });
}

#[test]
fn any_text_parses_against_any_type_or_fails_cleanly() {
    fuzz(
        "wave arbitrary text",
        8000,
        (wit_type(), wave_like()),
        |(ty, text)| parse_and_back(&ty, &text),
    );
}

#[test]
fn mutated_wave_texts_parse_or_fail_cleanly() {
    fuzz(
        "wave mutated text",
        6000,
        (typed_value(), mutations()),
        |((ty, value), mutations)| {
            let text = wave::format(&ty, &value).unwrap();
            let mutated = mutate(text.into_bytes(), &mutations);
            parse_and_back(&ty, &String::from_utf8_lossy(&mutated))
        },
    );
}

#[test]
fn server_values_of_any_shape_print_or_fail_cleanly() {
    // What a hostile server may answer: a signature with odd names, empty
    // compounds or unsendable types, and values of any shape.
    fuzz(
        "wave hostile answers",
        6000,
        (wild_type(), any_value(), wave_like()),
        |(ty, value, text)| {
            let _ = wave::wave_type(&ty);
            let _ = wave::format(&ty, &value);
            let _ = wave::parse(&ty, &text);
            let func = WitFunc {
                params: vec![("a".into(), ty.clone())],
                result: Some(ty),
            };
            let _ = wave::format_result(&func, std::slice::from_ref(&value));
            let _ = wave::parse_args(&func, &[text.as_str()]);
            Ok(())
        },
    );
}

fn core_type() -> impl Strategy<Value = ValType> {
    proptest::sample::select(vec![
        ValType::I32,
        ValType::I64,
        ValType::F32,
        ValType::F64,
        ValType::V128,
        ValType::FuncRef,
        ValType::ExternRef,
    ])
}

/// A core value that can be typed (a non-null funcref cannot).
fn core_value() -> impl Strategy<Value = (ValType, Value)> {
    prop_oneof![
        any::<i32>().prop_map(|v| (ValType::I32, Value::I32(v))),
        any::<i64>().prop_map(|v| (ValType::I64, Value::I64(v))),
        any::<u32>().prop_map(|v| (ValType::F32, Value::F32(v))),
        any::<u64>().prop_map(|v| (ValType::F64, Value::F64(v))),
        any::<u128>().prop_map(|v| (ValType::V128, Value::V128(v))),
        Just((ValType::FuncRef, Value::NullRef(RefKind::Func))),
        Just((ValType::ExternRef, Value::NullRef(RefKind::Extern))),
        any::<u32>().prop_map(|v| (ValType::ExternRef, Value::ExternRef(v))),
    ]
}

#[test]
fn core_values_print_and_parse_back_and_any_text_fails_cleanly() {
    fuzz(
        "core value text",
        8000,
        (core_value(), core_type(), wave_like()),
        |((ty, value), other, text)| {
            let printed = format_value(&value);
            let back = parse_value(&ty, &printed).map(|v| canonical(&v));
            prop_assert_eq!(
                back,
                Ok(canonical(&value)),
                "{} printed as {:?}",
                ty,
                printed
            );
            if let Ok(v) = parse_value(&other, &text) {
                let again = parse_value(&other, &format_value(&v)).map(|v| canonical(&v));
                prop_assert_eq!(again, Ok(canonical(&v)), "{:?} as {}", text, other);
            }
            Ok(())
        },
    );
}

/// Found by the fuzzing: `wasm-wave`'s lexer panicked on a `//` comment
/// ending the text (`eval v echo-s32 1//` crashed the CLI).
#[test]
fn a_comment_ending_the_text_is_no_crash() {
    let list = WitType::List(Box::new(WitType::S32));
    assert_eq!(
        wave::parse(&list, "[1, 2] //"),
        Ok(Value::list_of(&[1i32, 2]))
    );
    assert_eq!(wave::parse(&WitType::S32, "1//"), Ok(Value::I32(1)));
    assert!(wave::parse(&WitType::String, "//").is_err());
    assert_eq!(parse_value(&ValType::I32, "7 //"), Ok(Value::I32(7)));
    assert!(parse_value(&ValType::F64, "//").is_err());
    let long = format!("[-0.{}1]//", "0".repeat(300));
    let floats = WitType::List(Box::new(WitType::F32));
    assert!(wave::parse(&floats, &long).is_ok(), "{long}");
}
