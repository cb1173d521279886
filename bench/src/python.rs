//! Section 8: the Python client (`python/`, issue 13) beside the Rust
//! client and RPyC. `python/bench.py --json --driven` runs in the
//! virtualenv of `make python` against the bench's own server, and this
//! module alternates it with the Rust client, round by round, so that both
//! see the same moment of a noisy machine: trivial `eval`s in rounds of
//! 500, then quick sorts of the same list (written to a file for the
//! script) from an `array.array`, a numpy array and a `list`, each round
//! one Rust sort and one of each Python container. RPyC's figures are
//! section 6's. Targets (issue 13): the 1,000,000-int sort from a buffer
//! ≤ 1.10× the Rust client's, ≥ 15× faster than RPyC's best by-value path,
//! and a trivial eval ≤ 1.3× the Rust client's p50.

use crate::process::ServerProcess;
pub use crate::python_report::{judge, rows};
use crate::python_report::{table_rows, targets};
use crate::results::{Maybe, brief};
use crate::rpyc::RpycFigures;
use crate::stats::{median, pct};
use crate::targets::met;
use anyhow::{Context, bail, ensure};
use sandcall::{ConnectOptions, Connection, Eval, Value};
use serde::Serialize;
use serde_json::Value as Json;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const TRIVIAL: &str = r#"(module (func (export "one") (result i32) i32.const 1))"#;
/// Evals per client per round.
pub const ROUND: usize = 500;
/// The longest one answer of the script may take (a sort from a `list`
/// on a loaded machine takes about a second).
const ANSWER: Duration = Duration::from_secs(120);
/// The wall-clock deadline of each sort, for both clients (`bench.py`'s
/// `SORT_DEADLINE_MS`): the server's default (5 s) can pass on a machine
/// shared with builds.
const SORT_DEADLINE_MS: u64 = 60_000;

/// The Python client against the Rust client, measured alternately on one
/// server. Times in ns; sorts are medians.
#[derive(Clone, Debug, Serialize)]
pub struct PythonFigures {
    pub python: String,
    /// numpy's version, or `None` when the virtualenv has none.
    pub numpy: Option<String>,
    /// Trivial evals made by each client.
    pub calls: usize,
    pub rust_eval_p50_ns: u64,
    pub rust_eval_p99_ns: u64,
    pub python_eval_p50_ns: u64,
    pub python_eval_p99_ns: u64,
    /// Elements of the sorted list, and sorts of it per client and container.
    pub n: usize,
    pub sorts: usize,
    pub rust_sort_ns: u64,
    pub array_sort_ns: u64,
    pub numpy_sort_ns: Option<u64>,
    pub list_sort_ns: u64,
}

impl PythonFigures {
    /// The slower of the two buffer containers (`array.array`, numpy): what
    /// the sort targets are judged on.
    pub fn buffer_sort_ns(&self) -> u64 {
        self.array_sort_ns.max(self.numpy_sort_ns.unwrap_or(0))
    }
}

/// The virtualenv's Python that `make python` sets up.
pub fn default_python() -> PathBuf {
    crate::root().join("target/python-venv/bin/python")
}

/// The script, `python/bench.py`.
fn script() -> PathBuf {
    crate::root().join("python/bench.py")
}

/// The script as a child process, answering one JSON line per command.
struct Script {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    log: PathBuf,
}

impl Script {
    fn start(
        python: &Path,
        addr: &str,
        ints: &Path,
        guest: &Path,
        log: &Path,
    ) -> anyhow::Result<Script> {
        if !python.exists() {
            bail!(
                "{} not found (`make python` sets up the virtualenv)",
                python.display()
            );
        }
        let stderr = std::fs::File::create(log)
            .with_context(|| format!("while creating {}", log.display()))?;
        let mut child = Command::new(python)
            .arg(script())
            .args(["--json", "--driven", "--ints"])
            .arg(ints)
            .arg("--guest")
            .arg(guest)
            .arg(addr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("while starting {}", python.display()))?;
        let stdin = child.stdin.take().context("no stdin")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, lines) = channel();
        // A thread reads the answers, so that a hung script cannot hang us.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Script {
            child,
            stdin,
            lines,
            log: log.to_path_buf(),
        })
    }

    /// The next JSON line of the script.
    fn answer(&mut self) -> anyhow::Result<Json> {
        let line = self.lines.recv_timeout(ANSWER).map_err(|_| {
            let tail = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(3).collect();
            anyhow::anyhow!(
                "python/bench.py stopped answering (see {}: {})",
                self.log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
            )
        })?;
        let json: Json = serde_json::from_str(&line)
            .with_context(|| format!("python/bench.py wrote {line:?}"))?;
        if let Some(e) = json.get("error") {
            bail!("python/bench.py: {e}");
        }
        Ok(json)
    }

    fn ask(&mut self, command: &str) -> anyhow::Result<Json> {
        writeln!(self.stdin, "{command}")?;
        self.stdin.flush()?;
        self.answer()
    }

    /// One sort of `kind`: its time, checked to have sorted.
    fn sort(&mut self, kind: &str) -> anyhow::Result<Duration> {
        let a = self.ask(&format!("sort {kind}"))?;
        ensure!(
            a["ok"] == Json::Bool(true),
            "the Python client's quick sort from a {kind} came back wrong"
        );
        let ns = a["sort_ns"].as_u64().context("no sort_ns")?;
        Ok(Duration::from_nanos(ns))
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Measure the Python client (run by `python`) against the Rust client on
/// the server at `addr`.
///
/// # Errors
/// When the script cannot start (no virtualenv, no `sandcall` in it), a
/// call fails, or a sort comes back wrong.
pub async fn measure(addr: &str, python: &Path, quick: bool) -> anyhow::Result<PythonFigures> {
    let (calls, sorts, n) = if quick {
        (1_000, 2, 100_000)
    } else {
        (10_000, 7, 1_000_000)
    };
    let target = crate::root().join("target");
    let dir = target.join(format!("bench-python-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let result = measure_in(addr, python, &dir, &target, calls, sorts, n).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn measure_in(
    addr: &str,
    python: &Path,
    dir: &Path,
    target: &Path,
    calls: usize,
    sorts: usize,
    n: usize,
) -> anyhow::Result<PythonFigures> {
    let data = sandcall_guests::random_ints(n, 7);
    let bytes: Vec<u8> = data.iter().flat_map(|i| i.to_le_bytes()).collect();
    let (ints, guest) = (dir.join("ints.bin"), dir.join("guest-sort.wasm"));
    std::fs::write(&ints, bytes)?;
    std::fs::write(&guest, sandcall_guests::sort())?;
    let mut script = Script::start(
        python,
        addr,
        &ints,
        &guest,
        &target.join("python-bench.log"),
    )?;
    let ready = script.answer()?;
    ensure!(
        ready["n"].as_u64() == Some(n as u64),
        "the script read {ready}"
    );
    let numpy = ready["numpy"].as_str().map(String::from);

    let mut conn = Connection::open(addr, ConnectOptions::default()).await?;
    conn.execute("m", TRIVIAL).await?;
    conn.execute("sorter", sandcall_guests::sort()).await?;
    for _ in 0..1_000 {
        conn.eval("m", "one", &[]).await?;
    }
    let (mut rust_evals, mut python_evals) = (Vec::new(), Vec::new());
    for round in 0..calls.div_ceil(ROUND) {
        let mut rust = async |times: &mut Vec<Duration>| -> anyhow::Result<()> {
            for _ in 0..ROUND {
                let start = Instant::now();
                conn.eval("m", "one", &[]).await?;
                times.push(start.elapsed());
            }
            Ok(())
        };
        let python = |times: &mut Vec<Duration>, script: &mut Script| -> anyhow::Result<()> {
            let a = script.ask(&format!("eval {ROUND}"))?;
            let got = a["eval_ns"].as_array().context("no eval_ns")?;
            times.extend(
                got.iter()
                    .filter_map(Json::as_u64)
                    .map(Duration::from_nanos),
            );
            Ok(())
        };
        // Each goes first every other round.
        if round % 2 == 0 {
            rust(&mut rust_evals).await?;
            python(&mut python_evals, &mut script)?;
        } else {
            python(&mut python_evals, &mut script)?;
            rust(&mut rust_evals).await?;
        }
    }

    let mut expected = data.clone();
    expected.sort_unstable();
    let mut kinds = vec!["array", "list"];
    if numpy.is_some() {
        kinds.insert(1, "numpy");
    }
    let mut rust_sorts = Vec::new();
    let mut python_sorts: Vec<Vec<Duration>> = vec![Vec::new(); kinds.len()];
    for round in 0..sorts {
        if round % 2 == 1 {
            for (k, kind) in kinds.iter().enumerate() {
                python_sorts[k].push(script.sort(kind)?);
            }
        }
        let start = Instant::now();
        let answer = conn
            .eval_with(Eval {
                name: "sorter".into(),
                export: "quick-sort".into(),
                args: vec![Value::list_of(&data)],
                fuel: None,
                deadline_ms: Some(SORT_DEADLINE_MS),
                cpu_ms: None,
            })
            .await?;
        rust_sorts.push(start.elapsed());
        let sorted = answer.results.first().and_then(|v| v.to_numbers::<i32>());
        ensure!(
            sorted.as_ref() == Some(&expected),
            "the Rust client's quick sort came back wrong"
        );
        if round % 2 == 0 {
            for (k, kind) in kinds.iter().enumerate() {
                python_sorts[k].push(script.sort(kind)?);
            }
        }
    }
    drop(script);
    let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
    let p50 = |times: &mut Vec<Duration>| ns(median(times));
    let at = |kind: &str| kinds.iter().position(|k| *k == kind);
    let mut sort_of = |kind: &str| at(kind).map(|k| p50(&mut python_sorts[k]));
    Ok(PythonFigures {
        python: ready["python"].as_str().unwrap_or("?").to_string(),
        numpy,
        calls: rust_evals.len(),
        rust_eval_p50_ns: p50(&mut rust_evals),
        rust_eval_p99_ns: ns(pct(&mut rust_evals, 0.99)),
        python_eval_p50_ns: p50(&mut python_evals),
        python_eval_p99_ns: ns(pct(&mut python_evals, 0.99)),
        n,
        sorts,
        rust_sort_ns: p50(&mut rust_sorts),
        array_sort_ns: sort_of("array").unwrap_or(0),
        numpy_sort_ns: sort_of("numpy"),
        list_sort_ns: sort_of("list").unwrap_or(0),
    })
}

/// Section 8 in the full run, or why it was skipped (said on stderr too).
pub async fn section(addr: &str, python: &Path, quick: bool) -> Maybe<PythonFigures> {
    eprintln!(
        "== 8: the Python client ({} {}; its stderr in target/python-bench.log)",
        python.display(),
        script().display()
    );
    measure(addr, python, quick).await.map_err(|e| {
        let why = brief(e);
        eprintln!("Python client: skipped ({why})");
        why
    })
}

/// `--python`: section 8 alone on a server of its own, as a table on
/// stdout. RPyC's figures come from the last full run's
/// `target/rpyc.json`, if there is one.
///
/// # Errors
/// When the server does not start or the measurement fails.
pub async fn run(server: &Path, python: &Path, quick: bool) -> anyhow::Result<()> {
    let process = ServerProcess::start(server, &["--listen", "127.0.0.1:0"])?;
    let figures = measure(&process.addr, python, quick).await;
    drop(process);
    let figures = figures?;
    let json = crate::root().join("target/rpyc.json");
    let rpyc = std::fs::read_to_string(&json)
        .ok()
        .and_then(|text| crate::rpyc::parse(&serde_json::from_str(&text).ok()?).ok());
    let rpyc: Maybe<RpycFigures> = rpyc.ok_or_else(|| format!("no {}", json.display()));
    if rpyc.is_ok() {
        eprintln!("(RPyC: the figures of {}, an earlier run)", json.display());
    }
    let figures = Ok(figures);
    let targets = targets(&figures, &rpyc);
    println!("| § | measure | Python | Rust client | ×Rust | RPyC | vs RPyC | target | met |");
    println!("|---|---|---:|---:|---:|---:|---:|---|---|");
    for row in table_rows(&figures, &rpyc, &targets) {
        println!("| {} |", row.join(" | "));
    }
    for t in &targets {
        println!(
            "- {}: {} (target {}): {}",
            t.what,
            t.figure,
            t.bound,
            met(t.met)
        );
    }
    Ok(())
}
