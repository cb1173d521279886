#!/usr/bin/env python3
"""RPyC 6.0.2 classic mode on Sandcall's workloads: the baseline of `make bench`.

    python baseline.py [--quick] [--reps N] [--calls N] [--duration S] [--json OUT]

Starts its own `rpyc_classic` server (threaded) on 127.0.0.1 and a free port,
then measures, against that server:
  - connect: `rpyc.classic.connect()`;
  - a trivial round trip: `conn.eval("1")`, one client (p50, p99, calls/s),
    and the aggregate calls/s of 1 and 4 client processes;
  - the sorts by value: bubble and quick sort shipped with `conn.execute`, the
    list sent as a tuple (brine), with deliver/obtain (pickle), and as a list
    literal inside the `eval` string; and the sort timed inside the server.
Every sorted result is checked. Prints a short table; --json writes the
figures (read by `sandcall-bench`). Stops the server it started, and only it.
"""
import argparse
import json
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import time

import rpyc
from rpyc.utils.classic import deliver, obtain

HOST = "127.0.0.1"
now = time.perf_counter

# What the client ships to the server with conn.execute(): the textbook
# sorts of the Sandcall guest, in Python.
PROGRAM = '''
def bubble_sort(a):
    a = list(a)
    end = len(a)
    while end > 1:
        swapped = False
        for i in range(1, end):
            if a[i - 1] > a[i]:
                a[i - 1], a[i] = a[i], a[i - 1]
                swapped = True
        if not swapped:
            break
        end -= 1
    return a

def quick_sort(a):
    a = list(a)
    stack = [(0, len(a) - 1)]
    while stack:
        lo, hi = stack.pop()
        if lo >= hi:
            continue
        pivot = a[(lo + hi) // 2]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while a[j] > pivot:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        stack.append((lo, j))
        stack.append((i, hi))
    return a

def as_tuple(sort, t):
    return tuple(sort(t))

def timed(sort, t):
    import time
    start = time.perf_counter()
    sort(t)
    return time.perf_counter() - start
'''

BY_VALUE = ("tuple (brine by value)", "deliver/obtain (pickle)", "repr literal in eval + obtain")


def summary(xs):
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def quantile(xs, q):
    xs = sorted(xs)
    return xs[round(q * (len(xs) - 1))]


def start_server():
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    exe = os.path.join(os.path.dirname(sys.executable), "rpyc_classic")
    proc = subprocess.Popen([exe, "--host", HOST, "-p", str(port), "-q"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = now() + 10
    while now() < deadline:
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("rpyc_classic did not start within 10 s")


def connect(port):
    conn = rpyc.classic.connect(HOST, port)
    conn._config["sync_request_timeout"] = 600  # a bubble sort by value takes long
    return conn


def measure_connect(port, reps):
    times = []
    for _ in range(reps):
        start = now()
        conn = rpyc.classic.connect(HOST, port)
        times.append((now() - start) * 1e3)
        conn.close()
    return {"connect_ms": summary(times)}


def measure_eval(conn, reps, calls):
    p50, p99, rate = [], [], []
    for _ in range(reps):
        lat = []
        start = now()
        for _ in range(calls):
            t = now()
            conn.eval("1")
            lat.append((now() - t) * 1e6)
        rate.append(calls / (now() - start))
        p50.append(quantile(lat, 0.5))
        p99.append(quantile(lat, 0.99))
    return {"p50_us": summary(p50), "p99_us": summary(p99), "calls_per_s": summary(rate)}


def client_process(port, duration, ready, results):
    conn = connect(port)
    conn.eval("1")
    ready.wait()
    calls, end = 0, now() + duration
    while now() < end:
        conn.eval("1")
        calls += 1
    conn.close()
    results.put(calls)


def measure_clients(port, clients, duration, reps):
    ctx = multiprocessing.get_context("fork")
    rates = []
    for _ in range(reps):
        ready, results = ctx.Barrier(clients), ctx.Queue()
        procs = [ctx.Process(target=client_process, args=(port, duration, ready, results))
                 for _ in range(clients)]
        for p in procs:
            p.start()
        total = sum(results.get() for _ in procs)
        for p in procs:
            p.join()
        rates.append(total / duration)
    return {"clients": clients, "agg_calls_per_s": summary(rates)}


def measure_sorts(conn, plan, reps):
    ns = conn.namespace
    ways = {
        BY_VALUE[0]: lambda alg, data: list(ns["as_tuple"](ns[alg], tuple(data))),
        BY_VALUE[1]: lambda alg, data: obtain(ns[alg](deliver(conn, data))),
        BY_VALUE[2]: lambda alg, data: obtain(conn.eval("%s(%r)" % (alg, data))),
    }
    rng = random.Random(5)
    rows = []
    for alg, n in plan:
        data = [rng.randint(-2**31, 2**31 - 1) for _ in range(n)]
        expected = sorted(data)
        inside = [ns["timed"](ns[alg], tuple(data)) for _ in range(reps)]
        rows.append({"alg": alg, "n": n, "how": "server compute only", "s": summary(inside)})
        for how, way in ways.items():
            times = []
            for _ in range(reps):
                start = now()
                got = way(alg, data)
                times.append(now() - start)
                if list(got) != expected:
                    raise SystemExit("%s of %d ints by %s is wrong" % (alg, n, how))
            rows.append({"alg": alg, "n": n, "how": how, "s": summary(times)})
            print("  %-11s %9d  %-30s %.4f s" % (alg, n, how, rows[-1]["s"]["median"]), flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small lists and short runs (a smoke test)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each measurement")
    ap.add_argument("--calls", type=int, default=2000, help="evals per round-trip run")
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per throughput run")
    ap.add_argument("--json", help="write the figures here")
    args = ap.parse_args()

    if args.quick:
        plan = [("bubble_sort", 200), ("quick_sort", 10_000)]
    else:
        plan = [("bubble_sort", 1_000), ("bubble_sort", 5_000), ("quick_sort", 10_000),
                ("quick_sort", 100_000), ("quick_sort", 1_000_000)]

    server, port = start_server()
    try:
        figures = {"env": {"python": sys.version.split()[0], "rpyc": rpyc.__version__}}
        figures["connect"] = measure_connect(port, max(args.reps, 10))
        conn = connect(port)
        conn.execute(PROGRAM)
        figures["rtt"] = {"eval('1')": measure_eval(conn, args.reps, args.calls)}
        figures["sorts"] = measure_sorts(conn, plan, args.reps)
        conn.close()
        figures["conc"] = [measure_clients(port, k, args.duration, args.reps) for k in (1, 4)]
    finally:
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()

    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1)
    e = figures["rtt"]["eval('1')"]
    print("\nRPyC %s, CPython %s" % (figures["env"]["rpyc"], figures["env"]["python"]))
    print("connect: %.2f ms" % figures["connect"]["connect_ms"]["median"])
    print("eval('1'): p50 %.1f µs, p99 %.1f µs, %.0f calls/s"
          % (e["p50_us"]["median"], e["p99_us"]["median"], e["calls_per_s"]["median"]))
    for c in figures["conc"]:
        print("%d client(s): %.0f calls/s" % (c["clients"], c["agg_calls_per_s"]["median"]))


if __name__ == "__main__":
    main()
