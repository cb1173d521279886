"""Type stubs of the extension module ``sandcall._native`` (Rust, PyO3).
Use the ``sandcall`` package rather than this module directly."""

from collections.abc import Iterable
from typing import Any

PROTOCOL_VERSION: int
CLIENT_VERSION: str

class NativeConnection:
    """A session with a Sandcall server; safe to share between threads."""

    @property
    def closed(self) -> bool: ...
    def info(self) -> dict[str, Any]: ...
    def execute(self, name: str, module: bytes, replace: bool = False) -> dict[str, Any]: ...
    def eval(
        self,
        name: str,
        export: str,
        args: tuple[Any, ...],
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> Any: ...
    def call(
        self,
        name: str,
        export: str,
        args: tuple[Any, ...],
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> dict[str, Any]: ...
    def eval_many(
        self,
        name: str,
        export: str,
        calls: Iterable[tuple[Any, ...]],
        fuel: int | None = None,
        deadline_ms: int | None = None,
        cpu_ms: int | None = None,
    ) -> list[Any]: ...
    def namespace(self) -> list[dict[str, Any]]: ...
    def drop_instance(self, name: str) -> None: ...
    def reset(self, name: str) -> dict[str, Any]: ...
    def get_global(self, name: str, global_: str) -> Any: ...
    def set_global(self, name: str, global_: str, value: Any) -> None: ...
    def read_memory(
        self, name: str, offset: int, length: int, memory: str | None = None
    ) -> bytes: ...
    def write_memory(self, name: str, offset: int, data: Any, memory: str | None = None) -> None: ...
    def register(self, name: str, as_name: str) -> None: ...
    def validate(self, module: bytes) -> str: ...
    def close(self) -> None: ...

def connect(
    address: str,
    *,
    token: str | None = None,
    ca: str | None = None,
    mode: str = "sandboxed",
    timeout: float | None = None,
    metering: str = "cpu",
) -> NativeConnection: ...

class HeldRef:
    """A GC object or exception the server keeps for this session; pass it
    back to instances of the family that returned it."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> int: ...
