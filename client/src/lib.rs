//! `sandcall`: the client of a Sandcall server.
//!
//! Connect, upload WebAssembly (core modules or components) with `execute`,
//! call its exports with `eval`, and look at or change its state, as RPyC's
//! classic mode does with Python code, but with everything running in the
//! server's wasm sandbox.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandcall::ClientError> {
//! use sandcall::{Connection, Value};
//! let mut conn = Connection::connect("127.0.0.1:18812").await?;
//! conn.execute("m", r#"(module (func (export "add") (param i32 i32) (result i32)
//!     local.get 0 local.get 1 i32.add))"#).await?;
//! let sum = conn.eval("m", "add", &[Value::I32(2), Value::I32(40)]).await?;
//! assert_eq!(sum, vec![Value::I32(42)]);
//! # Ok(()) }
//! ```
//!
//! # Layout
//! - [`connection`]: [`Connection`]: the handshake, send/recv for pipelining,
//!   cancellation, reconnecting; [`requests`]: one method per request;
//!   [`options`]: [`ConnectOptions`];
//!   [`address`]: `sandcalls://` (TLS) and plaintext addresses; [`tls`]: rustls setup.
//! - [`cluster`]: [`Cluster`], sessions on several servers (or one balancer)
//!   used as one: `execute` everywhere, `map` with failover.
//! - [`error`]: the error type, [`ClientError`].
//! - [`text`]: core values as typed and printed (WAVE syntax).
//! - [`wave`]: component values as WAVE text, typed by their WIT types.
//!
//! The command line (`sandcall`) is the crate `sandcall-cli`; this library
//! depends on neither the server nor wasmtime.

pub mod address;
pub mod cluster;
pub mod connection;
pub mod error;
pub mod options;
pub mod requests;
pub mod text;
pub mod tls;
pub mod wave;

pub use cluster::{Cluster, ClusterError, MemberStats};
pub use connection::{ConnectOptions, Connection, Reply};
pub use error::ClientError;
pub use sandcall_protocol::{
    CancelOutcome, ErrorKind, Eval, EvalResult, GuestOutput, HeldRef, InstanceInfo, Metering, Mode,
    RefClass, RemoteError, Request, Response, Value, WitFunc, WitType,
};
