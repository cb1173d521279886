;; Textbook sorts over an array of i32 in linear memory, in place: the client
;; writes its data with `write_memory`, calls a sort, reads the result back.
(module
  (memory (export "memory") 1)

  ;; Grow memory until it holds at least $bytes; returns 1, or 0 if refused.
  (func (export "reserve") (param $bytes i32) (result i32)
    (local $need i32)
    (local.set $need
      (i32.sub (i32.shr_u (i32.add (local.get $bytes) (i32.const 65535)) (i32.const 16))
               (memory.size)))
    (if (result i32) (i32.le_s (local.get $need) (i32.const 0))
      (then (i32.const 1))
      (else (i32.ne (memory.grow (local.get $need)) (i32.const -1)))))

  (func $at (param $base i32) (param $k i32) (result i32)
    (i32.add (local.get $base) (i32.shl (local.get $k) (i32.const 2))))

  ;; Bubble sort with early exit when a pass swaps nothing.
  (func (export "bubble_sort") (param $base i32) (param $n i32)
    (local $i i32) (local $j i32) (local $p i32) (local $a i32) (local $b i32)
    (local $swapped i32)
    (block $done
      (loop $outer
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $swapped (i32.const 0))
        (local.set $j (i32.const 0))
        (block $pass_done
          (loop $pass
            (br_if $pass_done
              (i32.ge_s (local.get $j)
                        (i32.sub (i32.sub (local.get $n) (i32.const 1)) (local.get $i))))
            (local.set $p (call $at (local.get $base) (local.get $j)))
            (local.set $a (i32.load (local.get $p)))
            (local.set $b (i32.load offset=4 (local.get $p)))
            (if (i32.gt_s (local.get $a) (local.get $b))
              (then
                (i32.store (local.get $p) (local.get $b))
                (i32.store offset=4 (local.get $p) (local.get $a))
                (local.set $swapped (i32.const 1))))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $pass)))
        (br_if $done (i32.eqz (local.get $swapped)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer))))

  ;; Hoare quick sort, recursing into the smaller side.
  (func $qs (param $base i32) (param $lo i32) (param $hi i32)
    (local $i i32) (local $j i32) (local $pivot i32) (local $t i32)
    (block $exit
      (loop $while
        (br_if $exit (i32.ge_s (local.get $lo) (local.get $hi)))
        (local.set $pivot
          (i32.load (call $at (local.get $base)
            (i32.shr_s (i32.add (local.get $lo) (local.get $hi)) (i32.const 1)))))
        (local.set $i (local.get $lo))
        (local.set $j (local.get $hi))
        (block $parted
          (loop $part
            (br_if $parted (i32.gt_s (local.get $i) (local.get $j)))
            (block $b1
              (loop $l1
                (br_if $b1 (i32.ge_s (i32.load (call $at (local.get $base) (local.get $i)))
                                     (local.get $pivot)))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br $l1)))
            (block $b2
              (loop $l2
                (br_if $b2 (i32.le_s (i32.load (call $at (local.get $base) (local.get $j)))
                                     (local.get $pivot)))
                (local.set $j (i32.sub (local.get $j) (i32.const 1)))
                (br $l2)))
            (if (i32.le_s (local.get $i) (local.get $j))
              (then
                (local.set $t (i32.load (call $at (local.get $base) (local.get $i))))
                (i32.store (call $at (local.get $base) (local.get $i))
                           (i32.load (call $at (local.get $base) (local.get $j))))
                (i32.store (call $at (local.get $base) (local.get $j)) (local.get $t))
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (local.set $j (i32.sub (local.get $j) (i32.const 1)))))
            (br $part)))
        (if (i32.lt_s (i32.sub (local.get $j) (local.get $lo))
                      (i32.sub (local.get $hi) (local.get $i)))
          (then
            (call $qs (local.get $base) (local.get $lo) (local.get $j))
            (local.set $lo (local.get $i)))
          (else
            (call $qs (local.get $base) (local.get $i) (local.get $hi))
            (local.set $hi (local.get $j))))
        (br $while))))

  (func (export "quick_sort") (param $base i32) (param $n i32)
    (call $qs (local.get $base) (i32.const 0) (i32.sub (local.get $n) (i32.const 1)))))
