//! Server settings: every limit, with sane defaults and command-line flags,
//! and which modes are offered.

use sandcall_protocol::{DEFAULT_MAX_FRAME, Limits};
use std::path::PathBuf;

/// Everything a server is started with, besides its listener.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// The sandboxed mode's limits (and the wire limits of both modes).
    pub limits: LimitConfig,
    /// Offer unrestricted mode (no fuel, no memory cap, WASI with the host's
    /// environment, stdio and a directory) to clients that ask for it.
    pub allow_unrestricted: bool,
    /// The host directory unrestricted guests see as `.` through WASI
    /// (default: the server's working directory).
    pub unrestricted_dir: Option<PathBuf>,
}

/// Every limit the server enforces. The defaults suit a shared 2-core machine
/// and a 1,000,000-element sort.
#[derive(Clone, Debug, clap::Args)]
pub struct LimitConfig {
    /// Fuel given to a call that does not ask for an amount.
    #[arg(long, default_value_t = 2_000_000_000)]
    pub fuel: u64,
    /// The most fuel a client may ask for one call.
    #[arg(long, default_value_t = 50_000_000_000)]
    pub max_fuel: u64,
    /// Wall-clock deadline of a call (and of instantiation), in ms.
    #[arg(long, default_value_t = 5_000)]
    pub deadline_ms: u64,
    /// The longest deadline a client may ask for one call, in ms.
    #[arg(long, default_value_t = 60_000)]
    pub max_deadline_ms: u64,
    /// Bytes one linear memory of an instance may grow to.
    #[arg(long, default_value_t = 256 << 20)]
    pub memory_bytes: u64,
    /// Elements one table may grow to.
    #[arg(long, default_value_t = 100_000)]
    pub table_elements: u64,
    /// Live instances one connection may hold.
    #[arg(long, default_value_t = 128)]
    pub instances: u32,
    /// Largest module `execute` or `validate` accepts, in bytes.
    #[arg(long, default_value_t = 16 << 20)]
    pub module_bytes: u64,
    /// Connections served at once; further ones wait for a free slot.
    #[arg(long, default_value_t = 64)]
    pub connections: u32,
    /// Largest frame accepted or sent, in bytes.
    #[arg(long, default_value_t = DEFAULT_MAX_FRAME as u64)]
    pub frame_bytes: u64,
    /// Native stack a guest may use, in bytes (deeper recursion traps).
    #[arg(long, default_value_t = 512 << 10)]
    pub wasm_stack_bytes: u64,
    /// Functions a module or component may define, counted before compiling:
    /// each costs ~0.2 ms of compile time however small it is, so 100,000
    /// tiny ones in a 1.3 MB upload would hold both cores for 18 s.
    #[arg(long, default_value_t = 10_000)]
    pub module_functions: u64,
    /// Compiled modules kept in the shared cache.
    #[arg(long, default_value_t = 256)]
    pub cached_modules: usize,
}

impl Default for LimitConfig {
    /// The same defaults as the command line's, from one source.
    fn default() -> Self {
        #[derive(clap::Parser)]
        struct Defaults {
            #[command(flatten)]
            limits: LimitConfig,
        }
        <Defaults as clap::Parser>::parse_from(["sandcall-server"]).limits
    }
}

impl LimitConfig {
    /// The limits as reported to clients.
    pub fn report(&self) -> Limits {
        Limits {
            default_fuel: Some(self.fuel),
            max_fuel: Some(self.max_fuel),
            default_deadline_ms: Some(self.deadline_ms),
            max_deadline_ms: Some(self.max_deadline_ms),
            memory_bytes: Some(self.memory_bytes),
            table_elements: Some(self.table_elements),
            instances_per_connection: self.instances,
            module_bytes: self.module_bytes,
            connections: self.connections,
            frame_bytes: self.frame_bytes,
            wasm_stack_bytes: self.wasm_stack_bytes,
            functions_per_module: Some(self.module_functions),
        }
    }

    /// The frame limit as a buffer size.
    pub fn frame_len(&self) -> usize {
        usize::try_from(self.frame_bytes).unwrap_or(usize::MAX)
    }
}
