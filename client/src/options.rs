//! [`ConnectOptions`]: how a [`crate::Connection`] connects: mode, metering,
//! frame size, tenant token and TLS files.

use sandcall_protocol::{Metering, Mode};
use std::path::PathBuf;

/// How to connect.
#[derive(Clone, Debug)]
pub struct ConnectOptions {
    /// The mode asked for in the handshake.
    pub mode: Mode,
    /// The largest frame this client sends or accepts, at most: after the
    /// handshake the connection adopts the server's limit (its
    /// `--frame-bytes`, [`Limits::frame_bytes`](sandcall_protocol::Limits))
    /// when that is lower. Default 1 GiB: what a server, hostile or not,
    /// can make this client buffer for one answer.
    pub max_frame: usize,
    /// Unrestricted mode only: guests write to the server's own stdout and
    /// stderr instead of returning their output with each answer
    /// ([`sandcall_protocol::EvalResult::output`], [`sandcall_protocol::InstanceInfo::output`], and
    /// [`crate::ClientError::output`] for errors). A sandboxed connection asking
    /// for it is refused in the handshake.
    pub host_stdio: bool,
    /// Sandboxed mode: bound calls by CPU time (the default) or by fuel,
    /// deterministic and reproducible but slower ([`Metering`]).
    pub metering: Metering,
    /// A name for the server's logs.
    pub client: String,
    /// The tenant's token, for a server started with `--tenants`.
    pub token: Option<String>,
    /// TLS: trust this CA (PEM) instead of the public web roots.
    pub ca: Option<PathBuf>,
    /// Mutual TLS: this client certificate (PEM) …
    pub cert: Option<PathBuf>,
    /// … and its private key (PEM).
    pub key: Option<PathBuf>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            mode: Mode::Sandboxed,
            max_frame: MAX_FRAME,
            host_stdio: false,
            metering: Metering::Cpu,
            client: concat!("sandcall/", env!("CARGO_PKG_VERSION")).to_string(),
            token: None,
            ca: None,
            cert: None,
            key: None,
        }
    }
}

/// The default of [`ConnectOptions::max_frame`]: 1 GiB.
pub const MAX_FRAME: usize = 1 << 30;
