//! Placing a new instance: in a fresh store, or with the registered
//! instances it imports from (in their store, or across stores through
//! [`cross_store`]), keeping the store links acyclic so that dropping
//! instances always frees their stores.

use super::Namespace;
use crate::cache::{CachedModule, Code};
use crate::cross_store;
use crate::instance::Entry;
use crate::instantiate;
use crate::store::StoreGroup;
use crate::wasi::{WasiGrant, is_wasi_module};
use sandcall_protocol::{ErrorKind, RemoteError};
use std::sync::Arc;

impl Namespace {
    /// Instantiate in a fresh store, or in the store of the registered
    /// instances it imports from; from several stores, as
    /// [`cross_store`] places it.
    pub(super) async fn instantiate(
        &mut self,
        module: Arc<CachedModule>,
    ) -> Result<Entry, RemoteError> {
        if let Code::Core { module: core, .. } = &module.clone().code {
            self.gather(core).await?;
        }
        let providers = match &module.code {
            Code::Core { module: core, .. } => self.providers(core)?,
            Code::Component(_) => Vec::new(),
        };
        let Some((_, first)) = providers.first() else {
            return instantiate::alone(&self.runtime, &self.memory, module, &self.context).await;
        };
        if providers.iter().all(|(_, e)| e.group.same(&first.group)) {
            return instantiate::linked(&self.runtime, module, &providers).await;
        }
        let Code::Core { module: core, .. } = &module.code else {
            return Err(RemoteError::new(
                ErrorKind::Internal,
                "a component with providers",
            ));
        };
        let placement = cross_store::place(core, &providers)?;
        let home = providers[placement.home].1.group.clone();
        if let Some(other) = placement.others.iter().find(|o| self.reaches(o, &home)) {
            let name = providers
                .iter()
                .find(|(_, e)| e.group.same(other))
                .map_or("", |(m, _)| m);
            return Err(RemoteError::new(
                ErrorKind::Unsupported,
                format!(
                    "importing from `{name}` here would make two stores import from each \
                     other (a cycle of instances that no drop could free); import from \
                     `{}` alone, or re-execute `{name}` after this module",
                    providers[placement.home].0
                ),
            ));
        }
        let entry =
            cross_store::instantiate(&self.runtime, module.clone(), &providers, &placement).await?;
        for other in placement.others {
            self.links.push((home.clone(), other));
        }
        Ok(entry)
    }

    /// Bring the providers of `core`'s state imports into one store where
    /// they are in several: each that [`cross_store::movable`] allows is
    /// instantiated again in the store of the first that is not (or of the
    /// first), under its own name. Those that cannot move stay, and
    /// [`cross_store::place`] names them.
    async fn gather(&mut self, core: &wasmtime::Module) -> Result<(), RemoteError> {
        let names: Vec<String> = cross_store::state_providers(core)
            .into_iter()
            .filter_map(|m| self.registry.get(m).cloned())
            .filter(|name| self.instances.contains_key(name))
            .collect();
        let movable = |name: &String| {
            let entry = &self.instances[name];
            let alone = self
                .instances
                .values()
                .filter(|e| e.group.same(&entry.group))
                .count()
                == 1
                && !self
                    .links
                    .iter()
                    .any(|(a, b)| a.same(&entry.group) || b.same(&entry.group));
            cross_store::movable(entry, alone)
        };
        let movable: Vec<bool> = names.iter().map(movable).collect();
        let home = movable.iter().position(|m| !m).unwrap_or(0);
        let Some(home) = names.get(home) else {
            return Ok(());
        };
        let home = self.instances[home].group.clone();
        for (name, movable) in names.iter().zip(movable) {
            let entry = &self.instances[name];
            if entry.group.same(&home) || !movable {
                continue;
            }
            let moved = cross_store::move_into(&self.runtime, entry, &home).await?;
            tracing::debug!(instance = name, "moved into the store of what imports it");
            self.instances.insert(name.clone(), moved);
        }
        Ok(())
    }

    /// Whether store `from` imports from store `to`, directly or not,
    /// through proxies.
    fn reaches(&self, from: &StoreGroup, to: &StoreGroup) -> bool {
        let mut seen: Vec<&StoreGroup> = vec![from];
        let mut next = 0;
        while let Some(store) = seen.get(next).copied() {
            next += 1;
            if store.same(to) {
                return true;
            }
            for (_, target) in self.links.iter().filter(|(s, _)| s.same(store)) {
                if !seen.iter().any(|s| s.same(target)) {
                    seen.push(target);
                }
            }
        }
        false
    }

    /// The registered instances `core` imports from, by the module name it
    /// imports (WASI is granted apart).
    ///
    /// # Errors
    /// [`ErrorKind::LinkError`] for an import of a module name nobody
    /// registered in this session.
    pub(super) fn providers(
        &self,
        core: &wasmtime::Module,
    ) -> Result<Vec<(&str, &Entry)>, RemoteError> {
        let mut providers: Vec<(&str, &Entry)> = Vec::new();
        for import in core.imports() {
            if is_wasi_module(import.module()) {
                continue;
            }
            let Some((as_name, provider)) = self.registry.get_key_value(import.module()) else {
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
            if !providers.iter().any(|(m, _)| m == as_name) {
                providers.push((as_name, &self.instances[provider]));
            }
        }
        Ok(providers)
    }
}
