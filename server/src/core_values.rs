//! Core wasm values: protocol [`Value`]s and types ↔ wasmtime's, checking
//! every argument against the function's signature. Floats keep their bits.

use crate::held_refs;
use crate::outcome::internal;
use crate::store::StoreData;
use sandcall_protocol::{ErrorKind, FuncType, RefKind, RemoteError, ValType, Value, hint};
use wasmtime::{AnyRef, AsContext, AsContextMut, ExternRef, HeapType, Val};

/// The protocol spelling of a wasmtime value type.
pub fn val_type(ty: &wasmtime::ValType) -> ValType {
    match ty {
        wasmtime::ValType::I32 => ValType::I32,
        wasmtime::ValType::I64 => ValType::I64,
        wasmtime::ValType::F32 => ValType::F32,
        wasmtime::ValType::F64 => ValType::F64,
        wasmtime::ValType::V128 => ValType::V128,
        wasmtime::ValType::Ref(r) => match (r.is_nullable(), r.heap_type()) {
            (true, HeapType::Func) => ValType::FuncRef,
            (true, HeapType::Extern) => ValType::ExternRef,
            _ => ValType::OtherRef(r.to_string()),
        },
    }
}

/// The protocol spelling of a function signature.
pub fn func_type(ty: &wasmtime::FuncType) -> FuncType {
    FuncType {
        params: ty.params().map(|t| val_type(&t)).collect(),
        results: ty.results().map(|t| val_type(&t)).collect(),
    }
}

/// Longest piece of a client's value quoted in an error message.
const QUOTE: usize = 100;

/// Convert `value` to a wasmtime value of type `expected`.
///
/// `what` names the value in errors (e.g. "argument 2 of `add`").
///
/// # Errors
/// [`ErrorKind::BadRequest`] when the value does not have the expected type,
/// [`ErrorKind::Unsupported`] for values a client cannot create (a non-null funcref),
/// [`ErrorKind::NotFound`] for a held reference this store does not hold.
pub fn to_val(
    mut store: impl AsContextMut<Data = StoreData>,
    value: &Value,
    expected: &wasmtime::ValType,
    what: &dyn Fn() -> String,
) -> Result<Val, RemoteError> {
    let mismatch = || {
        RemoteError::new(
            ErrorKind::BadRequest,
            format!(
                "{}: expected {}, got {} ({}){}",
                what(),
                val_type(expected),
                value
                    .ty()
                    .map_or_else(|| value.kind_name().to_string(), |t| t.to_string()),
                // A prefix: a 60 MB string formatted whole cost 448 MB.
                value.preview(QUOTE),
                hint::value_range_note(value, &val_type(expected).to_string())
            ),
        )
    };
    let ref_heap = match expected {
        wasmtime::ValType::Ref(r) => Some((r.is_nullable(), r.heap_type().top())),
        _ => None,
    };
    Ok(match (value, expected) {
        (Value::I32(v), wasmtime::ValType::I32) => Val::I32(*v),
        (Value::I64(v), wasmtime::ValType::I64) => Val::I64(*v),
        (Value::F32(bits), wasmtime::ValType::F32) => Val::F32(*bits),
        (Value::F64(bits), wasmtime::ValType::F64) => Val::F64(*bits),
        (Value::V128(v), wasmtime::ValType::V128) => Val::V128((*v).into()),
        // A null of the parameter's hierarchy (a null structref is a null
        // anyref): wasm has one null per hierarchy.
        (Value::NullRef(kind), _) => match (kind, ref_heap) {
            (RefKind::Func, Some((true, HeapType::Func))) => Val::FuncRef(None),
            (RefKind::Extern, Some((true, HeapType::Extern))) => Val::ExternRef(None),
            (RefKind::Any, Some((true, HeapType::Any))) => Val::AnyRef(None),
            (RefKind::Exn, Some((true, HeapType::Exn))) => Val::ExnRef(None),
            _ => return Err(mismatch()),
        },
        // A client's externref; where an anyref is expected, turned into
        // one, as `any.convert_extern` would (the spec's `ref.host N`).
        (Value::ExternRef(n), _)
            if matches!(ref_heap, Some((_, HeapType::Extern | HeapType::Any))) =>
        {
            let r = ExternRef::new(store.as_context_mut(), *n)
                .map_err(|e| RemoteError::new(ErrorKind::ResourceLimit, format!("{e:#}")))?;
            if matches!(ref_heap, Some((_, HeapType::Extern))) {
                Val::ExternRef(Some(r))
            } else {
                let any = AnyRef::convert_extern(&mut store, r).map_err(internal)?;
                checked(&store, Val::AnyRef(Some(any)), expected, mismatch)?
            }
        }
        (Value::Held(held), _) => {
            let val = held_refs::value(&mut store, held)?;
            checked(&store, val, expected, mismatch)?
        }
        (Value::FuncRef, _) => {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!(
                    "{}: a non-null funcref cannot be sent to the server",
                    what()
                ),
            ));
        }
        _ => return Err(mismatch()),
    })
}

/// `val`, a reference made or looked up here, if it has type `expected`
/// (for a concrete GC type, its own hierarchy is not enough).
fn checked(
    store: impl AsContext,
    val: Val,
    expected: &wasmtime::ValType,
    mismatch: impl FnOnce() -> RemoteError,
) -> Result<Val, RemoteError> {
    match val.matches_ty(&store, expected).map_err(internal)? {
        true => Ok(val),
        false => Err(mismatch()),
    }
}

/// Convert a wasmtime value to its protocol form. A non-null GC or
/// exception reference stays in the store, and its handle goes
/// ([`held_refs`]).
///
/// # Errors
/// [`ErrorKind::Unsupported`] for an externref the guest made itself.
pub fn from_val(
    mut store: impl AsContextMut<Data = StoreData>,
    val: &Val,
) -> Result<Value, RemoteError> {
    Ok(match val {
        Val::I32(v) => Value::I32(*v),
        Val::I64(v) => Value::I64(*v),
        Val::F32(bits) => Value::F32(*bits),
        Val::F64(bits) => Value::F64(*bits),
        Val::V128(v) => Value::V128(v.as_u128()),
        Val::FuncRef(None) => Value::NullRef(RefKind::Func),
        Val::FuncRef(Some(_)) => Value::FuncRef,
        Val::ExternRef(None) => Value::NullRef(RefKind::Extern),
        Val::AnyRef(None) => Value::NullRef(RefKind::Any),
        Val::ExnRef(None) => Value::NullRef(RefKind::Exn),
        Val::ExternRef(Some(r)) => {
            let data = r.data(&store).map_err(internal)?;
            match data.and_then(|d| d.downcast_ref::<u32>()).copied() {
                Some(n) => Value::ExternRef(n),
                None => Value::Held(held_refs::hold_extern(&mut store, *r)?),
            }
        }
        Val::AnyRef(Some(any)) => held_refs::any_value(&mut store, *any)?,
        Val::ExnRef(Some(exn)) => Value::Held(held_refs::hold_exn(&mut store, *exn)?),
        Val::ContRef(_) => {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                "continuation references cannot cross the wire",
            ));
        }
    })
}
