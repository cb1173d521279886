//! `make bench`: Sandcall side by side with its floors (a raw TCP echo,
//! native code) and with RPyC classic, in one run on one machine, so that
//! the ratios hold even where absolute times drift.
//!
//! Prints one markdown table and writes `results.md`, `results.json` and
//! the plot `sorts.svg` to `--out` (default `bench/`; `target/bench-quick/`
//! with `--quick`). See `bench/README.md` for what each row means.
//!
//! # Layout
//! - [`process`]: the servers as child processes; [`echo`]: the raw TCP echo.
//! - [`calls`]: sections 1–2, connect, trivial eval, calls per second.
//! - [`sorts`]: sections 3 and 5, remote sorts and `execute` cold and warm.
//! - [`native`]: section 4, the guest's algorithms compiled natively.
//! - [`memory`]: section 5b, the server's RSS.
//! - [`profile`]: `--profile`, one workload under `perf record`.
//! - [`rpyc`]: section 6, the RPyC baseline script and its JSON.
//! - [`results`], [`targets`]: the figures, and the targets judged.
//! - [`report`], [`rows`], [`plot`]: the table, its rows, the plot.
//! - [`machine`]: what the run ran on; [`stats`]: percentiles and formats.
//! - [`tls`]: section 7, TLS against plaintext (alone with `--tls`).
//! - [`python`]: section 8, the Python client beside the Rust client and
//!   RPyC (alone with `--python`); [`python_report`]: its targets and rows.

mod calls;
mod echo;
mod machine;
mod memory;
mod native;
mod plot;
mod process;
mod profile;
mod python;
mod python_report;
mod report;
mod results;
mod rows;
mod rpyc;
mod sorts;
mod stats;
mod targets;
mod tls;

use anyhow::Context;
use clap::Parser;
use process::ServerProcess;
use results::{Executes, Maybe, Results, SortRow, brief};
use sandcall::Mode;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Benchmark Sandcall against a raw TCP echo, native code and RPyC classic.
#[derive(Parser, Debug)]
struct Args {
    /// Small sizes, no RPyC unless asked: a smoke test of under a minute.
    #[arg(long)]
    quick: bool,
    /// Where to write results.md, results.json and sorts.svg
    /// [default: bench/, or target/bench-quick/ with --quick].
    #[arg(long)]
    out: Option<PathBuf>,
    /// The Python of a virtualenv with rpyc 6.0.2
    /// [default: target/rpyc-venv/bin/python, except with --quick].
    #[arg(long)]
    rpyc_python: Option<PathBuf>,
    /// Run RPyC with --quick too (with the default virtualenv).
    #[arg(long)]
    rpyc: bool,
    /// Skip RPyC.
    #[arg(long, conflicts_with_all = ["rpyc", "rpyc_python"])]
    no_rpyc: bool,
    /// The server binary [default: sandcall-server beside this binary].
    #[arg(long)]
    server: Option<PathBuf>,
    /// Instead of the benchmark: record the server with `perf` while it
    /// serves one workload (`sequential`, `pipelined`, or `ALG:N:MODE`,
    /// e.g. `quick-sort:1000000:sandboxed`) into target/perf-WHAT.data.
    #[arg(long, value_name = "WHAT")]
    profile: Option<String>,
    /// How long --profile runs.
    #[arg(long, default_value_t = 5)]
    profile_secs: u64,
    /// Only section 7: TLS against plaintext (connect, trivial eval, a
    /// 1,000,000-int sort), as a table on stdout.
    #[arg(long)]
    tls: bool,
    /// Only section 8: the Python client against the Rust client (trivial
    /// eval, a 1,000,000-int sort), as a table on stdout; RPyC's figures
    /// from the last full run's target/rpyc.json, if any.
    #[arg(long, conflicts_with = "tls")]
    python: bool,
    /// The Python of the virtualenv `make python` sets up, with the
    /// `sandcall` package installed [default: target/python-venv/bin/python].
    #[arg(long, value_name = "PATH")]
    python_venv: Option<PathBuf>,
    /// Internal: run the raw TCP echo server.
    #[arg(long, hide = true)]
    serve_echo: bool,
}

/// The workspace root (`bench/..`).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.serve_echo {
        return echo::serve().await;
    }
    let out = args.out.clone().unwrap_or_else(|| {
        if args.quick {
            root().join("target/bench-quick")
        } else {
            root().join("bench")
        }
    });
    std::fs::create_dir_all(&out).with_context(|| format!("while creating {}", out.display()))?;
    let quick = args.quick;
    if let Some(what) = &args.profile {
        let server = process::sibling_binary("sandcall-server")?;
        let file = root().join(format!("target/perf-{}.data", what.replace(':', "-")));
        return profile::run(&server, what, args.profile_secs, &file).await;
    }
    if args.tls {
        let server = match &args.server {
            Some(path) => path.clone(),
            None => process::sibling_binary("sandcall-server")?,
        };
        return tls::run(&server, quick).await;
    }
    let python_bin = args
        .python_venv
        .clone()
        .unwrap_or_else(python::default_python);
    if args.python {
        let server = match &args.server {
            Some(path) => path.clone(),
            None => process::sibling_binary("sandcall-server")?,
        };
        return python::run(&server, &python_bin, quick).await;
    }
    let mut meta = machine::meta(quick);
    let server = match &args.server {
        Some(path) => path.clone(),
        None => process::sibling_binary("sandcall-server")?,
    };

    eprintln!(
        "== starting the server ({}) and the echo server",
        server.display()
    );
    let (main_server, server_args, unrestricted_off) = start_server(&server)?;
    let echo_server = ServerProcess::start(&std::env::current_exe()?, &["--serve-echo"])?;
    let addr = main_server.addr.clone();

    eprintln!("== 1, 2: connect, trivial eval beside a raw TCP echo, calls/s");
    let plan = calls::CallPlan {
        calls: if quick { 1_000 } else { 10_000 },
        connects: if quick { 50 } else { 500 },
        piped_calls: if quick { 10_000 } else { 100_000 },
        clients_for: Duration::from_millis(if quick { 300 } else { 3_000 }),
    };
    let calls = calls::measure(&addr, &echo_server.addr, &plan).await?;

    eprintln!("== 5: execute of the sort guest, cold and warm");
    let (colds, warms) = if quick { (2, 10) } else { (5, 50) };
    let mut conn = sorts::connect(&addr, Mode::Sandboxed).await?;
    let sandboxed_execute = Ok(sorts::execute_times(&mut conn, colds, warms).await?);
    let unrestricted_execute = match &unrestricted_off {
        Some(why) => Err(why.clone()),
        None => match sorts::connect(&addr, Mode::Unrestricted).await {
            Ok(mut c) => sorts::execute_times(&mut c, colds, warms)
                .await
                .map_err(brief),
            Err(e) => Err(brief(e)),
        },
    };

    eprintln!("== 3, 4: sorts, native / sandboxed (CPU budget, fuel) / unrestricted side by side");
    let workloads = sorts::workloads(quick);
    let unrestricted = match &unrestricted_off {
        Some(why) => Err(why.clone()),
        None => sorts::connect(&addr, Mode::Unrestricted)
            .await
            .map_err(brief),
    };
    let mut echo = echo::EchoClient::connect(&echo_server.addr).await?;
    let mut fuel = sorts::connect_metered(&addr, Mode::Sandboxed, sandcall::Metering::Fuel).await?;
    let measured =
        sorts::side_by_side(&workloads, &mut conn, &mut fuel, unrestricted, &mut echo).await?;
    drop((conn, fuel, echo));

    eprintln!("== 5b: server memory");
    let instances = if quick { 100 } else { memory::INSTANCES };
    let memory = memory::measure(&server, &server_args, instances).await?;

    eprintln!("== 7: TLS against plaintext");
    let tls = tls::measure(&server, quick).await.map_err(brief);

    let python = python::section(&addr, &python_bin, quick).await;

    // Section 1's p50s again, at the moment RPyC runs: the machine drifts.
    let (eval_now, echo_now) = calls::eval_and_echo_p50(&addr, &echo_server.addr, 2_000).await?;

    drop((main_server, echo_server));
    let rpyc = run_rpyc(&args, quick).map(|r| rpyc::RpycFigures {
        sandcall_eval_p50_ns: eval_now as f64,
        echo_p50_ns: echo_now as f64,
        ..r
    });
    let rpyc_sorts = rpyc.as_ref().map(|r| r.sorts.clone()).unwrap_or_default();

    let sorts = workloads
        .iter()
        .zip(measured)
        .map(|(w, m)| {
            let rpyc_alg = if w.alg == "sort-unstable" {
                "quick-sort"
            } else {
                w.alg
            };
            SortRow {
                workload: *w,
                native_ns: m.native_ns,
                echo_ns: m.echo_ns,
                sandboxed: Ok(m.sandboxed),
                fuel: m.fuel,
                unrestricted: m.unrestricted,
                rpyc: rpyc_sorts
                    .iter()
                    .find(|s| s.alg == rpyc_alg && s.n == w.n)
                    .cloned(),
            }
        })
        .collect();
    meta.loadavg_end = machine::loadavg();
    let mut results = Results {
        meta,
        calls,
        sorts,
        execute: Executes {
            sandboxed: sandboxed_execute,
            unrestricted: unrestricted_execute,
        },
        memory,
        rpyc,
        tls,
        python,
        targets: Vec::new(),
    };
    results.judge();
    python::judge(&mut results);

    println!("{}", report::table(&results));
    for t in &results.targets {
        println!(
            "- {}: {} (target {}): {}",
            t.what,
            t.figure,
            t.bound,
            targets::met(t.met)
        );
    }
    std::fs::write(out.join("results.md"), report::markdown(&results))?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(&results)? + "\n",
    )?;
    plot::write(&results, &out.join("sorts.svg"))?;
    eprintln!(
        "wrote {}/{{results.md, results.json, sorts.svg}}",
        out.display()
    );
    Ok(())
}

/// Start the server allowing unrestricted mode; a server without that flag
/// yet is started without it, and the reason is returned for the n/a rows.
fn start_server(
    server: &Path,
) -> anyhow::Result<(ServerProcess, Vec<&'static str>, Option<String>)> {
    let with = vec!["--listen", "127.0.0.1:0", "--allow-unrestricted"];
    match ServerProcess::start(server, &with) {
        Ok(p) => Ok((p, with, None)),
        Err(e) => {
            let without = vec!["--listen", "127.0.0.1:0"];
            let p = ServerProcess::start(server, &without).context("while starting the server")?;
            eprintln!("   (the server refused --allow-unrestricted: {e:#})");
            Ok((
                p,
                without,
                Some("the server has no --allow-unrestricted".into()),
            ))
        }
    }
}

/// RPyC's figures, or why there are none.
fn run_rpyc(args: &Args, quick: bool) -> Maybe<rpyc::RpycFigures> {
    if args.no_rpyc {
        return Err("--no-rpyc".into());
    }
    let python = match &args.rpyc_python {
        Some(p) => p.clone(),
        None if quick && !args.rpyc => return Err("not run with --quick (add --rpyc)".into()),
        None => root().join("target/rpyc-venv/bin/python"),
    };
    let target = root().join("target");
    eprintln!(
        "== 6: RPyC classic ({} {}; log in target/rpyc.log)",
        python.display(),
        rpyc::script().display()
    );
    match rpyc::run(
        &python,
        &target.join("rpyc.json"),
        &target.join("rpyc.log"),
        quick,
    ) {
        Ok(r) => Ok(r),
        Err(e) => {
            let why = brief(e);
            eprintln!("RPyC: skipped ({why})");
            Err(why)
        }
    }
}
