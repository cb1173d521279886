//! How guest code ended: a call's named [`Outcome`], and wasmtime's errors
//! turned into protocol errors by type rather than by text.

use crate::store::{Budget, Stop, StoreData};
use sandcall_protocol::{ErrorKind, RemoteError, Value};
use wasmtime::Trap;

/// How a call ended.
#[derive(Debug)]
pub enum Outcome {
    /// The guest returned `results`, after `guest_ns` nanoseconds inside the
    /// call (lowering and lifting included).
    Returned { results: Vec<Value>, guest_ns: u64 },
    /// Refused before the guest was entered (an unknown export, bad
    /// arguments), or the guest returned a result that cannot be sent: the
    /// instance is as it was.
    Refused(RemoteError),
    /// Failed inside the guest: a trap, fuel, deadline, limit or shutdown. A
    /// component instance cannot be entered again after this.
    Failed(RemoteError),
}

/// The error of a failed call or instantiation, from what the store saw
/// during it.
///
/// What the store's limiter refused, if anything, explains failures that are
/// not traps (an initial memory over the cap); other non-trap failures of an
/// instantiation are link errors. An interrupt is a deadline, a shutdown, a cancel or
/// a CPU-time budget used up, as the store noted when it stopped the guest.
pub fn guest_error(e: wasmtime::Error, budget: Budget, store: &mut StoreData) -> RemoteError {
    let refusal = store.take_refusal();
    let stop = store.take_stop();
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => RemoteError::new(
                ErrorKind::OutOfFuel,
                store.ceilings().out_of_fuel(budget.fuel),
            ),
            Trap::Interrupt => match (stop, budget.deadline_ms) {
                (Some(Stop::CpuTime), _) => RemoteError::new(
                    ErrorKind::CpuTimeExceeded,
                    store
                        .ceilings()
                        .out_of_cpu(budget.cpu_ms.unwrap_or(0), store.cpu_used_ns()),
                ),
                (Some(Stop::Cancelled), _) => RemoteError::new(
                    ErrorKind::Cancelled,
                    "the client cancelled the call; the guest was stopped",
                ),
                (Some(Stop::Shutdown), _) | (_, None) => RemoteError::new(
                    ErrorKind::ShuttingDown,
                    "the server is shutting down and stopped the guest before its call ended",
                ),
                (_, Some(ms)) => RemoteError::new(
                    ErrorKind::DeadlineExceeded,
                    store.ceilings().past_deadline(ms),
                ),
            },
            other => {
                let mut error = RemoteError::trap(trap_code(*other), other.to_string());
                if let Some(refusal) = refusal {
                    error.message = format!("{}; {refusal}", error.message);
                }
                explain_trap(error, &e, store)
            }
        };
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        let error = RemoteError::trap(
            "exit",
            format!("the guest called WASI proc_exit({})", exit.0),
        );
        return explain_trap(error, &e, store);
    }
    match refusal {
        Some(refusal) => RemoteError::new(ErrorKind::ResourceLimit, refusal),
        // Raised while wasm ran: a host function (WASI) failed the call.
        None if e.downcast_ref::<wasmtime::WasmBacktrace>().is_some() => {
            RemoteError::trap("host_error", format!("{e:#}"))
        }
        None => RemoteError::new(ErrorKind::LinkError, format!("{e:#}")),
    }
}

/// A wasmtime error the client cannot have caused (wasmtime refusing to
/// root, inspect or type-check a value the server made).
pub fn internal(e: wasmtime::Error) -> RemoteError {
    RemoteError::new(ErrorKind::Internal, format!("{e:#}"))
}

/// Frames of a wasm backtrace quoted in a trap's message.
const FRAMES: usize = 20;

/// `error` (a trap) with what helps to debug it: the guest's last lines on
/// stderr (a Rust panic message) and the wasm backtrace, named from the
/// module's name section where it has one.
fn explain_trap(mut error: RemoteError, e: &wasmtime::Error, store: &StoreData) -> RemoteError {
    use std::fmt::Write as _;
    let mut more = String::new();
    if let Some(lines) = store.context().output().last_stderr_lines(3) {
        let _ = write!(more, "\nthe guest's last words on stderr:");
        for line in lines.lines() {
            let _ = write!(more, "\n  | {line}");
        }
    }
    if let Some(trace) = e.downcast_ref::<wasmtime::WasmBacktrace>()
        && !trace.frames().is_empty()
    {
        let _ = write!(more, "\nwasm backtrace:");
        for (i, frame) in trace.frames().iter().take(FRAMES).enumerate() {
            let module = frame.module().name().unwrap_or("<module>");
            let _ = match frame.func_name() {
                Some(name) => write!(more, "\n  {i:>2}: {module}!{name}"),
                None => write!(
                    more,
                    "\n  {i:>2}: {module}!<function {}>",
                    frame.func_index()
                ),
            };
            if let Some(offset) = frame.module_offset() {
                let _ = write!(more, " @ {offset:#x}");
            }
        }
        if trace.frames().len() > FRAMES {
            let _ = write!(more, "\n  … {} more frames", trace.frames().len() - FRAMES);
        }
    }
    if !more.is_empty() {
        error.message = cut_message(format!("{}{more}", error.message));
    }
    error
}

/// A message within the protocol's bound (a backtrace can be long).
fn cut_message(message: String) -> String {
    RemoteError::new(ErrorKind::Trap, message).message
}

/// A trap's code in snake_case (`IntegerDivisionByZero` → `integer_division_by_zero`).
fn trap_code(trap: Trap) -> String {
    let name = format!("{trap:?}");
    let mut code = String::with_capacity(name.len() + 4);
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                code.push('_');
            }
            code.push(c.to_ascii_lowercase());
        } else {
            code.push(c);
        }
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trap_codes_are_snake_case() {
        assert_eq!(
            trap_code(Trap::IntegerDivisionByZero),
            "integer_division_by_zero"
        );
        assert_eq!(trap_code(Trap::StackOverflow), "stack_overflow");
    }
}
