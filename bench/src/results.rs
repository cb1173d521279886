//! Everything one run measured, as written to `results.json`.

use crate::calls::CallFigures;
use crate::memory::MemoryFigures;
use crate::python::PythonFigures;
use crate::rpyc::{RpycFigures, RpycSort};
use crate::sorts::{ExecuteTimes, RemoteSort, Workload};
use crate::targets::Target;
use crate::tls::TlsFigures;
use serde::Serialize;

/// A figure that may be missing, with the reason (e.g. a mode the server
/// does not offer yet, or RPyC skipped).
pub type Maybe<T> = Result<T, String>;

/// The machine and the command.
#[derive(Clone, Debug, Serialize)]
pub struct Meta {
    pub date: String,
    pub cpus: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub command: String,
    pub quick: bool,
}

/// One sort workload across every system.
#[derive(Clone, Debug, Serialize)]
pub struct SortRow {
    pub workload: Workload,
    /// The same algorithm compiled into the bench binary.
    pub native_ns: u64,
    /// A raw TCP echo of the list's bytes (4 per element), each way.
    pub echo_ns: u64,
    /// Sandboxed with CPU-time budgets (the default).
    pub sandboxed: Maybe<RemoteSort>,
    /// Sandboxed with fuel metering.
    pub fuel: Maybe<RemoteSort>,
    pub unrestricted: Maybe<RemoteSort>,
    /// RPyC's figures for this algorithm and N (for `sort-unstable`, which
    /// RPyC lacks, its quick sort: what an RPyC user runs).
    pub rpyc: Option<RpycSort>,
}

/// `execute` of the sort guest in both modes.
#[derive(Clone, Debug, Serialize)]
pub struct Executes {
    pub sandboxed: Maybe<ExecuteTimes>,
    pub unrestricted: Maybe<ExecuteTimes>,
}

/// Everything one run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Results {
    pub meta: Meta,
    pub calls: CallFigures,
    pub sorts: Vec<SortRow>,
    pub execute: Executes,
    pub memory: MemoryFigures,
    pub rpyc: Maybe<RpycFigures>,
    /// TLS against plaintext, on two servers of their own.
    pub tls: Maybe<TlsFigures>,
    /// The Python client beside the Rust client, on the main server.
    pub python: Maybe<PythonFigures>,
    pub targets: Vec<Target>,
}

impl Results {
    /// The sort row of `alg` on `n` elements, if this run has it.
    pub fn sort(&self, alg: &str, n: usize) -> Option<&SortRow> {
        self.sorts
            .iter()
            .find(|r| r.workload.alg == alg && r.workload.n == n)
    }
}

/// An error as one short line for a table cell.
pub fn brief(e: anyhow::Error) -> String {
    let text = format!("{e:#}").replace('|', "/").replace('\n', " ");
    let mut s: String = text.chars().take(140).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}
