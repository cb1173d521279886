//! Imports across linked families, through the library over TCP: a module
//! imports from registered instances in different stores (functions and
//! constants as proxies and copies, state from one store, fresh providers
//! moved), cycles refused, and the memory of dropped instances freed.

use sandcall::{ClientError, Connection};
use sandcall_protocol::{ErrorKind, Value};

use crate::server;

/// `a`: functions, a constant, and a memory `c` does not import.
const A: &str = r#"(module
  (memory (export "amem") 1)
  (global (export "k") i32 (i32.const 40))
  (func (export "add1") (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func (export "div") (param i32) (result i32) (i32.div_u (i32.const 1) (local.get 0))))"#;

/// `b`: a memory and a function over it.
const B: &str = r#"(module
  (memory (export "mem") 1)
  (func (export "peek") (result i32) (i32.load (i32.const 0)))
  (func (export "poke") (param i32) (i32.store (i32.const 0) (local.get 0))))"#;

/// Imports from `a` (functions, constant) and `b` (memory, function).
const C: &str = r#"(module
  (import "a" "add1" (func $add1 (param i32) (result i32)))
  (import "a" "div" (func $div (param i32) (result i32)))
  (import "a" "k" (global $k i32))
  (import "b" "mem" (memory 1))
  (import "b" "peek" (func $peek (result i32)))
  (func (export "run") (result i32)
    (i32.store (i32.const 0) (call $add1 (global.get $k)))
    (call $peek))
  (func (export "div") (param i32) (result i32) (call $div (local.get 0))))"#;

async fn setup(conn: &mut Connection) {
    for (name, wat) in [("a", A), ("b", B)] {
        conn.execute(name, wat).await.expect("instantiates");
        conn.register(name, name).await.expect("registers");
    }
    // Both have been entered: neither may be moved, each keeps its store.
    conn.eval("b", "poke", &[Value::I32(7)])
        .await
        .expect("runs");
    conn.eval("a", "add1", &[Value::I32(1)])
        .await
        .expect("runs");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_imports_from_instances_in_two_stores() {
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    setup(&mut conn).await;
    conn.execute("c", C).await.expect("imports from two stores");
    // a's function and constant through the proxy and copy, b's memory shared.
    assert_eq!(conn.eval("c", "run", &[]).await.unwrap(), [Value::I32(41)]);
    assert_eq!(conn.eval("b", "peek", &[]).await.unwrap(), [Value::I32(41)]);
    // A trap in the other store is the call's trap, with its code.
    assert_eq!(
        conn.eval("c", "div", &[Value::I32(1)]).await.unwrap(),
        [Value::I32(1)]
    );
    let Err(ClientError::Remote(e)) = conn.eval("c", "div", &[Value::I32(0)]).await else {
        panic!("dividing by zero in `a` must trap");
    };
    assert_eq!(e.kind, ErrorKind::Trap, "{e:?}");
    assert_eq!(e.trap.as_deref(), Some("integer_division_by_zero"), "{e:?}");
    // The providers stay usable, and the importer after they are dropped.
    conn.drop_instance("a").await.unwrap();
    assert_eq!(conn.eval("c", "run", &[]).await.unwrap(), [Value::I32(41)]);
    drop(conn);
    server.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn state_from_two_entered_stores_is_refused_and_fresh_providers_move() {
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    let m = r#"(module (global (export "g") (mut i32) (i32.const 0)) (memory (export "mem") 1))"#;
    let both = r#"(module
  (import "m1" "g" (global $g1 (mut i32)))
  (import "m2" "g" (global $g2 (mut i32)))
  (func (export "set") (global.set $g1 (i32.const 5)) (global.set $g2 (i32.const 6))))"#;
    for name in ["m1", "m2"] {
        conn.execute(name, m).await.expect("instantiates");
        conn.register(name, name).await.expect("registers");
    }
    // Fresh (never entered, import-free): m2 moves into m1's store.
    conn.execute("both", both)
        .await
        .expect("fresh providers move");
    conn.eval("both", "set", &[]).await.unwrap();
    assert_eq!(conn.get_global("m1", "g").await.unwrap(), Value::I32(5));
    assert_eq!(conn.get_global("m2", "g").await.unwrap(), Value::I32(6));

    // Entered ones cannot move (their state may differ from a fresh one).
    for name in ["n1", "n2"] {
        conn.execute(name, m).await.expect("instantiates");
        conn.register(name, &format!("m{}", &name[1..]))
            .await
            .unwrap();
        conn.write_memory(name, None, 0, vec![1]).await.unwrap();
    }
    let Err(ClientError::Remote(e)) = conn.execute("again", both).await else {
        panic!("state from two entered stores must be refused");
    };
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains("`m1::g` and `m2::g`"), "{}", e.message);
    assert!(e.message.contains("two different stores"), "{}", e.message);
    drop(conn);
    server.stop().await.expect("server stops");
}

#[tokio::test(flavor = "multi_thread")]
async fn stores_that_would_import_from_each_other_are_refused() {
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    setup(&mut conn).await;
    // c lives in b's store (b's memory) and calls into a's: b's store
    // imports from a's.
    conn.execute("c", C).await.expect("imports from two stores");
    // a's memory with b's function would make a's store import from b's.
    let cycle = r#"(module
  (import "a" "amem" (memory 1))
  (import "b" "peek" (func (result i32))))"#;
    let Err(ClientError::Remote(e)) = conn.execute("d", cycle).await else {
        panic!("a cycle of stores must be refused");
    };
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains("cycle"), "{}", e.message);
    // Dropping c leaves its proxy in b's store (wasmtime frees a store's
    // functions only with the store), so the cycle would still form.
    conn.drop_instance("c").await.unwrap();
    let still = conn
        .execute("d", cycle)
        .await
        .expect_err("b's store still imports");
    assert_eq!(still.kind(), Some(ErrorKind::Unsupported), "{still}");
    drop(conn);
    server.stop().await.expect("server stops");
}

/// RSS of this process, in bytes.
fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("reads /proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("a VmRSS line")
        * 1024
}

#[tokio::test(flavor = "multi_thread")]
async fn dropping_linked_families_frees_their_memory() {
    let server = server().await;
    let mut conn = Connection::connect(server.addr()).await.expect("connects");
    let big = r#"(module (memory (export "mem") 16)
  (func (export "fill") (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576))))"#;
    let user = r#"(module
  (import "big" "mem" (memory 16))
  (import "f" "fill" (func $fill))
  (func (export "go") (call $fill) (memory.fill (i32.const 0) (i32.const 2) (i32.const 1048576))))"#;
    let round = async |conn: &mut Connection| {
        conn.execute("big", big).await.unwrap();
        conn.register("big", "big").await.unwrap();
        conn.eval("big", "fill", &[]).await.unwrap();
        conn.execute("f", big).await.unwrap();
        conn.register("f", "f").await.unwrap();
        conn.eval("f", "fill", &[]).await.unwrap();
        conn.execute("user", user).await.unwrap();
        conn.eval("user", "go", &[]).await.unwrap();
        for name in ["user", "f", "big"] {
            conn.drop_instance(name).await.unwrap();
        }
    };
    round(&mut conn).await;
    let before = rss_bytes();
    for _ in 0..200 {
        round(&mut conn).await;
    }
    let grown = rss_bytes().saturating_sub(before);
    eprintln!(
        "200 rounds of two 1 MiB-touched providers in two stores and an importer, dropped: \
         RSS grew {} KiB",
        grown >> 10
    );
    // Kept, they would hold 400 MiB.
    assert!(grown < 64 << 20, "RSS grew by {grown} bytes");
    drop(conn);
    server.stop().await.expect("server stops");
}
