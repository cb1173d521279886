//! The client library's integration tests, in one binary: each starts a
//! real server on 127.0.0.1:0 and talks to it over TCP with the real
//! client. One binary links once and compiles the generic code the tests
//! share once, instead of once per file.

mod cancel;
mod cluster;
mod common;
mod component_limits;
mod components;
mod cpu_budget;
mod cross_store;
mod decoding;
mod faults;
mod fuzz;
mod guest_output;
mod held_refs;
mod host_calls;
mod limits;
mod messages;
mod requests;
mod security;
mod sorts;
