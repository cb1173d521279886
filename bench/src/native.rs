//! Section 4, the floor of the sorts: the guest's own algorithms compiled
//! natively ([`sandcall_guests::native`], the very file the guest is built
//! from), run on the same lists.

use anyhow::{bail, ensure};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// One native sort of a copy of `data` (the copy outside the clock),
/// checked against `expected`.
///
/// # Errors
/// When the guest has no export `alg`, or the result is not `expected`.
pub fn sort_once(alg: &str, data: &[i32], expected: &[i32]) -> anyhow::Result<Duration> {
    let mut work = data.to_vec();
    let start = Instant::now();
    let known = sandcall_guests::native::sort(alg, black_box(&mut work));
    let took = start.elapsed();
    if !known {
        bail!("no native {alg}");
    }
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
            let v = vec![5, -3, 9, 1, 1, 0, i32::MIN, i32::MAX];
            let mut expected = v.clone();
            expected.sort_unstable();
            assert!(super::sort_once(alg, &v, &expected).is_ok(), "{alg}");
        }
        assert!(super::sort_once("heap-sort", &[2, 1], &[1, 2]).is_err());
    }
}
