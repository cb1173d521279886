//! Shared by the integration tests: a real server on 127.0.0.1:0 and WAT guests.
#![allow(dead_code)]

pub mod components;

use sandcall::{ClientError, ConnectOptions, Connection, Mode};
use sandcall_server::{EmbeddedServer, LimitConfig, ServerConfig};
use std::path::Path;

/// A real server with default limits.
pub async fn server() -> EmbeddedServer {
    server_with(LimitConfig::default()).await
}

/// A real server with the given limits.
pub async fn server_with(limits: LimitConfig) -> EmbeddedServer {
    EmbeddedServer::start(ServerConfig {
        limits,
        ..ServerConfig::default()
    })
    .await
    .expect("server starts")
}

/// A real server that also offers unrestricted mode, with `dir` as the
/// directory its unrestricted guests see.
pub async fn server_allowing_unrestricted(limits: LimitConfig, dir: &Path) -> EmbeddedServer {
    EmbeddedServer::start(ServerConfig {
        limits,
        allow_unrestricted: true,
        unrestricted_dir: Some(dir.to_path_buf()),
        ..ServerConfig::default()
    })
    .await
    .expect("server starts")
}

/// A connection to `server`.
pub async fn connect(server: &EmbeddedServer) -> Connection {
    connect_in(server, Mode::Sandboxed).await.expect("connects")
}

/// A sandboxed connection to `server` metered by fuel (not CPU time).
pub async fn connect_fuel(server: &EmbeddedServer) -> Connection {
    let options = ConnectOptions {
        metering: sandcall::Metering::Fuel,
        ..ConnectOptions::default()
    };
    Connection::connect_with(server.addr(), options)
        .await
        .expect("connects")
}

/// A connection to `server` in `mode`.
pub async fn connect_in(server: &EmbeddedServer, mode: Mode) -> Result<Connection, ClientError> {
    let options = ConnectOptions {
        mode,
        ..ConnectOptions::default()
    };
    Connection::connect_with(server.addr(), options).await
}

/// Arithmetic, globals, memory, a runaway loop, recursion and a memory bomb.
pub const TOOLS: &str = r#"
(module
  (global $counter (export "counter") (mut i32) (i32.const 10))
  (global (export "fixed") i64 (i64.const -1))
  (memory (export "memory") 1)
  (func (export "add") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.add)
  (func (export "bump") (result i32)
    global.get $counter i32.const 1 i32.add global.set $counter global.get $counter)
  (func (export "div") (param i32 i32) (result i32)
    local.get 0 local.get 1 i32.div_s)
  (func (export "spin") (loop br 0))
  (func $recurse (export "recurse") (param i64) (result i64)
    local.get 0 i64.const 1 i64.add call $recurse)
  ;; grows memory one page at a time until refused; returns the pages it got
  (func (export "bomb") (result i32)
    (block $done
      (loop $grow
        i32.const 1 memory.grow i32.const -1 i32.eq br_if $done
        br $grow))
    memory.size)
  (func (export "sum") (param i32 i32) (result i32) (local $acc i32)
    (block $end (loop $next
      local.get 1 i32.eqz br_if $end
      local.get $acc local.get 0 i32.load8_u i32.add local.set $acc
      local.get 0 i32.const 1 i32.add local.set 0
      local.get 1 i32.const 1 i32.sub local.set 1
      br $next))
    local.get $acc)
)
"#;

/// Identity functions for every core value type.
pub const IDENTITY: &str = r#"
(module
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "v128") (param v128) (result v128) local.get 0)
  (func (export "funcref") (param funcref) (result funcref) local.get 0)
  (func (export "externref") (param externref) (result externref) local.get 0)
  (func $f)
  (elem declare func $f)
  (func (export "some-func") (result funcref) ref.func $f)
  (func (export "pair") (param i32 f64) (result f64 i32) local.get 1 local.get 0)
)
"#;
