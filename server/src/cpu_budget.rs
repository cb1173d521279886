//! CPU-time budgets: preemption without metering. Guest code on the CPU
//! engine carries no fuel checks; instead the CPU time its thread spends
//! inside each poll of the guest's future is read from the thread CPU clock
//! (`CLOCK_THREAD_CPUTIME_ID`) and added up, and the store's epoch callback
//! (every [`crate::runtime::EPOCH_TICK`]) stops the guest once the total,
//! with the part of the poll under way, passes its budget.
//!
//! Charged per poll rather than per thread, because tokio may resume the
//! guest's future on another worker thread after each yield; time the
//! thread spends waiting for a core (other guests, other processes) is not
//! the guest's and is not charged. A guest stops at most one tick of its
//! own CPU time past its budget (more only if the epoch ticker itself is
//! starved of a core). Until its first tick a call is timed by the cheaper
//! wall clock ([`CpuMeter`]).

use std::future::Future;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

/// CPU time the calling thread has used, in ns.
pub fn thread_cpu_ns() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through a pointer to a
    // valid, exclusively borrowed local; the clock id is a constant the
    // kernel has supported since Linux 2.6.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    if rc != 0 {
        return 0;
    }
    (now.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(now.tv_nsec as u64)
}

/// No budget: the guest is not stopped for its CPU time.
const UNLIMITED: u64 = u64::MAX;

/// Wall-clock ns since a fixed moment of this process (read through the
/// vDSO: a few ns, where the thread CPU clock is a system call).
fn wall_ns() -> u64 {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// The CPU time of the guest code under way in one store: its budget, what
/// finished polls have charged, and where the poll under way started.
/// Shared between the store (its epoch callback) and the future that polls
/// the guest, which holds the store borrowed; both run on the same thread at
/// any one time, so relaxed atomics suffice.
///
/// Reading the thread CPU clock is a system call (~0.3 µs, taking the run
/// queue's lock), twice the cost of a trivial call's guest code. So a call
/// is timed by the wall clock until its first epoch tick: a call that ends
/// before one (nearly all) is charged its wall time, which is at least its
/// CPU time and at most a tick. From its first tick on, the guest is timed
/// by the thread CPU clock, around every later poll.
#[derive(Debug)]
pub struct CpuMeter {
    budget_ns: AtomicU64,
    used_ns: AtomicU64,
    /// The thread CPU clock where the poll under way started to be timed
    /// by it (0: this poll is timed by the wall clock so far).
    poll_cpu: AtomicU64,
    /// The wall clock ([`wall_ns`]) when the poll under way started.
    poll_wall: AtomicU64,
    /// The guest has seen an epoch tick: its polls are timed by the thread
    /// CPU clock from their start.
    long: AtomicBool,
}

impl Default for CpuMeter {
    fn default() -> Self {
        CpuMeter {
            budget_ns: AtomicU64::new(UNLIMITED),
            used_ns: AtomicU64::new(0),
            poll_cpu: AtomicU64::new(0),
            poll_wall: AtomicU64::new(0),
            long: AtomicBool::new(false),
        }
    }
}

impl CpuMeter {
    /// Start the guest code about to run with `budget_ms` of CPU time
    /// (`None`: not metered), nothing charged yet.
    pub fn arm(&self, budget_ms: Option<u64>) {
        let budget = budget_ms.map_or(UNLIMITED, |ms| ms.saturating_mul(1_000_000));
        self.budget_ns.store(budget, Ordering::Relaxed);
        self.used_ns.store(0, Ordering::Relaxed);
        self.long.store(false, Ordering::Relaxed);
    }

    /// Whether the guest code under way has a CPU-time budget.
    pub fn metered(&self) -> bool {
        self.budget_ns.load(Ordering::Relaxed) != UNLIMITED
    }

    /// CPU time charged since [`CpuMeter::arm`], in ns (0 when not metered).
    pub fn used_ns(&self) -> u64 {
        if self.metered() {
            self.used_ns.load(Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Whether the guest, in the middle of a poll on this thread (at an
    /// epoch tick), has used up its budget: what earlier polls charged plus
    /// this poll so far. From here on its polls are timed by the thread CPU
    /// clock; what this poll ran before is charged by the wall clock.
    pub fn exhausted(&self) -> bool {
        let budget = self.budget_ns.load(Ordering::Relaxed);
        if budget == UNLIMITED {
            return false;
        }
        let now = thread_cpu_ns();
        let mut since = self.poll_cpu.load(Ordering::Relaxed);
        if since == 0 {
            let before = wall_ns().saturating_sub(self.poll_wall.load(Ordering::Relaxed));
            self.used_ns.fetch_add(before, Ordering::Relaxed);
            self.poll_cpu.store(now, Ordering::Relaxed);
            self.long.store(true, Ordering::Relaxed);
            since = now;
        }
        let this_poll = now.saturating_sub(since);
        self.used_ns
            .load(Ordering::Relaxed)
            .saturating_add(this_poll)
            >= budget
    }

    /// Run `guest` charging the time of each of its polls, when the guest
    /// is metered; otherwise just run it.
    pub async fn charge<F: Future>(&self, guest: F) -> F::Output {
        if !self.metered() {
            return guest.await;
        }
        let mut guest = std::pin::pin!(guest);
        std::future::poll_fn(|cx| {
            let long = self.long.load(Ordering::Relaxed);
            self.poll_cpu
                .store(if long { thread_cpu_ns() } else { 0 }, Ordering::Relaxed);
            if !long {
                self.poll_wall.store(wall_ns(), Ordering::Relaxed);
            }
            let poll = guest.as_mut().poll(cx);
            let spent = match self.poll_cpu.load(Ordering::Relaxed) {
                0 => wall_ns().saturating_sub(self.poll_wall.load(Ordering::Relaxed)),
                since => thread_cpu_ns().saturating_sub(since),
            };
            self.used_ns.fetch_add(spent, Ordering::Relaxed);
            poll
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn polls_are_charged_and_the_budget_is_seen_mid_poll() {
        let meter = Arc::new(CpuMeter::default());
        assert!(!meter.metered());
        assert_eq!(meter.clone().charge(async { 7 }).await, 7);
        assert_eq!(meter.used_ns(), 0, "unmetered guests are not charged");

        meter.arm(Some(5));
        let seen = meter
            .clone()
            .charge({
                let meter = meter.clone();
                async move {
                    // Spin ~5 ms of this thread's CPU inside one poll.
                    let start = thread_cpu_ns();
                    while thread_cpu_ns() - start < 5_000_000 {
                        std::hint::black_box(0);
                    }
                    meter.exhausted()
                }
            })
            .await;
        assert!(seen, "the budget is exhausted mid-poll");
        let used = meter.used_ns();
        assert!((5_000_000..50_000_000).contains(&used), "charged {used} ns");
    }
}
