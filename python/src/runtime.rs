//! The module's tokio runtime, and running one client future on it with the
//! connection's timeout.

use sandcall::ClientError;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

/// Why a call did not produce its answer.
pub enum Failure {
    /// The Rust client's error (the server's refusal, or the connection's).
    Client(ClientError),
    /// The `timeout` given to `connect` ran out; the call was abandoned, and
    /// the connection cancels it on the server at its next use.
    Timeout(Duration),
    /// `close()` was called on this connection.
    Closed,
    /// A signal handler raised (Ctrl-C's `KeyboardInterrupt`): the call was
    /// abandoned as on a timeout.
    Interrupted(pyo3::PyErr),
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        Failure::Client(e)
    }
}

/// One current-thread runtime for the whole module: each call runs on the
/// calling thread (no hop to a worker and back, which is what a trivial
/// `eval`'s latency is made of), and threads that call at the same time take
/// turns driving its I/O.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime (the process is out of threads or file descriptors)")
    })
}

/// How often a waiting call lets Python run its signal handlers.
const SIGNAL_CHECK: Duration = Duration::from_millis(50);

/// Run `future` to completion on the module's runtime, within `timeout`.
/// Called with the GIL released. Every [`SIGNAL_CHECK`] it takes the GIL
/// back for a moment to run Python's signal handlers, so that Ctrl-C stops
/// a long call (the connection cancels it on the server at its next use).
pub fn block_on<T>(
    timeout: Option<Duration>,
    future: impl Future<Output = Result<T, ClientError>>,
) -> Result<T, Failure> {
    runtime().block_on(async {
        let work = async {
            match timeout {
                None => Ok(future.await?),
                Some(limit) => match tokio::time::timeout(limit, future).await {
                    Ok(result) => Ok(result?),
                    Err(_) => Err(Failure::Timeout(limit)),
                },
            }
        };
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                result = &mut work => return result,
                () = tokio::time::sleep(SIGNAL_CHECK) => {
                    if let Err(e) = pyo3::Python::attach(|py| py.check_signals()) {
                        return Err(Failure::Interrupted(e));
                    }
                }
            }
        }
    })
}
