//! The sort guest at work: random lists sent by value to a remote sort and
//! back, every result checked, and a table of where the time goes.
//!
//! ```text
//! cargo run --release --example sorts                  # embedded server
//! cargo run --release --example sorts -- 127.0.0.1:18812
//! ```
//!
//! "remote" is the client's wall clock for one `eval` (pack, send 4 bytes
//! per element, unpack, sort, and the same way back); "in guest" is the
//! server's clock around the guest call, lowering and lifting included.
//! Each row is the median of several calls on the same list.

mod support;

use anyhow::{Context, ensure};
use sandcall::text::thousands;
use sandcall::{Connection, Value};
use sandcall_guests::{SORT_WORKLOADS as SORTS, random_ints};
use std::time::{Duration, Instant};
use support::Target;

struct Row {
    remote: Duration,
    guest: Duration,
    fuel: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let target = Target::from_args().await?;
    let mut conn = target.connect().await?;

    let guest = sandcall_guests::sort();
    let start = Instant::now();
    conn.execute("sorter", guest.clone()).await?;
    let cold = start.elapsed();
    let start = Instant::now();
    conn.execute_with("sorter", guest.clone(), true).await?;
    let warm = start.elapsed();
    println!(
        "sort guest: {} ({} KiB); execute {} compiling, {} from the cache",
        relative(sandcall_guests::SORT),
        guest.len() / 1024,
        ms(cold),
        ms(warm)
    );
    println!();
    println!(
        "| algorithm     |         N |     remote |   in guest | remote/guest |       fuel used | result |"
    );
    println!(
        "|---------------|----------:|-----------:|-----------:|-------------:|----------------:|--------|"
    );
    for &(sort, n, calls) in SORTS {
        let data = random_ints(n, n as u64);
        let mut expected = data.clone();
        expected.sort_unstable();
        let mut rows = Vec::with_capacity(calls);
        for _ in 0..calls {
            let (row, sorted) = sort_once(&mut conn, sort, &data).await?;
            verify(sort, &sorted, &expected)?;
            rows.push(row);
        }
        rows.sort_by_key(|r| r.remote);
        let median = &rows[rows.len() / 2];
        println!(
            "| {sort:<13} | {:>9} | {:>10} | {:>10} | {:>11.3}× | {:>15} | ok     |",
            thousands(n as u64),
            ms(median.remote),
            ms(median.guest),
            median.remote.as_secs_f64() / median.guest.as_secs_f64(),
            thousands(median.fuel),
        );
    }
    println!();
    println!("ok: every result was sorted and a permutation of its input");
    drop(conn);
    target.stop().await
}

/// One remote sort, timed on both sides.
async fn sort_once(
    conn: &mut Connection,
    sort: &str,
    data: &[i32],
) -> anyhow::Result<(Row, Vec<i32>)> {
    let start = Instant::now();
    let answer = conn
        .call("sorter", sort, vec![Value::list_of(data)])
        .await
        .with_context(|| format!("while sorting {} ints with {sort}", data.len()))?;
    let sorted = answer
        .results
        .first()
        .and_then(|v| v.to_numbers::<i32>())
        .context("the guest returned no list<s32>")?;
    let remote = start.elapsed();
    Ok((
        Row {
            remote,
            guest: Duration::from_nanos(answer.guest_ns),
            fuel: answer.fuel_used,
        },
        sorted,
    ))
}

/// The result is sorted and holds the input's elements: equal to the
/// input sorted here, checked both ways for a clear message.
fn verify(sort: &str, sorted: &[i32], expected: &[i32]) -> anyhow::Result<()> {
    ensure!(sorted.is_sorted(), "{sort} returned an unsorted list");
    ensure!(
        sorted == expected,
        "{sort} returned a sorted list that is not a permutation of its input"
    );
    Ok(())
}

/// `path` relative to the working directory when it lies below it.
fn relative(path: &str) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    std::path::Path::new(path)
        .strip_prefix(&cwd)
        .map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
