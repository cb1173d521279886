//! Issue 14: real `sandcall-server` processes (with `--metrics`) and real
//! HAProxy in front of them, on loopback. `map` over a cluster, a server
//! killed mid-map, HAProxy's health checks, draining, the metrics, and a
//! member that refuses a module.
//!
//! Needs `target/release/sandcall-server` (built by `make test`, or
//! `cargo build --release -p sandcall-server`) and `haproxy` (`make haproxy`).

mod processes;

use processes::{HaProxy, ServerProcess, evals_ok, http_get, metric};
use sandcall::{
    Cluster, ClusterError, ConnectOptions, Connection, ErrorKind, Metering, Request, Value,
};
use std::time::{Duration, Instant};

/// `square(x) = x * x`, and `spin(n)`: loops `n` times, then returns `n`
/// (about 10 ms per 10,000,000 on this machine: a call that takes a while).
const GUEST: &str = r#"(module
  (func (export "square") (param i64) (result i64) local.get 0 local.get 0 i64.mul)
  (func (export "spin") (param i64) (result i64) (local i64)
    local.get 0 local.set 1
    (block (loop
      local.get 1 i64.eqz br_if 1
      local.get 1 i64.const 1 i64.sub local.set 1
      br 0))
    local.get 0))"#;

fn servers(n: usize, extra: &[&str]) -> Vec<ServerProcess> {
    (0..n)
        .map(|_| ServerProcess::start(extra).expect("sandcall-server starts"))
        .collect()
}

fn addresses(servers: &[ServerProcess]) -> Vec<String> {
    servers.iter().map(|s| s.addr.to_string()).collect()
}

/// A directory of this test's own under target/, for HAProxy's files.
fn scratch(test: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("exe");
    let target = exe.ancestors().nth(3).expect("target/release/deps/..");
    target.join(format!("cluster-tests/{test}-{}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn map_is_correct_in_order_and_counted_exactly() {
    let servers = servers(3, &[]);
    // Fuel metering, so that the fuel counted is deterministic.
    let options = ConnectOptions {
        metering: Metering::Fuel,
        ..ConnectOptions::default()
    };
    let mut cluster = Cluster::connect_with(&addresses(&servers), 2, options)
        .await
        .unwrap();
    cluster.execute("m", GUEST).await.unwrap();
    let n = 300;
    let inputs = (0..n).map(|i| vec![Value::I64(i)]);
    let results = cluster.map("m", "square", inputs).await.unwrap();
    let expected: Vec<Vec<Value>> = (0..n).map(|i| vec![Value::I64(i * i)]).collect();
    assert_eq!(results, expected);

    let stats = cluster.stats();
    assert_eq!(stats.iter().map(|s| s.calls).sum::<u64>(), n as u64);
    assert!(
        stats.iter().all(|s| s.calls > 0 && s.retries == 0),
        "{stats:?}"
    );
    // Each server counted exactly the calls the cluster says it answered.
    for (server, member) in servers.iter().zip(&stats) {
        let text = server.scrape();
        assert_eq!(evals_ok(&text), member.calls as f64, "{text}");
        let executes = r#"sandcall_requests_total{kind="execute",outcome="ok"}"#;
        assert_eq!(metric(&text, executes), 2.0);
        assert_eq!(metric(&text, "sandcall_connections_open"), 2.0);
        assert_eq!(metric(&text, "sandcall_instances_live"), 2.0);
        // The second session's upload was found compiled.
        assert_eq!(metric(&text, "sandcall_cache_misses_total"), 1.0);
        assert_eq!(metric(&text, "sandcall_cache_hits_total"), 1.0);
        // `square` costs the same fuel every call.
        let fuel = metric(&text, "sandcall_fuel_used_total");
        assert!(fuel > 0.0 && fuel % member.calls as f64 == 0.0, "{fuel}");
        assert!(metric(&text, "sandcall_guest_seconds_total") > 0.0);
        assert_eq!(
            metric(&text, "sandcall_call_duration_seconds_count"),
            member.calls as f64
        );
    }
    drop(cluster);
    // Closed sessions are counted as closed, their instances as gone.
    let text = servers[0].scrape();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut text = text;
    while metric(&text, "sandcall_connections_open") != 0.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
        text = servers[0].scrape();
    }
    assert_eq!(metric(&text, "sandcall_connections_open"), 0.0, "{text}");
    assert_eq!(metric(&text, "sandcall_instances_live"), 0.0, "{text}");
    assert_eq!(metric(&text, "sandcall_connections_total"), 2.0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_killed_mid_map_loses_nothing() {
    let mut servers = servers(3, &[]);
    let mut cluster = Cluster::connect(&addresses(&servers), 2).await.unwrap();
    cluster.execute("m", GUEST).await.unwrap();
    let n = 90;
    let inputs: Vec<Vec<Value>> = (0..n).map(|i| vec![Value::I64(10_000_000 + i)]).collect();
    // Kill the second server once it has answered a few calls: mid-map.
    let victim = servers[1].metrics;
    let pid = servers[1].pid();
    let killer = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let text = http_get(victim, "/metrics")
                .map(|(_, t)| t)
                .unwrap_or_default();
            if evals_ok(&text) >= 3.0 {
                // SAFETY: kill(2) on a child of this process.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                return evals_ok(&text);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("the second server answered no calls");
    });
    let results = cluster.map("m", "spin", inputs.clone()).await.unwrap();
    let answered_before_kill = killer.await.unwrap();
    assert_eq!(results, inputs, "every call answered, in order");
    assert!(servers[1].exited(), "the server was killed");
    servers[1].kill();

    let stats = cluster.stats();
    let killed = &stats[1];
    assert!(
        killed.lost > 0,
        "calls were in flight on the killed server: {stats:?}"
    );
    assert!(answered_before_kill >= 3.0);
    let retried: u64 = stats.iter().map(|s| s.retries).sum();
    assert_eq!(
        retried, killed.lost,
        "each lost call answered once elsewhere: {stats:?}"
    );
    assert_eq!(stats.iter().map(|s| s.calls).sum::<u64>(), n as u64);
    // Its two sessions were reopened on the survivors, modules replayed.
    let reopened: u64 = stats.iter().map(|s| s.reopened).sum();
    assert_eq!(reopened, 2, "{stats:?}");
    // The cluster keeps working on the survivors.
    let more = cluster
        .map("m", "square", [vec![Value::I64(7)]])
        .await
        .unwrap();
    assert_eq!(more, vec![vec![Value::I64(49)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn haproxy_sends_no_new_sessions_to_a_server_whose_check_fails() {
    let mut servers = servers(3, &[]);
    let dir = scratch("haproxy");
    let proxy = HaProxy::start(&dir, &servers.iter().collect::<Vec<_>>()).expect("haproxy starts");
    // Sessions through the balancer: spread over the three (leastconn).
    let mut cluster = Cluster::connect(&[proxy.addr.to_string()], 3)
        .await
        .unwrap();
    cluster.execute("m", GUEST).await.unwrap();
    let before = proxy.states().unwrap();
    assert!(before.iter().all(|s| s.sessions == 1), "{before:?}");
    drop(cluster);

    servers[1].kill();
    let down = proxy
        .wait_for(Duration::from_secs(10), |states| {
            states[1].status.starts_with("DOWN")
        })
        .expect("the dead server is marked down");
    let mut cluster = Cluster::connect(&[proxy.addr.to_string()], 6)
        .await
        .unwrap();
    cluster.execute("m", GUEST).await.unwrap();
    let results = cluster
        .map("m", "square", (0..60).map(|i| vec![Value::I64(i)]))
        .await
        .unwrap();
    assert_eq!(results.len(), 60);
    let after = proxy.states().unwrap();
    assert_eq!(
        after[1].sessions, down[1].sessions,
        "none to the dead one: {after:?}"
    );
    assert_eq!(after[0].sessions + after[2].sessions, 2 + 6, "{after:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_finishes_the_sessions_under_way() {
    let mut server = ServerProcess::start(&["--drain-timeout", "30"]).unwrap();
    let mut conn = Connection::connect(server.addr).await.unwrap();
    conn.execute("m", GUEST).await.unwrap();
    assert_eq!(http_get(server.metrics, "/healthz").unwrap().0, 200);
    // Calls under way (pipelined) when SIGTERM comes.
    let n = 8;
    for i in 0..n {
        let eval = sandcall::Eval {
            name: "m".into(),
            export: "spin".into(),
            args: vec![Value::I64(20_000_000 + i)],
            fuel: None,
            deadline_ms: None,
            cpu_ms: None,
        };
        conn.send(&Request::Eval(eval)).await.unwrap();
    }
    conn.flush().await.unwrap();
    server.signal(libc::SIGTERM);
    // /healthz turns 503 and new sessions are refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    while http_get(server.metrics, "/healthz").map(|r| r.0).ok() != Some(503) {
        assert!(Instant::now() < deadline, "/healthz never said 503");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The listener closes right after: new sessions are refused.
    while Connection::connect(server.addr).await.is_ok() {
        assert!(Instant::now() < deadline, "new sessions still accepted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Every call under way is answered, and more calls on the session too.
    for i in 0..n {
        let (_, reply) = conn.recv().await.unwrap();
        assert!(
            matches!(reply, Ok(sandcall::Response::Evaluated(_))),
            "call {i}: {reply:?}"
        );
    }
    let late = conn.eval("m", "square", &[Value::I64(3)]).await.unwrap();
    assert_eq!(late, vec![Value::I64(9)]);
    assert!(!server.exited(), "the server waits for the session");
    drop(conn);
    let status = wait_exit(&mut server, Duration::from_secs(10));
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "exits cleanly once drained"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drain_ends_idle_sessions_after_the_drain_timeout() {
    let mut server = ServerProcess::start(&["--drain-timeout", "1"]).unwrap();
    let mut conn = Connection::connect(server.addr).await.unwrap();
    conn.execute("m", GUEST).await.unwrap();
    let start = Instant::now();
    server.signal(libc::SIGTERM);
    let status = wait_exit(&mut server, Duration::from_secs(15));
    let took = start.elapsed();
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    assert!(
        took >= Duration::from_millis(900),
        "waited for the session: {took:?}"
    );
    assert!(conn.eval("m", "square", &[Value::I64(2)]).await.is_err());
}

fn wait_exit(server: &mut ServerProcess, within: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_http_answers_404_405_and_431() {
    let server = ServerProcess::start(&[]).unwrap();
    let get = |path: &str| http_get(server.metrics, path).unwrap();
    assert_eq!(get("/healthz").0, 200);
    assert_eq!(get("/metrics").0, 200);
    assert!(get("/metrics").1.contains("sandcall_connections_open"));
    for bad in ["/", "/nope", "/metrics/x", "/healthz/x", "/healthzz"] {
        assert_eq!(get(bad).0, 404, "{bad}");
    }
    let raw = |request: &[u8]| {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(server.metrics).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let _ = s.write_all(request);
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    };
    assert!(raw(b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    // A head over 8 KiB is refused without waiting for its end.
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Pad: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', 9 << 10));
    assert!(raw(&big).starts_with("HTTP/1.1 431"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_refusing_the_module_is_an_error_not_a_retry_loop() {
    let big = servers(1, &[]);
    let small = servers(1, &["--module-bytes", "64"]);
    let both = [big[0].addr.to_string(), small[0].addr.to_string()];
    let mut cluster = Cluster::connect(&both, 2).await.unwrap();
    let start = Instant::now();
    let err = cluster.execute("m", GUEST).await.unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(10));
    match &err {
        ClusterError::Refused {
            address, source, ..
        } => {
            assert_eq!(address, &both[1]);
            assert_eq!(source.kind(), Some(ErrorKind::ResourceLimit), "{err}");
        }
        other => panic!("expected Refused, got {other:?}"),
    }
    // Asked once, refused once: no retries.
    let text = small[0].scrape();
    let refused = r#"sandcall_requests_total{kind="execute",outcome="resource-limit"}"#;
    assert_eq!(metric(&text, refused), 1.0, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_map_calls_budget_is_the_clusters_cpu_ms() {
    let servers = servers(2, &[]);
    let mut cluster = Cluster::connect(&addresses(&servers), 1).await.unwrap();
    cluster.execute("m", GUEST).await.unwrap();
    cluster.cpu_ms = Some(5);
    let start = Instant::now();
    // 10^10 steps: seconds of CPU time, stopped after 5 ms; an answer, not a retry.
    let err = cluster
        .map("m", "spin", [vec![Value::I64(10_000_000_000)]])
        .await
        .unwrap_err();
    match &err {
        ClusterError::Call { source, .. } => {
            assert_eq!(source.kind(), Some(ErrorKind::CpuTimeExceeded), "{err}");
        }
        other => panic!("expected Call, got {other:?}"),
    }
    assert!(
        start.elapsed() < Duration::from_secs(1),
        "{:?}",
        start.elapsed()
    );
    cluster.cpu_ms = None;
    let squares = cluster
        .map("m", "square", [vec![Value::I64(7)]])
        .await
        .unwrap();
    assert_eq!(squares, [vec![Value::I64(49)]]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures_are_counted() {
    let dir = scratch("tenants");
    std::fs::create_dir_all(&dir).unwrap();
    let tenants = dir.join("tenants.toml");
    let added = std::process::Command::new(processes::server_binary())
        .args(["tenant", "add", "alice", "--tenants"])
        .arg(&tenants)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let server = ServerProcess::start(&["--tenants", tenants.to_str().unwrap()]).unwrap();
    for _ in 0..2 {
        let refused = Connection::connect(server.addr)
            .await
            .err()
            .expect("refused");
        assert_eq!(
            refused.kind(),
            Some(ErrorKind::Unauthenticated),
            "{refused}"
        );
    }
    let text = server.scrape();
    assert_eq!(
        metric(&text, "sandcall_authentication_failures_total"),
        2.0,
        "{text}"
    );
    let refused = r#"sandcall_connections_refused_total{kind="unauthenticated"}"#;
    assert_eq!(metric(&text, refused), 2.0, "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
