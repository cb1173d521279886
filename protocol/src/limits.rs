//! How a connection's guests run: the mode a client asks for in its hello,
//! and the limits the server enforces in it, reported in the handshake and
//! by `info`.

use serde::{Deserialize, Serialize};

/// How a connection's guests are run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Mode {
    /// CPU-time budgets (or fuel, [`Metering`]), deadlines, memory caps,
    /// and no host capability. The default.
    #[default]
    Sandboxed,
    /// No limits beyond wasm's own; only if the server allows it.
    Unrestricted,
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Mode::Sandboxed => "sandboxed",
            Mode::Unrestricted => "unrestricted",
        })
    }
}

/// How a sandboxed connection bounds the work of its calls, asked for in
/// the hello ([`crate::Hello::metering`]). Each way runs on an engine of its
/// own, so a session keeps the one it started with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Metering {
    /// A CPU-time budget per call and instantiation, charged from the
    /// thread CPU clock at every epoch tick: guest code carries no
    /// per-instruction checks. The default.
    #[default]
    Cpu,
    /// Fuel: every instruction is counted, so limits are deterministic and
    /// reproducible (at a cost in speed).
    Fuel,
}

impl std::fmt::Display for Metering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Metering::Cpu => "cpu",
            Metering::Fuel => "fuel",
        })
    }
}

/// Effective limits of a server (and, for the per-call ones, of a mode).
///
/// `None` means "no limit" (only in unrestricted mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// Fuel given to a call that does not ask for any.
    pub default_fuel: Option<u64>,
    /// The most fuel a client may ask for one call.
    pub max_fuel: Option<u64>,
    /// Wall-clock deadline of a call that does not ask for one, in ms.
    pub default_deadline_ms: Option<u64>,
    /// The longest deadline a client may ask for, in ms.
    pub max_deadline_ms: Option<u64>,
    /// Bytes of linear memory and tables one instance may hold, all its
    /// memories and tables together.
    pub memory_bytes: Option<u64>,
    /// Elements one table may grow to.
    pub table_elements: Option<u64>,
    /// Live instances one connection may hold.
    pub instances_per_connection: u32,
    /// Largest module (binary or text) accepted by `execute`, in bytes.
    pub module_bytes: u64,
    /// Connections served at once; more wait for a free slot.
    pub connections: u32,
    /// Largest frame either end accepts, in bytes.
    pub frame_bytes: u64,
    /// Native stack the guest may use, in bytes.
    pub wasm_stack_bytes: u64,
    /// Functions one module or component may define (compile time grows
    /// with their number).
    pub functions_per_module: Option<u64>,
    /// Bytes of memory and tables all of one connection's instances may hold.
    pub connection_memory_bytes: Option<u64>,
    /// Bytes of memory and tables all instances on the server may hold.
    pub server_memory_bytes: Option<u64>,
    /// Linear memories one module or component may define.
    pub memories_per_module: Option<u64>,
    /// Tables one module or component may define.
    pub tables_per_module: Option<u64>,
    /// Operators one function may have (`br_table` targets and locals count).
    pub operators_per_function: Option<u64>,
    /// Operators a whole module or component may have.
    pub operators_per_module: Option<u64>,
    /// Blocks, ifs, branches and calls one function may have (a loop
    /// counts 5): what compile time grows with.
    pub blocks_per_function: Option<u64>,
    /// Blocks, ifs, branches and calls a whole module may have.
    pub blocks_per_module: Option<u64>,
    /// Largest WAT text accepted, in bytes.
    pub wat_bytes: u64,
    /// Compiles the server runs at once (per mode); more wait their turn.
    pub concurrent_compiles: u32,
    /// Bytes of compiled code the server's cache holds at most.
    pub cache_bytes: u64,
    /// Bytes of a call's (or instantiation's) WASI stdout, and as many of
    /// its stderr, returned with its answer; more is counted and dropped.
    pub output_bytes: u64,
    /// How calls are metered in this session (`None`: not at all, in
    /// unrestricted mode).
    pub metering: Option<Metering>,
    /// CPU time of a call that does not ask for an amount, in ms (CPU
    /// metering only).
    pub default_cpu_ms: Option<u64>,
    /// The most CPU time a client may ask for one call, in ms.
    pub max_cpu_ms: Option<u64>,
}
