//! Calling a component's exported function: typed for `list<number>` →
//! `list<number>` (one copy each way), dynamic [`Val`]s for everything else.
//! The counterpart of [`crate::core_call`].

use crate::component::ComponentExport;
use crate::outcome::{Outcome, guest_error};
use crate::store::{Budget, StoreData};
use crate::wit_results::{from_component_val, weigh};
use crate::wit_values::to_component_val;
use sandcall_protocol::nesting::MAX_VALUES;
use sandcall_protocol::{ErrorKind, NumType, RemoteError, Value, hint};
use std::collections::HashMap;
use std::time::Instant;
use wasmtime::Store;
use wasmtime::component::types::ComponentFunc;
use wasmtime::component::{Func, Instance, Val};

/// The error of a call that entered the guest: a trap, fuel, deadline or
/// limit, or a value the guest got wrong (a bad pointer in a returned list).
fn call_error(store: &mut Store<StoreData>, e: wasmtime::Error, budget: Budget) -> RemoteError {
    if e.downcast_ref::<wasmtime::Trap>().is_none() && !store.data().has_refusal() {
        let message = format!("{e:#}");
        // wasmtime bounds what lifting a result may allocate on the host
        // ("hostcall fuel", 128 MiB of values); its error type is private.
        if message.contains("fuel allocated for hostcalls") {
            return RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "the result is too large to copy out of the guest: {} MiB of host values \
                     at most",
                    store.hostcall_fuel() >> 20
                ),
            );
        }
        return RemoteError::trap("guest_error", message);
    }
    guest_error(e, budget, store.data_mut())
}

/// An instance's exported functions and their types, looked up on the
/// first call of each: a pipelined trivial call spent about 5 % of its time
/// on these lookups.
#[derive(Default)]
pub struct Lookups(HashMap<Box<str>, (Func, ComponentFunc)>);

impl Lookups {
    /// The function of `export` in `instance`, and its type.
    ///
    /// # Errors
    /// [`ErrorKind::Internal`] if the instance lacks an export its
    /// component declares.
    pub fn func(
        &mut self,
        store: &mut Store<StoreData>,
        instance: Instance,
        export: &ComponentExport,
    ) -> Result<(Func, &ComponentFunc), RemoteError> {
        if !self.0.contains_key(export.name.as_str()) {
            let Some(func) = instance.get_func(&mut *store, export.index) else {
                return Err(RemoteError::new(
                    ErrorKind::Internal,
                    format!("export `{}` vanished", export.name),
                ));
            };
            let ty = func.ty(&*store);
            self.0.insert(export.name.as_str().into(), (func, ty));
        }
        let (func, ty) = &self.0[export.name.as_str()];
        Ok((*func, ty))
    }
}

/// Call `export`, that is `func` of type `ty`, with `args`. Fuel or CPU
/// time and deadline are already set.
pub async fn call(
    store: &mut Store<StoreData>,
    (func, ty): (Func, &ComponentFunc),
    export: &ComponentExport,
    args: &[Value],
    budget: Budget,
) -> Outcome {
    // Formatted only for an error: calls are a hot path.
    let signature = || hint::wit_signature(&export.func);
    if args.len() != export.func.params.len() {
        return Outcome::Refused(RemoteError::new(
            ErrorKind::BadRequest,
            hint::arity(
                &export.name,
                export.func.params.len(),
                &signature(),
                args.len(),
            ),
        ));
    }
    if let Some(elem) = export.fast {
        return typed(store, func, export, &args[0], elem, budget).await;
    }
    // Unpacked, every number becomes a 40-byte `Val`: bound the expansion
    // as the protocol bounds the values of a message.
    let expanded: usize = args.iter().map(|a| weigh(a).1).sum();
    if expanded > MAX_VALUES as usize {
        return Outcome::Refused(RemoteError::new(
            ErrorKind::ResourceLimit,
            format!(
                "the arguments hold {expanded} numbers in lists; a call to a function that is not \
                 func(list<T>) -> list<T> takes at most {MAX_VALUES}"
            ),
        ));
    }
    let mut params = Vec::with_capacity(args.len());
    for (i, (arg, (pname, pty))) in args.iter().zip(ty.params()).enumerate() {
        let what = || {
            format!(
                "argument {} (`{pname}`) of `{}: {}`",
                i + 1,
                export.name,
                signature()
            )
        };
        match to_component_val(arg, &pty, &what) {
            Ok(val) => params.push(val),
            Err(e) => return Outcome::Refused(e),
        }
    }
    let mut results = vec![Val::Bool(false); ty.results().len()];
    let start = Instant::now();
    let cutoff = store.data().cutoff();
    let cpu = store.data().cpu();
    let called = match cutoff
        .run(cpu.charge(func.call_async(&mut *store, &params, &mut results)))
        .await
    {
        Ok(called) => called,
        Err(stop) => Err(store.data_mut().cut_off(stop)),
    };
    let guest_ns = start.elapsed().as_nanos() as u64;
    drop(params);
    if let Err(e) = called {
        return Outcome::Failed(call_error(store, e, budget));
    }
    // The call succeeded: a result that cannot be sent is refused without
    // poisoning the instance.
    let results = match results
        .into_iter()
        .map(from_component_val)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(results) => results,
        Err(e) => return Outcome::Refused(e),
    };
    // The client decodes at most MAX_VALUES per message: refuse here, with
    // a reason, what it could not read.
    let count: usize = results.iter().map(|v| weigh(v).0).sum();
    if count > MAX_VALUES as usize {
        return Outcome::Refused(RemoteError::new(
            ErrorKind::ResourceLimit,
            format!("the result holds {count} values; a message may hold {MAX_VALUES}"),
        ));
    }
    Outcome::Returned { results, guest_ns }
}

/// The typed call of `func(x: list<t>) -> list<t>`.
async fn typed(
    store: &mut Store<StoreData>,
    func: Func,
    export: &ComponentExport,
    arg: &Value,
    elem: NumType,
    budget: Budget,
) -> Outcome {
    macro_rules! typed_call {
        ($t:ty) => {{
            let Some(data) = arg.to_numbers::<$t>() else {
                return Outcome::Refused(RemoteError::new(
                    ErrorKind::BadRequest,
                    format!(
                        "argument 1 of `{}: {}`: expected list<{elem}>, got a {}",
                        export.name,
                        hint::wit_signature(&export.func),
                        describe(arg)
                    ),
                ));
            };
            let typed = match func.typed::<(Vec<$t>,), (Vec<$t>,)>(&*store) {
                Ok(typed) => typed,
                Err(e) => {
                    return Outcome::Refused(RemoteError::new(
                        ErrorKind::Internal,
                        format!("{e:#}"),
                    ));
                }
            };
            let start = Instant::now();
            let cutoff = store.data().cutoff();
            let cpu = store.data().cpu();
            let guest = cpu.charge(typed.call_async(&mut *store, (data,)));
            let called = match cutoff.run(guest).await {
                Ok(called) => called,
                Err(stop) => Err(store.data_mut().cut_off(stop)),
            };
            let guest_ns = start.elapsed().as_nanos() as u64;
            match called {
                Ok((list,)) => Outcome::Returned {
                    results: vec![Value::list_of(&list)],
                    guest_ns,
                },
                Err(e) => Outcome::Failed(call_error(store, e, budget)),
            }
        }};
    }
    match elem {
        NumType::S8 => typed_call!(i8),
        NumType::U8 => typed_call!(u8),
        NumType::S16 => typed_call!(i16),
        NumType::U16 => typed_call!(u16),
        NumType::S32 => typed_call!(i32),
        NumType::U32 => typed_call!(u32),
        NumType::S64 => typed_call!(i64),
        NumType::U64 => typed_call!(u64),
        NumType::F32 => typed_call!(f32),
        NumType::F64 => typed_call!(f64),
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Packed(p) => format!("packed list<{}>", p.elem),
        Value::List(items) => match items.first() {
            Some(first) => format!("list of {}", first.kind_name()),
            None => "list".to_string(),
        },
        other => other.kind_name().to_string(),
    }
}
