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
use serde::Serialize;
use std::path::Path;
use std::time::{Duration, Instant};

const TRIVIAL: &str = r#"(module (func (export "one") (result i32) i32.const 1))"#;

/// TLS against plaintext, measured interleaved on two servers of the same
/// binary: medians of each, plaintext first.
#[derive(Clone, Debug, Serialize)]
pub struct TlsFigures {
    pub connect_ns: [u64; 2],
    pub eval_ns: [u64; 2],
    pub sort_ns: [u64; 2],
    /// Elements of the sorted list.
    pub sort_n: usize,
}

impl TlsFigures {
    /// TLS ÷ plaintext of a pair of medians.
    pub fn ratio(pair: [u64; 2]) -> f64 {
        pair[1] as f64 / pair[0] as f64
    }
}

/// `--tls`: measure, and print the comparison as a table.
///
/// # Errors
/// When a server does not start or a call fails.
pub async fn run(server: &Path, quick: bool) -> anyhow::Result<()> {
    let f = measure(server, quick).await?;
    println!("| TLS vs plaintext | plaintext p50 | TLS p50 | ratio | target |");
    println!("|---|---|---|---|---|");
    let row = |what: &str, pair: [u64; 2], target: &str| {
        println!(
            "| {what} | {} | {} | {:.2}× | {target} |",
            time(pair[0] as f64),
            time(pair[1] as f64),
            TlsFigures::ratio(pair)
        );
    };
    row("connect + handshake", f.connect_ns, "TLS ≤ 2 ms");
    row("trivial eval", f.eval_ns, "≤ 1.15×");
    let sort = format!("quick sort of {} ints, end to end", f.sort_n);
    row(&sort, f.sort_ns, "≤ 1.10×");
    Ok(())
}

/// Measure TLS against plaintext on two servers started from `server`.
///
/// # Errors
/// When a server does not start or a call fails.
pub async fn measure(server: &Path, quick: bool) -> anyhow::Result<TlsFigures> {
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
    drop((plain, tls));
    let _ = std::fs::remove_dir_all(&dir);
    let p50 =
        |times: &mut [Vec<Duration>; 2]| [0, 1].map(|i| median(&mut times[i]).as_nanos() as u64);
    Ok(TlsFigures {
        connect_ns: p50(&mut connect_times),
        eval_ns: p50(&mut eval_times),
        sort_ns: p50(&mut sort_times),
        sort_n: n,
    })
}
