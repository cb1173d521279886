//! What one connection's requests share with the stores their guest code
//! runs in: where the guests' stdout and stderr go, and the token that
//! cancels the request under way.
//!
//! A connection runs one request at a time, so one context serves all of
//! its stores: [`CallContext::begin`] starts a request (a fresh token, an
//! empty capture), [`crate::store::arm`] hands the token to the store about
//! to run guest code, and the connection cancels it when the client sends
//! `Cancel` for that request ([`crate::connection`]). The store's epoch
//! callback then interrupts the guest at the next tick, and a guest waiting
//! in a host call is cut off at once ([`crate::cutoff`]).

use crate::guest_output::OutputCapture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

/// Bytes of stdout, and of stderr, a request keeps when no limit is given.
pub const DEFAULT_OUTPUT_BYTES: u64 = 64 << 10;

/// A connection's guest output and cancellation; cheap to clone.
#[derive(Clone, Debug)]
pub struct CallContext(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    output: OutputCapture,
    host_stdio: AtomicBool,
    cancel: Mutex<CancellationToken>,
}

impl Default for CallContext {
    fn default() -> Self {
        CallContext::new(DEFAULT_OUTPUT_BYTES)
    }
}

impl CallContext {
    /// A context keeping `output_bytes` of each stream per request.
    pub fn new(output_bytes: u64) -> Self {
        CallContext(Arc::new(Inner {
            output: OutputCapture::new(output_bytes),
            host_stdio: AtomicBool::new(false),
            cancel: Mutex::new(CancellationToken::new()),
        }))
    }

    /// Let guests write to the server's own stdio instead of the capture
    /// (unrestricted mode, when the client asked in its hello). Applies to
    /// stores whose guests have not used WASI yet.
    pub fn set_host_stdio(&self, on: bool) {
        self.0.host_stdio.store(on, Ordering::Relaxed);
    }

    /// Whether guests write to the server's own stdio.
    pub fn host_stdio(&self) -> bool {
        self.0.host_stdio.load(Ordering::Relaxed)
    }

    /// The captured output of the request under way.
    pub fn output(&self) -> &OutputCapture {
        &self.0.output
    }

    /// Start a request: a fresh cancellation token, and nothing captured.
    pub fn begin(&self) {
        *self.lock() = CancellationToken::new();
        self.0.output.clear();
    }

    /// The token of the request under way (cancelled: stop its guest).
    pub fn token(&self) -> CancellationToken {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, CancellationToken> {
        self.0
            .cancel
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
