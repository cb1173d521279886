//! `sandcall.HeldRef`: a GC object or exception the server keeps for the
//! client (a non-null `anyref` or `exnref`), which it may pass back to
//! later calls of the same instance family.

use pyo3::prelude::*;
use sandcall_protocol::HeldRef;

/// A reference the server holds: a struct, array, i31 or other anyref, or an
/// exception. Pass it back as an argument or global value to instances of
/// the family that returned it; it cannot be read from Python.
#[pyclass(module = "sandcall._native", name = "HeldRef", frozen, eq, hash)]
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PyHeldRef(pub HeldRef);

#[pymethods]
impl PyHeldRef {
    /// What it points at: `"i31"`, `"struct"`, `"array"`, `"any"`, `"exn"`
    /// or `"extern"` (an externref the guest made from an anyref).
    #[getter]
    fn kind(&self) -> &'static str {
        self.0.class.name()
    }

    /// The server's number for it (unique on that server).
    #[getter]
    fn id(&self) -> u64 {
        self.0.id
    }

    fn __repr__(&self) -> String {
        format!("HeldRef({:?}, {})", self.0.class.name(), self.0.id)
    }
}
