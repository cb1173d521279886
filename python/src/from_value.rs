//! Protocol values as Python objects. Values carry their own shape (record
//! field names, case names), so no type is needed, only the container kind
//! for packed lists of numbers.
//!
//! integers → int, f32/f64 → float (an f64 with its exact bits), v128 →
//! int, bool, char and string → bool and str, list → list (or the container
//! of the packed argument), tuple → tuple, record → dict, variant →
//! `(case, payload or None)`, enum → str, option → `None` or the value,
//! result → `("ok", v)` / `("err", e)`, flags → set of str; a null
//! reference → `None`, an externref → its int, a funcref → the string
//! `"funcref"` (it is opaque: it cannot be sent back), a GC object or
//! exception → a `sandcall.HeldRef` (it can).

use crate::packed::{self, Container};
use pyo3::IntoPyObjectExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PySet, PyTuple};
use sandcall_protocol::Value;

/// `value` as a Python object; packed lists become `container`s.
pub fn to_py<'py>(
    py: Python<'py>,
    value: &Value,
    container: Container,
) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::I32(v) => v.into_bound_py_any(py)?,
        Value::I64(v) => v.into_bound_py_any(py)?,
        Value::F32(bits) => f64::from(f32::from_bits(*bits)).into_bound_py_any(py)?,
        Value::F64(bits) => f64::from_bits(*bits).into_bound_py_any(py)?,
        Value::V128(v) => v.into_bound_py_any(py)?,
        Value::NullRef(_) => py.None().into_bound(py),
        Value::FuncRef => "funcref".into_bound_py_any(py)?,
        Value::ExternRef(n) => n.into_bound_py_any(py)?,
        Value::Held(held) => crate::held::PyHeldRef(*held).into_bound_py_any(py)?,
        Value::Bool(b) => b.into_bound_py_any(py)?,
        Value::S8(v) => v.into_bound_py_any(py)?,
        Value::U8(v) => v.into_bound_py_any(py)?,
        Value::S16(v) => v.into_bound_py_any(py)?,
        Value::U16(v) => v.into_bound_py_any(py)?,
        Value::U32(v) => v.into_bound_py_any(py)?,
        Value::U64(v) => v.into_bound_py_any(py)?,
        Value::Char(c) => c.into_bound_py_any(py)?,
        Value::String(s) => s.into_bound_py_any(py)?,
        Value::List(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item, container)?)?;
            }
            list.into_any()
        }
        Value::Packed(p) => packed::to_container(py, p, container)?,
        Value::Record(fields) => {
            let dict = PyDict::new(py);
            for (name, v) in fields {
                dict.set_item(name, to_py(py, v, container)?)?;
            }
            dict.into_any()
        }
        Value::Tuple(items) => {
            let items = items
                .iter()
                .map(|v| to_py(py, v, container))
                .collect::<PyResult<Vec<_>>>()?;
            PyTuple::new(py, items)?.into_any()
        }
        Value::Variant(case, payload) => case_tuple(py, case, payload.as_deref(), container)?,
        Value::Enum(case) => case.into_bound_py_any(py)?,
        Value::Option(None) => py.None().into_bound(py),
        Value::Option(Some(v)) => to_py(py, v, container)?,
        Value::Result(Ok(v)) => case_tuple(py, "ok", v.as_deref(), container)?,
        Value::Result(Err(v)) => case_tuple(py, "err", v.as_deref(), container)?,
        Value::Flags(names) => PySet::new(py, names)?.into_any(),
    })
}

/// `(case, payload)`, with `None` for a case without one.
fn case_tuple<'py>(
    py: Python<'py>,
    case: &str,
    payload: Option<&Value>,
    container: Container,
) -> PyResult<Bound<'py, PyAny>> {
    let payload = match payload {
        Some(v) => to_py(py, v, container)?,
        None => py.None().into_bound(py),
    };
    Ok(PyTuple::new(py, [case.into_bound_py_any(py)?, payload])?.into_any())
}

/// A call's results: nothing → `None`, one → the value, several → a tuple.
pub fn results<'py>(
    py: Python<'py>,
    values: &[Value],
    container: Container,
) -> PyResult<Bound<'py, PyAny>> {
    match values {
        [] => Ok(py.None().into_bound(py)),
        [one] => to_py(py, one, container),
        many => {
            let items = many
                .iter()
                .map(|v| to_py(py, v, container))
                .collect::<PyResult<Vec<_>>>()?;
            Ok(PyTuple::new(py, items)?.into_any())
        }
    }
}
