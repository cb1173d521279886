//! The `sandcall-server` binary: reports its real port, serves, stops on SIGTERM.

use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    Hello, MessageCodec, Mode, PROTOCOL_VERSION, RemoteError, Request, Response, Welcome,
};
use std::ffi::OsStr;
use std::process::{Child, Command};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// Start the server binary with `args` on port 0; its address from the
/// first line it prints.
fn start(args: &[&OsStr]) -> (Child, String) {
    crate::spawn_server(args, true)
}

/// Connect and say hello in `mode`; the server's welcome.
async fn hello(addr: &str, mode: Mode) -> (Framed<TcpStream, MessageCodec>, Welcome) {
    let socket = TcpStream::connect(addr).await.unwrap();
    let mut framed = Framed::new(socket, MessageCodec::default());
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client: "binary test".into(),
        mode,
        token: None,
        host_stdio: false,
        metering: Default::default(),
    };
    framed.send((1, &hello)).await.unwrap();
    let welcome: Result<Welcome, RemoteError> =
        framed.next().await.unwrap().unwrap().decode().unwrap();
    (framed, welcome.unwrap())
}

#[tokio::test]
async fn binary_listens_on_port_zero_serves_and_stops_on_sigterm() {
    // SIGTERM drains (issue 14); with no drain time the session ends at once.
    let args = [
        "--cpu-ms",
        "345",
        "--instances",
        "7",
        "--drain-timeout",
        "0",
    ]
    .map(OsStr::new);
    let (mut child, addr) = start(&args);
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    let (mut framed, welcome) = hello(&addr, Mode::Sandboxed).await;
    let limits = welcome.info.limits;
    assert_eq!(limits.default_cpu_ms, Some(345));
    assert_eq!(
        limits.default_fuel, None,
        "the default session meters CPU time"
    );
    assert_eq!(limits.instances_per_connection, 7);
    framed.send((2, &Request::Namespace)).await.unwrap();
    let frame = framed.next().await.unwrap().unwrap();
    assert_eq!(frame.id, 2);
    let reply: Result<Response, RemoteError> = frame.decode().unwrap();
    assert_eq!(reply.unwrap(), Response::Namespace(vec![]));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The open session is closed by the shutdown, and the process exits cleanly.
    assert!(framed.next().await.is_none());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn help_lists_every_limit() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandcall-server"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--listen",
        "--fuel",
        "--max-fuel",
        "--cpu-ms",
        "--max-cpu-ms",
        "--deadline-ms",
        "--max-deadline-ms",
        "--memory-bytes",
        "--table-elements",
        "--instances",
        "--module-bytes",
        "--connections",
        "--frame-bytes",
        "--wasm-stack-bytes",
        "--cached-modules",
        "--module-functions",
        "--allow-unrestricted",
        "--unrestricted-dir",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[tokio::test]
async fn allow_unrestricted_is_warned_about_and_offers_the_mode() {
    let dir = std::env::temp_dir();
    let args = [
        OsStr::new("--allow-unrestricted"),
        OsStr::new("--unrestricted-dir"),
        dir.as_os_str(),
    ];
    let (mut child, addr) = start(&args);
    let (framed, welcome) = hello(&addr, Mode::Unrestricted).await;
    assert_eq!(welcome.info.mode, Mode::Unrestricted);
    assert_eq!(welcome.info.limits.default_fuel, None);
    drop(framed);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("WARN") && log.contains("unrestricted mode is allowed"),
        "{log}"
    );
}

#[test]
fn unrestricted_dir_needs_allow_unrestricted_and_must_be_a_directory() {
    let out = Command::new(env!("CARGO_BIN_EXE_sandcall-server"))
        .args(["--listen", "127.0.0.1:0", "--unrestricted-dir", "/"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--allow-unrestricted"));
    let out = Command::new(env!("CARGO_BIN_EXE_sandcall-server"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--allow-unrestricted",
            "--unrestricted-dir",
        ])
        .arg(env!("CARGO_BIN_EXE_sandcall-server"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a directory"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
