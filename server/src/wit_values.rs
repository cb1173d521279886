//! Component values (the WIT value model): protocol [`Value`]s ↔ wasmtime's
//! dynamic [`Val`]s, checked against the function's types. Lists of numbers
//! leave packed.

use crate::wit_types::wit_type;
use sandcall_protocol::{ErrorKind, NumType, Packed, RemoteError, Value};
use wasmtime::component::Val;
use wasmtime::component::types::Type;

/// `value` as a [`Val`] of type `ty`; `what` names the value for errors
/// ("argument 1 of `quick-sort`").
///
/// # Errors
/// [`ErrorKind::BadRequest`] when the value does not have the type,
/// [`ErrorKind::Unsupported`] for types no value on the wire can have.
pub fn to_component_val(
    value: &Value,
    ty: &Type,
    what: &dyn Fn() -> String,
) -> Result<Val, RemoteError> {
    let mismatch = || {
        RemoteError::new(
            ErrorKind::BadRequest,
            format!(
                "{}: expected {}, got a {}",
                what(),
                wit_type(ty),
                value.kind_name()
            ),
        )
    };
    let bad =
        |detail: String| RemoteError::new(ErrorKind::BadRequest, format!("{}: {detail}", what()));
    Ok(match (ty, value) {
        (Type::Bool, Value::Bool(v)) => Val::Bool(*v),
        (Type::S8, Value::S8(v)) => Val::S8(*v),
        (Type::U8, Value::U8(v)) => Val::U8(*v),
        (Type::S16, Value::S16(v)) => Val::S16(*v),
        (Type::U16, Value::U16(v)) => Val::U16(*v),
        (Type::S32, Value::I32(v)) => Val::S32(*v),
        (Type::U32, Value::U32(v)) => Val::U32(*v),
        (Type::S64, Value::I64(v)) => Val::S64(*v),
        (Type::U64, Value::U64(v)) => Val::U64(*v),
        (Type::Float32, Value::F32(bits)) => Val::Float32(f32::from_bits(*bits)),
        (Type::Float64, Value::F64(bits)) => Val::Float64(f64::from_bits(*bits)),
        (Type::Char, Value::Char(c)) => Val::Char(*c),
        (Type::String, Value::String(s)) => Val::String(s.clone()),
        (Type::List(list), Value::Packed(p)) => {
            let elem = list.ty();
            if wit_type(&elem).num_type() != Some(p.elem) {
                return Err(bad(format!(
                    "expected {}, got a packed list<{}>",
                    wit_type(ty),
                    p.elem
                )));
            }
            unpack(p).ok_or_else(|| {
                bad(format!(
                    "{} bytes is not a whole number of {}",
                    p.bytes.len(),
                    p.elem
                ))
            })?
        }
        (Type::List(list), Value::List(items)) => {
            let elem = list.ty();
            let mut vals = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                vals.push(to_component_val(item, &elem, &|| {
                    format!("{}, element {i}", what())
                })?);
            }
            Val::List(vals)
        }
        (Type::Record(record), Value::Record(fields)) => {
            let mut vals = Vec::with_capacity(fields.len());
            for field in record.fields() {
                let Some((_, v)) = fields.iter().find(|(n, _)| n == field.name) else {
                    return Err(bad(format!("the record has no field `{}`", field.name)));
                };
                let name = field.name;
                vals.push((
                    name.to_string(),
                    to_component_val(v, &field.ty, &|| format!("{}, field `{name}`", what()))?,
                ));
            }
            if let Some((extra, _)) = fields
                .iter()
                .find(|(n, _)| !vals.iter().any(|(m, _)| m == n))
            {
                return Err(bad(format!("{} has no field `{extra}`", wit_type(ty))));
            }
            Val::Record(vals)
        }
        (Type::Tuple(tuple), Value::Tuple(items)) => {
            if tuple.types().len() != items.len() {
                return Err(mismatch());
            }
            let mut vals = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(tuple.types()).enumerate() {
                vals.push(to_component_val(item, &t, &|| {
                    format!("{}, item {i}", what())
                })?);
            }
            Val::Tuple(vals)
        }
        (Type::Variant(variant), Value::Variant(case, payload)) => {
            let Some(c) = variant.cases().find(|c| c.name == case) else {
                return Err(bad(format!("{} has no case `{case}`", wit_type(ty))));
            };
            let payload = optional(c.ty.as_ref(), payload.as_deref(), case, what)?;
            Val::Variant(case.clone(), payload)
        }
        (Type::Enum(e), Value::Enum(case)) => {
            if !e.names().any(|n| n == case) {
                return Err(bad(format!("{} has no case `{case}`", wit_type(ty))));
            }
            Val::Enum(case.clone())
        }
        (Type::Option(o), Value::Option(v)) => Val::Option(match v {
            None => None,
            Some(v) => Some(Box::new(to_component_val(v, &o.ty(), &|| {
                format!("{}, some", what())
            })?)),
        }),
        (Type::Result(r), Value::Result(v)) => Val::Result(match v {
            Ok(v) => Ok(optional(r.ok().as_ref(), v.as_deref(), "ok", what)?),
            Err(v) => Err(optional(r.err().as_ref(), v.as_deref(), "err", what)?),
        }),
        (Type::Flags(f), Value::Flags(names)) => {
            if let Some(unknown) = names.iter().find(|n| !f.names().any(|m| m == n.as_str())) {
                return Err(bad(format!("{} has no flag `{unknown}`", wit_type(ty))));
            }
            Val::Flags(names.clone())
        }
        (
            Type::Own(_)
            | Type::Borrow(_)
            | Type::Map(_)
            | Type::Future(_)
            | Type::Stream(_)
            | Type::ErrorContext
            | Type::FixedLengthList(_),
            _,
        ) => {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!("{}: values of type {} cannot be sent", what(), wit_type(ty)),
            ));
        }
        _ => return Err(mismatch()),
    })
}

/// A case payload: present exactly when the type has one.
fn optional(
    ty: Option<&Type>,
    payload: Option<&Value>,
    case: &str,
    what: &dyn Fn() -> String,
) -> Result<Option<Box<Val>>, RemoteError> {
    match (ty, payload) {
        (None, None) => Ok(None),
        (Some(t), Some(v)) => Ok(Some(Box::new(to_component_val(v, t, &|| {
            format!("{}, {case}", what())
        })?))),
        (Some(t), None) => Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!(
                "{}: case `{case}` needs a payload of type {}",
                what(),
                wit_type(t)
            ),
        )),
        (None, Some(_)) => Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!("{}: case `{case}` has no payload", what()),
        )),
    }
}

fn unpack(p: &Packed) -> Option<Val> {
    fn each<T: sandcall_protocol::Number>(p: &Packed, f: fn(T) -> Val) -> Option<Val> {
        Some(Val::List(p.to_vec::<T>()?.into_iter().map(f).collect()))
    }
    match p.elem {
        NumType::S8 => each(p, Val::S8),
        NumType::U8 => each(p, Val::U8),
        NumType::S16 => each(p, Val::S16),
        NumType::U16 => each(p, Val::U16),
        NumType::S32 => each(p, Val::S32),
        NumType::U32 => each(p, Val::U32),
        NumType::S64 => each(p, Val::S64),
        NumType::U64 => each(p, Val::U64),
        NumType::F32 => each(p, Val::Float32),
        NumType::F64 => each(p, Val::Float64),
    }
}

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
