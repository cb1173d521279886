//! wasmtime's component types as the protocol's [`WitType`]s.

use sandcall_protocol::{NumType, WitFunc, WitType};
use wasmtime::component::types::{ComponentFunc, Type};

/// A component function's signature.
pub fn wit_func(f: &ComponentFunc) -> WitFunc {
    WitFunc {
        params: f
            .params()
            .map(|(name, ty)| (name.to_string(), wit_type(&ty)))
            .collect(),
        result: f.results().next().map(|ty| wit_type(&ty)),
    }
}

/// One type, spelled as WIT.
pub fn wit_type(ty: &Type) -> WitType {
    match ty {
        Type::Bool => WitType::Bool,
        Type::S8 => WitType::S8,
        Type::U8 => WitType::U8,
        Type::S16 => WitType::S16,
        Type::U16 => WitType::U16,
        Type::S32 => WitType::S32,
        Type::U32 => WitType::U32,
        Type::S64 => WitType::S64,
        Type::U64 => WitType::U64,
        Type::Float32 => WitType::F32,
        Type::Float64 => WitType::F64,
        Type::Char => WitType::Char,
        Type::String => WitType::String,
        Type::List(l) => WitType::List(Box::new(wit_type(&l.ty()))),
        Type::Record(r) => WitType::Record(
            r.fields()
                .map(|f| (f.name.to_string(), wit_type(&f.ty)))
                .collect(),
        ),
        Type::Tuple(t) => WitType::Tuple(t.types().map(|t| wit_type(&t)).collect()),
        Type::Variant(v) => WitType::Variant(
            v.cases()
                .map(|c| (c.name.to_string(), c.ty.as_ref().map(wit_type)))
                .collect(),
        ),
        Type::Enum(e) => WitType::Enum(e.names().map(str::to_string).collect()),
        Type::Option(o) => WitType::Option(Box::new(wit_type(&o.ty()))),
        Type::Result(r) => WitType::Result {
            ok: r.ok().map(|t| Box::new(wit_type(&t))),
            err: r.err().map(|t| Box::new(wit_type(&t))),
        },
        Type::Flags(f) => WitType::Flags(f.names().map(str::to_string).collect()),
        Type::Own(_) => WitType::Other("own<resource>".into()),
        Type::Borrow(_) => WitType::Other("borrow<resource>".into()),
        Type::Map(_) => WitType::Other("map".into()),
        Type::Future(_) => WitType::Other("future".into()),
        Type::Stream(_) => WitType::Other("stream".into()),
        Type::ErrorContext => WitType::Other("error-context".into()),
        Type::FixedLengthList(_) => WitType::Other("fixed-length list".into()),
    }
}

/// `Some(t)` for `func(x: list<t>) -> list<t>` with `t` a number type.
pub fn fast_list(func: &WitFunc) -> Option<NumType> {
    match (func.params.as_slice(), &func.result) {
        ([(_, WitType::List(a))], Some(WitType::List(b))) if a == b => a.num_type(),
        _ => None,
    }
}
