//! Core values as people type and read them:
//! WAVE syntax for numbers (`42`, `-1.5`, `nan`, `inf`), a tuple `(a, b)` for
//! several results, `0x…` (32 hex digits at most) for a v128, and `null` /
//! `ref.func` / `ref.extern N` for references, which WAVE has no words for.
//! Component values, typed by WIT, are in [`crate::wave`].

use crate::wave::{excerpt, explain};
use sandcall_protocol::hint::{fits, range_note};
use sandcall_protocol::{HeldRef, RefKind, ValType, Value};
use wasm_wave::value::{Type, Value as Wave};
use wasm_wave::wasm::WasmValue;

/// Parse `text` as a value of type `ty`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_value(ty: &ValType, text: &str) -> Result<Value, String> {
    let text = text.trim();
    let quoted = excerpt(text);
    let wave = |t: &Type| {
        wasm_wave::from_str::<Wave>(t, &crate::wave::lexable(text))
            .map_err(|e| format!("`{quoted}` is not a {ty}: {}", explain(&e, text)))
    };
    // Out of range is refused, never wrapped: 4294967295 is not stored as
    // an i32's -1 (the message names the number with the same bits).
    let out_of_range = |name: &str, same_bits: Option<String>| {
        let mut message = format!("`{quoted}` is {}", range_note(name));
        if let Some(same) = same_bits {
            message.push_str(&format!("; the {name} with the same bits is {same}"));
        }
        message
    };
    // Rust reads `1e400` as infinity: refuse it rather than send `inf`.
    let finite = |value: f64, name: &str| {
        let spelled = matches!(text, "inf" | "-inf" | "+inf");
        match value.is_infinite() && !spelled {
            true => Err(format!(
                "`{quoted}` is {}; write `inf` for infinity",
                range_note(name)
            )),
            false => Ok(()),
        }
    };
    match ty {
        ValType::I32 => match fits(text, "i32") {
            Some(false) => Err(out_of_range(
                "i32",
                text.parse::<u32>().ok().map(|u| (u as i32).to_string()),
            )),
            _ => Ok(Value::I32(wave(&Type::S32)?.unwrap_s32())),
        },
        ValType::I64 => match fits(text, "i64") {
            Some(false) => Err(out_of_range(
                "i64",
                text.parse::<u64>().ok().map(|u| (u as i64).to_string()),
            )),
            _ => Ok(Value::I64(wave(&Type::S64)?.unwrap_s64())),
        },
        ValType::F32 => {
            let v = wave(&Type::F32)?.unwrap_f32();
            finite(v.into(), "f32")?;
            Ok(Value::F32(v.to_bits()))
        }
        ValType::F64 => {
            let v = wave(&Type::F64)?.unwrap_f64();
            finite(v, "f64")?;
            Ok(Value::F64(v.to_bits()))
        }
        ValType::V128 => text
            .strip_prefix("0x")
            .filter(|hex| !hex.is_empty() && hex.len() <= 32)
            .and_then(|hex| u128::from_str_radix(hex, 16).ok())
            .map(Value::V128)
            .ok_or_else(|| format!("`{text}` is not a v128 (write 0x and up to 32 hex digits)")),
        ValType::FuncRef => match text {
            "null" | "ref.null func" => Ok(Value::NullRef(RefKind::Func)),
            _ => Err(format!(
                "`{text}` is not a funcref: only `null` can be sent"
            )),
        },
        ValType::ExternRef => {
            let n = text.strip_prefix("ref.extern").unwrap_or(text).trim();
            match n {
                "null" | "ref.null extern" => Ok(Value::NullRef(RefKind::Extern)),
                _ if text.starts_with("ref.held") => {
                    HeldRef::parse(text).map(Value::Held).ok_or_else(|| {
                        format!("`{text}` is not a held reference (`ref.held CLASS N`)")
                    })
                }
                _ => n
                    .parse()
                    .map(Value::ExternRef)
                    .map_err(|_| format!("`{text}` is not an externref (`null` or a number)")),
            }
        }
        ValType::OtherRef(t) => match (null_of(text, t), HeldRef::parse(text), host(text)) {
            (Some(kind), _, _) => Ok(Value::NullRef(kind)),
            (None, Some(held), _) => Ok(Value::Held(held)),
            (None, None, Some(n)) => Ok(Value::ExternRef(n)),
            (None, None, None) => Err(format!(
                "values of type {t} cannot be written, except a null (`null` or \
                 `ref.null HEAP`), a reference the server returned (`ref.held CLASS N`) and, \
                 for an anyref, the client's externref N (`ref.host N` or `ref.extern N`)"
            )),
        },
    }
}

/// The number of a host reference: the client's externref `N`, written
/// `ref.host N` or `ref.extern N`, which the server turns into an anyref.
fn host(text: &str) -> Option<u32> {
    let n = text
        .strip_prefix("ref.host ")
        .or_else(|| text.strip_prefix("ref.extern "))?;
    n.trim().parse().ok()
}

/// The null `text` spells for a reference of type `ty` (a GC, exception
/// or typed function reference): `ref.null func|extern|any|exn`, or `null`
/// when the type names its hierarchy.
fn null_of(text: &str, ty: &str) -> Option<RefKind> {
    let kinds = [RefKind::Func, RefKind::Extern, RefKind::Any, RefKind::Exn];
    if let Some(heap) = text.strip_prefix("ref.null ") {
        return kinds.into_iter().find(|k| k.heap_name() == heap.trim());
    }
    if text != "null" {
        return None;
    }
    RefKind::of_type(ty)
}

/// One value in WAVE syntax (or the spellings above where WAVE has none).
pub fn format_value(value: &Value) -> String {
    let wave = match value {
        Value::I32(v) => Wave::make_s32(*v),
        Value::I64(v) => Wave::make_s64(*v),
        Value::F32(bits) => Wave::make_f32(f32::from_bits(*bits)),
        Value::F64(bits) => Wave::make_f64(f64::from_bits(*bits)),
        Value::NullRef(_) => return "null".to_string(),
        other => return other.to_string(),
    };
    wasm_wave::to_string(&wave).unwrap_or_else(|_| value.to_string())
}

/// Results as printed: nothing for none, the value for one, a tuple for more.
pub fn format_results(values: &[Value]) -> String {
    match values {
        [] => String::new(),
        [one] => format_value(one),
        many => format!(
            "({})",
            many.iter().map(format_value).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// `1234567` as `1,234,567`: how the CLI, the examples and the bench print counts.
pub fn thousands(n: impl Into<u64>) -> String {
    let digits = n.into().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_through_text() {
        for (ty, text) in [
            (ValType::I32, "-42"),
            (ValType::I64, "-9223372036854775808"),
            (ValType::F64, "-1.5"),
            (ValType::F32, "nan"),
            (ValType::F64, "-inf"),
        ] {
            let value = parse_value(&ty, text).unwrap();
            assert_eq!(format_value(&value), text);
        }
        assert!(parse_value(&ValType::I32, "1.5").is_err());
    }

    #[test]
    fn numbers_out_of_range_are_refused_not_wrapped() {
        let e = parse_value(&ValType::I32, "4294967295").unwrap_err();
        assert_eq!(
            e,
            "`4294967295` is out of range for i32 (-2147483648..=2147483647); \
             the i32 with the same bits is -1"
        );
        let e = parse_value(&ValType::I32, "-2147483649").unwrap_err();
        assert!(e.contains("out of range for i32"), "{e}");
        let e = parse_value(&ValType::I64, "18446744073709551616").unwrap_err();
        assert!(e.contains("out of range for i64"), "{e}");
        assert!(!e.contains("same bits"), "{e}");
        let e = parse_value(&ValType::F64, "1e400").unwrap_err();
        assert!(
            e.contains("out of range for f64") && e.contains("`inf`"),
            "{e}"
        );
        let e = parse_value(&ValType::F32, "1e39").unwrap_err();
        assert!(e.contains("out of range for f32"), "{e}");
        assert_eq!(
            parse_value(&ValType::F32, "-inf").unwrap(),
            Value::F32(f32::NEG_INFINITY.to_bits())
        );
        assert!(parse_value(&ValType::F64, "1e300").is_ok());
        let e = parse_value(&ValType::I32, "12x").unwrap_err();
        assert!(!e.contains(".."), "no byte span: {e}");
    }

    #[test]
    fn held_references_read_back_as_printed() {
        let held = Value::Held(HeldRef {
            class: sandcall_protocol::RefClass::Struct,
            id: 42,
        });
        let text = format_value(&held);
        assert_eq!(text, "ref.held struct 42");
        let ty = ValType::OtherRef("(ref null $point)".into());
        assert_eq!(parse_value(&ty, &text).unwrap(), held);
        let e = parse_value(&ty, "ref.held cat 1").unwrap_err();
        assert!(e.contains("ref.held CLASS N"), "{e}");
        let any = ValType::OtherRef("(ref null any)".into());
        assert_eq!(
            parse_value(&any, "ref.host 7").unwrap(),
            Value::ExternRef(7)
        );
    }

    #[test]
    fn results_print_as_a_tuple() {
        assert_eq!(format_results(&[Value::I32(1), Value::I64(2)]), "(1, 2)");
        assert_eq!(format_results(&[Value::I32(7)]), "7");
        assert_eq!(format_results(&[]), "");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0u64), "0");
        assert_eq!(thousands(999u64), "999");
        assert_eq!(thousands(1_000u64), "1,000");
        assert_eq!(thousands(1_234_567u64), "1,234,567");
    }
}
