//! The command line's integration tests, in one binary: the `sandcall`
//! executable run as a user would, the spec scripts through the wire, the
//! hostile-guest corpus and the two modes, each against a real server on
//! 127.0.0.1:0.

mod cli;
mod conventions;
mod corpus;
mod fuzz;
mod linking;
mod modes;
mod scaffold;
mod shell;
mod wast;

use sandcall::{ClientError, ConnectOptions, Connection, Mode};
use sandcall_server::{EmbeddedServer, LimitConfig, ServerConfig};
use std::path::Path;

/// A real server with default limits.
pub async fn server() -> EmbeddedServer {
    EmbeddedServer::start(ServerConfig::default())
        .await
        .expect("server starts")
}

/// A real server that also offers unrestricted mode, with `dir` as the
/// directory its unrestricted guests see.
pub async fn server_allowing_unrestricted(limits: LimitConfig, dir: &Path) -> EmbeddedServer {
    EmbeddedServer::start(ServerConfig {
        limits,
        allow_unrestricted: true,
        unrestricted_dir: Some(dir.to_path_buf()),
        ..ServerConfig::default()
    })
    .await
    .expect("server starts")
}

/// A connection to `server` in `mode`.
pub async fn connect_in(server: &EmbeddedServer, mode: Mode) -> Result<Connection, ClientError> {
    let options = ConnectOptions {
        mode,
        ..ConnectOptions::default()
    };
    Connection::connect_with(server.addr(), options).await
}
