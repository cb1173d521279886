//! Section 4, the floor of the sorts: the guest's own algorithms compiled
//! natively into this binary (the very file the guest is built from), run
//! on the same lists.

#[path = "../../guest-sort/src/algorithms.rs"]
mod algorithms;

use anyhow::ensure;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Sort `data` in place with the algorithm the guest exports as `alg`
/// (`sort-unstable` is the standard library's, as in the guest).
///
/// # Panics
/// On an algorithm the guest does not export.
fn sort(alg: &str, data: &mut [i32]) {
    match alg {
        "bubble-sort" => algorithms::bubble_sort(data),
        "quick-sort" => algorithms::quick_sort(data),
        "sort-unstable" => data.sort_unstable(),
        other => panic!("no native {other}"),
    }
}

/// One native sort of a copy of `data` (the copy outside the clock),
/// checked against `expected`.
///
/// # Errors
/// When the result is not `expected`.
pub fn sort_once(alg: &str, data: &[i32], expected: &[i32]) -> anyhow::Result<Duration> {
    let mut work = data.to_vec();
    let start = Instant::now();
    sort(alg, black_box(&mut work));
    let took = start.elapsed();
    ensure!(
        work == expected,
        "native {alg} of {} ints is wrong",
        data.len()
    );
    Ok(took)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_algorithm_sorts() {
        for alg in ["bubble-sort", "quick-sort", "sort-unstable"] {
            let mut v = vec![5, -3, 9, 1, 1, 0, i32::MIN, i32::MAX];
            super::sort(alg, &mut v);
            assert!(v.is_sorted(), "{alg}");
        }
    }
}
