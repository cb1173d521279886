//! `sandcall-server`: runs WebAssembly that clients upload, under fuel,
//! memory and wall-clock limits, keeping each client's instances in its own
//! namespace (RPyC classic mode, without giving the server away).
//!
//! # Layout
//! - [`server`]: the listener, connection limit and graceful shutdown;
//!   [`EmbeddedServer`] runs one inside another program.
//! - [`connection`]: one client: handshake, request loop, blocking pool.
//! - [`session`]: the commands, applied to a connection's namespace.
//! - [`namespace`]: named instances, registrations, instantiation.
//! - [`instance`]: calls, globals and memories of one instance.
//! - [`component`]: a compiled component's exports and signatures;
//!   [`component_call`] calls them, typed or dynamic.
//! - [`store`]: a wasmtime store with its limiter.
//! - [`runtime`]: an engine per mode, its epoch ticker and its module cache
//!   ([`cache`]); [`wasi`]: what WASI grants in each mode.
//! - [`convert`], [`wit_convert`], [`wit_types`], [`errors`]: values, types
//!   and errors between wasmtime and the protocol.
//! - [`config`]: every limit, with defaults and command-line flags.
//! - [`allocator`]: glibc thresholds that keep large freed buffers for reuse.

pub mod allocator;
pub mod cache;
pub mod component;
pub mod component_call;
pub mod config;
pub mod connection;
pub mod convert;
pub mod errors;
pub mod instance;
pub mod namespace;
pub mod runtime;
pub mod server;
pub mod session;
pub mod store;
pub mod wasi;
pub mod wit_convert;
pub mod wit_types;

pub use config::LimitConfig;
pub use runtime::Runtimes;
pub use server::{EmbeddedServer, ServerConfig, ServerError, run};
