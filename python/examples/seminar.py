"""The RPyC seminar's ``rpyc_client.py``, step by step, in Sandcall terms.
Each step names, in a comment, the RPyC line it replaces.

    make python guest
    target/release/sandcall-server &                      # listening on 127.0.0.1:18812
    target/python-venv/bin/python python/examples/seminar.py [ADDRESS]

The sort guest (``target/guest/guest-sort.wasm``) comes from ``make guest``.
"""

from __future__ import annotations

import array
import random
import sys
from pathlib import Path

import sandcall

ROOT = Path(__file__).resolve().parents[2]
SCORES = ROOT / "client/examples/guests/scores.wat"
SORTS = ROOT / "client/examples/guests/sorts.wat"
SORT_GUEST = ROOT / "target/guest/guest-sort.wasm"


def main(address: str) -> None:
    # conn = rpyc.classic.connect("localhost")
    with sandcall.connect(address) as conn:
        # conn.modules.sys.version
        info = conn.info
        print(f"server: sandcall-server {info['server_version']} on wasmtime "
              f"{info['wasmtime_version']} ({info['mode']} mode)")

        # conn.execute('scores = {"Foo": 10}')
        conn.execute("scores", SCORES)
        # conn.execute('scores["Foo"] += 1')
        print("eval scores.incr_foo() ->", conn.eval("scores", "incr_foo"))
        # conn.namespace["scores"]["Bar"] = 42
        conn.namespace["scores"]["Bar"] = 42
        # conn.namespace["scores"]["Bar"] += 58
        conn.namespace["scores"]["Bar"] += 58
        scores = conn.namespace["scores"]
        # print(conn.namespace["scores"])
        print("scores:", dict(scores))
        assert dict(scores) == {"Foo": 11, "Bar": 100}

        # The client's list, as the seminar's `data = [...]`.
        data = [random.Random(1).randint(0, 1_000_000) for _ in range(50)]

        # conn.execute(BUBBLE_SORT); conn.eval("bubble_sort(data)"), the
        # core-wasm way: the list written into guest memory, sorted in place.
        conn.execute("sorts", SORTS)
        sorts = conn.namespace["sorts"]
        sorts.write(0, array.array("i", data))
        conn.eval("sorts", "bubble_sort", 0, len(data))
        in_memory = array.array("i", sorts.read(0, 4 * len(data)))
        assert list(in_memory) == sorted(data)
        print(f"bubble_sort in guest memory: {len(data)} ints sorted")

        # conn.execute(SORTS); conn.eval("bubble_sort(data)") / ("quick_sort(data)"):
        # a Rust guest compiled to a component; the list goes by value.
        conn.execute("sorter", SORT_GUEST)
        for sort in ("bubble-sort", "quick-sort"):
            result = conn.eval("sorter", sort, data)
            assert result == sorted(data), f"{sort} returned a wrong order"
            print(f"eval sorter {sort} on {len(data)} ints: smallest {result[0]}, largest {result[-1]}")
        # The same with a packed buffer, a million ints, back as an array.
        big = array.array("i", (random.Random(2).randint(-2**31, 2**31 - 1) for _ in range(1_000_000)))
        result = conn.eval("sorter", "quick-sort", big)
        assert result == array.array("i", sorted(big))
        print(f"eval sorter quick-sort on {len(big):,} ints from an array.array: sorted")

        # Where RPyC gives up: conn.execute("while True: pass") hangs the server.
        conn.execute("spin", '(module (func (export "spin") (loop br 0)))')
        try:
            conn.eval("spin", "spin", cpu_ms=100)
        except sandcall.CpuTimeExceededError as e:
            print(f"an endless loop: stopped ({e})")

        # for name in conn.namespace: ...
        for name in conn.namespace:
            item = conn.namespace.info(name)
            print(f"namespace: {name} ({len(item['exports'])} exports, "
                  f"{item['memory_bytes']} bytes of memory, "
                  f"{item['cpu_ns'] / 1e6:.3f} ms of CPU time used)")
        # del conn.namespace["spin"]
        del conn.namespace["spin"]
        assert "spin" not in conn.namespace


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "127.0.0.1:18812")
