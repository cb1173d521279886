"""The seminar example runs against a real server and prints every step."""

from __future__ import annotations

import subprocess
import sys

from conftest import ROOT


def test_seminar_example_runs(address):
    run = subprocess.run(
        [sys.executable, str(ROOT / "python/examples/seminar.py"), address],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "eval scores.incr_foo() -> 11" in out
    assert "scores: {'Foo': 11, 'Bar': 100}" in out
    assert "bubble-sort on 50 ints" in out and "quick-sort on 50 ints" in out
    assert "1,000,000 ints from an array.array: sorted" in out
    assert "an endless loop: stopped (cpu-time-exceeded" in out
