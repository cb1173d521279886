//! GC objects and exceptions held by the server: a call returns a handle
//! (`Value::Held`), and passing it back gives the guest the same object.

use crate::common::{connect, server};
use sandcall::{ErrorKind, Value};
use sandcall_protocol::{HeldRef, RefClass};

const GC: &str = r#"(module
  (type $point (struct (field $x (mut i32)) (field $y i32)))
  (type $row (array (mut i32)))
  (tag $oops (param i32))
  (global (export "kept") (mut anyref) (ref.null any))
  (func (export "point") (param i32 i32) (result (ref null $point))
    (struct.new $point (local.get 0) (local.get 1)))
  (func (export "x") (param (ref null $point)) (result i32)
    (struct.get $point $x (local.get 0)))
  (func (export "bump") (param (ref null $point))
    (struct.set $point $x (local.get 0)
      (i32.add (struct.get $point $x (local.get 0)) (i32.const 1))))
  (func (export "row") (result anyref) (array.new $row (i32.const 7) (i32.const 3)))
  (func (export "small") (param i32) (result anyref) (ref.i31 (local.get 0)))
  (func (export "any") (param anyref) (result anyref) (local.get 0))
  (func (export "outside") (param anyref) (result externref) (extern.convert_any (local.get 0)))
  (func (export "same") (param anyref anyref) (result i32)
    (ref.eq (ref.cast eqref (local.get 0)) (ref.cast eqref (local.get 1))))
  (func (export "throw") (param i32) (result exnref) (local $e exnref)
    (block $caught (result i32 exnref)
      (try_table (catch_ref $oops $caught) (throw $oops (local.get 0)))
      (unreachable))
    (local.set $e)
    (drop)
    (local.get $e))
  (func (export "escape") (param i32) (throw $oops (local.get 0)))
  (func (export "payload") (param exnref) (result i32)
    (block $caught (result i32)
      (try_table (catch $oops $caught) (throw_ref (local.get 0)))
      (unreachable))))"#;

/// Field `x` of the point `p` holds, read by the guest.
async fn x(conn: &mut sandcall::Connection, p: HeldRef) -> Vec<Value> {
    conn.eval("gc", "x", &[Value::Held(p)]).await.unwrap()
}

fn held(values: Vec<Value>) -> HeldRef {
    match values.as_slice() {
        [Value::Held(h)] => *h,
        other => panic!("expected one held reference, got {other:?}"),
    }
}

#[tokio::test]
async fn gc_objects_come_back_as_handles_that_can_be_passed_back() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("gc", GC).await.unwrap();
    let p = held(
        conn.eval("gc", "point", &[Value::I32(3), Value::I32(4)])
            .await
            .unwrap(),
    );
    assert_eq!(p.class, RefClass::Struct);
    assert_eq!(x(&mut conn, p).await, [Value::I32(3)]);
    // The same object, not a copy: a change through one call is seen by the next.
    conn.eval("gc", "bump", &[Value::Held(p)]).await.unwrap();
    assert_eq!(x(&mut conn, p).await, [Value::I32(4)]);
    let other = held(
        conn.eval("gc", "point", &[Value::I32(3), Value::I32(4)])
            .await
            .unwrap(),
    );
    assert_ne!(other.id, p.id);
    let same = |a, b| [Value::Held(a), Value::Held(b)];
    assert_eq!(
        conn.eval("gc", "same", &same(p, p)).await.unwrap(),
        [Value::I32(1)]
    );
    assert_eq!(
        conn.eval("gc", "same", &same(p, other)).await.unwrap(),
        [Value::I32(0)]
    );
    // Arrays and i31s are told apart; a global holds a handle's object.
    let row = held(conn.eval("gc", "row", &[]).await.unwrap());
    assert_eq!(row.class, RefClass::Array);
    let small = held(conn.eval("gc", "small", &[Value::I32(5)]).await.unwrap());
    assert_eq!(small.class, RefClass::I31);
    conn.set_global("gc", "kept", Value::Held(p)).await.unwrap();
    let Value::Held(kept) = conn.get_global("gc", "kept").await.unwrap() else {
        panic!("the global holds a struct");
    };
    assert_eq!(kept.class, RefClass::Struct);
    assert_eq!(
        conn.eval("gc", "same", &same(kept, p)).await.unwrap(),
        [Value::I32(1)]
    );
    // The client's externref where an anyref is expected is turned into
    // one (`any.convert_extern`), and comes back as itself.
    let host = conn
        .eval("gc", "any", &[Value::ExternRef(5)])
        .await
        .unwrap();
    assert_eq!(host, [Value::ExternRef(5)]);
    let outside = conn
        .eval("gc", "outside", &[Value::ExternRef(6)])
        .await
        .unwrap();
    assert_eq!(outside, [Value::ExternRef(6)]);
    // A struct made external is an externref the guest made: held.
    let made = conn.eval("gc", "outside", &[Value::Held(p)]).await.unwrap();
    assert!(
        matches!(
            made[..],
            [Value::Held(HeldRef {
                class: RefClass::Extern,
                ..
            })]
        ),
        "{made:?}"
    );
    // Exceptions too: thrown, caught, handed out, rethrown later.
    let exn = held(conn.eval("gc", "throw", &[Value::I32(42)]).await.unwrap());
    assert_eq!(exn.class, RefClass::Exn);
    let payload = conn
        .eval("gc", "payload", &[Value::Held(exn)])
        .await
        .unwrap();
    assert_eq!(payload, [Value::I32(42)]);
    assert_eq!(
        Value::Held(exn).to_string(),
        format!("ref.held exn {}", exn.id)
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn an_uncaught_exception_is_a_trap_and_stays_held() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("gc", GC).await.unwrap();
    let e = conn
        .eval("gc", "escape", &[Value::I32(7)])
        .await
        .unwrap_err();
    let sandcall::ClientError::Remote(remote) = &e else {
        panic!("a server error, got {e}");
    };
    assert_eq!(remote.kind, ErrorKind::Trap, "{e}");
    assert_eq!(remote.trap.as_deref(), Some("uncaught_exception"), "{e}");
    // The message names the handle; the exception can be caught later.
    let text = remote.message.split('`').nth(1).expect("a quoted handle");
    let exn = HeldRef::parse(text).expect("a held reference");
    assert_eq!(exn.class, RefClass::Exn);
    let payload = conn
        .eval("gc", "payload", &[Value::Held(exn)])
        .await
        .unwrap();
    assert_eq!(payload, [Value::I32(7)]);
    // The instance is usable after it (core semantics).
    let p = held(
        conn.eval("gc", "point", &[Value::I32(1), Value::I32(2)])
            .await
            .unwrap(),
    );
    assert_eq!(x(&mut conn, p).await, [Value::I32(1)]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_handle_is_checked_against_the_type_and_the_store_it_belongs_to() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("gc", GC).await.unwrap();
    let p = held(
        conn.eval("gc", "point", &[Value::I32(1), Value::I32(2)])
            .await
            .unwrap(),
    );
    let row = held(conn.eval("gc", "row", &[]).await.unwrap());
    // An array where a struct is expected; a struct where an exnref is.
    let e = conn.eval("gc", "x", &[Value::Held(row)]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    assert!(e.to_string().contains("argument 1"), "{e}");
    let e = conn
        .eval("gc", "payload", &[Value::Held(p)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::BadRequest), "{e}");
    // Another instance of the same module lives in another store.
    conn.execute("other", GC).await.unwrap();
    let e = conn
        .eval("other", "x", &[Value::Held(p)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    assert!(e.to_string().contains("is not held here"), "{e}");
    // A handle that was never issued, and one whose instance was dropped.
    let forged = HeldRef {
        class: RefClass::Struct,
        id: u64::MAX,
    };
    let e = conn
        .eval("gc", "x", &[Value::Held(forged)])
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    conn.drop_instance("gc").await.unwrap();
    conn.execute("gc", GC).await.unwrap();
    let e = conn.eval("gc", "x", &[Value::Held(p)]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_store_holds_a_bounded_number_of_handles_the_oldest_expiring_first() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("gc", GC).await.unwrap();
    let first = held(conn.eval("gc", "small", &[Value::I32(1)]).await.unwrap());
    let second = held(conn.eval("gc", "small", &[Value::I32(2)]).await.unwrap());
    // 4,096 are kept per store: 4,095 more push out the first only.
    for i in 0..4095 {
        let eval = sandcall::Eval {
            name: "gc".into(),
            export: "small".into(),
            args: vec![Value::I32(i)],
            fuel: None,
            deadline_ms: None,
            cpu_ms: None,
        };
        conn.send(&sandcall::Request::Eval(eval)).await.unwrap();
    }
    conn.flush().await.unwrap();
    for _ in 0..4095 {
        match conn.recv().await.unwrap().1 {
            Ok(sandcall::Response::Evaluated(r)) => {
                assert!(matches!(r.results[..], [Value::Held(_)]), "{r:?}")
            }
            other => panic!("{other:?}"),
        }
    }
    let same = |a, b| [Value::Held(a), Value::Held(b)];
    let e = conn
        .eval("gc", "same", &same(first, first))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::NotFound), "{e}");
    assert!(e.to_string().contains("4096 newest"), "{e}");
    let kept = conn
        .eval("gc", "same", &same(second, second))
        .await
        .unwrap();
    assert_eq!(kept, [Value::I32(1)]);
    server.stop().await.unwrap();
}
