;; Proposals beyond wasm 1.0 (bulk memory, reference types, multi-value,
;; SIMD), for mutation (fuzz/seeds, issue 15).
(module
  (memory (export "memory") 1)
  (table $t (export "table") 4 externref)
  (func (export "swap") (param i32 i32) (result i32 i32) local.get 1 local.get 0)
  (func (export "fill") (param i32 i32 i32)
    local.get 0 local.get 1 local.get 2 memory.fill)
  (func (export "keep") (param externref) (result externref)
    (table.set $t (i32.const 0) (local.get 0))
    (table.get $t (i32.const 0)))
  (func (export "splat") (param i32) (result v128)
    local.get 0 i32x4.splat)
  (func (export "lanes") (param v128) (result i32)
    local.get 0 i32x4.extract_lane 3))
