//! A connection's namespace, as in RPyC's classic mode: named instances that
//! live until dropped or until the client disconnects, and the module names
//! under which some of them are registered for later imports.

use crate::cache::CachedModule;
use crate::errors::{Budget, guest_error};
use crate::instance::Entry;
use crate::runtime::Runtime;
use crate::store::StoreGroup;
use sandcall_protocol::{ErrorKind, InstanceInfo, RemoteError};
use std::collections::BTreeMap;
use std::sync::Arc;
use wasmtime::Linker;

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
        let mut providers: Vec<(&str, &Entry)> = Vec::new();
        for import in module.module.imports() {
            let Some(provider) = self.registry.get(import.module()) else {
                return Err(RemoteError::new(
                    ErrorKind::LinkError,
                    format!(
                        "import `{}::{}` is not granted: sandboxed guests get no host \
                         functions, only instances registered in this session",
                        import.module(),
                        import.name()
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
            None => StoreGroup::new(&self.runtime),
        };
        let limits = self.runtime.limits();
        let budget = Budget {
            fuel: Some(limits.fuel),
            deadline_ms: limits.deadline_ms,
        };
        let mut store = group.lock().await;
        store.data_mut().count_instance()?;
        let internal = |e: wasmtime::Error| RemoteError::new(ErrorKind::Internal, format!("{e:#}"));
        store.set_fuel(limits.fuel).map_err(internal)?;
        store.data_mut().start_deadline(limits.deadline_ms);
        store.set_epoch_deadline(1);
        let instance = match (&module.pre, providers.is_empty()) {
            (Some(pre), true) => pre.instantiate_async(&mut *store).await,
            _ => {
                let mut linker = Linker::new(self.runtime.engine());
                for (as_name, entry) in &providers {
                    linker
                        .instance(&mut *store, as_name, entry.instance)
                        .map_err(internal)?;
                }
                linker.instantiate_async(&mut *store, &module.module).await
            }
        };
        let fuel_used = limits.fuel - store.get_fuel().unwrap_or(0);
        let instance = instance.map_err(|e| {
            let refusal = store.data_mut().take_refusal();
            guest_error(e, budget, refusal)
        })?;
        drop(store);
        Ok(Entry {
            group,
            instance,
            module,
            fuel_used,
        })
    }

    /// Make `name`'s exports importable under module name `as_name`.
    ///
    /// # Errors
    /// Unknown instance, or a bad name.
    pub fn register(&mut self, name: &str, as_name: &str) -> Result<(), RemoteError> {
        check_name(as_name)?;
        self.get(name)?;
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
            let registered = self
                .registry
                .iter()
                .filter(|(_, target)| *target == name)
                .map(|(as_name, _)| as_name.clone())
                .collect();
            list.push(entry.describe(name, registered).await);
        }
        list
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
