//! `--tls`: the price of TLS. The same server binary twice, plaintext and
//! TLS (a certificate made here with rcgen), measured interleaved: connect
//! plus handshake, a trivial `eval`, and a 1,000,000-int quick sort end to
//! end. Targets (issue 12): eval over TLS ≤ 1.15× plaintext, the sort
//! ≤ 1.10×, a TLS connect ≤ 2 ms at the median.

use crate::process::ServerProcess;
use crate::stats::{median, time};
use anyhow::Context;
use rcgen::{CertificateParams, KeyPair};
use sandcall::{ConnectOptions, Connection, Value};
use std::path::Path;
use std::time::{Duration, Instant};

const TRIVIAL: &str = r#"(module (func (export "one") (result i32) i32.const 1))"#;

/// Run the comparison against `server` (the binary) and print a table.
///
/// # Errors
/// When a server does not start or a call fails.
pub async fn run(server: &Path, quick: bool) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("sandcall-bench-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["localhost".to_string()])?.self_signed(&key)?;
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem())?;
    std::fs::write(&key_path, key.serialize_pem())?;
    let plain = ServerProcess::start(server, &["--listen", "127.0.0.1:0"])?;
    let tls_args = [
        "--listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert_path.to_str().context("path")?,
        "--tls-key",
        key_path.to_str().context("path")?,
    ];
    let tls = ServerProcess::start(server, &tls_args)?;
    let port = tls.addr.rsplit(':').next().unwrap_or_default();
    let tls_addr = format!("sandcalls://localhost:{port}");
    let options = ConnectOptions {
        ca: Some(cert_path.clone()),
        ..ConnectOptions::default()
    };
    let addrs = [plain.addr.clone(), tls_addr];
    let connect = async |i: usize| Connection::open(&addrs[i], options.clone()).await;

    let (connects, evals, sorts) = if quick { (50, 500, 2) } else { (300, 3000, 7) };
    let mut connect_times = [Vec::new(), Vec::new()];
    for _ in 0..connects {
        for (i, times) in connect_times.iter_mut().enumerate() {
            let start = Instant::now();
            let conn = connect(i).await?;
            times.push(start.elapsed());
            drop(conn);
        }
    }
    let mut conns = [connect(0).await?, connect(1).await?];
    let mut eval_times = [Vec::new(), Vec::new()];
    for conn in &mut conns {
        conn.execute("m", TRIVIAL).await?;
        conn.execute("sorter", sandcall_guests::sort()).await?;
    }
    for _ in 0..evals {
        for (i, conn) in conns.iter_mut().enumerate() {
            let start = Instant::now();
            conn.eval("m", "one", &[]).await?;
            eval_times[i].push(start.elapsed());
        }
    }
    let n = if quick { 100_000 } else { 1_000_000 };
    let data = sandcall_guests::random_ints(n, 7);
    let mut sort_times = [Vec::new(), Vec::new()];
    for _ in 0..sorts {
        for (i, conn) in conns.iter_mut().enumerate() {
            let start = Instant::now();
            let answer = conn
                .call("sorter", "quick-sort", vec![Value::list_of(&data)])
                .await?;
            sort_times[i].push(start.elapsed());
            anyhow::ensure!(!answer.results.is_empty(), "no result");
        }
    }
    println!("| TLS vs plaintext | plaintext p50 | TLS p50 | ratio | target |");
    println!("|---|---|---|---|---|");
    let row = |what: &str, times: &mut [Vec<Duration>; 2], target: &str| {
        let (a, b) = (median(&mut times[0]), median(&mut times[1]));
        let ratio = b.as_secs_f64() / a.as_secs_f64();
        println!(
            "| {what} | {} | {} | {ratio:.2}× | {target} |",
            time(a.as_nanos() as f64),
            time(b.as_nanos() as f64)
        );
    };
    row("connect + handshake", &mut connect_times, "TLS ≤ 2 ms");
    row("trivial eval", &mut eval_times, "≤ 1.15×");
    row(
        &format!("quick sort of {n} ints, end to end"),
        &mut sort_times,
        "≤ 1.10×",
    );
    drop((plain, tls));
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
