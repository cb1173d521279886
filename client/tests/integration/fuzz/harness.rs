//! The fuzzing harness (issue 15), on stable Rust: proptest's runner with
//! its generators and shrinking, a fixed case count per target, a fixed seed
//! by default, and one line per target saying how many cases ran in how long.
//!
//! - `make test` runs every target at its default count (all targets
//!   together about 30 s of CPU), from a fixed seed: the same inputs every
//!   run, a regression suite.
//! - `SANDCALL_FUZZ_SCALE=N` runs N times as many cases (`make fuzz`: 20).
//! - `SANDCALL_FUZZ_RANDOM=1` draws a new seed per target and prints it;
//!   `SANDCALL_FUZZ_RNG=SEED` replays one.
//!
//! A failing case is shrunk to a small one and printed; a crash found this
//! way becomes an explicit regression test beside the target.
//!
//! Kept identical in every crate that fuzzes (`protocol/tests/fuzz/`,
//! `client/tests/integration/fuzz/`, `cli/tests/integration/fuzz/`): each is
//! its own test binary.
#![allow(dead_code)]

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestRng, TestRunner};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

/// The multiplier of every target's case count (1 unless
/// `SANDCALL_FUZZ_SCALE` says otherwise).
pub fn scale() -> u32 {
    std::env::var("SANDCALL_FUZZ_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1)
        .max(1)
}

/// The seed of a run: fixed, replayed (`SANDCALL_FUZZ_RNG`) or fresh
/// (`SANDCALL_FUZZ_RANDOM=1`).
fn seed() -> u64 {
    if let Some(seed) = std::env::var("SANDCALL_FUZZ_RNG")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return seed;
    }
    if std::env::var_os("SANDCALL_FUZZ_RANDOM").is_some() {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        return now.as_nanos() as u64 ^ u64::from(std::process::id());
    }
    0x5a4d_ca11_f022
}

/// Runs `test` on `cases × scale()` inputs drawn from `strategy`, then
/// prints `fuzz TARGET: N cases in S s (seed X)`. Panics (failing the test)
/// with the shrunk input when a case fails or panics.
pub fn fuzz<S: Strategy>(
    target: &str,
    cases: u32,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) {
    let cases = cases.saturating_mul(scale());
    let seed = seed();
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_iters: 500,
        ..Config::default()
    };
    let mut bytes = [0u8; 32];
    for chunk in bytes.chunks_exact_mut(8) {
        chunk.copy_from_slice(&seed.to_le_bytes());
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let started = Instant::now();
    let result = runner.run(&strategy, test);
    let secs = started.elapsed().as_secs_f64();
    eprintln!("fuzz {target}: {cases} cases in {secs:.2} s (seed {seed})");
    if let Err(e) = result {
        panic!("fuzz {target} (seed {seed}, SANDCALL_FUZZ_RNG={seed} replays): {e}");
    }
}

/// The state a target shares across cases, even after a case panicked
/// while holding it (proptest goes on to shrink that case).
pub fn lock<T>(shared: &Mutex<T>) -> MutexGuard<'_, T> {
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

/// The state a target shared, after the run.
pub fn take<T>(shared: Mutex<T>) -> T {
    shared.into_inner().unwrap_or_else(|e| e.into_inner())
}
