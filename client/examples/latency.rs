//! Round-trip time of a trivial `eval` over loopback TCP: 10,000 sequential
//! calls from one client (p50 / p99 / mean), then the same calls pipelined.
//!
//! ```text
//! cargo run --release --example latency                  # embedded server
//! cargo run --release --example latency -- 127.0.0.1:18812
//! ```

use sandcall::{Connection, Eval, Request, Value};
use sandcall_server::{EmbeddedServer, ServerConfig};
use std::time::{Duration, Instant};

const CALLS: usize = 10_000;
const IN_FLIGHT: usize = 64;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = match std::env::args().nth(1) {
        Some(_) => None,
        None => Some(EmbeddedServer::start(ServerConfig::default()).await?),
    };
    let addr = match &server {
        Some(s) => s.addr().to_string(),
        None => std::env::args().nth(1).unwrap_or_default(),
    };
    let mut conn = Connection::connect(addr.as_str()).await?;
    conn.execute(
        "m",
        r#"(module (global (export "g") i32 (i32.const 1))
                   (func (export "one") (result i32) i32.const 1))"#,
    )
    .await?;
    for _ in 0..1_000 {
        conn.eval("m", "one", &[]).await?; // warm up
    }
    let mut times = Vec::with_capacity(CALLS);
    let started = Instant::now();
    for _ in 0..CALLS {
        let t = Instant::now();
        let r = conn.eval("m", "one", &[]).await?;
        times.push(t.elapsed());
        anyhow::ensure!(r == [Value::I32(1)]);
    }
    let total = started.elapsed();
    times.sort();
    let pct = |p: f64| times[((times.len() - 1) as f64 * p) as usize];
    let us = |d: Duration| d.as_secs_f64() * 1e6;

    let mut global_times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        conn.get_global("m", "g").await?;
        global_times.push(t.elapsed());
    }
    global_times.sort();

    let request = Request::Eval(Eval {
        name: "m".into(),
        export: "one".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
    });
    let piped = Instant::now();
    let mut sent = 0;
    let mut received = 0;
    while received < CALLS {
        while sent < CALLS && sent - received < IN_FLIGHT {
            conn.send(&request).await?;
            sent += 1;
        }
        conn.flush().await?;
        let (_, reply) = conn.recv().await?;
        reply?;
        received += 1;
    }
    let piped = piped.elapsed();

    let echo = echo_floor().await?;
    println!("| measure (trivial eval, loopback, {CALLS} calls) | value |");
    println!("|---|---|");
    println!("| p50 round trip | {:.1} µs |", us(pct(0.50)));
    println!("| p99 round trip | {:.1} µs |", us(pct(0.99)));
    println!(
        "| p50 round trip of get_global (no guest code) | {:.1} µs |",
        us(global_times[CALLS / 2])
    );
    println!(
        "| p50 raw TCP echo of 48 bytes (the floor) | {:.1} µs |",
        us(echo)
    );
    println!("| mean round trip | {:.1} µs |", us(total) / CALLS as f64);
    println!(
        "| sequential calls/s | {:.0} |",
        CALLS as f64 / total.as_secs_f64()
    );
    println!(
        "| pipelined calls/s ({IN_FLIGHT} in flight) | {:.0} |",
        CALLS as f64 / piped.as_secs_f64()
    );
    drop(conn);
    if let Some(server) = server {
        server.stop().await?;
    }
    Ok(())
}

/// p50 of a raw tokio TCP echo of a frame of about the same size, on loopback.
async fn echo_floor() -> anyhow::Result<Duration> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 48];
            while s.read_exact(&mut buf).await.is_ok() {
                if s.write_all(&buf).await.is_err() {
                    break;
                }
            }
        }
    });
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let mut buf = [7u8; 48];
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        s.write_all(&buf).await?;
        s.read_exact(&mut buf).await?;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times[CALLS / 2])
}
