//! Small helpers shared by every measurement: percentiles, medians, the
//! random input lists, and how numbers are printed.

use std::time::Duration;

/// The `p` quantile (0.0–1.0) of `times`, nearest rank; sorts `times`.
///
/// # Panics
/// If `times` is empty.
pub fn pct(times: &mut [Duration], p: f64) -> Duration {
    times.sort_unstable();
    times[((times.len() - 1) as f64 * p).round() as usize]
}

/// The median of `times`; sorts `times`.
pub fn median(times: &mut [Duration]) -> Duration {
    pct(times, 0.5)
}

/// Deterministic pseudo-random ints over the whole i32 range: the same
/// lists as `make demo` and `sandcall compare`.
pub use sandcall_guests::random_ints;

/// `n` with thousands separators: 1,000,000.
pub use sandcall::text::thousands;

/// A duration in nanoseconds, as stored in `results.json`.
pub fn ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// A time in nanoseconds, printed with a unit that suits its size.
pub fn time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{ns:.0} ns")
    } else if ns < 1e6 {
        format!("{:.1} µs", ns / 1e3)
    } else if ns < 1e9 {
        format!("{:.2} ms", ns / 1e6)
    } else {
        format!("{:.3} s", ns / 1e9)
    }
}

/// A byte count in KiB or MiB.
pub fn bytes(b: f64) -> String {
    if b.abs() < 1024.0 * 1024.0 {
        format!("{:.1} KiB", b / 1024.0)
    } else {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    }
}

/// A ratio such as `1.07×`.
pub fn ratio(r: f64) -> String {
    if r >= 100.0 {
        format!("{r:.0}×")
    } else if r >= 10.0 {
        format!("{r:.1}×")
    } else {
        format!("{r:.2}×")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(time(9_400.0), "9.4 µs");
        assert_eq!(time(2.2e9), "2.200 s");
        assert_eq!(ratio(1.074), "1.07×");
    }

    #[test]
    fn percentiles() {
        let mut t: Vec<Duration> = (1..=100).map(Duration::from_micros).collect();
        assert_eq!(median(&mut t), Duration::from_micros(51));
        assert_eq!(pct(&mut t, 0.99), Duration::from_micros(99));
    }
}
