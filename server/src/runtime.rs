//! One wasmtime [`Engine`] with everything built once for it: the epoch
//! ticker that enforces deadlines and the cache of compiled modules.
//!
//! Every wasmtime object made from this engine stays with this `Runtime`;
//! nothing crosses to another engine.

use crate::cache::ModuleCache;
use crate::config::LimitConfig;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Config, Engine};

/// How often the epoch advances: the granularity of call deadlines, and how
/// long a guest runs between two yields to the scheduler.
pub const EPOCH_TICK: Duration = Duration::from_millis(2);

/// The WebAssembly proposals enabled beyond wasm 1.0, as reported by `info`;
/// `component-model` says that `execute` takes components too.
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

/// An engine, its epoch ticker and its module cache.
pub struct Runtime {
    engine: Engine,
    cache: Arc<ModuleCache>,
    limits: LimitConfig,
}

impl Runtime {
    /// Build the sandboxed engine: fuel metering, epoch interruption and a
    /// bounded wasm stack.
    ///
    /// # Errors
    /// When wasmtime rejects the configuration (e.g. a stack limit it cannot honour).
    pub fn sandboxed(limits: LimitConfig) -> wasmtime::Result<Arc<Runtime>> {
        let mut config = Config::new();
        let wasm_stack = usize::try_from(limits.wasm_stack_bytes).unwrap_or(usize::MAX);
        config
            .consume_fuel(true)
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
            .wasm_multi_memory(true);
        let engine = Engine::new(&config)?;
        spawn_ticker(&engine)?;
        Ok(Arc::new(Runtime {
            cache: Arc::new(ModuleCache::new(engine.clone(), limits.cached_modules)),
            engine,
            limits,
        }))
    }

    /// The engine every module and store of this runtime belongs to.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The compiled-module cache of this engine.
    pub fn cache(&self) -> &Arc<ModuleCache> {
        &self.cache
    }

    /// The limits in force.
    pub fn limits(&self) -> &LimitConfig {
        &self.limits
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
