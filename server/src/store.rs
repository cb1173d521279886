//! A store group: one wasmtime [`Store`] with its limits in its data.
//!
//! Each uploaded instance gets a fresh store, except one that imports a
//! registered instance: it must live in that instance's store, because wasm
//! exports (a memory, a table) are shared live objects and wasmtime objects
//! never cross stores. A group is freed when its last instance is dropped.

use crate::config::LimitConfig;
use crate::errors::Budget;
use crate::runtime::Runtime;
use crate::wasi::WasiGrant;
use sandcall_protocol::{ErrorKind, RemoteError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use wasmtime::{AsContext, ResourceLimiter, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;

/// What every store carries: its resource limiter, its deadline and, once a
/// guest uses WASI, its WASI context.
pub struct StoreData {
    limiter: Limiter,
    /// What WASI grants here, and the context built from it on first use.
    grant: WasiGrant,
    wasi: Option<WasiP1Ctx>,
    /// Cancelled when the server shuts down: running guests stop.
    stopping: CancellationToken,
    /// When the call under way must stop.
    deadline: Option<Instant>,
    /// Instances ever created in this store. Wasmtime frees none of them
    /// before the store itself, so this is what the instance cap must count.
    created: usize,
}

impl StoreData {
    /// Give the next call (or instantiation) `ms` milliseconds of wall
    /// clock, or no deadline.
    pub fn start_deadline(&mut self, ms: Option<u64>) {
        self.deadline = ms.and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
    }

    /// The store's WASI context, built from its grant on first use.
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        let grant = &self.grant;
        self.wasi.get_or_insert_with(|| grant.build())
    }

    /// Count one more instance in this store.
    ///
    /// # Errors
    /// [`ErrorKind::ResourceLimit`] when the store already holds as many
    /// instances as one store may (the connection's instance limit).
    pub fn count_instance(&mut self) -> Result<(), RemoteError> {
        if self.created >= self.limiter.instances {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "this family of linked instances has created {} instances, the most one \
                     store holds; drop the registered instance it imports from to start afresh",
                    self.created
                ),
            ));
        }
        self.created += 1;
        Ok(())
    }

    /// Bytes of linear memory the store's instances hold (all memories,
    /// exported or not), as the limiter saw them grow.
    pub fn memory_bytes(&self) -> u64 {
        self.limiter.memory_total as u64
    }

    /// Take the message of the last limit that was refused, if any.
    pub fn take_refusal(&mut self) -> Option<String> {
        self.limiter.refused.take()
    }
}

/// Set the fuel and deadline of the guest code about to run (a call, or an
/// instantiation's start function); returns the fuel given (`None`: the
/// engine does not meter fuel).
///
/// # Errors
/// [`ErrorKind::Internal`] if fuel is asked of an engine that has it off.
pub fn arm(store: &mut Store<StoreData>, budget: Budget) -> Result<Option<u64>, RemoteError> {
    if let Some(fuel) = budget.fuel {
        store
            .set_fuel(fuel)
            .map_err(|e| RemoteError::new(ErrorKind::Internal, format!("{e:#}")))?;
    }
    store.data_mut().start_deadline(budget.deadline_ms);
    store.set_epoch_deadline(1);
    Ok(budget.fuel)
}

/// The fuel spent since [`arm`] gave `given` (0 when not metered).
pub fn spent(store: &impl AsContext, given: Option<u64>) -> u64 {
    match given {
        Some(fuel) => fuel.saturating_sub(store.as_context().get_fuel().unwrap_or(0)),
        None => 0,
    }
}

/// Caps memory and table growth and remembers what it refused, so that the
/// server can tell "limit reached" apart from other instantiation failures.
struct Limiter {
    memory_bytes: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    refused: Option<String>,
    /// Sum of every memory's size, from the growths this limiter allowed.
    memory_total: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.memory_bytes {
            Some(max) if desired > max => {
                self.refused = Some(format!(
                    "memory may not grow from {current} to {desired} bytes: the limit is {max} bytes"
                ));
                Ok(false)
            }
            _ => {
                self.memory_total = self
                    .memory_total
                    .saturating_add(desired.saturating_sub(current));
                Ok(true)
            }
        }
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.table_elements {
            Some(max) if desired > max => {
                self.refused = Some(format!(
                    "table may not grow from {current} to {desired} elements: the limit is {max}"
                ));
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances.saturating_mul(4)
    }

    fn tables(&self) -> usize {
        self.instances.saturating_mul(4)
    }
}

/// A shared handle on a store. Calls lock it; one connection's requests run
/// one at a time, so the lock is never contended in practice. It is an async
/// lock because guest calls are awaited while holding it.
#[derive(Clone)]
pub struct StoreGroup(Arc<Mutex<Store<StoreData>>>);

impl StoreGroup {
    /// A fresh store with the runtime's limits, trapping at the epoch deadline.
    pub fn new(runtime: &Runtime) -> StoreGroup {
        let limits: &LimitConfig = runtime.limits();
        // Unrestricted stores cap nothing beyond wasm's own limits.
        let capped = |n: u64| {
            runtime
                .sandboxed_mode()
                .then(|| usize::try_from(n).ok())
                .flatten()
        };
        let data = StoreData {
            grant: runtime.grant().clone(),
            wasi: None,
            stopping: runtime.stopping().clone(),
            limiter: Limiter {
                memory_bytes: capped(limits.memory_bytes),
                table_elements: capped(limits.table_elements),
                instances: limits.instances as usize,
                refused: None,
                memory_total: 0,
            },
            created: 0,
            deadline: None,
        };
        let mut store = Store::new(runtime.engine(), data);
        store.limiter(|data| &mut data.limiter);
        // Every epoch tick: stop the guest if its call is past its deadline
        // or the server is stopping, else yield to tokio. `yield_now` lets
        // the runtime poll its sockets before the guest resumes, so other
        // clients are answered between slices even on a single worker thread.
        store.epoch_deadline_callback(|ctx| {
            let data = ctx.data();
            let late = data.deadline.is_some_and(|d| Instant::now() >= d);
            Ok(if late || data.stopping.is_cancelled() {
                UpdateDeadline::Interrupt
            } else {
                UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
            })
        });
        StoreGroup(Arc::new(Mutex::new(store)))
    }

    /// Lock the store for a call.
    pub async fn lock(&self) -> MutexGuard<'_, Store<StoreData>> {
        self.0.lock().await
    }

    /// Whether two handles name the same store.
    pub fn same(&self, other: &StoreGroup) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
