//! `sandcall-server`: runs WebAssembly that clients upload, under CPU-time
//! (or fuel), memory and wall-clock limits, keeping each client's instances
//! in its own namespace (RPyC classic mode, without giving the server away).
//!
//! [`run`] serves an already-bound listener until a shutdown token is
//! cancelled; [`EmbeddedServer`] runs one inside another program, on a port
//! of its own. Both take a [`ServerConfig`], whose [`LimitConfig`] holds
//! every limit. [`tune_allocator`] is a process-wide setting for binaries.
//!
//! # Layout
//! How an `eval` of a core export flows, top to bottom:
//! - `server`: the listener, connection limit, drain and graceful shutdown;
//!   `embedded`: a server inside another program.
//! - `connection`: one client: handshake, then frames in, answers out,
//!   reading on while a request runs (cancels; the rest waits in `inbox`);
//!   `handshake`: TLS, the hello and `access` (tokens of `tenants`, TLS
//!   from `tls`, timeouts, the throttle of token guessers; `pending`: the
//!   handshake slots, the oldest evicted when every one is taken);
//!   `ceilings`: a tenant's caps and its `quota` of fuel per minute.
//!   `departure`: noticing a client that left while its upload compiles.
//! - `session`: the commands: each request checked against the limits in
//!   one place, then applied to the connection's namespace.
//! - `namespace`: named instances and registrations (its `linking` places a
//!   new instance among those it imports from); `instantiate`: code in a
//!   fresh store or in the store of the instances it imports from;
//!   `cross_store`: imports from instances in several stores.
//! - `instance`: one instance and calls into it; `instance_state`: its
//!   globals and memories.
//! - `core_call` and `component_call`: one call each, with `core_values`,
//!   `wit_values` and `wit_results` (plus `wit_types`) converting between
//!   wasmtime and the protocol; `held_refs`: GC objects and exceptions kept
//!   for the client as handles; `outcome`: how the call ended, and its error.
//! - `call_context`: what a connection's requests share with their stores:
//!   the `guest_output` capture (WASI stdout and stderr, bounded) and the
//!   token that cancels the request under way.
//! - `store`: a wasmtime store, its data, arming it with the `budget` of
//!   guest code (fuel, or CPU time charged per poll by `cpu_budget`);
//!   `limiter`: its memory and table caps, drawing on the connection's and
//!   the server's `memory_budget`; `cutoff`: guest code stopped at
//!   its deadline or at shutdown also while it waits in a host call.
//! - `runtime`: an engine per mode (two sandboxed: CPU-time budgets and
//!   fuel), its epoch ticker, its WASI `linker`s, its
//!   module `cache` (bounded in bytes; uploads checked against the `compile`
//!   bounds first; a `component`'s exports worked out once) and what `wasi`
//!   grants.
//! - `metrics`: the Prometheus series, counted by one-line hooks; `http`:
//!   `--metrics`, serving them and `/healthz` (503 while draining).
//! - `config`: every limit, with defaults and command-line flags.
//! - `allocator`: glibc thresholds that keep large freed buffers for reuse.

mod access;
mod allocator;
mod budget;
mod cache;
mod call_context;
mod ceilings;
mod compile;
mod component;
mod component_call;
mod config;
mod connection;
mod core_call;
mod core_values;
mod cpu_budget;
mod cross_store;
mod cutoff;
mod departure;
mod embedded;
mod guest_output;
mod handshake;
mod held_refs;
mod http;
mod inbox;
mod instance;
mod instance_state;
mod instantiate;
mod limiter;
mod linker;
mod memory_budget;
mod metrics;
mod namespace;
mod outcome;
mod pending;
mod quota;
mod runtime;
mod server;
mod session;
mod store;
mod tenants;
mod tls;
mod wasi;
mod wit_results;
mod wit_types;
mod wit_values;

pub use access::{DEFAULT_IDLE_TIMEOUT, check_exposure};
pub use allocator::tune_allocator;
pub use cache::CacheStats;
pub use config::{LimitConfig, ServerConfig};
pub use embedded::EmbeddedServer;
pub use server::{Listeners, ServerError, run, run_with};
pub use tenants::add as add_tenant;
pub use tls::TlsConfig;
