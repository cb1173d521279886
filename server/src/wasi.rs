//! WASI for guests that import it, and what each mode grants through it.
//!
//! Sandboxed guests get WASI with nothing behind it: no preopened directory,
//! no environment, no arguments, an empty stdin and discarded stdout and
//! stderr (wasmtime-wasi's defaults; the clocks and random generators are
//! the only live parts). Unrestricted guests get the host's environment and
//! stdio and one preopened directory: RPyC classic mode's "everything".
//!
//! A store builds its WASI context the first time a guest calls into WASI,
//! so guests that never import it pay nothing.

use crate::store::StoreData;
use std::path::PathBuf;
use wasmtime::Engine;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder, WasiCtxView, WasiView};

/// The core-module namespace of WASI preview 1 imports.
pub const PREVIEW1: &str = "wasi_snapshot_preview1";

/// What WASI gives the guests of one mode.
#[derive(Clone, Debug)]
pub enum WasiGrant {
    /// Nothing: no files, environment, arguments or inherited stdio.
    Nothing,
    /// The host's environment and stdio, and `dir` preopened as `.`.
    Host { dir: PathBuf },
}

impl WasiGrant {
    /// A fresh WASI context granting what this grant names.
    pub fn build(&self) -> WasiP1Ctx {
        let mut builder = WasiCtxBuilder::new();
        if let WasiGrant::Host { dir } = self {
            builder.inherit_env().inherit_stdio();
            if let Err(e) = builder.preopened_dir(dir, ".", FsPerms::ReadWrite) {
                // Checked at start-up; the directory may have gone since.
                tracing::warn!(dir = %dir.display(), "cannot preopen for WASI: {e:#}");
            }
        }
        builder.build_p1()
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.wasi().ctx()
    }
}

/// The linkers every instantiation starts from: WASI preview 1 for core
/// modules, WASI 0.2 for components. Built once per engine.
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

/// Whether a core import is one of WASI's (granted, though possibly empty).
pub fn is_wasi_module(module: &str) -> bool {
    module == PREVIEW1
}
