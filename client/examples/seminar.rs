//! The RPyC seminar walkthrough (`../shared/bench/rpyc/seminar.py`), step by
//! step, in Sandcall terms.
//!
//! ```text
//! cargo run --release --example seminar                  # embedded server
//! cargo run --release --example seminar -- 127.0.0.1:18812
//! ```

mod support;

use anyhow::{Context, ensure};
use sandcall::{Connection, Value};
use support::Target;

const SCORES: &str = include_str!("guests/scores.wat");
const SORTS: &str = include_str!("guests/sorts.wat");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = Target::from_args().await?;
    let addr = target.addr.clone();
    let mut conn = Connection::connect(addr.as_str())
        .await
        .with_context(|| format!("while connecting to {addr}"))?;

    // conn.modules.sys.version
    let info = conn.info().await?;
    println!(
        "server: sandcall-server {} on wasmtime {} ({} mode)",
        info.server_version, info.wasmtime_version, info.mode
    );

    // conn.execute('scores = {"Foo": 10}'); conn.execute('scores["Foo"] += 1')
    conn.execute("scores", SCORES).await?;
    let incremented = conn.eval("scores", "incr_foo", &[]).await?;
    println!(
        "execute scores; eval scores.incr_foo() -> {}",
        show(&incremented)
    );

    // conn.namespace["scores"]["Bar"] = 42
    conn.set_global("scores", "Bar", Value::I32(42)).await?;
    let foo_value = conn.get_global("scores", "Foo").await?;
    let bar = conn.get_global("scores", "Bar").await?;
    println!("after set_global(scores, Bar, 42): Foo = {foo_value}, Bar = {bar}");
    ensure!(
        foo_value == Value::I32(11) && bar == Value::I32(42),
        "scores are wrong"
    );

    // conn.execute(SORTS); conn.eval("bubble_sort(data)") / quick_sort(data)
    conn.execute("sorts", SORTS).await?;
    let data = random_ints(50, 1);
    let mut expected = data.clone();
    expected.sort_unstable();
    for sort in ["bubble_sort", "quick_sort"] {
        let sorted = sort_remotely(&mut conn, sort, &data).await?;
        ensure!(sorted == expected, "{sort} returned a wrong order");
        println!(
            "{sort} of {} ints sent by value: ok={} smallest={} largest={}",
            data.len(),
            sorted == expected,
            sorted[0],
            sorted[sorted.len() - 1]
        );
    }

    // Where RPyC gives up: a hostile guest is stopped, the session survives.
    let spin = r#"(module (func (export "spin") (loop br 0)))"#;
    conn.execute("spin", spin).await?;
    let stopped = conn
        .eval_with(sandcall::Eval {
            name: "spin".into(),
            export: "spin".into(),
            args: vec![],
            fuel: Some(10_000_000),
            deadline_ms: None,
        })
        .await
        .expect_err("an endless loop cannot succeed");
    println!("an endless loop: stopped ({stopped})");

    for instance in conn.namespace().await? {
        println!(
            "namespace: {} ({} exports, {} bytes of memory, {} fuel used)",
            instance.name,
            instance.exports.len(),
            instance.memory_bytes,
            instance.fuel_used
        );
    }
    drop(conn);
    target.stop().await
}

/// Write `data` into the guest's memory, sort it there, read it back.
async fn sort_remotely(
    conn: &mut Connection,
    sort: &str,
    data: &[i32],
) -> anyhow::Result<Vec<i32>> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    let len = bytes.len() as i32;
    let grown = conn.eval("sorts", "reserve", &[Value::I32(len)]).await?;
    ensure!(
        grown == [Value::I32(1)],
        "the guest could not reserve {len} bytes"
    );
    conn.write_memory("sorts", None, 0, bytes).await?;
    conn.eval(
        "sorts",
        sort,
        &[Value::I32(0), Value::I32(data.len() as i32)],
    )
    .await?;
    let back = conn.read_memory("sorts", None, 0, len as u64).await?;
    Ok(back
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

fn show(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deterministic pseudo-random ints in 0..=1_000_000 (xorshift; no extra crate).
fn random_ints(n: usize, seed: u64) -> Vec<i32> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1_000_001) as i32
        })
        .collect()
}
