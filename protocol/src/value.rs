//! The value model: every wasm value with its exact bits.
//!
//! Floats travel as raw bits so NaN payloads and `-0.0` survive the wire.

pub use crate::core_types::{FuncType, RefKind, ValType};
use crate::held::HeldRef;
use crate::nesting::Guard;
use crate::packed::{NumType, Number, Packed};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One value: a core wasm value with its exact bits, or a component value
/// of the WIT value model.
///
/// WIT's `s32`, `s64`, `f32` and `f64` are [`Value::I32`], [`Value::I64`],
/// [`Value::F32`] and [`Value::F64`]. Lists of numbers travel as
/// [`Value::Packed`]; receivers accept a [`Value::List`] of numbers too.
/// Decoding bounds nesting and the number of values per message
/// ([`crate::nesting`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Value {
    I32(i32),
    I64(i64),
    /// An `f32`, as its IEEE-754 bits.
    F32(u32),
    /// An `f64`, as its IEEE-754 bits.
    F64(u64),
    V128(u128),
    /// A null reference of the given kind.
    NullRef(RefKind),
    /// A non-null function reference. It is opaque: a client sees that a
    /// function came back but cannot send one.
    FuncRef,
    /// A non-null external reference carrying a client-chosen number.
    ExternRef(u32),
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    U32(u32),
    U64(u64),
    Char(char),
    String(String),
    List(Vec<Value>),
    /// A list of numbers as one little-endian buffer.
    Packed(Packed),
    /// Field names and values, in the type's order.
    Record(Vec<(String, Value)>),
    Tuple(Vec<Value>),
    /// A case name and its payload, if the case has one.
    Variant(String, Option<Box<Value>>),
    Enum(String),
    Option(Option<Box<Value>>),
    Result(Result<Option<Box<Value>>, Option<Box<Value>>>),
    /// The names of the flags that are set.
    Flags(Vec<String>),
    /// A non-null GC or exception reference the server holds ([`crate::held`]).
    Held(HeldRef),
}

/// The same enum for serde's derive: [`Value`]'s own `Deserialize` wraps it
/// in a nesting guard, and its recursive fields come back through that.
#[derive(Deserialize)]
#[serde(remote = "Value")]
enum ValueDef {
    I32(i32),
    I64(i64),
    F32(u32),
    F64(u64),
    V128(u128),
    NullRef(RefKind),
    FuncRef,
    ExternRef(u32),
    Bool(bool),
    S8(i8),
    U8(u8),
    S16(i16),
    U16(u16),
    U32(u32),
    U64(u64),
    Char(char),
    String(String),
    List(#[serde(deserialize_with = "crate::nesting::capped")] Vec<Value>),
    Packed(Packed),
    Record(#[serde(deserialize_with = "crate::nesting::capped")] Vec<(String, Value)>),
    Tuple(#[serde(deserialize_with = "crate::nesting::capped")] Vec<Value>),
    Variant(String, Option<Box<Value>>),
    Enum(String),
    Option(Option<Box<Value>>),
    Result(Result<Option<Box<Value>>, Option<Box<Value>>>),
    Flags(#[serde(deserialize_with = "crate::nesting::counted")] Vec<String>),
    Held(HeldRef),
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        let _level = Guard::enter().map_err(serde::de::Error::custom)?;
        ValueDef::deserialize(d)
    }
}

impl Value {
    /// An `f32` value.
    pub fn f32(v: f32) -> Value {
        Value::F32(v.to_bits())
    }

    /// An `f64` value.
    pub fn f64(v: f64) -> Value {
        Value::F64(v.to_bits())
    }

    /// A packed list of numbers.
    pub fn list_of<T: Number>(items: &[T]) -> Value {
        Value::Packed(Packed::from_slice(items))
    }

    /// The numbers of a list of `T`, packed or not; `None` if this is not
    /// such a list.
    pub fn to_numbers<T: Number>(&self) -> Option<Vec<T>> {
        match self {
            Value::Packed(p) => p.to_vec(),
            Value::List(items) => items.iter().map(Value::number).collect(),
            _ => None,
        }
    }

    /// This value as a `T`, if it is a number of `T`'s type.
    fn number<T: Number>(&self) -> Option<T> {
        let mut le = [0u8; 8];
        macro_rules! le {
            ($v:expr) => {{
                let bytes = $v.to_le_bytes();
                le[..bytes.len()].copy_from_slice(&bytes);
            }};
        }
        match (T::TYPE, self) {
            (NumType::S8, Value::S8(v)) => le!(v),
            (NumType::U8, Value::U8(v)) => le!(v),
            (NumType::S16, Value::S16(v)) => le!(v),
            (NumType::U16, Value::U16(v)) => le!(v),
            (NumType::S32, Value::I32(v)) => le!(v),
            (NumType::U32, Value::U32(v)) => le!(v),
            (NumType::S64, Value::I64(v)) => le!(v),
            (NumType::U64, Value::U64(v)) => le!(v),
            (NumType::F32, Value::F32(bits)) => le!(bits),
            (NumType::F64, Value::F64(bits)) => le!(bits),
            _ => return None,
        }
        Some(T::get(&le[..T::TYPE.size()]))
    }

    /// One element of a packed list of `elem`, from its little-endian bytes.
    fn packed_item(elem: NumType, le: &[u8]) -> Value {
        match elem {
            NumType::S8 => Value::S8(i8::get(le)),
            NumType::U8 => Value::U8(u8::get(le)),
            NumType::S16 => Value::S16(i16::get(le)),
            NumType::U16 => Value::U16(u16::get(le)),
            NumType::S32 => Value::I32(i32::get(le)),
            NumType::U32 => Value::U32(u32::get(le)),
            NumType::S64 => Value::I64(i64::get(le)),
            NumType::U64 => Value::U64(u64::get(le)),
            NumType::F32 => Value::F32(u32::get(le)),
            NumType::F64 => Value::F64(u64::get(le)),
        }
    }

    /// The core type of this value; `None` for component values.
    pub fn ty(&self) -> Option<ValType> {
        Some(match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::NullRef(RefKind::Func) | Value::FuncRef => ValType::FuncRef,
            Value::NullRef(RefKind::Extern) | Value::ExternRef(_) => ValType::ExternRef,
            Value::NullRef(RefKind::Any) => ValType::OtherRef("anyref".into()),
            Value::NullRef(RefKind::Exn) => ValType::OtherRef("exnref".into()),
            Value::Held(held) => ValType::OtherRef(held.type_name()),
            _ => return None,
        })
    }

    /// At most about `max` bytes of this value's [`Display`](fmt::Display),
    /// ending in `…` when cut ([`preview`]).
    pub fn preview(&self, max: usize) -> String {
        preview(self, max)
    }

    /// A short name of this value's kind, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::I32(_) => "i32/s32",
            Value::I64(_) => "i64/s64",
            Value::F32(_) => "f32",
            Value::F64(_) => "f64",
            Value::V128(_) => "v128",
            Value::NullRef(_) | Value::FuncRef | Value::ExternRef(_) | Value::Held(_) => {
                "reference"
            }
            Value::Bool(_) => "bool",
            Value::S8(_) => "s8",
            Value::U8(_) => "u8",
            Value::S16(_) => "s16",
            Value::U16(_) => "u16",
            Value::U32(_) => "u32",
            Value::U64(_) => "u64",
            Value::Char(_) => "char",
            Value::String(_) => "string",
            Value::List(_) | Value::Packed(_) => "list",
            Value::Record(_) => "record",
            Value::Tuple(_) => "tuple",
            Value::Variant(..) => "variant",
            Value::Enum(_) => "enum",
            Value::Option(_) => "option",
            Value::Result(_) => "result",
            Value::Flags(_) => "flags",
        }
    }
}

impl fmt::Display for Value {
    /// Numbers in WAVE syntax (`42`, `-1.5`, `nan`); vectors and references in
    /// the wasm text format's spelling, which WAVE has no words for.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::I32(v) => write!(f, "{v}"),
            Value::I64(v) => write!(f, "{v}"),
            Value::F32(bits) => fmt_float(f, f32::from_bits(*bits)),
            Value::F64(bits) => fmt_float(f, f64::from_bits(*bits)),
            Value::V128(v) => write!(f, "0x{v:032x}"),
            Value::NullRef(kind) => write!(f, "ref.null {}", kind.heap_name()),
            Value::FuncRef => f.write_str("ref.func"),
            Value::ExternRef(n) => write!(f, "ref.extern {n}"),
            Value::Held(held) => write!(f, "{held}"),
            Value::Bool(v) => write!(f, "{v}"),
            Value::S8(v) => write!(f, "{v}"),
            Value::U8(v) => write!(f, "{v}"),
            Value::S16(v) => write!(f, "{v}"),
            Value::U16(v) => write!(f, "{v}"),
            Value::U32(v) => write!(f, "{v}"),
            Value::U64(v) => write!(f, "{v}"),
            Value::Char(c) => write!(f, "{c:?}"),
            Value::String(s) => write!(f, "{s:?}"),
            Value::List(items) | Value::Tuple(items) => {
                let (open, close) = match self {
                    Value::List(_) => ("[", "]"),
                    _ => ("(", ")"),
                };
                f.write_str(open)?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(close)
            }
            Value::Packed(p) => fmt_packed(f, p),
            Value::Record(fields) => {
                f.write_str("{")?;
                for (i, (name, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{name}: {value}")?;
                }
                f.write_str("}")
            }
            Value::Variant(case, payload) => fmt_case(f, case, payload.as_deref()),
            Value::Enum(case) => f.write_str(case),
            Value::Option(None) => f.write_str("none"),
            Value::Option(Some(v)) => write!(f, "some({v})"),
            Value::Result(Ok(v)) => fmt_case(f, "ok", v.as_deref()),
            Value::Result(Err(v)) => fmt_case(f, "err", v.as_deref()),
            Value::Flags(names) => {
                f.write_str("{")?;
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(name)?;
                }
                f.write_str("}")
            }
        }
    }
}

/// At most about `max` bytes of `item`'s [`Display`](fmt::Display), ending
/// in `…` when cut. Formatting stops at the cut, so quoting a 60 MB argument
/// (or a 10,000-case enum type) in an error message costs `max` bytes.
pub fn preview(item: &dyn fmt::Display, max: usize) -> String {
    let mut out = Preview {
        text: String::new(),
        max,
        cut: false,
    };
    let _ = fmt::write(&mut out, format_args!("{item}"));
    if out.cut {
        out.text.push('…');
    }
    out.text
}

/// A writer that keeps the first `max` bytes and then refuses, which stops
/// the formatting.
struct Preview {
    text: String,
    max: usize,
    cut: bool,
}

impl fmt::Write for Preview {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.max - self.text.len();
        if s.len() <= room {
            self.text.push_str(s);
            return Ok(());
        }
        let mut end = room;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        self.text.push_str(&s[..end]);
        self.cut = true;
        Err(fmt::Error)
    }
}

fn fmt_case(f: &mut fmt::Formatter<'_>, case: &str, payload: Option<&Value>) -> fmt::Result {
    match payload {
        Some(v) => write!(f, "{case}({v})"),
        None => f.write_str(case),
    }
}

fn fmt_packed(f: &mut fmt::Formatter<'_>, p: &Packed) -> fmt::Result {
    if !p.is_whole() {
        return write!(f, "<{} bytes of {}>", p.bytes.len(), p.elem);
    }
    f.write_str("[")?;
    for (i, le) in p.bytes.chunks_exact(p.elem.size()).enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{}", Value::packed_item(p.elem, le))?;
    }
    f.write_str("]")
}

fn fmt_float<F: Into<f64> + fmt::Debug + Copy>(f: &mut fmt::Formatter<'_>, v: F) -> fmt::Result {
    let wide: f64 = v.into();
    if wide.is_nan() {
        f.write_str("nan")
    } else if wide.is_infinite() {
        f.write_str(if wide > 0.0 { "inf" } else { "-inf" })
    } else {
        write!(f, "{v:?}")
    }
}

#[cfg(test)]
mod tests;
