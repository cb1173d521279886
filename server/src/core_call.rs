//! Calling a core module's exported function: its arguments checked against
//! its signature, the call itself, and its results converted back.

use crate::core_values::{from_val, func_type, to_val};
use crate::held_refs;
use crate::outcome::{Outcome, guest_error};
use crate::store::{Budget, StoreData};
use sandcall_protocol::{ErrorKind, RemoteError, Value, hint};
use std::collections::HashMap;
use std::time::Instant;
use wasmtime::{AsContext, AsContextMut, Func, FuncType, RootScope, Store, ThrownException, Val};

/// The exported functions of one core instance that calls have named, with
/// their types: found once, instead of wasmtime's export lookup and type
/// registration on every call (~3 % of a pipelined trivial call).
#[derive(Default)]
pub struct Lookups(HashMap<Box<str>, (Func, FuncType)>);

impl Lookups {
    /// The function `export` and its type, from `find` the first time.
    ///
    /// # Errors
    /// What `find` fails with (no such function); not remembered.
    pub fn func<E>(
        &mut self,
        store: &mut Store<StoreData>,
        export: &str,
        find: impl FnOnce(&mut Store<StoreData>) -> Result<Func, E>,
    ) -> Result<(Func, &FuncType), E> {
        if !self.0.contains_key(export) {
            let func = find(store)?;
            let ty = func.ty(&*store);
            self.0.insert(export.into(), (func, ty));
        }
        let (func, ty) = &self.0[export];
        Ok((*func, ty))
    }
}

/// Call `func` of type `ty`, exported as `export`, with `args`. Fuel or CPU
/// time and deadline are already set.
pub async fn call(
    store: &mut Store<StoreData>,
    (func, ty): (Func, &FuncType),
    export: &str,
    args: &[Value],
    budget: Budget,
) -> Outcome {
    // Formatted only for an error: calls are a hot path.
    let signature = || hint::core_signature(&func_type(ty));
    if ty.params().len() != args.len() {
        return Outcome::Refused(RemoteError::new(
            ErrorKind::BadRequest,
            hint::arity(export, ty.params().len(), &signature(), args.len()),
        ));
    }
    // Arguments that are references (externrefs) are rooted in this scope
    // until the call returns.
    let mut scope = RootScope::new(&mut *store);
    let mut params = Vec::with_capacity(args.len());
    for (i, (arg, expected)) in args.iter().zip(ty.params()).enumerate() {
        let what = || format!("argument {} of `{export}: {}`", i + 1, signature());
        match to_val(&mut scope, arg, &expected, &what) {
            Ok(val) => params.push(val),
            Err(e) => return Outcome::Refused(e),
        }
    }
    let mut results = vec![Val::I32(0); ty.results().len()];
    let start = Instant::now();
    let cutoff = scope.as_context().data().cutoff();
    let cpu = scope.as_context().data().cpu();
    let called = match cutoff
        .run(cpu.charge(func.call_async(&mut scope, &params, &mut results)))
        .await
    {
        Ok(called) => called,
        Err(stop) => Err(scope.as_context_mut().data_mut().cut_off(stop)),
    };
    let guest_ns = start.elapsed().as_nanos() as u64;
    if let Err(e) = called {
        if e.is::<ThrownException>() {
            return Outcome::Failed(held_refs::uncaught(&mut scope));
        }
        return Outcome::Failed(guest_error(e, budget, scope.as_context_mut().data_mut()));
    }
    match results.iter().map(|v| from_val(&mut scope, v)).collect() {
        Ok(results) => Outcome::Returned { results, guest_ns },
        Err(e) => Outcome::Refused(e),
    }
}
