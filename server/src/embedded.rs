//! A server inside another program: on a port of its own in the caller's
//! tokio runtime, stopped by [`EmbeddedServer::stop`] or when dropped.

use crate::cache::CacheStats;
use crate::config::ServerConfig;
use crate::runtime::Runtimes;
use crate::server::{ServerError, runtimes, serve};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A server running inside this process, on a port of its own.
///
/// Dropping it signals a graceful shutdown without waiting for it; call
/// [`EmbeddedServer::stop`] to wait until every connection has ended.
pub struct EmbeddedServer {
    addr: SocketAddr,
    runtimes: Runtimes,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl EmbeddedServer {
    /// Start a server on `127.0.0.1:0` in the current tokio runtime.
    ///
    /// # Errors
    /// When the engine cannot be built, the configuration is invalid, or the
    /// port cannot be bound.
    pub async fn start(config: ServerConfig) -> Result<EmbeddedServer, ServerError> {
        let runtimes = runtimes(&config)?;
        let access = std::sync::Arc::new(crate::access::Access::new(&config)?);
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(serve(listener, runtimes.clone(), access, shutdown.clone()));
        Ok(EmbeddedServer {
            addr,
            runtimes,
            shutdown,
            task,
        })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What its compiled-module cache has done so far: uploads found
    /// compiled (hits), uploads compiled (misses), and modules held. Both
    /// modes are counted together.
    pub fn cache_stats(&self) -> CacheStats {
        self.runtimes.cache_stats()
    }

    /// Stop it and wait until every connection has ended.
    ///
    /// # Errors
    /// When the server's task panicked.
    pub async fn stop(mut self) -> Result<(), ServerError> {
        self.shutdown.cancel();
        (&mut self.task)
            .await
            .map_err(|e| ServerError::Engine(format!("server task failed: {e}")))
    }
}

impl Drop for EmbeddedServer {
    /// Tell the server to stop: it stops accepting, interrupts running
    /// guests and closes each connection once its request under way is
    /// answered, in the background.
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
