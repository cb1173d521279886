//! Instantiating compiled code under the runtime's start budget: in a fresh
//! store of its own, or in the store of the registered instances it imports
//! from (wasm exports are live objects that never cross stores).

use crate::cache::{CachedModule, Code};
use crate::call_context::CallContext;
use crate::component::ComponentCode;
use crate::instance::{Entry, Live};
use crate::memory_budget::MemoryBudget;
use crate::outcome::guest_error;
use crate::runtime::Runtime;
use crate::store::{Budget, StoreData, arm, spent};
use sandcall_protocol::{ErrorKind, RemoteError};
use std::sync::Arc;
use wasmtime::Store;

/// Instantiate import-free code (WASI aside) in a fresh store of its own,
/// whose memory counts against `connection_memory` and the server's budget,
/// and whose guest output and cancellation are the connection's `context`.
///
/// # Errors
/// A component that imports what is not granted, and any failure of the
/// start function.
pub async fn alone(
    runtime: &Runtime,
    connection_memory: &Arc<MemoryBudget>,
    module: Arc<CachedModule>,
    context: &CallContext,
) -> Result<Entry, RemoteError> {
    if let Code::Component(code) = &module.code
        && let Some(e) = code.link_error()
    {
        return Err(e);
    }
    let group = runtime.new_store(connection_memory);
    let budget = runtime.start_budget();
    let mut store = group.lock().await;
    store.data_mut().join(context.clone());
    store.data_mut().count_instance()?;
    let fuel = arm(&mut store, budget)?;
    // A start function waiting in WASI is cut off like a call.
    let cutoff = store.data().cutoff();
    let cpu = store.data().cpu();
    let live = match &module.code {
        Code::Core { pre: Some(pre), .. } => cutoff
            .run(cpu.charge(pre.instantiate_async(&mut *store)))
            .await
            .unwrap_or_else(|stop| Err(store.data_mut().cut_off(stop)))
            .map(Live::Core),
        Code::Component(ComponentCode { pre: Some(pre), .. }) => cutoff
            .run(cpu.charge(pre.instantiate_async(&mut *store)))
            .await
            .unwrap_or_else(|stop| Err(store.data_mut().cut_off(stop)))
            .map(Live::Component),
        _ => {
            return Err(RemoteError::new(
                ErrorKind::Internal,
                "instantiating code that has imports without a linker",
            ));
        }
    };
    let (live, fuel_used) = settle(&mut store, fuel, budget, live)?;
    drop(store);
    Ok(Entry::new(group, live, module, fuel_used))
}

/// Instantiate a core module in the store of `providers`, the registered
/// instances it imports from, each under the module name it imports.
///
/// # Errors
/// Providers in different stores or that are components, a store that has
/// created as many instances as one may, a missing export, and any failure
/// of the start function.
pub async fn linked(
    runtime: &Runtime,
    module: Arc<CachedModule>,
    providers: &[(&str, &Entry)],
) -> Result<Entry, RemoteError> {
    let (Code::Core { module: core, .. }, Some((_, first))) = (&module.code, providers.first())
    else {
        return Err(RemoteError::new(
            ErrorKind::Internal,
            "linking what is not a core module with imports",
        ));
    };
    if providers.iter().any(|(_, e)| !e.group.same(&first.group)) {
        return Err(RemoteError::new(
            ErrorKind::Unsupported,
            "the module imports from registered instances that live in \
             different stores; import from one linked family at a time",
        ));
    }
    let group = first.group.clone();
    let budget = runtime.start_budget();
    let mut store = group.lock().await;
    store.data_mut().count_instance()?;
    let fuel = arm(&mut store, budget)?;
    let internal = |e: wasmtime::Error| RemoteError::new(ErrorKind::Internal, format!("{e:#}"));
    // WASI's functions, then the registered instances.
    let mut linker = runtime.linkers().core.clone();
    for (as_name, entry) in providers {
        let Live::Core(instance) = entry.live else {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!("`{as_name}` is a component; core modules cannot import from it"),
            ));
        };
        linker
            .instance(&mut *store, as_name, instance)
            .map_err(internal)?;
    }
    let cutoff = store.data().cutoff();
    let cpu = store.data().cpu();
    let instance = cutoff
        .run(cpu.charge(linker.instantiate_async(&mut *store, core)))
        .await
        .unwrap_or_else(|stop| Err(store.data_mut().cut_off(stop)));
    let (live, fuel_used) = settle(&mut store, fuel, budget, instance.map(Live::Core))?;
    drop(store);
    Ok(Entry::new(group, live, module, fuel_used))
}

/// The instance an instantiation made and the fuel its start function used,
/// or why it failed.
fn settle(
    store: &mut Store<StoreData>,
    fuel: Option<u64>,
    budget: Budget,
    made: wasmtime::Result<Live>,
) -> Result<(Live, u64), RemoteError> {
    let fuel_used = spent(&*store, fuel);
    match made {
        Ok(live) => Ok((live, fuel_used)),
        // A start function that threw: its store keeps the exception held
        // while it lives (a family's store may).
        Err(e) if e.is::<wasmtime::ThrownException>() => Err(crate::held_refs::uncaught(store)),
        Err(e) => Err(guest_error(e, budget, store.data_mut())),
    }
}
