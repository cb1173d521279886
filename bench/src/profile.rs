//! `--profile WHAT`: run one workload in a loop against a fresh server and
//! record the server with `perf record -g`, for when a target is missed.
//!
//! WHAT is `sequential` or `pipelined` (trivial evals; `-fuel` appended:
//! in a session metered by fuel), or `ALG:N:MODE`
//! for a sort (e.g. `bubble-sort:5000:unrestricted`). The profile goes to
//! `target/perf-WHAT.data`; read it with `perf report -i FILE`.

use crate::calls::IN_FLIGHT;
use crate::process::ServerProcess;
use crate::sorts::{connect, input};
use anyhow::{Context, bail};
use sandcall::{Eval, Mode, Request, Value};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Profile `what` for `secs` seconds on a server started from `server`.
///
/// # Errors
/// An unknown WHAT, a server or `perf` that does not start, a failed call.
pub async fn run(server: &Path, what: &str, secs: u64, out: &Path) -> anyhow::Result<()> {
    let proc = ServerProcess::start(server, &["--listen", "127.0.0.1:0", "--allow-unrestricted"])?;
    let mut perf = Command::new("perf")
        .args(["record", "-g", "-o"])
        .arg(out)
        .args(["-p", &proc.pid().to_string()])
        .stdout(Stdio::null())
        .spawn()
        .context("while starting perf")?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let until = Instant::now() + Duration::from_secs(secs);
    let calls = match what {
        "sequential" | "pipelined" | "sequential-fuel" | "pipelined-fuel" => {
            let metering = if what.ends_with("-fuel") {
                sandcall::Metering::Fuel
            } else {
                sandcall::Metering::Cpu
            };
            trivial(&proc.addr, what.starts_with("pipelined"), metering, until).await?
        }
        sort => {
            let parts: Vec<&str> = sort.split(':').collect();
            let [alg, n, mode] = parts[..] else {
                bail!("--profile takes sequential, pipelined or ALG:N:MODE, not {sort}")
            };
            let mode = if mode == "unrestricted" {
                Mode::Unrestricted
            } else {
                Mode::Sandboxed
            };
            let mut conn = connect(&proc.addr, mode).await?;
            conn.execute("sorter", sandcall_guests::sort()).await?;
            let data = input(n.parse()?);
            let mut calls = 0;
            while Instant::now() < until {
                conn.call("sorter", alg, vec![Value::list_of(&data)])
                    .await?;
                calls += 1;
            }
            calls
        }
    };
    // SIGINT, so that perf writes its file out.
    Command::new("kill")
        .args(["-INT", &perf.id().to_string()])
        .status()?;
    perf.wait()?;
    eprintln!("{calls} calls in {secs} s; profile in {}", out.display());
    Ok(())
}

async fn trivial(
    addr: &str,
    pipelined: bool,
    metering: sandcall::Metering,
    until: Instant,
) -> anyhow::Result<u64> {
    let mut conn = crate::sorts::connect_metered(addr, Mode::Sandboxed, metering).await?;
    conn.execute(
        "m",
        r#"(module (func (export "one") (result i32) i32.const 1))"#,
    )
    .await?;
    let request = Request::Eval(Eval {
        name: "m".into(),
        export: "one".into(),
        args: vec![],
        fuel: None,
        deadline_ms: None,
        cpu_ms: None,
    });
    let mut calls = 0;
    while Instant::now() < until {
        let batch = if pipelined { IN_FLIGHT } else { 1 };
        for _ in 0..batch {
            conn.send(&request).await?;
        }
        conn.flush().await?;
        for _ in 0..batch {
            conn.recv().await?.1?;
        }
        calls += batch as u64;
    }
    Ok(calls)
}
