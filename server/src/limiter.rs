//! The resource limiter of a store: caps memory and table growth and
//! remembers what it refused, so that the server can tell "limit reached"
//! apart from other failures.

use wasmtime::ResourceLimiter;

/// Caps memory and table growth (`None`: wasm's own limits only) and the
/// instances, memories and tables of one store.
pub struct Limiter {
    memory_bytes: Option<usize>,
    table_elements: Option<usize>,
    instances: usize,
    refused: Option<String>,
    /// Sum of every memory's size, from the growths this limiter allowed.
    memory_total: usize,
}

impl Limiter {
    /// A limiter with these caps that has refused nothing yet.
    pub fn new(
        memory_bytes: Option<usize>,
        table_elements: Option<usize>,
        instances: usize,
    ) -> Self {
        Limiter {
            memory_bytes,
            table_elements,
            instances,
            refused: None,
            memory_total: 0,
        }
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
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.memory_bytes {
            Some(max) if desired > max => {
                self.refused = Some(format!(
                    "memory may not grow from {current} to {desired} bytes: the limit is {max} bytes"
                ));
                Ok(false)
            }
            _ => {
                self.memory_total = self
                    .memory_total
                    .saturating_add(desired.saturating_sub(current));
                Ok(true)
            }
        }
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        match self.table_elements {
            Some(max) if desired > max => {
                self.refused = Some(format!(
                    "table may not grow from {current} to {desired} elements: the limit is {max}"
                ));
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    fn instances(&self) -> usize {
        self.instances
    }

    fn memories(&self) -> usize {
        self.instances.saturating_mul(4)
    }

    fn tables(&self) -> usize {
        self.instances.saturating_mul(4)
    }
}
