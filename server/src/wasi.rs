//! What WASI grants the guests of each mode.
//!
//! Sandboxed guests get WASI with nothing behind it: no preopened directory,
//! no environment, no arguments, an empty stdin, stdout and stderr captured
//! into the answer of each request ([`crate::guest_output`]), and virtual clocks and randomness: the wall clock reads
//! 1970-01-01T00:00:00Z, the monotonic clock starts at 0 and moves 1 µs per
//! reading, and random bytes are a fixed pseudo-random sequence. A guest
//! learns nothing of the host's time (no timing channel through WASI) and
//! runs the same way every time; it must not use WASI randomness for
//! secrets. Sleeps still wait in real time, cut off at the call's deadline
//! ([`crate::cutoff`]). Unrestricted guests get the host's environment,
//! stdin, clocks and randomness and one preopened directory: RPyC classic
//! mode's "everything"; their stdout and stderr are captured too, unless
//! the client asked for the server's own in its hello (`host_stdio`).
//!
//! A store builds its WASI context the first time a guest calls into WASI,
//! so guests that never import it pay nothing.

use crate::call_context::CallContext;
use std::path::PathBuf;
use std::time::Duration;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::{Deterministic, FsPerms, HostMonotonicClock, HostWallClock, WasiCtxBuilder};

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
    /// A fresh WASI context granting what this grant names, writing the
    /// guests' stdout and stderr to `context`.
    pub fn build(&self, context: &CallContext) -> WasiP1Ctx {
        let mut builder = WasiCtxBuilder::new();
        builder
            .stdout(context.output().stdout())
            .stderr(context.output().stderr());
        match self {
            WasiGrant::Nothing => {
                builder
                    .wall_clock(EpochClock)
                    .monotonic_clock(VirtualClock::default())
                    .secure_random(Deterministic::new(pseudo_random_bytes(0x5eed)))
                    .insecure_random(Deterministic::new(pseudo_random_bytes(0x1a5e)))
                    .insecure_random_seed(0);
            }
            WasiGrant::Host { dir } => {
                builder.inherit_env().inherit_stdin();
                if context.host_stdio() {
                    builder.inherit_stdout().inherit_stderr();
                }
                if let Err(e) = builder.preopened_dir(dir, ".", FsPerms::ReadWrite) {
                    // Checked at start-up; the directory may have gone since.
                    tracing::warn!(dir = %dir.display(), "cannot preopen for WASI: {e:#}");
                }
            }
        }
        builder.build_p1()
    }
}

/// The sandboxed wall clock: always 1970-01-01T00:00:00Z.
struct EpochClock;

impl HostWallClock for EpochClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }

    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

/// The sandboxed monotonic clock: 0 at first, 1 µs later at every reading,
/// so that a guest waiting for time to pass still sees it pass.
#[derive(Default)]
struct VirtualClock {
    ns: std::sync::atomic::AtomicU64,
}

impl HostMonotonicClock for VirtualClock {
    fn resolution(&self) -> u64 {
        1_000
    }

    fn now(&self) -> u64 {
        self.ns
            .fetch_add(1_000, std::sync::atomic::Ordering::Relaxed)
    }
}

/// 4 KiB of xorshift output from `seed`: the cycle the sandboxed random
/// generators repeat.
fn pseudo_random_bytes(seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..512)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect()
}

/// Whether a core import is one of WASI's (granted, though possibly empty).
pub fn is_wasi_module(module: &str) -> bool {
    module == PREVIEW1
}
