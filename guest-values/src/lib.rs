//! The values test guest: exports world `sandcall:values/values` from
//! `../wit/values.wit`.
//!
//! Every `echo-*` function returns its argument, so a host can check that a
//! value of each WIT type survives the trip in and out. The rest misbehave on
//! purpose (trap, spin, allocate, keep state) so that the host's limits and
//! instance handling can be tested against a real component.

use std::sync::atomic::{AtomicU32, Ordering};

wit_bindgen::generate!({
    world: "values",
    path: "../wit/values.wit",
});

use exports::sandcall::values::text;

/// The component's exports.
struct Values;

/// `bump`'s counter. Instance state: lives in linear memory, so a fresh
/// instance starts again from 0.
static BUMPS: AtomicU32 = AtomicU32::new(0);

impl Guest for Values {
    fn echo_bool(v: bool) -> bool {
        v
    }
    fn echo_s8(v: i8) -> i8 {
        v
    }
    fn echo_u8(v: u8) -> u8 {
        v
    }
    fn echo_s16(v: i16) -> i16 {
        v
    }
    fn echo_u16(v: u16) -> u16 {
        v
    }
    fn echo_s32(v: i32) -> i32 {
        v
    }
    fn echo_u32(v: u32) -> u32 {
        v
    }
    fn echo_s64(v: i64) -> i64 {
        v
    }
    fn echo_u64(v: u64) -> u64 {
        v
    }
    fn echo_f32(v: f32) -> f32 {
        v
    }
    fn echo_f64(v: f64) -> f64 {
        v
    }
    fn echo_char(v: char) -> char {
        v
    }
    fn echo_string(v: String) -> String {
        v
    }
    fn echo_list_u8(v: Vec<u8>) -> Vec<u8> {
        v
    }
    fn echo_list_s64(v: Vec<i64>) -> Vec<i64> {
        v
    }
    fn echo_list_f64(v: Vec<f64>) -> Vec<f64> {
        v
    }
    fn echo_list_string(v: Vec<String>) -> Vec<String> {
        v
    }
    fn echo_record(v: Point) -> Point {
        v
    }
    fn echo_tuple(v: (u8, String, f64)) -> (u8, String, f64) {
        v
    }
    fn echo_variant(v: Shape) -> Shape {
        v
    }
    fn echo_enum(v: Color) -> Color {
        v
    }
    fn echo_option(v: Option<String>) -> Option<String> {
        v
    }
    fn echo_result(v: Result<u32, String>) -> Result<u32, String> {
        v
    }
    fn echo_flags(v: Perms) -> Perms {
        v
    }
    fn echo_nested(v: Vec<Option<Point>>) -> Vec<Option<Point>> {
        v
    }

    fn many(a: u8, b: String, c: Vec<f32>) -> (u8, String, Vec<f32>) {
        (a, b, c)
    }

    fn sum(data: Vec<i32>) -> i64 {
        data.iter().map(|&x| i64::from(x)).sum()
    }

    fn bump() -> u32 {
        BUMPS.fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    fn crash(message: String) {
        panic!("{message}");
    }

    fn spin() {
        // `black_box` keeps the optimizer from proving the loop does nothing.
        loop {
            core::hint::black_box(());
        }
    }

    fn grow(bytes: u64) -> u64 {
        // More than the address space can hold is the same failure as a
        // refused `memory.grow`: an allocation failure, hence a trap.
        let len = usize::try_from(bytes).unwrap_or(usize::MAX);
        // Non-zero fill: zeroed memory could come straight from `memory.grow`
        // without the guest ever writing to it.
        let block = core::hint::black_box(vec![0xA5u8; len]);
        block.len() as u64
    }

    fn repeat(n: u32) -> Vec<u8> {
        (0..n).map(|i| i as u8).collect()
    }
}

impl text::Guest for Values {
    fn upper(s: String) -> String {
        s.to_uppercase()
    }
}

export!(Values);
