//! The server's integration tests, in one binary (each test binary links
//! wasmtime once, so one binary saves a link per file): the
//! `sandcall-server` executable and embedded servers on 127.0.0.1:0, driven
//! over TCP.

mod binary;
mod decoding;
mod embedded;
mod resources;
mod tenants;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// Start the `sandcall-server` binary on 127.0.0.1:0 with `args`, its stderr
/// piped when `keep_stderr` (else discarded): the child, and the address it
/// printed on its first line.
pub fn spawn_server<S: AsRef<OsStr>>(args: &[S], keep_stderr: bool) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandcall-server"))
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(if keep_stderr {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    (child, addr)
}
