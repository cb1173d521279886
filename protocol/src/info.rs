//! What the server reports about itself (`info`) and its instances (`namespace`).

use crate::limits::{Limits, Mode};
use crate::value::{FuncType, ValType};
use crate::wit::WitFunc;
use serde::{Deserialize, Serialize};

/// Answer to `info` (and part of the handshake).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerInfo {
    /// `sandcall-server`'s crate version.
    pub server_version: String,
    /// The wasmtime version that runs the guests.
    pub wasmtime_version: String,
    /// The wire protocol version.
    pub protocol_version: u32,
    /// The mode of this connection.
    pub mode: Mode,
    /// The limits in force for this connection.
    pub limits: Limits,
    /// The WebAssembly proposals enabled beyond wasm 1.0.
    #[serde(deserialize_with = "crate::nesting::counted")]
    pub features: Vec<String>,
}

/// Whether an instance came from a core module or a component.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InstanceKind {
    Core,
    Component,
}

/// One instance in a connection's namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceInfo {
    pub name: String,
    pub kind: InstanceKind,
    /// Hex SHA-256 of the uploaded bytes (the compile cache key).
    pub module_hash: String,
    #[serde(deserialize_with = "crate::nesting::counted")]
    pub exports: Vec<ExportInfo>,
    /// Bytes of linear memory the instance holds now: its exported memories
    /// for a core module, all of its memories for a component.
    pub memory_bytes: u64,
    /// Fuel used by all calls on this instance so far (0 where fuel is off).
    /// A `reset` starts it again from 0.
    pub fuel_used: u64,
    /// CPU time of all calls on this instance so far, in ns (0 where calls
    /// have no CPU-time budget). A `reset` starts it again from 0.
    pub cpu_ns: u64,
    /// Module names this instance is registered under for later imports.
    #[serde(deserialize_with = "crate::nesting::counted")]
    pub registered_as: Vec<String>,
    /// What the start function wrote to WASI stdout and stderr (`execute`
    /// and `reset`; empty in a `namespace` listing).
    pub output: crate::GuestOutput,
    /// `execute`: the compiled code came from the server's cache.
    pub cache_hit: bool,
    /// `execute`: nanoseconds spent getting the compiled code (hashing and
    /// the cache lookup on a hit, plus waiting for a compile slot and
    /// compiling on a miss); 0 otherwise.
    pub compile_ns: u64,
}

/// One export of an instance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportInfo {
    pub name: String,
    pub kind: ExportKind,
}

/// What an export is, with its type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExportKind {
    /// A core wasm function, with its core type.
    CoreFunc(FuncType),
    Global {
        ty: ValType,
        mutable: bool,
    },
    /// Current and maximum size in 64 KiB pages.
    Memory {
        pages: u64,
        max_pages: Option<u64>,
    },
    /// Current and maximum size in elements.
    Table {
        element: ValType,
        size: u64,
        max: Option<u64>,
    },
    /// A kind of export this server cannot describe further (tags …).
    Other(String),
    /// A component function, with its WIT signature. Functions inside an
    /// exported interface are named `interface#function`.
    ComponentFunc(WitFunc),
}

impl std::fmt::Display for ExportKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportKind::CoreFunc(ty) => write!(f, "{ty}"),
            ExportKind::Global { ty, mutable } => {
                write!(f, "global {}{ty}", if *mutable { "mut " } else { "" })
            }
            ExportKind::Memory { pages, max_pages } => match max_pages {
                Some(max) => write!(f, "memory {pages}/{max} pages"),
                None => write!(f, "memory {pages} pages"),
            },
            ExportKind::Table { element, size, max } => match max {
                Some(max) => write!(f, "table {element} {size}/{max}"),
                None => write!(f, "table {element} {size}"),
            },
            ExportKind::Other(s) => f.write_str(s),
            ExportKind::ComponentFunc(func) => write!(f, "{func}"),
        }
    }
}
