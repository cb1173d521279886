//! An instance's state as a client reads and writes it: the globals and
//! linear memories of a core instance (a component exports neither).

use crate::core_values::{from_val, to_val};
use crate::instance::{Entry, Live, core_not_found};
use crate::store::StoreData;
use sandcall_protocol::{ErrorKind, RemoteError, Value};
use wasmtime::{Memory, Mutability, RootScope, Store};

impl Entry {
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
            .ok_or_else(|| core_not_found(instance, &mut store, name, "global", global))?;
        let mut scope = RootScope::new(&mut *store);
        let val = g.get(&mut scope);
        from_val(&mut scope, &val)
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
            .ok_or_else(|| core_not_found(instance, &mut store, name, "global", global))?;
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
            .ok_or_else(|| core_not_found(instance, store, name, "memory", m)),
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
