//! The sort guest's algorithms, compiled natively from the same source file
//! the guest uses, against the standard library's sort on the input shapes
//! that break naive implementations.

use sandcall_guests::native::{bubble_sort, quick_sort};
use sandcall_guests::random_ints as random;

/// Every shape of `len` elements the tests sort, by name.
fn shapes(len: usize) -> Vec<(&'static str, Vec<i32>)> {
    let n = len as i32;
    vec![
        ("random", random(len, 0x5eed)),
        (
            "few distinct",
            random(len, 7).into_iter().map(|x| x % 4).collect(),
        ),
        ("sorted", (0..n).collect()),
        ("reversed", (0..n).rev().collect()),
        ("all equal", vec![-3; len]),
        (
            "min/max",
            (0..len)
                .map(|i| if i % 2 == 0 { i32::MAX } else { i32::MIN })
                .collect(),
        ),
        (
            "organ pipe",
            (0..n / 2).chain((0..n - n / 2).rev()).collect(),
        ),
    ]
}

fn check(name: &str, sort: fn(&mut [i32]), shape: &str, mut data: Vec<i32>) {
    let mut expected = data.clone();
    expected.sort_unstable();
    sort(&mut data);
    assert!(
        data == expected,
        "{name} failed on {shape} input of {} elements",
        data.len()
    );
}

#[test]
fn tiny_inputs() {
    for len in 0..=9 {
        for (shape, data) in shapes(len) {
            check("bubble_sort", bubble_sort, shape, data.clone());
            check("quick_sort", quick_sort, shape, data);
        }
    }
}

#[test]
fn bubble_sort_matches_std() {
    for (shape, data) in shapes(2_000) {
        check("bubble_sort", bubble_sort, shape, data);
    }
}

#[test]
fn quick_sort_matches_std_on_a_million() {
    for (shape, data) in shapes(1_000_000) {
        // A middle pivot is the maximum of an organ pipe at every step, so
        // that shape is quadratic (~1 s for 100,000): correct, but not here.
        if shape != "organ pipe" {
            check("quick_sort", quick_sort, shape, data);
        }
    }
}

#[test]
fn generic_over_ord_copy() {
    let mut words = ["pear", "apple", "fig", "apple"];
    quick_sort(&mut words);
    assert_eq!(words, ["apple", "apple", "fig", "pear"]);
    let mut pairs = [(2, 'b'), (1, 'z'), (2, 'a')];
    bubble_sort(&mut pairs);
    assert_eq!(pairs, [(1, 'z'), (2, 'a'), (2, 'b')]);
}
