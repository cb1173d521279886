//! The linkers every instantiation starts from: WASI preview 1 for core
//! modules, WASI 0.2 for components. Built once per engine; what WASI grants
//! is decided by each store's context ([`crate::wasi`]), not here.

use crate::store::StoreData;
use wasmtime::Engine;

/// Both linkers of one engine.
pub struct Linkers {
    pub core: wasmtime::Linker<StoreData>,
    pub component: wasmtime::component::Linker<StoreData>,
}

impl Linkers {
    /// Both linkers for `engine`.
    ///
    /// # Errors
    /// When wasmtime-wasi cannot define its functions (a name clash: a bug).
    pub fn new(engine: &Engine) -> wasmtime::Result<Linkers> {
        let mut core = wasmtime::Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut core, StoreData::wasi)?;
        let mut component = wasmtime::component::Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut component)?;
        Ok(Linkers { core, component })
    }
}
