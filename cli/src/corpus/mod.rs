//! The hostile-guest corpus: what a client could do to a server that runs
//! its code, each attack with the outcome it must have in each mode.
//!
//! [`run`] uploads one attack through an ordinary [`sandcall::Connection`] and says
//! what happened as a [`Verdict`] plus a line for people. Attacks that would
//! never end in unrestricted mode run there in a bounded form ([`Settings`])
//! and say so. `sandcall compare` prints the outcomes side by side; the
//! integration tests assert [`Attack::expected`] for every attack in both
//! modes while a second client keeps calling ([`bystander`]).

pub mod bystander;
pub mod modules;
mod probes;
mod run;

pub use run::{run, secs, size};
use sandcall_protocol::Mode;
use std::time::Duration;

/// One hostile guest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    InfiniteLoop,
    HeavyLoop,
    MemoryBomb,
    TableBomb,
    Recursion,
    EndlessStart,
    ReadFile,
    ReadEnv,
    OutputBomb,
    CompileBomb,
    ManyExports,
    Sleeper,
    ManyMemories,
    BlockBomb,
    WatBomb,
}

/// What happened to an attack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The server stopped the guest: fuel, deadline, a trap, a limit.
    Stopped,
    /// The guest ran on but did not get what it reached for: a memory or
    /// table cap, a capability that is not there.
    Denied,
    /// The guest got what it reached for.
    Succeeded,
    /// Run in a bounded form, because the real one would never end here
    /// (or would take minutes).
    Bounded,
    /// The server refused the upload before compiling or running it.
    Refused,
    /// Not what the corpus expects in any mode: a server bug, or a broken
    /// connection.
    Unexpected,
}

/// The outcome of one attack.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub verdict: Verdict,
    /// What happened, for people: "stopped: out of fuel after 0.61 s".
    pub detail: String,
    /// Wall clock of the attack, upload included.
    pub elapsed: Duration,
}

/// Sizes of the attacks: the full ones for `sandcall compare`, smaller ones
/// for tests.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Steps of the heavy loop: about 3 s of CPU unmetered at full size.
    pub heavy_iterations: u64,
    /// Steps of the bounded start function in unrestricted mode.
    pub start_iterations: u64,
    /// Elements the unrestricted table bomb stops at (8 bytes each).
    pub table_bound: u32,
    /// The deadline the client itself gives unrestricted endless calls.
    pub client_deadline_ms: u64,
    /// Bytes the output bomb asks the guest to return.
    pub output_bytes: u32,
    /// Size of the compile bomb's bounded form (unrestricted mode, where
    /// the full size would take minutes to compile).
    pub compile_bytes: u64,
    /// Exports of the many-exports module.
    pub exports: u32,
    /// Pages each of the many memories grows by in unrestricted mode.
    pub memory_pages: u32,
    /// Blocks in the block bomb's one function.
    pub blocks: u32,
}

impl Settings {
    /// The sizes `sandcall compare` uses.
    pub fn full() -> Settings {
        Settings {
            heavy_iterations: 2_000_000_000,
            start_iterations: 600_000_000,
            table_bound: 10_000_000,
            client_deadline_ms: 1_000,
            output_bytes: 300_000_000,
            compile_bytes: 1 << 20,
            exports: 100_000,
            memory_pages: 16,
            blocks: 64_000,
        }
    }

    /// Smaller sizes with the same outcomes, for tests: the heavy loop
    /// still outruns the default fuel, the output bomb still outgrows the
    /// default memory cap.
    pub fn quick() -> Settings {
        Settings {
            heavy_iterations: 400_000_000,
            start_iterations: 20_000_000,
            table_bound: 1_000_000,
            client_deadline_ms: 300,
            output_bytes: 300_000_000,
            compile_bytes: 128 << 10,
            exports: 20_000,
            memory_pages: 16,
            blocks: 16_000,
        }
    }
}

impl Attack {
    /// Every attack, in the order `compare` prints them.
    pub const ALL: [Attack; 15] = [
        Attack::InfiniteLoop,
        Attack::HeavyLoop,
        Attack::MemoryBomb,
        Attack::TableBomb,
        Attack::Recursion,
        Attack::EndlessStart,
        Attack::ReadFile,
        Attack::ReadEnv,
        Attack::OutputBomb,
        Attack::CompileBomb,
        Attack::ManyExports,
        Attack::Sleeper,
        Attack::ManyMemories,
        Attack::BlockBomb,
        Attack::WatBomb,
    ];

    /// A short name.
    pub fn name(self) -> &'static str {
        match self {
            Attack::InfiniteLoop => "infinite loop",
            Attack::HeavyLoop => "heavy finite loop",
            Attack::MemoryBomb => "memory bomb",
            Attack::TableBomb => "table bomb",
            Attack::Recursion => "unbounded recursion",
            Attack::EndlessStart => "start that never returns",
            Attack::ReadFile => "read a host file (WASI)",
            Attack::ReadEnv => "read the environment (WASI)",
            Attack::OutputBomb => "output bomb",
            Attack::CompileBomb => "compile bomb",
            Attack::ManyExports => "many exports",
            Attack::Sleeper => "sleep past the deadline (WASI)",
            Attack::ManyMemories => "many memories",
            Attack::BlockBomb => "block bomb",
            Attack::WatBomb => "WAT bomb",
        }
    }

    /// What the guest does.
    pub fn what(self) -> &'static str {
        match self {
            Attack::InfiniteLoop => "`loop br 0`",
            Attack::HeavyLoop => "a 64-bit LCG stepped for seconds, then returned",
            Attack::MemoryBomb => "memory.grow until refused",
            Attack::TableBomb => "table.grow by 10,000 until refused",
            Attack::Recursion => "a function calling itself, no base case",
            Attack::EndlessStart => "`loop br 0` in the start function",
            Attack::ReadFile => "path_open + fd_read of ./secret.txt",
            Attack::ReadEnv => "environ_sizes_get + environ_get",
            Attack::OutputBomb => "a component returning a 300 MB list<u8>",
            Attack::CompileBomb => "one-line functions up to the module size limit",
            Attack::ManyExports => "100,000 exported one-line functions",
            Attack::Sleeper => "poll_oneoff on a 60 s clock, where no epoch tick reaches it",
            Attack::ManyMemories => "8 memories grown to 256 MiB each, every page touched",
            Attack::BlockBomb => "64,000 blocks in one function (compile CPU with fuel metering)",
            Attack::WatBomb => "the block bomb as WAT text for the server to parse",
        }
    }

    /// The verdict this attack must get in `mode` (with the embedded
    /// server's defaults and a `secret.txt` in the unrestricted directory).
    pub fn expected(self, mode: Mode) -> Verdict {
        use Verdict::*;
        let sandboxed = mode == Mode::Sandboxed;
        match self {
            Attack::InfiniteLoop | Attack::EndlessStart => {
                if sandboxed {
                    Stopped
                } else {
                    Bounded
                }
            }
            Attack::HeavyLoop => {
                if sandboxed {
                    Stopped
                } else {
                    Succeeded
                }
            }
            Attack::MemoryBomb | Attack::ReadFile | Attack::ReadEnv => {
                if sandboxed {
                    Denied
                } else {
                    Succeeded
                }
            }
            Attack::TableBomb => {
                if sandboxed {
                    Denied
                } else {
                    Bounded
                }
            }
            Attack::Recursion | Attack::OutputBomb => Stopped,
            // Unrestricted, only the client's own deadline ends the sleep.
            Attack::Sleeper => {
                if sandboxed {
                    Stopped
                } else {
                    Bounded
                }
            }
            Attack::CompileBomb => {
                if sandboxed {
                    Refused
                } else {
                    Bounded
                }
            }
            Attack::ManyMemories => {
                if sandboxed {
                    Denied
                } else {
                    Bounded
                }
            }
            Attack::BlockBomb | Attack::WatBomb => {
                if sandboxed {
                    Refused
                } else {
                    Succeeded
                }
            }
            Attack::ManyExports => {
                if sandboxed {
                    Refused
                } else {
                    Succeeded
                }
            }
        }
    }
}
