//! Section 1 and 2: connect + handshake, the trivial `eval` round trip beside
//! a raw TCP echo of the same size, and calls per second (sequential,
//! pipelined, several clients).
//!
//! The evals and the echoes are interleaved in rounds of 500 so that both
//! see the same machine: these machines are shared and noisy, so the ratio
//! is what holds, not the absolute times.

use crate::echo::EchoClient;
use crate::stats::{ns, pct};
use anyhow::ensure;
use bytes::BytesMut;
use futures_util::FutureExt;
use sandcall::{ConnectOptions, Connection, Eval, Metering, Request, Value};
use sandcall_protocol::MessageCodec;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::codec::Encoder;

/// A core module with one trivial export (and a global for warm-ups).
const TRIVIAL: &str = r#"(module (func (export "one") (result i32) i32.const 1))"#;
const ROUND: usize = 500;
/// Requests in flight in the pipelined measurement.
pub const IN_FLIGHT: usize = 64;
/// Concurrent clients in the throughput measurement.
pub const CLIENTS: usize = 4;

/// How much to measure.
pub struct CallPlan {
    /// Sequential trivial evals (and as many echoes).
    pub calls: usize,
    /// Connections opened and closed for the connect time.
    pub connects: usize,
    /// Calls in the pipelined run.
    pub piped_calls: usize,
    /// How long the concurrent clients run.
    pub clients_for: Duration,
}

/// What sections 1 and 2 measured.
#[derive(Clone, Debug, Serialize)]
pub struct CallFigures {
    pub connect_p50_ns: u64,
    pub connect_p99_ns: u64,
    /// A bare TCP connect to the echo server (the floor of the above).
    pub tcp_connect_p50_ns: u64,
    pub calls: usize,
    pub eval_p50_ns: u64,
    pub eval_p99_ns: u64,
    /// The trivial eval p50 in a session with CPU-time budgets (the
    /// default) and in one metered by fuel (the sandbox before CPU-time
    /// budgets), interleaved in rounds.
    pub cpu_eval_p50_ns: u64,
    pub fuel_eval_p50_ns: u64,
    /// Bytes of the eval request's frame, the size the echo sends each way.
    pub frame_bytes: usize,
    pub echo_p50_ns: u64,
    pub echo_p99_ns: u64,
    pub sequential_per_s: f64,
    /// Raw echoes per second from one client (the floor of `sequential_per_s`).
    pub echo_per_s: f64,
    pub in_flight: usize,
    pub pipelined_per_s: f64,
    pub clients: usize,
    pub clients_per_s: f64,
    /// As many raw echo clients (the floor of `clients_per_s`).
    pub echo_clients_per_s: f64,
}

fn trivial_eval() -> Request {
    Request::Eval(Eval {
        name: "m".into(),
        export: "one".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    })
}

/// Measure sections 1 and 2 against the server at `addr` and the echo
/// server at `echo_addr`.
///
/// # Errors
/// When a call fails or answers something other than `1`.
pub async fn measure(addr: &str, echo_addr: &str, plan: &CallPlan) -> anyhow::Result<CallFigures> {
    let mut connects = Vec::with_capacity(plan.connects);
    for _ in 0..plan.connects {
        let start = Instant::now();
        let conn = Connection::connect(addr).await?;
        connects.push(start.elapsed());
        drop(conn);
    }

    let mut tcp_connects = Vec::with_capacity(plan.connects);
    for _ in 0..plan.connects {
        let start = Instant::now();
        let socket = tokio::net::TcpStream::connect(echo_addr).await?;
        socket.set_nodelay(true)?;
        tcp_connects.push(start.elapsed());
    }

    let mut conn = Connection::connect(addr).await?;
    let frame_bytes = frame_len(&trivial_eval())?;
    let (mut evals, mut echoes) = interleaved(&mut conn, echo_addr, plan.calls).await?;
    let per_s = |t: &[Duration]| t.len() as f64 / t.iter().sum::<Duration>().as_secs_f64();
    let (sequential_per_s, echo_per_s) = (per_s(&evals), per_s(&echoes));
    let pipelined_per_s = pipelined(&mut conn, plan.piped_calls).await?;
    drop(conn);
    let (cpu_eval_p50_ns, fuel_eval_p50_ns) = by_metering(addr, plan.calls).await?;
    let (clients_per_s, echo_clients_per_s) =
        concurrent(addr, echo_addr, frame_bytes, plan.clients_for).await?;

    Ok(CallFigures {
        connect_p50_ns: ns(pct(&mut connects, 0.50)),
        connect_p99_ns: ns(pct(&mut connects, 0.99)),
        tcp_connect_p50_ns: ns(pct(&mut tcp_connects, 0.50)),
        calls: evals.len(),
        eval_p50_ns: ns(pct(&mut evals, 0.50)),
        eval_p99_ns: ns(pct(&mut evals, 0.99)),
        cpu_eval_p50_ns,
        fuel_eval_p50_ns,
        frame_bytes,
        echo_p50_ns: ns(pct(&mut echoes, 0.50)),
        echo_p99_ns: ns(pct(&mut echoes, 0.99)),
        sequential_per_s,
        echo_per_s,
        in_flight: IN_FLIGHT,
        pipelined_per_s,
        clients: CLIENTS,
        clients_per_s,
        echo_clients_per_s,
    })
}

/// `calls` trivial evals through `conn` and as many raw echoes of the same
/// size, interleaved in rounds of 500 after a warm-up of 1,000 each, so
/// that both see the same moment of the machine.
///
/// # Errors
/// When a call fails or answers something other than `1`.
async fn interleaved(
    conn: &mut Connection,
    echo_addr: &str,
    calls: usize,
) -> anyhow::Result<(Vec<Duration>, Vec<Duration>)> {
    conn.execute_with("m", TRIVIAL, true).await?;
    let frame_bytes = frame_len(&trivial_eval())?;
    let mut echo = EchoClient::connect(echo_addr).await?;
    for _ in 0..1_000 {
        conn.eval("m", "one", &[]).await?;
        echo.round_trip(frame_bytes).await?;
    }
    let (mut evals, mut echoes) = (Vec::new(), Vec::new());
    for _ in 0..calls.div_ceil(ROUND) {
        for _ in 0..ROUND {
            let start = Instant::now();
            let r = conn.eval("m", "one", &[]).await?;
            evals.push(start.elapsed());
            ensure!(r == [Value::I32(1)], "the trivial eval answered {r:?}");
        }
        for _ in 0..ROUND {
            echoes.push(echo.round_trip(frame_bytes).await?);
        }
    }
    Ok((evals, echoes))
}

/// The trivial eval p50 of `calls` calls in a session with CPU-time budgets
/// and of as many in a session metered by fuel, interleaved in rounds of
/// 500 after a warm-up of 1,000 each.
///
/// # Errors
/// As [`measure`].
async fn by_metering(addr: &str, calls: usize) -> anyhow::Result<(u64, u64)> {
    let open = async |metering| {
        let options = ConnectOptions {
            metering,
            ..ConnectOptions::default()
        };
        let mut conn = Connection::open(addr, options).await?;
        conn.execute_with("m", TRIVIAL, true).await?;
        for _ in 0..1_000 {
            conn.eval("m", "one", &[]).await?;
        }
        anyhow::Ok(conn)
    };
    let mut cpu = open(Metering::Cpu).await?;
    let mut fuel = open(Metering::Fuel).await?;
    let (mut on_cpu, mut on_fuel) = (Vec::new(), Vec::new());
    for _ in 0..calls.div_ceil(ROUND) {
        for (conn, times) in [(&mut cpu, &mut on_cpu), (&mut fuel, &mut on_fuel)] {
            for _ in 0..ROUND {
                let start = Instant::now();
                let r = conn.eval("m", "one", &[]).await?;
                times.push(start.elapsed());
                ensure!(r == [Value::I32(1)], "the trivial eval answered {r:?}");
            }
        }
    }
    Ok((ns(pct(&mut on_cpu, 0.5)), ns(pct(&mut on_fuel, 0.5))))
}

/// The trivial eval p50 and the raw echo p50 of `calls` interleaved calls
/// each: section 1's measurement again, taken right before RPyC runs so
/// that the two are compared at one moment.
///
/// # Errors
/// As [`measure`].
pub async fn eval_and_echo_p50(
    addr: &str,
    echo_addr: &str,
    calls: usize,
) -> anyhow::Result<(u64, u64)> {
    let mut conn = Connection::connect(addr).await?;
    let (mut evals, mut echoes) = interleaved(&mut conn, echo_addr, calls).await?;
    Ok((ns(pct(&mut evals, 0.5)), ns(pct(&mut echoes, 0.5))))
}

/// The size of `request`'s frame on the wire, length header included.
fn frame_len(request: &Request) -> anyhow::Result<usize> {
    let mut buf = BytesMut::new();
    MessageCodec::default().encode((2, request), &mut buf)?;
    Ok(buf.len())
}

/// Calls per second with up to [`IN_FLIGHT`] requests outstanding on one
/// connection: top the window up, flush once, wait for one answer, then
/// take every answer that has already arrived, so that writes and reads
/// are batched as a pipelining client batches them.
async fn pipelined(conn: &mut Connection, calls: usize) -> anyhow::Result<f64> {
    let request = trivial_eval();
    let start = Instant::now();
    let (mut sent, mut received) = (0, 0);
    while received < calls {
        while sent < calls && sent - received < IN_FLIGHT {
            conn.send(&request).await?;
            sent += 1;
        }
        conn.flush().await?;
        conn.recv().await?.1?;
        received += 1;
        // `recv` is cancel-safe: a frame half read stays in the buffer.
        while received < sent {
            match conn.recv().now_or_never() {
                Some(answer) => {
                    answer?.1?;
                    received += 1;
                }
                None => break,
            }
        }
    }
    Ok(calls as f64 / start.elapsed().as_secs_f64())
}

/// Aggregate calls per second of [`CLIENTS`] connections making
/// sequential trivial evals, and of as many raw echo clients (the floor):
/// three rounds of each, alternating, each a third of `duration`; the
/// median round of each.
async fn concurrent(
    addr: &str,
    echo_addr: &str,
    frame: usize,
    duration: Duration,
) -> anyhow::Result<(f64, f64)> {
    let (mut evals, mut echoes) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        evals.push(clients(addr, None, duration / 3).await?);
        echoes.push(clients(echo_addr, Some(frame), duration / 3).await?);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(evals), median(echoes)))
}

/// One round of [`CLIENTS`] concurrent clients, started together: trivial
/// evals to the Sandcall server at `addr`, or with `echo: Some(frame)`,
/// echoes of `frame` bytes.
async fn clients(addr: &str, echo: Option<usize>, duration: Duration) -> anyhow::Result<f64> {
    let barrier = Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let mut tasks = Vec::new();
    for _ in 0..CLIENTS {
        let (addr, barrier) = (addr.to_string(), barrier.clone());
        tasks.push(tokio::spawn(async move {
            let mut client = match echo {
                Some(_) => Err(EchoClient::connect(&addr).await?),
                None => {
                    let mut conn = Connection::connect(addr.as_str()).await?;
                    conn.execute("m", TRIVIAL).await?;
                    Ok(conn)
                }
            };
            let mut once = async || match &mut client {
                Ok(conn) => conn
                    .eval("m", "one", &[])
                    .await
                    .map(drop)
                    .map_err(anyhow::Error::from),
                Err(echo_client) => echo_client.round_trip(echo.unwrap_or(4)).await.map(drop),
            };
            for _ in 0..200 {
                once().await?;
            }
            barrier.wait().await;
            let start = Instant::now();
            let mut calls = 0u64;
            while start.elapsed() < duration {
                once().await?;
                calls += 1;
            }
            anyhow::Ok(calls as f64 / start.elapsed().as_secs_f64())
        }));
    }
    let mut total = 0.0;
    for task in tasks {
        total += task.await??;
    }
    Ok(total)
}
