//! Component types as WIT spells them, for `namespace` listings and for
//! clients that parse text arguments by a function's signature.

use crate::packed::NumType;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A WIT value type.
///
/// Decoding bounds nesting and counts nodes and names as values
/// ([`crate::nesting`]), as for [`Value`](crate::Value): a type comes from
/// the server, and a client must survive a hostile one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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

/// The same enum for serde's derive: [`WitType`]'s own `Deserialize` wraps
/// it in a nesting guard, and its recursive fields come back through that.
#[derive(Deserialize)]
#[serde(remote = "WitType")]
enum WitTypeDef {
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
    Record(#[serde(deserialize_with = "crate::nesting::capped")] Vec<(String, WitType)>),
    Tuple(#[serde(deserialize_with = "crate::nesting::capped")] Vec<WitType>),
    Variant(#[serde(deserialize_with = "crate::nesting::counted")] Vec<(String, Option<WitType>)>),
    Enum(#[serde(deserialize_with = "crate::nesting::counted")] Vec<String>),
    Option(Box<WitType>),
    Result {
        ok: Option<Box<WitType>>,
        err: Option<Box<WitType>>,
    },
    Flags(#[serde(deserialize_with = "crate::nesting::counted")] Vec<String>),
    Other(String),
}

impl<'de> Deserialize<'de> for WitType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<WitType, D::Error> {
        let _level = crate::nesting::Guard::enter().map_err(serde::de::Error::custom)?;
        WitTypeDef::deserialize(d)
    }
}

/// A component function's signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitFunc {
    /// Parameter names and types, in order.
    #[serde(deserialize_with = "crate::nesting::capped")]
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
                f.write_str("record { ")?;
                list(f, fields, |f, (n, t)| write!(f, "{n}: {t}"))?;
                f.write_str(" }")
            }
            WitType::Tuple(items) => {
                f.write_str("tuple<")?;
                list(f, items, |f, t| write!(f, "{t}"))?;
                f.write_str(">")
            }
            WitType::Variant(cases) => {
                f.write_str("variant { ")?;
                list(f, cases, |f, (n, t)| match t {
                    Some(t) => write!(f, "{n}({t})"),
                    None => f.write_str(n),
                })?;
                f.write_str(" }")
            }
            WitType::Enum(names) => {
                f.write_str("enum { ")?;
                list(f, names, |f, n| f.write_str(n))?;
                f.write_str(" }")
            }
            WitType::Option(t) => write!(f, "option<{t}>"),
            WitType::Result { ok, err } => match (ok, err) {
                (None, None) => f.write_str("result"),
                (Some(ok), None) => write!(f, "result<{ok}>"),
                (None, Some(err)) => write!(f, "result<_, {err}>"),
                (Some(ok), Some(err)) => write!(f, "result<{ok}, {err}>"),
            },
            WitType::Flags(names) => {
                f.write_str("flags { ")?;
                list(f, names, |f, n| f.write_str(n))?;
                f.write_str(" }")
            }
            WitType::Other(s) => f.write_str(s),
        }
    }
}

/// `items` written one by one, comma-separated: nothing is built whole, so
/// a bounded writer ([`crate::value::preview`]) stops it early.
fn list<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    each: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        each(f, item)?;
    }
    Ok(())
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

    #[test]
    fn deep_types_are_refused_while_decoding() {
        // `List` is variant 13, `Bool` 0: a million levels, as a hostile
        // server could send; decoding it unguarded overflowed the stack.
        let mut body = vec![13u8; 1_000_000];
        body.push(0);
        let e = crate::codec::decode_body::<WitType>(&body).unwrap_err();
        assert!(e.to_string().contains("nest deeper"), "{e}");
        let mut ok = vec![13u8; 99];
        ok.push(0);
        assert!(crate::codec::decode_body::<WitType>(&ok).is_ok());
    }
}
