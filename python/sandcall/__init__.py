"""Sandcall from Python: upload WebAssembly to a Sandcall server, call it, and
look at or change its state, the way RPyC's classic mode does with Python
code, but with everything running in the server's wasm sandbox.

    import sandcall
    with sandcall.connect("127.0.0.1:18812") as conn:
        conn.execute("scores", "scores.wat")          # conn.execute("scores = ...")
        conn.eval("scores", "incr_foo")                # conn.eval("incr_foo()")
        conn.namespace["scores"]["Bar"] += 58          # the same line as in RPyC

This package wraps the Rust client library ``sandcall`` (PyO3); it does not
reimplement the protocol.

Values
------
Arguments are typed by the export's signature; results come back as:

=================  ==========================================================
wasm / WIT type    Python
=================  ==========================================================
i32, i64           ``int`` (either the signed or the unsigned range; results
                   are signed)
s8 ... u64         ``int``, range-checked (``ValueError`` naming the argument)
f32, f64           ``float`` (an ``int`` is accepted); an f64 keeps its exact
                   bits, NaN payloads and ``-0.0`` included
v128               ``int`` (0 ... 2**128-1)
funcref, externref ``None`` for null; an externref is an ``int``; a non-null
                   funcref comes back as the string ``"funcref"``
anyref, exnref ... ``None`` for null; a GC object or exception stays on the
                   server and comes back as a ``sandcall.HeldRef`` (``.kind``
                   ``"struct"``, ``"array"``, ``"i31"``, ``"any"``, ``"exn"``,
                   or ``"extern"`` for an externref the guest made),
                   which later calls of the same instance may take back
bool               ``bool`` (an ``int`` is refused)
char, string       ``str`` (one character for a char)
list<number>       sent packed: a ``list``/``tuple`` of numbers, or any buffer
                   of the right item type (``array.array``, a numpy array,
                   ``bytes`` for ``list<u8>``) copied once, without a Python
                   object per element; the result is the same kind of
                   container as the first buffer argument (numpy array,
                   ``array.array``, ``bytes`` for u8), else a ``list``
list<T>            ``list`` (or ``tuple``)
tuple<...>         ``tuple`` (a ``list`` is accepted)
record             ``dict`` with exactly the record's field names
variant            ``(case, payload)``; ``"case"`` alone for a case without a
                   payload; results are always ``(case, payload or None)``
enum               ``str``, the case name
option<T>          ``None`` or the value (so ``option<option<T>>`` cannot
                   tell ``some(none)`` from ``none``)
result<T, E>       ``("ok", value)`` / ``("err", value)``; ``"ok"``/``"err"``
                   alone when that side has no payload; results are always
                   pairs, ``None`` for no payload
flags              ``set`` of ``str`` (any iterable of ``str`` is accepted)
=================  ==========================================================

Errors
------
See ``sandcall.errors``: ``Error`` is the base, ``RemoteError`` (with
``.kind`` and ``.message``, a subclass per kind) a server refusal,
``ConnectionError`` a broken connection, ``TimeoutError`` a call beyond
``connect(timeout=...)``; wrong types raise ``TypeError`` / ``ValueError``
naming the argument.
"""

from __future__ import annotations

import os

from . import _native
from ._client import Connection, Instance, Namespace
from ._native import HeldRef
from .errors import *  # noqa: F403 - the exception classes are part of the API
from .errors import __all__ as _errors_all

__version__: str = _native.CLIENT_VERSION
#: The wire protocol version this client speaks (the server's must match).
PROTOCOL_VERSION: int = _native.PROTOCOL_VERSION


def connect(
    address: str,
    *,
    token: str | None = None,
    ca: str | os.PathLike[str] | None = None,
    mode: str = "sandboxed",
    timeout: float | None = None,
    metering: str = "cpu",
) -> Connection:
    """Connect to the server at ``address`` and do the handshake.

    ``address`` is ``HOST:PORT`` or ``sandcall://HOST:PORT`` (plaintext), or
    ``sandcalls://HOST:PORT`` (TLS, trusting ``ca``, a PEM file, or else the
    public web roots). ``token`` is the tenant's token for a server started
    with ``--tenants``. ``mode`` is ``"sandboxed"`` or ``"unrestricted"``
    (only on a server started with ``--allow-unrestricted``). ``timeout``, in
    seconds, bounds connecting and every later call (``sandcall.TimeoutError``;
    the call is cancelled on the server and the connection stays usable).
    ``metering`` is how a sandboxed session bounds its calls: ``"cpu"`` (the
    default: a CPU-time budget per call, ``eval(..., cpu_ms=)``) or
    ``"fuel"`` (every instruction counted, deterministic but slower;
    ``eval(..., fuel=)``); a session keeps the one it started with.

    Raises ``ConnectionError`` when the server cannot be reached,
    ``RemoteError`` when it refuses the handshake (``UnauthenticatedError``,
    ``VersionMismatchError``, ``UnsupportedError`` for a mode it does not
    offer) and ``ValueError`` for a bad address, mode, timeout or metering.
    """
    if not isinstance(address, str):
        raise TypeError(f"address: expected str, got {type(address).__name__}")
    if token is not None and not isinstance(token, str):
        raise TypeError(f"token: expected str, got {type(token).__name__}")
    native = _native.connect(
        address,
        token=token,
        ca=None if ca is None else os.fspath(ca),
        mode=mode,
        timeout=timeout,
        metering=metering,
    )
    return Connection(native, address)


__all__ = [
    "connect",
    "Connection",
    "Namespace",
    "Instance",
    "HeldRef",
    "PROTOCOL_VERSION",
    *_errors_all,
]
