//! What yielding to the scheduler costs a long guest call: the same quick
//! sort of 1,000,000 i32 in servers that differ only in `--yield-fuel`,
//! alternating between them so that all see the same machine.
//!
//! ```text
//! cargo run --release --example yieldcost
//! ```

use sandcall::{Connection, Eval, Value};
use sandcall_server::{EmbeddedServer, LimitConfig, ServerConfig};

const N: usize = 1_000_000;
const ROUNDS: usize = 9;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let intervals = [0u64, 200_000, 1_000_000, 5_000_000];
    let mut servers = Vec::new();
    let mut conns = Vec::new();
    let mut x: u32 = 1;
    let data: Vec<u8> = (0..N)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as i32).to_le_bytes()
        })
        .collect();
    for &yield_fuel in &intervals {
        let limits = LimitConfig {
            yield_fuel,
            ..LimitConfig::default()
        };
        let server = EmbeddedServer::start(ServerConfig { limits }).await?;
        let mut conn = Connection::connect(server.addr()).await?;
        conn.execute("s", include_str!("guests/sorts.wat")).await?;
        conn.eval("s", "reserve", &[Value::I32(data.len() as i32)])
            .await?;
        servers.push(server);
        conns.push(conn);
    }
    let mut times = vec![Vec::new(); intervals.len()];
    for _ in 0..ROUNDS {
        for (conn, times) in conns.iter_mut().zip(&mut times) {
            conn.write_memory("s", None, 0, data.clone()).await?;
            let eval = Eval {
                name: "s".into(),
                export: "quick_sort".into(),
                args: vec![Value::I32(0), Value::I32(N as i32)],
                fuel: Some(10_000_000_000),
                deadline_ms: None,
            };
            times.push(conn.eval_with(eval).await?.guest_ns);
        }
    }
    println!("| --yield-fuel | quick sort of {N} i32, median in the guest | vs never yielding |");
    println!("|---|---|---|");
    let median = |t: &mut Vec<u64>| {
        t.sort_unstable();
        t[t.len() / 2] as f64 / 1e6
    };
    let base = median(&mut times[0].clone());
    for (interval, times) in intervals.iter().zip(&mut times) {
        let m = median(times);
        println!("| {interval} | {m:.1} ms | {:.3}x |", m / base);
    }
    drop(conns);
    for server in servers {
        server.stop().await?;
    }
    Ok(())
}
