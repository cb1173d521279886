"""The exceptions of ``sandcall``.

``Error`` is the base of everything this package raises on purpose.
``RemoteError`` is a refusal by the server: its ``kind`` is the wire's kind
string (``"out-of-fuel"``, ``"not-found"``, ``"invalid-module"`` ...), with
one subclass per kind, so ``except sandcall.OutOfFuelError`` works.
``ConnectionError`` is a connection that could not be made or broke
(it is also a ``builtins.ConnectionError``), ``TimeoutError`` a call that
took longer than ``connect(timeout=...)`` (also a ``builtins.TimeoutError``).
Wrong Python types raise ``TypeError``, wrong values ``ValueError``, both
naming the argument.
"""

from __future__ import annotations

import builtins


class Error(Exception):
    """Base class of the errors raised by sandcall."""


class ConnectionError(Error, builtins.ConnectionError):
    """The server could not be reached, refused the handshake at the transport
    level, closed the connection, or sent something this client cannot read.
    The connection is unusable afterwards."""


class TimeoutError(Error, builtins.TimeoutError):
    """No answer within the connection's ``timeout``. The call is cancelled on
    the server and the connection stays usable."""


class RequestTooLargeError(Error, ValueError):
    """The request does not fit in one frame of this connection (the server's
    ``--frame-bytes``). Nothing was sent; the connection stays usable."""


class RemoteError(Error):
    """The server refused a request.

    Attributes:
        kind: the wire's kind string, e.g. ``"out-of-fuel"``.
        message: the server's message, for people.
        trap: for ``kind == "trap"``, the trap code (``"unreachable"``,
            ``"integer_division_by_zero"`` ...), else ``None``.
        stdout, stderr: what the guest wrote before the failure (bytes).
    """

    kind: str = "unknown"

    def __init__(
        self,
        kind: str,
        message: str,
        trap: str | None = None,
        stdout: bytes = b"",
        stderr: bytes = b"",
    ) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message
        self.trap = trap
        self.stdout = stdout
        self.stderr = stderr

    def __reduce__(self):  # picklable despite the extra arguments
        return (type(self), (self.kind, self.message, self.trap, self.stdout, self.stderr))


class BadRequestError(RemoteError):
    """``bad-request``: malformed request or arguments that do not fit."""


class NotFoundError(RemoteError, LookupError):
    """``not-found``: no instance, export, global or memory of that name."""


class AlreadyExistsError(RemoteError):
    """``already-exists``: an instance of that name exists (pass ``replace=True``)."""


class InvalidModuleError(RemoteError):
    """``invalid-module``: the module does not parse, decode or validate."""


class LinkError(RemoteError):
    """``link-error``: the module's imports cannot be satisfied."""


class TrapError(RemoteError):
    """``trap``: the guest trapped; ``.trap`` names the trap code."""


class OutOfFuelError(RemoteError):
    """``out-of-fuel``: the call used all the fuel it was given."""


class DeadlineExceededError(RemoteError):
    """``deadline-exceeded``: the call ran past its wall-clock deadline."""


class ResourceLimitError(RemoteError):
    """``resource-limit``: a server limit was hit (memory, instances, sizes)."""


class UnsupportedError(RemoteError):
    """``unsupported``: not supported by this server or mode."""


class InternalError(RemoteError):
    """``internal``: an unexpected failure inside the server."""


class VersionMismatchError(RemoteError):
    """``version-mismatch``: client and server speak different protocol versions."""


class PoisonedError(RemoteError):
    """``poisoned``: the component instance trapped earlier; ``reset`` it."""


class ShuttingDownError(RemoteError):
    """``shutting-down``: the server stopped the call while shutting down."""


class UnauthenticatedError(RemoteError):
    """``unauthenticated``: no token, or one the server does not know."""


class QuotaExceededError(RemoteError):
    """``quota-exceeded``: the tenant used its budget or its connections."""


class IdleTimeoutError(RemoteError):
    """``idle-timeout``: the session was idle longer than the server allows."""


class CancelledError(RemoteError):
    """``cancelled``: the call was cancelled before it ended."""


class CpuTimeExceededError(RemoteError):
    """``cpu-time-exceeded``: the call used all the CPU time it was given
    (sessions metered by CPU time, the default)."""


#: The class raised for each kind string; a kind not listed here (from a newer
#: server) raises a plain ``RemoteError``.
KINDS: dict[str, type[RemoteError]] = {
    "bad-request": BadRequestError,
    "not-found": NotFoundError,
    "already-exists": AlreadyExistsError,
    "invalid-module": InvalidModuleError,
    "link-error": LinkError,
    "trap": TrapError,
    "out-of-fuel": OutOfFuelError,
    "deadline-exceeded": DeadlineExceededError,
    "resource-limit": ResourceLimitError,
    "unsupported": UnsupportedError,
    "internal": InternalError,
    "version-mismatch": VersionMismatchError,
    "poisoned": PoisonedError,
    "shutting-down": ShuttingDownError,
    "unauthenticated": UnauthenticatedError,
    "quota-exceeded": QuotaExceededError,
    "idle-timeout": IdleTimeoutError,
    "cancelled": CancelledError,
    "cpu-time-exceeded": CpuTimeExceededError,
}

for _kind, _cls in KINDS.items():
    _cls.kind = _kind


def _remote(kind: str, message: str, trap: str | None, stdout: bytes, stderr: bytes) -> RemoteError:
    """The exception for a server refusal (called by the extension)."""
    return KINDS.get(kind, RemoteError)(kind, message, trap, stdout, stderr)


__all__ = [
    "Error",
    "ConnectionError",
    "TimeoutError",
    "RequestTooLargeError",
    "RemoteError",
    "KINDS",
    *(cls.__name__ for cls in KINDS.values()),
]
