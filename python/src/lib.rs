//! `sandcall._native`: the Rust half of the Python package `sandcall`.
//!
//! It wraps the Rust client library ([`sandcall::Connection`]); it does not
//! speak the protocol itself. The pure-Python half (`python/sandcall/`) adds
//! the RPyC-like surface: `connect`, the context manager, `namespace` as a
//! mapping, the exception classes.
//!
//! # Layout
//! - [`connection`]: `NativeConnection`, one method per request, a mutex
//!   around the Rust connection so that threads can share it, and the GIL
//!   released while a call waits on the network.
//! - [`runtime`]: the module's tokio runtime and the per-call timeout.
//! - [`errors`]: Rust errors as the Python exceptions of `sandcall.errors`.
//! - [`to_value`] / [`from_value`]: Python objects as typed protocol values
//!   and back; [`packed`]: lists of numbers through the buffer protocol;
//!   [`held`]: GC and exception references the server keeps.

use pyo3::prelude::*;

mod connection;
mod errors;
mod from_value;
mod held;
mod info;
mod packed;
mod runtime;
mod to_value;

/// The extension module `sandcall._native`.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<connection::NativeConnection>()?;
    m.add_class::<held::PyHeldRef>()?;
    m.add_function(wrap_pyfunction!(connection::connect, m)?)?;
    m.add("PROTOCOL_VERSION", sandcall_protocol::PROTOCOL_VERSION)?;
    m.add("CLIENT_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
