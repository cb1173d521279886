//! The sort guest's algorithms compiled natively into this binary: the
//! floor that `sandcall compare` measures the sandbox against. The very
//! same source file is built into the guest.

#[allow(dead_code)]
#[path = "../../guest-sort/src/algorithms.rs"]
mod algorithms;

/// Sort `data` in place with the guest export called `name`; `false` when
/// there is no such export.
pub fn sort(name: &str, data: &mut [i32]) -> bool {
    match name {
        "bubble-sort" => algorithms::bubble_sort(data),
        "quick-sort" => algorithms::quick_sort(data),
        "sort-unstable" => data.sort_unstable(),
        _ => return false,
    }
    true
}
