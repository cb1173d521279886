;; The seminar's `scores = {"Foo": 10}`: two globals the client can read and
;; write through the namespace, and an export doing `scores["Foo"] += 1`.
(module
  (global $foo (export "Foo") (mut i32) (i32.const 10))
  (global (export "Bar") (mut i32) (i32.const 0))
  (func (export "incr_foo") (result i32)
    (global.set $foo (i32.add (global.get $foo) (i32.const 1)))
    (global.get $foo)))
