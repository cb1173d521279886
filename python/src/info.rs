//! What the server says about itself and its instances, as Python dicts.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use sandcall_protocol::{GuestOutput, InstanceInfo, InstanceKind, ServerInfo};

/// `info`: versions, protocol, mode, limits (a dict of the server's
/// `Limits`, `None` for "no limit") and wasm features.
pub fn server<'py>(py: Python<'py>, info: &ServerInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("server_version", &info.server_version)?;
    dict.set_item("wasmtime_version", &info.wasmtime_version)?;
    dict.set_item("protocol_version", info.protocol_version)?;
    dict.set_item("mode", info.mode.to_string())?;
    let limits = serde_json::to_string(&info.limits)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(e.to_string()))?;
    let limits = py.import("json")?.call_method1("loads", (limits,))?;
    dict.set_item("limits", limits)?;
    dict.set_item("features", &info.features)?;
    Ok(dict)
}

/// One instance: name, kind, module hash, exports (name → type as WIT or
/// core text), memory, fuel used, CPU time used (ns), registrations and the start function's
/// output.
pub fn instance<'py>(py: Python<'py>, info: &InstanceInfo) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("name", &info.name)?;
    let kind = match info.kind {
        InstanceKind::Core => "core",
        InstanceKind::Component => "component",
    };
    dict.set_item("kind", kind)?;
    dict.set_item("module_hash", &info.module_hash)?;
    let exports = PyDict::new(py);
    for export in &info.exports {
        exports.set_item(&export.name, export.kind.to_string())?;
    }
    dict.set_item("exports", exports)?;
    dict.set_item("memory_bytes", info.memory_bytes)?;
    dict.set_item("fuel_used", info.fuel_used)?;
    dict.set_item("cpu_ns", info.cpu_ns)?;
    dict.set_item("registered_as", &info.registered_as)?;
    dict.set_item("cache_hit", info.cache_hit)?;
    dict.set_item("compile_ns", info.compile_ns)?;
    output(py, &dict, &info.output)?;
    Ok(dict)
}

/// `stdout`, `stderr` (bytes) and `output_dropped` into `dict`.
pub fn output(py: Python<'_>, dict: &Bound<'_, PyDict>, out: &GuestOutput) -> PyResult<()> {
    dict.set_item("stdout", PyBytes::new(py, &out.stdout))?;
    dict.set_item("stderr", PyBytes::new(py, &out.stderr))?;
    dict.set_item("output_dropped", out.dropped)?;
    Ok(())
}
