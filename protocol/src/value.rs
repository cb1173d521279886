//! The value model: every wasm value with its exact bits.
//!
//! Floats travel as raw bits so NaN payloads and `-0.0` survive the wire.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The two reference kinds a core module can pass across the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefKind {
    /// `funcref`
    Func,
    /// `externref`
    Extern,
}

/// One wasm value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

    /// The type of this value, as far as it can be told from the value.
    pub fn ty(&self) -> ValType {
        match self {
            Value::I32(_) => ValType::I32,
            Value::I64(_) => ValType::I64,
            Value::F32(_) => ValType::F32,
            Value::F64(_) => ValType::F64,
            Value::V128(_) => ValType::V128,
            Value::NullRef(RefKind::Func) | Value::FuncRef => ValType::FuncRef,
            Value::NullRef(RefKind::Extern) | Value::ExternRef(_) => ValType::ExternRef,
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
            Value::F32(bits) => fmt_float(f, f32::from_bits(*bits) as f64),
            Value::F64(bits) => fmt_float(f, f64::from_bits(*bits)),
            Value::V128(v) => write!(f, "0x{v:032x}"),
            Value::NullRef(RefKind::Func) => f.write_str("ref.null func"),
            Value::NullRef(RefKind::Extern) => f.write_str("ref.null extern"),
            Value::FuncRef => f.write_str("ref.func"),
            Value::ExternRef(n) => write!(f, "ref.extern {n}"),
        }
    }
}

fn fmt_float(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    if v.is_nan() {
        f.write_str("nan")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else {
        write!(f, "{v:?}")
    }
}

/// The type of a core wasm value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ValType {
    I32,
    I64,
    F32,
    F64,
    V128,
    FuncRef,
    ExternRef,
    /// Any other reference type (typed function references, GC types), by
    /// its text-format spelling. Values of these types cannot cross the wire.
    OtherRef(String),
}

impl fmt::Display for ValType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValType::I32 => f.write_str("i32"),
            ValType::I64 => f.write_str("i64"),
            ValType::F32 => f.write_str("f32"),
            ValType::F64 => f.write_str("f64"),
            ValType::V128 => f.write_str("v128"),
            ValType::FuncRef => f.write_str("funcref"),
            ValType::ExternRef => f.write_str("externref"),
            ValType::OtherRef(s) => f.write_str(s),
        }
    }
}

/// A core function signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncType {
    pub params: Vec<ValType>,
    pub results: Vec<ValType>,
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |v: &[ValType]| {
            v.iter()
                .map(|t| t.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        };
        write!(
            f,
            "func({}) -> ({})",
            list(&self.params),
            list(&self.results)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_uses_wave_numbers() {
        assert_eq!(Value::I32(-7).to_string(), "-7");
        assert_eq!(Value::f64(-1.5).to_string(), "-1.5");
        assert_eq!(Value::f32(f32::NAN).to_string(), "nan");
        assert_eq!(Value::f64(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(Value::f64(-0.0).to_string(), "-0.0");
    }
}
