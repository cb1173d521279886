//! The hostile guests, as WAT source or generated here with `wasm-encoder`:
//! nothing prebuilt is checked in. The output bomb is the values component
//! (`guest-values`, built from Rust source by `sandcall-guests`).

use wasm_encoder::{
    CodeSection, CustomSection, ExportKind, ExportSection, Function, FunctionSection, Module,
    Section, TypeSection, ValType,
};

/// Loops forever: `loop br 0`.
pub const INFINITE_LOOP: &str = r#"(module
  (func (export "run") (loop br 0)))"#;

/// A finite but long loop: `run(n)` steps a 64-bit LCG `n` times and returns
/// its state, which the client checks against [`lcg`].
pub const HEAVY_LOOP: &str = r#"(module
  (func (export "run") (param $n i64) (result i64) (local $x i64)
    (local.set $x (i64.const 1))
    (block $done (loop $next
      (br_if $done (i64.eqz (local.get $n)))
      (local.set $x (i64.add (i64.mul (local.get $x) (i64.const 6364136223846793005))
                             (i64.const 1442695040888963407)))
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br $next)))
    (local.get $x)))"#;

/// What [`HEAVY_LOOP`]'s `run(n)` returns, computed natively.
pub fn lcg(n: u64) -> i64 {
    let mut x: u64 = 1;
    for _ in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
    }
    x as i64
}

/// Grows memory 16 pages, then 1 page, at a time until `memory.grow` fails;
/// returns the bytes it got.
pub const MEMORY_BOMB: &str = r#"(module
  (memory (export "memory") 0)
  (func (export "run") (result i64)
    (block $done (loop $grow
      (br_if $done (i32.eq (memory.grow (i32.const 16)) (i32.const -1)))
      (br $grow)))
    (block $done (loop $grow
      (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $grow)))
    (i64.mul (i64.extend_i32_u (memory.size)) (i64.const 65536))))"#;

/// Grows a table 10,000 elements at a time until refused or until it holds
/// `limit` elements (unsigned); returns its size.
pub const TABLE_BOMB: &str = r#"(module
  (table $t 0 funcref)
  (func (export "run") (param $limit i32) (result i32)
    (block $done (loop $grow
      (br_if $done (i32.ge_u (table.size $t) (local.get $limit)))
      (br_if $done (i32.eq (table.grow $t (ref.null func) (i32.const 10000)) (i32.const -1)))
      (br $grow)))
    (table.size $t)))"#;

/// Calls itself with no base case.
pub const RECURSION: &str = r#"(module
  (func $run (export "run") (param i64) (result i64)
    (call $run (i64.add (local.get 0) (i64.const 1)))))"#;

/// A start function that never returns: instantiation itself hangs.
pub const ENDLESS_START: &str = r#"(module
  (func $start (loop br 0))
  (start $start)
  (func (export "run")))"#;

/// The bounded form of [`ENDLESS_START`]: the start function steps the
/// LCG `iterations` times, then returns.
pub fn bounded_start(iterations: u64) -> String {
    format!(
        r#"(module
  (global $x (mut i64) (i64.const 1))
  (func $start (local $n i64)
    (local.set $n (i64.const {iterations}))
    (block $done (loop $next
      (br_if $done (i64.eqz (local.get $n)))
      (global.set $x (i64.add (i64.mul (global.get $x) (i64.const 6364136223846793005))
                              (i64.const 1442695040888963407)))
      (local.set $n (i64.sub (local.get $n) (i64.const 1)))
      (br $next))))
  (start $start)
  (func (export "run") (result i64) (global.get $x)))"#
    )
}

/// Where [`READ_FILE`] puts what it read.
pub const FILE_BUFFER: u64 = 1024;

/// The file [`READ_FILE`] opens in the first preopened directory.
pub const SECRET_FILE: &str = "secret.txt";

/// Opens `secret.txt` in the first preopened directory (fd 3) through WASI
/// and reads it into memory at [`FILE_BUFFER`]; returns the bytes read, or
/// minus the WASI errno.
pub const READ_FILE: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read"
    (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "secret.txt")
  (func (export "run") (result i32) (local $errno i32)
    ;; fd 3, no dirflags, path at 16 (10 bytes), no oflags, right fd_read,
    ;; no inherited rights, no fdflags, the new fd at 48
    (local.set $errno (call $path_open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 10)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 48)))
    (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
    ;; one iovec at 32: 4096 bytes at 1024; the count read goes to 52
    (i32.store (i32.const 32) (i32.const 1024))
    (i32.store (i32.const 36) (i32.const 4096))
    (local.set $errno
      (call $fd_read (i32.load (i32.const 48)) (i32.const 32) (i32.const 1) (i32.const 52)))
    (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
    (i32.load (i32.const 52))))"#;

/// Sleeps `run(ns)` nanoseconds in one WASI `poll_oneoff` on a relative
/// monotonic-clock subscription: no wasm runs meanwhile, so no epoch tick
/// stops it; returns the WASI errno.
pub const SLEEPER: &str = r#"(module
  (import "wasi_snapshot_preview1" "poll_oneoff"
    (func $poll (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (param $ns i64) (result i32)
    (i32.store8 (i32.const 8) (i32.const 0))     ;; tag: clock
    (i32.store (i32.const 16) (i32.const 1))     ;; monotonic
    (i64.store (i32.const 24) (local.get $ns))   ;; relative timeout
    (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))"#;

/// Where [`READ_ENV`] puts the variables (`NAME=value\0…`); their total
/// size is at [`ENV_SIZE`].
pub const ENV_STRINGS: u64 = 65536;

/// Where [`READ_ENV`] stores the size of the variables' strings.
pub const ENV_SIZE: u64 = 4;

/// Reads every environment variable through WASI into memory at
/// [`ENV_STRINGS`]; returns how many there are, or minus the WASI errno.
pub const READ_ENV: &str = r#"(module
  (import "wasi_snapshot_preview1" "environ_sizes_get"
    (func $sizes (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get"
    (func $get (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "run") (result i32) (local $errno i32)
    ;; the count at 0, the strings' size at 4
    (local.set $errno (call $sizes (i32.const 0) (i32.const 4)))
    (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
    ;; pointers from 1024 must fit below 65536; strings go from 65536
    (if (i32.gt_u (i32.load (i32.const 0)) (i32.const 16000)) (then (return (i32.const -75))))
    (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.load (i32.const 4)) (i32.const 16))
                                      (i32.const 1)))
                (i32.const -1))
      (then (return (i32.const -48))))
    (local.set $errno (call $get (i32.const 1024) (i32.const 65536)))
    (if (local.get $errno) (then (return (i32.sub (i32.const 0) (local.get $errno)))))
    (i32.load (i32.const 0))))"#;

/// A module of exactly `size` bytes (at least 64) that is slow to compile:
/// as many functions as fit, each 24 bytes of arithmetic on one local.
/// Compile time grows with the number of functions (about 0.2 ms each,
/// however small), not with their size: 16 MiB of one-line functions is
/// 500,000 of them, while 16 MiB of 64 KiB functions compiles in 0.7 s.
pub fn compile_bomb(size: usize) -> Vec<u8> {
    // Each function costs its body (at most 24 bytes), the body's length
    // (1 byte) and its function-section entry (1 byte); 64 bytes are left
    // for the header, the sections' headers and the padding.
    const BODY: usize = 24;
    let count = compile_bomb_functions(size);
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..count {
        functions.function(0);
        let mut body = Function::new([(1, ValType::I32)]);
        // local.get 0, i32.const 7, i32.mul, local.set 0: 7 bytes each.
        while body.byte_len() + 7 + 3 <= BODY {
            body.instructions()
                .local_get(0)
                .i32_const(7)
                .i32_mul()
                .local_set(0);
        }
        body.instructions().local_get(0);
        while body.byte_len() + 1 < BODY {
            body.instructions().nop();
        }
        body.instructions().end();
        code.function(&body);
    }
    let mut module = Module::new();
    module.section(&types).section(&functions).section(&code);
    let mut module = module.finish();
    pad_to(&mut module, size);
    module
}

/// How many functions [`compile_bomb`] puts in `size` bytes (about).
pub fn compile_bomb_functions(size: usize) -> usize {
    size.saturating_sub(64) / 33
}

/// A module with `count` exported functions `f0`, `f1`, … each returning
/// its own index.
pub fn many_exports(count: u32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], [ValType::I32]);
    let mut functions = FunctionSection::new();
    let mut exports = ExportSection::new();
    let mut code = CodeSection::new();
    for i in 0..count {
        functions.function(0);
        exports.export(&format!("f{i}"), ExportKind::Func, i);
        let mut body = Function::new([]);
        body.instructions().i32_const(i as i32).end();
        code.function(&body);
    }
    let mut module = Module::new();
    module
        .section(&types)
        .section(&functions)
        .section(&exports)
        .section(&code);
    module.finish()
}

/// Grow `module` to exactly `size` bytes with custom sections (nothing
/// when it is already that large).
fn pad_to(module: &mut Vec<u8>, size: usize) {
    let mut room = size.saturating_sub(module.len());
    while room > 0 {
        // A section of `room` bytes: its id, its size `n` as a LEB128 of
        // `len` bytes, then `n` bytes (the name "pad" and filler). A room
        // whose size field would change length has no such `n`; an empty
        // 3-byte section first then leaves one that has.
        let fits = (1..=5).find_map(|len| {
            let n = room.checked_sub(1 + len)?;
            (n >= 4 && leb_len(n) == len).then_some(n)
        });
        let (name, filler) = match fits {
            Some(n) => ("pad", n - 4),
            None if room >= 3 => ("", 0),
            None => return,
        };
        let section = CustomSection {
            name: name.into(),
            data: vec![0; filler].into(),
        };
        let before = module.len();
        section.append_to(module);
        room -= module.len() - before;
    }
}

/// The bytes an unsigned LEB128 of `n` takes.
fn leb_len(n: usize) -> usize {
    (usize::BITS - n.leading_zeros()).div_ceil(7).max(1) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_compile_bomb_has_exactly_the_asked_size() {
        // That they compile is checked against a real server in the corpus tests.
        for size in [4096, 100_000, 1 << 20, 16 << 20] {
            assert_eq!(compile_bomb(size).len(), size);
        }
        assert_eq!(lcg(0), 1);
        assert_eq!(
            lcg(1),
            6364136223846793005_u64.wrapping_add(1442695040888963407) as i64
        );
    }
}
