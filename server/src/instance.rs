//! One named instance in a namespace and everything a client can do to it:
//! call its functions, read and write its globals and memories, describe it.

use crate::cache::{CachedModule, Code};
use crate::component_call;
use crate::convert::{from_val, func_type, to_val, val_type};
use crate::errors::{Budget, guest_error};
use crate::store::{StoreData, StoreGroup, arm, spent};
use sandcall_protocol::{
    ErrorKind, EvalResult, ExportInfo, ExportKind, InstanceInfo, InstanceKind, RemoteError, Value,
};
use std::sync::Arc;
use std::time::Instant;
use wasmtime::{AsContextMut, Extern, Memory, Mutability, RootScope, Store, Val};

/// An instance, the store it lives in and what it has cost so far.
pub struct Entry {
    pub group: StoreGroup,
    pub live: Live,
    pub module: Arc<CachedModule>,
    pub fuel_used: u64,
    /// Why a component instance can no longer be entered: set by the first
    /// call that failed inside the guest, cleared by a reset.
    pub poisoned: Option<String>,
}

impl Entry {
    /// A fresh, callable entry.
    pub fn new(group: StoreGroup, live: Live, module: Arc<CachedModule>, fuel_used: u64) -> Self {
        Entry {
            group,
            live,
            module,
            fuel_used,
            poisoned: None,
        }
    }
}

/// The instance itself.
pub enum Live {
    Core(wasmtime::Instance),
    Component(wasmtime::component::Instance),
}

fn not_found(name: &str, what: &str, export: &str) -> RemoteError {
    RemoteError::new(
        ErrorKind::NotFound,
        format!("instance `{name}` has no {what} export named `{export}`"),
    )
}

impl Entry {
    /// Call `export` with `args` under `budget`. The guest yields to the
    /// scheduler at every epoch tick.
    ///
    /// # Errors
    /// Not found, bad arguments, traps, fuel and deadline errors.
    pub async fn call(
        &mut self,
        name: &str,
        export: &str,
        args: &[Value],
        budget: Budget,
    ) -> Result<EvalResult, RemoteError> {
        let instance = match &self.live {
            Live::Core(instance) => *instance,
            Live::Component(instance) => {
                let instance = *instance;
                return self
                    .call_component(name, instance, export, args, budget)
                    .await;
            }
        };
        let mut store = self.group.lock().await;
        let Some(func) = instance.get_func(&mut *store, export) else {
            return Err(match instance.get_export(&mut *store, export) {
                Some(_) => RemoteError::new(
                    ErrorKind::BadRequest,
                    format!("export `{export}` of `{name}` is not a function"),
                ),
                None => not_found(name, "function", export),
            });
        };
        let ty = func.ty(&*store);
        if ty.params().len() != args.len() {
            return Err(RemoteError::new(
                ErrorKind::BadRequest,
                format!(
                    "`{export}` takes {} argument(s), {}; got {}",
                    ty.params().len(),
                    func_type(&ty),
                    args.len()
                ),
            ));
        }
        let fuel = arm(&mut store, budget)?;
        let mut scope = RootScope::new(&mut *store);
        let mut params = Vec::with_capacity(args.len());
        for (i, (arg, expected)) in args.iter().zip(ty.params()).enumerate() {
            let what = || format!("argument {} of `{export}`", i + 1);
            params.push(to_val(&mut scope, arg, &expected, &what)?);
        }
        let mut results = vec![Val::I32(0); ty.results().len()];
        let start = Instant::now();
        let outcome = func.call_async(&mut scope, &params, &mut results).await;
        let guest_ns = start.elapsed().as_nanos() as u64;
        let fuel_used = spent(&scope, fuel);
        self.fuel_used = self.fuel_used.saturating_add(fuel_used);
        if let Err(e) = outcome {
            let refusal = scope.as_context_mut().data_mut().take_refusal();
            return Err(guest_error(e, budget, refusal));
        }
        let results = results
            .iter()
            .map(|v| from_val(&scope, v))
            .collect::<Result<_, _>>()?;
        Ok(EvalResult {
            results,
            fuel_used,
            guest_ns,
        })
    }

    async fn call_component(
        &mut self,
        name: &str,
        instance: wasmtime::component::Instance,
        export: &str,
        args: &[Value],
        budget: Budget,
    ) -> Result<EvalResult, RemoteError> {
        let Code::Component(code) = &self.module.code else {
            return Err(RemoteError::new(
                ErrorKind::Internal,
                "component without its code",
            ));
        };
        let Some(export) = code.export(export) else {
            return Err(not_found(name, "function", export));
        };
        if let Some(why) = &self.poisoned {
            return Err(RemoteError::new(
                ErrorKind::Poisoned,
                format!(
                    "instance `{name}` failed inside an earlier call ({why}) and can no longer be \
                     entered; `reset {name}` re-instantiates it (its state is lost)"
                ),
            ));
        }
        let mut store = self.group.lock().await;
        let fuel = arm(&mut store, budget)?;
        let outcome = component_call::call(&mut store, &instance, export, args, budget).await;
        let fuel_used = spent(&*store, fuel);
        self.fuel_used = self.fuel_used.saturating_add(fuel_used);
        let outcome = outcome?;
        match outcome {
            Ok((results, guest_ns)) => Ok(EvalResult {
                results,
                fuel_used,
                guest_ns,
            }),
            Err(mut e) => {
                tracing::info!(instance = name, export = export.name, error = %e, "component poisoned");
                self.poisoned = Some(format!("{}: {}", e.kind, e.message));
                e.message = format!(
                    "{}; instance `{name}` is now poisoned: `reset {name}` re-instantiates it",
                    e.message
                );
                Err(e)
            }
        }
    }

    /// The core instance, for requests only core modules answer.
    fn core(&self, name: &str, what: &str) -> Result<wasmtime::Instance, RemoteError> {
        match &self.live {
            Live::Core(instance) => Ok(*instance),
            Live::Component(_) => Err(RemoteError::new(
                ErrorKind::BadRequest,
                format!(
                    "`{name}` is a component: it exports no {what}s; call its functions with eval"
                ),
            )),
        }
    }

    /// The value of global `global`.
    ///
    /// # Errors
    /// Not found, or a value that cannot cross the wire.
    pub async fn get_global(&self, name: &str, global: &str) -> Result<Value, RemoteError> {
        let instance = self.core(name, "global")?;
        let mut store = self.group.lock().await;
        let g = instance
            .get_global(&mut *store, global)
            .ok_or_else(|| not_found(name, "global", global))?;
        let mut scope = RootScope::new(&mut *store);
        let val = g.get(&mut scope);
        from_val(&scope, &val)
    }

    /// Set mutable global `global` to `value`.
    ///
    /// # Errors
    /// Not found, immutable, or a value of the wrong type.
    pub async fn set_global(
        &self,
        name: &str,
        global: &str,
        value: &Value,
    ) -> Result<(), RemoteError> {
        let instance = self.core(name, "global")?;
        let mut store = self.group.lock().await;
        let g = instance
            .get_global(&mut *store, global)
            .ok_or_else(|| not_found(name, "global", global))?;
        let ty = g.ty(&*store);
        if ty.mutability() != Mutability::Var {
            return Err(RemoteError::new(
                ErrorKind::BadRequest,
                format!("global `{global}` of `{name}` is immutable"),
            ));
        }
        let mut scope = RootScope::new(&mut *store);
        let what = || format!("global `{global}`");
        let val = to_val(&mut scope, value, ty.content(), &what)?;
        g.set(&mut scope, val)
            .map_err(|e| RemoteError::new(ErrorKind::BadRequest, format!("{e:#}")))
    }

    /// Read `len` bytes at `offset` of a memory (default: the first exported one).
    ///
    /// # Errors
    /// Not found, or a range outside the memory.
    pub async fn read_memory(
        &self,
        name: &str,
        memory: Option<&str>,
        offset: u64,
        len: u64,
    ) -> Result<Vec<u8>, RemoteError> {
        let instance = self.core(name, "memorie")?;
        let mut guard = self.group.lock().await;
        let store = &mut *guard;
        let mem = memory_of(instance, store, name, memory)?;
        let data = mem.data(&*store);
        let range = checked_range(offset, len, data.len())?;
        Ok(data[range].to_vec())
    }

    /// Write `bytes` at `offset` of a memory (default: the first exported one).
    ///
    /// # Errors
    /// Not found, or a range outside the memory.
    pub async fn write_memory(
        &self,
        name: &str,
        memory: Option<&str>,
        offset: u64,
        bytes: &[u8],
    ) -> Result<(), RemoteError> {
        let instance = self.core(name, "memorie")?;
        let mut guard = self.group.lock().await;
        let store = &mut *guard;
        let mem = memory_of(instance, store, name, memory)?;
        let data = mem.data_mut(&mut *store);
        let range = checked_range(offset, bytes.len() as u64, data.len())?;
        data[range].copy_from_slice(bytes);
        Ok(())
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
            registered_as,
        }
    }
}

/// A memory of `instance` (default: its first exported one).
fn memory_of(
    instance: wasmtime::Instance,
    store: &mut Store<StoreData>,
    name: &str,
    memory: Option<&str>,
) -> Result<Memory, RemoteError> {
    match memory {
        Some(m) => instance
            .get_memory(&mut *store, m)
            .ok_or_else(|| not_found(name, "memory", m)),
        None => instance
            .exports(&mut *store)
            .find_map(|e| e.into_memory())
            .ok_or_else(|| {
                RemoteError::new(
                    ErrorKind::NotFound,
                    format!("instance `{name}` exports no memory"),
                )
            }),
    }
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
                Extern::Func(f) => ExportKind::Func(func_type(&f.ty(&*store))),
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

/// `offset..offset+len` if it lies inside a memory of `size` bytes.
fn checked_range(
    offset: u64,
    len: u64,
    size: usize,
) -> Result<std::ops::Range<usize>, RemoteError> {
    let end = offset.checked_add(len).filter(|&end| end <= size as u64);
    match end {
        Some(end) => Ok(offset as usize..end as usize),
        None => Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!("bytes {offset}..{offset}+{len} lie outside the memory's {size} bytes"),
        )),
    }
}
