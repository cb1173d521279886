//! Bounds on decoding recursive values: nesting depth and values per message.
//!
//! A [`Value`](crate::Value) may hold lists of values. Without a bound, a few
//! kilobytes of `[[[[…` would overflow the decoder's stack (an abort, not a
//! recoverable panic), and a 64 MiB frame of two-byte values would become
//! gigabytes of `Value`s. Every decoded value passes through a guard that counts both.

use std::cell::Cell;

/// The deepest a value may nest (a list inside a list … counts one per level).
pub const MAX_DEPTH: u32 = 100;

/// The most values one message may hold, counting every element of generic
/// lists, records and the like. Packed number lists count as one value.
pub const MAX_VALUES: u64 = 1 << 20;

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Values left in the current message's budget; `None` outside [`budget`].
    static LEFT: Cell<Option<u64>> = const { Cell::new(None) };
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
        if let Some(left) = LEFT.get() {
            if left == 0 {
                return Err(format!("a message may hold at most {MAX_VALUES} values"));
            }
            LEFT.set(Some(left - 1));
        }
        DEPTH.set(depth + 1);
        Ok(Guard(()))
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        DEPTH.set(DEPTH.get().saturating_sub(1));
    }
}

/// Runs `decode` with a fresh budget of [`MAX_VALUES`] values.
pub(crate) fn budget<T>(decode: impl FnOnce() -> T) -> T {
    let outer = LEFT.replace(Some(MAX_VALUES));
    let saved_depth = DEPTH.replace(0);
    let result = decode();
    LEFT.set(outer);
    DEPTH.set(saved_depth);
    result
}
