//! A connection's namespace, as in RPyC's classic mode: named instances that
//! live until dropped or until the client disconnects, and the module names
//! under which some of them are registered for later imports.

use crate::cache::{CachedModule, Code};
use crate::component::ComponentCode;
use crate::errors::{Budget, guest_error};
use crate::instance::{Entry, Live};
use crate::runtime::Runtime;
use crate::store::{StoreData, StoreGroup, arm, spent};
use crate::wasi::{WasiGrant, is_wasi_module};
use sandcall_protocol::{ErrorKind, InstanceInfo, RemoteError};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::Store;

/// Longest instance or registration name accepted.
const MAX_NAME: usize = 1024;

/// One connection's instances.
pub struct Namespace {
    runtime: Arc<Runtime>,
    instances: BTreeMap<String, Entry>,
    /// Module name → instance name.
    registry: BTreeMap<String, String>,
}

impl Namespace {
    /// An empty namespace whose instances run on `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Namespace {
            runtime,
            instances: BTreeMap::new(),
            registry: BTreeMap::new(),
        }
    }

    /// The runtime this namespace's instances run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The instance called `name`.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`].
    pub fn get(&mut self, name: &str) -> Result<&mut Entry, RemoteError> {
        self.instances.get_mut(name).ok_or_else(|| {
            RemoteError::new(
                ErrorKind::NotFound,
                format!("no instance named `{name}` in this namespace"),
            )
        })
    }

    /// Compile (or find in the cache) and instantiate `bytes` under `name`.
    ///
    /// # Errors
    /// Name taken, too many instances, module too large or invalid, an import
    /// nobody grants, and any failure of the start function.
    pub async fn execute(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        replace: bool,
    ) -> Result<InstanceInfo, RemoteError> {
        check_name(name)?;
        let limits = self.runtime.limits();
        if bytes.len() as u64 > limits.module_bytes {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "module of {} bytes exceeds the limit of {} bytes",
                    bytes.len(),
                    limits.module_bytes
                ),
            ));
        }
        let exists = self.instances.contains_key(name);
        if exists && !replace {
            return Err(RemoteError::new(
                ErrorKind::AlreadyExists,
                format!("an instance named `{name}` exists (ask to replace it)"),
            ));
        }
        if !exists && self.instances.len() >= limits.instances as usize {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "this connection already holds {} instances, the limit",
                    self.instances.len()
                ),
            ));
        }
        let module = self.runtime.cache().module(bytes).await?;
        let entry = self.instantiate(module).await?;
        if exists {
            self.remove(name);
        }
        let info = entry.describe(name, Vec::new()).await;
        self.instances.insert(name.to_string(), entry);
        Ok(info)
    }

    /// Instantiate in a fresh store, or in the store of the registered
    /// instances it imports from.
    async fn instantiate(&self, module: Arc<CachedModule>) -> Result<Entry, RemoteError> {
        let core = match &module.code {
            Code::Core { module, .. } => module,
            Code::Component(code) => {
                if let Some(e) = code.link_error() {
                    return Err(e);
                }
                return instantiate_alone(&self.runtime, module).await;
            }
        };
        let mut providers: Vec<(&str, &Entry)> = Vec::new();
        for import in core.imports() {
            if is_wasi_module(import.module()) {
                continue;
            }
            let Some(provider) = self.registry.get(import.module()) else {
                return Err(RemoteError::new(
                    ErrorKind::LinkError,
                    format!(
                        "import `{}::{}` is not granted: guests get no host functions \
                         besides WASI ({}), only instances registered in this session",
                        import.module(),
                        import.name(),
                        match self.runtime.grant() {
                            WasiGrant::Nothing => "with nothing granted",
                            WasiGrant::Host { .. } => "with the host's environment and files",
                        }
                    ),
                ));
            };
            if !providers.iter().any(|(m, _)| *m == import.module()) {
                providers.push((import.module(), &self.instances[provider]));
            }
        }
        let group = match providers.first() {
            Some((_, first)) => {
                if providers.iter().any(|(_, e)| !e.group.same(&first.group)) {
                    return Err(RemoteError::new(
                        ErrorKind::Unsupported,
                        "the module imports from registered instances that live in \
                         different stores; import from one linked family at a time",
                    ));
                }
                first.group.clone()
            }
            None => return instantiate_alone(&self.runtime, module).await,
        };
        let budget = start_budget(&self.runtime);
        let mut store = group.lock().await;
        store.data_mut().count_instance()?;
        let fuel = arm(&mut store, budget)?;
        let internal = |e: wasmtime::Error| RemoteError::new(ErrorKind::Internal, format!("{e:#}"));
        // WASI's functions, then the registered instances.
        let mut linker = self.runtime.linkers().core.clone();
        for (as_name, entry) in &providers {
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
        let instance = linker.instantiate_async(&mut *store, core).await;
        let (live, fuel_used) = settle(&mut store, fuel, budget, instance.map(Live::Core))?;
        drop(store);
        Ok(Entry::new(group, live, module, fuel_used))
    }

    /// Instantiate `name` afresh from its compiled code in a new store: its
    /// state is lost, and a poisoned component can be called again.
    ///
    /// # Errors
    /// Not found; unsupported for an instance linked to registered ones
    /// (re-execute it instead); any failure of instantiation.
    pub async fn reset(&mut self, name: &str) -> Result<InstanceInfo, RemoteError> {
        let module = self.get(name)?.module.clone();
        if let Code::Core { pre: None, .. } = &module.code {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!(
                    "`{name}` imports from registered instances and shares their store; \
                     execute it again to start afresh"
                ),
            ));
        }
        let fresh = instantiate_alone(&self.runtime, module).await?;
        tracing::debug!(instance = name, "reset");
        let registered = self.registrations(name);
        let info = fresh.describe(name, registered).await;
        self.instances.insert(name.to_string(), fresh);
        Ok(info)
    }

    /// Make `name`'s exports importable under module name `as_name`.
    ///
    /// # Errors
    /// Unknown instance, a bad name, or a component (only core instances
    /// are imported from).
    pub fn register(&mut self, name: &str, as_name: &str) -> Result<(), RemoteError> {
        check_name(as_name)?;
        if let Live::Component(_) = self.get(name)?.live {
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!("`{name}` is a component; only core instances can be registered"),
            ));
        }
        let most = self.runtime.limits().instances as usize * 4;
        if !self.registry.contains_key(as_name) && self.registry.len() >= most {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!("this connection already holds {most} registrations, the limit"),
            ));
        }
        self.registry.insert(as_name.to_string(), name.to_string());
        Ok(())
    }

    /// Drop `name` and its registrations.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`].
    pub fn drop_instance(&mut self, name: &str) -> Result<(), RemoteError> {
        self.get(name)?;
        self.remove(name);
        Ok(())
    }

    fn remove(&mut self, name: &str) {
        self.instances.remove(name);
        self.registry.retain(|_, target| target != name);
    }

    /// Describe every instance.
    pub async fn list(&self) -> Vec<InstanceInfo> {
        let mut list = Vec::with_capacity(self.instances.len());
        for (name, entry) in &self.instances {
            list.push(entry.describe(name, self.registrations(name)).await);
        }
        list
    }

    /// The module names `name` is registered under.
    fn registrations(&self, name: &str) -> Vec<String> {
        self.registry
            .iter()
            .filter(|(_, target)| *target == name)
            .map(|(as_name, _)| as_name.clone())
            .collect()
    }
}

/// Instantiate import-free code in a fresh store of its own, under the
/// runtime's default fuel and deadline (a start function runs guest code).
async fn instantiate_alone(
    runtime: &Runtime,
    module: Arc<CachedModule>,
) -> Result<Entry, RemoteError> {
    let group = StoreGroup::new(runtime);
    let budget = start_budget(runtime);
    let mut store = group.lock().await;
    store.data_mut().count_instance()?;
    let fuel = arm(&mut store, budget)?;
    let live = match &module.code {
        Code::Core { pre: Some(pre), .. } => {
            pre.instantiate_async(&mut *store).await.map(Live::Core)
        }
        Code::Component(ComponentCode { pre: Some(pre), .. }) => pre
            .instantiate_async(&mut *store)
            .await
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

/// What an instantiation may spend: the runtime's default fuel and deadline
/// (neither in unrestricted mode).
fn start_budget(runtime: &Runtime) -> Budget {
    let limits = runtime.limits();
    let sandboxed = runtime.sandboxed_mode();
    Budget {
        fuel: sandboxed.then_some(limits.fuel),
        deadline_ms: sandboxed.then_some(limits.deadline_ms),
    }
}

/// The instance an instantiation made and the fuel its start function used,
/// or why it failed.
fn settle(
    store: &mut Store<StoreData>,
    fuel: Option<u64>,
    budget: Budget,
    outcome: wasmtime::Result<Live>,
) -> Result<(Live, u64), RemoteError> {
    let fuel_used = spent(&*store, fuel);
    match outcome {
        Ok(live) => Ok((live, fuel_used)),
        Err(e) => {
            let refusal = store.data_mut().take_refusal();
            Err(guest_error(e, budget, refusal))
        }
    }
}

fn check_name(name: &str) -> Result<(), RemoteError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!("a name must have 1 to {MAX_NAME} bytes"),
        ));
    }
    Ok(())
}
