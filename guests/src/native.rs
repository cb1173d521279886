//! The sort guest's algorithms compiled natively: the very source file the
//! guest is built from, so wasm and native run the same code.

#[path = "../../guest-sort/src/algorithms.rs"]
mod algorithms;

pub use algorithms::{bubble_sort, quick_sort};

/// The exports of the sort guest, in the order its WIT lists them.
pub const EXPORTS: [&str; 3] = ["bubble-sort", "quick-sort", "sort-unstable"];

/// Sort `data` in place with the algorithm the guest exports as `export`
/// (`sort-unstable` is the standard library's, as in the guest); `false`
/// when the guest has no such export.
pub fn sort(export: &str, data: &mut [i32]) -> bool {
    match export {
        "bubble-sort" => bubble_sort(data),
        "quick-sort" => quick_sort(data),
        "sort-unstable" => data.sort_unstable(),
        _ => return false,
    }
    true
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_export_sorts_and_others_are_refused() {
        for export in super::EXPORTS {
            let mut v = vec![5, -3, 9, 1, 1, 0, i32::MIN, i32::MAX];
            assert!(super::sort(export, &mut v), "{export}");
            assert!(v.is_sorted(), "{export}");
        }
        assert!(!super::sort("heap-sort", &mut [2, 1]));
    }
}
