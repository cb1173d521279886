"""connect, info, execute's sources, eval / call / eval_many, validate,
register, close, timeouts, threads, and a server that dies mid-call."""

from __future__ import annotations

import pathlib
import threading
import time

import pytest

import sandcall
from conftest import NUMBERS_WAT, SCORES, Server, guest


def test_connect_info_and_close(address):
    conn = sandcall.connect(address)
    info = conn.info
    assert info["mode"] == "sandboxed"
    assert info["protocol_version"] == sandcall.PROTOCOL_VERSION
    assert info["server_version"] and info["wasmtime_version"]
    assert info["limits"]["frame_bytes"] > 0 and isinstance(info["features"], list)
    assert not conn.closed and "open" in repr(conn)
    conn.close()
    conn.close()  # idempotent
    assert conn.closed
    with pytest.raises(sandcall.ConnectionError, match="closed"):
        conn.eval("n", "add", 1, 2)


def test_context_manager_closes(address):
    with sandcall.connect(address, timeout=30, mode="sandboxed") as conn:
        conn.execute("n", NUMBERS_WAT)
    assert conn.closed


def test_connect_failures():
    with pytest.raises(sandcall.ConnectionError, match="cannot connect"):
        sandcall.connect("127.0.0.1:1")
    with pytest.raises(ValueError, match="address"):
        sandcall.connect("http://127.0.0.1:1")
    with pytest.raises(ValueError, match="mode"):
        sandcall.connect("127.0.0.1:1", mode="wild")
    with pytest.raises(ValueError, match="timeout"):
        sandcall.connect("127.0.0.1:1", timeout=-1)
    with pytest.raises(TypeError, match="address"):
        sandcall.connect(1234)  # type: ignore[arg-type]
    assert issubclass(sandcall.ConnectionError, ConnectionError)


def test_unrestricted_needs_the_server_to_allow_it(address):
    with pytest.raises(sandcall.RemoteError) as e:
        sandcall.connect(address, mode="unrestricted")
    assert e.value.kind == "unsupported" and isinstance(e.value, sandcall.UnsupportedError)


def test_execute_sources(conn, tmp_path):
    wat = tmp_path / "scores.wat"
    wat.write_text(SCORES.read_text())
    a = conn.execute("a", SCORES.read_text())  # WAT text
    assert a["kind"] == "core" and "incr_foo" in a["exports"]
    conn.execute("b", str(wat))  # a path as str
    conn.execute("c", wat)  # an os.PathLike
    conn.execute("d", SCORES.read_bytes())  # bytes of WAT
    conn.execute("e", guest("guest-sort").read_bytes())  # a component binary
    conn.execute("f", "  ;; comment\n (module)")
    assert sorted(conn.namespace) == ["a", "b", "c", "d", "e", "f"]
    assert conn.namespace.info("e")["kind"] == "component"
    with pytest.raises(sandcall.AlreadyExistsError):
        conn.execute("a", "(module)")
    assert conn.execute("a", "(module)", replace=True)["exports"] == {}
    with pytest.raises(FileNotFoundError):
        conn.execute("g", "no/such/file.wat")
    with pytest.raises(TypeError, match="source"):
        conn.execute("g", 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="name"):
        conn.execute(1, "(module)")  # type: ignore[arg-type]


def test_validate_register_call(numbers):
    digest = numbers.validate(NUMBERS_WAT)
    assert len(digest) == 64
    numbers.register("n", "lib")
    numbers.execute("user", '(module (import "lib" "add" (func $add (param i32 i32) (result i32)))'
                    ' (func (export "twice") (param i32) (result i32) local.get 0 local.get 0 call $add))')
    assert numbers.eval("user", "twice", 21) == 42
    answer = numbers.call("n", "add", 1, 2)
    assert answer["result"] == 3 and answer["guest_ns"] >= 0 and answer["cpu_ns"] >= 0
    assert answer["fuel_used"] == 0  # this session meters CPU time (the default)
    assert answer["stdout"] == b"" and answer["stderr"] == b""
    # A budget for one call.
    with pytest.raises(sandcall.CpuTimeExceededError):
        numbers.eval("n", "spin", cpu_ms=50)
    with pytest.raises(sandcall.DeadlineExceededError):
        numbers.eval("n", "spin", cpu_ms=10_000, deadline_ms=50)


def test_fuel_metering(address):
    with sandcall.connect(address, metering="fuel") as conn:
        conn.execute("n", NUMBERS_WAT)
        answer = conn.call("n", "add", 1, 2)
        assert answer["result"] == 3 and answer["fuel_used"] > 0
        with pytest.raises(sandcall.OutOfFuelError):
            conn.eval("n", "spin", fuel=100_000)
        with pytest.raises(sandcall.DeadlineExceededError):
            conn.eval("n", "spin", fuel=10**10, deadline_ms=50)
    with pytest.raises(ValueError, match="metering"):
        sandcall.connect(address, metering="time")


def test_eval_many_pipelines_in_order(numbers):
    calls = [(i, i) for i in range(1000)]
    assert numbers.eval_many("n", "add", calls) == [2 * i for i in range(1000)]
    assert numbers.eval_many("n", "add", []) == []
    # A failing call: every answer arrives, the first failure is raised, and
    # the connection still works.
    with pytest.raises(sandcall.TrapError) as e:
        numbers.eval_many("n", "div", [(4, 2), (1, 0), (6, 3), (1, 0)])
    assert e.value.trap == "integer_division_by_zero"
    assert numbers.eval("n", "add", 1, 1) == 2
    with pytest.raises(TypeError, match=r"calls\[1\]: argument 2"):
        numbers.eval_many("n", "add", [(1, 2), (1, "x")])
    with pytest.raises(TypeError, match=r"calls\[0\]: expected a tuple"):
        numbers.eval_many("n", "add", [[1, 2]])


def test_eval_many_with_packed_lists(sorter):
    import array

    lists = [(array.array("i", [3, 1, 2]),), (array.array("i", [9, 8]),)]
    got = sorter.eval_many("sorter", "quick-sort", lists)
    assert got == [array.array("i", [1, 2, 3]), array.array("i", [8, 9])]


def test_timeout_cancels_and_the_connection_survives(address):
    with sandcall.connect(address, timeout=0.3) as conn:
        conn.execute("n", NUMBERS_WAT)
        start = time.monotonic()
        with pytest.raises(sandcall.TimeoutError) as e:
            conn.eval("n", "spin", cpu_ms=20_000, deadline_ms=20_000)
        assert isinstance(e.value, TimeoutError)
        assert time.monotonic() - start < 5
        assert conn.eval("n", "add", 2, 3) == 5


def test_four_threads_share_a_connection(numbers):
    numbers.execute("sorter", guest("guest-sort"))
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            for i in range(200):
                assert numbers.eval("n", "add", k, i) == k + i
            assert numbers.eval("sorter", "quick-sort", [k, 3, 1]) == sorted([k, 3, 1])
            assert numbers.eval_many("n", "add", [(k, j) for j in range(50)]) == [k + j for j in range(50)]
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert errors == []


def test_the_gil_is_released_while_waiting(numbers):
    # While one thread waits on a 300 ms call, another runs Python code.
    ticks = 0
    done = threading.Event()

    def spin() -> None:
        try:
            numbers.eval("n", "spin", cpu_ms=10_000, deadline_ms=300)
        except sandcall.DeadlineExceededError:
            pass
        finally:
            done.set()

    t = threading.Thread(target=spin)
    t.start()
    deadline = time.monotonic() + 30
    while not done.is_set() and time.monotonic() < deadline:
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert ticks > 20


def test_a_server_killed_mid_call_raises(tmp_path):
    server = Server()
    try:
        conn = sandcall.connect(server.address)
        conn.execute("n", NUMBERS_WAT)
        outcome: list[BaseException | None] = []

        def call() -> None:
            try:
                conn.eval("n", "spin", cpu_ms=60_000, deadline_ms=60_000)
                outcome.append(None)
            except BaseException as e:  # noqa: BLE001
                outcome.append(e)

        t = threading.Thread(target=call)
        t.start()
        time.sleep(0.3)  # let the call reach the guest (not an assertion)
        server.process.kill()
        t.join(timeout=20)
        assert not t.is_alive(), "the call hangs after the server died"
        assert len(outcome) == 1 and isinstance(outcome[0], sandcall.ConnectionError), outcome
        with pytest.raises(sandcall.ConnectionError):
            conn.eval("n", "add", 1, 2)
        conn.close()
    finally:
        server.stop()


def test_stubs_and_typed_marker_are_installed():
    package = pathlib.Path(sandcall.__file__).parent
    assert (package / "py.typed").exists() and (package / "_native.pyi").exists()
    assert sandcall.connect.__doc__ and sandcall.Connection.eval.__doc__


def test_ctrl_c_stops_a_long_call(numbers):
    import os
    import signal

    timer = threading.Timer(0.3, lambda: os.kill(os.getpid(), signal.SIGINT))
    start = time.monotonic()
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            numbers.eval("n", "spin", cpu_ms=30_000, deadline_ms=30_000)
    finally:
        timer.cancel()
    assert time.monotonic() - start < 10
    # The call is cancelled on the server; the connection goes on.
    assert numbers.eval("n", "add", 1, 2) == 3
