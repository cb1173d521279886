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
/// instantiation are link errors. An interrupt is a deadline or a shutdown,
/// as the store noted when it stopped the guest.
pub fn guest_error(e: wasmtime::Error, budget: Budget, store: &mut StoreData) -> RemoteError {
    let refusal = store.take_refusal();
    let stop = store.take_stop();
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => RemoteError::new(
                ErrorKind::OutOfFuel,
                match budget.fuel {
                    Some(fuel) => format!("the guest used all {fuel} units of fuel it was given"),
                    None => "the guest ran out of fuel".to_string(),
                },
            ),
            Trap::Interrupt => match (stop, budget.deadline_ms) {
                (Some(Stop::Shutdown), _) | (_, None) => RemoteError::new(
                    ErrorKind::ShuttingDown,
                    "the server is shutting down and stopped the guest before its call ended",
                ),
                (_, Some(ms)) => RemoteError::new(
                    ErrorKind::DeadlineExceeded,
                    format!("the guest ran past its deadline of {ms} ms and was stopped"),
                ),
            },
            other => {
                let mut error = RemoteError::trap(trap_code(*other), other.to_string());
                if let Some(refusal) = refusal {
                    error.message = format!("{}; {refusal}", error.message);
                }
                error
            }
        };
    }
    if let Some(exit) = e.downcast_ref::<wasmtime_wasi::I32Exit>() {
        return RemoteError::trap(
            "exit",
            format!("the guest called WASI proc_exit({})", exit.0),
        );
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
