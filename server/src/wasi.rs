//! What WASI grants the guests of each mode.
//!
//! Sandboxed guests get WASI with nothing behind it: no preopened directory,
//! no environment, no arguments, an empty stdin and discarded stdout and
//! stderr (wasmtime-wasi's defaults; the clocks and random generators are
//! the only live parts). Unrestricted guests get the host's environment and
//! stdio and one preopened directory: RPyC classic mode's "everything".
//!
//! A store builds its WASI context the first time a guest calls into WASI,
//! so guests that never import it pay nothing.

use std::path::PathBuf;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

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

/// Whether a core import is one of WASI's (granted, though possibly empty).
pub fn is_wasi_module(module: &str) -> bool {
    module == PREVIEW1
}
