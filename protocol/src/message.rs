//! Handshake, requests and responses.
//!
//! Byte buffers (modules, memory) are encoded as one length and the raw bytes
//! (`serde_bytes`), not as a sequence of one-byte elements.
//!
//! To add a request kind: append a variant to [`Request`] (and its answer to
//! [`Response`]) and bump [`PROTOCOL_VERSION`]; then its arm in the server's
//! `Session::handle` (an exhaustive match), a `Connection` method, a line
//! command in the CLI's `script.rs`, and a test over real TCP in
//! `client/tests/integration/requests.rs`.

use crate::info::{InstanceInfo, ServerInfo};
use crate::limits::{Metering, Mode};
use crate::value::Value;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks. Peers must speak the same one:
/// the server refuses any other in the handshake (see the crate docs).
///
/// 2: `Limits` reports deadlines as options (none in unrestricted mode) and
/// gained `functions_per_module`; unrestricted mode is offered.
/// 3: error kind `ShuttingDown`; one versioning rule (exact match), so a
/// request kind this build does not know is a bad request.
/// 4: the hello carries a token; error kinds `Unauthenticated`,
/// `QuotaExceeded` and `IdleTimeout`; `Limits` gained the memory budgets
/// (connection, server, memories and tables per module), the compile bounds
/// (operators, WAT size, concurrent compiles) and the cache's bytes.
/// 5: guest output ([`GuestOutput`]) in call results, instance answers and
/// errors, and `Limits::output_bytes`; the hello's `host_stdio`; the
/// `Cancel` request and its answer; error kind `Cancelled`; an instance
/// answer says whether its compile was a cache hit and how long it took.
/// 6: (this release; each wire change adds its words here) error kind
/// `CpuTimeExceeded`; the hello's `metering`; `Eval::cpu_ms`,
/// `EvalResult::cpu_ns` and the CPU limits of `Limits`; `InstanceInfo::cpu_ns`;
/// `Value::Held`, a GC object or exception the server holds for the client.
pub const PROTOCOL_VERSION: u32 = 6;

/// The client's first frame. It always starts with the protocol version, so
/// that a server can read the version of any client ([`hello_version`]) even
/// when the rest has another shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    pub protocol_version: u32,
    /// Free text naming the client, for the server's logs.
    pub client: String,
    pub mode: Mode,
    /// The tenant's secret token, when the server requires one (it keeps
    /// only its SHA-256).
    pub token: Option<String>,
    /// Unrestricted mode only: let the guests write to the server's own
    /// stdout and stderr, as a program run there would, instead of
    /// capturing their output into each answer ([`GuestOutput`]). A
    /// sandboxed hello asking for it is refused (`unsupported`).
    pub host_stdio: bool,
    /// Sandboxed mode: bound calls by CPU time (the default) or by fuel
    /// (deterministic). Unrestricted mode meters neither and ignores it.
    pub metering: Metering,
}

/// The protocol version at the start of a hello body of any version, or
/// `None` when the body does not even start with one.
pub fn hello_version(body: &[u8]) -> Option<u32> {
    bincode::serde::decode_from_slice::<u32, _>(body, bincode::config::standard())
        .ok()
        .map(|(version, _)| version)
}

/// The server's answer to a [`Hello`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub info: ServerInfo,
}

/// Upload a module and instantiate it under `name`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Execute {
    pub name: String,
    /// A wasm binary or WAT text.
    #[serde(with = "serde_bytes")]
    pub module: Vec<u8>,
    /// Replace an instance of the same name instead of failing.
    pub replace: bool,
}

/// Call an exported function.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Eval {
    pub name: String,
    pub export: String,
    /// At most [`MAX_ARGS`]: more is refused while decoding, before a large
    /// frame of tiny values can become a much larger vector in memory.
    #[serde(deserialize_with = "bounded_args")]
    pub args: Vec<Value>,
    /// Fuel for this call (default: the server's default fuel).
    pub fuel: Option<u64>,
    /// Wall-clock deadline for this call in ms (default: the server's).
    pub deadline_ms: Option<u64>,
    /// CPU time for this call in ms (default: the server's; sessions that
    /// meter CPU time only).
    pub cpu_ms: Option<u64>,
}

/// The most arguments a call may carry (wasm allows 1,000 parameters).
pub const MAX_ARGS: usize = 1000;

fn bounded_args<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Value>, D::Error> {
    struct Args;
    impl<'de> serde::de::Visitor<'de> for Args {
        type Value = Vec<Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            write!(f, "at most {MAX_ARGS} arguments")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Vec<Value>, A::Error> {
            if seq.size_hint().is_some_and(|n| n > MAX_ARGS) {
                return Err(serde::de::Error::invalid_length(
                    seq.size_hint().unwrap_or(0),
                    &self,
                ));
            }
            let mut args = Vec::new();
            while let Some(arg) = seq.next_element()? {
                if args.len() == MAX_ARGS {
                    return Err(serde::de::Error::invalid_length(args.len() + 1, &self));
                }
                args.push(arg);
            }
            Ok(args)
        }
    }
    d.deserialize_seq(Args)
}

/// The results of a call and what it cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvalResult {
    #[serde(deserialize_with = "crate::nesting::capped")]
    pub results: Vec<Value>,
    /// Fuel the call used (0 where fuel is off).
    pub fuel_used: u64,
    /// Nanoseconds spent inside the guest call, measured on the server.
    pub guest_ns: u64,
    /// What the guest wrote to its WASI stdout and stderr during the call.
    pub output: GuestOutput,
    /// CPU time the call used, in ns, as charged against its CPU-time
    /// budget (0 where CPU time is not metered).
    pub cpu_ns: u64,
}

/// What guest code wrote to its WASI stdout and stderr during one call or
/// instantiation, kept up to the server's `output_bytes` per stream
/// ([`crate::Limits::output_bytes`]); the rest is counted in `dropped` and
/// thrown away (the guest's writes still succeed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestOutput {
    #[serde(with = "serde_bytes")]
    pub stdout: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub stderr: Vec<u8>,
    /// Bytes written beyond the limit, both streams together.
    pub dropped: u64,
}

impl GuestOutput {
    /// Whether the guest wrote nothing at all.
    pub fn is_empty(&self) -> bool {
        self.stdout.is_empty() && self.stderr.is_empty() && self.dropped == 0
    }
}

/// Read bytes of an exported linear memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryRead {
    pub name: String,
    /// The memory export (default: the instance's first exported memory).
    pub memory: Option<String>,
    pub offset: u64,
    pub len: u64,
}

/// Write bytes into an exported linear memory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryWrite {
    pub name: String,
    /// The memory export (default: the instance's first exported memory).
    pub memory: Option<String>,
    pub offset: u64,
    #[serde(with = "serde_bytes")]
    pub bytes: Vec<u8>,
}

/// A request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// Server version, mode, limits and features.
    Info,
    Execute(Execute),
    Eval(Eval),
    /// List this connection's instances.
    Namespace,
    /// Remove an instance from the namespace.
    Drop {
        name: String,
    },
    GetGlobal {
        name: String,
        global: String,
    },
    SetGlobal {
        name: String,
        global: String,
        value: Value,
    },
    ReadMemory(MemoryRead),
    WriteMemory(MemoryWrite),
    /// Let later uploads of this connection import `name`'s exports from
    /// module name `as_name`.
    Register {
        name: String,
        as_name: String,
    },
    /// Compile and validate a module without instantiating it.
    Validate {
        /// A wasm binary or WAT text.
        #[serde(with = "serde_bytes")]
        module: Vec<u8>,
    },
    /// Instantiate `name` afresh from its cached compiled module or
    /// component, losing its state: the way back after a trap poisoned a
    /// component instance.
    Reset {
        name: String,
    },
    /// Stop the call with request id `id`, sent earlier on this connection:
    /// a guest running is interrupted at the next epoch tick and its call
    /// answered with [`crate::ErrorKind::Cancelled`]; a request still
    /// waiting behind another is answered so without running. It takes
    /// effect at once; its own answer, [`Response::Cancel`], keeps its
    /// place: every answer goes out in the order the requests came.
    Cancel {
        id: u64,
    },
}

/// What a [`Request::Cancel`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CancelOutcome {
    /// The request was under way: a guest it runs is interrupted and the
    /// request answered with `cancelled` (unless it finished first, or ran
    /// no guest code: then its own answer stands).
    Running,
    /// The request was waiting behind another; it is answered with
    /// `cancelled` and never runs.
    Queued,
    /// No request with that id is under way or waiting: it was answered
    /// already, or never sent. Nothing changes.
    NotFound,
}

/// A successful answer.
// `Info` carries every limit (~380 bytes); answers are built one at a time,
// so boxing it would only add an allocation and change the public type.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    Info(ServerInfo),
    Executed(InstanceInfo),
    Evaluated(EvalResult),
    Namespace(#[serde(deserialize_with = "crate::nesting::counted")] Vec<InstanceInfo>),
    Dropped,
    Global(Value),
    GlobalSet,
    Memory(#[serde(with = "serde_bytes")] Vec<u8>),
    MemoryWritten,
    Registered,
    /// The module is valid; its hex SHA-256.
    Valid {
        module_hash: String,
    },
    /// The instance after a `reset`.
    Reset(InstanceInfo),
    /// The answer to a [`Request::Cancel`].
    Cancel(CancelOutcome),
}

#[cfg(test)]
mod tests {
    use crate::codec::decode_body;

    #[test]
    fn a_namespace_answer_of_a_million_names_is_refused() {
        // A hostile server's answer: one instance registered under 2^20 + 1
        // empty names (1 byte each on the wire, 24 in memory).
        let instance = crate::InstanceInfo {
            name: "x".into(),
            kind: crate::InstanceKind::Core,
            module_hash: String::new(),
            exports: Vec::new(),
            memory_bytes: 0,
            fuel_used: 0,
            cpu_ns: 0,
            registered_as: vec![String::new(); (crate::nesting::MAX_VALUES + 1) as usize],
            output: crate::GuestOutput::default(),
            cache_hit: false,
            compile_ns: 0,
        };
        let answer: Result<Response, crate::RemoteError> = Ok(Response::Namespace(vec![instance]));
        let body = bincode::serde::encode_to_vec(&answer, bincode::config::standard()).unwrap();
        let decoded = decode_body::<Result<Response, crate::RemoteError>>(&body);
        assert!(decoded.is_err(), "decoded {} bytes of names", body.len());
    }

    use super::*;

    #[test]
    fn too_many_arguments_are_refused_while_decoding() {
        let eval = |n| {
            Request::Eval(Eval {
                name: "m".into(),
                export: "f".into(),
                args: vec![Value::I32(0); n],
                fuel: None,
                deadline_ms: None,
                cpu_ms: None,
            })
        };
        let encode =
            |r: &Request| bincode::serde::encode_to_vec(r, bincode::config::standard()).unwrap();
        let ok = encode(&eval(MAX_ARGS));
        assert_eq!(
            crate::codec::decode_body::<Request>(&ok).unwrap(),
            eval(MAX_ARGS)
        );
        let too_many = encode(&eval(MAX_ARGS + 1));
        let e = crate::codec::decode_body::<Request>(&too_many).unwrap_err();
        assert!(e.to_string().contains("at most 1000 arguments"), "{e}");
    }

    #[test]
    fn module_bytes_travel_as_one_buffer() {
        // `serde_bytes`: a length and the raw bytes, read in one copy.
        let module = (0..200u8).collect::<Vec<_>>();
        let request = Request::Validate {
            module: module.clone(),
        };
        let body = bincode::serde::encode_to_vec(&request, bincode::config::standard()).unwrap();
        assert!(body.ends_with(&module), "the bytes are stored raw");
        assert_eq!(body.len(), 1 + 1 + module.len(), "variant, length, bytes");
        assert_eq!(
            crate::codec::decode_body::<Request>(&body).unwrap(),
            request
        );
    }
}
