"""``Connection``, ``Namespace`` and ``Instance``: the RPyC-classic surface
over the extension's ``NativeConnection``."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, MutableMapping
from typing import Any

from . import _native
from .errors import NotFoundError


def _module_bytes(source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> bytes:
    """``execute``'s ``source`` as bytes: bytes as they are, a ``str`` as WAT
    text when it starts with ``(`` (after whitespace and ``;;`` comments), else
    as a file path; an ``os.PathLike`` as a file."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if isinstance(source, str):
        if _looks_like_wat(source):
            return source.encode()
        with open(source, "rb") as f:
            return f.read()
    if isinstance(source, os.PathLike):
        with open(source, "rb") as f:
            return f.read()
    raise TypeError(
        f"source: expected bytes, WAT text, a path or an os.PathLike, got {type(source).__name__}"
    )


def _looks_like_wat(text: str) -> bool:
    for line in text.lstrip().splitlines():
        line = line.strip()
        if not line or line.startswith(";;"):
            continue
        return line.startswith("(")
    return False


class Connection:
    """A session with a Sandcall server: ``sandcall.connect(...)`` makes one.

    Instances uploaded with ``execute`` live until dropped or until the
    connection closes. A ``Connection`` is a context manager (``close()`` on
    exit) and may be shared by threads: calls take turns on it, and the GIL is
    released while a call waits on the network. Ctrl-C (``KeyboardInterrupt``)
    stops a waiting call; it is cancelled on the server and the connection
    stays usable.
    """

    def __init__(self, native: _native.NativeConnection, address: str) -> None:
        self._native = native
        self.address = address
        self.namespace = Namespace(self)
        """The instances of this session, as a mapping (see ``Namespace``)."""

    # -- life cycle -----------------------------------------------------------
    def close(self) -> None:
        """Close the connection; the server drops this session's instances."""
        self._native.close()

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called."""
        return self._native.closed

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<sandcall.Connection {self.address} {state}>"

    # -- requests -------------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """The server's ``info``: ``server_version``, ``wasmtime_version``,
        ``protocol_version``, ``mode``, ``limits`` (a dict; ``None`` is "no
        limit") and ``features`` (wasm proposals enabled)."""
        return self._native.info()

    def execute(
        self,
        name: str,
        source: bytes | bytearray | memoryview | str | os.PathLike[str],
        *,
        replace: bool = False,
    ) -> dict[str, Any]:
        """Upload ``source`` and instantiate it as ``name``.

        ``source`` is ``bytes`` (a wasm binary, a component or WAT text), a
        ``str`` (WAT text if it starts with ``(``, else a file path) or an
        ``os.PathLike`` file. Returns the instance's description (as in
        ``namespace.info(name)``). ``replace=True`` replaces an instance of
        the same name instead of raising ``AlreadyExistsError``.
        """
        if not isinstance(name, str):
            raise TypeError(f"name: expected str, got {type(name).__name__}")
        return self._native.execute(name, _module_bytes(source), replace)

    def eval(
        self,
        name: str,
        export: str,
        *args: Any,
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> Any:
        """Call ``export`` of instance ``name`` with ``args``.

        The arguments are typed by the export's signature (see the package
        docstring for the mapping). One result comes back as a value, several
        as a tuple, none as ``None``. ``fuel`` (sessions metered by fuel),
        ``cpu_ms`` (sessions metered by CPU time, the default) and
        ``deadline_ms`` override the server's defaults for this call.
        """
        return self._native.eval(name, export, args, fuel, deadline_ms, cpu_ms)

    def call(
        self,
        name: str,
        export: str,
        *args: Any,
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> dict[str, Any]:
        """Like ``eval``, with the costs: a dict of ``result``, ``fuel_used``,
        ``guest_ns`` (time inside the guest), ``cpu_ns`` (CPU time charged,
        0 where it is not metered), ``stdout``, ``stderr`` and
        ``output_dropped``."""
        return self._native.call(name, export, args, fuel, deadline_ms, cpu_ms)

    def eval_many(
        self,
        name: str,
        export: str,
        calls: Iterable[tuple[Any, ...]],
        *,
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> list[Any]:
        """Many calls of one export, pipelined: ``calls`` holds a tuple of
        arguments per call; the results come back in order. If any call
        failed, every answer is still received, then the first failure is
        raised."""
        return self._native.eval_many(name, export, calls, fuel, deadline_ms, cpu_ms)

    def validate(self, source: bytes | bytearray | memoryview | str | os.PathLike[str]) -> str:
        """Compile and validate ``source`` without instantiating it; returns
        its SHA-256 (hex), the server's cache key."""
        return self._native.validate(_module_bytes(source))

    def register(self, name: str, as_name: str) -> None:
        """Let later uploads import instance ``name``'s exports from module
        ``as_name``."""
        self._native.register(name, as_name)


class Namespace(MutableMapping[str, "Instance"]):
    """The instances of a connection, by name, like RPyC's ``conn.namespace``.

    ``name in ns``, ``for name in ns``, ``len(ns)``, ``ns[name]`` (an
    ``Instance``; ``KeyError`` if absent) and ``del ns[name]`` (drop the
    instance). Assigning ``ns[name] = source`` executes ``source`` as
    ``name``, replacing an instance of that name.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _list(self) -> list[dict[str, Any]]:
        return self._conn._native.namespace()

    def info(self, name: str) -> dict[str, Any]:
        """The description of instance ``name``: ``kind``, ``module_hash``,
        ``exports`` (name → type), ``memory_bytes``, ``fuel_used``, ``cpu_ns`` ..."""
        for item in self._list():
            if item["name"] == name:
                return item
        raise KeyError(name)

    def __getitem__(self, name: str) -> Instance:
        if not isinstance(name, str):
            raise TypeError(f"name: expected str, got {type(name).__name__}")
        if name not in self:
            raise KeyError(name)
        return Instance(self._conn, name)

    def __setitem__(self, name: str, source: Any) -> None:
        self._conn.execute(name, source, replace=True)

    def __delitem__(self, name: str) -> None:
        try:
            self._conn._native.drop_instance(name)
        except NotFoundError as e:
            raise KeyError(name) from e

    def __contains__(self, name: object) -> bool:
        return any(item["name"] == name for item in self._list())

    def __iter__(self) -> Iterator[str]:
        return iter([item["name"] for item in self._list()])

    def __len__(self) -> int:
        return len(self._list())

    def __repr__(self) -> str:
        return f"<sandcall.Namespace {list(self)}>"


class Instance(MutableMapping[str, Any]):
    """One instance of a session: its globals as a mapping, its exports,
    calls and memory.

    ``inst["Bar"]`` reads global ``Bar``; ``inst["Bar"] = 42`` writes it (so
    ``conn.namespace["scores"]["Bar"] += 58`` works); iteration and ``len``
    cover the globals. Deleting a global is not possible (``TypeError``).
    """

    def __init__(self, conn: Connection, name: str) -> None:
        self._conn = conn
        self.name = name

    # -- globals --------------------------------------------------------------
    def __getitem__(self, global_name: str) -> Any:
        try:
            return self._conn._native.get_global(self.name, global_name)
        except NotFoundError as e:
            raise KeyError(global_name) from e

    def __setitem__(self, global_name: str, value: Any) -> None:
        self._conn._native.set_global(self.name, global_name, value)

    def __delitem__(self, global_name: str) -> None:
        raise TypeError("globals cannot be deleted")

    def _globals(self) -> list[str]:
        return [n for n, ty in self.exports.items() if ty.startswith("global")]

    def __iter__(self) -> Iterator[str]:
        return iter(self._globals())

    def __len__(self) -> int:
        return len(self._globals())

    # -- description ----------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """This instance's description (see ``Namespace.info``)."""
        return self._conn.namespace.info(self.name)

    @property
    def exports(self) -> dict[str, str]:
        """Export name → its type, as WIT (components) or core text."""
        return self.info["exports"]

    # -- calls, memory, life cycle --------------------------------------------
    def eval(self, export: str, *args: Any, **budget: int | None) -> Any:
        """``conn.eval(self.name, export, *args)``."""
        return self._conn.eval(self.name, export, *args, **budget)

    def __getattr__(self, export: str) -> Any:
        """``inst.incr_foo()`` calls export ``incr_foo`` (``-`` in a WIT name
        is ``_`` here: ``inst.quick_sort(data)`` calls ``quick-sort``)."""
        if export.startswith("_"):
            raise AttributeError(export)
        exports = self.exports
        for candidate in (export, export.replace("_", "-")):
            if candidate in exports:
                return lambda *args, **budget: self.eval(candidate, *args, **budget)
        raise AttributeError(f"instance {self.name!r} has no export {export!r}")

    def read(self, offset: int, length: int, memory: str | None = None) -> bytes:
        """``length`` bytes of memory at ``offset`` (``memory``: the export
        name of the memory; default the first exported one)."""
        return self._conn._native.read_memory(self.name, offset, length, memory)

    def write(self, offset: int, data: Any, memory: str | None = None) -> None:
        """Write ``data`` (bytes or any contiguous buffer, e.g. an
        ``array.array`` or numpy array, as its raw bytes) at ``offset``."""
        self._conn._native.write_memory(self.name, offset, data, memory)

    def reset(self) -> dict[str, Any]:
        """Instantiate afresh (state lost): the way back after ``PoisonedError``."""
        return self._conn._native.reset(self.name)

    def drop(self) -> None:
        """``del conn.namespace[self.name]``."""
        del self._conn.namespace[self.name]

    def __repr__(self) -> str:
        return f"<sandcall.Instance {self.name!r}>"
