"""The Python client's figures beside the Rust client's, against one server.

    make python guest && cargo build --release -p sandcall-server --example latency
    target/python-venv/bin/python python/bench.py [ADDRESS]
    target/python-venv/bin/python python/bench.py --json [ADDRESS]

Without ADDRESS it starts ``target/release/sandcall-server`` on 127.0.0.1:0.
It measures a trivial ``eval`` (10,000 sequential calls, p50 and p99) and a
quick sort of 1,000,000 ints end to end (from an ``array.array``, numpy if
installed, and a ``list``; median of 5), and prints a table, or with
``--json`` one JSON object (times in ns). If
``target/release/examples/latency`` exists, the table is followed by the
Rust client's trivial-eval measurement against the same server.

``--json --driven`` is how ``make bench`` (section 8, ``bench/src/python.rs``)
runs it: the bench alternates its own Rust client with this script, so that
both see the same moment of a noisy machine. The script connects, prints one
JSON line ``{"ready": ...}``, then answers each line of stdin with one JSON
line: ``eval K`` (K trivial evals: their times), ``sort KIND`` (one quick sort
of the list, KIND ``array``, ``numpy`` or ``list``: its time, and whether the
result is the list sorted), ``quit``. ``--ints FILE`` reads the list (little-
endian int32, the bench's own list) and ``--guest FILE`` the sort guest.
"""

from __future__ import annotations

import argparse
import array
import json
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Not the source tree's `sandcall/` beside this file: the installed package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import sandcall  # noqa: E402

try:
    import numpy as np
except ImportError:  # numpy is optional: its rows say so
    np = None

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "target/release/sandcall-server"
SORT_GUEST = ROOT / "target/guest/guest-sort.wasm"
RUST_LATENCY = ROOT / "target/release/examples/latency"
TRIVIAL = '(module (func (export "one") (result i32) i32.const 1))'
#: Each sort may take this long, wall clock: the server's default (5 s) can
#: pass on a machine shared with builds. The bench's Rust client asks the same.
SORT_DEADLINE_MS = 60_000
KINDS = ("array", "numpy", "list")


def eval_times(conn: sandcall.Connection, calls: int) -> list[int]:
    """The times of `calls` sequential trivial evals, in ns."""
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        conn.eval("m", "one")
        times.append(time.perf_counter_ns() - start)
    return times


def percentile(times: list[int], p: float) -> int:
    """Nearest rank, as the Rust bench computes it."""
    ordered = sorted(times)
    return ordered[round((len(ordered) - 1) * p)]


class Sorts:
    """The list to sort in each container, and the answer to expect."""

    def __init__(self, ints: array.array) -> None:
        self.inputs = {"array": ints, "list": ints.tolist()}
        self.expected = array.array("i", sorted(ints))
        if np is not None:
            self.inputs["numpy"] = np.frombuffer(ints, dtype=np.int32).copy()

    def once(self, conn: sandcall.Connection, kind: str) -> tuple[int, bool]:
        """One quick sort end to end: its time in ns, and whether it sorted."""
        data = self.inputs[kind]
        start = time.perf_counter_ns()
        result = conn.eval("sorter", "quick-sort", data, deadline_ms=SORT_DEADLINE_MS)
        elapsed = time.perf_counter_ns() - start
        if kind == "numpy":
            ok = isinstance(result, np.ndarray) and result.tobytes() == self.expected.tobytes()
        elif kind == "array":
            ok = isinstance(result, array.array) and result == self.expected
        else:
            ok = isinstance(result, list) and result == self.expected.tolist()
        return elapsed, ok


def setup(conn: sandcall.Connection, guest: Path) -> None:
    conn.execute("m", TRIVIAL)
    conn.execute("sorter", guest, replace=True)
    for _ in range(1_000):
        conn.eval("m", "one")


def env() -> dict:
    return {
        "python": platform.python_version(),
        "sandcall": sandcall.__version__,
        "numpy": None if np is None else np.__version__,
    }


def driven(conn: sandcall.Connection, sorts: Sorts) -> None:
    """Answer the bench's commands on stdin, one JSON line each."""
    print(json.dumps({"ready": True, "n": len(sorts.inputs["array"]), **env()}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "eval":
            answer = {"eval_ns": eval_times(conn, int(words[1]))}
        elif words[0] == "sort" and words[1] in sorts.inputs:
            ns, ok = sorts.once(conn, words[1])
            answer = {"sort_ns": ns, "ok": ok}
        elif words[0] == "sort":
            answer = {"error": f"{words[1]}: not available (numpy not installed?)"}
        else:
            answer = {"error": f"unknown command {line.strip()!r}"}
        print(json.dumps(answer), flush=True)


def standalone(conn: sandcall.Connection, sorts: Sorts) -> dict:
    """Every figure once: evals, then 5 sorts of each container."""
    times = eval_times(conn, 10_000)
    figures = {
        **env(),
        "n": len(sorts.inputs["array"]),
        "eval_p50_ns": percentile(times, 0.5),
        "eval_p99_ns": percentile(times, 0.99),
        "sort_ns": {},
    }
    for kind in KINDS:
        if kind not in sorts.inputs:
            figures["sort_ns"][kind] = None
            continue
        runs = [sorts.once(conn, kind) for _ in range(5)]
        if not all(ok for _, ok in runs):
            raise SystemExit(f"quick sort from a {kind} came back wrong")
        figures["sort_ns"][kind] = statistics.median(ns for ns, _ in runs)
    return figures


def table(figures: dict) -> None:
    us = lambda ns: f"{ns / 1e3:.1f} µs"  # noqa: E731
    rows = [("trivial eval, p50", us(figures["eval_p50_ns"])),
            ("trivial eval, p99", us(figures["eval_p99_ns"]))]
    for kind in KINDS:
        ns = figures["sort_ns"][kind]
        cell = "numpy not installed" if ns is None else f"{ns / 1e6:.1f} ms"
        rows.append((f"quick sort {figures['n']:,} ints, {kind}", cell))
    print("| Python client | median |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("address", nargs="?", help="a running server [default: start one]")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--driven", action="store_true", help="with --json: answer commands on stdin")
    parser.add_argument("--ints", type=Path, help="the list to sort (little-endian int32)")
    parser.add_argument("--n", type=int, default=1_000_000, help="without --ints: the list's length")
    parser.add_argument("--guest", type=Path, default=SORT_GUEST, help="the sort guest")
    args = parser.parse_args()
    if args.ints is not None:
        ints = array.array("i")
        ints.frombytes(args.ints.read_bytes())
        if sys.byteorder != "little":
            ints.byteswap()
    else:
        rng = random.Random(42)
        ints = array.array("i", (rng.randint(-2**31, 2**31 - 1) for _ in range(args.n)))
    server = None
    address = args.address
    if address is None:
        server = subprocess.Popen([str(SERVER), "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = server.stdout.readline().split()[-1]
    try:
        sorts = Sorts(ints)
        with sandcall.connect(address, timeout=600) as conn:
            setup(conn, args.guest)
            if args.driven:
                driven(conn, sorts)
                return
            figures = standalone(conn, sorts)
        if args.json:
            print(json.dumps(figures))
            return
        table(figures)
        if RUST_LATENCY.exists():
            print("\nRust client, same server (client/examples/latency):")
            sys.stdout.flush()
            subprocess.run([str(RUST_LATENCY), address], check=False, timeout=600)
    finally:
        if server is not None:
            server.kill()
            server.wait()


if __name__ == "__main__":
    main()
