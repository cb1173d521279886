//! The value model: display, previews, types, packed lists.

use super::*;

#[test]
fn display_uses_wave_numbers() {
    assert_eq!(Value::I32(-7).to_string(), "-7");
    assert_eq!(Value::f64(-1.5).to_string(), "-1.5");
    assert_eq!(Value::f32(f32::NAN).to_string(), "nan");
    assert_eq!(Value::f64(f64::NEG_INFINITY).to_string(), "-inf");
    assert_eq!(Value::f64(-0.0).to_string(), "-0.0");
}

#[test]
fn display_of_component_values_is_wave() {
    let point = Value::Record(vec![
        ("x".into(), Value::I32(1)),
        ("label".into(), Value::String("a \"b\"".into())),
    ]);
    assert_eq!(point.to_string(), r#"{x: 1, label: "a \"b\""}"#);
    assert_eq!(Value::list_of(&[3i32, -1]).to_string(), "[3, -1]");
    assert_eq!(Value::list_of(&[0.1f32]).to_string(), "[0.1]");
    assert_eq!(
        Value::Option(Some(Box::new(Value::Char('x')))).to_string(),
        "some('x')"
    );
    assert_eq!(Value::Result(Err(None)).to_string(), "err");
    assert_eq!(
        Value::Flags(vec!["read".into(), "exec".into()]).to_string(),
        "{read, exec}"
    );
}

#[test]
fn numbers_come_out_of_packed_and_plain_lists() {
    let plain = Value::List(vec![Value::I32(2), Value::I32(1)]);
    assert_eq!(plain.to_numbers::<i32>(), Some(vec![2, 1]));
    assert_eq!(
        Value::list_of(&[2i32, 1]).to_numbers::<i32>(),
        Some(vec![2, 1])
    );
    assert_eq!(plain.to_numbers::<i64>(), None);
}

fn decode(value: &Value) -> Result<Value, crate::CodecError> {
    let body = bincode::serde::encode_to_vec(value, bincode::config::standard()).unwrap();
    crate::codec::decode_body(&body)
}

#[test]
fn deep_nesting_is_refused_while_decoding() {
    let nest = |depth| {
        let mut v = Value::Bool(true);
        for _ in 1..depth {
            v = Value::List(vec![v]);
        }
        v
    };
    let ok = nest(crate::nesting::MAX_DEPTH as usize);
    assert_eq!(decode(&ok).unwrap(), ok);
    // Built as bytes: a value this deep would overflow the stack when
    // encoded or dropped. `List` is variant 17, `Bool` 8.
    let mut body = [17u8, 1].repeat(100_000);
    body.extend([8, 1]);
    let e = crate::codec::decode_body::<Value>(&body).unwrap_err();
    assert!(e.to_string().contains("nest deeper"), "{e}");
}

#[test]
fn a_message_holds_a_bounded_number_of_values() {
    let n = crate::nesting::MAX_VALUES as usize;
    let ok = Value::List(vec![Value::Bool(false); n - 1]);
    assert!(decode(&ok).is_ok());
    let e = decode(&Value::List(vec![Value::Bool(false); n])).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
    // A packed list is one value whatever its length.
    assert!(decode(&Value::list_of(&vec![7u8; 2 * n])).is_ok());
}

#[test]
fn flag_names_count_as_values() {
    // One byte on the wire each, 24 in memory: counted like values.
    let n = crate::nesting::MAX_VALUES as usize;
    let ok = Value::Flags(vec![String::new(); n - 1]);
    assert_eq!(decode(&ok).unwrap(), ok);
    let e = decode(&Value::Flags(vec![String::new(); n])).unwrap_err();
    assert!(e.to_string().contains("at most"), "{e}");
}

#[test]
fn previews_stop_at_their_bound() {
    let long = Value::String("x".repeat(1 << 20));
    let p = long.preview(10);
    assert_eq!(p, "\"xxxxxxxxx…");
    let flags = Value::Flags(vec!["read".into(), "exec".into()]);
    assert_eq!(flags.preview(100), "{read, exec}");
    // A cut inside a multi-byte character stays on a boundary.
    assert_eq!(Value::String("ééé".into()).preview(4), "\"é…");
}
