//! Imports across stores: a core module may import from registered
//! instances that live in different stores (different linked families).
//!
//! Every import-free instance gets a store of its own, so that dropping it
//! frees its memory; a module that imports goes into the store of what it
//! imports from (wasm exports are live objects of one store). When its
//! imports come from several stores, the new instance goes into the one
//! store that provides its *state* imports (memories, tables, mutable
//! globals, tags: objects two instances must share, which cannot cross
//! stores), or the first provider's store if it imports no state. Its other
//! imports cross stores as copies that behave the same:
//!
//! - a function becomes a proxy in the new store that calls the provider's
//!   function in the provider's store on what the calling guest code has
//!   left: its fuel (what the callee burns is taken from the caller), its
//!   deadline, its CPU time (one meter counts both) and its cancellation;
//!   arguments and results are converted through the wire's values
//!   (numbers, nulls and client-made externrefs; a held GC reference
//!   belongs to one store and is refused in another);
//! - an immutable global becomes an immutable global of the same type and
//!   value (it can never change, so a copy is the same global).
//!
//! State imports from two different stores need the providers in one store.
//! A provider that no request has reached since it was instantiated, whose
//! module imports nothing (so instantiating it again makes the very same
//! state), and that is alone in its store, is *moved*: instantiated again in
//! the importer's home store, its old store dropped ([`move_into`]). Any
//! other case is refused ([`ErrorKind::Unsupported`]) with a message naming
//! the imports. A proxy holds
//! the provider's store, so the provider lives as long as its importer; the
//! namespace refuses proxies that would make two stores hold each other (a
//! cycle no drop could free), see [`crate::namespace`].

use crate::cache::{CachedModule, Code};
use crate::core_values::{from_val, to_val};
use crate::instance::{Entry, Live};
use crate::outcome::guest_error;
use crate::runtime::Runtime;
use crate::store::{StoreGroup, arm, arm_inherited, disinherit, spent};
use sandcall_protocol::{ErrorKind, RemoteError, Value};
use std::collections::HashSet;
use std::sync::Arc;
use wasmtime::{Extern, ExternType, Func, Global, GlobalType, Mutability, ThrownException, Val};

/// Where a module importing from several stores is instantiated: the index
/// in `providers` of the store's first provider, and every other store it
/// imports from.
pub struct Placement {
    pub home: usize,
    pub others: Vec<StoreGroup>,
}

/// The store a module with `providers` (by the module name it imports) in
/// more than one store goes into.
///
/// # Errors
/// [`ErrorKind::Unsupported`] when its state imports come from two stores.
pub fn place(
    core: &wasmtime::Module,
    providers: &[(&str, &Entry)],
) -> Result<Placement, RemoteError> {
    let provider = |module: &str| providers.iter().position(|(m, _)| *m == module);
    let mut home: Option<(usize, String)> = None;
    for import in core.imports() {
        let Some(index) = provider(import.module()) else {
            continue;
        };
        if crosses(&import.ty()) {
            continue;
        }
        let what = format!("`{}::{}`", import.module(), import.name());
        match &home {
            Some((h, first)) if !providers[*h].1.group.same(&providers[index].1.group) => {
                return Err(RemoteError::new(
                    ErrorKind::Unsupported,
                    format!(
                        "imports {first} and {what} are memories, tables, mutable globals or \
                         tags of instances in two different stores; such state is shared, so it \
                         must come from one linked family (functions and immutable globals may \
                         come from any)"
                    ),
                ));
            }
            Some(_) => {}
            None => home = Some((index, what)),
        }
    }
    let home = home.map_or(0, |(h, _)| h);
    let mut others: Vec<StoreGroup> = Vec::new();
    for (_, entry) in providers {
        let group = &entry.group;
        if !group.same(&providers[home].1.group) && !others.iter().any(|o| o.same(group)) {
            others.push(group.clone());
        }
    }
    Ok(Placement { home, others })
}

/// Whether an import of this type can be served from another store.
fn crosses(ty: &ExternType) -> bool {
    match ty {
        ExternType::Func(_) => true,
        ExternType::Global(g) => g.mutability() == Mutability::Const,
        _ => false,
    }
}

/// Instantiate `module` in the store of `providers[placement.home]`, its
/// imports from that store linked directly and the others copied (see the
/// module docs).
///
/// # Errors
/// A store that has created as many instances as one may, a provider that
/// is a component, a missing or mismatched import, and any failure of the
/// start function.
pub async fn instantiate(
    runtime: &Runtime,
    module: Arc<CachedModule>,
    providers: &[(&str, &Entry)],
    placement: &Placement,
) -> Result<Entry, RemoteError> {
    let Code::Core { module: core, .. } = &module.code else {
        return Err(RemoteError::new(
            ErrorKind::Internal,
            "linking what is not a core module with imports",
        ));
    };
    let group = providers[placement.home].1.group.clone();
    let budget = runtime.start_budget();
    let mut store = group.lock().await;
    store.data_mut().count_instance()?;
    let internal = |e: wasmtime::Error| RemoteError::new(ErrorKind::Internal, format!("{e:#}"));
    let mut linker = runtime.linkers().core.clone();
    let mut defined = HashSet::new();
    for (as_name, entry) in providers {
        let Live::Core(instance) = entry.live else {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!("`{as_name}` is a component; core modules cannot import from it"),
            ));
        };
        if entry.group.same(&group) {
            linker
                .instance(&mut *store, as_name, instance)
                .map_err(internal)?;
            continue;
        }
        // Only what the module imports from it, each name once; a missing
        // or mismatched export is left for the linker to name.
        let mut theirs = entry.group.lock().await;
        for import in core.imports().filter(|i| i.module() == *as_name) {
            if !defined.insert((import.module().to_string(), import.name().to_string())) {
                continue;
            }
            match instance.get_export(&mut *theirs, import.name()) {
                Some(Extern::Func(func)) if matches!(import.ty(), ExternType::Func(_)) => {
                    let proxy = proxy(&mut store, &entry.group, &theirs, func);
                    linker
                        .define(&mut *store, as_name, import.name(), proxy)
                        .map_err(internal)?;
                }
                Some(Extern::Global(global)) if crosses(&import.ty()) => {
                    let ty = global.ty(&*theirs);
                    if ty.mutability() != Mutability::Const {
                        continue;
                    }
                    let what = || format!("global `{as_name}::{}`", import.name());
                    let current = global.get(&mut *theirs);
                    let value = from_val(&mut *theirs, &current)?;
                    let val = to_val(&mut *store, &value, ty.content(), &what)?;
                    let copy = GlobalType::new(ty.content().clone(), Mutability::Const);
                    let copy = Global::new(&mut *store, copy, val).map_err(internal)?;
                    linker
                        .define(&mut *store, as_name, import.name(), copy)
                        .map_err(internal)?;
                }
                _ => {}
            }
        }
    }
    let fuel = arm(&mut store, budget)?;
    let cutoff = store.data().cutoff();
    let cpu = store.data().cpu();
    let made = cutoff
        .run(cpu.charge(linker.instantiate_async(&mut *store, core)))
        .await
        .unwrap_or_else(|stop| Err(store.data_mut().cut_off(stop)));
    let fuel_used = spent(&*store, fuel);
    let instance = made.map_err(|e| guest_error(e, budget, store.data_mut()))?;
    drop(store);
    Ok(Entry::new(group, Live::Core(instance), module, fuel_used))
}

/// A function of the store `home` that calls `func` of store `target`
/// (whose lock `theirs` is held now) on what its caller has left.
fn proxy(
    home: &mut wasmtime::Store<crate::store::StoreData>,
    target: &StoreGroup,
    theirs: &wasmtime::Store<crate::store::StoreData>,
    func: Func,
) -> Func {
    let ty = func.ty(theirs);
    let target = target.clone();
    let signature = ty.clone();
    Func::new_async(&mut *home, signature, move |mut caller, params, results| {
        let target = target.clone();
        let ty = ty.clone();
        let args: Result<Vec<Value>, RemoteError> =
            params.iter().map(|v| from_val(&mut caller, v)).collect();
        let fuel_left = caller.get_fuel().ok();
        let inherited = caller.data().inheritance();
        Box::new(async move {
            let what = || "a value passed across stores".to_string();
            let args = args.map_err(refused)?;
            let mut store = target.lock().await;
            let mut theirs = Vec::with_capacity(args.len());
            for (value, t) in args.iter().zip(ty.params()) {
                theirs.push(to_val(&mut *store, value, &t, &what).map_err(refused)?);
            }
            let own = arm_inherited(&mut store, inherited, fuel_left).map_err(refused)?;
            let mut out = vec![Val::I32(0); ty.results().len()];
            let called = func.call_async(&mut *store, &theirs, &mut out).await;
            disinherit(&mut store, own);
            let stop = store.data_mut().take_stop();
            if let Some(left) = fuel_left {
                caller.set_fuel(left.saturating_sub(spent(&*store, fuel_left)))?;
            }
            if let Err(e) = called {
                // An exception cannot cross stores: the caller sees a trap.
                if e.is::<ThrownException>() {
                    store.take_pending_exception();
                }
                drop(store);
                // Stopped for the caller's deadline, CPU time or cancel: the
                // caller stops for the same reason.
                return Err(match stop {
                    Some(stop) => caller.data_mut().cut_off(stop),
                    None => e,
                });
            }
            let values: Result<Vec<Value>, RemoteError> =
                out.iter().map(|v| from_val(&mut *store, v)).collect();
            drop(store);
            for ((slot, value), t) in results
                .iter_mut()
                .zip(values.map_err(refused)?)
                .zip(ty.results())
            {
                *slot = to_val(&mut caller, &value, &t, &what).map_err(refused)?;
            }
            Ok(())
        })
    })
}

/// A refusal met inside a proxy, as the error the call fails with.
fn refused(e: RemoteError) -> wasmtime::Error {
    wasmtime::Error::msg(format!("{}: {}", e.kind, e.message))
}

/// Instantiate `entry`'s import-free module again in store `home`: the new
/// entry that replaces it there (see the module docs for when that is the
/// same instance).
///
/// # Errors
/// A store that has created as many instances as one may, or any failure
/// of the start function.
pub async fn move_into(
    runtime: &Runtime,
    entry: &Entry,
    home: &StoreGroup,
) -> Result<Entry, RemoteError> {
    let Code::Core { pre: Some(pre), .. } = &entry.module.code else {
        return Err(RemoteError::new(
            ErrorKind::Internal,
            "moving an instance whose module imports",
        ));
    };
    let budget = runtime.start_budget();
    let mut store = home.lock().await;
    store.data_mut().count_instance()?;
    let fuel = arm(&mut store, budget)?;
    let cutoff = store.data().cutoff();
    let cpu = store.data().cpu();
    let made = cutoff
        .run(cpu.charge(pre.instantiate_async(&mut *store)))
        .await
        .unwrap_or_else(|stop| Err(store.data_mut().cut_off(stop)));
    let fuel_used = spent(&*store, fuel);
    let instance = made.map_err(|e| guest_error(e, budget, store.data_mut()))?;
    drop(store);
    let moved = Entry::new(
        home.clone(),
        Live::Core(instance),
        entry.module.clone(),
        entry.fuel_used.saturating_add(fuel_used),
    );
    Ok(moved)
}

/// Whether `entry` can be moved to another store (see the module docs);
/// `alone` says that no other instance shares its store and no store
/// imports from it.
pub fn movable(entry: &Entry, alone: bool) -> bool {
    let fresh = !entry.touched && entry.poisoned.is_none();
    let import_free = matches!(
        &entry.module.code,
        Code::Core { module, pre: Some(_) } if module.imports().len() == 0
    );
    fresh && import_free && alone && matches!(entry.live, Live::Core(_))
}

/// The providers of `core`'s state imports (memories, tables, mutable
/// globals, tags) by module name, in import order, each once.
pub fn state_providers(core: &wasmtime::Module) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for import in core.imports() {
        if !crosses(&import.ty()) && !names.contains(&import.module()) {
            names.push(import.module());
        }
    }
    names
}
