//! Memory budgets shared by many stores: one per connection and one per
//! server. A store's limiter takes bytes from both as its memories and tables
//! grow (initial sizes included) and gives them back when the store is
//! dropped, so that neither many instances on one connection nor many
//! connections can hold more than their total.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes a table element is counted as: a function reference is a pointer.
pub const TABLE_ELEMENT_BYTES: usize = 8;

/// A total of bytes that the stores sharing it may hold at once.
#[derive(Debug)]
pub struct MemoryBudget {
    /// What is budgeted, for error messages ("this connection's memory").
    what: &'static str,
    /// The flag that sets the total, for error messages.
    flag: &'static str,
    /// The total (`None`: counted, not capped).
    limit: Option<usize>,
    /// A cap on each store drawing on this budget, lower than the
    /// server's `--memory-bytes`, and whose ceiling it is (a tenant's).
    store_cap: Option<(usize, String)>,
    held: AtomicUsize,
}

impl MemoryBudget {
    /// A budget of `limit` bytes (`None`: unlimited), described as `what`
    /// and set by `flag`.
    pub fn new(what: &'static str, flag: &'static str, limit: Option<usize>) -> Arc<Self> {
        Self::with_store_cap(what, flag, limit, None)
    }

    /// As [`MemoryBudget::new`], and each store drawing on it may hold at
    /// most `store_cap`'s bytes, the ceiling it names (a tenant's memory per
    /// instance).
    pub fn with_store_cap(
        what: &'static str,
        flag: &'static str,
        limit: Option<usize>,
        store_cap: Option<(usize, String)>,
    ) -> Arc<Self> {
        Arc::new(MemoryBudget {
            what,
            flag,
            limit,
            store_cap,
            held: AtomicUsize::new(0),
        })
    }

    /// The cap on each store drawing on this budget, and whose it is.
    pub fn store_cap(&self) -> Option<(usize, &str)> {
        self.store_cap.as_ref().map(|(b, who)| (*b, who.as_str()))
    }

    /// Take `bytes` from the budget.
    ///
    /// # Errors
    /// Why not, naming the budget and its flag, when that would exceed the
    /// total; nothing is taken then.
    pub fn take(&self, bytes: usize) -> Result<(), String> {
        let Some(limit) = self.limit else {
            self.held.fetch_add(bytes, Ordering::Relaxed);
            return Ok(());
        };
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(bytes).filter(|&total| total <= limit)
            })
            .map(|_| ())
            .map_err(|held| {
                format!(
                    "{} budget is {limit} bytes (--{}) and {held} are held; {bytes} more \
                     would exceed it",
                    self.what, self.flag
                )
            })
    }

    /// Give back `bytes` taken earlier.
    pub fn release(&self, bytes: usize) {
        self.held.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Bytes held now (also for `sandcall_guest_memory_bytes`).
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_up_to_the_total_and_releases() {
        let budget = MemoryBudget::new("the server's memory", "server-memory-bytes", Some(100));
        budget.take(60).unwrap();
        let e = budget.take(41).unwrap_err();
        assert!(e.contains("--server-memory-bytes"), "{e}");
        assert_eq!(budget.held(), 60, "a refusal takes nothing");
        budget.take(40).unwrap();
        budget.release(100);
        assert_eq!(budget.held(), 0);
    }
}
