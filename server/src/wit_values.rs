//! Component values (the WIT value model): protocol [`Value`]s ↔ wasmtime's
//! dynamic [`Val`]s, checked against the function's types. Lists of numbers
//! leave packed.

use crate::wit_types::wit_type;
use sandcall_protocol::{ErrorKind, NumType, Packed, RemoteError, Value, hint};
use std::collections::{HashMap, HashSet};
use wasmtime::component::Val;
use wasmtime::component::types::{Case, Type};

/// Longest piece of a client-sent name quoted in an error message.
const QUOTE: usize = 64;

/// Longest piece of a type quoted in an error message.
const TYPE_QUOTE: usize = 200;

/// The case and flag names of the enum, variant and flags types met while
/// converting one argument, each table built once, when the type is first
/// met, so checking a value's name is a hash lookup: a linear scan per value
/// made 200k values of a 10,000-case enum cost 6.7 s of CPU.
///
/// wasmtime's types are neither `Hash` nor `Eq`; a type is known by where
/// its first name lives (its name table belongs to the type, behind the
/// component's shared `ComponentTypes`) and by how many names it has.
#[derive(Default)]
struct Names {
    sets: HashMap<(usize, usize), HashSet<String>>,
    cases: HashMap<(usize, usize), HashMap<String, Option<Type>>>,
}

fn key<'a>(mut names: impl ExactSizeIterator<Item = &'a str>) -> (usize, usize) {
    let len = names.len();
    (names.next().map_or(0, |n| n.as_ptr() as usize), len)
}

impl Names {
    /// The names of an enum or flags type; `names` lists them.
    fn set<'a, I>(&mut self, names: impl Fn() -> I) -> &HashSet<String>
    where
        I: ExactSizeIterator<Item = &'a str>,
    {
        self.sets
            .entry(key(names()))
            .or_insert_with(|| names().map(str::to_string).collect())
    }

    /// The cases of a variant type, with their payload types.
    fn cases<'a, I>(&mut self, cases: impl Fn() -> I) -> &HashMap<String, Option<Type>>
    where
        I: ExactSizeIterator<Item = Case<'a>>,
    {
        self.cases
            .entry(key(cases().map(|c| c.name)))
            .or_insert_with(|| cases().map(|c| (c.name.to_string(), c.ty)).collect())
    }
}

/// A type, spelled as WIT, for an error message: at most [`TYPE_QUOTE`]
/// bytes of it (a 10,000-case enum spells to 70 KB).
fn type_name(ty: &Type) -> String {
    sandcall_protocol::value::preview(&wit_type(ty), TYPE_QUOTE)
}

/// The name of a number type (`s32`, `f32` …), empty for other types.
fn number_name(ty: &Type) -> &'static str {
    match ty {
        Type::S8 => "s8",
        Type::U8 => "u8",
        Type::S16 => "s16",
        Type::U16 => "u16",
        Type::S32 => "s32",
        Type::U32 => "u32",
        Type::S64 => "s64",
        Type::U64 => "u64",
        Type::Float32 => "f32",
        Type::Float64 => "f64",
        _ => "",
    }
}

/// At most [`QUOTE`] bytes of a client-sent name, for an error message.
fn quote(name: &str) -> String {
    if name.len() <= QUOTE {
        return name.to_string();
    }
    let mut end = QUOTE;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &name[..end], name.len())
}

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
    convert(value, ty, what, &mut Names::default())
}

/// [`to_component_val`] with the name tables built so far. Each value costs
/// time in proportion to its own size (names hashed, record fields looked up
/// by name), and error messages quote client data by a bounded prefix only.
fn convert(
    value: &Value,
    ty: &Type,
    what: &dyn Fn() -> String,
    names: &mut Names,
) -> Result<Val, RemoteError> {
    let mismatch = || {
        RemoteError::new(
            ErrorKind::BadRequest,
            format!(
                "{}: expected {}, got a {}{}",
                what(),
                type_name(ty),
                value.kind_name(),
                hint::value_range_note(value, number_name(ty))
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
                    type_name(ty),
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
                vals.push(convert(
                    item,
                    &elem,
                    &|| format!("{}, element {i}", what()),
                    names,
                )?);
            }
            Val::List(vals)
        }
        (Type::Record(record), Value::Record(fields)) => {
            // By name, the first of a repeated name winning, as before.
            let mut given: HashMap<&str, &Value> = HashMap::with_capacity(fields.len());
            for (n, v) in fields {
                given.entry(n.as_str()).or_insert(v);
            }
            let mut vals = Vec::with_capacity(record.fields().len());
            for field in record.fields() {
                let Some(v) = given.get(field.name) else {
                    return Err(bad(format!("the record has no field `{}`", field.name)));
                };
                let name = field.name;
                vals.push((
                    name.to_string(),
                    convert(
                        v,
                        &field.ty,
                        &|| format!("{}, field `{name}`", what()),
                        names,
                    )?,
                ));
            }
            if given.len() > vals.len() {
                let known: HashSet<&str> = record.fields().map(|f| f.name).collect();
                if let Some((extra, _)) = fields.iter().find(|(n, _)| !known.contains(n.as_str())) {
                    return Err(bad(format!(
                        "{} has no field `{}`",
                        type_name(ty),
                        quote(extra)
                    )));
                }
            }
            Val::Record(vals)
        }
        (Type::Tuple(tuple), Value::Tuple(items)) => {
            if tuple.types().len() != items.len() {
                return Err(mismatch());
            }
            let mut vals = Vec::with_capacity(items.len());
            for (i, (item, t)) in items.iter().zip(tuple.types()).enumerate() {
                vals.push(convert(
                    item,
                    &t,
                    &|| format!("{}, item {i}", what()),
                    names,
                )?);
            }
            Val::Tuple(vals)
        }
        (Type::Variant(variant), Value::Variant(case, payload)) => {
            let Some(case_ty) = names.cases(|| variant.cases()).get(case.as_str()).cloned() else {
                return Err(bad(format!(
                    "{} has no case `{}`",
                    type_name(ty),
                    quote(case)
                )));
            };
            let payload = optional(case_ty.as_ref(), payload.as_deref(), case, what, names)?;
            Val::Variant(case.clone(), payload)
        }
        (Type::Enum(e), Value::Enum(case)) => {
            if !names.set(|| e.names()).contains(case.as_str()) {
                return Err(bad(format!(
                    "{} has no case `{}`",
                    type_name(ty),
                    quote(case)
                )));
            }
            Val::Enum(case.clone())
        }
        (Type::Option(o), Value::Option(v)) => Val::Option(match v {
            None => None,
            Some(v) => Some(Box::new(convert(
                v,
                &o.ty(),
                &|| format!("{}, some", what()),
                names,
            )?)),
        }),
        (Type::Result(r), Value::Result(v)) => Val::Result(match v {
            Ok(v) => Ok(optional(r.ok().as_ref(), v.as_deref(), "ok", what, names)?),
            Err(v) => Err(optional(
                r.err().as_ref(),
                v.as_deref(),
                "err",
                what,
                names,
            )?),
        }),
        (Type::Flags(f), Value::Flags(given)) => {
            let known = names.set(|| f.names());
            if let Some(unknown) = given.iter().find(|n| !known.contains(n.as_str())) {
                return Err(bad(format!(
                    "{} has no flag `{}`",
                    type_name(ty),
                    quote(unknown)
                )));
            }
            Val::Flags(given.clone())
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
                format!(
                    "{}: values of type {} cannot be sent",
                    what(),
                    type_name(ty)
                ),
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
    names: &mut Names,
) -> Result<Option<Box<Val>>, RemoteError> {
    let case = &quote(case);
    match (ty, payload) {
        (None, None) => Ok(None),
        (Some(t), Some(v)) => Ok(Some(Box::new(convert(
            v,
            t,
            &|| format!("{}, {case}", what()),
            names,
        )?))),
        (Some(t), None) => Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!(
                "{}: case `{case}` needs a payload of type {}",
                what(),
                type_name(t)
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
