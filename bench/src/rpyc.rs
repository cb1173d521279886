//! Section 6: RPyC classic on the same workloads, measured by the project's
//! script `bench/rpyc/baseline.py` (it starts and stops its own
//! `rpyc_classic` server) and read back from the JSON it writes.

use anyhow::{Context, bail};
use serde::Serialize;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The ways the script sends a list by value (one request each way).
const BY_VALUE: &[&str] = &[
    "tuple (brine by value)",
    "deliver/obtain (pickle)",
    "repr literal in eval + obtain",
];

/// RPyC's figures that have a Sandcall counterpart.
#[derive(Clone, Debug, Serialize)]
pub struct RpycFigures {
    pub rpyc: String,
    pub python: String,
    /// `rpyc.classic.connect()`, median.
    pub connect_ns: f64,
    /// `conn.eval('1')`: p50 and p99 (medians over the script's runs).
    pub eval_p50_ns: f64,
    pub eval_p99_ns: f64,
    pub sequential_per_s: f64,
    /// Aggregate `eval('1')` calls/s of 4 client processes.
    pub clients4_per_s: f64,
    pub sorts: Vec<RpycSort>,
    /// Sandcall's trivial eval p50 and the raw TCP echo p50, measured
    /// just before the script ran (at RPyC's moment; filled in by the caller).
    pub sandcall_eval_p50_ns: f64,
    pub echo_p50_ns: f64,
}

/// One sort workload in RPyC.
#[derive(Clone, Debug, Serialize)]
pub struct RpycSort {
    /// Named as the Sandcall guest names it (`quick-sort`).
    pub alg: String,
    pub n: usize,
    /// The sort timed inside the server (the analogue of "in guest").
    pub server_ns: f64,
    /// The fastest way of sending the list by value, end to end, and which.
    pub best_by_value_ns: f64,
    pub best_by_value: String,
}

/// Where the script is: `bench/rpyc/baseline.py` in this repository.
pub fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rpyc/baseline.py")
}

/// Run the script with `python` (a virtualenv's, with `rpyc` installed),
/// writing its JSON to `json` and its output to `log`.
///
/// # Errors
/// When the script or the interpreter is missing, the script fails, or its
/// JSON lacks a figure.
pub fn run(python: &Path, json: &Path, log: &Path, quick: bool) -> anyhow::Result<RpycFigures> {
    let script = script();
    if !script.exists() {
        bail!("{} not found", script.display());
    }
    if !python.exists() {
        bail!(
            "{} not found (`make bench` creates the virtualenv)",
            python.display()
        );
    }
    let mut args: Vec<String> = vec![
        script.display().to_string(),
        "--json".into(),
        json.display().to_string(),
    ];
    if quick {
        args.extend(
            [
                "--quick",
                "--reps",
                "2",
                "--calls",
                "500",
                "--duration",
                "1",
            ]
            .map(String::from),
        );
    } else {
        args.extend(["--reps", "3"].map(String::from));
    }
    let out =
        std::fs::File::create(log).with_context(|| format!("while creating {}", log.display()))?;
    let status = Command::new(python)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .status()
        .with_context(|| format!("while running {}", python.display()))?;
    if !status.success() {
        bail!("baseline.py failed ({status}); see {}", log.display());
    }
    let text = std::fs::read_to_string(json)?;
    parse(&serde_json::from_str(&text)?)
        .with_context(|| format!("while reading {}", json.display()))
}

/// The figures out of the script's JSON (also `--python`, reading an
/// earlier run's).
pub fn parse(r: &Json) -> anyhow::Result<RpycFigures> {
    let num = |v: &Json, path: &str| -> anyhow::Result<f64> {
        path.split('/')
            .try_fold(v, |v, key| v.get(key))
            .and_then(Json::as_f64)
            .with_context(|| format!("no {path}"))
    };
    let eval = r["rtt"].get("eval('1')").context("no rtt/eval('1')")?;
    let clients4 = r["conc"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["clients"] == 4))
        .context("no 4-client figures")?;
    let mut sorts: Vec<RpycSort> = Vec::new();
    for row in r["sorts"].as_array().context("no sorts")? {
        let alg = row["alg"]
            .as_str()
            .context("sort without alg")?
            .replace('_', "-");
        let n = row["n"].as_u64().context("sort without n")? as usize;
        let how = row["how"].as_str().unwrap_or_default();
        let secs = num(row, "s/median")?;
        let at = match sorts.iter().position(|s| s.alg == alg && s.n == n) {
            Some(at) => at,
            None => {
                sorts.push(RpycSort {
                    alg,
                    n,
                    server_ns: f64::NAN,
                    best_by_value_ns: f64::INFINITY,
                    best_by_value: String::new(),
                });
                sorts.len() - 1
            }
        };
        let s = &mut sorts[at];
        if how.starts_with("server compute only") {
            s.server_ns = secs * 1e9;
        } else if BY_VALUE.contains(&how) && secs * 1e9 < s.best_by_value_ns {
            s.best_by_value_ns = secs * 1e9;
            s.best_by_value = how.to_string();
        }
    }
    // Rows measured only through netrefs (no by-value path) are left out.
    sorts.retain(|s| s.best_by_value_ns.is_finite());
    Ok(RpycFigures {
        rpyc: r["env"]["rpyc"].as_str().unwrap_or("?").to_string(),
        python: r["env"]["python"].as_str().unwrap_or("?").to_string(),
        connect_ns: num(r, "connect/connect_ms/median")? * 1e6,
        eval_p50_ns: num(eval, "p50_us/median")? * 1e3,
        eval_p99_ns: num(eval, "p99_us/median")? * 1e3,
        sequential_per_s: num(eval, "calls_per_s/median")?,
        clients4_per_s: num(clients4, "agg_calls_per_s/median")?,
        sorts,
        sandcall_eval_p50_ns: f64::NAN,
        echo_p50_ns: f64::NAN,
    })
}
