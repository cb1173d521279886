//! The binary's `tenant add`, its token check, and its refusal to listen
//! beyond loopback without TLS and tenants.

use futures_util::{SinkExt, StreamExt};
use sandcall_protocol::{
    ErrorKind, Hello, MessageCodec, Mode, PROTOCOL_VERSION, RemoteError, Welcome,
};
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

const SERVER: &str = env!("CARGO_BIN_EXE_sandcall-server");

/// `tenant add NAME`: the token, from the last line of stdout.
fn add(file: &Path, name: &str) -> String {
    let out = Command::new(SERVER)
        .args(["tenant", "add", name, "--tenants"])
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let token = stdout.lines().last().unwrap().to_string();
    assert_eq!(token.len(), 64, "256 bits in hex: {token:?}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    token
}

async fn hello(addr: &str, token: Option<&str>) -> Result<Welcome, RemoteError> {
    let socket = TcpStream::connect(addr).await.unwrap();
    let mut framed = Framed::new(socket, MessageCodec::default());
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        client: "tenants test".into(),
        mode: Mode::Sandboxed,
        token: token.map(str::to_string),
        host_stdio: false,
        metering: Default::default(),
    };
    framed.send((1, &hello)).await.unwrap();
    framed.next().await.unwrap().unwrap().decode().unwrap()
}

#[tokio::test]
async fn tenant_add_prints_a_token_once_and_the_server_accepts_only_it() {
    let dir = std::env::temp_dir().join(format!("sandcall-tenants-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("tenants.toml");
    let _ = std::fs::remove_file(&file);
    let first = add(&file, "alice");
    let second = add(&file, "alice");
    let other = add(&file, "bob");
    assert_ne!(first, second);
    let text = std::fs::read_to_string(&file).unwrap();
    for token in [&first, &second, &other] {
        assert!(
            !text.contains(token.as_str()),
            "the file must not hold a token"
        );
    }
    assert_eq!(text.matches("name = ").count(), 2, "{text}");

    let (mut child, addr) =
        crate::spawn_server(&[OsStr::new("--tenants"), file.as_os_str()], false);
    for token in [&first, &second, &other] {
        hello(&addr, Some(token)).await.unwrap();
    }
    // The right token with its last character changed (never to itself).
    let last = if first.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &first[..first.len() - 1]);
    for token in [Some(wrong.as_str()), None] {
        let e = hello(&addr, token).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unauthenticated, "{e}");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn listening_beyond_loopback_needs_tls_and_tenants_or_insecure() {
    let out = Command::new(SERVER)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for flag in ["--tls-cert", "--tls-key", "--tenants", "--insecure"] {
        assert!(stderr.contains(flag), "{flag} not named: {stderr}");
    }

    let mut child = Command::new(SERVER)
        .args(["--listen", "0.0.0.0:0", "--insecure"])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("listening on 0.0.0.0:"), "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("WARN") && stderr.contains("--insecure"),
        "{stderr}"
    );
}
