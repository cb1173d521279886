//! The server's integration tests, in one binary (each test binary links
//! wasmtime once, so one binary saves a link per file): the
//! `sandcall-server` executable and embedded servers on 127.0.0.1:0, driven
//! over TCP.

mod binary;
mod decoding;
mod embedded;
mod resources;
mod tenants;
