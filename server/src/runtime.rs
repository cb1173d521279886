//! One wasmtime [`Engine`] per mode, with everything built once for it: the
//! epoch ticker that enforces deadlines, the WASI linkers, the cache of
//! compiled modules and the settings of its stores.
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
use sandcall_protocol::{Limits, Mode};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of call deadlines, and how
/// long a guest runs between two yields to the scheduler.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The WebAssembly proposals enabled beyond wasm 1.0, in both modes, as
/// reported by `info`: exactly these, every other one is refused (GC,
/// exceptions, memory64, threads, relaxed SIMD, wide arithmetic, custom page
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
    "component-model",
];

/// The wasmtime version the server is built against (pinned in Cargo.toml).
pub const WASMTIME_VERSION: &str = "48.0.8";

/// An engine for one mode, with its epoch ticker, its WASI linkers, its
/// module cache and the settings of its stores.
pub struct Runtime {
    engine: Engine,
    cache: Arc<ModuleCache>,
    linkers: Arc<Linkers>,
    limits: LimitConfig,
    mode: Mode,
    stores: StoreSettings,
}

impl Runtime {
    /// Build the sandboxed engine: fuel metering, epoch interruption, a
    /// bounded wasm stack, and WASI that grants nothing.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration (e.g. a stack limit it cannot honour).
    pub fn sandboxed(limits: LimitConfig) -> wasmtime::Result<Arc<Runtime>> {
        Runtime::build(Mode::Sandboxed, limits, WasiGrant::Nothing)
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
        Runtime::build(Mode::Unrestricted, limits, WasiGrant::Host { dir })
    }

    fn build(mode: Mode, limits: LimitConfig, grant: WasiGrant) -> wasmtime::Result<Arc<Runtime>> {
        let mut config = Config::new();
        let wasm_stack = usize::try_from(limits.wasm_stack_bytes).unwrap_or(usize::MAX);
        config
            .consume_fuel(mode == Mode::Sandboxed)
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
            // add more (GC, exceptions, memory64, relaxed SIMD, …), whose
            // heaps and semantics the limits here were not built or tested
            // for; each is refused as an invalid module instead.
            .wasm_gc(false)
            .wasm_exceptions(false)
            .wasm_memory64(false)
            .wasm_relaxed_simd(false)
            .wasm_wide_arithmetic(false)
            .wasm_custom_page_sizes(false)
            .wasm_stack_switching(false);
        let engine = Engine::new(&config)?;
        spawn_ticker(&engine)?;
        let linkers = Arc::new(Linkers::new(&engine)?);
        let sandboxed = mode == Mode::Sandboxed;
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
            server_memory: MemoryBudget::new(
                "the server's memory",
                "server-memory-bytes",
                capped(limits.server_memory_bytes),
            ),
            grant,
            stopping: CancellationToken::new(),
            ceilings: Ceilings {
                fuel: sandboxed.then_some(limits.fuel),
                max_fuel: sandboxed.then_some(limits.max_fuel),
                max_deadline_ms: sandboxed.then_some(limits.max_deadline_ms),
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
        Ok(Arc::new(Runtime {
            cache: Arc::new(ModuleCache::new(
                engine.clone(),
                linkers.clone(),
                limits.cached_modules,
                whole(limits.cache_bytes),
                limits.compiles as usize,
                bounds,
            )),
            linkers,
            engine,
            limits,
            mode,
            stores,
        }))
    }

    /// Interrupt every guest running on this runtime, now and later: the
    /// server is shutting down, and unrestricted calls have no deadline to
    /// wait for.
    pub fn stop_guests(&self) {
        self.stores.stopping.cancel();
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
    /// default fuel and deadline, neither in unrestricted mode.
    pub fn start_budget(&self) -> Budget {
        let sandboxed = self.sandboxed_mode();
        Budget {
            fuel: sandboxed.then_some(self.limits.fuel),
            deadline_ms: sandboxed.then_some(self.limits.deadline_ms),
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

    /// Whether calls are metered with fuel and held to default deadlines.
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
        if !self.sandboxed_mode() {
            limits.default_fuel = None;
            limits.max_fuel = None;
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

/// The runtimes a server offers: sandboxed always, unrestricted only when
/// the server was started allowing it. They share nothing wasmtime made.
#[derive(Clone)]
pub struct Runtimes {
    pub sandboxed: Arc<Runtime>,
    pub unrestricted: Option<Arc<Runtime>>,
}

impl Runtimes {
    /// The runtime serving `mode`, if this server offers it.
    pub fn for_mode(&self, mode: Mode) -> Option<&Arc<Runtime>> {
        match mode {
            Mode::Sandboxed => Some(&self.sandboxed),
            Mode::Unrestricted => self.unrestricted.as_ref(),
        }
    }

    /// Interrupt the guests of both runtimes (shutdown).
    pub fn stop_guests(&self) {
        self.sandboxed.stop_guests();
        if let Some(unrestricted) = &self.unrestricted {
            unrestricted.stop_guests();
        }
    }

    /// What the module caches of both runtimes have done, summed.
    pub fn cache_stats(&self) -> CacheStats {
        let mut stats = self.sandboxed.cache.stats();
        if let Some(unrestricted) = &self.unrestricted {
            let more = unrestricted.cache.stats();
            stats.hits += more.hits;
            stats.misses += more.misses;
            stats.cached += more.cached;
            stats.resident_bytes += more.resident_bytes;
            stats.abandoned += more.abandoned;
        }
        stats
    }
}
