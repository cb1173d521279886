//! The Sandcall wire protocol, shared by the server and the client.
//!
//! A connection is a TCP stream of length-prefixed frames. Each frame holds a
//! request id (8 bytes, big endian) followed by one bincode-encoded message.
//! The client opens with a [`Hello`]; the server answers with a [`Welcome`] or
//! an error. After that every [`Request`] carries an id chosen by the client and
//! the server's answer (a [`Response`] or a [`RemoteError`]) echoes it, so a
//! client may pipeline as many requests as it likes.
//!
//! # Versioning
//! One rule: both ends speak exactly the same [`PROTOCOL_VERSION`], and the
//! server refuses a client of any other version in the handshake. Messages are
//! bincode, which is not self-describing (a field added to a struct shifts
//! everything after it), so any change to any message bumps the version; no
//! message is read by a peer of another version. The one exception is the
//! handshake itself, which keeps its layout in every version so that two
//! peers can tell each other they differ: [`Hello`], and the [`RemoteError`]
//! that refuses it, whose [`ErrorKind`] travels as a stable numeric code.
//!
//! # Layout
//! - [`codec`]: framing (bytes ↔ id + message) with a bounded frame length.
//! - [`message`]: handshake, requests and responses.
//! - [`value`]: the value model: wasm values with exact bits, WIT values;
//!   [`core_types`]: core value types, signatures, reference hierarchies.
//! - [`packed`]: lists of numbers as one byte buffer.
//! - [`held`]: handles to GC objects and exceptions the server keeps.
//! - [`wit`]: component types and signatures, spelled as WIT.
//! - [`nesting`]: bounds on decoding: depth, values and bytes per message.
//! - [`exact`]: decoding that checks claimed lengths against the bytes left.
//! - [`error`]: structured error kinds and the remote error type.
//! - [`hint`]: words for error messages: did-you-mean, bounded lists, number ranges.
//! - [`info`]: what the server reports about itself and about instances.
//! - [`limits`]: the modes a client may ask for and the limits a server
//!   enforces, as reported to clients.

pub mod codec;
pub mod core_types;
pub mod error;
pub mod exact;
pub mod held;
pub mod hint;
pub mod info;
pub mod limits;
pub mod message;
pub mod nesting;
pub mod packed;
pub mod value;
pub mod wit;

pub use codec::{CodecError, DEFAULT_MAX_FRAME, MessageCodec};
pub use error::{ErrorKind, RemoteError};
pub use held::{HeldRef, RefClass};
pub use info::{ExportInfo, ExportKind, InstanceInfo, InstanceKind, ServerInfo};
pub use limits::{Limits, Metering, Mode};
pub use message::{
    CancelOutcome, Eval, EvalResult, Execute, GuestOutput, Hello, MemoryRead, MemoryWrite,
    PROTOCOL_VERSION, Request, Response, Welcome, hello_version,
};
pub use packed::{NumType, Number, Packed};
pub use value::{FuncType, RefKind, ValType, Value};
pub use wit::{WitFunc, WitType};

/// The id the server uses for errors that belong to no request (a frame it
/// could not read at all). Clients number their requests from 1.
pub const CONNECTION_ID: u64 = 0;
