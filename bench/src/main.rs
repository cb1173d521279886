//! `make bench` (work in progress).

fn main() {}
