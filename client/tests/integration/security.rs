//! Issue 12: TLS, tokens, tenants, ceilings, quotas and safe defaults, each
//! against a real server over TCP with certificates made here with rcgen.

use crate::common::TOOLS;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use sandcall::{ClientError, ConnectOptions, Connection, ErrorKind, Mode, Request, Value};
use sandcall_server::{EmbeddedServer, ServerConfig, TlsConfig};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A fresh directory for one test's files.
fn scratch() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "sandcall-security-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A certificate authority, its certificate written to `dir/NAME.pem`.
struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pem: PathBuf,
}

impl Ca {
    fn new(dir: &Path, name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let pem = dir.join(format!("{name}.pem"));
        std::fs::write(&pem, cert.pem()).unwrap();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A leaf for `localhost`/127.0.0.1 with common name `cn`: (cert, key).
    fn leaf(&self, dir: &Path, cn: &str, expired: bool) -> (PathBuf, PathBuf) {
        let mut params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, cn);
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let (cert_path, key_path) = (dir.join(format!("{cn}.crt")), dir.join(format!("{cn}.key")));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}

fn sha256_hex(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A tenants file: `alice` (token "alice-token", with `extra` TOML lines)
/// and `root` (token "root-token", may use unrestricted mode).
fn tenants(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("tenants.toml");
    let text = format!(
        "[[tenant]]\nname = \"alice\"\ntokens = [\"{}\"]\n{extra}\n\n\
         [[tenant]]\nname = \"root\"\ntokens = [\"{}\"]\nunrestricted = true\n",
        sha256_hex("alice-token"),
        sha256_hex("root-token"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

/// A TLS server with tenants: the server, the CA that signed its
/// certificate, and the scratch directory.
async fn tls_server(
    extra: &str,
    change: impl FnOnce(&mut ServerConfig),
) -> (EmbeddedServer, Ca, PathBuf) {
    let dir = scratch();
    let ca = Ca::new(&dir, "ca");
    let (cert, key) = ca.leaf(&dir, "server", false);
    let mut config = ServerConfig {
        tls: Some(TlsConfig {
            cert,
            key,
            client_ca: None,
        }),
        tenants: Some(tenants(&dir, extra)),
        ..ServerConfig::default()
    };
    change(&mut config);
    let server = EmbeddedServer::start(config).await.expect("server starts");
    (server, ca, dir)
}

fn tls_address(server: &EmbeddedServer) -> String {
    format!("sandcalls://localhost:{}", server.addr().port())
}

fn with_token(ca: &Ca, token: Option<&str>) -> ConnectOptions {
    ConnectOptions {
        token: token.map(str::to_string),
        ca: Some(ca.pem.clone()),
        ..ConnectOptions::default()
    }
}

#[tokio::test]
async fn the_right_token_over_tls_opens_a_session() {
    let (server, ca, _dir) = tls_server("", |_| {}).await;
    let mut conn = Connection::open(&tls_address(&server), with_token(&ca, Some("alice-token")))
        .await
        .unwrap();
    conn.execute("t", TOOLS).await.unwrap();
    let sum = conn
        .eval("t", "add", &[Value::I32(2), Value::I32(40)])
        .await
        .unwrap();
    assert_eq!(sum, vec![Value::I32(42)]);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_unauthenticated() {
    let (server, ca, _dir) = tls_server("", |_| {}).await;
    for token in [Some("alice-tokem"), Some(""), None] {
        let e = Connection::open(&tls_address(&server), with_token(&ca, token))
            .await
            .err()
            .expect("refused");
        assert_eq!(e.kind(), Some(ErrorKind::Unauthenticated), "{e}");
        if token.is_none() {
            assert!(e.to_string().contains("SANDCALL_TOKEN"), "{e}");
        }
    }
}

#[tokio::test]
async fn a_tenants_ceilings_clamp_its_requests_and_info_shows_them() {
    let extra = "max_fuel = 1000000\nmax_deadline_ms = 800\nmodule_bytes = 4096";
    let (server, ca, _dir) = tls_server(extra, |_| {}).await;
    let fuel = ConnectOptions {
        metering: sandcall::Metering::Fuel,
        ..with_token(&ca, Some("alice-token"))
    };
    let mut conn = Connection::open(&tls_address(&server), fuel).await.unwrap();
    let limits = conn.info().await.unwrap().limits;
    assert_eq!(limits.max_fuel, Some(1_000_000));
    assert_eq!(limits.default_fuel, Some(1_000_000));
    assert_eq!(limits.max_deadline_ms, Some(800));
    assert_eq!(limits.module_bytes, 4096);
    assert_eq!(conn.server_info().limits.max_fuel, Some(1_000_000));
    conn.execute("t", TOOLS).await.unwrap();
    // Asking for more than the ceiling is refused, naming it.
    let e = conn
        .eval_with(sandcall::Eval {
            name: "t".into(),
            export: "spin".into(),
            args: vec![],
            fuel: Some(2_000_000),
            deadline_ms: None,
            cpu_ms: None,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("ceiling of 1000000"), "{e}");
    // Asking for nothing gets the ceiling, not the server's 2e9 default:
    // the spin runs out of fuel long before its deadline.
    let started = Instant::now();
    let e = conn.eval("t", "spin", &[]).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::OutOfFuel), "{e}");
    assert!(started.elapsed() < Duration::from_millis(800));
    let big = format!("(module {})", "(func)".repeat(1000));
    let e = conn.execute("big", big).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("module size"), "{e}");
}

#[tokio::test]
async fn a_tenants_cpu_time_ceiling_clamps_its_calls() {
    let (server, ca, _dir) = tls_server("max_cpu_ms = 50", |_| {}).await;
    // CPU-time budgets: the default metering.
    let mut conn = Connection::open(&tls_address(&server), with_token(&ca, Some("alice-token")))
        .await
        .unwrap();
    let limits = conn.info().await.unwrap().limits;
    assert_eq!(limits.max_cpu_ms, Some(50));
    assert_eq!(
        limits.default_cpu_ms,
        Some(50),
        "the server's 1000 ms default, lowered"
    );
    conn.execute("t", TOOLS).await.unwrap();
    let spin = |cpu_ms| sandcall::Eval {
        name: "t".into(),
        export: "spin".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
        cpu_ms,
    };
    let e = conn.eval_with(spin(Some(200))).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("ceiling of 50"), "{e}");
    // Asking for nothing gets the ceiling: the spin stops after 50 ms of
    // CPU time, not after the server's default of 1000 ms.
    let started = Instant::now();
    let e = conn.eval_with(spin(None)).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::CpuTimeExceeded), "{e}");
    assert!(e.to_string().contains("past the 50 ms"), "{e}");
    assert!(
        e.to_string().contains("`max_cpu_ms = 50`"),
        "the tenant's ceiling: {e}"
    );
    assert!(!e.to_string().contains("60000"), "not the server's: {e}");
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    // Less than the ceiling is granted as asked.
    let e = conn.eval_with(spin(Some(20))).await.unwrap_err();
    assert!(e.to_string().contains("past the 20 ms"), "{e}");
    assert!(e.to_string().contains("may ask for up to 50 ms"), "{e}");
}

#[tokio::test]
async fn a_tenants_memory_and_instance_ceilings_hold() {
    let extra = "memory_bytes = 2097152\ninstances = 2";
    let (server, ca, _dir) = tls_server(extra, |_| {}).await;
    let open = async |token| {
        Connection::open(&tls_address(&server), with_token(&ca, Some(token)))
            .await
            .unwrap()
    };
    let mut alice = open("alice-token").await;
    let limits = alice.info().await.unwrap().limits;
    assert_eq!(limits.memory_bytes, Some(2 << 20));
    assert_eq!(limits.instances_per_connection, 2);
    // 64 pages (4 MiB) is over alice's 2 MiB; the server's own cap allows it.
    let big = "(module (memory 64))";
    let e = alice.execute("big", big).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("memory_bytes ceiling"), "{e}");
    // Growing past the ceiling fails inside the guest (-1), not the server.
    let grow = r#"(module (memory 1)
        (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))"#;
    alice.execute("g", grow).await.unwrap();
    let grown = alice.eval("g", "grow", &[Value::I32(8)]).await.unwrap();
    assert_eq!(grown, vec![Value::I32(1)], "9 pages fit in 2 MiB");
    let refused = alice.eval("g", "grow", &[Value::I32(32)]).await.unwrap();
    assert_eq!(refused, vec![Value::I32(-1)], "41 pages do not");
    alice.execute("h", TOOLS).await.unwrap();
    let e = alice.execute("third", TOOLS).await.unwrap_err();
    assert_eq!(e.kind(), Some(ErrorKind::ResourceLimit), "{e}");
    assert!(e.to_string().contains("2 instances"), "{e}");
    // Another tenant, without those ceilings, is not held to them.
    let mut root = open("root-token").await;
    root.execute("big", big).await.unwrap();
    for name in ["a", "b", "c"] {
        root.execute(name, TOOLS).await.unwrap();
    }
}

#[tokio::test]
async fn plaintext_and_tls_mismatches_fail_fast_and_say_so() {
    let (tls, _ca, _dir) = tls_server("", |_| {}).await;
    let started = Instant::now();
    let e = Connection::connect(tls.addr())
        .await
        .err()
        .expect("refused");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(e.to_string().contains("speaks TLS only"), "{e}");
    assert!(e.to_string().contains("sandcalls://"), "{e}");

    let plain = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let started = Instant::now();
    let address = format!("sandcalls://localhost:{}", plain.addr().port());
    let e = Connection::open(&address, ConnectOptions::default())
        .await
        .err()
        .expect("refused");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(e, ClientError::Tls { .. }), "{e}");
    assert!(e.to_string().contains("does not seem to speak TLS"), "{e}");
}

#[tokio::test]
async fn a_server_certificate_from_another_ca_or_expired_is_refused() {
    let (server, _ca, dir) = tls_server("", |_| {}).await;
    let other = Ca::new(&dir, "other");
    let e = Connection::open(
        &tls_address(&server),
        with_token(&other, Some("alice-token")),
    )
    .await
    .err()
    .expect("refused");
    assert!(e.to_string().contains("not trusted"), "{e}");

    let ca = Ca::new(&dir, "ca2");
    let (cert, key) = ca.leaf(&dir, "expired", true);
    let config = ServerConfig {
        tls: Some(TlsConfig {
            cert,
            key,
            client_ca: None,
        }),
        ..ServerConfig::default()
    };
    let expired = EmbeddedServer::start(config).await.unwrap();
    let e = Connection::open(&tls_address(&expired), with_token(&ca, None))
        .await
        .err()
        .expect("refused");
    assert!(e.to_string().to_lowercase().contains("expired"), "{e}");
}

#[tokio::test]
async fn mutual_tls_needs_a_client_certificate_from_the_ca() {
    let dir = scratch();
    let ca = Ca::new(&dir, "ca");
    let clients = Ca::new(&dir, "clients");
    let (cert, key) = ca.leaf(&dir, "server", false);
    let server = EmbeddedServer::start(ServerConfig {
        tls: Some(TlsConfig {
            cert,
            key,
            client_ca: Some(clients.pem.clone()),
        }),
        tenants: Some(tenants(&dir, "")),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let address = tls_address(&server);
    // No client certificate.
    let started = Instant::now();
    let e = Connection::open(&address, with_token(&ca, Some("alice-token")))
        .await
        .err()
        .expect("refused");
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(matches!(e, ClientError::Tls { .. }), "{e}");
    // One from another CA.
    let (cert, key) = ca.leaf(&dir, "alice", false);
    let options = ConnectOptions {
        cert: Some(cert),
        key: Some(key),
        ..with_token(&ca, Some("alice-token"))
    };
    let e = Connection::open(&address, options)
        .await
        .err()
        .expect("refused");
    assert!(matches!(e, ClientError::Tls { .. }), "{e}");
    // One from the CA: its common name names the tenant, no token needed.
    let client_dir = dir.join("client");
    std::fs::create_dir_all(&client_dir).unwrap();
    let (cert, key) = clients.leaf(&client_dir, "alice", false);
    let options = ConnectOptions {
        cert: Some(cert),
        key: Some(key),
        ..with_token(&ca, None)
    };
    let mut conn = Connection::open(&address, options).await.unwrap();
    conn.info().await.unwrap();
    // A CA-signed certificate whose name is no tenant.
    let (cert, key) = clients.leaf(&client_dir, "mallory", false);
    let options = ConnectOptions {
        cert: Some(cert),
        key: Some(key),
        ..with_token(&ca, None)
    };
    let e = Connection::open(&address, options)
        .await
        .err()
        .expect("refused");
    assert_eq!(e.kind(), Some(ErrorKind::Unauthenticated), "{e}");
}

#[tokio::test]
async fn unrestricted_mode_only_for_tenants_with_the_right() {
    let cwd = std::env::temp_dir();
    let (server, ca, _dir) = tls_server("", |config| {
        config.allow_unrestricted = true;
        config.unrestricted_dir = Some(cwd);
    })
    .await;
    let unrestricted = |token| ConnectOptions {
        mode: Mode::Unrestricted,
        ..with_token(&ca, Some(token))
    };
    let e = Connection::open(&tls_address(&server), unrestricted("alice-token"))
        .await
        .err()
        .expect("refused");
    assert_eq!(e.kind(), Some(ErrorKind::Unsupported), "{e}");
    assert!(
        e.to_string().contains("may not use unrestricted mode"),
        "{e}"
    );
    let conn = Connection::open(&tls_address(&server), unrestricted("root-token"))
        .await
        .unwrap();
    assert_eq!(conn.server_info().mode, Mode::Unrestricted);
}

#[tokio::test]
async fn a_thousand_wrong_tokens_slow_the_guesser_not_a_legitimate_client() {
    let (server, ca, _dir) = tls_server("", |_| {}).await;
    let address = tls_address(&server);
    let mut conn = Connection::open(&address, with_token(&ca, Some("alice-token")))
        .await
        .unwrap();
    let attack = {
        let (address, options) = (address.clone(), with_token(&ca, Some("guess")));
        tokio::spawn(async move {
            let slowest = std::sync::Arc::new(std::sync::Mutex::new(Duration::ZERO));
            let mut workers = Vec::new();
            for _ in 0..200 {
                let (address, options, slowest) =
                    (address.clone(), options.clone(), slowest.clone());
                workers.push(tokio::spawn(async move {
                    for _ in 0..5 {
                        let started = Instant::now();
                        let e = Connection::open(&address, options.clone())
                            .await
                            .err()
                            .unwrap();
                        assert_eq!(e.kind(), Some(ErrorKind::Unauthenticated), "{e}");
                        let took = started.elapsed();
                        let mut slowest = slowest.lock().unwrap();
                        *slowest = (*slowest).max(took);
                    }
                }));
            }
            for worker in workers {
                worker.await.unwrap();
            }
            *slowest.lock().unwrap()
        })
    };
    // Meanwhile the legitimate client keeps working, and new sessions open
    // at once (same address: only failures are delayed).
    let mut worst = Duration::ZERO;
    let mut calls = 0;
    while !attack.is_finished() {
        let started = Instant::now();
        conn.info().await.unwrap();
        let mut fresh = Connection::open(&address, with_token(&ca, Some("alice-token")))
            .await
            .unwrap();
        fresh.info().await.unwrap();
        worst = worst.max(started.elapsed());
        calls += 1;
    }
    let slowest_refusal = attack.await.unwrap();
    assert!(calls > 3, "{calls} rounds during the attack");
    assert!(
        worst < Duration::from_secs(1),
        "a legitimate round took {worst:?}"
    );
    // Refusals were delayed up to the cap.
    assert!(
        slowest_refusal >= Duration::from_millis(1500),
        "{slowest_refusal:?}"
    );
}

#[tokio::test]
async fn an_idle_session_is_closed_at_the_timeout_with_a_reason() {
    let server = EmbeddedServer::start(ServerConfig {
        idle_timeout: Some(Duration::from_millis(300)),
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let mut conn = Connection::connect(server.addr()).await.unwrap();
    conn.info().await.unwrap();
    let started = Instant::now();
    let Err(e) = conn.recv().await else {
        panic!("an answer, but nothing was asked")
    };
    let waited = started.elapsed();
    assert_eq!(e.kind(), Some(ErrorKind::IdleTimeout), "{e}");
    assert!(e.to_string().contains("--idle-timeout"), "{e}");
    assert!(
        waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
}

#[tokio::test]
async fn silent_sockets_do_not_hold_back_a_real_client() {
    let server = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let mut silent = Vec::new();
    for _ in 0..200 {
        silent.push(tokio::net::TcpStream::connect(server.addr()).await.unwrap());
    }
    let started = Instant::now();
    let mut conn = Connection::connect(server.addr()).await.unwrap();
    conn.info().await.unwrap();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "served after {took:?}");
    drop(silent);
}

#[tokio::test]
async fn a_quota_exhausted_is_refused_until_it_refills() {
    let (server, ca, _dir) = tls_server("fuel_per_minute = 50000000", |config| {
        config.quota_period = Some(Duration::from_secs(2));
    })
    .await;
    let fuel = ConnectOptions {
        metering: sandcall::Metering::Fuel,
        ..with_token(&ca, Some("alice-token"))
    };
    let mut conn = Connection::open(&tls_address(&server), fuel).await.unwrap();
    conn.execute("t", TOOLS).await.unwrap();
    let spin = || sandcall::Eval {
        name: "t".into(),
        export: "spin".into(),
        args: vec![],
        fuel: Some(20_000_000),
        deadline_ms: None,
        cpu_ms: None,
    };
    let mut ran = 0;
    let e = loop {
        match conn.eval_with(spin()).await {
            Err(e) if e.kind() == Some(ErrorKind::OutOfFuel) => ran += 1,
            Err(e) => break e,
            Ok(_) => unreachable!("spin never returns"),
        }
        assert!(
            ran <= 3,
            "the budget of 50M fuel held for {ran} calls of 20M"
        );
    };
    assert_eq!(ran, 3);
    assert_eq!(e.kind(), Some(ErrorKind::QuotaExceeded), "{e}");
    assert!(e.to_string().contains("refills in"), "{e}");
    // The session stays usable, and the budget comes back.
    conn.request(&Request::Info).await.unwrap();
    let refill = Instant::now();
    loop {
        match conn.eval_with(spin()).await {
            Err(e) if e.kind() == Some(ErrorKind::QuotaExceeded) => {
                assert!(refill.elapsed() < Duration::from_secs(4), "never refilled");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                assert_eq!(e.kind(), Some(ErrorKind::OutOfFuel), "{e}");
                break;
            }
            Ok(_) => unreachable!(),
        }
    }
}

#[tokio::test]
async fn a_bad_tenants_file_stops_the_server_naming_the_line() {
    let dir = scratch();
    let path = dir.join("tenants.toml");
    let cases = [
        ("[[tenant]]\nname = \"a\"\nmax_fuel = \"lots\"\n", "line 3"),
        (
            "[[tenant]]\nname = \"a\"\n\n[[tenant]]\nname = \"a\"\n",
            "line 5",
        ),
        (
            "[[tenant]]\nname = \"a\"\n\ntokens = [\"12ab\"]\n",
            "line 4",
        ),
        ("[[tenant]\nname = \"a\"\n", "line 1"),
    ];
    for (text, line) in cases {
        std::fs::write(&path, text).unwrap();
        let e = EmbeddedServer::start(ServerConfig {
            tenants: Some(path.clone()),
            ..ServerConfig::default()
        })
        .await
        .err()
        .expect("refused");
        assert!(e.to_string().contains(line), "{text:?}: {e}");
        assert!(e.to_string().contains("tenants.toml"), "{e}");
    }
}

#[tokio::test]
async fn an_old_client_gets_version_mismatch_not_a_decode_error() {
    use futures_util::{SinkExt, StreamExt};
    use sandcall_protocol::{MessageCodec, RemoteError, Welcome};
    let server = EmbeddedServer::start(ServerConfig::default())
        .await
        .unwrap();
    let socket = tokio::net::TcpStream::connect(server.addr()).await.unwrap();
    let mut framed = tokio_util::codec::Framed::new(socket, MessageCodec::default());
    // The hello of protocol 3 (version, client, mode; no token), encoded
    // as bincode encodes that struct: its fields in order.
    let hello = (3u32, "old".to_string(), Mode::Sandboxed);
    framed.send((1, &hello)).await.unwrap();
    let frame = framed.next().await.unwrap().unwrap();
    let welcome: Result<Welcome, RemoteError> = frame.decode().unwrap();
    let e = welcome.unwrap_err();
    assert_eq!(e.kind, ErrorKind::VersionMismatch, "{e}");
    assert!(e.message.contains("protocol 3"), "{e}");
}
