;; A start function, a bounded loop, recursion and floats, for mutation
;; (fuzz/seeds, issue 15): a mutated bound may spin until fuel or the
;; deadline stops it.
(module
  (global $ready (mut i32) (i32.const 0))
  (func $start (global.set $ready (i32.const 1)))
  (start $start)
  (func (export "ready") (result i32) global.get $ready)
  (func (export "count") (param $n i32) (result i32) (local $i i32)
    (block $done
      (loop $next
        local.get $i local.get $n i32.ge_u br_if $done
        local.get $i i32.const 1 i32.add local.set $i
        br $next))
    local.get $i)
  (func $fact (export "fact") (param i64) (result i64)
    (if (result i64) (i64.le_u (local.get 0) (i64.const 1))
      (then (i64.const 1))
      (else (i64.mul (local.get 0) (call $fact (i64.sub (local.get 0) (i64.const 1)))))))
  (func (export "hyp") (param f64 f64) (result f64)
    (f64.sqrt (f64.add (f64.mul (local.get 0) (local.get 0)) (f64.mul (local.get 1) (local.get 1))))))
