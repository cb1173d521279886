//! Every request kind against a real server over TCP, success and failure.

use crate::common::{IDENTITY, TOOLS, connect, server};
use sandcall::{ErrorKind, Eval, Value};
use sandcall_protocol::{ExportKind, RefKind, ValType};

fn kind<T: std::fmt::Debug>(result: Result<T, sandcall::ClientError>) -> ErrorKind {
    result
        .expect_err("expected an error")
        .kind()
        .expect("a server error")
}

#[tokio::test]
async fn handshake_and_info_report_versions_and_limits() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let welcome = conn.server_info().clone();
    let info = conn.info().await.unwrap();
    assert_eq!(welcome, info);
    assert_eq!(info.wasmtime_version, "48.0.8");
    assert_eq!(info.protocol_version, sandcall_protocol::PROTOCOL_VERSION);
    assert_eq!(info.limits.frame_bytes, 64 << 20);
    assert!(info.limits.default_cpu_ms.unwrap() > 0);
    assert!(info.features.iter().any(|f| f == "multi-value"));
    assert!(info.features.iter().any(|f| f == "component-model"));
    server.stop().await.unwrap();
}

#[tokio::test]
async fn wat_and_binary_uploads_run_the_same_code() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let text = conn.execute("text", TOOLS).await.unwrap();
    let binary = conn
        .execute("binary", wat::parse_str(TOOLS).unwrap())
        .await
        .unwrap();
    assert_ne!(text.module_hash, binary.module_hash);
    for name in ["text", "binary"] {
        let sum = conn
            .eval(name, "add", &[Value::I32(40), Value::I32(2)])
            .await
            .unwrap();
        assert_eq!(sum, vec![Value::I32(42)]);
    }
    let add = text.exports.iter().find(|e| e.name == "add").unwrap();
    assert!(
        matches!(&add.kind, ExportKind::CoreFunc(ty) if ty.params == [ValType::I32, ValType::I32])
    );
}

#[tokio::test]
async fn values_keep_their_exact_bits() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("id", IDENTITY).await.unwrap();
    let cases = [
        ("i32", Value::I32(i32::MIN)),
        ("i32", Value::I32(i32::MAX)),
        ("i64", Value::I64(i64::MIN)),
        ("i64", Value::I64(i64::MAX)),
        ("f32", Value::F32(0x7fa0_0001)), // NaN with a payload
        ("f32", Value::F32(0xffc0_1234)), // negative NaN with a payload
        ("f32", Value::f32(-0.0)),
        ("f64", Value::F64(0x7ff0_0000_0000_0001)), // signalling NaN
        ("f64", Value::f64(-0.0)),
        ("f64", Value::f64(f64::MIN_POSITIVE / 2.0)), // subnormal
        (
            "v128",
            Value::V128(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210),
        ),
        ("funcref", Value::NullRef(RefKind::Func)),
        ("externref", Value::NullRef(RefKind::Extern)),
        ("externref", Value::ExternRef(7)),
    ];
    for (export, value) in cases {
        let back = conn
            .eval("id", export, std::slice::from_ref(&value))
            .await
            .unwrap();
        assert_eq!(back, vec![value.clone()], "{export} {value:?}");
    }
    assert_eq!(
        conn.eval("id", "some-func", &[]).await.unwrap(),
        vec![Value::FuncRef]
    );
    let pair = conn
        .eval("id", "pair", &[Value::I32(-3), Value::f64(2.5)])
        .await
        .unwrap();
    assert_eq!(pair, vec![Value::f64(2.5), Value::I32(-3)]);
}

#[tokio::test]
async fn wrong_arguments_are_refused_clearly() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    let few = conn.eval("t", "add", &[Value::I32(1)]).await.unwrap_err();
    assert_eq!(few.kind(), Some(ErrorKind::BadRequest));
    assert!(few.to_string().contains("takes 2 argument"), "{few}");
    let typed = conn
        .eval("t", "add", &[Value::I32(1), Value::I64(2)])
        .await
        .unwrap_err();
    assert_eq!(typed.kind(), Some(ErrorKind::BadRequest));
    assert!(typed.to_string().contains("argument 2"), "{typed}");
    assert!(
        typed.to_string().contains("expected i32, got i64"),
        "{typed}"
    );
    let func = conn
        .eval("t", "add", &[Value::FuncRef, Value::I32(1)])
        .await
        .unwrap_err();
    assert_eq!(func.kind(), Some(ErrorKind::Unsupported));
    assert_eq!(
        kind(conn.eval("t", "counter", &[]).await),
        ErrorKind::BadRequest
    );
    // The instance is unharmed by refused calls.
    assert_eq!(
        conn.eval("t", "add", &[Value::I32(1), Value::I32(1)])
            .await
            .unwrap(),
        vec![Value::I32(2)]
    );
}

#[tokio::test]
async fn unknown_names_and_exports_are_not_found() {
    let server = server().await;
    let mut conn = connect(&server).await;
    assert_eq!(
        kind(conn.eval("nobody", "f", &[]).await),
        ErrorKind::NotFound
    );
    conn.execute("t", TOOLS).await.unwrap();
    assert_eq!(
        kind(conn.eval("t", "nothing", &[]).await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(conn.get_global("t", "nothing").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(conn.get_global("nobody", "counter").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(conn.drop_instance("nobody").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(conn.register("nobody", "env").await),
        ErrorKind::NotFound
    );
    assert_eq!(
        kind(conn.read_memory("t", Some("nothing"), 0, 1).await),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn duplicate_names_need_replace() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    conn.eval("t", "bump", &[]).await.unwrap();
    assert_eq!(
        kind(conn.execute("t", TOOLS).await),
        ErrorKind::AlreadyExists
    );
    // Still the old instance, with its state.
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(11)
    );
    conn.execute_with("t", TOOLS, true).await.unwrap();
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(10)
    );
    // A failed replacement leaves the old instance in place.
    assert_eq!(
        kind(conn.execute_with("t", "(module", true).await),
        ErrorKind::InvalidModule
    );
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(10)
    );
}

#[tokio::test]
async fn malformed_and_invalid_modules_are_refused() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let cases: [(&str, Vec<u8>); 4] = [
        ("garbage", b"\0asm\x01\0\0\0\xff\xff\xff".to_vec()),
        (
            "bad text",
            b"(module (func (result i32) i32.const))".to_vec(),
        ),
        ("not wasm at all", vec![0xde, 0xad, 0xbe, 0xef]),
        (
            "type error",
            b"(module (func (result i32) i64.const 1))".to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let e = conn.execute("m", bytes.clone()).await.unwrap_err();
        assert_eq!(e.kind(), Some(ErrorKind::InvalidModule), "{what}: {e}");
        assert_eq!(
            kind(conn.validate(bytes).await),
            ErrorKind::InvalidModule,
            "{what}"
        );
    }
    assert!(conn.namespace().await.unwrap().is_empty());
    // Parse errors quote the offending line; a 200 KB line (within
    // --wat-bytes) is not sent back whole.
    let e = conn.execute("m", "(".repeat(200 << 10)).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::InvalidModule));
    assert!(
        e.remote().unwrap().message.len() <= 4200,
        "{}",
        e.to_string().len()
    );
    let hash = conn.validate(TOOLS).await.unwrap();
    assert_eq!(hash.len(), 64);
    // Validating instantiates nothing.
    assert!(conn.namespace().await.unwrap().is_empty());
}

#[tokio::test]
async fn imports_are_refused_unless_registered_in_this_session() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let host = r#"(module (import "host" "fd_write"
        (func (param i32 i32 i32 i32) (result i32))))"#;
    let e = conn.execute("w", host).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::LinkError));
    assert!(e.to_string().contains("host::fd_write"), "{e}");
    // WASI is granted, with nothing behind it (tests/integration/corpus.rs).
    let wasi = r#"(module (import "wasi_snapshot_preview1" "fd_write"
        (func (param i32 i32 i32 i32) (result i32))))"#;
    conn.execute("w", wasi).await.unwrap();
    // A WASI function with the wrong signature does not link.
    let wrong = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func)))"#;
    let e = conn.execute("x", wrong).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::LinkError), "{e}");

    // A registered instance's exports are live: the importer shares its memory.
    conn.execute("t", TOOLS).await.unwrap();
    conn.register("t", "tools").await.unwrap();
    let user = r#"(module
        (import "tools" "add" (func $add (param i32 i32) (result i32)))
        (import "tools" "memory" (memory 1))
        (func (export "poke") (param i32) (i32.store8 (i32.const 5) (local.get 0)))
        (func (export "add3") (param i32) (result i32) (call $add (local.get 0) (i32.const 3))))"#;
    conn.execute("user", user).await.unwrap();
    assert_eq!(
        conn.eval("user", "add3", &[Value::I32(4)]).await.unwrap(),
        vec![Value::I32(7)]
    );
    conn.eval("user", "poke", &[Value::I32(0x5a)])
        .await
        .unwrap();
    assert_eq!(conn.read_memory("t", None, 5, 1).await.unwrap(), vec![0x5a]);
    let ns = conn.namespace().await.unwrap();
    let t = ns.iter().find(|i| i.name == "t").unwrap();
    assert_eq!(t.registered_as, vec!["tools".to_string()]);

    // A missing export of a registered instance is a link error too.
    let missing = r#"(module (import "tools" "nope" (func)))"#;
    assert_eq!(kind(conn.execute("m", missing).await), ErrorKind::LinkError);

    // Registrations belong to the session that made them.
    let mut other = connect(&server).await;
    let e = other.execute("user", user).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::LinkError));
    assert!(e.to_string().contains("tools::add"), "{e}");

    // Dropping the instance removes its registration.
    conn.drop_instance("t").await.unwrap();
    assert_eq!(
        kind(conn.execute("user2", user).await),
        ErrorKind::LinkError
    );
}

#[tokio::test]
async fn globals_can_be_read_and_written() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    assert_eq!(conn.get_global("t", "fixed").await.unwrap(), Value::I64(-1));
    conn.set_global("t", "counter", Value::I32(41))
        .await
        .unwrap();
    assert_eq!(
        conn.eval("t", "bump", &[]).await.unwrap(),
        vec![Value::I32(42)]
    );
    assert_eq!(
        kind(conn.set_global("t", "fixed", Value::I64(1)).await),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(conn.set_global("t", "counter", Value::I64(1)).await),
        ErrorKind::BadRequest
    );
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(42)
    );
}

#[tokio::test]
async fn memory_can_be_read_and_written() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    conn.write_memory("t", None, 100, vec![1, 2, 3, 250])
        .await
        .unwrap();
    assert_eq!(
        conn.read_memory("t", Some("memory"), 99, 6).await.unwrap(),
        vec![0, 1, 2, 3, 250, 0]
    );
    let sum = conn
        .eval("t", "sum", &[Value::I32(100), Value::I32(4)])
        .await
        .unwrap();
    assert_eq!(sum, vec![Value::I32(256)]);
    // One page is 65536 bytes: the last byte is readable, one more is not.
    assert_eq!(
        conn.read_memory("t", None, 65535, 1).await.unwrap(),
        vec![0]
    );
    assert_eq!(
        kind(conn.read_memory("t", None, 65535, 2).await),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(conn.write_memory("t", None, u64::MAX, vec![1]).await),
        ErrorKind::BadRequest
    );
    assert_eq!(
        kind(conn.read_memory("t", None, 0, u64::MAX).await),
        ErrorKind::ResourceLimit
    );
}

#[tokio::test]
async fn namespace_lists_instances_and_drop_removes_them() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("a", TOOLS).await.unwrap();
    conn.execute("b", IDENTITY).await.unwrap();
    let result = conn
        .eval_with(Eval {
            name: "a".into(),
            export: "bump".into(),
            args: vec![],
            fuel: None,
            deadline_ms: None,
            cpu_ms: None,
        })
        .await
        .unwrap();
    assert!(result.cpu_ns > 0 && result.fuel_used == 0, "{result:?}");
    let ns = conn.namespace().await.unwrap();
    let names: Vec<_> = ns.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(ns[0].memory_bytes, 65536);
    assert!(ns[0].fuel_used >= result.fuel_used);
    assert!(ns[0].exports.iter().any(|e| e.name == "counter"
        && e.kind
            == ExportKind::Global {
                ty: ValType::I32,
                mutable: true
            }));
    conn.drop_instance("a").await.unwrap();
    let ns = conn.namespace().await.unwrap();
    assert_eq!(ns.len(), 1);
    assert_eq!(kind(conn.eval("a", "bump", &[]).await), ErrorKind::NotFound);
    // Namespaces are per connection.
    let mut other = connect(&server).await;
    assert!(other.namespace().await.unwrap().is_empty());
}

#[tokio::test]
async fn traps_are_reported_and_the_instance_stays_usable() {
    let server = server().await;
    let mut conn = connect(&server).await;
    conn.execute("t", TOOLS).await.unwrap();
    conn.eval("t", "bump", &[]).await.unwrap();
    let e = conn
        .eval("t", "div", &[Value::I32(1), Value::I32(0)])
        .await
        .unwrap_err();
    let remote = e.remote().unwrap();
    assert_eq!(remote.kind, ErrorKind::Trap);
    assert_eq!(remote.trap.as_deref(), Some("integer_division_by_zero"));
    assert!(remote.message.contains("integer divide by zero"));
    // Core-wasm semantics: the state is what the trap left.
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(11)
    );
    assert_eq!(
        conn.eval("t", "div", &[Value::I32(9), Value::I32(3)])
            .await
            .unwrap(),
        vec![Value::I32(3)]
    );
}

#[tokio::test]
async fn a_trapping_start_function_fails_the_upload() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let start = r#"(module (func $s unreachable) (start $s))"#;
    let e = conn.execute("s", start).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Trap));
    assert_eq!(
        e.remote().unwrap().trap.as_deref(),
        Some("unreachable_code_reached")
    );
    assert!(conn.namespace().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_same_bytes_from_another_connection_are_a_cache_hit() {
    let server = server().await;
    let mut a = connect(&server).await;
    let mut b = connect(&server).await;
    let before = server.cache_stats();
    let first = a.execute("x", TOOLS).await.unwrap();
    let compiled = server.cache_stats();
    assert_eq!(
        compiled.misses,
        before.misses + 1,
        "the first upload compiles"
    );
    assert_eq!(compiled.hits, before.hits, "{compiled:?}");
    let second = b.execute("y", TOOLS).await.unwrap();
    let shared = server.cache_stats();
    assert_eq!(shared.hits, compiled.hits + 1, "the second upload is a hit");
    assert_eq!(shared.misses, compiled.misses, "and compiles nothing");
    assert_eq!(shared.cached, compiled.cached, "{shared:?}");
    assert_eq!(first.module_hash, second.module_hash);
    // Separate instances: state is not shared.
    a.eval("x", "bump", &[]).await.unwrap();
    assert_eq!(b.get_global("y", "counter").await.unwrap(), Value::I32(10));
    // Other bytes (the same module as a binary) are a miss.
    a.validate(wat::parse_str(TOOLS).unwrap()).await.unwrap();
    assert_eq!(server.cache_stats().misses, shared.misses + 1);
}

#[tokio::test]
async fn reset_reinstantiates_a_core_module_from_its_compiled_code() {
    let server = server().await;
    let mut conn = connect(&server).await;
    let first = conn.execute("t", TOOLS).await.unwrap();
    conn.eval("t", "bump", &[]).await.unwrap();
    conn.eval("t", "bump", &[]).await.unwrap();
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(12)
    );
    let fresh = conn.reset("t").await.unwrap();
    assert_eq!(
        fresh.module_hash, first.module_hash,
        "the same compiled module"
    );
    assert_eq!(fresh.fuel_used, 0);
    assert_eq!(
        conn.get_global("t", "counter").await.unwrap(),
        Value::I32(10)
    );
    // An instance that imports from a registered one shares its store:
    // it cannot be reset on its own.
    conn.register("t", "tools").await.unwrap();
    let importer = r#"(module (import "tools" "add" (func (param i32 i32) (result i32))))"#;
    conn.execute("i", importer).await.unwrap();
    let e = conn.reset("i").await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::Unsupported));
    assert!(e.to_string().contains("execute it again"), "{e}");
}
