//! Generators for the component value model: WIT types (well-formed ones,
//! as a real component has, and wild ones, as a hostile server may send),
//! values of a given type, and any value at all (mostly of the wrong type).

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use sandcall::Value;
use sandcall_protocol::{NumType, Packed, WitType};

/// A WIT name (kebab case), from a small pool so that cases collide in
/// interesting ways.
fn label() -> impl Strategy<Value = String> {
    "[a-z]{1,3}(-[a-z0-9]{1,2})?"
}

/// 1 to 4 distinct labels, in order.
fn labels() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::btree_set(label(), 1..5).prop_map(|s| s.into_iter().collect())
}

fn scalar() -> impl Strategy<Value = WitType> {
    use WitType::*;
    proptest::sample::select(vec![
        Bool, S8, U8, S16, U16, S32, U32, S64, U64, F32, F64, Char, String,
    ])
}

fn boxed(t: Option<WitType>) -> Option<Box<WitType>> {
    t.map(Box::new)
}

/// A well-formed type: distinct names, no empty records or tuples.
pub fn wit_type() -> impl Strategy<Value = WitType> {
    let leaf = prop_oneof![
        4 => scalar(),
        1 => labels().prop_map(WitType::Enum),
        1 => labels().prop_map(WitType::Flags),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| WitType::List(Box::new(t))),
            inner.clone().prop_map(|t| WitType::Option(Box::new(t))),
            (option::of(inner.clone()), option::of(inner.clone())).prop_map(|(ok, err)| {
                WitType::Result {
                    ok: boxed(ok),
                    err: boxed(err),
                }
            }),
            vec(inner.clone(), 1..4).prop_map(WitType::Tuple),
            (labels(), vec(inner.clone(), 4)).prop_map(|(names, types)| {
                WitType::Record(names.into_iter().zip(types).collect())
            }),
            (labels(), vec(option::of(inner), 4)).prop_map(|(names, types)| {
                WitType::Variant(names.into_iter().zip(types).collect())
            }),
        ]
    })
}

/// Any type at all, as a hostile server may describe one: names of any
/// text, repeated or missing, empty compounds, and types with no values.
pub fn wild_type() -> impl Strategy<Value = WitType> {
    let name = || prop_oneof![label(), any::<String>()];
    let names = move || vec(name(), 0..4);
    let leaf = prop_oneof![
        4 => scalar(),
        1 => names().prop_map(WitType::Enum),
        1 => names().prop_map(WitType::Flags),
        1 => any::<String>().prop_map(WitType::Other),
    ];
    leaf.prop_recursive(3, 24, 4, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|t| WitType::List(Box::new(t))),
            inner.clone().prop_map(|t| WitType::Option(Box::new(t))),
            (option::of(inner.clone()), option::of(inner.clone())).prop_map(|(ok, err)| {
                WitType::Result {
                    ok: boxed(ok),
                    err: boxed(err),
                }
            }),
            vec(inner.clone(), 0..4).prop_map(WitType::Tuple),
            vec((name(), inner.clone()), 0..4).prop_map(WitType::Record),
            vec((name(), option::of(inner)), 0..4).prop_map(WitType::Variant),
        ]
    })
}

fn f32_bits() -> impl Strategy<Value = u32> {
    prop_oneof![
        3 => any::<f32>().prop_map(f32::to_bits),
        1 => proptest::sample::select(vec![0x8000_0000u32, 0x7f80_0000, 0xff80_0000, 0x7fc0_0000, 1]),
        1 => any::<u32>(),
    ]
}

fn f64_bits() -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => any::<f64>().prop_map(f64::to_bits),
        1 => proptest::sample::select(vec![1u64 << 63, 0x7ff0 << 48, 0xfff0 << 48, 0x7ff8 << 48, 1]),
        1 => any::<u64>(),
    ]
}

/// Numbers of `elem` as one packed buffer (how both ends send lists of
/// numbers).
fn packed(elem: NumType) -> BoxedStrategy<Value> {
    let bytes: BoxedStrategy<Vec<u8>> = match elem {
        NumType::F32 => vec(f32_bits(), 0..8)
            .prop_map(|v| v.iter().flat_map(|b| b.to_le_bytes()).collect())
            .boxed(),
        NumType::F64 => vec(f64_bits(), 0..8)
            .prop_map(|v| v.iter().flat_map(|b| b.to_le_bytes()).collect())
            .boxed(),
        _ => vec(any::<u8>(), 0..8 * elem.size())
            .prop_map(move |mut b| {
                b.truncate(b.len() / elem.size() * elem.size());
                b
            })
            .boxed(),
    };
    bytes
        .prop_map(move |bytes| Value::Packed(Packed { elem, bytes }))
        .boxed()
}

fn payload(ty: Option<&WitType>) -> BoxedStrategy<Option<Box<Value>>> {
    match ty {
        Some(t) => value_of(t).prop_map(|v| Some(Box::new(v))).boxed(),
        None => Just(None).boxed(),
    }
}

/// A value of type `ty` in the form the server answers with: lists of
/// numbers packed, flags in declaration order. `ty` is well-formed.
pub fn value_of(ty: &WitType) -> BoxedStrategy<Value> {
    match ty {
        WitType::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
        WitType::S8 => any::<i8>().prop_map(Value::S8).boxed(),
        WitType::U8 => any::<u8>().prop_map(Value::U8).boxed(),
        WitType::S16 => any::<i16>().prop_map(Value::S16).boxed(),
        WitType::U16 => any::<u16>().prop_map(Value::U16).boxed(),
        WitType::S32 => any::<i32>().prop_map(Value::I32).boxed(),
        WitType::U32 => any::<u32>().prop_map(Value::U32).boxed(),
        WitType::S64 => any::<i64>().prop_map(Value::I64).boxed(),
        WitType::U64 => any::<u64>().prop_map(Value::U64).boxed(),
        WitType::F32 => f32_bits().prop_map(Value::F32).boxed(),
        WitType::F64 => f64_bits().prop_map(Value::F64).boxed(),
        WitType::Char => any::<char>().prop_map(Value::Char).boxed(),
        WitType::String => any::<String>().prop_map(Value::String).boxed(),
        WitType::List(elem) => match elem.num_type() {
            Some(num) => packed(num),
            None => vec(value_of(elem), 0..4).prop_map(Value::List).boxed(),
        },
        WitType::Record(fields) => {
            let names: Vec<String> = fields.iter().map(|(n, _)| n.clone()).collect();
            let values: Vec<BoxedStrategy<Value>> =
                fields.iter().map(|(_, t)| value_of(t)).collect();
            values
                .prop_map(move |values| Value::Record(names.iter().cloned().zip(values).collect()))
                .boxed()
        }
        WitType::Tuple(types) => {
            let values: Vec<BoxedStrategy<Value>> = types.iter().map(value_of).collect();
            values.prop_map(Value::Tuple).boxed()
        }
        WitType::Variant(cases) => {
            let cases: Vec<BoxedStrategy<Value>> = cases
                .iter()
                .map(|(name, t)| {
                    let name = name.clone();
                    payload(t.as_ref())
                        .prop_map(move |p| Value::Variant(name.clone(), p))
                        .boxed()
                })
                .collect();
            proptest::strategy::Union::new(cases).boxed()
        }
        WitType::Enum(names) => proptest::sample::select(names.clone())
            .prop_map(Value::Enum)
            .boxed(),
        WitType::Option(t) => option::of(value_of(t))
            .prop_map(|v| Value::Option(v.map(Box::new)))
            .boxed(),
        WitType::Result { ok, err } => prop_oneof![
            payload(ok.as_deref()).prop_map(|p| Value::Result(Ok(p))),
            payload(err.as_deref()).prop_map(|p| Value::Result(Err(p))),
        ]
        .boxed(),
        WitType::Flags(names) => {
            let names = names.clone();
            vec(any::<bool>(), names.len())
                .prop_map(move |on| {
                    let set = names.iter().zip(on).filter(|(_, on)| *on);
                    Value::Flags(set.map(|(n, _)| n.clone()).collect())
                })
                .boxed()
        }
        WitType::Other(_) => Just(Value::Bool(false)).boxed(),
    }
}

/// Any value, of any shape: mostly of the wrong type for a given
/// signature, sometimes (a scalar, an empty list) of the right one.
pub fn any_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        any::<u32>().prop_map(Value::F32),
        any::<u64>().prop_map(Value::F64),
        any::<u128>().prop_map(Value::V128),
        Just(Value::FuncRef),
        any::<u32>().prop_map(Value::ExternRef),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::U8),
        any::<u32>().prop_map(Value::U32),
        any::<char>().prop_map(Value::Char),
        ".{0,8}".prop_map(Value::String),
        label().prop_map(Value::Enum),
        vec(label(), 0..3).prop_map(Value::Flags),
        (0..10usize).prop_flat_map(|i| packed(
            [
                NumType::S8,
                NumType::U8,
                NumType::S16,
                NumType::U16,
                NumType::S32,
                NumType::U32,
                NumType::S64,
                NumType::U64,
                NumType::F32,
                NumType::F64
            ][i]
        )),
        (any::<u8>(), vec(any::<u8>(), 0..9)).prop_map(|(e, bytes)| {
            // A ragged buffer: its length need not be whole elements.
            let elem = if e % 2 == 0 {
                NumType::S16
            } else {
                NumType::F64
            };
            Value::Packed(Packed { elem, bytes })
        }),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::List),
            vec((label(), inner.clone()), 0..4).prop_map(Value::Record),
            vec(inner.clone(), 0..4).prop_map(Value::Tuple),
            (label(), option::of(inner.clone()))
                .prop_map(|(n, v)| Value::Variant(n, v.map(Box::new))),
            option::of(inner.clone()).prop_map(|v| Value::Option(v.map(Box::new))),
            (any::<bool>(), option::of(inner)).prop_map(|(ok, v)| {
                let v = v.map(Box::new);
                Value::Result(if ok { Ok(v) } else { Err(v) })
            }),
        ]
    })
}

/// `value` with every NaN's bits made one (hosts and parsers may
/// canonicalize NaN payloads), and an empty packed list as an empty list,
/// for comparing. (The server packs a list of numbers by its elements, so
/// an empty `list<f32>` inside a tuple or record comes back as an empty
/// `Value::List`: the fuzzing's first finding, harmless, since both print
/// and convert alike.)
pub fn canonical(value: &Value) -> Value {
    let nan32 = |b: u32| {
        if f32::from_bits(b).is_nan() {
            0x7fc0_0000
        } else {
            b
        }
    };
    let nan64 = |b: u64| {
        if f64::from_bits(b).is_nan() {
            0x7ff8 << 48
        } else {
            b
        }
    };
    let each = |items: &[Value]| items.iter().map(canonical).collect();
    let boxed = |v: &Option<Box<Value>>| v.as_deref().map(|v| Box::new(canonical(v)));
    match value {
        Value::Packed(p) if p.bytes.is_empty() => Value::List(Vec::new()),
        Value::F32(b) => Value::F32(nan32(*b)),
        Value::F64(b) => Value::F64(nan64(*b)),
        Value::Packed(p) if p.elem == NumType::F32 => Value::Packed(Packed {
            elem: p.elem,
            bytes: p
                .bytes
                .chunks(4)
                .flat_map(|c| match <[u8; 4]>::try_from(c) {
                    Ok(c) => nan32(u32::from_le_bytes(c)).to_le_bytes().to_vec(),
                    Err(_) => c.to_vec(),
                })
                .collect(),
        }),
        Value::Packed(p) if p.elem == NumType::F64 => Value::Packed(Packed {
            elem: p.elem,
            bytes: p
                .bytes
                .chunks(8)
                .flat_map(|c| match <[u8; 8]>::try_from(c) {
                    Ok(c) => nan64(u64::from_le_bytes(c)).to_le_bytes().to_vec(),
                    Err(_) => c.to_vec(),
                })
                .collect(),
        }),
        Value::List(items) => Value::List(each(items)),
        Value::Tuple(items) => Value::Tuple(each(items)),
        Value::Record(fields) => Value::Record(
            fields
                .iter()
                .map(|(n, v)| (n.clone(), canonical(v)))
                .collect(),
        ),
        Value::Variant(n, v) => Value::Variant(n.clone(), boxed(v)),
        Value::Option(v) => Value::Option(boxed(v)),
        Value::Result(Ok(v)) => Value::Result(Ok(boxed(v))),
        Value::Result(Err(v)) => Value::Result(Err(boxed(v))),
        other => other.clone(),
    }
}
