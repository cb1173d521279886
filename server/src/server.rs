//! The listener: accepts connections up to the limit and serves each in its
//! own task until shutdown.

use crate::config::LimitConfig;
use crate::connection;
use crate::runtime::{Runtime, Runtimes};
use futures_util::FutureExt;
use std::net::SocketAddr;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Everything a server is started with, besides its listener.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    /// The sandboxed mode's limits (and the wire limits of both modes).
    pub limits: LimitConfig,
    /// Offer unrestricted mode (no fuel, no memory cap, WASI with the host's
    /// environment, stdio and a directory) to clients that ask for it.
    pub allow_unrestricted: bool,
    /// The host directory unrestricted guests see as `.` through WASI
    /// (default: the server's working directory).
    pub unrestricted_dir: Option<std::path::PathBuf>,
}

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
/// Tunes the process's allocator to keep freed buffers for reuse
/// ([`crate::allocator`]): large lists otherwise cost a page fault per 4 KiB
/// on every call.
///
/// # Errors
/// When the engine cannot be built.
pub async fn run(
    listener: TcpListener,
    config: ServerConfig,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    crate::allocator::keep_freed_memory();
    let runtimes = runtimes(&config)?;
    let slots = Arc::new(Semaphore::new(config.limits.connections.max(1) as usize));
    let tasks = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
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
        tasks.spawn(async move {
            // A bug that panics ends this connection only; say so in the log.
            let served = AssertUnwindSafe(connection::serve(socket, runtimes, shutdown));
            if served.catch_unwind().await.is_err() {
                tracing::error!("a connection ended in a panic");
            }
            drop(permit);
        });
    }
    tracing::info!("shutting down; waiting for {} connection(s)", tasks.len());
    runtimes.stop_guests();
    tasks.close();
    tasks.wait().await;
    Ok(())
}

/// The sandboxed runtime, and the unrestricted one when it is allowed (with
/// a warning: its guests get the host's environment, stdio and a directory).
fn runtimes(config: &ServerConfig) -> Result<Runtimes, ServerError> {
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

/// A server running inside this process, on a port of its own.
pub struct EmbeddedServer {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<Result<(), ServerError>>,
}

impl EmbeddedServer {
    /// Start a server on `127.0.0.1:0` in the current tokio runtime.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: ServerConfig) -> Result<EmbeddedServer, ServerError> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(run(listener, config, shutdown.clone()));
        Ok(EmbeddedServer {
            addr,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stop it and wait until every connection has ended.
    ///
    /// # Errors
    /// What the server failed with, if it failed.
    pub async fn stop(self) -> Result<(), ServerError> {
        self.shutdown.cancel();
        match self.task.await {
            Ok(result) => result,
            Err(e) => Err(ServerError::Engine(format!("server task failed: {e}"))),
        }
    }
}
