"""The Python client's figures beside the Rust client's, against one server.

    make python guest && cargo build --release -p sandcall-server --example latency
    target/python-venv/bin/python python/bench.py [ADDRESS]

Without ADDRESS it starts ``target/release/sandcall-server`` on 127.0.0.1:0.
Prints a table: a trivial ``eval`` (10,000 sequential calls, p50 and p99) and
a quick sort of 1,000,000 ints end to end (from an ``array.array``, numpy if
installed, and a ``list``; median of 5). If ``target/release/examples/latency``
exists, it runs the Rust client's trivial-eval measurement against the same
server and prints its output below the table, for the ratio.
"""

from __future__ import annotations

import array
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Not the source tree's `sandcall/` beside this file: the installed package.
sys.path = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
import sandcall  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "target/release/sandcall-server"
SORT_GUEST = ROOT / "target/guest/guest-sort.wasm"
RUST_LATENCY = ROOT / "target/release/examples/latency"
TRIVIAL = '(module (func (export "one") (result i32) i32.const 1))'


def trivial_eval(conn: sandcall.Connection, calls: int = 10_000) -> tuple[float, float]:
    conn.execute("m", TRIVIAL)
    for _ in range(1_000):
        conn.eval("m", "one")
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        conn.eval("m", "one")
        times.append(time.perf_counter_ns() - start)
    times.sort()
    return times[len(times) // 2] / 1e3, times[int(len(times) * 0.99)] / 1e3


def sort_million(conn: sandcall.Connection, data, runs: int = 5) -> float:
    conn.execute("sorter", SORT_GUEST, replace=True)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        conn.eval("sorter", "quick-sort", data)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    server = None
    if len(sys.argv) > 1:
        address = sys.argv[1]
    else:
        server = subprocess.Popen([str(SERVER), "--listen", "127.0.0.1:0"],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        address = server.stdout.readline().split()[-1]
    try:
        rng = random.Random(42)
        ints = [rng.randint(-2**31, 2**31 - 1) for _ in range(1_000_000)]
        with sandcall.connect(address) as conn:
            p50, p99 = trivial_eval(conn)
            rows = [("trivial eval, p50", f"{p50:.1f} µs"), ("trivial eval, p99", f"{p99:.1f} µs")]
            rows.append(("quick sort 1M ints, array.array", f"{sort_million(conn, array.array('i', ints)):.1f} ms"))
            try:
                import numpy as np

                rows.append(("quick sort 1M ints, numpy", f"{sort_million(conn, np.array(ints, dtype=np.int32)):.1f} ms"))
            except ImportError:
                rows.append(("quick sort 1M ints, numpy", "numpy not installed"))
            rows.append(("quick sort 1M ints, list", f"{sort_million(conn, ints):.1f} ms"))
        print("| Python client | median |\n|---|---|")
        for name, value in rows:
            print(f"| {name} | {value} |")
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
