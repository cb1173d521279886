//! Python objects as protocol values, typed by the export's signature: a
//! core function's `ValType`s or a component function's WIT types.
//!
//! The mapping (documented for users in `sandcall/__init__.py`):
//! int → integers (range-checked), float or int → f32/f64 (an f64 keeps its
//! exact bits), bool → bool, str → string / char / enum case, list or tuple
//! → list, tuple → tuple, dict → record, `None` / value → option,
//! set of str → flags, `(case, payload)` or `"case"` → variant and result
//! (`("ok", v)`, `("err", e)`), any buffer of the right item type → a
//! packed list of numbers.

use crate::packed::{self, Container};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyString, PyTuple};
use sandcall_protocol::{NumType, Packed, RefKind, ValType, Value, WitType};

/// A value that does not fit its type: which part of the argument, and why.
pub struct Mismatch {
    /// `TypeError` (wrong kind of object) or `ValueError` (right kind, bad value).
    type_error: bool,
    message: String,
    /// Where inside the argument, innermost last once reversed.
    path: Vec<String>,
}

impl Mismatch {
    fn ty(message: String) -> Self {
        Mismatch {
            type_error: true,
            message,
            path: Vec::new(),
        }
    }

    fn value(message: String) -> Self {
        Mismatch {
            type_error: false,
            message,
            path: Vec::new(),
        }
    }

    fn at(mut self, segment: String) -> Self {
        self.path.push(segment);
        self
    }

    /// The Python exception, naming the argument: ``argument `v` [2].x: …``.
    pub fn into_py(self, argument: &str) -> PyErr {
        let inner: String = self.path.iter().rev().map(String::as_str).collect();
        let message = format!("{argument}{inner}: {}", self.message);
        match self.type_error {
            true => PyTypeError::new_err(message),
            false => PyValueError::new_err(message),
        }
    }
}

type Result<T> = std::result::Result<T, Mismatch>;

/// The Python type name of `obj`, for messages.
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

fn expected(what: &str, obj: &Bound<'_, PyAny>) -> Mismatch {
    Mismatch::ty(format!("expected {what}, got {}", type_name(obj)))
}

/// An integer of `name`'s range `min..=max`, from an `int` (or anything
/// with `__index__`, such as numpy's integers); a `bool` is refused.
fn int(obj: &Bound<'_, PyAny>, name: &str, min: i128, max: i128) -> Result<i128> {
    if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyFloat>() {
        return Err(expected(&format!("an int for a {name}"), obj));
    }
    let v: i128 = match obj.extract::<i64>() {
        Ok(v) => v.into(),
        Err(_) => match obj.extract::<i128>() {
            Ok(v) => v,
            Err(_) if obj.is_instance_of::<PyInt>() => {
                return Err(Mismatch::value(format!(
                    "{} is out of range for a {name} ({min}..={max})",
                    obj.str().map(|s| s.to_string()).unwrap_or_default()
                )));
            }
            Err(_) => return Err(expected(&format!("an int for a {name}"), obj)),
        },
    };
    if v < min || v > max {
        return Err(Mismatch::value(format!(
            "{v} is out of range for a {name} ({min}..={max})"
        )));
    }
    Ok(v)
}

/// A v128 as an int of 0..2**128.
fn v128(obj: &Bound<'_, PyAny>) -> Result<u128> {
    if !obj.is_instance_of::<PyInt>() || obj.is_instance_of::<PyBool>() {
        return Err(expected("an int for a v128", obj));
    }
    obj.extract::<u128>()
        .map_err(|_| Mismatch::value("out of range for a v128 (0..2**128)".into()))
}

fn float(obj: &Bound<'_, PyAny>, name: &str) -> Result<f64> {
    if obj.is_instance_of::<PyBool>() || obj.is_instance_of::<PyString>() {
        return Err(expected(&format!("a float for an {name}"), obj));
    }
    obj.extract::<f64>()
        .map_err(|_| expected(&format!("a float for an {name}"), obj))
}

/// A core wasm value of type `ty`. An i32 or i64 takes the signed or the
/// unsigned range (the same bits); a reference takes `None` (null) or, for
/// an externref, an int, for a GC or exception reference a `HeldRef`.
pub fn core(obj: &Bound<'_, PyAny>, ty: &ValType) -> Result<Value> {
    Ok(match ty {
        ValType::I32 => {
            Value::I32(int(obj, "i32", i32::MIN.into(), u32::MAX.into())? as u32 as i32)
        }
        ValType::I64 => {
            Value::I64(int(obj, "i64", i64::MIN.into(), u64::MAX.into())? as u64 as i64)
        }
        ValType::F32 => Value::f32(float(obj, "f32")? as f32),
        ValType::F64 => Value::f64(float(obj, "f64")?),
        ValType::V128 => Value::V128(v128(obj)?),
        ValType::FuncRef if obj.is_none() => Value::NullRef(RefKind::Func),
        ValType::ExternRef if obj.is_none() => Value::NullRef(RefKind::Extern),
        ValType::ExternRef => match obj.cast::<crate::held::PyHeldRef>() {
            Ok(held) => Value::Held(held.get().0),
            Err(_) => Value::ExternRef(int(obj, "externref", 0, u32::MAX.into())? as u32),
        },
        ValType::FuncRef => return Err(expected("None (only a null funcref can be sent)", obj)),
        ValType::OtherRef(t) => match (obj.cast::<crate::held::PyHeldRef>(), RefKind::of_type(t)) {
            (Ok(held), _) => Value::Held(held.get().0),
            (Err(_), Some(kind)) if obj.is_none() => Value::NullRef(kind),
            // A host reference: the client's externref, which the server
            // turns into an anyref (it checks the parameter's type).
            _ if obj.is_instance_of::<PyInt>() && !obj.is_instance_of::<PyBool>() => {
                Value::ExternRef(int(obj, "host reference", 0, u32::MAX.into())? as u32)
            }
            _ => {
                return Err(expected(
                    &format!(
                        "a sandcall.HeldRef (or None if nullable, an int for a host \
                         reference) for a {t}"
                    ),
                    obj,
                ));
            }
        },
    })
}

/// A component value of WIT type `ty`. `container` records the kind of
/// the first buffer sent as a packed list, for the results.
pub fn wit(obj: &Bound<'_, PyAny>, ty: &WitType, container: &mut Container) -> Result<Value> {
    Ok(match ty {
        WitType::Bool => match obj.cast::<PyBool>() {
            Ok(b) => Value::Bool(b.is_true()),
            Err(_) => return Err(expected("a bool", obj)),
        },
        WitType::S8 => Value::S8(int(obj, "s8", i8::MIN.into(), i8::MAX.into())? as i8),
        WitType::U8 => Value::U8(int(obj, "u8", 0, u8::MAX.into())? as u8),
        WitType::S16 => Value::S16(int(obj, "s16", i16::MIN.into(), i16::MAX.into())? as i16),
        WitType::U16 => Value::U16(int(obj, "u16", 0, u16::MAX.into())? as u16),
        WitType::S32 => Value::I32(int(obj, "s32", i32::MIN.into(), i32::MAX.into())? as i32),
        WitType::U32 => Value::U32(int(obj, "u32", 0, u32::MAX.into())? as u32),
        WitType::S64 => Value::I64(int(obj, "s64", i64::MIN.into(), i64::MAX.into())? as i64),
        WitType::U64 => Value::U64(int(obj, "u64", 0, u64::MAX.into())? as u64),
        WitType::F32 => Value::f32(float(obj, "f32")? as f32),
        WitType::F64 => Value::f64(float(obj, "f64")?),
        WitType::Char => {
            let s = string(obj, "a str of one character")?;
            let mut chars = s.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) => Value::Char(c),
                _ => {
                    return Err(Mismatch::value(format!(
                        "expected one character, got {} characters",
                        s.chars().count()
                    )));
                }
            }
        }
        WitType::String => Value::String(string(obj, "a str")?),
        WitType::List(elem) => list(obj, elem, container)?,
        WitType::Record(fields) => record(obj, fields, container)?,
        WitType::Tuple(items) => {
            let seq = sequence(obj, "a tuple")?;
            if seq.len() != items.len() {
                return Err(Mismatch::value(format!(
                    "expected a tuple of {} items, got {}",
                    items.len(),
                    seq.len()
                )));
            }
            let mut out = Vec::with_capacity(items.len());
            for (i, (item, ty)) in seq.iter().zip(items).enumerate() {
                out.push(wit(item, ty, container).map_err(|e| e.at(format!("[{i}]")))?);
            }
            Value::Tuple(out)
        }
        WitType::Variant(cases) => {
            let (case, payload) = case_of(obj, "a variant")?;
            let Some((_, payload_ty)) = cases.iter().find(|(name, _)| *name == case) else {
                let names: Vec<&str> = cases.iter().map(|(n, _)| n.as_str()).collect();
                return Err(Mismatch::value(format!(
                    "no case `{case}` in variant {{ {} }}",
                    names.join(", ")
                )));
            };
            let payload = payload_of(&case, payload.as_ref(), payload_ty.as_ref(), container)?;
            Value::Variant(case, payload)
        }
        WitType::Enum(names) => {
            let case = string(obj, "a str naming an enum case")?;
            if !names.contains(&case) {
                return Err(Mismatch::value(format!(
                    "no case `{case}` in enum {{ {} }}",
                    names.join(", ")
                )));
            }
            Value::Enum(case)
        }
        WitType::Option(inner) => match obj.is_none() {
            true => Value::Option(None),
            false => Value::Option(Some(Box::new(
                wit(obj, inner, container).map_err(|e| e.at(" (some)".into()))?,
            ))),
        },
        WitType::Result { ok, err } => {
            let (case, payload) = case_of(obj, "(\"ok\", value) or (\"err\", value)")?;
            let ty = match case.as_str() {
                "ok" => ok,
                "err" => err,
                _ => {
                    return Err(Mismatch::value(format!(
                        "a result is \"ok\" or \"err\", not `{case}`"
                    )));
                }
            };
            let payload = payload_of(&case, payload.as_ref(), ty.as_deref(), container)?;
            match case.as_str() {
                "ok" => Value::Result(Ok(payload)),
                _ => Value::Result(Err(payload)),
            }
        }
        WitType::Flags(names) => flags(obj, names)?,
        WitType::Other(t) => {
            return Err(Mismatch::ty(format!("values of type {t} cannot be sent")));
        }
    })
}

fn string(obj: &Bound<'_, PyAny>, what: &str) -> Result<String> {
    match obj.cast::<PyString>() {
        Ok(s) => s
            .to_str()
            .map(str::to_string)
            .map_err(|e| Mismatch::value(e.to_string())),
        Err(_) => Err(expected(what, obj)),
    }
}

/// The items of a `list` or `tuple` (not of a `str`, `dict` or `set`).
fn sequence<'py>(obj: &Bound<'py, PyAny>, what: &str) -> Result<Vec<Bound<'py, PyAny>>> {
    use pyo3::types::PyList;
    if let Ok(list) = obj.cast::<PyList>() {
        return Ok(list.iter().collect());
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return Ok(tuple.iter().collect());
    }
    Err(expected(what, obj))
}

fn list(obj: &Bound<'_, PyAny>, elem: &WitType, container: &mut Container) -> Result<Value> {
    if let Some(num) = elem.num_type() {
        if packed::is_buffer(obj) {
            let p = packed::from_buffer(obj.py(), obj, num).map_err(Mismatch::ty)?;
            if *container == Container::List {
                *container = Container::of(obj);
            }
            return Ok(Value::Packed(p));
        }
        let items = sequence(obj, &format!("a list, or a buffer of {num}"))?;
        return numbers(&items, num);
    }
    let items = sequence(obj, "a list")?;
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(wit(item, elem, container).map_err(|e| e.at(format!("[{i}]")))?);
    }
    Ok(Value::List(out))
}

/// A Python list of numbers packed in place, without a `Value` per item.
fn numbers(items: &[Bound<'_, PyAny>], num: NumType) -> Result<Value> {
    let mut bytes = Vec::with_capacity(items.len() * num.size());
    for (i, item) in items.iter().enumerate() {
        let at = |e: Mismatch| e.at(format!("[{i}]"));
        macro_rules! put {
            ($t:ty, $name:literal) => {{
                let v = int(item, $name, <$t>::MIN.into(), <$t>::MAX.into()).map_err(at)? as $t;
                bytes.extend_from_slice(&v.to_le_bytes());
            }};
        }
        match num {
            NumType::S8 => put!(i8, "s8"),
            NumType::U8 => put!(u8, "u8"),
            NumType::S16 => put!(i16, "s16"),
            NumType::U16 => put!(u16, "u16"),
            NumType::S32 => put!(i32, "s32"),
            NumType::U32 => put!(u32, "u32"),
            NumType::S64 => put!(i64, "s64"),
            NumType::U64 => put!(u64, "u64"),
            NumType::F32 => {
                bytes.extend_from_slice(&(float(item, "f32").map_err(at)? as f32).to_le_bytes())
            }
            NumType::F64 => bytes.extend_from_slice(&float(item, "f64").map_err(at)?.to_le_bytes()),
        }
    }
    Ok(Value::Packed(Packed { elem: num, bytes }))
}

fn record(
    obj: &Bound<'_, PyAny>,
    fields: &[(String, WitType)],
    container: &mut Container,
) -> Result<Value> {
    let dict = obj
        .cast::<PyDict>()
        .map_err(|_| expected("a dict for a record", obj))?;
    let mut out = Vec::with_capacity(fields.len());
    for (name, ty) in fields {
        let item = dict
            .get_item(name)
            .map_err(|e| Mismatch::value(e.to_string()))?
            .ok_or_else(|| Mismatch::value(format!("the record's field `{name}` is missing")))?;
        out.push((
            name.clone(),
            wit(&item, ty, container).map_err(|e| e.at(format!(".{name}")))?,
        ));
    }
    if dict.len() != fields.len() {
        let known: Vec<&str> = fields.iter().map(|(n, _)| n.as_str()).collect();
        let extra: Vec<String> = dict
            .keys()
            .iter()
            .filter_map(|k| k.extract::<String>().ok())
            .filter(|k| !known.contains(&k.as_str()))
            .collect();
        return Err(Mismatch::value(format!(
            "unknown field(s) {} (the record has {})",
            extra.join(", "),
            known.join(", ")
        )));
    }
    Ok(Value::Record(out))
}

/// A case: `"name"` alone, or `("name", payload)`.
fn case_of<'py>(
    obj: &Bound<'py, PyAny>,
    what: &str,
) -> Result<(String, Option<Bound<'py, PyAny>>)> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok((s.to_string(), None));
    }
    let tuple = obj
        .cast::<PyTuple>()
        .map_err(|_| expected(&format!("\"case\" or (\"case\", payload) for {what}"), obj))?;
    if tuple.len() != 2 {
        return Err(Mismatch::value(format!(
            "expected (\"case\", payload), got a tuple of {} items",
            tuple.len()
        )));
    }
    let case = string(
        &tuple
            .get_item(0)
            .map_err(|e| Mismatch::value(e.to_string()))?,
        "a str case name",
    )?;
    let payload = tuple
        .get_item(1)
        .map_err(|e| Mismatch::value(e.to_string()))?;
    Ok((case, Some(payload)))
}

fn payload_of(
    case: &str,
    payload: Option<&Bound<'_, PyAny>>,
    ty: Option<&WitType>,
    container: &mut Container,
) -> Result<Option<Box<Value>>> {
    match (payload, ty) {
        (None, None) => Ok(None),
        (Some(p), None) if p.is_none() => Ok(None),
        (Some(_), None) => Err(Mismatch::value(format!("case `{case}` carries no payload"))),
        (None, Some(ty)) => Err(Mismatch::value(format!(
            "case `{case}` carries a {ty}: write (\"{case}\", value)"
        ))),
        (Some(p), Some(ty)) => Ok(Some(Box::new(
            wit(p, ty, container).map_err(|e| e.at(format!(" ({case})")))?,
        ))),
    }
}

/// Flags from a set (or list, tuple, frozenset) of names, sent in the
/// type's order.
fn flags(obj: &Bound<'_, PyAny>, names: &[String]) -> Result<Value> {
    if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyDict>() {
        return Err(expected("a set of str for flags", obj));
    }
    let iter = obj
        .try_iter()
        .map_err(|_| expected("a set of str for flags", obj))?;
    let mut set = Vec::new();
    for item in iter {
        let item = item.map_err(|e| Mismatch::value(e.to_string()))?;
        let name = string(&item, "a str flag name")?;
        if !names.contains(&name) {
            return Err(Mismatch::value(format!(
                "no flag `{name}` in flags {{ {} }}",
                names.join(", ")
            )));
        }
        set.push(name);
    }
    Ok(Value::Flags(
        names.iter().filter(|n| set.contains(n)).cloned().collect(),
    ))
}
