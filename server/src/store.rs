//! A store group: one wasmtime [`Store`] with its limits in its data, and
//! the budget that guest code runs under in it.
//!
//! Each uploaded instance gets a fresh store, except one that imports a
//! registered instance: it must live in that instance's store, because wasm
//! exports (a memory, a table) are shared live objects and wasmtime objects
//! never cross stores. A group is freed when its last instance is dropped.

pub use crate::budget::{Budget, Ceilings};
use crate::call_context::CallContext;
use crate::cpu_budget::CpuMeter;
use crate::held_refs::HeldRefs;
use crate::limiter::{Caps, Limiter};
use crate::memory_budget::MemoryBudget;
use crate::wasi::WasiGrant;
use sandcall_protocol::{ErrorKind, RemoteError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Mutex, MutexGuard};
use tokio_util::sync::CancellationToken;
use wasmtime::{AsContext, Engine, Store, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{WasiCtxView, WasiView};

/// Why the store stopped its guest at an epoch tick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The call ran past its deadline.
    Deadline,
    /// The server is shutting down.
    Shutdown,
    /// The client cancelled the request.
    Cancelled,
    /// The call used up its CPU-time budget.
    CpuTime,
}

/// What every store of a runtime is made with; built once per runtime.
#[derive(Clone, Debug)]
pub struct StoreSettings {
    /// What the store's limiter caps: its bytes of memories and tables,
    /// table elements, instances, memories and tables per instance.
    pub caps: Caps,
    /// The server's memory budget, shared by every store of the runtime.
    pub server_memory: Arc<MemoryBudget>,
    /// What WASI grants the store's guests.
    pub grant: WasiGrant,
    /// Cancelled when the server shuts down: running guests stop.
    pub stopping: CancellationToken,
    /// What calls may ask for, for the errors of calls that used it up.
    pub ceilings: Ceilings,
}

/// What every store carries: its resource limiter, its deadline and, once a
/// guest uses WASI, its WASI context.
pub struct StoreData {
    limiter: Limiter,
    /// What WASI grants here, and the context built from it on first use.
    grant: WasiGrant,
    wasi: Option<WasiP1Ctx>,
    stopping: CancellationToken,
    /// The connection's guest output and cancellation ([`CallContext`]).
    context: CallContext,
    /// Cancelled when the client cancels the request under way.
    cancel: CancellationToken,
    /// When the call under way must stop.
    deadline: Option<Instant>,
    /// The CPU time of the guest code under way, and its budget.
    cpu: Arc<CpuMeter>,
    /// Why the guest under way was stopped, if it was.
    stopped: Option<Stop>,
    /// Instances ever created in this store. Wasmtime frees none of them
    /// before the store itself, so this is what the instance cap must count.
    created: usize,
    ceilings: Ceilings,
    /// GC objects and exceptions handed to the client ([`crate::held_refs`]).
    pub(crate) held: HeldRefs,
}

impl StoreData {
    /// The store's WASI context, built from its grant on first use.
    pub fn wasi(&mut self) -> &mut WasiP1Ctx {
        let (grant, context) = (&self.grant, &self.context);
        self.wasi.get_or_insert_with(|| grant.build(context))
    }

    /// Serve the connection of `context`: its guests' output goes there,
    /// and its cancellations stop them. Set before any guest code runs.
    pub fn join(&mut self, context: CallContext) {
        self.context = context;
    }

    /// The connection's guest output and cancellation.
    pub fn context(&self) -> &CallContext {
        &self.context
    }

    /// Count one more instance in this store.
    ///
    /// # Errors
    /// [`ErrorKind::ResourceLimit`] when the store already holds as many
    /// instances as one store may (the connection's instance limit).
    pub fn count_instance(&mut self) -> Result<(), RemoteError> {
        if self.created >= self.limiter.instances() {
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
        self.limiter.memory_total() as u64
    }

    /// Whether a limit was refused since the last [`StoreData::take_refusal`].
    pub fn has_refusal(&self) -> bool {
        self.limiter.has_refusal()
    }

    /// Take the message of the last limit that was refused, if any.
    pub fn take_refusal(&mut self) -> Option<String> {
        self.limiter.take_refusal()
    }

    /// What calls in this store may ask for.
    pub fn ceilings(&self) -> &Ceilings {
        &self.ceilings
    }

    /// The CPU meter of this store's guest code, to charge the polls of a
    /// call with ([`CpuMeter::charge`]).
    pub fn cpu(&self) -> Arc<CpuMeter> {
        self.cpu.clone()
    }

    /// CPU time the guest code since [`arm`] used, in ns (0 when it has no
    /// CPU-time budget).
    pub fn cpu_used_ns(&self) -> u64 {
        self.cpu.used_ns()
    }

    /// Take the reason the guest was stopped at an epoch tick, if it was.
    pub fn take_stop(&mut self) -> Option<Stop> {
        self.stopped.take()
    }

    /// When the guest code about to run must stop, also while it waits in a
    /// host call ([`crate::cutoff`]). Read after [`arm`].
    pub fn cutoff(&self) -> crate::cutoff::Cutoff {
        crate::cutoff::Cutoff {
            deadline: self.deadline,
            stopping: self.stopping.clone(),
            cancel: self.cancel.clone(),
        }
    }

    /// Note that the guest under way was cut off for `stop` while it waited
    /// in a host call, and the error wasmtime would have given for a stop at
    /// an epoch tick.
    pub fn cut_off(&mut self, stop: Stop) -> wasmtime::Error {
        self.stopped = Some(stop);
        wasmtime::Error::from(wasmtime::Trap::Interrupt)
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi().ctx()
    }
}

/// Set the fuel or CPU time, and the deadline, of the guest code about to
/// run (a call, or an instantiation's start function); returns the fuel
/// given (`None`: the engine does not meter fuel).
///
/// # Errors
/// [`ErrorKind::Internal`] if fuel is asked of an engine that has it off.
pub fn arm(store: &mut Store<StoreData>, budget: Budget) -> Result<Option<u64>, RemoteError> {
    if let Some(fuel) = budget.fuel {
        store
            .set_fuel(fuel)
            .map_err(|e| RemoteError::new(ErrorKind::Internal, format!("{e:#}")))?;
    }
    let data = store.data_mut();
    data.deadline = budget
        .deadline_ms
        .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
    data.stopped = None;
    data.cancel = data.context.token();
    data.cpu.arm(budget.cpu_ms);
    store.set_epoch_deadline(1);
    Ok(budget.fuel)
}

/// What the guest code under way in one store has left, passed on to the
/// code it calls in another store ([`crate::cross_store`]): its deadline,
/// its cancellation and its CPU meter, which counts the callee's time too
/// (the callee runs within the caller's poll). Fuel is passed on apart.
pub struct Inherited {
    deadline: Option<Instant>,
    cancel: CancellationToken,
    cpu: Arc<CpuMeter>,
}

impl StoreData {
    /// What the guest code under way has left, for a call it makes into
    /// another store.
    pub fn inheritance(&self) -> Inherited {
        Inherited {
            deadline: self.deadline,
            cancel: self.cancel.clone(),
            cpu: self.cpu.clone(),
        }
    }
}

/// Arm `store` for a call made by another store's guest code: on what that
/// code has left (`from`, and its remaining `fuel` where fuel is metered),
/// not on a budget of its own. Returns the store's own CPU meter, for
/// [`disinherit`] to put back.
///
/// # Errors
/// [`ErrorKind::Internal`] if fuel is asked of an engine that has it off.
pub fn arm_inherited(
    store: &mut Store<StoreData>,
    from: Inherited,
    fuel: Option<u64>,
) -> Result<Arc<CpuMeter>, RemoteError> {
    if let Some(fuel) = fuel {
        store
            .set_fuel(fuel)
            .map_err(|e| RemoteError::new(ErrorKind::Internal, format!("{e:#}")))?;
    }
    let data = store.data_mut();
    data.deadline = from.deadline;
    data.stopped = None;
    data.cancel = from.cancel;
    let own = std::mem::replace(&mut data.cpu, from.cpu);
    store.set_epoch_deadline(1);
    Ok(own)
}

/// Give `store` back its own CPU meter after a call [`arm_inherited`] armed.
pub fn disinherit(store: &mut Store<StoreData>, own: Arc<CpuMeter>) {
    store.data_mut().cpu = own;
}

/// The fuel spent since [`arm`] gave `given` (0 when not metered).
pub fn spent(store: &impl AsContext, given: Option<u64>) -> u64 {
    match given {
        Some(fuel) => fuel.saturating_sub(store.as_context().get_fuel().unwrap_or(0)),
        None => 0,
    }
}

/// A shared handle on a store. Calls lock it; one connection's requests run
/// one at a time, so the lock is never contended in practice. It is an async
/// lock because guest calls are awaited while holding it.
#[derive(Clone)]
pub struct StoreGroup(Arc<Mutex<Store<StoreData>>>);

impl StoreGroup {
    /// A fresh store of `engine` made with `settings`, its memory counted
    /// against `connection_memory` too, stopping its guest at the first epoch
    /// tick past the deadline or after shutdown.
    pub fn new(
        engine: &Engine,
        settings: &StoreSettings,
        connection_memory: &Arc<MemoryBudget>,
    ) -> StoreGroup {
        let data = StoreData {
            limiter: Limiter::new(
                settings.caps.clone(),
                connection_memory.clone(),
                settings.server_memory.clone(),
            ),
            grant: settings.grant.clone(),
            wasi: None,
            stopping: settings.stopping.clone(),
            context: CallContext::default(),
            cancel: CancellationToken::new(),
            deadline: None,
            cpu: Arc::new(CpuMeter::default()),
            stopped: None,
            held: HeldRefs::default(),
            created: 0,
            ceilings: settings.ceilings,
        };
        let mut store = Store::new(engine, data);
        store.limiter(|data| &mut data.limiter);
        // Every epoch tick: stop the guest if its call is past its deadline
        // or its CPU-time budget, or the server is stopping (noting which),
        // else yield to tokio.
        // `yield_now` lets the runtime poll its sockets before the guest
        // resumes, so other clients are answered between slices even on a
        // single worker thread.
        store.epoch_deadline_callback(|mut ctx| {
            let data = ctx.data_mut();
            data.stopped = if data.deadline.is_some_and(|d| Instant::now() >= d) {
                Some(Stop::Deadline)
            } else if data.cpu.exhausted() {
                Some(Stop::CpuTime)
            } else if data.stopping.is_cancelled() {
                Some(Stop::Shutdown)
            } else if data.cancel.is_cancelled() {
                Some(Stop::Cancelled)
            } else {
                None
            };
            Ok(match data.stopped {
                Some(_) => UpdateDeadline::Interrupt,
                None => UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now())),
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
