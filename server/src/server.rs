//! The listener: accepts connections up to the limit and serves each in its
//! own task until shutdown.

use crate::access::{Access, HANDSHAKE_RESERVE};
use crate::config::ServerConfig;
use crate::connection;
use crate::http::Health;
use crate::runtime::{Runtime, Runtimes};
use futures_util::FutureExt;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
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
    let listeners = Listeners {
        sessions: listener,
        metrics: None,
    };
    run_with(listeners, config, CancellationToken::new(), shutdown).await
}

/// What a server listens on: sessions, and `--metrics` (HTTP `/metrics` and
/// `/healthz`, the `http` module) when given.
pub struct Listeners {
    pub sessions: TcpListener,
    pub metrics: Option<TcpListener>,
}

/// Serve `listeners` until `drain` or `shutdown` is cancelled. `drain`
/// (SIGTERM) turns `/healthz` to 503, closes the listener and gives the
/// sessions under way up to `config.drain_timeout` to end by themselves;
/// `shutdown` (SIGINT, or a second SIGTERM), also during a drain, stops
/// the guests and ends every session once its request under way is
/// answered.
///
/// # Errors
/// As [`run`].
pub async fn run_with(
    listeners: Listeners,
    config: ServerConfig,
    drain: CancellationToken,
    shutdown: CancellationToken,
) -> Result<(), ServerError> {
    let runtimes = runtimes(&config)?;
    let access = Arc::new(Access::new(&config)?);
    let http_stop = CancellationToken::new();
    if let Some(metrics) = listeners.metrics {
        let health = Health {
            drain: drain.clone(),
            shutdown: shutdown.clone(),
        };
        let serving = crate::http::serve(metrics, runtimes.clone(), health, http_stop.clone());
        tokio::spawn(serving);
    }
    let draining = Drain {
        token: drain,
        timeout: config.drain_timeout.unwrap_or(DEFAULT_DRAIN_TIMEOUT),
    };
    serve_draining(listeners.sessions, runtimes, access, draining, shutdown).await;
    http_stop.cancel();
    Ok(())
}

/// How long a drain waits for sessions to end by default.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(30);

/// A drain: once `token` is cancelled, accept no more and wait up to
/// `timeout` for the sessions under way.
pub struct Drain {
    pub token: CancellationToken,
    pub timeout: Duration,
}

/// Accept connections on `listener` for `runtimes` until `shutdown` is
/// cancelled; then stop the guests still running and wait for every
/// connection to end.
pub async fn serve(
    listener: TcpListener,
    runtimes: Runtimes,
    access: Arc<Access>,
    shutdown: CancellationToken,
) {
    let never = Drain {
        token: CancellationToken::new(),
        timeout: Duration::ZERO,
    };
    serve_draining(listener, runtimes, access, never, shutdown).await;
}

/// [`serve`], and once `drain` fires: stop accepting (the listener is
/// closed, so new connections are refused at once and a balancer moves
/// on), let the sessions under way go on for up to `drain.timeout`, then
/// shut down as [`serve`] does. Up to [`HANDSHAKE_RESERVE`] sockets may be
/// in their handshake at once; a session takes one of the `--connections`
/// slots only once its hello is accepted, so silent sockets lock nobody out.
pub async fn serve_draining(
    listener: TcpListener,
    runtimes: Runtimes,
    access: Arc<Access>,
    drain: Drain,
    shutdown: CancellationToken,
) {
    let connections = runtimes.sandboxed.limits().connections.max(1) as usize;
    let slots = Arc::new(Semaphore::new(connections));
    // A socket arriving while every handshake slot is taken evicts the
    // oldest handshake rather than wait (crate::handshake::Pending).
    let handshakes = crate::handshake::Pending::new(HANDSHAKE_RESERVE);
    let tasks = TaskTracker::new();
    // Ends the sessions: at shutdown, or when a drain runs out of time.
    let stop = shutdown.child_token();
    let stopping = async {
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = drain.token.cancelled() => {}
        }
    };
    tokio::pin!(stopping);
    loop {
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
            () = &mut stopping => break,
        };
        let Some(permit) = handshakes.admit().await else {
            break;
        };
        let open = crate::metrics::get().connection();
        let runtimes = runtimes.clone();
        let shutdown = stop.child_token();
        let (access, slots) = (access.clone(), slots.clone());
        tasks.spawn(async move {
            // A bug that panics ends this connection only; say so in the log.
            let served = connection::serve(socket, runtimes, access, permit, slots, shutdown);
            if AssertUnwindSafe(served).catch_unwind().await.is_err() {
                tracing::error!("a connection ended in a panic");
            }
            drop(open);
        });
    }
    drop(listener);
    tasks.close();
    if !shutdown.is_cancelled() && !tasks.is_empty() {
        tracing::info!(
            "draining: waiting up to {} s for {} connection(s)",
            drain.timeout.as_secs_f64(),
            tasks.len()
        );
        tokio::select! {
            () = tasks.wait() => {}
            () = tokio::time::sleep(drain.timeout) => {
                tracing::warn!("drain timeout: ending {} connection(s)", tasks.len());
            }
            () = shutdown.cancelled() => {}
        }
    }
    tracing::info!("shutting down; waiting for {} connection(s)", tasks.len());
    stop.cancel();
    runtimes.stop_guests();
    tasks.wait().await;
}

/// The sandboxed runtimes (CPU-time budgets and fuel), and the unrestricted
/// one when it is allowed (with a warning: its guests get the host's
/// environment, stdio and a directory).
pub fn runtimes(config: &ServerConfig) -> Result<Runtimes, ServerError> {
    let engine_error = |e: wasmtime::Error| ServerError::Engine(format!("{e:#}"));
    let (sandboxed, fuel) = Runtime::sandboxed(config.limits.clone()).map_err(engine_error)?;
    if !config.allow_unrestricted {
        return Ok(Runtimes {
            sandboxed,
            fuel,
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
        fuel,
        unrestricted: Some(unrestricted),
    })
}
