//! Turning wasmtime errors into protocol errors, by type rather than by text.

use sandcall_protocol::{ErrorKind, RemoteError};
use wasmtime::Trap;

/// The budget a call ran under, for error messages.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    /// Fuel given to the call (`None`: not metered).
    pub fuel: Option<u64>,
    /// Wall-clock deadline in ms (`None`: none, only in unrestricted mode).
    pub deadline_ms: Option<u64>,
}

/// A module that failed to parse, decode, validate or compile.
pub fn invalid_module(e: wasmtime::Error) -> RemoteError {
    RemoteError::new(ErrorKind::InvalidModule, format!("{e:#}"))
}

/// The error of a failed call or instantiation.
///
/// `refusal` is what the store's limiter refused during it, if anything; it
/// explains failures that are not traps (an initial memory over the cap).
/// Other non-trap failures of an instantiation are link errors.
pub fn guest_error(e: wasmtime::Error, budget: Budget, refusal: Option<String>) -> RemoteError {
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::OutOfFuel => RemoteError::new(
                ErrorKind::OutOfFuel,
                match budget.fuel {
                    Some(fuel) => format!("the guest used all {fuel} units of fuel it was given"),
                    None => "the guest ran out of fuel".to_string(),
                },
            ),
            Trap::Interrupt => RemoteError::new(
                ErrorKind::DeadlineExceeded,
                match budget.deadline_ms {
                    Some(ms) => {
                        format!("the guest ran past its deadline of {ms} ms and was stopped")
                    }
                    None => "the guest was interrupted: the server is shutting down".to_string(),
                },
            ),
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
pub fn trap_code(trap: Trap) -> String {
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
