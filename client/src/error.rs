//! The client's error type: what the server refused, or what broke on the way.

use sandcall_protocol::{CodecError, ErrorKind, GuestOutput, RemoteError};

/// Everything a [`crate::Connection`] call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{0}")]
    Remote(#[from] RemoteError),
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: String,
        #[source]
        source: std::io::Error,
    },
    /// Framing or encoding failed (i/o error, oversized frame, garbage).
    #[error("connection: {0}")]
    Codec(#[from] CodecError),
    /// The server closed the connection.
    #[error("the server closed the connection")]
    Closed,
    /// The address is not `HOST:PORT`, `sandcall://HOST:PORT` or
    /// `sandcalls://HOST:PORT`.
    #[error("bad address {address:?}: {reason}")]
    Address { address: String, reason: String },
    /// TLS could not be set up (files, or the handshake with the server).
    #[error("TLS to {addr}: {message}")]
    Tls { addr: String, message: String },
    /// The server answered something that does not fit the request.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// A request larger than a frame of this connection: the server's
    /// limit, adopted in the handshake (or `ConnectOptions::max_frame`, if
    /// lower). Nothing was sent; the connection still works.
    #[error(
        "the request takes {len} bytes, more than the {max} bytes a frame may hold; the server \
         operator can raise the limit with `sandcall-server --frame-bytes`"
    )]
    RequestTooLarge { len: usize, max: usize },
}

impl ClientError {
    /// The server's error kind, when the server refused the request.
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            ClientError::Remote(e) => Some(e.kind),
            _ => None,
        }
    }

    /// The server's error, when the server refused the request.
    pub fn remote(&self) -> Option<&RemoteError> {
        match self {
            ClientError::Remote(e) => Some(e),
            _ => None,
        }
    }

    /// What the guest wrote to stdout and stderr before the request failed
    /// (a panic message, a trace), when it wrote anything.
    pub fn output(&self) -> Option<&GuestOutput> {
        self.remote().and_then(|e| e.output.as_ref())
    }
}
