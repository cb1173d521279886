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
use wasm_wave::parser::ParserErrorKind;
use wasm_wave::value::{Type, Value as Wave};
use wasm_wave::wasm::{WasmTypeKind, WasmValue};

mod format;
mod numbers;
use format::to_wave;

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
    let wave: Wave = wasm_wave::from_str(&wave_ty, &lexable(text)).map_err(|e| {
        let why = text
            .get(e.span())
            .filter(|_| e.kind() == ParserErrorKind::InvalidValue)
            .and_then(|bad| numbers::invalid_number(ty, bad))
            .unwrap_or_else(|| explain(&e, text));
        // A scalar whose own literal is at fault needs saying once.
        let mut message = match why.starts_with(&format!("`{text}` is ")) {
            true => why,
            false => format!("`{}` is not a {ty}: {why}", excerpt(text)),
        };
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
    let value =
        from_wave(ty, &wave).map_err(|e| format!("`{}` is not a {ty}: {e}", excerpt(text)))?;
    match numbers::float_overflow(ty, text, &value) {
        Some(why) if why.starts_with(&format!("`{text}` is ")) => Err(why),
        Some(why) => Err(format!("`{}` is not a {ty}: {why}", excerpt(text))),
        None => Ok(value),
    }
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
        (WitType::List(elem), K::List) => match elem.num_type() {
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

/// At most 60 characters of `text`, for quoting it in a message.
pub(crate) fn excerpt(text: &str) -> Cow<'_, str> {
    const MAX: usize = 60;
    match text.char_indices().nth(MAX) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// `text` as `wasm-wave` can lex it: its lexer panics on a `//` comment
/// that ends the text (wasm-wave 0.263's `skip_comment` unwraps the rest
/// of the line, and there is none), so such a comment gets the line end it
/// lacks. Found by fuzzing (issue 15): `eval v echo-s32 1//` crashed the CLI.
pub(crate) fn lexable(text: &str) -> Cow<'_, str> {
    match text.ends_with("//") {
        true => Cow::Owned(format!("{text}\n")),
        false => Cow::Borrowed(text),
    }
}

/// A WAVE parse error with the offending part of `text` quoted (never a
/// byte offset: people read the text, not its bytes).
pub(crate) fn explain(e: &wasm_wave::parser::ParserError, text: &str) -> String {
    let span = e.span();
    if let Some(bad) = text.get(span.clone()).filter(|bad| !bad.is_empty())
        && e.kind() == ParserErrorKind::UnexpectedToken
    {
        // WAVE's detail names the token's kind ("Number"); the text says more.
        return format!("unexpected `{}`", excerpt(bad));
    }
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message = format!("{message}: {detail}");
    }
    if let Some(source) = std::error::Error::source(e) {
        message = format!("{message}: {}", excerpt(&source.to_string()));
    }
    match text.get(span.clone()) {
        Some(bad) if !bad.is_empty() && bad.len() < text.len() => {
            format!("{message} at `{}`", excerpt(bad))
        }
        Some(bad) if !bad.is_empty() => message,
        // An empty span: the end of the text, or a place inside it.
        _ => match text.get(..span.start).filter(|before| !before.is_empty()) {
            Some(before) if span.start < text.len() => {
                format!("{message} after `{}`", excerpt_end(before))
            }
            _ => message,
        },
    }
}

/// At most the last 30 characters of `text`, for saying where in it.
fn excerpt_end(text: &str) -> Cow<'_, str> {
    const MAX: usize = 30;
    let count = text.chars().count();
    match text.char_indices().nth(count.saturating_sub(MAX)) {
        Some((start, _)) if start > 0 => Cow::Owned(format!("…{}", &text[start..])),
        _ => Cow::Borrowed(text),
    }
}

#[cfg(test)]
mod tests;
