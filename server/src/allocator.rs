//! Keeping freed memory for reuse instead of handing it back to the kernel.
//!
//! A call that sorts a million ints moves 4 MB buffers through a dozen
//! allocations (frame, decoded list, guest arguments, results, encoded
//! answer). glibc's defaults return each freed buffer to the kernel and the
//! next call pays a page fault for every 4 KiB of it again. Measured with
//! `sort-unstable` on 1,000,000 sorted ints through an embedded server
//! (median of 60 calls): 23 ms end to end with the defaults, 10 ms with the
//! thresholds below. The price is that the process keeps up to
//! [`TRIM_THRESHOLD`] of freed heap instead of returning it.
//!
//! This is a setting of the whole process, so the library never applies it:
//! binaries call [`tune_allocator`] from their `main`, and a program that
//! embeds the server keeps its own allocator settings.

use std::sync::Once;

/// Allocations up to this size come from the heap (glibc's maximum).
const MMAP_THRESHOLD: i32 = 32 << 20;

/// Free memory the heap keeps before it trims.
const TRIM_THRESHOLD: i32 = 256 << 20;

/// Tune glibc's allocator for the large, repeated buffers of calls that pass
/// lists by value: allocations up to 32 MiB come from the heap, and up to
/// 256 MiB of freed heap is kept for reuse.
///
/// Process-wide: it changes `malloc` for every thread of the process, so call
/// it from a binary's `main` (the `sandcall-server` binary does), never from
/// a library. Once per process; a no-op on other C libraries.
pub fn tune_allocator() {
    static TUNE: Once = Once::new();
    TUNE.call_once(tune);
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune() {
    // SAFETY: mallopt takes two integers and only changes glibc's own
    // tuning parameters; any value is safe (a bad one is refused with 0).
    let (mmap, trim) = unsafe {
        (
            libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD),
            libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        )
    };
    if mmap == 0 || trim == 0 {
        tracing::debug!("glibc refused the allocator thresholds");
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune() {}
