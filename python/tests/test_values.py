"""Every value kind round-trips, packed lists travel as buffers, and wrong
Python types raise TypeError / ValueError naming the argument."""

from __future__ import annotations

import array
import math
import struct

import pytest

import sandcall


# -- core numbers (WAT) ---------------------------------------------------------
def test_integers_round_trip(numbers):
    for v in (0, 1, -1, 2**31 - 1, -(2**31)):
        assert numbers.eval("n", "i32", v) == v
    # The unsigned range is the same bits; results are signed.
    assert numbers.eval("n", "i32", 2**32 - 1) == -1
    for v in (0, -1, 2**63 - 1, -(2**63)):
        assert numbers.eval("n", "i64", v) == v
    assert numbers.eval("n", "i64", 2**64 - 1) == -1


def test_floats_keep_their_bits(numbers):
    for v in (0.0, -0.0, 1.5, -1e300, math.inf, -math.inf, 5e-324):
        got = numbers.eval("n", "f64", v)
        assert struct.pack("<d", got) == struct.pack("<d", v)
    nan = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_1234))[0]
    assert numbers.eval("n", "f64bits", nan) == 0x7FF8_0000_0000_1234
    assert math.isnan(numbers.eval("n", "f64", nan))
    assert numbers.eval("n", "f32", 1.5) == 1.5
    assert numbers.eval("n", "f32", 0.1) == struct.unpack("<f", struct.pack("<f", 0.1))[0]
    assert math.isnan(numbers.eval("n", "f32", math.nan))
    assert numbers.eval("n", "f64", 3) == 3.0  # an int is a float


def test_v128_and_references(numbers):
    assert numbers.eval("n", "v128", 2**128 - 1) == 2**128 - 1
    assert numbers.eval("n", "ext", None) is None
    assert numbers.eval("n", "ext", 42) == 42
    assert numbers.eval("n", "fref", None) is None


def test_result_arity(numbers):
    assert numbers.eval("n", "swap", 1, 2) == (2, 1)
    assert numbers.eval("n", "nothing") is None
    assert numbers.eval("n", "add", 2, 40) == 42


def test_core_wrong_types(numbers):
    with pytest.raises(TypeError, match=r"argument 1 \(i32\).*str"):
        numbers.eval("n", "i32", "1")
    with pytest.raises(TypeError, match="argument 1"):
        numbers.eval("n", "i32", 1.0)
    with pytest.raises(TypeError, match="bool"):
        numbers.eval("n", "i32", True)
    with pytest.raises(ValueError, match="out of range"):
        numbers.eval("n", "i32", 2**32)
    with pytest.raises(ValueError, match="out of range"):
        numbers.eval("n", "i64", -(2**63) - 1)
    with pytest.raises(ValueError, match="out of range"):
        numbers.eval("n", "i64", 10**40)
    with pytest.raises(TypeError, match="takes 2 argument"):
        numbers.eval("n", "add", 1)
    with pytest.raises(TypeError, match="float"):
        numbers.eval("n", "f64", "x")
    with pytest.raises(TypeError, match="null funcref"):
        numbers.eval("n", "fref", 1)
    with pytest.raises(TypeError, match="not a function"):
        numbers.eval("n", "G")


# -- component values (guest-values) -----------------------------------------------
@pytest.mark.parametrize(
    "export, value",
    [
        ("echo-bool", True),
        ("echo-bool", False),
        ("echo-s8", -128),
        ("echo-u8", 255),
        ("echo-s16", -32768),
        ("echo-u16", 65535),
        ("echo-s32", -(2**31)),
        ("echo-u32", 2**32 - 1),
        ("echo-s64", -(2**63)),
        ("echo-u64", 2**64 - 1),
        ("echo-f64", -0.0),
        ("echo-f64", 1e308),
        ("echo-f32", 0.5),
        ("echo-char", "é"),
        ("echo-char", "🦀"),
        ("echo-string", ""),
        ("echo-string", "héllo \"wörld\"\n"),
        ("echo-list-string", ["a", "", "ü"]),
        ("echo-list-string", []),
        ("echo-record", {"x": 1, "y": -2, "label": "p"}),
        ("echo-tuple", (7, "seven", 7.5)),
        ("echo-variant", ("circle", 1.5)),
        ("echo-variant", ("square", 4)),
        ("echo-variant", ("empty", None)),
        ("echo-enum", "green"),
        ("echo-option", None),
        ("echo-option", "some"),
        ("echo-result", ("ok", 3)),
        ("echo-result", ("err", "bad")),
        ("echo-flags", {"read", "exec"}),
        ("echo-flags", set()),
        ("echo-nested", [None, {"x": 1, "y": 2, "label": "a"}]),
        ("echo-list-s64", [-(2**63), 0, 2**63 - 1]),
        ("echo-list-f64", [0.5, -0.0, math.inf]),
        ("echo-list-u8", [0, 255]),
    ],
)
def test_component_values_round_trip(values, export, value):
    got = values.eval("v", export, value)
    assert got == value
    assert type(got) is type(value)


def test_component_value_forms(values):
    # Accepted spellings besides the canonical ones.
    assert values.eval("v", "echo-variant", "empty") == ("empty", None)
    assert values.eval("v", "echo-flags", ["write"]) == {"write"}
    assert values.eval("v", "echo-tuple", [1, "a", 2]) == (1, "a", 2.0)
    f = values.eval("v", "echo-f64", struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_0000_0001))[0])
    assert math.isnan(f)
    assert values.eval("v", "many", 1, "b", [0.5, 1.5]) == (1, "b", [0.5, 1.5])
    assert values.eval("v", "sum", [1, 2, 3]) == 6
    assert values.eval("v", "bump") == 1
    assert values.eval("v", "sandcall:values/text@0.1.0#upper", "abc") == "ABC"


def test_component_wrong_types(values):
    cases = [
        ("echo-bool", 1, TypeError, "argument `v`: expected a bool, got int"),
        ("echo-u8", 256, ValueError, "argument `v`: 256 is out of range for a u8"),
        ("echo-u8", -1, ValueError, "out of range"),
        ("echo-s8", "1", TypeError, "expected an int"),
        ("echo-char", "ab", ValueError, "one character"),
        ("echo-string", b"x", TypeError, "expected a str, got bytes"),
        ("echo-record", {"x": 1, "y": 2}, ValueError, "field `label` is missing"),
        ("echo-record", {"x": 1, "y": 2, "label": "a", "z": 0}, ValueError, "unknown field"),
        ("echo-record", {"x": "1", "y": 2, "label": "a"}, TypeError, r"argument `v`\.x: expected an int"),
        ("echo-record", [1, 2, "a"], TypeError, "expected a dict"),
        ("echo-tuple", (1, "a"), ValueError, "tuple of 3 items"),
        ("echo-variant", ("hexagon", 1), ValueError, "no case `hexagon`"),
        ("echo-variant", "circle", ValueError, "carries a f64"),
        ("echo-variant", ("empty", 1), ValueError, "carries no payload"),
        ("echo-enum", "purple", ValueError, "no case `purple`"),
        ("echo-enum", 0, TypeError, "enum case"),
        ("echo-result", ("maybe", 1), ValueError, '"ok" or "err"'),
        ("echo-flags", {"fly"}, ValueError, "no flag `fly`"),
        ("echo-flags", "read", TypeError, "set of str"),
        ("echo-nested", [{"x": 1, "y": 2, "label": 3}], TypeError, r"\[0\] \(some\)\.label"),
        ("echo-list-s64", [1, "2"], TypeError, r"argument `v`\[1\]"),
        ("echo-list-s64", "12", TypeError, "expected a list"),
        ("echo-list-f64", array.array("i", [1]), TypeError, "buffer of s32 for a list<f64>"),
        ("echo-list-u8", array.array("b", [1]), TypeError, "buffer of s8 for a list<u8>"),
    ]
    for export, value, error, message in cases:
        with pytest.raises(error, match=message):
            values.eval("v", export, value)
    with pytest.raises(TypeError, match="takes 3 argument"):
        values.eval("v", "many", 1, "b")


# -- packed lists ----------------------------------------------------------------------
def test_packed_lists_come_back_as_they_went(sorter):
    data = [5, 3, 9, 1, -7]
    assert sorter.eval("sorter", "quick-sort", data) == sorted(data)
    assert sorter.eval("sorter", "quick-sort", tuple(data)) == sorted(data)
    got = sorter.eval("sorter", "quick-sort", array.array("i", data))
    assert isinstance(got, array.array) and got.typecode == "i" and list(got) == sorted(data)
    got = sorter.eval("sorter", "quick-sort", memoryview(array.array("i", data)))
    assert isinstance(got, array.array) and list(got) == sorted(data)
    assert sorter.eval("sorter", "quick-sort", []) == []
    got = sorter.eval("sorter", "quick-sort", array.array("i"))
    assert isinstance(got, array.array) and len(got) == 0


def test_a_million_ints_from_an_array(sorter):
    import random

    rng = random.Random(7)
    data = array.array("i", (rng.randint(-(2**31), 2**31 - 1) for _ in range(1_000_000)))
    got = sorter.eval("sorter", "quick-sort", data)
    assert isinstance(got, array.array) and len(got) == 1_000_000
    assert got == array.array("i", sorted(data))
    # And from a plain list, back as a list.
    as_list = data.tolist()
    assert sorter.eval("sorter", "sort-unstable", as_list) == sorted(as_list)


def test_bytes_and_lists_of_u8(values):
    assert values.eval("v", "echo-list-u8", b"") == b""
    big = bytes(range(256)) * 3907  # 1,000,192 bytes
    got = values.eval("v", "echo-list-u8", big)
    assert isinstance(got, bytes) and got == big
    assert values.eval("v", "echo-list-u8", bytearray(b"\x01\x02")) == b"\x01\x02"
    assert values.eval("v", "repeat", 300) == [i % 256 for i in range(300)]
    s64 = array.array("q", [1, -2, 3])
    assert values.eval("v", "echo-list-s64", s64) == s64
    assert values.eval("v", "echo-list-f64", array.array("d", [0.5, -0.0])) == array.array("d", [0.5, -0.0])
    assert values.eval("v", "sum", array.array("i", range(1000))) == sum(range(1000))


def test_numpy_arrays(sorter):
    np = pytest.importorskip("numpy")
    data = np.random.default_rng(1).integers(-(2**31), 2**31, 1_000_000, dtype=np.int32)
    got = sorter.eval("sorter", "quick-sort", data)
    assert isinstance(got, np.ndarray) and got.dtype == np.int32 and got.flags.writeable
    assert np.array_equal(got, np.sort(data))
    empty = sorter.eval("sorter", "quick-sort", np.array([], dtype=np.int32))
    assert isinstance(empty, np.ndarray) and empty.size == 0
    # A strided view is gathered; a wrong dtype names the argument.
    assert list(sorter.eval("sorter", "quick-sort", np.arange(10, dtype=np.int32)[::-3])) == [0, 3, 6, 9]
    with pytest.raises(TypeError, match="argument `data`: a buffer of s64 for a list<s32>"):
        sorter.eval("sorter", "quick-sort", np.arange(3, dtype=np.int64))
    with pytest.raises(TypeError, match="big-endian"):
        sorter.eval("sorter", "quick-sort", np.arange(3, dtype=">i4"))
