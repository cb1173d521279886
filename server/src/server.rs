//! The listener: accepts connections up to the limit and serves each in its
//! own task until shutdown.

use crate::access::{Access, HANDSHAKE_RESERVE};
use crate::config::ServerConfig;
use crate::connection;
use crate::runtime::{Runtime, Runtimes};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Errors starting a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error("cannot build the wasm engine: {0}")]
    Engine(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serve `listener` until `shutdown` is cancelled, then let every connection
/// finish the request it is running and return.
///
/// # Errors
/// When the engine cannot be built or the configuration is invalid (an
/// unrestricted directory that is not one).
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let runtimes = runtimes(&config)?;
    let access = Arc::new(Access::new(&config)?);
    serve(listener, runtimes, access, shutdown).await;
    Ok(())
}

/// Accept connections on `listener` for `runtimes` until `shutdown` is
/// cancelled; then stop the guests still running and wait for every
/// connection to end. Up to [`HANDSHAKE_RESERVE`] sockets may be in their
/// handshake at once; a session takes one of the `--connections` slots only
/// once its hello is accepted, so silent sockets lock nobody out.
pub async fn serve(
    listener: TcpListener,
    runtimes: Runtimes,
    access: Arc<Access>,
    shutdown: CancellationToken,
) {
    let connections = runtimes.sandboxed.limits().connections.max(1) as usize;
    let slots = Arc::new(Semaphore::new(connections));
    let handshakes = Arc::new(Semaphore::new(HANDSHAKE_RESERVE));
    let tasks = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            permit = handshakes.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = shutdown.cancelled() => break,
        };
        let socket = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, _)) => socket,
                Err(e) => {
                    // Out of file descriptors and the like: pause, then go on.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        let runtimes = runtimes.clone();
        let shutdown = shutdown.child_token();
        let (access, slots) = (access.clone(), slots.clone());
        tasks.spawn(async move {
            // A bug that panics ends this connection only; say so in the log.
            let served = connection::serve(socket, runtimes, access, permit, slots, shutdown);
            if AssertUnwindSafe(served).catch_unwind().await.is_err() {
                tracing::error!("a connection ended in a panic");
            }
        });
    }
    tracing::info!("shutting down; waiting for {} connection(s)", tasks.len());
    runtimes.stop_guests();
    tasks.close();
    tasks.wait().await;
}

/// The sandboxed runtime, and the unrestricted one when it is allowed (with
/// a warning: its guests get the host's environment, stdio and a directory).
pub fn runtimes(config: &ServerConfig) -> Result<Runtimes, ServerError> {
    let engine_error = |e: wasmtime::Error| ServerError::Engine(format!("{e:#}"));
    let sandboxed = Runtime::sandboxed(config.limits.clone()).map_err(engine_error)?;
    if !config.allow_unrestricted {
        return Ok(Runtimes {
            sandboxed,
            unrestricted: None,
        });
    }
    let dir = match &config.unrestricted_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()?,
    };
    if !dir.is_dir() {
        return Err(ServerError::Config(format!(
            "--unrestricted-dir {} is not a directory",
            dir.display()
        )));
    }
    tracing::warn!(
        dir = %dir.display(),
        "unrestricted mode is allowed: clients that ask for it run guests without fuel, \
         memory caps or deadlines, with the host's environment, stdio and this directory \
         through WASI"
    );
    let unrestricted = Runtime::unrestricted(config.limits.clone(), dir).map_err(engine_error)?;
    Ok(Runtimes {
        sandboxed,
        unrestricted: Some(unrestricted),
    })
}
