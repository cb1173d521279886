//! The sort guest: exports world `sandcall:sort/sorter` from `../wit/sort.wit`.
//!
//! Only the bindings glue lives here; the algorithms are plain generic Rust in
//! [`algorithms`], which a native benchmark can include with `#[path]` to
//! compare wasm against native on the same code.

mod algorithms;

wit_bindgen::generate!({
    world: "sorter",
    path: "../wit/sort.wit",
});

/// The component's exports; each takes ownership of the list and sorts it in
/// place, so a call copies the data only across the boundary.
struct Sorter;

impl Guest for Sorter {
    fn bubble_sort(mut data: Vec<i32>) -> Vec<i32> {
        algorithms::bubble_sort(&mut data);
        data
    }

    fn quick_sort(mut data: Vec<i32>) -> Vec<i32> {
        algorithms::quick_sort(&mut data);
        data
    }

    fn sort_unstable(mut data: Vec<i32>) -> Vec<i32> {
        data.sort_unstable();
        data
    }
}

export!(Sorter);
