//! One wasmtime [`Engine`] per mode and way of metering, with everything
//! built once for it: the epoch ticker that enforces deadlines and CPU-time
//! budgets, the WASI linkers, the cache of compiled modules and the
//! settings of its stores. Sandboxed mode has two engines: CPU-time budgets
//! (the default; code without fuel checks) and fuel (deterministic).
//!
//! Every wasmtime object made from this engine stays with this `Runtime`;
//! nothing crosses to another engine.

use crate::cache::{CacheStats, ModuleCache};
use crate::compile::CompileBounds;
use crate::config::LimitConfig;
use crate::limiter::Caps;
use crate::linker::Linkers;
use crate::memory_budget::MemoryBudget;
use crate::store::{Budget, Ceilings, StoreGroup, StoreSettings};
use crate::wasi::WasiGrant;
use sandcall_protocol::{Limits, Metering, Mode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of call deadlines, and how
/// long a guest runs between two yields to the scheduler.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The WebAssembly proposals enabled beyond wasm 1.0, in both modes, as
/// reported by `info`: exactly these, every other one is refused (memory64,
/// threads, relaxed SIMD, wide arithmetic, custom page
/// sizes, stack switching). `component-model` says that `execute` takes
/// components too.
pub const FEATURES: &[&str] = &[
    "mutable-global",
    "sign-extension",
    "saturating-float-to-int",
    "multi-value",
    "bulk-memory",
    "reference-types",
    "simd",
    "tail-call",
    "function-references",
    "extended-const",
    "multi-memory",
    "gc",
    "exceptions",
    "component-model",
];

/// The wasmtime version the server is built against (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// An engine for one mode and way of metering, with its epoch ticker, its
/// WASI linkers, its module cache and the settings of its stores.
pub struct Runtime {
    engine: Engine,
    cache: Arc<ModuleCache>,
    linkers: Arc<Linkers>,
    limits: LimitConfig,
    mode: Mode,
    /// How calls are bounded (`None`: unrestricted, not at all).
    metering: Option<Metering>,
    stores: StoreSettings,
}

impl Runtime {
    /// Build the two sandboxed engines, CPU-time budgets (the default) and
    /// fuel metering, sharing the server's memory budget: both have epoch
    /// interruption, a bounded wasm stack, and WASI that grants nothing.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration (e.g. a stack limit it cannot honour).
    ///
    /// The two share the server's memory budget, and their module caches
    /// share one budget of bytes and one set of compile permits, so that
    /// `--cache-bytes` and `--compiles` bound the server, not each engine.
    pub fn sandboxed(limits: LimitConfig) -> wasmtime::Result<(Arc<Runtime>, Arc<Runtime>)> {
        let sandboxed = |metering, shared| {
            let grant = WasiGrant::Nothing;
            Runtime::build(
                Mode::Sandboxed,
                Some(metering),
                limits.clone(),
                grant,
                shared,
            )
        };
        let cpu = sandboxed(Metering::Cpu, None)?;
        let fuel = sandboxed(Metering::Fuel, Some(&*cpu))?;
        Ok((cpu, fuel))
    }

    /// Build the unrestricted engine: no fuel metering (its code carries no
    /// fuel checks), no memory or table caps and no default deadline; WASI
    /// grants the host's environment, stdio and `dir`. Epoch interruption
    /// stays, so that a guest still yields to other clients and a deadline
    /// the client asks for still holds.
    ///
    /// # Errors
    /// As [`Runtime::sandboxed`].
    pub fn unrestricted(limits: LimitConfig, dir: PathBuf) -> wasmtime::Result<Arc<Runtime>> {
        let grant = WasiGrant::Host { dir };
        Runtime::build(Mode::Unrestricted, None, limits, grant, None)
    }

    /// An engine for `mode` metered by `metering`, its guests granted
    /// `grant`; it shares the server's memory budget and its module cache's
    /// bytes and compile permits with `shared`, if given (default: budgets
    /// of its own).
    fn build(
        mode: Mode,
        metering: Option<Metering>,
        limits: LimitConfig,
        grant: WasiGrant,
        shared: Option<&Runtime>,
    ) -> wasmtime::Result<Arc<Runtime>> {
        let server_memory = shared.map(|other| other.stores.server_memory.clone());
        let mut config = Config::new();
        let wasm_stack = usize::try_from(limits.wasm_stack_bytes).unwrap_or(usize::MAX);
        config
            .consume_fuel(metering == Some(Metering::Fuel))
            .epoch_interruption(true)
            .max_wasm_stack(wasm_stack)
            // Guests run on fibers (async calls); their stacks must hold the
            // wasm stack plus room for the host functions wasmtime runs there.
            .async_stack_size(wasm_stack.saturating_add(1 << 20))
            .wasm_multi_value(true)
            .wasm_bulk_memory(true)
            .wasm_reference_types(true)
            .wasm_simd(true)
            .wasm_tail_call(true)
            .wasm_function_references(true)
            .wasm_extended_const(true)
            .wasm_multi_memory(true)
            // Exactly the proposals `FEATURES` lists. Wasmtime's defaults
            // add more (memory64, relaxed SIMD, …), whose semantics the
            // limits here were not built or tested for; each is refused as
            // an invalid module instead. GC and exceptions (WebAssembly 3.0): the GC heap is a linear
            // memory of the store, created and grown through its limiter,
            // so the store's byte cap bounds it (the wast tests prove it).
            .wasm_gc(true)
            .wasm_exceptions(true)
            .wasm_memory64(false)
            .wasm_relaxed_simd(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .wasm_stack_switching(false);
        let engine = Engine::new(&config)?;
        spawn_ticker(&engine)?;
        let linkers = Arc::new(Linkers::new(&engine)?);
        let sandboxed = mode == Mode::Sandboxed;
        let fuel = metering == Some(Metering::Fuel);
        let cpu = metering == Some(Metering::Cpu);
        // Unrestricted stores cap nothing beyond wasm's own limits.
        let capped = |n: u64| sandboxed.then(|| usize::try_from(n).ok()).flatten();
        let whole = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        let stores = StoreSettings {
            caps: Caps {
                store_bytes: capped(limits.memory_bytes),
                table_elements: capped(limits.table_elements),
                instances: limits.instances as usize,
                memories: if sandboxed {
                    whole(limits.module_memories)
                } else {
                    10_000
                },
                tables: if sandboxed {
                    whole(limits.module_tables)
                } else {
                    10_000
                },
            },
            // Both sandboxed engines draw on one budget of server memory.
            server_memory: server_memory.unwrap_or_else(|| {
                MemoryBudget::new(
                    "the server's memory",
                    "server-memory-bytes",
                    capped(limits.server_memory_bytes),
                )
            }),
            grant,
            stopping: CancellationToken::new(),
            ceilings: Ceilings {
                fuel: fuel.then_some(limits.fuel),
                max_fuel: fuel.then_some(limits.max_fuel),
                max_deadline_ms: sandboxed.then_some(limits.max_deadline_ms),
                cpu_ms: cpu.then_some(limits.cpu_ms),
                max_cpu_ms: cpu.then_some(limits.max_cpu_ms),
            },
        };
        // Unrestricted uploads are trusted: only the compile semaphore and
        // the cache's bytes bound them.
        let bounds = sandboxed.then_some(CompileBounds {
            functions: Some(limits.module_functions),
            function_operators: limits.function_operators,
            module_operators: limits.module_operators,
            function_blocks: limits.function_blocks,
            module_blocks: limits.module_blocks,
            memories: Some(limits.module_memories),
            tables: Some(limits.module_tables),
            wat_bytes: limits.wat_bytes,
        });
        let cache = match shared {
            Some(other) => other.cache.sharing(engine.clone(), linkers.clone()),
            None => ModuleCache::new(
                engine.clone(),
                linkers.clone(),
                limits.cached_modules,
                whole(limits.cache_bytes),
                limits.compiles as usize,
                bounds,
            ),
        };
        Ok(Arc::new(Runtime {
            cache: Arc::new(cache),
            linkers,
            engine,
            limits,
            mode,
            metering,
            stores,
        }))
    }

    /// Interrupt every guest running on this runtime, now and later: the
    /// server is shutting down, and unrestricted calls have no deadline to
    /// wait for.
    pub fn stop_guests(&self) {
        self.stores.stopping.cancel();
    }

    /// Bytes of memories and tables this runtime's guests hold now.
    pub fn memory_held(&self) -> usize {
        self.stores.server_memory.held()
    }

    /// A fresh store of this engine, with this mode's limits and WASI
    /// grant, its memory counted against `connection_memory` too.
    pub fn new_store(&self, connection_memory: &Arc<MemoryBudget>) -> StoreGroup {
        StoreGroup::new(&self.engine, &self.stores, connection_memory)
    }

    /// A memory budget for one connection's instances (uncapped in
    /// unrestricted mode).
    pub fn connection_memory(&self) -> Arc<MemoryBudget> {
        self.connection_memory_capped(None)
    }

    /// As [`Runtime::connection_memory`], and each of the connection's
    /// stores may hold at most `store_cap`'s bytes (a tenant's ceiling,
    /// named for the error).
    pub fn connection_memory_capped(&self, store_cap: Option<(u64, String)>) -> Arc<MemoryBudget> {
        let limit = usize::try_from(self.limits.connection_memory_bytes).unwrap_or(usize::MAX);
        let store_cap = store_cap.map(|(b, who)| (usize::try_from(b).unwrap_or(usize::MAX), who));
        MemoryBudget::with_store_cap(
            "this connection's memory",
            "connection-memory-bytes",
            self.sandboxed_mode().then_some(limit),
            store_cap,
        )
    }

    /// What instantiation may spend (a start function runs guest code): the
    /// default fuel or CPU time and deadline, none in unrestricted mode.
    pub fn start_budget(&self) -> Budget {
        Budget {
            fuel: (self.metering == Some(Metering::Fuel)).then_some(self.limits.fuel),
            deadline_ms: self.sandboxed_mode().then_some(self.limits.deadline_ms),
            cpu_ms: (self.metering == Some(Metering::Cpu)).then_some(self.limits.cpu_ms),
        }
    }

    /// The compiled-module cache of this engine.
    pub fn cache(&self) -> &Arc<ModuleCache> {
        &self.cache
    }

    /// The WASI linkers of this engine.
    pub fn linkers(&self) -> &Linkers {
        &self.linkers
    }

    /// The limits configured (unrestricted mode ignores fuel, memory, table
    /// and deadline defaults; see [`Runtime::report`]).
    pub fn limits(&self) -> &LimitConfig {
        &self.limits
    }

    /// The mode this runtime serves.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// How calls are bounded: CPU time or fuel (`None`: unrestricted).
    pub fn metering(&self) -> Option<Metering> {
        self.metering
    }

    /// Whether calls are metered (CPU time or fuel) and held to default
    /// deadlines.
    pub fn sandboxed_mode(&self) -> bool {
        self.mode == Mode::Sandboxed
    }

    /// What WASI grants this runtime's guests.
    pub fn grant(&self) -> &WasiGrant {
        &self.stores.grant
    }

    /// The limits in force in this mode, as reported to clients.
    pub fn report(&self) -> Limits {
        let mut limits = self.limits.report();
        limits.metering = self.metering;
        if self.metering != Some(Metering::Fuel) {
            limits.default_fuel = None;
            limits.max_fuel = None;
        }
        if self.metering != Some(Metering::Cpu) {
            limits.default_cpu_ms = None;
            limits.max_cpu_ms = None;
        }
        if !self.sandboxed_mode() {
            limits.default_deadline_ms = None;
            limits.max_deadline_ms = None;
            limits.memory_bytes = None;
            limits.table_elements = None;
            limits.functions_per_module = None;
            limits.connection_memory_bytes = None;
            limits.server_memory_bytes = None;
            limits.memories_per_module = None;
            limits.tables_per_module = None;
            limits.operators_per_function = None;
            limits.operators_per_module = None;
            limits.blocks_per_function = None;
            limits.blocks_per_module = None;
            limits.wat_bytes = u64::MAX;
        }
        limits
    }
}

/// Advance the engine's epoch every [`EPOCH_TICK`] until the engine is gone.
fn spawn_ticker(engine: &Engine) -> std::io::Result<()> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("sandcall-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })?;
    Ok(())
}

/// The runtimes a server offers: sandboxed with CPU-time budgets and with
/// fuel always, unrestricted only when the server was started allowing it.
/// They share nothing wasmtime made.
#[derive(Clone)]
pub struct Runtimes {
    /// Sandboxed, with CPU-time budgets (the default).
    pub sandboxed: Arc<Runtime>,
    /// Sandboxed, metered by fuel (deterministic).
    pub fuel: Arc<Runtime>,
    pub unrestricted: Option<Arc<Runtime>>,
}

impl Runtimes {
    /// The runtime serving `mode` metered by `metering` (unrestricted mode
    /// meters nothing and ignores it), if this server offers it.
    pub fn for_mode(&self, mode: Mode, metering: Metering) -> Option<&Arc<Runtime>> {
        match (mode, metering) {
            (Mode::Sandboxed, Metering::Cpu) => Some(&self.sandboxed),
            (Mode::Sandboxed, Metering::Fuel) => Some(&self.fuel),
            (Mode::Unrestricted, _) => self.unrestricted.as_ref(),
        }
    }

    /// Interrupt the guests of every runtime (shutdown).
    pub fn stop_guests(&self) {
        self.sandboxed.stop_guests();
        self.fuel.stop_guests();
        if let Some(unrestricted) = &self.unrestricted {
            unrestricted.stop_guests();
        }
    }

    /// What the module caches of every runtime have done, summed.
    pub fn cache_stats(&self) -> CacheStats {
        let mut stats = self.sandboxed.cache.stats();
        for runtime in std::iter::once(&self.fuel).chain(&self.unrestricted) {
            let more = runtime.cache.stats();
            stats.hits += more.hits;
            stats.misses += more.misses;
            stats.cached += more.cached;
            if !runtime.cache.shares_bytes_with(&self.sandboxed.cache) {
                stats.resident_bytes += more.resident_bytes;
            }
            stats.abandoned += more.abandoned;
        }
        stats
    }
}
