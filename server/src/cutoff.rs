//! Guest code cut off at its deadline or at shutdown even while it waits in
//! a host call. Epoch ticks stop a guest that computes, but a guest blocked
//! in WASI (`poll_oneoff`, `wasi:io/poll` with a clock subscription) runs no
//! wasm, so no tick reaches it: a 100 ms call could sleep for seconds and
//! hold shutdown. Racing the call against the deadline and the shutdown token
//! closes that gap; dropping wasmtime's call future unwinds the guest's fiber
//! and leaves the store usable.

use crate::store::Stop;
use std::future::Future;
use std::time::Instant;
use tokio_util::sync::CancellationToken;

/// When guest code must stop: its deadline, if any, and the token cancelled
/// at shutdown.
#[derive(Clone, Debug)]
pub struct Cutoff {
    pub deadline: Option<Instant>,
    pub stopping: CancellationToken,
    /// Cancelled when the client cancels the request.
    pub cancel: CancellationToken,
}

impl Cutoff {
    /// Run `guest` (a wasmtime call or instantiation future) until it ends,
    /// the deadline passes or the server shuts down, whichever comes first.
    ///
    /// # Errors
    /// Why `guest` was dropped unfinished.
    pub async fn run<T>(&self, guest: impl Future<Output = T>) -> Result<T, Stop> {
        let deadline = async {
            match self.deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            // The guest first: a call that finished as its deadline passed
            // keeps its result.
            biased;
            done = guest => Ok(done),
            () = deadline => Err(Stop::Deadline),
            () = self.stopping.cancelled() => Err(Stop::Shutdown),
            () = self.cancel.cancelled() => Err(Stop::Cancelled),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_sleeping_future_is_cut_at_the_deadline_or_at_shutdown() {
        let sleep = || tokio::time::sleep(Duration::from_secs(30));
        let soon = Cutoff {
            deadline: Some(Instant::now() + Duration::from_millis(20)),
            stopping: CancellationToken::new(),
            cancel: CancellationToken::new(),
        };
        let started = Instant::now();
        assert_eq!(soon.run(sleep()).await, Err(Stop::Deadline));
        assert!(started.elapsed() < Duration::from_secs(5));

        let stopping = CancellationToken::new();
        let never = Cutoff {
            deadline: None,
            stopping: stopping.clone(),
            cancel: CancellationToken::new(),
        };
        stopping.cancel();
        assert_eq!(never.run(sleep()).await, Err(Stop::Shutdown));

        let open = Cutoff {
            deadline: Some(Instant::now() + Duration::from_secs(30)),
            stopping: CancellationToken::new(),
            cancel: CancellationToken::new(),
        };
        assert_eq!(open.run(async { 7 }).await, Ok(7));
    }
}
