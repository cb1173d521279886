//! The test guests, as wasm components built from source, and the code and
//! data that tests, demos and benchmarks share with them.
//!
//! `build.rs` compiles the crates `guest-sort` and `guest-values` (beside this
//! one, outside the workspace) for `wasm32-unknown-unknown` and encodes each
//! core module as a component that imports nothing, so an empty
//! `wasmtime::component::Linker` instantiates it. Tests, demos and benchmarks
//! take the components from here instead of from checked-in `.wasm` files.
//!
//! # Layout
//! - [`SORT`] / [`sort()`]: world `sandcall:sort/sorter` (`wit/sort.wit`):
//!   `bubble-sort`, `quick-sort` and `sort-unstable` over `list<s32>`.
//! - [`VALUES`] / [`values()`]: world `sandcall:values/values`
//!   (`wit/values.wit`): an echo function for every WIT type, plus `bump`,
//!   `crash`, `spin`, `grow`, `repeat` and the interface
//!   `sandcall:values/text@0.1.0` with `upper`.
//! - [`native`]: the sort guest's algorithms compiled natively (the floor
//!   the sandbox is measured against).
//! - [`random_ints`] and [`SORT_WORKLOADS`]: the lists everyone sorts.

pub mod native;

use std::fs;

/// Absolute path of the sort component (`target/guest/guest-sort.wasm`).
pub const SORT: &str = env!("SANDCALL_GUEST_SORT");

/// Absolute path of the values component (`target/guest/guest-values.wasm`).
pub const VALUES: &str = env!("SANDCALL_GUEST_VALUES");

/// The sort component, embedded at build time (for binaries that must not
/// depend on the build tree, such as `sandcall compare`).
pub static SORT_WASM: &[u8] = include_bytes!(env!("SANDCALL_GUEST_SORT"));

/// The values component, embedded at build time.
pub static VALUES_WASM: &[u8] = include_bytes!(env!("SANDCALL_GUEST_VALUES"));

/// The sort workloads of the demo and `sandcall compare`: (export, N, calls).
/// Bubble sort is quadratic, so it gets small lists.
pub const SORT_WORKLOADS: &[(&str, usize, usize)] = &[
    ("bubble-sort", 1_000, 15),
    ("bubble-sort", 5_000, 5),
    ("quick-sort", 10_000, 15),
    ("quick-sort", 100_000, 9),
    ("quick-sort", 1_000_000, 5),
    ("sort-unstable", 10_000, 15),
    ("sort-unstable", 100_000, 9),
    ("sort-unstable", 1_000_000, 5),
];

/// `n` deterministic pseudo-random ints over the whole i32 range from
/// `seed` (xorshift: no dependency needed), so failures reproduce. The
/// demo, `compare`, the benchmarks and the tests all sort these lists.
pub fn random_ints(n: usize, seed: u64) -> Vec<i32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as i32
        })
        .collect()
}

/// The sort component's bytes.
///
/// # Panics
/// If [`SORT`] cannot be read: it is written when this crate is built, so
/// that means it was deleted since (`touch guests/build.rs` and build again).
pub fn sort() -> Vec<u8> {
    read(SORT)
}

/// The values component's bytes.
///
/// # Panics
/// If [`VALUES`] cannot be read: see [`sort()`].
pub fn values() -> Vec<u8> {
    read(VALUES)
}

fn read(path: &str) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| {
        panic!("reading guest component {path}: {e} (rebuild with `touch guests/build.rs && make guest`)")
    })
}
