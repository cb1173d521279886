//! The guests' tests, in one binary (one link): the sort algorithms
//! natively, both components in plain wasmtime, and what they import.

mod algorithms;
mod components;
mod imports;
