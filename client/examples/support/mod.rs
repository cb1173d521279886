//! Shared by the examples: talk to the server named on the command line, or
//! to one embedded in the example's own process.

use anyhow::Context;
use sandcall::Connection;
use sandcall_server::{EmbeddedServer, ServerConfig};

/// The server an example talks to.
pub struct Target {
    embedded: Option<EmbeddedServer>,
    /// Its address.
    pub addr: String,
}

impl Target {
    /// The address given as the first argument, or an embedded server with
    /// default limits when there is none.
    pub async fn from_args() -> anyhow::Result<Target> {
        Ok(match std::env::args().nth(1) {
            Some(addr) => Target {
                embedded: None,
                addr,
            },
            None => {
                // This example's process is the server's too: tune its
                // allocator as the `sandcall-server` binary does.
                sandcall_server::tune_allocator();
                let server = EmbeddedServer::start(ServerConfig::default()).await?;
                Target {
                    addr: server.addr().to_string(),
                    embedded: Some(server),
                }
            }
        })
    }

    /// A sandboxed connection to it.
    pub async fn connect(&self) -> anyhow::Result<Connection> {
        Connection::connect(self.addr.as_str())
            .await
            .with_context(|| format!("while connecting to {}", self.addr))
    }

    /// Stop the embedded server, if any, once every connection is closed.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(server) = self.embedded {
            server.stop().await?;
        }
        Ok(())
    }
}
