//! One named instance in a namespace: the store it lives in, what it has
//! cost so far, calls into it (through [`crate::core_call`] or
//! [`crate::component_call`]) and its description. Its globals and memories
//! are in [`crate::instance_state`].

use crate::cache::{CachedModule, Code};
use crate::component::ComponentExport;
use crate::core_values::{func_type, val_type};
use crate::outcome::Outcome;
use crate::store::{Budget, StoreData, StoreGroup, arm, spent};
use crate::{component_call, core_call};
use sandcall_protocol::{
    ErrorKind, EvalResult, ExportInfo, ExportKind, GuestOutput, InstanceInfo, InstanceKind,
    RemoteError, Value,
};
use std::sync::Arc;
use wasmtime::{Extern, Func, Mutability, Store};

/// An instance, the store it lives in and what it has cost so far.
pub struct Entry {
    pub group: StoreGroup,
    pub live: Live,
    pub module: Arc<CachedModule>,
    pub fuel_used: u64,
    /// CPU time its calls used, in ns (0 without CPU-time budgets).
    pub cpu_ns: u64,
    /// Why a component instance can no longer be entered: set by the first
    /// call that failed inside the guest, cleared by a reset.
    pub poisoned: Option<String>,
    /// A request has reached it since it was instantiated (a call, or a
    /// read or write of its state): it can no longer be re-instantiated
    /// elsewhere as if it were the same ([`crate::cross_store`]).
    pub touched: bool,
    /// Counts it in `sandcall_instances_live` while it lives.
    pub _counted: crate::metrics::LiveInstance,
    /// Its core functions called so far, with their types.
    pub lookups: core_call::Lookups,
    /// Its component functions called so far, with their types.
    pub wit_lookups: component_call::Lookups,
}

/// The instance itself.
pub enum Live {
    Core(wasmtime::Instance),
    Component(wasmtime::component::Instance),
}

/// The error for an export `name` lacks, listing `exports` (the exports of
/// that kind) and the one it may have meant.
pub fn not_found(name: &str, what: &str, export: &str, exports: &[&str]) -> RemoteError {
    let export = sandcall_protocol::value::preview(&export, 200);
    RemoteError::new(
        ErrorKind::NotFound,
        format!(
            "instance `{name}` has no {what} export named `{export}`{}",
            sandcall_protocol::hint::unknown(&export, &format!("its {what} exports"), exports)
        ),
    )
}

/// [`not_found`] for a core instance, listing its exports of kind `what`
/// ("function", "global", "memory").
pub fn core_not_found(
    instance: wasmtime::Instance,
    store: &mut Store<StoreData>,
    name: &str,
    what: &str,
    export: &str,
) -> RemoteError {
    let names: Vec<String> = instance
        .exports(&mut *store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .filter(|(_, ext)| {
            matches!(
                (what, ext),
                ("function", Extern::Func(_))
                    | ("global", Extern::Global(_))
                    | ("memory", Extern::Memory(_))
            )
        })
        .map(|(n, _)| n)
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    not_found(name, what, export, &names)
}

impl Entry {
    /// A fresh, callable entry.
    pub fn new(group: StoreGroup, live: Live, module: Arc<CachedModule>, fuel_used: u64) -> Self {
        Entry {
            group,
            live,
            module,
            fuel_used,
            cpu_ns: 0,
            poisoned: None,
            touched: false,
            _counted: crate::metrics::LiveInstance::new(),
            lookups: core_call::Lookups::default(),
            wit_lookups: component_call::Lookups::default(),
        }
    }

    /// Call `export` of this instance, called `name`, with `args` under
    /// `budget`. The guest yields to the scheduler at every epoch tick.
    ///
    /// # Errors
    /// Not found, bad arguments, traps, fuel, deadline and shutdown errors;
    /// a component instance that failed inside an earlier call is poisoned.
    pub async fn call(
        &mut self,
        name: &str,
        export: &str,
        args: &[Value],
        budget: Budget,
    ) -> Result<EvalResult, RemoteError> {
        let mut store = self.group.lock().await;
        let (outcome, fuel_used) = match &self.live {
            Live::Core(instance) => {
                let find = |store: &mut Store<StoreData>| core_func(*instance, store, name, export);
                let func = self.lookups.func(&mut store, export, find)?;
                let fuel = arm(&mut store, budget)?;
                let outcome = core_call::call(&mut store, func, export, args, budget).await;
                (outcome, spent(&*store, fuel))
            }
            Live::Component(instance) => {
                let export =
                    component_export(&self.module, self.poisoned.as_deref(), name, export)?;
                let func = self.wit_lookups.func(&mut store, *instance, export)?;
                let fuel = arm(&mut store, budget)?;
                let outcome = component_call::call(&mut store, func, export, args, budget).await;
                (outcome, spent(&*store, fuel))
            }
        };
        let cpu_ns = store.data().cpu_used_ns();
        drop(store);
        self.fuel_used = self.fuel_used.saturating_add(fuel_used);
        self.cpu_ns = self.cpu_ns.saturating_add(cpu_ns);
        match outcome {
            Outcome::Returned { results, guest_ns } => Ok(EvalResult {
                results,
                fuel_used,
                guest_ns,
                // Filled in by the session, which owns the request.
                output: GuestOutput::default(),
                cpu_ns,
            }),
            Outcome::Refused(e) => Err(e),
            // Core-wasm semantics: the instance keeps the state the failure left.
            Outcome::Failed(e) if matches!(self.live, Live::Core(_)) => Err(e),
            Outcome::Failed(mut e) => {
                tracing::info!(instance = name, export, error = %e, "component poisoned");
                self.poisoned = Some(format!("{}: {}", e.kind, e.message));
                e.message = format!(
                    "{}; instance `{name}` is now poisoned: `reset {name}` re-instantiates it",
                    e.message
                );
                Err(e)
            }
        }
    }

    /// Describe the instance for `namespace` and `execute`.
    pub async fn describe(&self, name: &str, registered_as: Vec<String>) -> InstanceInfo {
        let (kind, exports, memory_bytes) = match (&self.live, &self.module.code) {
            (Live::Core(instance), _) => {
                let mut store = self.group.lock().await;
                let (exports, memory_bytes) = describe_core(*instance, &mut store);
                (InstanceKind::Core, exports, memory_bytes)
            }
            (Live::Component(_), Code::Component(code)) => {
                let memory_bytes = self.group.lock().await.data().memory_bytes();
                (InstanceKind::Component, code.describe(), memory_bytes)
            }
            (Live::Component(_), Code::Core { .. }) => (InstanceKind::Component, Vec::new(), 0),
        };
        InstanceInfo {
            name: name.to_string(),
            kind,
            module_hash: self.module.hash.clone(),
            exports,
            memory_bytes,
            fuel_used: self.fuel_used,
            cpu_ns: self.cpu_ns,
            registered_as,
            output: GuestOutput::default(),
            cache_hit: false,
            compile_ns: 0,
        }
    }
}

/// The exported function `export` of a core instance.
fn core_func(
    instance: wasmtime::Instance,
    store: &mut Store<StoreData>,
    name: &str,
    export: &str,
) -> Result<Func, RemoteError> {
    match instance.get_func(&mut *store, export) {
        Some(func) => Ok(func),
        None => Err(match instance.get_export(&mut *store, export) {
            Some(_) => RemoteError::new(
                ErrorKind::BadRequest,
                format!("export `{export}` of `{name}` is not a function"),
            ),
            None => core_not_found(instance, store, name, "function", export),
        }),
    }
}

/// The exported function `export` of a component instance, unless the
/// instance is poisoned.
fn component_export<'a>(
    module: &'a CachedModule,
    poisoned: Option<&str>,
    name: &str,
    export: &str,
) -> Result<&'a ComponentExport, RemoteError> {
    let Code::Component(code) = &module.code else {
        return Err(RemoteError::new(
            ErrorKind::Internal,
            "component without its code",
        ));
    };
    let Some(export) = code.export(export) else {
        let names: Vec<&str> = code.exports.iter().map(|e| e.name.as_str()).collect();
        return Err(not_found(name, "function", export, &names));
    };
    if let Some(why) = poisoned {
        return Err(RemoteError::new(
            ErrorKind::Poisoned,
            format!(
                "instance `{name}` failed inside an earlier call ({why}) and can no longer be \
                 entered; `reset {name}` re-instantiates it (its state is lost)"
            ),
        ));
    }
    Ok(export)
}

/// A core instance's exports, and the bytes its exported memories hold.
fn describe_core(
    instance: wasmtime::Instance,
    store: &mut Store<StoreData>,
) -> (Vec<ExportInfo>, u64) {
    let externs: Vec<(String, Extern)> = instance
        .exports(&mut *store)
        .map(|e| (e.name().to_string(), e.into_extern()))
        .collect();
    let mut memory_bytes = 0;
    let exports = externs
        .into_iter()
        .map(|(export, ext)| {
            let kind = match ext {
                Extern::Func(f) => ExportKind::CoreFunc(func_type(&f.ty(&*store))),
                Extern::Global(g) => {
                    let ty = g.ty(&*store);
                    ExportKind::Global {
                        ty: val_type(ty.content()),
                        mutable: ty.mutability() == Mutability::Var,
                    }
                }
                Extern::Memory(m) => {
                    memory_bytes += m.data_size(&*store) as u64;
                    ExportKind::Memory {
                        pages: m.size(&*store),
                        max_pages: m.ty(&*store).maximum(),
                    }
                }
                Extern::Table(t) => {
                    let ty = t.ty(&*store);
                    ExportKind::Table {
                        element: val_type(&wasmtime::ValType::Ref(ty.element().clone())),
                        size: t.size(&*store),
                        max: ty.maximum(),
                    }
                }
                other => ExportKind::Other(format!("{other:?}")),
            };
            ExportInfo { name: export, kind }
        })
        .collect();
    (exports, memory_bytes)
}
