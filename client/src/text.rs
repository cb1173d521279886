//! Core values as people type and read them:
//! WAVE syntax for numbers (`42`, `-1.5`, `nan`, `inf`), a tuple `(a, b)` for
//! several results, `0x…` (32 hex digits at most) for a v128, and `null` /
//! `ref.func` / `ref.extern N` for references, which WAVE has no words for.
//! Component values, typed by WIT, are in [`crate::wave`].

use sandcall_protocol::{RefKind, ValType, Value};
use wasm_wave::value::{Type, Value as Wave};
use wasm_wave::wasm::WasmValue;

/// Parse `text` as a value of type `ty`.
///
/// # Errors
/// A message saying what was expected.
pub fn parse_value(ty: &ValType, text: &str) -> Result<Value, String> {
    let text = text.trim();
    let wave = |t: &Type| {
        wasm_wave::from_str::<Wave>(t, text).map_err(|e| format!("`{text}` is not a {ty}: {e}"))
    };
    match ty {
        // An i32 may also be written as its unsigned reading (4294967295).
        ValType::I32 => match wave(&Type::S32) {
            Ok(v) => Ok(Value::I32(v.unwrap_s32())),
            Err(e) => wasm_wave::from_str::<Wave>(&Type::U32, text)
                .map(|v| Value::I32(v.unwrap_u32() as i32))
                .map_err(|_| e),
        },
        ValType::I64 => match wave(&Type::S64) {
            Ok(v) => Ok(Value::I64(v.unwrap_s64())),
            Err(e) => wasm_wave::from_str::<Wave>(&Type::U64, text)
                .map(|v| Value::I64(v.unwrap_u64() as i64))
                .map_err(|_| e),
        },
        ValType::F32 => Ok(Value::F32(wave(&Type::F32)?.unwrap_f32().to_bits())),
        ValType::F64 => Ok(Value::F64(wave(&Type::F64)?.unwrap_f64().to_bits())),
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
                _ => n
                    .parse()
                    .map(Value::ExternRef)
                    .map_err(|_| format!("`{text}` is not an externref (`null` or a number)")),
            }
        }
        ValType::OtherRef(t) => Err(format!("values of type {t} cannot be sent")),
    }
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
        assert_eq!(
            parse_value(&ValType::I32, "4294967295").unwrap(),
            Value::I32(-1)
        );
        assert!(parse_value(&ValType::I32, "1.5").is_err());
        assert!(parse_value(&ValType::I32, "4294967296").is_err());
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
