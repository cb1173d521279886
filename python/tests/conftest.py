"""Fixtures: a real ``sandcall-server`` (``target/release/sandcall-server``,
or ``$SANDCALL_SERVER``) on 127.0.0.1:0, started once per session, and
connections to it. The guest components come from ``make guest``
(``target/guest/``)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import sandcall

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(os.environ.get("SANDCALL_SERVER", ROOT / "target/release/sandcall-server"))
GUESTS = ROOT / "target/guest"
SCORES = ROOT / "client/examples/guests/scores.wat"


class Server:
    """A ``sandcall-server`` process on a free port of 127.0.0.1."""

    def __init__(self, *flags: str) -> None:
        if not SERVER.exists():
            raise RuntimeError(f"{SERVER} is missing: `cargo build --release -p sandcall-server`")
        self.process = subprocess.Popen(
            [str(SERVER), "--listen", "127.0.0.1:0", *flags],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("listening on "):
            self.process.kill()
            raise RuntimeError(f"sandcall-server did not start: {line!r}")
        self.address = line.split()[-1]

    def stop(self) -> None:
        self.process.kill()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


@pytest.fixture
def address(server: Server) -> str:
    return server.address


@pytest.fixture
def conn(server: Server):
    with sandcall.connect(server.address) as c:
        yield c


def guest(name: str) -> Path:
    path = GUESTS / f"{name}.wasm"
    if not path.exists():
        raise RuntimeError(f"{path} is missing: run `make guest`")
    return path


@pytest.fixture
def values(conn: sandcall.Connection) -> sandcall.Connection:
    """A connection with the guest-values component as instance ``v``."""
    conn.execute("v", guest("guest-values"))
    return conn


@pytest.fixture
def sorter(conn: sandcall.Connection) -> sandcall.Connection:
    """A connection with the sort component as instance ``sorter``."""
    conn.execute("sorter", guest("guest-sort"))
    return conn


#: Core exports for numbers, references, memory and globals.
NUMBERS_WAT = """
(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "f64bits") (param f64) (result i64) local.get 0 i64.reinterpret_f64)
  (func (export "v128") (param v128) (result v128) local.get 0)
  (func (export "swap") (param i32 i64) (result i64 i32) local.get 1 local.get 0)
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func (export "nothing"))
  (func (export "ext") (param externref) (result externref) local.get 0)
  (func (export "fref") (param funcref) (result funcref) local.get 0)
  (func (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "spin") (loop br 0))
  (memory (export "mem") 1)
  (global (export "G") (mut i64) (i64.const 7))
  (global (export "F") (mut f64) (f64.const 1.5))
  (global (export "C") i32 (i32.const 3)))
"""


@pytest.fixture
def numbers(conn: sandcall.Connection) -> sandcall.Connection:
    """A connection with ``NUMBERS_WAT`` as instance ``n``."""
    conn.execute("n", NUMBERS_WAT)
    return conn
