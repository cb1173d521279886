//! `make load`: many clients on one `sandcall-server`, every answer checked.
//!
//! With 1, 50 and 1,000 concurrent connections, then 1,000 again while
//! 10,000 idle connections are held open, each active connection uploads
//! the sort guest (compiled once, then taken from the server's cache) and
//! makes a stream of `eval`s of `quick-sort` on its own random lists; each
//! answer must carry the id of its request and the sorted list. Prints a
//! table (connections, calls/s, p50 / p99 latency, errors, lost replies,
//! server RSS per connection), writes `load.md` and `load.json` to `--out`,
//! and ends with `load: C connections, N calls, E errors, L lost` for the
//! largest run. An error is a refusal the server explains; a lost reply is
//! a request that got no answer (a timeout, a connection that broke) or an
//! answer with the wrong id or value.
//!
//! The server runs as a child process (the `sandcall-server` binary beside
//! this one) with `--connections` raised to fit; both raise their open-file
//! limit to the hard limit first (the child inherits it).
//!
//! # Layout
//! - [`run`]: one level: the idle connections, the active ones, the tally.
//! - [`report`]: the table, `load.md` and `load.json`.
//! - `process` (shared with `sandcall-bench`): the server as a child.

#[path = "../process.rs"]
mod process;
mod report;
mod run;

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;
use std::time::Duration;

/// Many connections on one Sandcall server, every answer checked.
#[derive(Parser, Debug)]
struct Args {
    /// Small and short (1, 5 and 20 connections, 50 idle, ~1 s each): the
    /// smoke test run by `make test`.
    #[arg(long)]
    quick: bool,
    /// Seconds each level runs [default: 10, or 1 with --quick].
    #[arg(long)]
    seconds: Option<f64>,
    /// Where to write load.md and load.json [default: bench/, or
    /// target/load-quick/ with --quick].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The server binary [default: sandcall-server beside this binary].
    #[arg(long)]
    server: Option<PathBuf>,
}

/// The levels: (active connections, idle connections held meanwhile).
const LEVELS: &[(usize, usize)] = &[(1, 0), (50, 0), (1_000, 0), (1_000, 10_000)];
const QUICK_LEVELS: &[(usize, usize)] = &[(1, 0), (5, 0), (20, 50)];

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let levels = if args.quick { QUICK_LEVELS } else { LEVELS };
    let seconds = args.seconds.unwrap_or(if args.quick { 1.0 } else { 10.0 });
    let out = args.out.clone().unwrap_or_else(|| {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        PathBuf::from(root).join(if args.quick {
            "target/load-quick"
        } else {
            "bench"
        })
    });
    let most = levels.iter().map(|(a, i)| a + i).max().unwrap_or(1);
    let files = run::raise_open_files().context("while raising the open-file limit")?;
    // The server keeps one descriptor per connection (plus a few), this
    // process one per connection: both must fit under the limit.
    anyhow::ensure!(
        files >= most as u64 + 200,
        "the open-file limit is {files}, too low for {most} connections: raise the hard \
         limit (ulimit -Hn) or run fewer"
    );
    let program = match &args.server {
        Some(path) => path.clone(),
        None => process::sibling_binary("sandcall-server")?,
    };
    let cap = (most + 64).to_string();
    let server = process::ServerProcess::start(
        &program,
        &[
            "--listen",
            "127.0.0.1:0",
            "--connections",
            &cap,
            "--idle-timeout",
            "3600",
        ],
    )?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run::warm_up(&server.addr))?;
    let mut rows = Vec::new();
    for &(active, idle) in levels {
        eprintln!("load: {active} active, {idle} idle connections, {seconds} s …");
        let row = runtime.block_on(run::level(
            &server,
            active,
            idle,
            Duration::from_secs_f64(seconds),
        ))?;
        rows.push(row);
    }
    let table = report::table(&rows);
    println!("{table}");
    std::fs::create_dir_all(&out)?;
    report::write(&out, &rows, seconds, files)?;
    let last = rows.last().context("no level ran")?;
    println!(
        "load: {} connections, {} calls, {} errors, {} lost",
        last.active + last.idle,
        last.calls,
        last.errors,
        last.lost
    );
    Ok(())
}
