//! `make cluster-demo`: three `sandcall-server`s on loopback and HAProxy in
//! front of them (its configuration generated from `deploy/haproxy.cfg`
//! into `target/cluster-demo/`), sorting 16,000,000 ints as chunks spread
//! over the cluster with [`sandcall::Cluster::map`] and a local k-way merge,
//! checked against a local sort. In the runs marked "kill", one server gets
//! SIGKILL mid-run; its calls are sent again elsewhere and the sort
//! finishes anyway.
//!
//! Runs: locally; on 1, 2 and 3 servers directly; on 3 through HAProxy;
//! then on 3 with one killed, directly (the per-server table) and through
//! HAProxy. Everything started here is stopped at the end, on Ctrl-C and
//! on a panic (the children are killed when their handles drop).
//!
//! ```text
//! make cluster-demo
//! cargo run --release -p sandcall --example cluster_demo -- 4000000   # fewer ints
//! ```

#[path = "../tests/integration/cluster/processes.rs"]
mod processes;

use anyhow::Context;
use processes::{HaProxy, ServerProcess, evals_ok, http_get};
use sandcall::text::thousands;
use sandcall::{Cluster, MemberStats, Value};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

const INTS: usize = 16_000_000;
const CHUNK: usize = 250_000;
const SESSIONS_PER_SERVER: usize = 2;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tokio::select! {
        done = demo() => done,
        _ = tokio::signal::ctrl_c() => {
            // Dropping `demo` kills every process it started.
            eprintln!("interrupted: stopping the servers and HAProxy");
            Ok(())
        }
    }
}

/// What one sort over the cluster gave.
struct Run {
    label: String,
    time: Duration,
    map_time: Duration,
    calls: u64,
    lost: u64,
    wrong: u64,
    retried: u64,
    members: Vec<MemberStats>,
}

async fn demo() -> anyhow::Result<()> {
    let n = std::env::args()
        .nth(1)
        .map(|a| a.parse::<usize>())
        .transpose()
        .context("the argument is the number of ints")?
        .unwrap_or(INTS);
    let data = sandcall_guests::random_ints(n, 14);
    let chunks: Vec<&[i32]> = data.chunks(CHUNK).collect();
    println!(
        "sorting {} ints as {} chunks of {}: 3 sandcall-servers on loopback, HAProxy in front",
        thousands(n as u64),
        chunks.len(),
        thousands(CHUNK as u64)
    );
    let start = Instant::now();
    let mut expected = data.clone();
    expected.sort_unstable();
    let local = start.elapsed();

    let mut runs = Vec::new();
    let mut killed = 0;
    for servers in [1, 2, 3] {
        let procs = start_servers(servers)?;
        let addrs: Vec<String> = procs.iter().map(|s| s.addr.to_string()).collect();
        let label = format!("{servers} server(s), direct");
        let run = sort(
            &label,
            &addrs,
            SESSIONS_PER_SERVER,
            &chunks,
            &expected,
            &procs,
            None,
        );
        runs.push(run.await?);
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cluster-demo");
    {
        let procs = start_servers(3)?;
        let proxy = HaProxy::start(&dir, &procs.iter().collect::<Vec<_>>())?;
        println!(
            "HAProxy on {} ({})",
            proxy.addr,
            dir.join("haproxy.cfg").display()
        );
        let addrs = [proxy.addr.to_string()];
        let label = "3 server(s), HAProxy";
        let per = 3 * SESSIONS_PER_SERVER;
        runs.push(sort(label, &addrs, per, &chunks, &expected, &procs, None).await?);
    }
    {
        let procs = start_servers(3)?;
        let addrs: Vec<String> = procs.iter().map(|s| s.addr.to_string()).collect();
        let label = "3 server(s), direct, 1 killed";
        let run = sort(
            label,
            &addrs,
            SESSIONS_PER_SERVER,
            &chunks,
            &expected,
            &procs,
            Some(1),
        );
        runs.push(run.await?);
        killed += 1;
    }
    {
        let procs = start_servers(3)?;
        let proxy = HaProxy::start(&dir, &procs.iter().collect::<Vec<_>>())?;
        let addrs = [proxy.addr.to_string()];
        let label = "3 server(s), HAProxy, 1 killed";
        let per = 3 * SESSIONS_PER_SERVER;
        runs.push(sort(label, &addrs, per, &chunks, &expected, &procs, Some(1)).await?);
        killed += 1;
    }

    report(&runs, local);
    let calls: u64 = runs.iter().map(|r| r.calls).sum();
    let lost: u64 = runs.iter().map(|r| r.lost).sum();
    let wrong: u64 = runs.iter().map(|r| r.wrong).sum();
    println!("cluster demo: {calls} calls, {lost} lost, {wrong} wrong, {killed} server(s) killed");
    Ok(())
}

fn start_servers(n: usize) -> anyhow::Result<Vec<ServerProcess>> {
    (0..n)
        .map(|_| ServerProcess::start(&[]).context("while starting sandcall-server"))
        .collect()
}

/// Sort `chunks` on the cluster at `addrs` and merge them; with `victim`,
/// SIGKILL that server once it has answered a few calls.
async fn sort(
    label: &str,
    addrs: &[String],
    per_member: usize,
    chunks: &[&[i32]],
    expected: &[i32],
    servers: &[ServerProcess],
    victim: Option<usize>,
) -> anyhow::Result<Run> {
    let mut cluster = Cluster::connect(addrs, per_member).await?;
    cluster.execute("sorter", sandcall_guests::sort()).await?;
    let inputs: Vec<Vec<Value>> = chunks.iter().map(|c| vec![Value::list_of(c)]).collect();
    let killer = victim.map(|v| &servers[v]).map(|v| {
        let (metrics, pid) = (v.metrics, v.pid());
        // A few calls answered: mid-run (the whole run answers dozens).
        let after = (chunks.len() / 12).max(1) as f64;
        tokio::task::spawn_blocking(move || kill_after(metrics, pid, after))
    });
    let start = Instant::now();
    let mapped = cluster.map("sorter", "sort-unstable", inputs).await;
    let map_time = start.elapsed();
    if let Some(killer) = killer {
        killer.await??;
    }
    let (results, lost) = match mapped {
        Ok(results) => (results, 0),
        Err(e) => {
            eprintln!("{label}: {e}");
            (Vec::new(), chunks.len() as u64)
        }
    };
    let sorted: Vec<Vec<i32>> = results
        .iter()
        .map(|r| {
            r.first()
                .and_then(Value::to_numbers::<i32>)
                .unwrap_or_default()
        })
        .collect();
    let merged = merge(&sorted);
    let time = start.elapsed();
    // Checked outside the time: every chunk, and the whole.
    let mut wrong = 0;
    for (got, chunk) in sorted.iter().zip(chunks) {
        let mut want = chunk.to_vec();
        want.sort_unstable();
        if *got != want {
            wrong += 1;
        }
    }
    if lost == 0 && merged != expected {
        wrong += 1;
    }
    let members = cluster.stats();
    let cpu: Vec<String> = servers
        .iter()
        .map(|s| cpu_seconds(s.pid()).map_or("dead".into(), |c| format!("{c:.2}")))
        .collect();
    let calls: Vec<String> = if members.len() == servers.len() {
        members.iter().map(|m| m.calls.to_string()).collect()
    } else {
        servers
            .iter()
            .map(|s| match s.scrape() {
                text if text.is_empty() => "killed".to_string(),
                text => evals_ok(&text).to_string(),
            })
            .collect()
    };
    let mb = chunks.iter().map(|c| c.len()).sum::<usize>() as f64 * 8.0 / 1e6;
    println!(
        "  {label:<30} {:>6.0} ms: map {:.0} ms ({:.0} calls/s, {:.0} MB/s both ways), \
         merge {:.0} ms; server CPU s {}, calls {}",
        ms(time),
        ms(map_time),
        chunks.len() as f64 / map_time.as_secs_f64(),
        mb / map_time.as_secs_f64(),
        ms(time - map_time),
        cpu.join("/"),
        calls.join("/"),
    );
    Ok(Run {
        label: label.to_string(),
        time,
        map_time,
        calls: members.iter().map(|m| m.calls).sum(),
        lost,
        wrong,
        retried: members.iter().map(|m| m.retries).sum(),
        members,
    })
}

/// SIGKILL `pid` once its `/metrics` shows `after` evals answered.
fn kill_after(metrics: std::net::SocketAddr, pid: i32, after: f64) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        let text = http_get(metrics, "/metrics")
            .map(|(_, t)| t)
            .unwrap_or_default();
        if evals_ok(&text) >= after {
            // SAFETY: kill(2) on a child of this process.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            println!("  (SIGKILL to server pid {pid} after it answered {after} calls)");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    anyhow::bail!("the server to kill answered no calls")
}

/// A k-way merge of sorted lists.
fn merge(lists: &[Vec<i32>]) -> Vec<i32> {
    let mut out = Vec::with_capacity(lists.iter().map(Vec::len).sum());
    let mut heap: BinaryHeap<Reverse<(i32, usize, usize)>> = lists
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| Reverse((l[0], i, 0)))
        .collect();
    // Replace the top in place (one sift) rather than pop and push (two).
    while let Some(mut top) = heap.peek_mut() {
        let Reverse((value, list, at)) = *top;
        out.push(value);
        match lists[list].get(at + 1) {
            Some(&next) => *top = Reverse((next, list, at + 1)),
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
    }
    out
}

fn report(runs: &[Run], local: Duration) {
    println!();
    for run in runs
        .iter()
        .filter(|r| r.members.len() > 1 && r.label.contains("killed"))
    {
        println!("{}:", run.label);
        println!("| server           | calls | retries | lost in flight | sessions reopened |");
        println!("|------------------|------:|--------:|---------------:|------------------:|");
        for m in &run.members {
            println!(
                "| {:<16} | {:>5} | {:>7} | {:>14} | {:>17} |",
                m.address, m.calls, m.retries, m.lost, m.reopened
            );
        }
        let lost: u64 = run.members.iter().map(|m| m.lost).sum();
        println!(
            "| total            | {:>5} | {:>7} | {:>14} |                   |",
            run.calls, run.retried, lost
        );
        println!();
    }
    let undisturbed = runs
        .iter()
        .find(|r| r.label == "3 server(s), direct")
        .map(|r| r.time);
    println!(
        "| run                            |       sort |      map | calls | retries | wrong | vs 3 undisturbed |"
    );
    println!(
        "|--------------------------------|-----------:|---------:|------:|--------:|------:|-----------------:|"
    );
    for run in runs {
        let ratio = undisturbed.map_or(String::new(), |u| {
            format!("{:.2}x", run.time.as_secs_f64() / u.as_secs_f64())
        });
        println!(
            "| {:<30} | {:>7.0} ms | {:>5.0} ms | {:>5} | {:>7} | {:>5} | {:>16} |",
            run.label,
            ms(run.time),
            ms(run.map_time),
            run.calls,
            run.retried,
            run.wrong,
            ratio
        );
    }
    println!(
        "| {:<30} | {:>7.0} ms |          |       |         |       |                  |",
        "local sort_unstable (1 core)",
        ms(local)
    );
    println!();
}

/// User and system CPU time of process `pid` so far (None once it is gone).
fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (in parentheses): utime is the 12th, stime the 13th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
