"""The error kinds an ordinary session does not meet, each raised through a
real socket as its class: ``quota-exceeded`` (a tenant with a tiny fuel
budget, and one with a single connection), ``shutting-down`` (SIGTERM twice,
drain then stop, while a long call runs), ``version-mismatch`` (the refusal a real server sends a
client of another protocol version, replayed by a server of an older one),
and every wire code, ``internal`` included, in a handshake refusal.

``internal`` cannot be provoked in a real server from outside: each path
that sends it is either a guard on the server's own invariants (an instance
that vanished, a component without its code, fuel asked of an engine
without fuel) or the answer to a client that has already left (its upload
was still compiling), which nobody reads. So it is tested here as the bytes
a server sends, through the same decoding and mapping as every other kind.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import threading
import time

import pytest

import sandcall
from conftest import NUMBERS_WAT, SERVER, Server

#: The wire code of each kind (protocol/src/error.rs), written out here so
#: that the test checks the package's table rather than reusing it.
CODES = {
    "bad-request": 1, "not-found": 2, "already-exists": 3, "invalid-module": 4,
    "link-error": 5, "trap": 6, "out-of-fuel": 7, "deadline-exceeded": 8,
    "resource-limit": 9, "unsupported": 10, "internal": 11, "version-mismatch": 12,
    "poisoned": 13, "shutting-down": 14, "unauthenticated": 15, "quota-exceeded": 16,
    "idle-timeout": 17, "cancelled": 18, "cpu-time-exceeded": 19,
}


def tenant_server(tmp_path, *settings: str) -> tuple[Server, str]:
    """A server whose one tenant has ``settings`` (TOML lines), and its token."""
    tenants = tmp_path / "tenants.toml"
    out = subprocess.run(
        [str(SERVER), "tenant", "add", "alice", "--tenants", str(tenants)],
        capture_output=True, text=True, check=True,
    )
    token = out.stdout.strip().splitlines()[-1]
    with tenants.open("a") as f:  # the tenant's table is the file's last
        f.write("".join(f"{line}\n" for line in settings))
    return Server("--tenants", str(tenants)), token


def test_quota_exceeded_by_the_fuel_budget(tmp_path):
    server, token = tenant_server(tmp_path, "fuel_per_minute = 5000")
    try:
        with sandcall.connect(server.address, token=token, metering="fuel") as conn:
            conn.execute("n", NUMBERS_WAT)
            # The budget is checked before a call and charged after it: this
            # call may run, and uses up all 100,000 fuel it asked for.
            with pytest.raises(sandcall.OutOfFuelError):
                conn.eval("n", "spin", fuel=100_000)
            with pytest.raises(sandcall.QuotaExceededError, match="^quota-exceeded: ") as e:
                conn.eval("n", "add", 1, 2)
            assert e.value.kind == "quota-exceeded"
            assert "alice" in e.value.message and "5000 per minute" in e.value.message
            # The session stays usable for what costs no fuel.
            assert conn.namespace["n"]["G"] == 7
    finally:
        server.stop()


def test_quota_exceeded_by_the_connection_count(tmp_path):
    server, token = tenant_server(tmp_path, "connections = 1")
    try:
        with sandcall.connect(server.address, token=token) as first:
            with pytest.raises(sandcall.QuotaExceededError, match="1 connections") as e:
                sandcall.connect(server.address, token=token)
            assert e.value.kind == "quota-exceeded"
            first.execute("n", NUMBERS_WAT)
            assert first.eval("n", "add", 1, 2) == 3
        # Its slot is given back when it closes.
        with sandcall.connect(server.address, token=token) as again:
            assert again.info["mode"] == "sandboxed"
    finally:
        server.stop()


def cpu_ticks(pid: int) -> int:
    """User + system CPU time of process ``pid``, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def test_shutting_down_stops_a_long_call():
    server = Server()
    outcome: dict = {}
    try:
        conn = sandcall.connect(server.address)
        conn.execute("n", NUMBERS_WAT)
        pid = server.process.pid
        before = cpu_ticks(pid)

        def spin() -> None:
            try:
                conn.eval("n", "spin", cpu_ms=60_000, deadline_ms=60_000)
            except BaseException as e:  # noqa: BLE001 (judged below)
                outcome["error"] = e
            outcome["at"] = time.monotonic()

        caller = threading.Thread(target=spin)
        caller.start()
        # The guest is running once the server has burnt 0.2 s of CPU.
        hz = os.sysconf("SC_CLK_TCK")
        limit = time.monotonic() + 30
        while cpu_ticks(pid) - before < hz // 5:
            assert time.monotonic() < limit, "the spin never started on the server"
            assert caller.is_alive(), f"the call ended early: {outcome}"
            time.sleep(0.01)
        # The first SIGTERM drains: no new sessions, the call goes on ...
        server.process.send_signal(signal.SIGTERM)
        while True:
            assert time.monotonic() < limit, "the server never began to drain"
            try:
                sandcall.connect(server.address, timeout=5).close()
            except sandcall.Error:
                break
            time.sleep(0.01)
        assert caller.is_alive(), f"the drain stopped the call: {outcome}"
        # ... and a second one stops the server, and the call with it.
        stopped = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        caller.join(timeout=30)
        assert not caller.is_alive(), "the call still hangs 30 s after SIGTERM"
        e = outcome.get("error")
        assert isinstance(e, sandcall.ShuttingDownError), repr(e)
        assert e.kind == "shutting-down" and "shutting down" in e.message
        # Stopped by the shutdown, not by its 60 s deadline or CPU budget.
        assert outcome["at"] - stopped < 20
        assert server.process.wait(timeout=30) == 0
        with pytest.raises(sandcall.ConnectionError):
            conn.eval("n", "add", 1, 2)
        conn.close()
    finally:
        if server.process.poll() is None:
            server.stop()


def frame(request_id: int, body: bytes) -> bytes:
    """A frame: length, request id, body (protocol/src/codec.rs)."""
    return struct.pack(">IQ", 8 + len(body), request_id) + body


def read_frame(sock: socket.socket) -> tuple[int, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            assert chunk, "the peer closed mid-frame"
            data += chunk
        return data

    (length,) = struct.unpack(">I", exactly(4))
    (request_id,) = struct.unpack(">Q", exactly(8))
    return request_id, exactly(length - 8)


def refusal(code: int, message: str) -> bytes:
    """The body of a handshake refusal: ``Err(RemoteError)`` in bincode's
    standard encoding (varints), without guest output: the same in every
    protocol version since 4 (protocol/src/error.rs)."""
    text = message.encode()
    assert code < 251 and len(text) < 251  # one-byte varints
    return bytes([1, code, 0, len(text)]) + text  # Err, kind, trap: None, message


def parse_refusal(body: bytes) -> tuple[int, str]:
    assert body[0] == 1 and body[2] == 0, body  # Err, no trap
    assert body[3] < 251 and len(body) == 4 + body[3], body  # nothing after the message
    return body[1], body[4:].decode()


def old_server(answer: bytes) -> tuple[str, threading.Thread]:
    """A server that reads one hello and answers it with the body ``answer``
    (request id 1, as the client numbers its hello), then closes."""
    listener = socket.create_server(("127.0.0.1", 0))
    address = "127.0.0.1:%d" % listener.getsockname()[1]

    def serve() -> None:
        with listener:
            sock, _ = listener.accept()
            with sock:
                request_id, _hello = read_frame(sock)
                sock.sendall(frame(request_id, answer))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return address, thread


def test_version_mismatch(address):
    # What a real server answers a client of protocol 5: its hello's body
    # starts with the version (a varint), then the fields of that version.
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(frame(1, bytes([5, 0, 0, 0, 0])))  # 5, client "", sandboxed, no token, no stdio
        request_id, body = read_frame(sock)
    assert request_id == 1
    code, message = parse_refusal(body)
    ours = sandcall.PROTOCOL_VERSION
    assert (code, message) == (12, f"client speaks protocol 5, this server speaks {ours}")

    # Those exact bytes, replayed to this client, and the same refusal from
    # a server one version older, as its handshake words it.
    older = f"client speaks protocol {ours}, this server speaks {ours - 1}"
    for answer, said in [(body, message), (refusal(12, older), older)]:
        addr, thread = old_server(answer)
        with pytest.raises(sandcall.VersionMismatchError) as e:
            sandcall.connect(addr, timeout=30)
        thread.join(timeout=30)
        assert e.value.kind == "version-mismatch" and e.value.message == said
        assert isinstance(e.value, sandcall.RemoteError)


@pytest.mark.parametrize("kind", sorted(CODES))
def test_every_wire_code_raises_its_class(kind):
    addr, thread = old_server(refusal(CODES[kind], f"refused with {kind}"))
    with pytest.raises(sandcall.RemoteError) as e:
        sandcall.connect(addr, timeout=30)
    thread.join(timeout=30)
    assert type(e.value) is sandcall.KINDS[kind]
    assert e.value.kind == kind and e.value.message == f"refused with {kind}"
    assert str(e.value) == f"{kind}: refused with {kind}"


def test_internal_error_class():
    addr, thread = old_server(refusal(11, "an instance vanished"))
    with pytest.raises(sandcall.InternalError, match="^internal: an instance vanished$"):
        sandcall.connect(addr, timeout=30)
    thread.join(timeout=30)
    assert sandcall.InternalError.kind == "internal"
    assert issubclass(sandcall.InternalError, sandcall.RemoteError)


def test_a_code_from_a_newer_server():
    addr, thread = old_server(refusal(99, "from the future"))
    with pytest.raises(sandcall.RemoteError) as e:
        sandcall.connect(addr, timeout=30)
    thread.join(timeout=30)
    assert type(e.value) is sandcall.RemoteError and e.value.message == "from the future"
    assert e.value.kind.startswith("unknown")
