//! Server settings: every limit, with sane defaults and command-line flags,
//! and which modes are offered.

use crate::compile::COMPILE_BOUNDS;
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
    /// Serve TLS only (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
    pub tls: Option<crate::tls::TlsConfig>,
    /// Require a tenant's token (or client certificate) in the hello.
    pub tenants: Option<PathBuf>,
    /// Close sessions idle this long (default 900 s).
    pub idle_timeout: Option<std::time::Duration>,
    /// How long a client may take to finish TLS and say hello (default 5 s).
    pub handshake_timeout: Option<std::time::Duration>,
    /// The period of the tenants' fuel budgets (default: a minute; tests
    /// shorten it).
    pub quota_period: Option<std::time::Duration>,
    /// How long a drain (SIGTERM) lets sessions under way go on before
    /// ending them (default 30 s, `DEFAULT_DRAIN_TIMEOUT`).
    pub drain_timeout: Option<std::time::Duration>,
}

/// Every limit the server enforces. The defaults suit a shared 2-core machine
/// and a 1,000,000-element sort.
#[derive(Clone, Debug, clap::Args)]
pub struct LimitConfig {
    /// Fuel given to a call that does not ask for an amount, in sessions
    /// metered by fuel (the hello's `metering`).
    #[arg(long, default_value_t = 2_000_000_000)]
    pub fuel: u64,
    /// The most fuel a client may ask for one call.
    #[arg(long, default_value_t = 50_000_000_000)]
    pub max_fuel: u64,
    /// CPU time given to a call (and to instantiation) that does not ask for
    /// an amount, in ms, in sessions metered by CPU time (the default): the
    /// guest's own CPU time, charged from the thread CPU clock. About what
    /// the default fuel buys.
    #[arg(long, default_value_t = 1_000)]
    pub cpu_ms: u64,
    /// The most CPU time a client may ask for one call, in ms.
    #[arg(long, default_value_t = 60_000)]
    pub max_cpu_ms: u64,
    /// Wall-clock deadline of a call (and of instantiation), in ms.
    #[arg(long, default_value_t = 5_000)]
    pub deadline_ms: u64,
    /// The longest deadline a client may ask for one call, in ms.
    #[arg(long, default_value_t = 60_000)]
    pub max_deadline_ms: u64,
    /// Bytes of linear memory and tables one instance may hold in total
    /// (all its memories and tables together; instances linked into one
    /// store share it).
    #[arg(long, default_value_t = 256 << 20)]
    pub memory_bytes: u64,
    /// Bytes of linear memory and tables all of one connection's instances
    /// may hold together.
    #[arg(long, default_value_t = 1 << 30)]
    pub connection_memory_bytes: u64,
    /// Bytes of linear memory and tables all instances of the server may hold
    /// together (sandboxed mode).
    #[arg(long, default_value_t = 4 << 30)]
    pub server_memory_bytes: u64,
    /// Linear memories one module or component may define (counted before
    /// compiling, over all its core modules).
    #[arg(long, default_value_t = 8)]
    pub module_memories: u64,
    /// Tables one module or component may define (counted before compiling,
    /// over all its core modules).
    #[arg(long, default_value_t = 32)]
    pub module_tables: u64,
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
    /// A component's canonical functions (lifts, lowers) count 2 each.
    #[arg(long, default_value_t = 10_000)]
    pub module_functions: u64,
    /// Compiled modules kept in the shared cache (the two sandboxed
    /// engines share it).
    #[arg(long, default_value_t = 256)]
    pub cached_modules: usize,
    /// Bytes of compiled code the shared cache and the instances using it may
    /// hold (each entry: its upload, its compiled image and, for components,
    /// their described types); the oldest entries go first. The two
    /// sandboxed engines (CPU time and fuel) share it.
    #[arg(long, default_value_t = 256 << 20)]
    pub cache_bytes: u64,
    /// Operators one function may have, counted before compiling (each
    /// `br_table` target and each local counts as one): compile time grows
    /// faster than linearly with it.
    #[arg(long, default_value_t = COMPILE_BOUNDS.function_operators)]
    pub function_operators: u64,
    /// Operators a whole module or component may have, counted before
    /// compiling, as `--function-operators` counts them.
    #[arg(long, default_value_t = COMPILE_BOUNDS.module_operators)]
    pub module_operators: u64,
    /// Blocks one function may have, counted before compiling: blocks, ifs,
    /// elses, branches, calls and try (a loop counts 5). They are what costs
    /// cranelift time, faster than linearly within a function.
    #[arg(long, default_value_t = COMPILE_BOUNDS.function_blocks)]
    pub function_blocks: u64,
    /// Blocks a whole module or component may have, counted as
    /// `--function-blocks` counts them (~65 µs of compile CPU each).
    #[arg(long, default_value_t = COMPILE_BOUNDS.module_blocks)]
    pub module_blocks: u64,
    /// Largest WAT text accepted, in bytes (parsing text costs more than
    /// reading a binary of the same size).
    #[arg(long, default_value_t = COMPILE_BOUNDS.wat_bytes)]
    pub wat_bytes: u64,
    /// Compiles (and WAT parses) run at once, server-wide per mode (the two
    /// sandboxed engines share them); more wait.
    #[arg(long, default_value_t = 2)]
    pub compiles: u32,
    /// Bytes of a call's (or instantiation's) WASI stdout, and as many of
    /// its stderr, returned with its answer; more is counted and dropped
    /// (the guest's writes still succeed). Both modes.
    #[arg(long, default_value_t = crate::call_context::DEFAULT_OUTPUT_BYTES)]
    pub output_bytes: u64,
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
            connection_memory_bytes: Some(self.connection_memory_bytes),
            server_memory_bytes: Some(self.server_memory_bytes),
            memories_per_module: Some(self.module_memories),
            tables_per_module: Some(self.module_tables),
            operators_per_function: Some(self.function_operators),
            operators_per_module: Some(self.module_operators),
            blocks_per_function: Some(self.function_blocks),
            blocks_per_module: Some(self.module_blocks),
            wat_bytes: self.wat_bytes,
            concurrent_compiles: self.compiles,
            cache_bytes: self.cache_bytes,
            output_bytes: self.output_bytes,
            metering: Some(sandcall_protocol::Metering::Cpu),
            default_cpu_ms: Some(self.cpu_ms),
            max_cpu_ms: Some(self.max_cpu_ms),
        }
    }

    /// The frame limit as a buffer size.
    pub fn frame_len(&self) -> usize {
        usize::try_from(self.frame_bytes).unwrap_or(usize::MAX)
    }
}
