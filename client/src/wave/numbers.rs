//! Numbers that do not fit their type, said plainly: an integer out of its
//! type's range ("out of range for s32 (-2147483648..=2147483647)") rather
//! than WAVE's "invalid value", and a float literal too large for its type,
//! which Rust's float parsing would silently turn into `inf`.

use sandcall_protocol::hint::{fits, is_integer, range_note};
use sandcall_protocol::{Value, WitType};
use wasm_wave::lex::{Lexer, Token};

/// The integer types `ty` holds anywhere, by name (`s32`, `u8` …).
fn integer_types(ty: &WitType, out: &mut Vec<&'static str>) {
    let name = match ty {
        WitType::S8 => "s8",
        WitType::U8 => "u8",
        WitType::S16 => "s16",
        WitType::U16 => "u16",
        WitType::S32 => "s32",
        WitType::U32 => "u32",
        WitType::S64 => "s64",
        WitType::U64 => "u64",
        other => {
            for inner in children(other) {
                integer_types(inner, out);
            }
            return;
        }
    };
    if !out.contains(&name) {
        out.push(name);
    }
}

/// Whether `ty` holds an f32 and whether it holds an f64, anywhere.
fn float_types(ty: &WitType) -> (bool, bool) {
    match ty {
        WitType::F32 => (true, false),
        WitType::F64 => (false, true),
        other => children(other).fold((false, false), |(a, b), t| {
            let (c, d) = float_types(t);
            (a || c, b || d)
        }),
    }
}

/// The types directly inside `ty`.
fn children(ty: &WitType) -> Box<dyn Iterator<Item = &WitType> + '_> {
    match ty {
        WitType::List(t) | WitType::Option(t) => Box::new(std::iter::once(&**t)),
        WitType::Record(fields) => Box::new(fields.iter().map(|(_, t)| t)),
        WitType::Tuple(items) => Box::new(items.iter()),
        WitType::Variant(cases) => Box::new(cases.iter().filter_map(|(_, t)| t.as_ref())),
        WitType::Result { ok, err } => Box::new(ok.iter().chain(err.iter()).map(|t| &**t)),
        _ => Box::new(std::iter::empty()),
    }
}

/// Why the literal `bad`, which WAVE refused as an "invalid value" inside a
/// value of `ty`, does not fit: out of the range of the integer types it
/// may stand for, or not a whole number. `None` when it is neither.
pub(super) fn invalid_number(ty: &WitType, bad: &str) -> Option<String> {
    let mut ints = Vec::new();
    integer_types(ty, &mut ints);
    if ints.is_empty() {
        return None;
    }
    if is_integer(bad) {
        let notes: Vec<String> = ints
            .iter()
            .filter(|t| fits(bad, t) == Some(false))
            .map(|t| range_note(t))
            .collect();
        return (!notes.is_empty()).then(|| format!("`{bad}` is {}", notes.join(", or ")));
    }
    bad.parse::<f64>()
        .is_ok()
        .then(|| format!("`{bad}` is not a whole number, as {} needs", ints.join("/")))
}

/// A float literal in `text` too large for the float it became (parsed as
/// `value`, of type `ty`): Rust parses `1e400` as infinity, which the client
/// must not send in its place. `None` when every infinity was written `inf`.
pub(super) fn float_overflow(ty: &WitType, text: &str, value: &Value) -> Option<String> {
    let (has_f32, has_f64) = float_types(ty);
    if !(has_f32 || has_f64) {
        return None;
    }
    // Only an exponent or 39 digits in a row reach f32's 3.4e38.
    let mut run = 0;
    let long_run = text.bytes().any(|b| {
        run = if b.is_ascii_digit() { run + 1 } else { 0 };
        run >= 39
    });
    if !long_run && !text.bytes().any(|b| b == b'e' || b == b'E') {
        return None;
    }
    let text = super::lexable(text); // a `//` at the end panics the lexer
    let mut lexer = Lexer::new(&text);
    let mut spelled = 0;
    let mut too_big_for_f32 = None;
    while let Some(token) = lexer.next() {
        let slice = lexer.slice();
        match token {
            Ok(Token::Number) if slice == "-inf" => spelled += 1,
            Ok(Token::LabelOrKeyword) if slice == "inf" => spelled += 1,
            Ok(Token::Number) => {
                let Ok(n) = slice.parse::<f64>() else {
                    continue;
                };
                if n.is_infinite() {
                    let ty = if has_f64 { "f64" } else { "f32" };
                    return Some(overflow(slice, ty));
                }
                if too_big_for_f32.is_none() && (n as f32).is_infinite() {
                    too_big_for_f32 = Some(slice);
                }
            }
            _ => {}
        }
    }
    let slice = too_big_for_f32?;
    // With only f32s in the type, the literal became one; with f64s too, it
    // did if there are more infinite f32s than infinities written out.
    (!has_f64 || infinite_f32s(value) > spelled).then(|| overflow(slice, "f32"))
}

fn overflow(literal: &str, ty: &str) -> String {
    format!(
        "`{literal}` is {}; write `inf` for infinity",
        range_note(ty)
    )
}

/// How many infinite f32s `value` holds.
fn infinite_f32s(value: &Value) -> usize {
    match value {
        Value::F32(bits) => usize::from(f32::from_bits(*bits).is_infinite()),
        Value::Packed(p) => p
            .to_vec::<f32>()
            .map_or(0, |v| v.iter().filter(|f| f.is_infinite()).count()),
        Value::List(items) | Value::Tuple(items) => items.iter().map(infinite_f32s).sum(),
        Value::Record(fields) => fields.iter().map(|(_, v)| infinite_f32s(v)).sum(),
        Value::Variant(_, Some(v)) | Value::Option(Some(v)) => infinite_f32s(v),
        Value::Result(Ok(Some(v)) | Err(Some(v))) => infinite_f32s(v),
        _ => 0,
    }
}
