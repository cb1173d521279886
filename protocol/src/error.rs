//! Structured errors: a kind a program can branch on, plus a message for people.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What went wrong, as a stable numeric code on the wire.
///
/// Codes never change meaning. An error may refuse the handshake of a peer of
/// another protocol version, so a code this build does not know decodes as
/// [`ErrorKind::Unknown`] instead of failing the whole message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request is malformed or its arguments do not fit (wrong types, counts).
    BadRequest,
    /// No instance, export, global or memory of that name.
    NotFound,
    /// An instance of that name exists and `replace` was not set.
    AlreadyExists,
    /// The module does not parse, decode or validate.
    InvalidModule,
    /// The module's imports cannot be satisfied.
    LinkError,
    /// The guest trapped; [`RemoteError::trap`] names the trap code.
    Trap,
    /// The call used all the fuel it was given.
    OutOfFuel,
    /// The call ran past its wall-clock deadline.
    DeadlineExceeded,
    /// A server limit was hit (memory, instances, module size, frame size …).
    ResourceLimit,
    /// Not supported by this server or mode.
    Unsupported,
    /// A bug or an unexpected failure inside the server.
    Internal,
    /// The client speaks a protocol version the server does not.
    VersionMismatch,
    /// The component instance trapped earlier and can no longer be entered;
    /// `reset` re-instantiates it.
    Poisoned,
    /// The server is shutting down and stopped the call before it ended.
    ShuttingDown,
    /// The hello carried no token, or one the server does not know.
    Unauthenticated,
    /// The tenant used its budget (fuel per minute) or its connections; the
    /// message says when the budget refills.
    QuotaExceeded,
    /// The session was idle longer than the server's idle timeout.
    IdleTimeout,
    /// The client cancelled the call (`Request::Cancel`) before it ended.
    Cancelled,
    /// The call used all the CPU time it was given (its CPU-time budget,
    /// charged from the thread CPU clock while the guest ran).
    CpuTimeExceeded,
    /// A code this build does not know (sent by a peer of another protocol
    /// version, refusing a handshake).
    Unknown(u16),
}

impl ErrorKind {
    /// The stable wire code of this kind.
    pub fn code(self) -> u16 {
        match self {
            ErrorKind::BadRequest => 1,
            ErrorKind::NotFound => 2,
            ErrorKind::AlreadyExists => 3,
            ErrorKind::InvalidModule => 4,
            ErrorKind::LinkError => 5,
            ErrorKind::Trap => 6,
            ErrorKind::OutOfFuel => 7,
            ErrorKind::DeadlineExceeded => 8,
            ErrorKind::ResourceLimit => 9,
            ErrorKind::Unsupported => 10,
            ErrorKind::Internal => 11,
            ErrorKind::VersionMismatch => 12,
            ErrorKind::Poisoned => 13,
            ErrorKind::ShuttingDown => 14,
            ErrorKind::Unauthenticated => 15,
            ErrorKind::QuotaExceeded => 16,
            ErrorKind::IdleTimeout => 17,
            ErrorKind::Cancelled => 18,
            ErrorKind::CpuTimeExceeded => 19,
            ErrorKind::Unknown(code) => code,
        }
    }

    /// A short lowercase name, as the CLI prints it (`error: out-of-fuel: …`).
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::BadRequest => "bad-request",
            ErrorKind::NotFound => "not-found",
            ErrorKind::AlreadyExists => "already-exists",
            ErrorKind::InvalidModule => "invalid-module",
            ErrorKind::LinkError => "link-error",
            ErrorKind::Trap => "trap",
            ErrorKind::OutOfFuel => "out-of-fuel",
            ErrorKind::DeadlineExceeded => "deadline-exceeded",
            ErrorKind::ResourceLimit => "resource-limit",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
            ErrorKind::VersionMismatch => "version-mismatch",
            ErrorKind::Poisoned => "poisoned",
            ErrorKind::ShuttingDown => "shutting-down",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::QuotaExceeded => "quota-exceeded",
            ErrorKind::IdleTimeout => "idle-timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::CpuTimeExceeded => "cpu-time-exceeded",
            ErrorKind::Unknown(_) => "unknown",
        }
    }
}

impl From<u16> for ErrorKind {
    fn from(code: u16) -> Self {
        match code {
            1 => ErrorKind::BadRequest,
            2 => ErrorKind::NotFound,
            3 => ErrorKind::AlreadyExists,
            4 => ErrorKind::InvalidModule,
            5 => ErrorKind::LinkError,
            6 => ErrorKind::Trap,
            7 => ErrorKind::OutOfFuel,
            8 => ErrorKind::DeadlineExceeded,
            9 => ErrorKind::ResourceLimit,
            10 => ErrorKind::Unsupported,
            11 => ErrorKind::Internal,
            12 => ErrorKind::VersionMismatch,
            13 => ErrorKind::Poisoned,
            14 => ErrorKind::ShuttingDown,
            15 => ErrorKind::Unauthenticated,
            16 => ErrorKind::QuotaExceeded,
            17 => ErrorKind::IdleTimeout,
            18 => ErrorKind::Cancelled,
            19 => ErrorKind::CpuTimeExceeded,
            other => ErrorKind::Unknown(other),
        }
    }
}

impl From<ErrorKind> for u16 {
    fn from(kind: ErrorKind) -> u16 {
        kind.code()
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::Unknown(code) => write!(f, "unknown({code})"),
            other => f.write_str(other.name()),
        }
    }
}

/// An error the server sent back for one request (or for the connection).
///
/// On the wire, `output` is an optional last field: without it the
/// encoding is exactly protocol 4's, so a handshake refusal (which never
/// carries output) reads the same in every version. See [`crate::error`]'s
/// `Serialize` and `Deserialize` impls below.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct RemoteError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// For [`ErrorKind::Trap`]: the trap code in snake_case, e.g.
    /// `integer_division_by_zero`, `stack_overflow`, `unreachable`.
    pub trap: Option<String>,
    /// A message for people.
    pub message: String,
    /// What the guest wrote to its stdout and stderr before the failure, if
    /// it wrote anything (a panic message, a trace).
    pub output: Option<crate::GuestOutput>,
}

impl Serialize for RemoteError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let fields = 3 + usize::from(self.output.is_some());
        let mut e = s.serialize_struct("RemoteError", fields)?;
        e.serialize_field("kind", &self.kind)?;
        e.serialize_field("trap", &self.trap)?;
        e.serialize_field("message", &self.message)?;
        if let Some(output) = &self.output {
            e.serialize_field("output", output)?;
        }
        e.end()
    }
}

impl<'de> Deserialize<'de> for RemoteError {
    /// Reads the three fields of every version, then the output if the
    /// message goes on (an error is always the last thing in a message).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = RemoteError;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an error: kind, trap, message and optional output")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RemoteError, A::Error> {
                let missing = |i| serde::de::Error::invalid_length(i, &"3 or 4 fields");
                let kind = seq.next_element()?.ok_or_else(|| missing(0))?;
                let trap = seq.next_element()?.ok_or_else(|| missing(1))?;
                let message = seq.next_element()?.ok_or_else(|| missing(2))?;
                // The end of the input (protocol 4's layout, or no output)
                // is an error here; a half-read output leaves bytes over, or
                // none, and decoding then fails or yields no output.
                let output = seq.next_element().ok().flatten();
                Ok(RemoteError {
                    kind,
                    trap,
                    message,
                    output,
                })
            }
        }
        d.deserialize_struct(
            "RemoteError",
            &["kind", "trap", "message", "output"],
            Fields,
        )
    }
}

/// Longest message an error carries. Messages quote client input (a WAT
/// parse error shows the offending line), so they are cut to stay small.
pub const MAX_MESSAGE: usize = 4096;

impl RemoteError {
    /// An error of `kind` with a message (cut to [`MAX_MESSAGE`] bytes).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        RemoteError {
            kind,
            trap: None,
            message: cut(message.into()),
            output: None,
        }
    }

    /// A trap with its code.
    pub fn trap(code: impl Into<String>, message: impl Into<String>) -> Self {
        RemoteError {
            kind: ErrorKind::Trap,
            trap: Some(code.into()),
            message: cut(message.into()),
            output: None,
        }
    }
}

fn cut(mut message: String) -> String {
    if message.len() > MAX_MESSAGE {
        let mut end = MAX_MESSAGE;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let dropped = message.len() - end;
        message.truncate(end);
        message.push_str(&format!(" … ({dropped} more bytes cut)"));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_are_cut_on_a_char_boundary() {
        let e = RemoteError::new(ErrorKind::InvalidModule, "é".repeat(5000));
        assert!(e.message.len() < MAX_MESSAGE + 40);
        assert!(e.message.ends_with("more bytes cut)"));
        assert_eq!(
            RemoteError::new(ErrorKind::BadRequest, "short").message,
            "short"
        );
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_survive() {
        for code in 1..=18u16 {
            assert_eq!(ErrorKind::from(code).code(), code);
            assert!(!matches!(ErrorKind::from(code), ErrorKind::Unknown(_)));
        }
        assert_eq!(ErrorKind::from(999), ErrorKind::Unknown(999));
        assert_eq!(ErrorKind::Unknown(999).code(), 999);
    }

    #[test]
    fn an_error_without_output_keeps_the_layout_of_every_version() {
        use crate::codec::decode_body;
        let config = bincode::config::standard();
        let plain = RemoteError::new(ErrorKind::VersionMismatch, "speak 5");
        let old_layout = (
            ErrorKind::VersionMismatch,
            None::<String>,
            "speak 5".to_string(),
        );
        let bytes = bincode::serde::encode_to_vec(&plain, config).unwrap();
        assert_eq!(
            bytes,
            bincode::serde::encode_to_vec(&old_layout, config).unwrap()
        );
        assert_eq!(decode_body::<RemoteError>(&bytes).unwrap(), plain);
        let mut with = RemoteError::trap("unreachable", "boom");
        with.output = Some(crate::GuestOutput {
            stdout: b"out".to_vec(),
            stderr: b"panicked at src/lib.rs".to_vec(),
            dropped: 7,
        });
        let reply: Result<(), RemoteError> = Err(with.clone());
        let bytes = bincode::serde::encode_to_vec(&reply, config).unwrap();
        assert_eq!(
            decode_body::<Result<(), RemoteError>>(&bytes).unwrap(),
            reply
        );
        // A cut output is refused or dropped, never misread.
        for cut in 1..12 {
            if let Ok(Err(e)) = decode_body::<Result<(), RemoteError>>(&bytes[..bytes.len() - cut])
            {
                assert_eq!(e.output, None);
            }
        }
    }
}
