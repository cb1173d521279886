"""Every error kind the server sends is raised as its own class."""

from __future__ import annotations

import pickle
import time

import pytest

import sandcall
from conftest import NUMBERS_WAT, Server


def test_kind_classes():
    assert issubclass(sandcall.RemoteError, sandcall.Error)
    assert issubclass(sandcall.ConnectionError, sandcall.Error)
    assert issubclass(sandcall.NotFoundError, LookupError)
    for kind, cls in sandcall.KINDS.items():
        assert issubclass(cls, sandcall.RemoteError) and cls.kind == kind
        e = sandcall.errors._remote(kind, "m", None, b"", b"")
        assert type(e) is cls and e.kind == kind and e.message == "m"
        assert type(pickle.loads(pickle.dumps(e))) is cls
    # A kind from a newer server: the base class, with its kind.
    e = sandcall.errors._remote("brand-new", "m", None, b"", b"")
    assert type(e) is sandcall.RemoteError and e.kind == "brand-new"


def raises(cls, kind):
    return pytest.raises(cls, match=f"^{kind}: ")


def test_kinds_from_a_real_server(numbers, values):
    with raises(sandcall.NotFoundError, "not-found"):
        numbers.eval("nope", "add", 1, 2)
    with raises(sandcall.NotFoundError, "not-found"):
        numbers.eval("n", "nope")
    with raises(sandcall.NotFoundError, "not-found") as e:
        numbers.namespace["n"].read(0, 1, memory="nope")
    assert e.value.kind == "not-found" and "nope" in e.value.message
    with raises(sandcall.AlreadyExistsError, "already-exists"):
        numbers.execute("n", NUMBERS_WAT)
    with raises(sandcall.InvalidModuleError, "invalid-module"):
        numbers.execute("bad", b"\0asm garbage")
    with raises(sandcall.LinkError, "link-error"):
        numbers.execute("l", '(module (import "env" "f" (func)))')
    with raises(sandcall.TrapError, "trap") as e:
        numbers.eval("n", "div", 1, 0)
    assert e.value.trap == "integer_division_by_zero"
    with raises(sandcall.CpuTimeExceededError, "cpu-time-exceeded"):
        numbers.eval("n", "spin", cpu_ms=20)
    with raises(sandcall.DeadlineExceededError, "deadline-exceeded"):
        numbers.eval("n", "spin", cpu_ms=10_000, deadline_ms=20)
    with raises(sandcall.BadRequestError, "bad-request"):
        numbers.eval("n", "spin", fuel=1000)  # fuel, in a session metered by CPU time
    with raises(sandcall.BadRequestError, "bad-request"):
        numbers.execute("", "(module)")
    with raises(sandcall.BadRequestError, "bad-request"):
        numbers.namespace["n"]["C"] = 4  # immutable
    with raises(sandcall.ResourceLimitError, "resource-limit"):
        numbers.eval("n", "add", 1, 2, cpu_ms=10**9)
    with raises(sandcall.ResourceLimitError, "resource-limit"):
        numbers.execute("big", "(module (memory 5000))")  # 312 MiB > 256 MiB
    with raises(sandcall.TrapError, "trap"):
        values.eval("v", "crash", "boom")
    with raises(sandcall.PoisonedError, "poisoned"):
        values.eval("v", "bump")


def test_fuel_kinds_from_a_real_server(address):
    with sandcall.connect(address, metering="fuel") as conn:
        conn.execute("n", NUMBERS_WAT)
        with raises(sandcall.OutOfFuelError, "out-of-fuel"):
            conn.eval("n", "spin", fuel=1000)
        with raises(sandcall.ResourceLimitError, "resource-limit"):
            conn.eval("n", "add", 1, 2, fuel=10**15)


def test_unauthenticated_and_idle_timeout(tmp_path):
    tenants = tmp_path / "tenants.toml"
    from conftest import SERVER
    import subprocess

    out = subprocess.run(
        [str(SERVER), "tenant", "add", "alice", "--tenants", str(tenants)],
        capture_output=True, text=True, check=True,
    )
    token = out.stdout.strip().splitlines()[-1]
    server = Server("--tenants", str(tenants), "--idle-timeout", "1")
    try:
        with raises(sandcall.UnauthenticatedError, "unauthenticated"):
            sandcall.connect(server.address)
        with raises(sandcall.UnauthenticatedError, "unauthenticated"):
            sandcall.connect(server.address, token="wrong")
        with sandcall.connect(server.address, token=token) as conn:
            conn.execute("n", NUMBERS_WAT)
            assert conn.eval("n", "add", 1, 2) == 3
            time.sleep(2.5)  # past the 1 s idle timeout (waiting, not measuring)
            with pytest.raises((sandcall.IdleTimeoutError, sandcall.ConnectionError)):
                conn.eval("n", "add", 1, 2)
    finally:
        server.stop()
