//! The resource limiter of a store: caps the bytes of all its memories and
//! tables together (initial sizes included: wasmtime asks the limiter for
//! those too), takes the same bytes from its connection's and the server's
//! [`MemoryBudget`]s, and remembers what it refused, so that the server can
//! tell "limit reached" apart from other failures.

use crate::memory_budget::{MemoryBudget, TABLE_ELEMENT_BYTES};
use std::sync::Arc;
use wasmtime::ResourceLimiter;

/// The caps a limiter enforces.
#[derive(Clone, Debug)]
pub struct Caps {
    /// Bytes of memories and tables the store may hold in total (`None`:
    /// wasm's own limits only).
    pub store_bytes: Option<usize>,
    /// Elements one table may grow to (`None`: wasm's own limits only).
    pub table_elements: Option<usize>,
    /// Instances one store may create.
    pub instances: usize,
    /// Memories, and tables, one instance may define.
    pub memories: usize,
    pub tables: usize,
}

/// Caps memory and table growth and the instances, memories and tables of
/// one store; gives its bytes back to the shared budgets when dropped.
pub struct Limiter {
    caps: Caps,
    /// The connection's budget, then the server's.
    shared: [Arc<MemoryBudget>; 2],
    refused: Option<String>,
    /// Bytes of memories and tables taken from the budgets.
    held: usize,
    /// Sum of every linear memory's size, from the growths this limiter allowed.
    memory_total: usize,
}

impl Limiter {
    /// A limiter with these caps, sharing `connection` and `server`, that
    /// has refused nothing yet.
    pub fn new(caps: Caps, connection: Arc<MemoryBudget>, server: Arc<MemoryBudget>) -> Self {
        Limiter {
            caps,
            shared: [connection, server],
            refused: None,
            held: 0,
            memory_total: 0,
        }
    }

    /// Instances the store may create.
    pub fn instances(&self) -> usize {
        self.caps.instances
    }

    /// Bytes of linear memory the store's instances hold, as this limiter
    /// saw them grow.
    pub fn memory_total(&self) -> usize {
        self.memory_total
    }

    /// Whether a limit was refused since the last [`Limiter::take_refusal`].
    pub fn has_refusal(&self) -> bool {
        self.refused.is_some()
    }

    /// Take the message of the last limit that was refused, if any.
    pub fn take_refusal(&mut self) -> Option<String> {
        self.refused.take()
    }

    /// Take `bytes` more for the store, from its own cap and both shared
    /// budgets, or note why not.
    fn grow(&mut self, what: &str, bytes: usize) -> bool {
        let total = self.held.saturating_add(bytes);
        if let Some(max) = self.caps.store_bytes
            && total > max
        {
            self.refused = Some(format!(
                "{what} may not grow by {bytes} bytes: the limit is {max} bytes of memories \
                 and tables per instance (--memory-bytes) and it holds {}",
                self.held
            ));
            return false;
        }
        if let Some((max, whose)) = self.shared[0].store_cap()
            && total > max
        {
            self.refused = Some(format!(
                "{what} may not grow by {bytes} bytes: the limit is {max} bytes of memories \
                 and tables per instance ({whose}) and it holds {}",
                self.held
            ));
            return false;
        }
        for (i, budget) in self.shared.iter().enumerate() {
            if let Err(why) = budget.take(bytes) {
                for earlier in &self.shared[..i] {
                    earlier.release(bytes);
                }
                self.refused = Some(format!("{what} may not grow: {why}"));
                return false;
            }
        }
        self.held = total;
        true
    }
}

impl Drop for Limiter {
    fn drop(&mut self) {
        for budget in &self.shared {
            budget.release(self.held);
        }
    }
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let more = desired.saturating_sub(current);
        if !self.grow("memory", more) {
            return Ok(false);
        }
        self.memory_total = self.memory_total.saturating_add(more);
        Ok(true)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if let Some(max) = self.caps.table_elements
            && desired > max
        {
            self.refused = Some(format!(
                "table may not grow from {current} to {desired} elements: the limit is {max} \
                 (--table-elements)"
            ));
            return Ok(false);
        }
        let more = desired.saturating_sub(current);
        Ok(self.grow("table", more.saturating_mul(TABLE_ELEMENT_BYTES)))
    }

    fn instances(&self) -> usize {
        self.caps.instances
    }

    fn memories(&self) -> usize {
        self.caps.instances.saturating_mul(self.caps.memories)
    }

    fn tables(&self) -> usize {
        self.caps.instances.saturating_mul(self.caps.tables)
    }
}
