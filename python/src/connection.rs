//! `NativeConnection`: the Rust [`Connection`] behind a mutex, one Python
//! method per request.
//!
//! Threads may share one connection: calls take turns on the mutex. The
//! mutex is only ever taken with the GIL released (and Python objects are
//! only touched with the GIL held, before and after), so a thread waiting
//! for the connection never blocks one waiting for the GIL.

use crate::errors;
use crate::packed::{self, Container};
use crate::runtime::{self, Failure};
use crate::{from_value, info, to_value};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use sandcall::{ConnectOptions, Connection, Metering, Mode, Request, Response};
use sandcall_protocol::{Eval, ExportInfo, ExportKind, InstanceInfo, ServerInfo, Value};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

/// Requests `eval_many` keeps in flight: enough to hide the round trip,
/// few enough that neither end's socket buffers fill while the other waits.
const WINDOW: usize = 64;

/// A session with a Sandcall server (the Rust half of `sandcall.Connection`).
#[pyclass(module = "sandcall._native", frozen)]
pub struct NativeConnection {
    /// `None` once closed.
    conn: Mutex<Option<Connection>>,
    /// The exports of each instance of this session, with their types: how
    /// Python arguments are typed. Filled by `execute`, `reset` and
    /// `namespace`; the namespace belongs to this connection alone, so
    /// nothing else changes it.
    exports: Mutex<HashMap<String, Arc<[ExportInfo]>>>,
    /// The handshake's answer.
    server: ServerInfo,
    timeout: Option<Duration>,
}

/// What one call may spend, each `None` for the server's default: fuel
/// (sessions metered by fuel), CPU time (sessions metered by CPU time, the
/// default) and the wall-clock deadline.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    fuel: Option<u64>,
    cpu_ms: Option<u64>,
    deadline_ms: Option<u64>,
}

impl Budget {
    fn eval(self, name: String, export: String, args: Vec<Value>) -> Eval {
        Eval {
            name,
            export,
            args,
            fuel: self.fuel,
            deadline_ms: self.deadline_ms,
            cpu_ms: self.cpu_ms,
        }
    }
}

/// Run `$body` (an async expression using `$c: &mut Connection`) with the
/// GIL released and the connection locked; `Err` is a [`Failure`].
macro_rules! with_conn {
    ($self:ident, $py:ident, |$c:ident| $body:expr) => {{
        let timeout = $self.timeout;
        let result = $py.detach(|| {
            let mut guard = lock(&$self.conn);
            let Some($c) = guard.as_mut() else {
                return Err(Failure::Closed);
            };
            runtime::block_on(timeout, async { $body.await })
        });
        result.map_err(|e| errors::to_py($py, e))
    }};
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Connect to `address` (`HOST:PORT`, `sandcall://…`, or `sandcalls://…`
/// for TLS) and do the handshake.
#[pyfunction]
#[pyo3(signature = (address, *, token=None, ca=None, mode="sandboxed", timeout=None, metering="cpu"))]
pub fn connect(
    py: Python<'_>,
    address: String,
    token: Option<String>,
    ca: Option<PathBuf>,
    mode: &str,
    timeout: Option<f64>,
    metering: &str,
) -> PyResult<NativeConnection> {
    let metering = match metering {
        "cpu" => Metering::Cpu,
        "fuel" => Metering::Fuel,
        other => {
            return Err(PyValueError::new_err(format!(
                "metering: {other:?} is not \"cpu\" or \"fuel\""
            )));
        }
    };
    let mode = match mode {
        "sandboxed" => Mode::Sandboxed,
        "unrestricted" => Mode::Unrestricted,
        other => {
            return Err(PyValueError::new_err(format!(
                "mode: {other:?} is not \"sandboxed\" or \"unrestricted\""
            )));
        }
    };
    let timeout = match timeout {
        None => None,
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Some(Duration::from_secs_f64(t)),
        Some(t) => {
            return Err(PyValueError::new_err(format!(
                "timeout: {t} is not a positive number of seconds"
            )));
        }
    };
    let options = ConnectOptions {
        mode,
        token,
        ca,
        metering,
        client: concat!("sandcall-python/", env!("CARGO_PKG_VERSION")).to_string(),
        ..ConnectOptions::default()
    };
    let conn = py
        .detach(|| runtime::block_on(timeout, Connection::open(&address, options)))
        .map_err(|e| errors::to_py(py, e))?;
    Ok(NativeConnection {
        server: conn.server_info().clone(),
        conn: Mutex::new(Some(conn)),
        exports: Mutex::new(HashMap::new()),
        timeout,
    })
}

impl NativeConnection {
    fn remember(&self, info: &InstanceInfo) {
        lock(&self.exports).insert(info.name.clone(), info.exports.clone().into());
    }

    /// The type of export `export` of instance `name`, asking the server
    /// for the namespace when this session's copy does not know `name`.
    fn export_kind(&self, py: Python<'_>, name: &str, export: &str) -> PyResult<ExportKind> {
        let known = lock(&self.exports).get(name).cloned();
        let exports = match known {
            Some(exports) => exports,
            None => {
                self.refresh(py)?;
                let found = lock(&self.exports).get(name).cloned();
                found.ok_or_else(|| {
                    errors::local(py, "not-found", format!("no instance named `{name}`"))
                })?
            }
        };
        match exports.iter().find(|e| e.name == export) {
            Some(e) => Ok(e.kind.clone()),
            None => Err(errors::local(
                py,
                "not-found",
                format!("instance `{name}` has no export `{export}`"),
            )),
        }
    }

    /// Ask the server for the namespace and replace this session's copy.
    fn refresh(&self, py: Python<'_>) -> PyResult<Vec<InstanceInfo>> {
        let list = with_conn!(self, py, |c| c.namespace())?;
        let mut exports = lock(&self.exports);
        exports.clear();
        for info in &list {
            exports.insert(info.name.clone(), info.exports.clone().into());
        }
        Ok(list)
    }

    /// `args` typed by export `export` of `name`, and the container kind
    /// packed results come back in.
    fn arguments(
        &self,
        py: Python<'_>,
        name: &str,
        export: &str,
        args: &Bound<'_, PyTuple>,
    ) -> PyResult<(Vec<Value>, Container)> {
        let kind = self.export_kind(py, name, export)?;
        let mut container = Container::List;
        let count = |want: usize, sig: String| match args.len() == want {
            true => Ok(()),
            false => Err(PyTypeError::new_err(format!(
                "`{name}.{export}` takes {want} argument(s) ({sig}), {} given",
                args.len()
            ))),
        };
        let values = match &kind {
            ExportKind::CoreFunc(func) => {
                count(func.params.len(), func.to_string())?;
                let mut values = Vec::with_capacity(args.len());
                for (i, (arg, ty)) in args.iter().zip(&func.params).enumerate() {
                    let v = to_value::core(&arg, ty)
                        .map_err(|e| e.into_py(&format!("argument {} ({ty})", i + 1)))?;
                    values.push(v);
                }
                values
            }
            ExportKind::ComponentFunc(func) => {
                count(func.params.len(), func.to_string())?;
                let mut values = Vec::with_capacity(args.len());
                for (arg, (param, ty)) in args.iter().zip(&func.params) {
                    let v = to_value::wit(&arg, ty, &mut container)
                        .map_err(|e| e.into_py(&format!("argument `{param}`")))?;
                    values.push(v);
                }
                values
            }
            other => {
                return Err(PyTypeError::new_err(format!(
                    "`{name}.{export}` is not a function but a {other}"
                )));
            }
        };
        Ok((values, container))
    }

    /// The one path of `eval` and `call`: the arguments converted by the
    /// export's signature, the call made with the GIL released; the answer
    /// and the container kind its lists come back in.
    fn evaluate(
        &self,
        py: Python<'_>,
        name: String,
        export: String,
        args: &Bound<'_, PyTuple>,
        budget: Budget,
    ) -> PyResult<(sandcall::EvalResult, Container)> {
        let (args, container) = self.arguments(py, &name, &export, args)?;
        let eval = budget.eval(name, export, args);
        let answer = with_conn!(self, py, |c| c.eval_with(eval))?;
        Ok((answer, container))
    }
}

#[pymethods]
impl NativeConnection {
    /// The server's `info` from the handshake, as a dict.
    fn info<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        info::server(py, &self.server)
    }

    /// Upload `module` (bytes: wasm binary, component or WAT text) and
    /// instantiate it as `name`.
    #[pyo3(signature = (name, module, replace=false))]
    fn execute<'py>(
        &self,
        py: Python<'py>,
        name: String,
        module: Vec<u8>,
        replace: bool,
    ) -> PyResult<Bound<'py, PyDict>> {
        let info = with_conn!(self, py, |c| c.execute_with(&name, module, replace))?;
        self.remember(&info);
        info::instance(py, &info)
    }

    /// Call `export` of `name` with `args`; the results as a value, a tuple
    /// or `None`.
    #[pyo3(signature = (name, export, args, fuel=None, deadline_ms=None, cpu_ms=None))]
    fn eval<'py>(
        &self,
        name: String,
        export: String,
        args: &Bound<'py, PyTuple>,
        fuel: Option<u64>,
        deadline_ms: Option<u64>,
        cpu_ms: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        // The GIL token from the arguments (one parameter fewer).
        let py = args.py();
        let budget = Budget {
            fuel,
            cpu_ms,
            deadline_ms,
        };
        let (answer, container) = self.evaluate(py, name, export, args, budget)?;
        from_value::results(py, &answer.results, container)
    }

    /// Like `eval`, answering with a dict: `result`, `fuel_used`,
    /// `guest_ns`, `cpu_ns`, `stdout`, `stderr`, `output_dropped`.
    #[pyo3(signature = (name, export, args, fuel=None, deadline_ms=None, cpu_ms=None))]
    fn call<'py>(
        &self,
        name: String,
        export: String,
        args: &Bound<'py, PyTuple>,
        fuel: Option<u64>,
        deadline_ms: Option<u64>,
        cpu_ms: Option<u64>,
    ) -> PyResult<Bound<'py, PyDict>> {
        // The GIL token from the arguments (one parameter fewer).
        let py = args.py();
        let budget = Budget {
            fuel,
            cpu_ms,
            deadline_ms,
        };
        let (answer, container) = self.evaluate(py, name, export, args, budget)?;
        let dict = PyDict::new(py);
        dict.set_item(
            "result",
            from_value::results(py, &answer.results, container)?,
        )?;
        dict.set_item("fuel_used", answer.fuel_used)?;
        dict.set_item("guest_ns", answer.guest_ns)?;
        dict.set_item("cpu_ns", answer.cpu_ns)?;
        info::output(py, &dict, &answer.output)?;
        Ok(dict)
    }

    /// Many calls of one export, pipelined; `calls` holds one tuple of
    /// arguments per call. The results in order; if calls failed, the
    /// first failure is raised after every answer has arrived.
    #[pyo3(signature = (name, export, calls, fuel=None, deadline_ms=None, cpu_ms=None))]
    fn eval_many<'py>(
        &self,
        name: String,
        export: String,
        calls: &Bound<'py, PyAny>,
        fuel: Option<u64>,
        deadline_ms: Option<u64>,
        cpu_ms: Option<u64>,
    ) -> PyResult<Bound<'py, PyList>> {
        // The GIL token from the arguments (one parameter fewer).
        let py = calls.py();
        let budget = Budget {
            fuel,
            cpu_ms,
            deadline_ms,
        };
        let mut requests = Vec::new();
        let mut container = Container::List;
        for (i, call) in calls.try_iter()?.enumerate() {
            let call = call?;
            let args = call.cast_into::<PyTuple>().map_err(|e| {
                PyTypeError::new_err(format!(
                    "calls[{i}]: expected a tuple of arguments, got {}",
                    e.into_inner()
                        .get_type()
                        .name()
                        .map(|n| n.to_string())
                        .unwrap_or_default()
                ))
            })?;
            let (args, kind) = self
                .arguments(py, &name, &export, &args)
                .map_err(|e| prefix(py, e, &format!("calls[{i}]: ")))?;
            if container == Container::List {
                container = kind;
            }
            requests.push(Request::Eval(budget.eval(
                name.clone(),
                export.clone(),
                args,
            )));
        }
        let replies = with_conn!(self, py, |c| pipeline(c, requests));
        let replies = match replies {
            Ok(replies) => replies,
            Err(e) => {
                // A broken connection, or a pipeline abandoned midway (a
                // timeout, Ctrl-C) with answers still on their way: either
                // way this connection cannot be trusted any more.
                py.detach(|| lock(&self.conn).take());
                return Err(e);
            }
        };
        let out = PyList::empty(py);
        let mut first_error = None;
        for reply in replies {
            match reply {
                Ok(Response::Evaluated(answer)) => {
                    out.append(from_value::results(py, &answer.results, container)?)?
                }
                Ok(other) => {
                    return Err(errors::to_py(
                        py,
                        Failure::Client(sandcall::ClientError::Protocol(format!(
                            "unexpected answer {other:?}"
                        ))),
                    ));
                }
                Err(e) => {
                    first_error.get_or_insert(e);
                    out.append(py.None())?;
                }
            }
        }
        match first_error {
            Some(e) => Err(errors::remote(py, &e)),
            None => Ok(out),
        }
    }

    /// Every instance of this session, as dicts.
    fn namespace<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = self.refresh(py)?;
        let out = PyList::empty(py);
        for item in &list {
            out.append(info::instance(py, item)?)?;
        }
        Ok(out)
    }

    /// Drop instance `name`.
    fn drop_instance(&self, py: Python<'_>, name: String) -> PyResult<()> {
        let dropped = with_conn!(self, py, |c| c.drop_instance(&name));
        lock(&self.exports).remove(&name);
        dropped
    }

    /// Instantiate `name` afresh from its module.
    fn reset<'py>(&self, py: Python<'py>, name: String) -> PyResult<Bound<'py, PyDict>> {
        let info = with_conn!(self, py, |c| c.reset(&name))?;
        self.remember(&info);
        info::instance(py, &info)
    }

    /// The value of global `global` of `name`.
    fn get_global<'py>(
        &self,
        py: Python<'py>,
        name: String,
        global: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let value = with_conn!(self, py, |c| c.get_global(&name, &global))?;
        from_value::to_py(py, &value, Container::List)
    }

    /// Set global `global` of `name` to `value`, typed by the global's type.
    fn set_global(
        &self,
        py: Python<'_>,
        name: String,
        global: String,
        value: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ty = match self.export_kind(py, &name, &global)? {
            ExportKind::Global { ty, .. } => ty,
            other => {
                return Err(PyTypeError::new_err(format!(
                    "`{name}.{global}` is not a global but a {other}"
                )));
            }
        };
        let value = to_value::core(value, &ty).map_err(|e| e.into_py(&format!("value ({ty})")))?;
        with_conn!(self, py, |c| c.set_global(&name, &global, value))
    }

    /// `length` bytes of `name`'s memory at `offset`.
    #[pyo3(signature = (name, offset, length, memory=None))]
    fn read_memory<'py>(
        &self,
        py: Python<'py>,
        name: String,
        offset: u64,
        length: u64,
        memory: Option<String>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = with_conn!(self, py, |c| c.read_memory(
            &name,
            memory.as_deref(),
            offset,
            length
        ))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Write `data` (any contiguous buffer) into `name`'s memory at `offset`.
    #[pyo3(signature = (name, offset, data, memory=None))]
    fn write_memory(
        &self,
        py: Python<'_>,
        name: String,
        offset: u64,
        data: &Bound<'_, PyAny>,
        memory: Option<String>,
    ) -> PyResult<()> {
        let bytes =
            packed::raw_bytes(data).map_err(|e| PyTypeError::new_err(format!("data: {e}")))?;
        with_conn!(self, py, |c| c.write_memory(
            &name,
            memory.as_deref(),
            offset,
            bytes
        ))
    }

    /// Let later uploads import `name`'s exports from module `as_name`.
    fn register(&self, py: Python<'_>, name: String, as_name: String) -> PyResult<()> {
        with_conn!(self, py, |c| c.register(&name, &as_name))
    }

    /// Compile and validate `module` without instantiating it; its hash.
    fn validate(&self, py: Python<'_>, module: Vec<u8>) -> PyResult<String> {
        with_conn!(self, py, |c| c.validate(module))
    }

    /// Close the connection (the server drops its instances). Idempotent.
    fn close(&self, py: Python<'_>) {
        let conn = py.detach(|| lock(&self.conn).take());
        drop(conn);
        lock(&self.exports).clear();
    }

    /// Whether `close()` was called (or the connection was abandoned).
    #[getter]
    fn closed(&self, py: Python<'_>) -> bool {
        py.detach(|| lock(&self.conn).is_none())
    }
}

/// `error` with `prefix` before its message (same exception class).
fn prefix(py: Python<'_>, error: PyErr, prefix: &str) -> PyErr {
    if error.is_instance_of::<PyTypeError>(py) {
        PyTypeError::new_err(format!("{prefix}{}", error.value(py)))
    } else if error.is_instance_of::<PyValueError>(py) {
        PyValueError::new_err(format!("{prefix}{}", error.value(py)))
    } else {
        error
    }
}

/// Send `requests` with at most [`WINDOW`] in flight; every reply, in order.
async fn pipeline(
    c: &mut Connection,
    requests: Vec<Request>,
) -> Result<Vec<sandcall::Reply>, sandcall::ClientError> {
    let mut out = Vec::with_capacity(requests.len());
    let mut ids = VecDeque::with_capacity(WINDOW);
    let mut pending = requests.iter();
    loop {
        while ids.len() < WINDOW {
            let Some(request) = pending.next() else { break };
            ids.push_back(c.send(request).await?);
        }
        c.flush().await?;
        let Some(id) = ids.pop_front() else { break };
        let (got, reply) = c.recv().await?;
        if got != id {
            return Err(sandcall::ClientError::Protocol(format!(
                "asked {id}, got an answer to {got}"
            )));
        }
        out.push(reply);
    }
    Ok(out)
}
