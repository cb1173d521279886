//! Component results (the WIT value model): wasmtime's dynamic [`Val`]s
//! that a guest returned, as protocol [`Value`]s, lists of numbers packed;
//! and how many values and numbers a value holds, for the bounds of a
//! message. Arguments go the other way in [`crate::wit_values`].

use sandcall_protocol::{ErrorKind, Packed, RemoteError, Value};
use wasmtime::component::Val;

/// A [`Val`] the guest returned as a protocol value; lists of numbers are
/// packed.
///
/// # Errors
/// [`ErrorKind::Unsupported`] for values that cannot cross the wire (resources …).
pub fn from_component_val(val: Val) -> Result<Value, RemoteError> {
    let boxed = |v: Option<Box<Val>>| -> Result<Option<Box<Value>>, RemoteError> {
        v.map(|v| from_component_val(*v).map(Box::new)).transpose()
    };
    Ok(match val {
        Val::Bool(v) => Value::Bool(v),
        Val::S8(v) => Value::S8(v),
        Val::U8(v) => Value::U8(v),
        Val::S16(v) => Value::S16(v),
        Val::U16(v) => Value::U16(v),
        Val::S32(v) => Value::I32(v),
        Val::U32(v) => Value::U32(v),
        Val::S64(v) => Value::I64(v),
        Val::U64(v) => Value::U64(v),
        Val::Float32(v) => Value::f32(v),
        Val::Float64(v) => Value::f64(v),
        Val::Char(c) => Value::Char(c),
        Val::String(s) => Value::String(s),
        Val::List(items) => match pack(&items) {
            Some(packed) => Value::Packed(packed),
            None => Value::List(
                items
                    .into_iter()
                    .map(from_component_val)
                    .collect::<Result<_, _>>()?,
            ),
        },
        Val::Record(fields) => Value::Record(
            fields
                .into_iter()
                .map(|(n, v)| Ok((n, from_component_val(v)?)))
                .collect::<Result<_, RemoteError>>()?,
        ),
        Val::Tuple(items) => Value::Tuple(
            items
                .into_iter()
                .map(from_component_val)
                .collect::<Result<_, _>>()?,
        ),
        Val::Variant(case, payload) => Value::Variant(case, boxed(payload)?),
        Val::Enum(case) => Value::Enum(case),
        Val::Option(v) => Value::Option(boxed(v)?),
        Val::Result(Ok(v)) => Value::Result(Ok(boxed(v)?)),
        Val::Result(Err(v)) => Value::Result(Err(boxed(v)?)),
        Val::Flags(names) => Value::Flags(names),
        other => {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!("the guest returned a value that cannot be sent: {other:?}"),
            ));
        }
    })
}

/// A list whose elements are all numbers of one type, packed.
fn pack(items: &[Val]) -> Option<Packed> {
    macro_rules! all {
        ($variant:ident, $t:ty) => {
            items
                .iter()
                .map(|v| match v {
                    Val::$variant(x) => Some(*x),
                    _ => None,
                })
                .collect::<Option<Vec<$t>>>()
                .map(|v| Packed::from_slice(&v))
        };
    }
    match items.first()? {
        Val::S8(_) => all!(S8, i8),
        Val::U8(_) => all!(U8, u8),
        Val::S16(_) => all!(S16, i16),
        Val::U16(_) => all!(U16, u16),
        Val::S32(_) => all!(S32, i32),
        Val::U32(_) => all!(U32, u32),
        Val::S64(_) => all!(S64, i64),
        Val::U64(_) => all!(U64, u64),
        Val::Float32(_) => all!(Float32, f32),
        Val::Float64(_) => all!(Float64, f64),
        _ => None,
    }
}

/// How many values `value` holds, counting itself, and how many numbers its
/// packed lists hold.
pub fn weigh(value: &Value) -> (usize, usize) {
    let mut values = 1;
    let mut packed = 0;
    let mut add = |v: &Value| {
        let (a, b) = weigh(v);
        values += a;
        packed += b;
    };
    match value {
        Value::Packed(p) => packed += p.len(),
        Value::List(items) | Value::Tuple(items) => items.iter().for_each(&mut add),
        Value::Record(fields) => fields.iter().for_each(|(_, v)| add(v)),
        Value::Variant(_, Some(v)) | Value::Option(Some(v)) => add(v),
        Value::Result(Ok(Some(v)) | Err(Some(v))) => add(v),
        _ => {}
    }
    (values, packed)
}
