//! The commands: one connection's requests, checked against the limits in
//! one place, then applied to its namespace.

use crate::call_context::CallContext;
use crate::namespace::Namespace;
use crate::runtime::{FEATURES, Runtime, WASMTIME_VERSION};
use crate::store::Budget;
use sandcall_protocol::{
    CancelOutcome, ErrorKind, Eval, GuestOutput, Metering, Mode, PROTOCOL_VERSION, RemoteError,
    Request, Response, ServerInfo,
};
use std::sync::Arc;

/// Longest instance or registration name accepted.
const MAX_NAME: usize = 1024;

/// A client's session: its mode and its namespace.
pub struct Session {
    mode: Mode,
    namespace: Namespace,
}

impl Session {
    /// A new session on `runtime`, in the runtime's mode.
    pub fn new(runtime: Arc<Runtime>) -> Self {
        Session {
            mode: runtime.mode(),
            namespace: Namespace::new(runtime),
        }
    }

    /// Lower the session's caps to a tenant's ceilings: memory per instance
    /// (named `whose` in errors) and instances held.
    pub fn lower(&mut self, memory_per_instance: Option<u64>, instances: Option<u32>, whose: &str) {
        self.namespace.lower(memory_per_instance, instances, whose);
    }

    /// Drop this session's compiles once `departed` is cancelled (its client
    /// left; see [`crate::departure`]).
    pub fn watch_departure(&mut self, departed: tokio_util::sync::CancellationToken) {
        self.namespace.watch_departure(departed);
    }

    /// What the server reports about itself to this session.
    pub fn info(&self) -> ServerInfo {
        let runtime = self.namespace.runtime();
        ServerInfo {
            server_version: env!("CARGO_PKG_VERSION").to_string(),
            wasmtime_version: WASMTIME_VERSION.to_string(),
            protocol_version: PROTOCOL_VERSION,
            mode: self.mode,
            limits: runtime.report(),
            features: FEATURES.iter().map(|f| f.to_string()).collect(),
        }
    }

    /// The guest output and cancellation of this session's requests.
    pub fn context(&self) -> &CallContext {
        self.namespace.context()
    }

    /// Check one request and apply it. Guest code runs as an async call
    /// that yields to the scheduler regularly; compiling runs on the
    /// blocking pool. What guest code wrote to stdout and stderr comes back
    /// with the answer, or with the error.
    ///
    /// # Errors
    /// Whatever the request fails with, as a protocol error.
    pub async fn handle(&mut self, request: Request) -> Result<Response, RemoteError> {
        let runs_guest = matches!(
            request,
            Request::Execute(_) | Request::Eval(_) | Request::Reset { .. }
        );
        self.context().begin();
        let mut reply = self.apply(request).await;
        if runs_guest {
            attach(&mut reply, self.context().output().take());
        }
        reply
    }

    async fn apply(&mut self, request: Request) -> Result<Response, RemoteError> {
        self.check(&request)?;
        let ns = &mut self.namespace;
        match request {
            Request::Info => Ok(Response::Info(self.info())),
            Request::Execute(x) => ns
                .execute(&x.name, x.module, x.replace)
                .await
                .map(Response::Executed),
            Request::Eval(eval) => {
                let budget = self.budget(&eval)?;
                let entry = self.namespace.get(&eval.name)?;
                entry
                    .call(&eval.name, &eval.export, &eval.args, budget)
                    .await
                    .map(Response::Evaluated)
            }
            Request::Namespace => Ok(Response::Namespace(ns.list().await)),
            Request::Drop { name } => ns.drop_instance(&name).map(|()| Response::Dropped),
            Request::GetGlobal { name, global } => ns
                .get(&name)?
                .get_global(&name, &global)
                .await
                .map(Response::Global),
            Request::SetGlobal {
                name,
                global,
                value,
            } => ns
                .get(&name)?
                .set_global(&name, &global, &value)
                .await
                .map(|()| Response::GlobalSet),
            Request::ReadMemory(r) => ns
                .get(&r.name)?
                .read_memory(&r.name, r.memory.as_deref(), r.offset, r.len)
                .await
                .map(Response::Memory),
            Request::WriteMemory(w) => ns
                .get(&w.name)?
                .write_memory(&w.name, w.memory.as_deref(), w.offset, &w.bytes)
                .await
                .map(|()| Response::MemoryWritten),
            Request::Register { name, as_name } => {
                ns.register(&name, &as_name).map(|()| Response::Registered)
            }
            Request::Reset { name } => ns.reset(&name).await.map(Response::Reset),
            Request::Validate { module } => {
                let compiled = ns.compile(module).await?;
                Ok(Response::Valid {
                    module_hash: compiled.hash.clone(),
                })
            }
            // The connection answers a cancel of a request it holds
            // (`crate::connection`); here no other is under way.
            Request::Cancel { .. } => Ok(Response::Cancel(CancelOutcome::NotFound)),
        }
    }

    /// Refuse what the limits forbid before anything is looked up, compiled
    /// or run: module sizes, names, and reads larger than a frame. A call's
    /// fuel or CPU time and deadline are checked by [`Session::budget`].
    fn check(&self, request: &Request) -> Result<(), RemoteError> {
        let limits = self.namespace.runtime().limits();
        let module_size = |module: &[u8]| {
            if module.len() as u64 > limits.module_bytes {
                return Err(RemoteError::new(
                    ErrorKind::ResourceLimit,
                    format!(
                        "module of {} bytes exceeds the limit of {} bytes",
                        module.len(),
                        limits.module_bytes
                    ),
                ));
            }
            Ok(())
        };
        match request {
            Request::Execute(x) => {
                check_name(&x.name)?;
                module_size(&x.module)
            }
            Request::Validate { module } => module_size(module),
            Request::Register { as_name, .. } => check_name(as_name),
            Request::ReadMemory(r) => {
                let most = limits.frame_bytes.saturating_sub(64);
                if r.len > most {
                    return Err(RemoteError::new(
                        ErrorKind::ResourceLimit,
                        format!("cannot read {} bytes at once: a frame holds {most}", r.len),
                    ));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// The fuel or CPU time, and the deadline, of a call: what it asked
    /// for, within the limits. A session meters one way (its hello's
    /// `metering`); asking for the other is refused. Unrestricted calls are
    /// not metered and have a deadline only when they ask for one.
    fn budget(&self, eval: &Eval) -> Result<Budget, RemoteError> {
        let runtime = self.namespace.runtime();
        let metering = runtime.metering();
        let bad = |message: &str| Err(RemoteError::new(ErrorKind::BadRequest, message));
        if eval.fuel.is_some() && metering != Some(Metering::Fuel) {
            return bad(match metering {
                None => "unrestricted mode does not meter fuel; leave the call's fuel unset",
                Some(_) => {
                    "this session meters CPU time, not fuel: ask for CPU time instead \
                     (`--cpu-ms N`, the library's `Eval::cpu_ms`), or connect with fuel \
                     metering (`sandcall --metering fuel`, `ConnectOptions::metering`)"
                }
            });
        }
        if eval.cpu_ms.is_some() && metering != Some(Metering::Cpu) {
            return bad(match metering {
                None => "unrestricted mode does not meter CPU time; leave the call's cpu_ms unset",
                Some(_) => {
                    "this session meters fuel, not CPU time: ask for fuel instead (`--fuel N`, \
                     the library's `Eval::fuel`), or connect with CPU metering (the default)"
                }
            });
        }
        if !runtime.sandboxed_mode() {
            if eval.deadline_ms == Some(0) {
                return Err(RemoteError::new(
                    ErrorKind::ResourceLimit,
                    "asked for a deadline of 0 ms; it must be at least 1 ms",
                ));
            }
            return Ok(Budget {
                fuel: None,
                deadline_ms: eval.deadline_ms,
                cpu_ms: None,
            });
        }
        let limits = runtime.limits();
        let fuel = eval.fuel.unwrap_or(limits.fuel);
        if metering == Some(Metering::Fuel) && fuel > limits.max_fuel {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "asked for {fuel} fuel; a call may have at most {}",
                    limits.max_fuel
                ),
            ));
        }
        let cpu_ms = eval.cpu_ms.unwrap_or(limits.cpu_ms);
        if metering == Some(Metering::Cpu) && (cpu_ms == 0 || cpu_ms > limits.max_cpu_ms) {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "asked for {cpu_ms} ms of CPU time; it must be 1 to {} ms",
                    limits.max_cpu_ms
                ),
            ));
        }
        let deadline_ms = eval.deadline_ms.unwrap_or(limits.deadline_ms);
        if deadline_ms == 0 || deadline_ms > limits.max_deadline_ms {
            return Err(RemoteError::new(
                ErrorKind::ResourceLimit,
                format!(
                    "asked for a deadline of {deadline_ms} ms; it must be 1 to {} ms",
                    limits.max_deadline_ms
                ),
            ));
        }
        Ok(Budget {
            fuel: (metering == Some(Metering::Fuel)).then_some(fuel),
            deadline_ms: Some(deadline_ms),
            cpu_ms: (metering == Some(Metering::Cpu)).then_some(cpu_ms),
        })
    }
}

/// Put `output` into the answer of the request that produced it; an error
/// carries it only when the guest wrote something.
fn attach(reply: &mut Result<Response, RemoteError>, output: GuestOutput) {
    match reply {
        Ok(Response::Evaluated(result)) => result.output = output,
        Ok(Response::Executed(info) | Response::Reset(info)) => info.output = output,
        Ok(_) => {}
        Err(e) if !output.is_empty() => e.output = Some(output),
        Err(_) => {}
    }
}

fn check_name(name: &str) -> Result<(), RemoteError> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(RemoteError::new(
            ErrorKind::BadRequest,
            format!("a name must have 1 to {MAX_NAME} bytes"),
        ));
    }
    Ok(())
}
