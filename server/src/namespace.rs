//! A connection's namespace, as in RPyC's classic mode: named instances that
//! live until dropped or until the client disconnects, and the module names
//! under which some of them are registered for later imports.

use crate::cache::{CachedModule, Code};
use crate::call_context::CallContext;
use crate::instance::{Entry, Live};
use crate::instantiate;
use crate::memory_budget::MemoryBudget;
use crate::runtime::Runtime;
use crate::store::StoreGroup;
use sandcall_protocol::{ErrorKind, InstanceInfo, RemoteError, hint};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

mod linking;

/// One connection's instances.
pub struct Namespace {
    runtime: Arc<Runtime>,
    /// The memory budget all of this connection's instances share.
    memory: Arc<MemoryBudget>,
    /// Cancelled when the client leaves: its compiles are dropped.
    departed: CancellationToken,
    instances: BTreeMap<String, Entry>,
    /// Module name → instance name.
    registry: BTreeMap<String, String>,
    /// Store → store it imports from through proxies ([`crate::cross_store`]):
    /// kept acyclic, so that dropping instances always frees their stores;
    /// an edge goes when its importing store holds no instance any more.
    links: Vec<(StoreGroup, StoreGroup)>,
    /// Where this connection's guest output goes, and its cancellations.
    context: CallContext,
    /// A tenant's ceiling on the instances held, below the server's.
    instances_cap: Option<u32>,
}

impl Namespace {
    /// An empty namespace whose instances run on `runtime`.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Namespace {
            memory: runtime.connection_memory(),
            context: CallContext::new(runtime.limits().output_bytes),
            departed: CancellationToken::new(),
            runtime,
            instances: BTreeMap::new(),
            registry: BTreeMap::new(),
            links: Vec::new(),
            instances_cap: None,
        }
    }

    /// Lower this namespace's caps to a tenant's ceilings (before any
    /// instance exists): bytes of memories and tables per instance, named
    /// `whose` in errors, and instances held.
    pub fn lower(&mut self, memory_per_instance: Option<u64>, instances: Option<u32>, whose: &str) {
        if memory_per_instance.is_some() {
            let cap = memory_per_instance.map(|b| (b, whose.to_string()));
            self.memory = self.runtime.connection_memory_capped(cap);
        }
        self.instances_cap = instances;
    }

    /// Drop this connection's compiles once `departed` is cancelled (the
    /// client left).
    pub fn watch_departure(&mut self, departed: CancellationToken) {
        self.departed = departed;
    }

    /// The compiled code for `bytes`, from the cache or compiled now; a
    /// compile is dropped if the client leaves first (see
    /// [`crate::cache::ModuleCache::module`]).
    ///
    /// # Errors
    /// As [`crate::cache::ModuleCache::module`]; [`ErrorKind::Internal`]
    /// when the client left (nobody reads that answer).
    pub async fn compile(&self, bytes: Vec<u8>) -> Result<Arc<CachedModule>, RemoteError> {
        tokio::select! {
            compiled = self.runtime.cache().module(bytes) => compiled,
            () = self.departed.cancelled() => Err(RemoteError::new(
                ErrorKind::Internal,
                "the client left before its upload was compiled",
            )),
        }
    }

    /// [`Namespace::compile`], and whether the code came from the cache.
    ///
    /// # Errors
    /// As [`Namespace::compile`].
    pub async fn fetch(&self, bytes: Vec<u8>) -> Result<(Arc<CachedModule>, bool), RemoteError> {
        tokio::select! {
            fetched = self.runtime.cache().fetch(bytes) => fetched,
            () = self.departed.cancelled() => Err(RemoteError::new(
                ErrorKind::Internal,
                "the client left before its upload was compiled",
            )),
        }
    }

    /// The guest output and cancellation of this connection's requests.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// The runtime this namespace's instances run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// The instance called `name`, for a request that may change it (it is
    /// marked [`Entry::touched`]).
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`].
    pub fn get(&mut self, name: &str) -> Result<&mut Entry, RemoteError> {
        self.find(name)?;
        let entry = self
            .instances
            .get_mut(name)
            .ok_or_else(|| RemoteError::new(ErrorKind::Internal, "an instance vanished"))?;
        // Whatever the request, its state may now differ from a fresh one.
        entry.touched = true;
        Ok(entry)
    }

    /// The instance called `name`, left untouched.
    ///
    /// # Errors
    /// [`ErrorKind::NotFound`].
    fn find(&self, name: &str) -> Result<&Entry, RemoteError> {
        self.instances.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.instances.keys().map(String::as_str).collect();
            RemoteError::new(
                ErrorKind::NotFound,
                format!(
                    "no instance named `{}`{}",
                    sandcall_protocol::value::preview(&name, 200),
                    hint::unknown(name, "instances in this namespace", &names)
                ),
            )
        })
    }

    /// Compile (or find in the cache) and instantiate `bytes` under `name`.
    ///
    /// # Errors
    /// Name taken, too many instances, an invalid module, an import nobody
    /// grants, and any failure of the start function.
    pub async fn execute(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        replace: bool,
    ) -> Result<InstanceInfo, RemoteError> {
        let limits = self.runtime.limits();
        let exists = self.instances.contains_key(name);
        if exists && !replace {
            return Err(RemoteError::new(
                ErrorKind::AlreadyExists,
                format!(
                    "an instance named `{name}` already exists; replace it with \
                     `execute {name} FILE --replace` (the library: \
                     `Connection::execute_with(\"{name}\", module, true)`), or `drop {name}` first"
                ),
            ));
        }
        let most = self
            .instances_cap
            .map_or(limits.instances, |c| c.min(limits.instances));
        if !exists && self.instances.len() >= most as usize {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "this connection already holds {} instances, the limit",
                    self.instances.len()
                ),
            ));
        }
        let started = std::time::Instant::now();
        let (module, cache_hit) = self.fetch(bytes).await?;
        let compile_ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let entry = self.instantiate(module).await?;
        if exists {
            self.remove(name);
        }
        let info = InstanceInfo {
            cache_hit,
            compile_ns,
            ..entry.describe(name, Vec::new()).await
        };
        self.instances.insert(name.to_string(), entry);
        self.prune_links();
        Ok(info)
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
        let fresh = instantiate::alone(&self.runtime, &self.memory, module, &self.context).await?;
        tracing::debug!(instance = name, "reset");
        let registered = self.registrations(name);
        let info = fresh.describe(name, registered).await;
        self.instances.insert(name.to_string(), fresh);
        self.prune_links();
        Ok(info)
    }

    /// Make `name`'s exports importable under module name `as_name`.
    ///
    /// # Errors
    /// Unknown instance, too many registrations, or a component (only core
    /// instances are imported from).
    pub fn register(&mut self, name: &str, as_name: &str) -> Result<(), RemoteError> {
        // Registering changes nothing in it (not `get`: it may still move).
        if let Live::Component(_) = self.find(name)?.live {
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
        self.prune_links();
        Ok(())
    }

    fn remove(&mut self, name: &str) {
        self.instances.remove(name);
        self.registry.retain(|_, target| target != name);
    }

    /// Forget what a store with no instance left imported through proxies:
    /// the store (and its proxies) is freed once nothing imports from it.
    fn prune_links(&mut self) {
        let instances = &self.instances;
        self.links
            .retain(|(from, _)| instances.values().any(|e| e.group.same(from)));
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
