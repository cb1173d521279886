//! Bounds on decoding one message: nesting depth, values, and bytes.
//!
//! A [`Value`](crate::Value) may hold lists of values. Without a bound, a few
//! kilobytes of `[[[[…` would overflow the decoder's stack (an abort, not a
//! recoverable panic), and a 64 MiB frame of one-byte values would become
//! gigabytes of `Value`s (a 60 MB frame of empty flag names once peaked at
//! 1.47 GB). Every decoded value, [`WitType`](crate::WitType) node and flag
//! or enum case name passes a guard that counts it and charges
//! [`NODE_BYTES`] to a budget of memory proportional to the frame:
//! [`BYTES_PER_BODY_BYTE`] × the body + [`BYTES_FLOOR`]. Strings and byte
//! buffers are copies of the body's own bytes (their claimed lengths are
//! checked against the bytes left before allocation, see [`crate::exact`]),
//! so the body's share covers them. So no request decodes to much more than twice
//! its size plus 80 MiB, whatever its shape; vectors of values and types
//! reserve room for at most 1024 elements before the elements arrive.

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;

/// The deepest a value may nest (a list inside a list … counts one per level).
pub const MAX_DEPTH: u32 = 100;

/// The most values one message may hold, counting every element of generic
/// lists, records and the like, every flag name and every node of a type.
/// Packed number lists count as one value.
pub const MAX_VALUES: u64 = 1 << 20;

/// Bytes of memory a message may decode to, per byte of its body: strings
/// and byte buffers take what they took on the wire, once.
pub const BYTES_PER_BODY_BYTE: u64 = 2;

/// Bytes of memory any message may decode to on top of its share: room for
/// [`MAX_VALUES`] values of [`NODE_BYTES`] each, however small on the wire
/// (a non-null `funcref` is one byte and a 32-byte `Value`).
pub const BYTES_FLOOR: u64 = 80 << 20;

/// Bytes charged per counted value: the value itself (32 bytes) with a name
/// beside it (24), as in a record field.
pub const NODE_BYTES: u64 = 64;

/// The most elements a decoded vector reserves room for before they arrive:
/// a claimed length is not believed.
const PREALLOCATE: usize = 1024;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Values left in the current message's budget; `None` outside [`budget`].
    static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
    /// Bytes left in the current message's budget; `None` outside [`budget`].
    static BYTES: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Held while one value is being decoded; leaving drops one level.
pub(crate) struct Guard(());

impl Guard {
    /// Enters one level of nesting and spends one value of the budget.
    pub(crate) fn enter() -> Result<Guard, String> {
        let depth = DEPTH.get();
        if depth >= MAX_DEPTH {
            return Err(format!("values nest deeper than {MAX_DEPTH} levels"));
        }
        spend_value()?;
        DEPTH.set(depth + 1);
        Ok(Guard(()))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        DEPTH.set(DEPTH.get().saturating_sub(1));
    }
}

/// Spends one value ([`NODE_BYTES`] bytes) of the current message's budget.
fn spend_value() -> Result<(), String> {
    if let Some(left) = LEFT.get() {
        if left == 0 {
            return Err(format!("a message may hold at most {MAX_VALUES} values"));
        }
        LEFT.set(Some(left - 1));
    }
    charge(NODE_BYTES as usize)
}

/// Charges `bytes` of decoded memory to the current message's budget.
pub(crate) fn charge(bytes: usize) -> Result<(), String> {
    if let Some(left) = BYTES.get() {
        let Some(rest) = left.checked_sub(bytes as u64) else {
            return Err(format!(
                "the message decodes to more than {BYTES_PER_BODY_BYTE} bytes per byte of it \
                 plus {} MiB",
                BYTES_FLOOR >> 20
            ));
        };
        BYTES.set(Some(rest));
    }
    Ok(())
}

/// Runs `decode` with a fresh budget of [`MAX_VALUES`] values and of bytes
/// for a body of `body_len` bytes.
pub(crate) fn budget<T>(body_len: usize, decode: impl FnOnce() -> T) -> T {
    let bytes = (body_len as u64)
        .saturating_mul(BYTES_PER_BODY_BYTE)
        .saturating_add(BYTES_FLOOR);
    let outer = LEFT.replace(Some(MAX_VALUES));
    let outer_bytes = BYTES.replace(Some(bytes));
    let saved_depth = DEPTH.replace(0);
    let result = decode();
    LEFT.set(outer);
    BYTES.set(outer_bytes);
    DEPTH.set(saved_depth);
    result
}

/// `deserialize_with` for a vector whose claimed length is not believed:
/// room for at most [`PREALLOCATE`] elements is reserved up front.
pub(crate) fn capped<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(Capped(PhantomData, false))
}

/// `deserialize_with` for a vector each element of which counts as a value
/// (names of flags and enum cases, a signature's types …), so a frame of
/// one-byte elements that take 24 bytes in memory is bounded like any other
/// frame of small values.
pub(crate) fn counted<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_seq(Capped(PhantomData, true))
}

struct Capped<T>(PhantomData<T>, bool);

impl<'de, T: Deserialize<'de>> Visitor<'de> for Capped<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let count = self.1;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(PREALLOCATE));
        while let Some(item) = seq.next_element()? {
            if count {
                spend_value().map_err(serde::de::Error::custom)?;
            }
            items.push(item);
        }
        Ok(items)
    }
}
