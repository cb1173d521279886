;; Arithmetic, a global, memory with data, a table and an indirect call: the
;; usual parts of a core module, for mutation (fuzz/seeds, issue 15).
(module
  (type $binop (func (param i32 i32) (result i32)))
  (global $counter (export "counter") (mut i32) (i32.const 10))
  (memory (export "memory") 1 2)
  (data (i32.const 16) "sandcall\00\01\02\03")
  (table 2 funcref)
  (elem (i32.const 0) $add $sub)
  (func $add (export "add") (type $binop) local.get 0 local.get 1 i32.add)
  (func $sub (type $binop) local.get 0 local.get 1 i32.sub)
  (func (export "apply") (param i32 i32 i32) (result i32)
    local.get 1 local.get 2 local.get 0 call_indirect (type $binop))
  (func (export "bump") (result i32)
    global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
  (func (export "load") (param i32) (result i64)
    local.get 0 i64.load)
  (func (export "grow") (result i32)
    i32.const 1 memory.grow))
