//! GC objects and exceptions held for the client: the server side of
//! [`sandcall_protocol::held`].
//!
//! A non-null `anyref` or `exnref` that a call returns (or a global holds)
//! is rooted in its store and the client gets a handle; passing the handle
//! back to a call in the same store gives the guest the same object. Each
//! store holds at most [`HELD_MAX`]: the oldest handle is released when a
//! new one would exceed that, so a session that keeps receiving references
//! cannot grow the store without bound. Handles die with their store, that
//! is when the family of instances that made them is dropped.

use crate::outcome::internal;
use crate::store::StoreData;
use sandcall_protocol::{ErrorKind, HeldRef, RefClass, RemoteError, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::{AnyRef, AsContextMut, ExnRef, ExternRef, OwnedRooted, Rooted, Val};

/// The most references one store holds for its client.
pub const HELD_MAX: usize = 4096;

/// Handle numbers: unique in the process, so a handle from another store
/// (or an expired one) is never mistaken for one of this store's.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// One rooted reference.
#[derive(Clone)]
enum Held {
    Any(OwnedRooted<AnyRef>),
    Exn(OwnedRooted<ExnRef>),
    Extern(OwnedRooted<ExternRef>),
}

/// The references one store holds, oldest first.
#[derive(Default)]
pub struct HeldRefs {
    refs: HashMap<u64, Held>,
    order: VecDeque<u64>,
}

impl HeldRefs {
    fn insert(&mut self, held: Held) -> u64 {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        while self.order.len() >= HELD_MAX {
            if let Some(old) = self.order.pop_front() {
                self.refs.remove(&old);
            }
        }
        self.refs.insert(id, held);
        self.order.push_back(id);
        id
    }
}

/// Keep `held` in the store and return its handle.
fn keep(mut store: impl AsContextMut<Data = StoreData>, held: Held, class: RefClass) -> HeldRef {
    let id = store.as_context_mut().data_mut().held.insert(held);
    HeldRef { class, id }
}

/// `any` as the client sees it: the client's own externref `N` when it is
/// one turned into an anyref (`any.convert_extern`; the spec's `ref.host N`),
/// else a handle to it, held here.
///
/// # Errors
/// [`ErrorKind::Internal`] if wasmtime cannot inspect or root it.
pub fn any_value(
    mut store: impl AsContextMut<Data = StoreData>,
    any: Rooted<AnyRef>,
) -> Result<Value, RemoteError> {
    let class = if any.is_i31(&store).map_err(internal)? {
        RefClass::I31
    } else if any.is_struct(&store).map_err(internal)? {
        RefClass::Struct
    } else if any.is_array(&store).map_err(internal)? {
        RefClass::Array
    } else {
        let outside = ExternRef::convert_any(&mut store, any).map_err(internal)?;
        let data = outside.data(&store).map_err(internal)?;
        if let Some(n) = data.and_then(|d| d.downcast_ref::<u32>()).copied() {
            return Ok(Value::ExternRef(n));
        }
        RefClass::Any
    };
    let owned = any.to_owned_rooted(&mut store).map_err(internal)?;
    Ok(Value::Held(keep(store, Held::Any(owned), class)))
}

/// Hold the exception `exn` for the client and return its handle.
///
/// # Errors
/// [`ErrorKind::Internal`] if wasmtime cannot root it.
pub fn hold_exn(
    mut store: impl AsContextMut<Data = StoreData>,
    exn: Rooted<ExnRef>,
) -> Result<HeldRef, RemoteError> {
    let owned = exn.to_owned_rooted(&mut store).map_err(internal)?;
    Ok(keep(store, Held::Exn(owned), RefClass::Exn))
}

/// Hold `r`, an externref the guest made (not one of the client's
/// numbered ones), and return its handle.
///
/// # Errors
/// [`ErrorKind::Internal`] if wasmtime cannot root it.
pub fn hold_extern(
    mut store: impl AsContextMut<Data = StoreData>,
    r: Rooted<ExternRef>,
) -> Result<HeldRef, RemoteError> {
    let owned = r.to_owned_rooted(&mut store).map_err(internal)?;
    Ok(keep(store, Held::Extern(owned), RefClass::Extern))
}

/// The error of guest code that let a wasm exception escape: a trap with
/// code `uncaught_exception`. The exception itself is held, and its handle
/// named in the message, so that another call may catch or inspect it.
pub fn uncaught(mut store: impl AsContextMut<Data = StoreData>) -> RemoteError {
    let mut message = String::from("the guest threw a wasm exception that nothing caught");
    if let Some(exn) = store.as_context_mut().take_pending_exception()
        && let Ok(held) = hold_exn(&mut store, exn)
    {
        message.push_str(&format!("; the exception is held as `{held}`"));
    }
    RemoteError::trap("uncaught_exception", message)
}

/// The value `held` stands for in this store, unchecked against any type.
///
/// # Errors
/// [`ErrorKind::NotFound`] when this store does not hold it: it was made
/// in another family of instances, expired, or was never handed out.
pub fn value(
    mut store: impl AsContextMut<Data = StoreData>,
    held: &HeldRef,
) -> Result<Val, RemoteError> {
    let mut context = store.as_context_mut();
    let Some(val) = context.data().held.refs.get(&held.id).cloned() else {
        return Err(RemoteError::new(
            ErrorKind::NotFound,
            format!(
                "`{held}` is not held here: a reference can only be passed back to \
                     instances of the family (store) that returned it, while that family lives, \
                     and only the {HELD_MAX} newest per family are kept"
            ),
        ));
    };
    Ok(match val {
        Held::Any(r) => Val::AnyRef(Some(r.to_rooted(&mut context))),
        Held::Exn(r) => Val::ExnRef(Some(r.to_rooted(&mut context))),
        Held::Extern(r) => Val::ExternRef(Some(r.to_rooted(&mut context))),
    })
}
