"""GC objects and exceptions stay on the server: a call returns a
``sandcall.HeldRef``, and passing it back gives the guest the same object."""

from __future__ import annotations

import pytest

import sandcall

GC_WAT = """
(module
  (type $point (struct (field $x (mut i32)) (field $y i32)))
  (tag $oops (param i32))
  (func (export "point") (param i32 i32) (result (ref null $point))
    (struct.new $point (local.get 0) (local.get 1)))
  (func (export "x") (param (ref null $point)) (result i32)
    (struct.get $point $x (local.get 0)))
  (func (export "bump") (param (ref null $point))
    (struct.set $point $x (local.get 0)
      (i32.add (struct.get $point $x (local.get 0)) (i32.const 1))))
  (func (export "is_null") (param anyref) (result i32) (ref.is_null (local.get 0)))
  (func (export "any") (param anyref) (result anyref) (local.get 0))
  (func (export "throw") (param i32) (result exnref) (local $e exnref)
    (block $caught (result i32 exnref)
      (try_table (catch_ref $oops $caught) (throw $oops (local.get 0)))
      (unreachable))
    (local.set $e)
    (drop)
    (local.get $e))
  (func (export "payload") (param exnref) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught) (throw_ref (local.get 0)))
      (unreachable))))
"""


@pytest.fixture
def gc(conn: sandcall.Connection) -> sandcall.Connection:
    conn.execute("gc", GC_WAT)
    return conn


def test_a_struct_comes_back_as_a_handle_to_the_same_object(gc):
    p = gc.eval("gc", "point", 3, 4)
    assert isinstance(p, sandcall.HeldRef)
    assert p.kind == "struct"
    assert repr(p) == f'HeldRef("struct", {p.id})'
    assert gc.eval("gc", "x", p) == 3
    gc.eval("gc", "bump", p)
    assert gc.eval("gc", "x", p) == 4
    assert p == p and hash(p) == hash(p)
    assert gc.eval("gc", "point", 3, 4) != p
    assert gc.eval("gc", "is_null", None) == 1
    # An int where an anyref is expected: the client's externref, turned
    # into an anyref on the server, comes back as itself.
    assert gc.eval("gc", "any", 5) == 5
    assert gc.eval("gc", "is_null", 5) == 0


def test_an_exception_is_held_and_rethrown(gc):
    e = gc.eval("gc", "throw", 42)
    assert e.kind == "exn"
    assert gc.eval("gc", "payload", e) == 42


def test_wrong_handles_and_objects_are_refused(gc):
    p = gc.eval("gc", "point", 1, 2)
    with pytest.raises(TypeError, match="HeldRef"):
        gc.eval("gc", "x", "seven")
    with pytest.raises(sandcall.BadRequestError):
        gc.eval("gc", "x", 7)  # a host reference is not a struct
    with pytest.raises(sandcall.BadRequestError):
        gc.eval("gc", "payload", p)
    gc.execute("other", GC_WAT)
    with pytest.raises(sandcall.NotFoundError, match="not held here"):
        gc.eval("other", "x", p)
