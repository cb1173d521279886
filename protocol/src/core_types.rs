//! The core wasm type vocabulary of the wire: value types, function
//! signatures, and the reference hierarchies that nulls belong to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The reference hierarchies a null reference can belong to on the wire.
///
/// A null is named by its hierarchy's top type: a null `structref`, `eqref`,
/// `i31ref` or `nullref` is `Any`, a null `nullfuncref` or typed function
/// reference is `Func`, and so on. Wasm's nulls of one hierarchy are all the
/// same value, so this loses nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RefKind {
    /// `funcref` (and `nullfuncref`, typed function references)
    Func,
    /// `externref` (and `nullexternref`)
    Extern,
    /// `anyref` and the GC types below it: `eqref`, `i31ref`, `structref`,
    /// `arrayref`, `nullref`, concrete struct and array types.
    Any,
    /// `exnref` (and `nullexnref`): exception references.
    Exn,
}

impl RefKind {
    /// The hierarchy of the nullable reference type spelled `ty` (as the
    /// server reports it: `(ref null any)`, `(ref null exn)` …), if the name
    /// tells it; `None` for a type that is not nullable or names none.
    pub fn of_type(ty: &str) -> Option<RefKind> {
        if !ty.contains("null") {
            return None;
        }
        let names = |words: &[&str]| words.iter().any(|w| ty.contains(w));
        if names(&["exn"]) {
            Some(RefKind::Exn)
        } else if names(&["extern"]) {
            Some(RefKind::Extern)
        } else if names(&["func"]) {
            Some(RefKind::Func)
        } else if names(&["any", "eq", "i31", "struct", "array", "none"]) {
            Some(RefKind::Any)
        } else {
            None
        }
    }

    /// The text format's name of the hierarchy's top heap type.
    pub fn heap_name(self) -> &'static str {
        match self {
            RefKind::Func => "func",
            RefKind::Extern => "extern",
            RefKind::Any => "any",
            RefKind::Exn => "exn",
        }
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
    /// Any other reference type (typed function references, GC and
    /// exception types), by its text-format spelling. Their nulls cross the
    /// wire, and non-null GC objects as held handles ([`crate::held`]).
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

/// A core function signature. Each type counts as a value while decoding
/// ([`crate::nesting`]): one byte on the wire, 24 in memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FuncType {
    #[serde(deserialize_with = "crate::nesting::counted")]
    pub params: Vec<ValType>,
    #[serde(deserialize_with = "crate::nesting::counted")]
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
