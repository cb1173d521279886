//! Round-trip time of a trivial `eval` over loopback TCP, beside its floor.
//!
//! 10,000 sequential calls from one client, interleaved in rounds of 500 with
//! a raw tokio TCP echo of the same size and with `get_global` (no guest
//! code), so that all three see the same machine (these machines are shared
//! and noisy: compare the ratio, not the absolute times). Then the same calls
//! pipelined, and again while another connection runs a runaway guest.
//!
//! ```text
//! cargo run --release --example latency                  # embedded server
//! cargo run --release --example latency -- 127.0.0.1:18812
//! ```

mod support;

use sandcall::{Connection, Eval, Request, Value};
use std::time::{Duration, Instant};
use support::Target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CALLS: usize = 10_000;
const ROUND: usize = 500;
const IN_FLIGHT: usize = 64;
/// About the size of a trivial eval request frame.
const ECHO_BYTES: usize = 48;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = Target::from_args().await?;
    let addr = target.addr.clone();
    let mut conn = target.connect().await?;
    conn.execute(
        "m",
        r#"(module (global (export "g") i32 (i32.const 1))
                   (func (export "one") (result i32) i32.const 1))"#,
    )
    .await?;
    let mut echo = echo_client().await?;
    for _ in 0..1_000 {
        conn.eval("m", "one", &[]).await?; // warm up
    }

    let (mut evals, mut globals, mut echoes) = (Vec::new(), Vec::new(), Vec::new());
    let mut eval_total = Duration::ZERO;
    for _ in 0..CALLS / ROUND {
        for _ in 0..ROUND {
            let t = Instant::now();
            let r = conn.eval("m", "one", &[]).await?;
            evals.push(t.elapsed());
            anyhow::ensure!(r == [Value::I32(1)]);
        }
        eval_total += evals[evals.len() - ROUND..].iter().sum::<Duration>();
        for _ in 0..ROUND {
            let t = Instant::now();
            conn.get_global("m", "g").await?;
            globals.push(t.elapsed());
        }
        for _ in 0..ROUND {
            let t = Instant::now();
            echo_once(&mut echo).await?;
            echoes.push(t.elapsed());
        }
    }

    let request = Request::Eval(Eval {
        name: "m".into(),
        export: "one".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    });
    let piped = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < CALLS {
        while sent < CALLS && sent - received < IN_FLIGHT {
            conn.send(&request).await?;
            sent += 1;
        }
        conn.flush().await?;
        // Take answers until half the window is free, then top it up: one
        // flush per answer would measure flushes, not the server.
        loop {
            let (_, reply) = conn.recv().await?;
            reply?;
            received += 1;
            if sent - received <= IN_FLIGHT / 2 {
                break;
            }
        }
    }
    let piped = piped.elapsed();

    let busy = during_runaway_guest(&mut conn, &addr).await?;

    let (eval50, eval99) = (pct(&mut evals, 0.50), pct(&mut evals, 0.99));
    let echo50 = pct(&mut echoes, 0.50);
    println!("| measure (loopback, one client, {CALLS} calls each) | value |");
    println!("|---|---|");
    println!(
        "| trivial eval round trip p50 / p99 | {} / {} |",
        us(eval50),
        us(eval99)
    );
    println!(
        "| get_global round trip p50 (no guest code) | {} |",
        us(pct(&mut globals, 0.5))
    );
    println!(
        "| raw TCP echo of {ECHO_BYTES} bytes p50 (the floor) | {} |",
        us(echo50)
    );
    println!(
        "| eval p50 / echo p50 | {:.2}x |",
        eval50.as_secs_f64() / echo50.as_secs_f64()
    );
    println!(
        "| sequential eval calls/s | {:.0} |",
        CALLS as f64 / eval_total.as_secs_f64()
    );
    println!(
        "| pipelined eval calls/s ({IN_FLIGHT} in flight) | {:.0} |",
        CALLS as f64 / piped.as_secs_f64()
    );
    println!(
        "| eval p50 / p99 while another client's guest spins | {} / {} |",
        us(busy.0),
        us(busy.1)
    );
    drop(conn);
    target.stop().await
}

/// p50 and p99 of trivial evals while another connection spins in a guest
/// (stopped by its deadline afterwards).
async fn during_runaway_guest(
    conn: &mut Connection,
    addr: &str,
) -> anyhow::Result<(Duration, Duration)> {
    let mut hostile = Connection::connect(addr).await?;
    hostile
        .execute("spin", r#"(module (func (export "spin") (loop br 0)))"#)
        .await?;
    let spinning = tokio::spawn(async move {
        let eval = Eval {
            name: "spin".into(),
            export: "spin".into(),
            args: vec![],
            fuel: Some(50_000_000_000),
            deadline_ms: Some(3_000),
            cpu_ms: None,
        };
        hostile.eval_with(eval).await
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    let mut times = Vec::with_capacity(CALLS);
    for _ in 0..CALLS {
        let t = Instant::now();
        conn.eval("m", "one", &[]).await?;
        times.push(t.elapsed());
    }
    anyhow::ensure!(!spinning.is_finished(), "the runaway guest ended too early");
    let stopped = spinning.await?;
    anyhow::ensure!(
        stopped.is_err(),
        "the runaway guest must be stopped by its deadline"
    );
    Ok((pct(&mut times, 0.50), pct(&mut times, 0.99)))
}

/// A connection to a raw echo server (a tokio task in this process).
async fn echo_client() -> anyhow::Result<TcpStream> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move {
        if let Ok((mut s, _)) = listener.accept().await {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; ECHO_BYTES];
            while s.read_exact(&mut buf).await.is_ok() {
                if s.write_all(&buf).await.is_err() {
                    break;
                }
            }
        }
    });
    let s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    Ok(s)
}

async fn echo_once(s: &mut TcpStream) -> anyhow::Result<()> {
    let mut buf = [7u8; ECHO_BYTES];
    s.write_all(&buf).await?;
    s.read_exact(&mut buf).await?;
    Ok(())
}

fn pct(times: &mut [Duration], p: f64) -> Duration {
    times.sort_unstable();
    times[((times.len() - 1) as f64 * p) as usize]
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}
