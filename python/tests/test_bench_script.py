"""``python/bench.py``, which ``make bench`` drives (section 8), runs against
a real server in both of its JSON forms, small."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, guest

SCRIPT = str(ROOT / "python/bench.py")


def test_json_once(address):
    run = subprocess.run(
        [sys.executable, SCRIPT, "--json", "--n", "1000", "--guest", str(guest("guest-sort")), address],
        capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout)
    assert figures["n"] == 1000 and 0 < figures["eval_p50_ns"] <= figures["eval_p99_ns"]
    assert figures["sort_ns"]["array"] > 0 and figures["sort_ns"]["list"] > 0


def test_driven(address, tmp_path):
    ints = tmp_path / "ints.bin"
    ints.write_bytes(b"".join(i.to_bytes(4, "little", signed=True) for i in [5, -3, 2**31 - 1, 0]))
    commands = "eval 3\nsort array\nsort list\nsort nothing\nquit\n"
    run = subprocess.run(
        [sys.executable, SCRIPT, "--json", "--driven", "--ints", str(ints),
         "--guest", str(guest("guest-sort")), address],
        input=commands, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr
    ready, evals, array_sort, list_sort, nothing = map(json.loads, run.stdout.splitlines())
    assert ready["ready"] and ready["n"] == 4
    assert len(evals["eval_ns"]) == 3
    assert array_sort["ok"] and list_sort["ok"] and array_sort["sort_ns"] > 0
    assert "nothing" in nothing["error"]
