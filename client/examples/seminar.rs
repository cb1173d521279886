//! The RPyC seminar walkthrough (the seminar's `rpyc_client.py`), step by
//! step, in Sandcall terms.
//!
//! ```text
//! cargo run --release --example seminar                  # embedded server
//! cargo run --release --example seminar -- 127.0.0.1:18812
//! ```

mod support;

use anyhow::{Context, ensure};
use sandcall::Value;
use support::Target;

const SCORES: &str = include_str!("guests/scores.wat");

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = Target::from_args().await?;
    let mut conn = target.connect().await?;

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

    // conn.execute(SORTS); conn.eval("bubble_sort(data)") / quick_sort(data):
    // the sorts are a Rust guest compiled to a component (guest-sort/), the
    // list goes in and comes back by value, in one request each.
    conn.execute("sorter", sandcall_guests::sort()).await?;
    let data = random_ints(50, 1);
    let mut expected = data.clone();
    expected.sort_unstable();
    for sort in ["bubble-sort", "quick-sort"] {
        let answer = conn
            .call("sorter", sort, vec![Value::list_of(&data)])
            .await?;
        let sorted = answer
            .results
            .first()
            .and_then(|v| v.to_numbers::<i32>())
            .context("the sort returned no list<s32>")?;
        ensure!(sorted == expected, "{sort} returned a wrong order");
        println!(
            "eval sorter {sort} on {} ints sent by value: sorted, smallest {} largest {}",
            data.len(),
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
            cpu_ms: None,
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

fn show(values: &[Value]) -> String {
    values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deterministic pseudo-random ints in 0..=1_000_000, easier to read.
fn random_ints(n: usize, seed: u64) -> Vec<i32> {
    sandcall_guests::random_ints(n, seed)
        .into_iter()
        .map(|x| x.rem_euclid(1_000_001))
        .collect()
}
