//! Component types as WIT spells them, for `namespace` listings and for
//! clients that parse text arguments by a function's signature.

use crate::packed::NumType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A WIT value type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum WitType {
    Bool,
    S8,
    U8,
    S16,
    U16,
    S32,
    U32,
    S64,
    U64,
    F32,
    F64,
    Char,
    String,
    List(Box<WitType>),
    Record(Vec<(String, WitType)>),
    Tuple(Vec<WitType>),
    Variant(Vec<(String, Option<WitType>)>),
    Enum(Vec<String>),
    Option(Box<WitType>),
    Result {
        ok: Option<Box<WitType>>,
        err: Option<Box<WitType>>,
    },
    Flags(Vec<String>),
    /// A type values of which cannot cross the wire (resources, streams …),
    /// by its WIT spelling.
    Other(String),
}

/// A component function's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitFunc {
    /// Parameter names and types, in order.
    pub params: Vec<(String, WitType)>,
    /// The result type; `None` for a function returning nothing.
    pub result: Option<WitType>,
}

impl WitType {
    /// The packed element type of a WIT number type (`s8` … `f64`), so that
    /// both ends agree which lists travel as [`Packed`](crate::Packed).
    pub fn num_type(&self) -> Option<NumType> {
        Some(match self {
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
}

impl fmt::Display for WitFunc {
    /// `func(data: list<s32>) -> list<s32>`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("func(")?;
        for (i, (name, ty)) in self.params.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{name}: {ty}")?;
        }
        f.write_str(")")?;
        if let Some(result) = &self.result {
            write!(f, " -> {result}")?;
        }
        Ok(())
    }
}

impl fmt::Display for WitType {
    /// WIT syntax; records, variants, enums and flags are spelled inline
    /// (`record { x: s32, y: s32 }`) since their names do not travel.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WitType::Bool => f.write_str("bool"),
            WitType::S8 => f.write_str("s8"),
            WitType::U8 => f.write_str("u8"),
            WitType::S16 => f.write_str("s16"),
            WitType::U16 => f.write_str("u16"),
            WitType::S32 => f.write_str("s32"),
            WitType::U32 => f.write_str("u32"),
            WitType::S64 => f.write_str("s64"),
            WitType::U64 => f.write_str("u64"),
            WitType::F32 => f.write_str("f32"),
            WitType::F64 => f.write_str("f64"),
            WitType::Char => f.write_str("char"),
            WitType::String => f.write_str("string"),
            WitType::List(t) => write!(f, "list<{t}>"),
            WitType::Record(fields) => {
                let fields: Vec<String> = fields.iter().map(|(n, t)| format!("{n}: {t}")).collect();
                write!(f, "record {{ {} }}", fields.join(", "))
            }
            WitType::Tuple(items) => {
                let items: Vec<String> = items.iter().map(|t| t.to_string()).collect();
                write!(f, "tuple<{}>", items.join(", "))
            }
            WitType::Variant(cases) => {
                let cases: Vec<String> = cases
                    .iter()
                    .map(|(n, t)| match t {
                        Some(t) => format!("{n}({t})"),
                        None => n.clone(),
                    })
                    .collect();
                write!(f, "variant {{ {} }}", cases.join(", "))
            }
            WitType::Enum(names) => write!(f, "enum {{ {} }}", names.join(", ")),
            WitType::Option(t) => write!(f, "option<{t}>"),
            WitType::Result { ok, err } => match (ok, err) {
                (None, None) => f.write_str("result"),
                (Some(ok), None) => write!(f, "result<{ok}>"),
                (None, Some(err)) => write!(f, "result<_, {err}>"),
                (Some(ok), Some(err)) => write!(f, "result<{ok}, {err}>"),
            },
            WitType::Flags(names) => write!(f, "flags {{ {} }}", names.join(", ")),
            WitType::Other(s) => f.write_str(s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_print_as_wit() {
        let sort = WitFunc {
            params: vec![("data".into(), WitType::List(Box::new(WitType::S32)))],
            result: Some(WitType::List(Box::new(WitType::S32))),
        };
        assert_eq!(sort.to_string(), "func(data: list<s32>) -> list<s32>");
        let r = WitType::Result {
            ok: None,
            err: Some(Box::new(WitType::String)),
        };
        assert_eq!(r.to_string(), "result<_, string>");
        let unit = WitFunc {
            params: vec![],
            result: None,
        };
        assert_eq!(unit.to_string(), "func()");
    }
}
