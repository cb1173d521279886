//! Textbook sorting algorithms over `&mut [T]`, with no dependency on the
//! component bindings so that a native benchmark can `#[path]`-include this
//! file and run the very same code outside wasm.

/// Bubble sort: repeatedly swaps adjacent out-of-order pairs.
///
/// Each pass bubbles the largest remaining element to the end, so the next
/// pass can stop one earlier; a pass that swaps nothing means the slice is
/// sorted, which makes already-sorted input O(n). O(n²) otherwise.
pub fn bubble_sort<T: Ord + Copy>(data: &mut [T]) {
    let mut end = data.len();
    while end > 1 {
        let mut swapped = false;
        for i in 1..end {
            if data[i - 1] > data[i] {
                data.swap(i - 1, i);
                swapped = true;
            }
        }
        if !swapped {
            break;
        }
        end -= 1;
    }
}

/// Quick sort with a Hoare partition around the middle element.
///
/// The middle pivot keeps sorted, reversed and all-equal input at
/// O(n log n) (Hoare's scheme splits runs of equal keys down the middle).
/// Recursing only into the smaller part and looping on the larger one bounds
/// the recursion depth by log₂ n whatever the input, so adversarial input can
/// make it slow but never overflow the stack.
pub fn quick_sort<T: Ord + Copy>(data: &mut [T]) {
    let mut rest = data;
    while rest.len() > 1 {
        let split = hoare_partition(rest);
        let (left, right) = rest.split_at_mut(split + 1);
        if left.len() < right.len() {
            quick_sort(left);
            rest = right;
        } else {
            quick_sort(right);
            rest = left;
        }
    }
}

/// Partitions `v` (at least two elements) around its middle element and
/// returns `j` such that every element of `v[..=j]` is `<=` every element of
/// `v[j + 1..]`, with `j < v.len() - 1`, so both parts are non-empty and each
/// step makes progress.
fn hoare_partition<T: Ord + Copy>(v: &mut [T]) -> usize {
    // Rounding down matters: with the upper middle of two elements, `j` could
    // end at the last index and leave the right part empty.
    let pivot = v[(v.len() - 1) / 2];
    let mut i = 0;
    let mut j = v.len() - 1;
    loop {
        // Neither scan can run off the slice: the pivot, or an element
        // already swapped past the other index, stops it.
        while v[i] < pivot {
            i += 1;
        }
        while v[j] > pivot {
            j -= 1;
        }
        if i >= j {
            return j;
        }
        v.swap(i, j);
        i += 1;
        j -= 1;
    }
}
