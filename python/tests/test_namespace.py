"""conn.namespace as a mapping, instances' globals, exports and memory."""

from __future__ import annotations

import array

import pytest

import sandcall
from conftest import SCORES, guest


def test_namespace_mapping(conn):
    ns = conn.namespace
    assert len(ns) == 0 and list(ns) == [] and "scores" not in ns
    conn.execute("scores", SCORES)
    ns["sorter"] = guest("guest-sort")  # assignment executes
    assert "scores" in ns and "sorter" in ns and len(ns) == 2
    assert sorted(ns) == ["scores", "sorter"]
    assert sorted(ns.keys()) == ["scores", "sorter"]
    assert isinstance(ns["scores"], sandcall.Instance)
    with pytest.raises(KeyError):
        ns["nope"]
    del ns["sorter"]
    assert "sorter" not in ns
    with pytest.raises(KeyError):
        del ns["sorter"]
    assert "scores" in repr(ns)


def test_globals_read_and_write(conn):
    conn.execute("scores", SCORES)
    scores = conn.namespace["scores"]
    assert scores["Foo"] == 10 and scores["Bar"] == 0
    assert conn.eval("scores", "incr_foo") == 11
    conn.namespace["scores"]["Bar"] = 42
    conn.namespace["scores"]["Bar"] += 58  # the RPyC seminar's line
    assert scores["Bar"] == 100
    assert sorted(scores) == ["Bar", "Foo"] and len(scores) == 2
    assert dict(scores) == {"Foo": 11, "Bar": 100}
    assert "Foo" in scores and "Baz" not in scores
    with pytest.raises(KeyError):
        scores["Baz"]
    with pytest.raises(TypeError, match="value"):
        scores["Bar"] = "x"
    with pytest.raises(TypeError):
        del scores["Bar"]


def test_global_types(numbers):
    n = numbers.namespace["n"]
    assert n["G"] == 7 and n["F"] == 1.5 and n["C"] == 3
    n["G"] = 2**63 - 1
    n["F"] = -0.0
    assert n["G"] == 2**63 - 1 and str(n["F"]) == "-0.0"
    with pytest.raises(sandcall.RemoteError):
        n["C"] = 4  # immutable
    with pytest.raises(TypeError, match="not a global"):
        n["add"] = 1


def test_exports_calls_and_info(conn):
    conn.execute("sorter", guest("guest-sort"))
    sorter = conn.namespace["sorter"]
    assert sorter.exports["quick-sort"] == "func(data: list<s32>) -> list<s32>"
    assert sorter.quick_sort([3, 1, 2]) == [1, 2, 3]
    assert sorter.eval("bubble-sort", [2, 1]) == [1, 2]
    assert sorter.info["kind"] == "component" and len(sorter.info["module_hash"]) == 64
    with pytest.raises(AttributeError):
        sorter.no_such_export
    assert len(sorter) == 0  # no globals


def test_memory_read_write(numbers):
    n = numbers.namespace["n"]
    assert n.read(0, 4) == b"\0\0\0\0"
    n.write(8, b"\x01\x02\x03")
    assert n.read(8, 3) == b"\x01\x02\x03"
    n.write(16, array.array("i", [5, -1]))
    assert n.read(16, 8) == bytes([5, 0, 0, 0, 255, 255, 255, 255])
    n.write(0, bytearray(b"ab"), memory="mem")
    assert n.read(0, 2, memory="mem") == b"ab"
    with pytest.raises(sandcall.RemoteError):
        n.read(65536 - 1, 2)
    with pytest.raises(TypeError, match="data"):
        n.write(0, "text")


def test_reset_and_drop(values):
    v = values.namespace["v"]
    assert values.eval("v", "bump") == 1
    assert values.eval("v", "bump") == 2
    with pytest.raises(sandcall.TrapError):
        values.eval("v", "crash", "boom")
    with pytest.raises(sandcall.PoisonedError):
        values.eval("v", "bump")
    v.reset()
    assert values.eval("v", "bump") == 1
    v.drop()
    assert "v" not in values.namespace
    with pytest.raises(sandcall.NotFoundError):
        values.eval("v", "bump")
