//! Component values as WAVE text, typed by their WIT types: `[5, 3, 9, 1]`
//! for a `list<s32>`, `{x: 1, label: "a"}` for a record, `'x'`, `some(3)`,
//! `ok`, `err("no")`, `circle(1.5)`, `{read, exec}` for flags.
//!
//! Text is parsed with the `wasm-wave` crate against the type the server
//! reported, then turned into a protocol [`Value`]; lists of numbers become
//! [`Value::Packed`], one buffer on the wire. Values coming back are checked
//! against their type before they are printed, so a server that sends
//! something else gets an error, not a panic.

use sandcall_protocol::{NumType, Number, Packed, Value, WitFunc, WitType};
use std::borrow::Cow;
use wasm_wave::value::{Type, Value as Wave};
use wasm_wave::wasm::{WasmType, WasmTypeKind, WasmValue};

/// The arguments of a call to `func`, one text per parameter (the caller
/// has checked the count).
///
/// # Errors
/// As [`parse`], naming the parameter when there are several.
pub fn parse_args(func: &WitFunc, texts: &[&str]) -> Result<Vec<Value>, String> {
    func.params
        .iter()
        .zip(texts)
        .map(|((name, ty), text)| {
            parse(ty, text).map_err(|e| match func.params.len() {
                1 => e,
                _ => format!("argument `{name}`: {e}"),
            })
        })
        .collect()
}

/// The answer of a call to `func` as printed: nothing when the function
/// returns nothing, else its result in WAVE syntax.
///
/// # Errors
/// When the server's values do not fit the signature.
pub fn format_result(func: &WitFunc, results: &[Value]) -> Result<String, String> {
    match (&func.result, results) {
        (None, []) => Ok(String::new()),
        (Some(ty), [value]) => format(ty, value),
        (_, values) => Err(format!("{} value(s) for a {func}", values.len())),
    }
}

/// Parse `text` as a value of `ty`.
///
/// # Errors
/// A message quoting the text, naming the WIT type and saying what did not
/// fit; or that values of `ty` cannot be written (resources, empty records).
pub fn parse(ty: &WitType, text: &str) -> Result<Value, String> {
    let wave_ty = wave_type(ty)?;
    let text = text.trim();
    let wave: Wave = wasm_wave::from_str(&wave_ty, text).map_err(|e| {
        let mut message = format!("`{}` is not a {ty}: {}", excerpt(text), explain(&e, text));
        // The usual slip: a shell ate the quotes WAVE needs.
        let (quote, shell) = match ty {
            WitType::String => ('"', '\''),
            WitType::Char => ('\'', '"'),
            _ => return message,
        };
        if !text.starts_with(quote) {
            let quoted = format!("{quote}{}{quote}", excerpt(text));
            message.push_str(&format!(
                " (write it quoted, {quoted}; from a shell, {shell}{quoted}{shell})"
            ));
        }
        message
    })?;
    from_wave(ty, &wave).map_err(|e| format!("`{}` is not a {ty}: {e}", excerpt(text)))
}

/// `value` in WAVE syntax, checked against `ty`.
///
/// # Errors
/// Where and how `value` does not fit `ty`, or that `ty` has no WAVE form.
pub fn format(ty: &WitType, value: &Value) -> Result<String, String> {
    let wave_ty = wave_type(ty)?;
    let wave = to_wave(ty, &wave_ty, value).map_err(|m| match m.path.is_empty() {
        true => format!("the value is not a {ty}: {}", m.message),
        false => format!(
            "the value is not a {ty}: at {}: {}",
            m.path.trim_start_matches('.'),
            m.message
        ),
    })?;
    wasm_wave::to_string(&wave).map_err(|e| e.to_string())
}

/// The WAVE type of a WIT type.
///
/// # Errors
/// For types whose values cannot cross the wire, and for empty records,
/// tuples, variants, enums and flags, which WAVE has no type for.
pub fn wave_type(ty: &WitType) -> Result<Type, String> {
    let empty = || format!("values of the empty type {ty} cannot be written");
    Ok(match ty {
        WitType::Bool => Type::BOOL,
        WitType::S8 => Type::S8,
        WitType::U8 => Type::U8,
        WitType::S16 => Type::S16,
        WitType::U16 => Type::U16,
        WitType::S32 => Type::S32,
        WitType::U32 => Type::U32,
        WitType::S64 => Type::S64,
        WitType::U64 => Type::U64,
        WitType::F32 => Type::F32,
        WitType::F64 => Type::F64,
        WitType::Char => Type::CHAR,
        WitType::String => Type::STRING,
        WitType::List(t) => Type::list(wave_type(t)?),
        WitType::Record(fields) => Type::record(
            fields
                .iter()
                .map(|(name, t)| Ok((name.as_str(), wave_type(t)?)))
                .collect::<Result<Vec<_>, String>>()?,
        )
        .ok_or_else(empty)?,
        WitType::Tuple(items) => {
            Type::tuple(items.iter().map(wave_type).collect::<Result<Vec<_>, _>>()?)
                .ok_or_else(empty)?
        }
        WitType::Variant(cases) => Type::variant(
            cases
                .iter()
                .map(|(name, t)| Ok((name.as_str(), t.as_ref().map(wave_type).transpose()?)))
                .collect::<Result<Vec<_>, String>>()?,
        )
        .ok_or_else(empty)?,
        WitType::Enum(names) => {
            Type::enum_ty(names.iter().map(String::as_str)).ok_or_else(empty)?
        }
        WitType::Option(t) => Type::option(wave_type(t)?),
        WitType::Result { ok, err } => Type::result(
            ok.as_deref().map(wave_type).transpose()?,
            err.as_deref().map(wave_type).transpose()?,
        ),
        WitType::Flags(names) => Type::flags(names.iter().map(String::as_str)).ok_or_else(empty)?,
        WitType::Other(t) => return Err(format!("values of type {t} cannot cross the wire")),
    })
}

/// The element type of a list that travels packed.
fn packed_type(elem: &WitType) -> Option<NumType> {
    Some(match elem {
        WitType::S8 => NumType::S8,
        WitType::U8 => NumType::U8,
        WitType::S16 => NumType::S16,
        WitType::U16 => NumType::U16,
        WitType::S32 => NumType::S32,
        WitType::U32 => NumType::U32,
        WitType::S64 => NumType::S64,
        WitType::U64 => NumType::U64,
        WitType::F32 => NumType::F32,
        WitType::F64 => NumType::F64,
        _ => return None,
    })
}

/// A parsed WAVE value as a protocol value. The wave value was built for
/// `ty`, so a disagreement here is a bug, reported rather than unwrapped.
fn from_wave(ty: &WitType, v: &Wave) -> Result<Value, String> {
    use WasmTypeKind as K;
    Ok(match (ty, v.kind()) {
        (WitType::Bool, K::Bool) => Value::Bool(v.unwrap_bool()),
        (WitType::S8, K::S8) => Value::S8(v.unwrap_s8()),
        (WitType::U8, K::U8) => Value::U8(v.unwrap_u8()),
        (WitType::S16, K::S16) => Value::S16(v.unwrap_s16()),
        (WitType::U16, K::U16) => Value::U16(v.unwrap_u16()),
        (WitType::S32, K::S32) => Value::I32(v.unwrap_s32()),
        (WitType::U32, K::U32) => Value::U32(v.unwrap_u32()),
        (WitType::S64, K::S64) => Value::I64(v.unwrap_s64()),
        (WitType::U64, K::U64) => Value::U64(v.unwrap_u64()),
        (WitType::F32, K::F32) => Value::f32(v.unwrap_f32()),
        (WitType::F64, K::F64) => Value::f64(v.unwrap_f64()),
        (WitType::Char, K::Char) => Value::Char(v.unwrap_char()),
        (WitType::String, K::String) => Value::String(v.unwrap_string().into_owned()),
        (WitType::List(elem), K::List) => match packed_type(elem) {
            Some(num) => Value::Packed(pack(num, v)?),
            None => Value::List(
                v.unwrap_list()
                    .map(|item| from_wave(elem, &item))
                    .collect::<Result<_, _>>()?,
            ),
        },
        (WitType::Record(fields), K::Record) => Value::Record(
            fields
                .iter()
                .zip(v.unwrap_record())
                .map(|((name, t), (_, field))| Ok((name.clone(), from_wave(t, &field)?)))
                .collect::<Result<_, String>>()?,
        ),
        (WitType::Tuple(types), K::Tuple) => Value::Tuple(
            types
                .iter()
                .zip(v.unwrap_tuple())
                .map(|(t, item)| from_wave(t, &item))
                .collect::<Result<_, _>>()?,
        ),
        (WitType::Variant(cases), K::Variant) => {
            let (case, payload) = v.unwrap_variant();
            let payload_ty = cases
                .iter()
                .find(|(n, _)| *n == case)
                .and_then(|(_, t)| t.as_ref());
            Value::Variant(case.into_owned(), from_payload(payload_ty, payload)?)
        }
        (WitType::Enum(_), K::Enum) => Value::Enum(v.unwrap_enum().into_owned()),
        (WitType::Option(t), K::Option) => Value::Option(from_payload(Some(t), v.unwrap_option())?),
        (WitType::Result { ok, err }, K::Result) => Value::Result(match v.unwrap_result() {
            Ok(payload) => Ok(from_payload(ok.as_deref(), payload)?),
            Err(payload) => Err(from_payload(err.as_deref(), payload)?),
        }),
        (WitType::Flags(_), K::Flags) => {
            Value::Flags(v.unwrap_flags().map(Cow::into_owned).collect())
        }
        (_, kind) => return Err(format!("internal error: parsed a {kind}")),
    })
}

fn from_payload(
    ty: Option<&WitType>,
    payload: Option<Cow<'_, Wave>>,
) -> Result<Option<Box<Value>>, String> {
    match (ty, payload) {
        (Some(t), Some(v)) => Ok(Some(Box::new(from_wave(t, &v)?))),
        (_, None) => Ok(None),
        (None, Some(_)) => Err("internal error: a payload the type has no room for".into()),
    }
}

/// The numbers of a parsed list as one little-endian buffer.
fn pack(elem: NumType, list: &Wave) -> Result<Packed, String> {
    fn gather<T: Number>(list: &Wave, kind: WasmTypeKind, get: fn(&Wave) -> T) -> Option<Packed> {
        let items = list
            .unwrap_list()
            .map(|item| (item.kind() == kind).then(|| get(&item)))
            .collect::<Option<Vec<T>>>()?;
        Some(Packed::from_slice(&items))
    }
    use WasmTypeKind as K;
    match elem {
        NumType::S8 => gather(list, K::S8, Wave::unwrap_s8),
        NumType::U8 => gather(list, K::U8, Wave::unwrap_u8),
        NumType::S16 => gather(list, K::S16, Wave::unwrap_s16),
        NumType::U16 => gather(list, K::U16, Wave::unwrap_u16),
        NumType::S32 => gather(list, K::S32, Wave::unwrap_s32),
        NumType::U32 => gather(list, K::U32, Wave::unwrap_u32),
        NumType::S64 => gather(list, K::S64, Wave::unwrap_s64),
        NumType::U64 => gather(list, K::U64, Wave::unwrap_u64),
        NumType::F32 => gather(list, K::F32, Wave::unwrap_f32),
        NumType::F64 => gather(list, K::F64, Wave::unwrap_f64),
    }
    .ok_or_else(|| format!("internal error: a list element that is not a {elem}"))
}

/// Where in a value it stops fitting its type (`[3].label`), and how.
struct Mismatch {
    path: String,
    message: String,
}

impl Mismatch {
    fn new(message: impl Into<String>) -> Self {
        Mismatch {
            path: String::new(),
            message: message.into(),
        }
    }

    /// The same mismatch, one level further out.
    fn at(mut self, step: impl std::fmt::Display) -> Self {
        self.path = format!("{step}{}", self.path);
        self
    }
}

fn made(result: Result<Wave, wasm_wave::wasm::WasmValueError>) -> Result<Wave, Mismatch> {
    result.map_err(|e| Mismatch::new(e.to_string()))
}

/// A protocol value as a WAVE value of `wave_ty` (the WAVE form of `ty`).
fn to_wave(ty: &WitType, wave_ty: &Type, value: &Value) -> Result<Wave, Mismatch> {
    let wrong = || {
        Mismatch::new(format!(
            "found a {} where a {ty} belongs",
            value.kind_name()
        ))
    };
    Ok(match (ty, value) {
        (WitType::Bool, Value::Bool(v)) => Wave::make_bool(*v),
        (WitType::S8, Value::S8(v)) => Wave::make_s8(*v),
        (WitType::U8, Value::U8(v)) => Wave::make_u8(*v),
        (WitType::S16, Value::S16(v)) => Wave::make_s16(*v),
        (WitType::U16, Value::U16(v)) => Wave::make_u16(*v),
        (WitType::S32, Value::I32(v)) => Wave::make_s32(*v),
        (WitType::U32, Value::U32(v)) => Wave::make_u32(*v),
        (WitType::S64, Value::I64(v)) => Wave::make_s64(*v),
        (WitType::U64, Value::U64(v)) => Wave::make_u64(*v),
        (WitType::F32, Value::F32(bits)) => Wave::make_f32(f32::from_bits(*bits)),
        (WitType::F64, Value::F64(bits)) => Wave::make_f64(f64::from_bits(*bits)),
        (WitType::Char, Value::Char(c)) => Wave::make_char(*c),
        (WitType::String, Value::String(s)) => Wave::make_string(Cow::Borrowed(s)),
        (WitType::List(elem), Value::Packed(p)) => {
            made(Wave::make_list(wave_ty, unpack(elem, p)?))?
        }
        (WitType::List(elem), Value::List(items)) => {
            let elem_ty = wave_ty.list_element_type().ok_or_else(wrong)?;
            let items = items
                .iter()
                .enumerate()
                .map(|(i, v)| to_wave(elem, &elem_ty, v).map_err(|m| m.at(format_args!("[{i}]"))))
                .collect::<Result<Vec<_>, _>>()?;
            made(Wave::make_list(wave_ty, items))?
        }
        (WitType::Record(fields), Value::Record(values)) => {
            if values.len() != fields.len() {
                let names: Vec<&str> = values.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Mismatch::new(format!(
                    "found a record with fields {{{}}} where a {ty} belongs",
                    names.join(", ")
                )));
            }
            let mut out = Vec::with_capacity(fields.len());
            for ((name, t), (_, field_ty)) in fields.iter().zip(wave_ty.record_fields()) {
                let v = values
                    .iter()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v)
                    .ok_or_else(|| Mismatch::new(format!("field `{name}` is missing")))?;
                let v = to_wave(t, &field_ty, v).map_err(|m| m.at(format_args!(".{name}")))?;
                out.push((name.as_str(), v));
            }
            made(Wave::make_record(wave_ty, out))?
        }
        (WitType::Tuple(types), Value::Tuple(values)) if types.len() == values.len() => {
            let items = types
                .iter()
                .zip(wave_ty.tuple_element_types())
                .zip(values)
                .enumerate()
                .map(|(i, ((t, wt), v))| to_wave(t, &wt, v).map_err(|m| m.at(format_args!(".{i}"))))
                .collect::<Result<Vec<_>, _>>()?;
            made(Wave::make_tuple(wave_ty, items))?
        }
        (WitType::Variant(cases), Value::Variant(case, payload)) => {
            let i = cases
                .iter()
                .position(|(n, _)| n == case)
                .ok_or_else(|| Mismatch::new(format!("`{case}` is not a case of {ty}")))?;
            let payload_ty = wave_ty.variant_cases().nth(i).and_then(|(_, t)| t);
            let payload = to_payload(case, cases[i].1.as_ref(), payload_ty, payload.as_deref())?;
            made(Wave::make_variant(wave_ty, case, payload))?
        }
        (WitType::Enum(names), Value::Enum(case)) => {
            if !names.contains(case) {
                return Err(Mismatch::new(format!("`{case}` is not a case of {ty}")));
            }
            made(Wave::make_enum(wave_ty, case))?
        }
        (WitType::Option(t), Value::Option(v)) => {
            let v = match v {
                Some(v) => to_payload("some", Some(t), wave_ty.option_some_type(), Some(v))?,
                None => None,
            };
            made(Wave::make_option(wave_ty, v))?
        }
        (WitType::Result { ok, err }, Value::Result(r)) => {
            let (ok_ty, err_ty) = wave_ty.result_types().ok_or_else(wrong)?;
            let r = match r {
                Ok(v) => Ok(to_payload("ok", ok.as_deref(), ok_ty, v.as_deref())?),
                Err(v) => Err(to_payload("err", err.as_deref(), err_ty, v.as_deref())?),
            };
            made(Wave::make_result(wave_ty, r))?
        }
        (WitType::Flags(names), Value::Flags(set)) => {
            if let Some(unknown) = set.iter().find(|f| !names.contains(f)) {
                return Err(Mismatch::new(format!("`{unknown}` is not a flag of {ty}")));
            }
            made(Wave::make_flags(wave_ty, set.iter().map(String::as_str)))?
        }
        _ => return Err(wrong()),
    })
}

/// The payload of case `case`, present exactly when the type has one.
fn to_payload(
    case: &str,
    ty: Option<&WitType>,
    wave_ty: Option<Type>,
    value: Option<&Value>,
) -> Result<Option<Wave>, Mismatch> {
    match (ty, wave_ty, value) {
        (Some(t), Some(wt), Some(v)) => Ok(Some(
            to_wave(t, &wt, v).map_err(|m| m.at(format_args!(".{case}")))?,
        )),
        (None, _, None) => Ok(None),
        (Some(t), _, None) => Err(Mismatch::new(format!("`{case}` lacks its {t} payload"))),
        (_, _, Some(v)) => Err(Mismatch::new(format!(
            "`{case}` carries a {} but has no payload",
            v.kind_name()
        ))),
    }
}

/// The elements of a packed list as WAVE numbers, if they are `elem`s.
fn unpack(elem: &WitType, p: &Packed) -> Result<Vec<Wave>, Mismatch> {
    fn items<T: Number>(p: &Packed, make: fn(T) -> Wave) -> Vec<Wave> {
        p.bytes
            .chunks_exact(T::TYPE.size())
            .map(|b| make(T::get(b)))
            .collect()
    }
    if packed_type(elem) != Some(p.elem) {
        return Err(Mismatch::new(format!(
            "found a packed list of {} where a list<{elem}> belongs",
            p.elem
        )));
    }
    if !p.is_whole() {
        return Err(Mismatch::new(format!(
            "a packed list of {} holds {} bytes, not a whole number of elements",
            p.elem,
            p.bytes.len()
        )));
    }
    Ok(match p.elem {
        NumType::S8 => items(p, Wave::make_s8),
        NumType::U8 => items(p, Wave::make_u8),
        NumType::S16 => items(p, Wave::make_s16),
        NumType::U16 => items(p, Wave::make_u16),
        NumType::S32 => items(p, Wave::make_s32),
        NumType::U32 => items(p, Wave::make_u32),
        NumType::S64 => items(p, Wave::make_s64),
        NumType::U64 => items(p, Wave::make_u64),
        NumType::F32 => items(p, Wave::make_f32),
        NumType::F64 => items(p, Wave::make_f64),
    })
}

/// At most 60 characters of `text`, for quoting it in a message.
fn excerpt(text: &str) -> Cow<'_, str> {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// A WAVE parse error with the offending part of `text` quoted.
fn explain(e: &wasm_wave::parser::ParserError, text: &str) -> String {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message = format!("{message}: {detail}");
    }
    if let Some(source) = std::error::Error::source(e) {
        message = format!("{message}: {}", excerpt(&source.to_string()));
    }
    let span = e.span();
    match text.get(span.clone()) {
        Some(bad) if !bad.is_empty() && bad.len() < text.len() => {
            format!("{message} at `{}` (byte {})", excerpt(bad), span.start)
        }
        Some(bad) if !bad.is_empty() => message,
        _ => format!("{message} at byte {}", span.start),
    }
}

#[cfg(test)]
mod tests {
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
        assert!(e.contains("`x` (byte 4)"), "{e}");
        let e = parse(&WitType::U8, "256").unwrap_err();
        assert!(e.starts_with("`256` is not a u8: invalid value"), "{e}");
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
}
