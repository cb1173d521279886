//! Rust errors as the exceptions of `sandcall.errors` (defined in Python, so
//! that each is an ordinary class users can subclass, catch and pickle).

use crate::runtime::Failure;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;
use sandcall::ClientError;

/// The module `sandcall.errors`, imported once.
fn errors_module(py: Python<'_>) -> PyResult<&Bound<'_, PyModule>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    MODULE
        .get_or_try_init(py, || Ok(py.import("sandcall.errors")?.unbind()))
        .map(|m| m.bind(py))
}

/// An exception made by `factory(*args)` in `sandcall.errors`.
fn make<'py>(py: Python<'py>, factory: &str, args: impl pyo3::call::PyCallArgs<'py>) -> PyErr {
    let made = errors_module(py).and_then(|m| m.getattr(factory)?.call1(args));
    match made {
        Ok(exception) => PyErr::from_value(exception),
        Err(e) => e,
    }
}

/// A server-side refusal: `sandcall.RemoteError`'s subclass for `kind`.
pub fn remote(py: Python<'_>, e: &sandcall::RemoteError) -> PyErr {
    let (stdout, stderr) = match &e.output {
        Some(out) => (
            PyBytes::new(py, &out.stdout).into_any(),
            PyBytes::new(py, &out.stderr).into_any(),
        ),
        None => (
            PyBytes::new(py, b"").into_any(),
            PyBytes::new(py, b"").into_any(),
        ),
    };
    make(
        py,
        "_remote",
        (
            e.kind.to_string(),
            e.message.clone(),
            e.trap.clone(),
            stdout,
            stderr,
        ),
    )
}

/// A refusal made on this side with a server kind, e.g. `not-found` for an
/// instance this connection does not hold.
pub fn local(py: Python<'_>, kind: &str, message: String) -> PyErr {
    let empty = PyBytes::new(py, b"");
    make(
        py,
        "_remote",
        (kind, message, None::<String>, empty.clone(), empty),
    )
}

/// `failure` as the Python exception to raise.
pub fn to_py(py: Python<'_>, failure: Failure) -> PyErr {
    match failure {
        Failure::Client(ClientError::Remote(e)) => remote(py, &e),
        Failure::Client(e @ ClientError::Address { .. }) => {
            PyValueError::new_err(format!("address: {e}"))
        }
        Failure::Client(e @ ClientError::RequestTooLarge { .. }) => {
            make(py, "RequestTooLargeError", (e.to_string(),))
        }
        Failure::Client(e) => make(py, "ConnectionError", (e.to_string(),)),
        Failure::Timeout(limit) => make(
            py,
            "TimeoutError",
            (format!(
                "no answer within the connection's timeout of {:.3} s; the call is cancelled \
                 on the server and the connection stays usable",
                limit.as_secs_f64()
            ),),
        ),
        Failure::Closed => make(py, "ConnectionError", ("the connection is closed",)),
        Failure::Interrupted(e) => e,
    }
}
