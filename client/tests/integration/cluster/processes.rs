//! Real processes for the cluster tests and `make cluster-demo` (which
//! includes this file): `sandcall-server`s on loopback with `--metrics`, and
//! HAProxy in front of them with a configuration generated from
//! `deploy/haproxy.cfg`. Every process is killed when its handle drops.
//!
//! The server binary is `target/release/sandcall-server`, found beside the
//! running test or example (`make test` and `make cluster-demo` build it).

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The HAProxy configuration template.
pub const TEMPLATE: &str = include_str!("../../../../deploy/haproxy.cfg");

/// `target/release/sandcall-server`, beside `target/release/deps/<test>` or
/// `target/release/examples/<example>`.
pub fn server_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the path of this program");
    let release = exe
        .ancestors()
        .find(|dir| dir.join("sandcall-server").is_file())
        .map(Path::to_path_buf);
    match release {
        Some(dir) => dir.join("sandcall-server"),
        None => panic!(
            "no sandcall-server binary above {}: run `cargo build --release -p sandcall-server`",
            exe.display()
        ),
    }
}

/// A `sandcall-server` process.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub metrics: SocketAddr,
}

impl ServerProcess {
    /// Start one on `127.0.0.1:0` with `--metrics 127.0.0.1:0` and `extra`
    /// flags; returns once it printed both addresses.
    pub fn start(extra: &[&str]) -> std::io::Result<Self> {
        let mut child = Command::new(server_binary())
            .args(["--listen", "127.0.0.1:0", "--metrics", "127.0.0.1:0"])
            .args(extra)
            .env(
                "SANDCALL_LOG",
                std::env::var("SANDCALL_LOG").unwrap_or("warn".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut address = |prefix: &str| -> std::io::Result<SocketAddr> {
            let line = lines.next().transpose()?.unwrap_or_default();
            line.strip_prefix(prefix)
                .and_then(|a| a.trim().parse().ok())
                .ok_or_else(|| std::io::Error::other(format!("sandcall-server printed {line:?}")))
        };
        let addr = address("listening on ");
        let metrics = address("metrics on ");
        let (addr, metrics) = match (addr, metrics) {
            (Ok(a), Ok(m)) => (a, m),
            (Err(e), _) | (_, Err(e)) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(e);
            }
        };
        Ok(ServerProcess {
            child,
            addr,
            metrics,
        })
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Send `signal` (libc::SIGTERM, SIGKILL, …).
    pub fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid; no memory is involved.
        unsafe {
            libc::kill(self.pid(), signal);
        }
    }

    /// SIGKILL it and reap it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether it has exited, without waiting.
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// `/metrics` as text (empty when it cannot be reached).
    pub fn scrape(&self) -> String {
        http_get(self.metrics, "/metrics").map_or_else(|_| String::new(), |(_, body)| body)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One GET over a fresh connection: status and body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut socket = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    socket.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(socket, "GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")?;
    let mut answer = String::new();
    socket.read_to_string(&mut answer)?;
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {answer:?}")))?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Ok((status, body.to_string()))
}

/// The value of the series `series` (name and labels exactly as printed,
/// e.g. `sandcall_requests_total{kind="eval",outcome="ok"}`), 0 if absent.
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

/// Evals answered without error, from a `/metrics` text.
pub fn evals_ok(text: &str) -> f64 {
    metric(text, r#"sandcall_requests_total{kind="eval",outcome="ok"}"#)
}

/// An HAProxy process in front of some servers.
pub struct HaProxy {
    child: Child,
    pub addr: SocketAddr,
    socket: PathBuf,
}

/// One backend server as HAProxy's stats see it.
#[derive(Debug)]
pub struct ServerState {
    pub name: String,
    /// `UP`, `DOWN`, `UP 1/2`, …
    pub status: String,
    /// Sessions it was given in total.
    pub sessions: u64,
}

impl HaProxy {
    /// Write a configuration for `servers` into `dir` (from [`TEMPLATE`]),
    /// start HAProxy on it, and return once every server is checked `UP`.
    pub fn start(dir: &Path, servers: &[&ServerProcess]) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("an address");
        let socket = dir.join("haproxy.sock");
        let _ = std::fs::remove_file(&socket);
        let config = configure(addr, servers, &socket);
        let path = dir.join("haproxy.cfg");
        std::fs::write(&path, config)?;
        let child = Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                std::io::Error::other(format!(
                    "cannot run haproxy ({e}): `make haproxy` installs it"
                ))
            })?;
        let proxy = HaProxy {
            child,
            addr,
            socket,
        };
        proxy.wait_for(Duration::from_secs(10), |states| {
            states.len() == servers.len() && states.iter().all(|s| s.status == "UP")
        })?;
        Ok(proxy)
    }

    /// The backend servers' states, from the stats socket.
    pub fn states(&self) -> std::io::Result<Vec<ServerState>> {
        let mut stream = std::os::unix::net::UnixStream::connect(&self.socket)?;
        stream.write_all(b"show stat\n")?;
        let mut text = String::new();
        stream.read_to_string(&mut text)?;
        // CSV: pxname,svname,qcur,qmax,scur,smax,slim,stot,...,status is 18th.
        let states = text
            .lines()
            .filter(|l| l.starts_with("sandcall_servers,"))
            .map(|l| l.split(',').collect::<Vec<_>>())
            .filter(|f| f.len() > 17 && f[1] != "BACKEND")
            .map(|f| ServerState {
                name: f[1].to_string(),
                status: f[17].to_string(),
                sessions: f[7].parse().unwrap_or(0),
            })
            .collect();
        Ok(states)
    }

    /// Poll [`HaProxy::states`] until `ok` holds, for at most `within`.
    pub fn wait_for(
        &self,
        within: Duration,
        ok: impl Fn(&[ServerState]) -> bool,
    ) -> std::io::Result<Vec<ServerState>> {
        let start = Instant::now();
        loop {
            let last = match self.states() {
                Ok(states) if ok(&states) => return Ok(states),
                other => format!("{other:?}"),
            };
            if start.elapsed() > within {
                return Err(std::io::Error::other(format!(
                    "HAProxy's servers did not reach the state wanted in {within:?}: {last}"
                )));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for HaProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// [`TEMPLATE`] with the frontend on `addr`, `servers` as the backend
/// (checked on their metrics ports) and a stats socket at `socket`.
pub fn configure(addr: SocketAddr, servers: &[&ServerProcess], socket: &Path) -> String {
    let mut out = String::new();
    let mut servers_written = false;
    for line in TEMPLATE.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("bind ") {
            out.push_str(&format!("    bind {addr}\n"));
        } else if trimmed.starts_with("server ") {
            if !servers_written {
                for (i, s) in servers.iter().enumerate() {
                    out.push_str(&format!(
                        "    server s{} {} check port {}\n",
                        i + 1,
                        s.addr,
                        s.metrics.port()
                    ));
                }
                servers_written = true;
            }
        } else {
            out.push_str(line);
            out.push('\n');
            if trimmed == "global" {
                out.push_str(&format!(
                    "    stats socket {} level admin\n",
                    socket.display()
                ));
            }
        }
    }
    out
}
