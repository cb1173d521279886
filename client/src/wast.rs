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

use crate::connection::Connection;
use crate::error::ClientError;
use sandcall_protocol::{ErrorKind, RefKind, RemoteError, Value};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::parser::{self, ParseBuffer};
use wast::token::Id;
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

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
    let mut total = Report::default();
    for path in files {
        let name = path.display().to_string();
        let mut report = Report::default();
        match std::fs::read_to_string(path) {
            Err(e) => report.fail(format!("{name}: expected a readable file, got {e}")),
            Ok(text) => match Connection::connect(addr).await {
                Err(e) => report.fail(format!("{name}: expected a session, got {e}")),
                Ok(mut conn) => report = run_file(&mut conn, path, &text).await,
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

/// One directive, planned: everything the server is not needed for is done.
struct Step {
    /// 1-based line of the directive.
    line: usize,
    kind: StepKind,
}

enum StepKind {
    /// Upload and instantiate; it becomes the current instance.
    Module {
        id: Option<String>,
        bytes: Vec<u8>,
    },
    /// Validate without instantiating; keep the bytes for `module instance`.
    Definition {
        id: Option<String>,
        bytes: Vec<u8>,
    },
    Instance {
        id: Option<String>,
        definition: Option<String>,
    },
    Register {
        as_name: String,
        module: Option<String>,
    },
    /// A bare action: it must not fail.
    Do(Action),
    Return(Action, Vec<Expected>),
    Trap(Action, String),
    Exhaustion(Action, String),
    /// The upload must be refused with this kind.
    Refused(Vec<u8>, ErrorKind, String),
    /// Decided while planning.
    Done(Verdict),
}

enum Action {
    Invoke {
        module: Option<String>,
        export: String,
        args: Vec<Value>,
    },
    Get {
        module: Option<String>,
        global: String,
    },
    Instantiate(Vec<u8>),
}

enum Verdict {
    Pass,
    Fail(String),
    Skip(String),
}

/// An expected result of `assert_return`.
enum Expected {
    I32(i32),
    I64(i64),
    F32(Bits),
    F64(Bits),
    /// Lanes of `width` bits, lowest first; `shape` for messages.
    V128 {
        shape: &'static str,
        width: u32,
        lanes: Vec<Bits>,
    },
    /// A null reference, of this kind if given.
    Null(Option<RefKind>),
    /// Any non-null funcref: the protocol keeps funcrefs opaque, so which
    /// function it is cannot be checked.
    Func,
    /// A non-null externref, with this number if given.
    Extern(Option<u32>),
    Either(Vec<Expected>),
    /// A result no wire value can match (GC references, component values).
    Unsupported(String),
}

/// An expected float (or integer lane) as exact bits or a NaN pattern.
#[derive(Clone, Copy)]
enum Bits {
    Exact(u64),
    CanonicalNan,
    ArithmeticNan,
}

fn plan(text: &str) -> Result<Vec<Step>, wast::Error> {
    let buf = ParseBuffer::new(text)?;
    let script = parser::parse::<Wast>(&buf)?;
    Ok(script
        .directives
        .into_iter()
        .map(|directive| Step {
            line: directive.span().linecol_in(text).0 + 1,
            kind: plan_directive(directive),
        })
        .collect())
}

fn fail(message: impl Into<String>) -> StepKind {
    StepKind::Done(Verdict::Fail(message.into()))
}

fn skip(reason: &str) -> StepKind {
    StepKind::Done(Verdict::Skip(reason.to_string()))
}

const NO_COMPONENTS: &str = "components: Sandcall runs core modules only";

fn plan_directive(directive: WastDirective<'_>) -> StepKind {
    use WastDirective as D;
    match directive {
        D::Module(module) | D::ModuleDefinition(module) if is_component(&module) => {
            skip(NO_COMPONENTS)
        }
        D::Module(mut module) => match module.encode() {
            Ok(bytes) => StepKind::Module {
                id: module.name().map(|id| id.name().to_string()),
                bytes,
            },
            Err(e) => fail(format!("the module to encode, got {}", e.message())),
        },
        D::ModuleDefinition(mut module) => match module.encode() {
            Ok(bytes) => StepKind::Definition {
                id: module.name().map(|id| id.name().to_string()),
                bytes,
            },
            Err(e) => fail(format!("the module to encode, got {}", e.message())),
        },
        D::ModuleInstance {
            instance, module, ..
        } => StepKind::Instance {
            id: id_name(instance),
            definition: id_name(module),
        },
        D::Register { name, module, .. } => StepKind::Register {
            as_name: name.to_string(),
            module: id_name(module),
        },
        D::Invoke(invoke) => match plan_invoke(invoke) {
            Ok(action) => StepKind::Do(action),
            Err(e) => fail(e),
        },
        D::AssertReturn { exec, results, .. } => match (plan_exec(exec), plan_results(results)) {
            (Ok(action), Ok(expected)) => StepKind::Return(action, expected),
            (Err(e), _) | (_, Err(e)) => fail(e),
        },
        D::AssertTrap { exec, message, .. } => match plan_exec(exec) {
            Ok(action) => StepKind::Trap(action, message.to_string()),
            Err(e) => fail(e),
        },
        D::AssertExhaustion { call, message, .. } => match plan_invoke(call) {
            Ok(action) => StepKind::Exhaustion(action, message.to_string()),
            Err(e) => fail(e),
        },
        D::AssertInvalid {
            module, message, ..
        } => plan_refusal(module, ErrorKind::InvalidModule, message),
        D::AssertMalformed {
            module, message, ..
        } => plan_malformed(module, message),
        D::AssertUnlinkable {
            module, message, ..
        } => plan_refusal(QuoteWat::Wat(module), ErrorKind::LinkError, message),
        D::AssertInvalidCustom { .. } | D::AssertMalformedCustom { .. } => {
            skip("custom-section annotations: not part of what the server runs")
        }
        D::AssertException { .. } => skip("exceptions: the protocol carries no wasm exceptions"),
        D::AssertSuspension { .. } => skip("stack switching: not enabled on the server"),
        D::Thread(_) | D::Wait { .. } => skip("threads: a session runs one call at a time"),
    }
}

/// Malformed text must fail to parse or encode, on the client. Where the
/// `wast` crate is more lenient than the spec's text grammar and encodes it
/// anyway (two `start` fields become two start sections), the bytes go to the
/// server, whose decoder must refuse them, as wasmtime's own runner does.
/// A binary module goes to the server too.
fn plan_malformed(mut module: QuoteWat<'_>, message: &str) -> StepKind {
    if is_component(&module) {
        return skip(NO_COMPONENTS);
    }
    match module.encode() {
        Err(_) => StepKind::Done(Verdict::Pass),
        Ok(bytes) => StepKind::Refused(bytes, ErrorKind::InvalidModule, message.into()),
    }
}

fn is_component(module: &QuoteWat<'_>) -> bool {
    matches!(
        module,
        QuoteWat::Wat(Wat::Component(_)) | QuoteWat::QuoteComponent(..)
    )
}

fn id_name(id: Option<Id<'_>>) -> Option<String> {
    id.map(|id| id.name().to_string())
}

/// An upload that must be refused with `kind`; a module that does not even
/// encode fails, since it never reaches the server.
fn plan_refusal(mut module: QuoteWat<'_>, kind: ErrorKind, message: &str) -> StepKind {
    if is_component(&module) {
        return skip(NO_COMPONENTS);
    }
    match module.encode() {
        Ok(bytes) => StepKind::Refused(bytes, kind, message.to_string()),
        Err(e) => fail(format!(
            "a module the server refuses as {kind} (\"{message}\"), got one that does not encode: {}",
            e.message()
        )),
    }
}

fn plan_exec(exec: WastExecute<'_>) -> Result<Action, String> {
    match exec {
        WastExecute::Invoke(invoke) => plan_invoke(invoke),
        WastExecute::Get { module, global, .. } => Ok(Action::Get {
            module: id_name(module),
            global: global.to_string(),
        }),
        WastExecute::Wat(Wat::Component(_)) => Err(format!("a core module, got {NO_COMPONENTS}")),
        WastExecute::Wat(mut module) => module
            .encode()
            .map(Action::Instantiate)
            .map_err(|e| format!("the module to encode, got {}", e.message())),
    }
}

fn plan_invoke(invoke: WastInvoke<'_>) -> Result<Action, String> {
    let args = invoke
        .args
        .iter()
        .map(plan_arg)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Action::Invoke {
        module: id_name(invoke.module),
        export: invoke.name.to_string(),
        args,
    })
}

fn plan_arg(arg: &WastArg<'_>) -> Result<Value, String> {
    let WastArg::Core(arg) = arg else {
        return Err("core wasm arguments, got a component value".into());
    };
    Ok(match arg {
        WastArgCore::I32(v) => Value::I32(*v),
        WastArgCore::I64(v) => Value::I64(*v),
        WastArgCore::F32(v) => Value::F32(v.bits),
        WastArgCore::F64(v) => Value::F64(v.bits),
        WastArgCore::V128(v) => Value::V128(u128::from_le_bytes(v.to_le_bytes())),
        WastArgCore::RefNull(heap) => match ref_kind(heap) {
            Some(kind) => Value::NullRef(kind),
            None => {
                return Err(format!(
                    "arguments the wire can carry, got ref.null {heap:?}"
                ));
            }
        },
        WastArgCore::RefExtern(n) => Value::ExternRef(*n),
        WastArgCore::RefHost(_) => {
            return Err("arguments the wire can carry, got a ref.host".into());
        }
    })
}

/// The wire's reference kind for a heap type, if it has one.
fn ref_kind(heap: &HeapType<'_>) -> Option<RefKind> {
    match heap {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Some(RefKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Some(RefKind::Extern),
            _ => None,
        },
        // Typed function references travel as funcrefs.
        HeapType::Concrete(_) | HeapType::Exact(_) => Some(RefKind::Func),
        HeapType::Abstract { shared: true, .. } => None,
    }
}

fn plan_results(results: Vec<WastRet<'_>>) -> Result<Vec<Expected>, String> {
    results
        .iter()
        .map(|ret| match ret {
            WastRet::Core(core) => Ok(plan_result(core)),
            _ => Err("core wasm results, got a component value".into()),
        })
        .collect()
}

fn plan_result(ret: &WastRetCore<'_>) -> Expected {
    let f32 = |p: &NanPattern<wast::token::F32>| nan(p, |v| u64::from(v.bits));
    let f64 = |p: &NanPattern<wast::token::F64>| nan(p, |v| v.bits);
    match ret {
        WastRetCore::I32(v) => Expected::I32(*v),
        WastRetCore::I64(v) => Expected::I64(*v),
        WastRetCore::F32(p) => Expected::F32(f32(p)),
        WastRetCore::F64(p) => Expected::F64(f64(p)),
        WastRetCore::V128(pattern) => {
            let (shape, width, lanes) = match pattern {
                V128Pattern::I8x16(l) => ("i8x16", 8, exact(l, |v| u64::from(v as u8))),
                V128Pattern::I16x8(l) => ("i16x8", 16, exact(l, |v| u64::from(v as u16))),
                V128Pattern::I32x4(l) => ("i32x4", 32, exact(l, |v| u64::from(v as u32))),
                V128Pattern::I64x2(l) => ("i64x2", 64, exact(l, |v| v as u64)),
                V128Pattern::F32x4(l) => ("f32x4", 32, l.iter().map(f32).collect()),
                V128Pattern::F64x2(l) => ("f64x2", 64, l.iter().map(f64).collect()),
            };
            Expected::V128 {
                shape,
                width,
                lanes,
            }
        }
        WastRetCore::RefNull(heap) => Expected::Null(heap.as_ref().and_then(ref_kind)),
        WastRetCore::RefFunc(_) => Expected::Func,
        WastRetCore::RefExtern(n) => Expected::Extern(*n),
        WastRetCore::Either(cases) => Expected::Either(cases.iter().map(plan_result).collect()),
        other => Expected::Unsupported(format!("{other:?}")),
    }
}

fn nan<T: Copy>(pattern: &NanPattern<T>, bits: impl Fn(T) -> u64) -> Bits {
    match pattern {
        NanPattern::CanonicalNan => Bits::CanonicalNan,
        NanPattern::ArithmeticNan => Bits::ArithmeticNan,
        NanPattern::Value(v) => Bits::Exact(bits(*v)),
    }
}

fn exact<T: Copy>(lanes: &[T], bits: impl Fn(T) -> u64) -> Vec<Bits> {
    lanes.iter().map(|v| Bits::Exact(bits(*v))).collect()
}

impl Bits {
    /// Whether the `width`-bit value `bits` matches. A canonical NaN has only
    /// the top mantissa bit set (any sign); an arithmetic NaN is any quiet NaN.
    fn matches(self, bits: u64, width: u32) -> bool {
        let quiet = match width {
            32 => 0x7fc0_0000,
            64 => 0x7ff8_0000_0000_0000,
            _ => return matches!(self, Bits::Exact(v) if v == bits),
        };
        let magnitude = bits & !(1u64 << (width - 1));
        match self {
            Bits::Exact(v) => v == bits,
            Bits::CanonicalNan => magnitude == quiet,
            Bits::ArithmeticNan => bits & quiet == quiet,
        }
    }
}

impl Expected {
    fn matches(&self, got: &Value) -> bool {
        match (self, got) {
            (Expected::I32(e), Value::I32(g)) => e == g,
            (Expected::I64(e), Value::I64(g)) => e == g,
            (Expected::F32(e), Value::F32(g)) => e.matches(u64::from(*g), 32),
            (Expected::F64(e), Value::F64(g)) => e.matches(*g, 64),
            (Expected::V128 { width, lanes, .. }, Value::V128(g)) => {
                let mask = u128::MAX >> (128 - width);
                lanes.iter().enumerate().all(|(i, lane)| {
                    let bits = (g >> (i as u32 * width)) & mask;
                    lane.matches(bits as u64, *width)
                })
            }
            (Expected::Null(kind), Value::NullRef(g)) => kind.is_none_or(|k| k == *g),
            (Expected::Func, Value::FuncRef) => true,
            (Expected::Extern(n), Value::ExternRef(g)) => n.is_none_or(|n| n == *g),
            (Expected::Either(cases), g) => cases.iter().any(|c| c.matches(g)),
            _ => false,
        }
    }
}

impl fmt::Display for Bits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bits::Exact(v) => write!(f, "{v:#x}"),
            Bits::CanonicalNan => f.write_str("nan:canonical"),
            Bits::ArithmeticNan => f.write_str("nan:arithmetic"),
        }
    }
}

impl fmt::Display for Expected {
    /// In the script's own spelling, floats as bits (`f32.const 0x3fc00000`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::I32(v) => write!(f, "(i32.const {v})"),
            Expected::I64(v) => write!(f, "(i64.const {v})"),
            Expected::F32(b) => write!(f, "(f32.const {b})"),
            Expected::F64(b) => write!(f, "(f64.const {b})"),
            Expected::V128 { shape, lanes, .. } => {
                write!(f, "(v128.const {shape}")?;
                for lane in lanes {
                    write!(f, " {lane}")?;
                }
                f.write_str(")")
            }
            Expected::Null(None) => f.write_str("(ref.null)"),
            Expected::Null(Some(RefKind::Func)) => f.write_str("(ref.null func)"),
            Expected::Null(Some(RefKind::Extern)) => f.write_str("(ref.null extern)"),
            Expected::Func => f.write_str("(ref.func)"),
            Expected::Extern(None) => f.write_str("(ref.extern)"),
            Expected::Extern(Some(n)) => write!(f, "(ref.extern {n})"),
            Expected::Either(cases) => {
                f.write_str("(either")?;
                for case in cases {
                    write!(f, " {case}")?;
                }
                f.write_str(")")
            }
            Expected::Unsupported(what) => write!(f, "({what}, which no wire value matches)"),
        }
    }
}

/// A value as the script would spell it, floats with their bits.
fn show_value(value: &Value) -> String {
    match value {
        Value::I32(v) => format!("(i32.const {v})"),
        Value::I64(v) => format!("(i64.const {v})"),
        Value::F32(bits) => format!("(f32.const {bits:#x} ({value}))"),
        Value::F64(bits) => format!("(f64.const {bits:#x} ({value}))"),
        Value::V128(v) => format!(
            "(v128.const i64x2 {:#x} {:#x})",
            *v as u64,
            (v >> 64) as u64
        ),
        other => format!("({other})"),
    }
}

fn show_values(values: &[Value]) -> String {
    if values.is_empty() {
        return "no results".into();
    }
    values.iter().map(show_value).collect::<Vec<_>>().join(" ")
}

fn show_expected(expected: &[Expected]) -> String {
    if expected.is_empty() {
        return "no results".into();
    }
    expected
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn show_error(e: &RemoteError) -> String {
    match &e.trap {
        Some(code) => format!("trap {code} ({})", e.message),
        None => format!("{}: {}", e.kind, e.message),
    }
}

/// The spec interpreter's wording of each trap code the server sends
/// (wasmtime's `Trap` variants in snake_case).
const TRAP_MESSAGES: &[(&str, &[&str])] = &[
    ("stack_overflow", &["call stack exhausted"]),
    ("memory_out_of_bounds", &["out of bounds memory access"]),
    ("heap_misaligned", &["unaligned atomic"]),
    (
        "table_out_of_bounds",
        &["undefined element", "out of bounds table access"],
    ),
    ("indirect_call_to_null", &["uninitialized element"]),
    ("bad_signature", &["indirect call type mismatch"]),
    ("integer_overflow", &["integer overflow"]),
    ("integer_division_by_zero", &["integer divide by zero"]),
    (
        "bad_conversion_to_integer",
        &["invalid conversion to integer"],
    ),
    ("unreachable_code_reached", &["unreachable"]),
    (
        "null_reference",
        &["null function reference", "null reference"],
    ),
    ("array_out_of_bounds", &["out of bounds array access"]),
    ("cast_failure", &["cast failure"]),
    ("atomic_wait_non_shared_memory", &["expected shared memory"]),
];

/// Whether trap `code` is what a script means by `expected`.
///
/// Traps are compared by the server's typed trap code, mapped onto the spec
/// interpreter's wording in [`TRAP_MESSAGES`], not by wasmtime's message
/// text: the code is the protocol's contract, the message is for people.
/// A message matches when it starts with one of the code's phrases (scripts
/// sometimes add detail, e.g. `uninitialized element 2`) or is a non-empty
/// prefix of one.
pub fn trap_matches(code: &str, expected: &str) -> bool {
    TRAP_MESSAGES
        .iter()
        .filter(|(c, _)| *c == code)
        .flat_map(|(_, phrases)| phrases.iter())
        .any(|p| expected.starts_with(p) || (!expected.is_empty() && p.starts_with(expected)))
}

/// A failure, or the connection was lost and the script cannot go on.
enum Stop {
    Fail(String),
    Lost(ClientError),
}

/// The server's refusal as a value; a broken connection stops the script.
fn answer<T>(result: Result<T, ClientError>) -> Result<Result<T, RemoteError>, Stop> {
    match result {
        Ok(v) => Ok(Ok(v)),
        Err(ClientError::Remote(e)) => Ok(Err(e)),
        Err(other) => Err(Stop::Lost(other)),
    }
}

/// One script's session: the names given to its instances so far.
///
/// An instance no later directive can name (not current, no `$id`, never
/// registered) is dropped, so that long scripts stay within the server's
/// per-session instance limit.
struct Session<'c> {
    conn: &'c mut Connection,
    file: String,
    uploads: usize,
    current: Option<String>,
    /// `$id` → instance name.
    named: HashMap<String, String>,
    registered: HashSet<String>,
    /// `module definition` bytes by `$id`, and the latest one.
    definitions: HashMap<String, Vec<u8>>,
    last_definition: Option<Vec<u8>>,
}

impl<'c> Session<'c> {
    fn new(conn: &'c mut Connection, file: String) -> Self {
        Session {
            conn,
            file,
            uploads: 0,
            current: None,
            named: HashMap::new(),
            registered: HashSet::new(),
            definitions: HashMap::new(),
            last_definition: None,
        }
    }

    async fn run(mut self, steps: Vec<Step>) -> Report {
        let mut report = Report::default();
        if let Err(stop) = self.spectest().await {
            let why = match stop {
                Stop::Fail(why) => why,
                Stop::Lost(e) => e.to_string(),
            };
            report.fail(format!(
                "{}: expected the spectest module to load, got {why}",
                self.file
            ));
        }
        let total = steps.len();
        for (done, step) in steps.into_iter().enumerate() {
            match self.step(step.kind).await {
                Ok(Verdict::Pass) => report.passed += 1,
                Ok(Verdict::Fail(why)) | Err(Stop::Fail(why)) => {
                    report.fail(format!("{}:{}: expected {why}", self.file, step.line));
                }
                Ok(Verdict::Skip(why)) => {
                    report.skipped += 1;
                    report
                        .skips
                        .push(format!("{}:{}: skipped: {why}", self.file, step.line));
                }
                Err(Stop::Lost(e)) => {
                    let rest = total - done - 1;
                    report.fail(format!(
                        "{}:{}: expected an answer, got {e} ({rest} later directives not run, counted as failed)",
                        self.file, step.line
                    ));
                    report.failed += rest;
                    break;
                }
            }
        }
        report
    }

    async fn spectest(&mut self) -> Result<(), Stop> {
        let bytes = wat::parse_str(SPECTEST).map_err(|e| Stop::Fail(e.to_string()))?;
        answer(self.conn.execute_with("spectest", bytes, true).await)?
            .map_err(|e| Stop::Fail(show_error(&e)))?;
        answer(self.conn.register("spectest", "spectest").await)?
            .map_err(|e| Stop::Fail(show_error(&e)))
    }

    async fn step(&mut self, kind: StepKind) -> Result<Verdict, Stop> {
        Ok(match kind {
            StepKind::Module { id, bytes } => {
                self.instantiate(id, bytes).await?;
                Verdict::Pass
            }
            StepKind::Definition { id, bytes } => {
                if let Err(e) = answer(self.conn.validate(bytes.clone()).await)? {
                    return Err(Stop::Fail(format!(
                        "the module to validate, got {}",
                        show_error(&e)
                    )));
                }
                if let Some(id) = id {
                    self.definitions.insert(id, bytes.clone());
                }
                self.last_definition = Some(bytes);
                Verdict::Pass
            }
            StepKind::Instance { id, definition } => {
                let bytes = match &definition {
                    Some(d) => self.definitions.get(d),
                    None => self.last_definition.as_ref(),
                };
                let Some(bytes) = bytes.cloned() else {
                    return Err(Stop::Fail(format!(
                        "a module definition {}, got none",
                        definition.unwrap_or_default()
                    )));
                };
                self.instantiate(id, bytes).await?;
                Verdict::Pass
            }
            StepKind::Register { as_name, module } => {
                let name = self.instance(module.as_deref())?;
                match answer(self.conn.register(&name, &as_name).await)? {
                    Ok(()) => {
                        self.registered.insert(name);
                        Verdict::Pass
                    }
                    Err(e) => Verdict::Fail(format!(
                        "`{name}` to register as \"{as_name}\", got {}",
                        show_error(&e)
                    )),
                }
            }
            StepKind::Do(action) => match self.act(action).await? {
                Ok(_) => Verdict::Pass,
                Err(e) => Verdict::Fail(format!("the action to succeed, got {}", show_error(&e))),
            },
            StepKind::Return(action, expected) => {
                let got = self.act(action).await?;
                let shown = || show_expected(&expected);
                match got {
                    Ok(values)
                        if values.len() == expected.len()
                            && expected.iter().zip(&values).all(|(e, v)| e.matches(v)) =>
                    {
                        Verdict::Pass
                    }
                    Ok(values) => {
                        Verdict::Fail(format!("{}, got {}", shown(), show_values(&values)))
                    }
                    Err(e) => Verdict::Fail(format!("{}, got {}", shown(), show_error(&e))),
                }
            }
            StepKind::Trap(action, message) => {
                trap_verdict(self.act(action).await?, &message, None)
            }
            StepKind::Exhaustion(action, message) => {
                trap_verdict(self.act(action).await?, &message, Some("stack_overflow"))
            }
            StepKind::Refused(bytes, kind, message) => {
                let name = self.fresh_name(None);
                match answer(self.conn.execute(&name, bytes).await)? {
                    Err(e) if e.kind == kind => Verdict::Pass,
                    Err(e) => Verdict::Fail(format!(
                        "the upload refused as {kind} (\"{message}\"), got {}",
                        show_error(&e)
                    )),
                    Ok(_) => {
                        self.retire(name).await?;
                        Verdict::Fail(format!(
                            "the upload refused as {kind} (\"{message}\"), got it instantiated"
                        ))
                    }
                }
            }
            StepKind::Done(verdict) => verdict,
        })
    }

    fn fresh_name(&mut self, id: Option<&str>) -> String {
        self.uploads += 1;
        match id {
            Some(id) => format!("wast{}-{id}", self.uploads),
            None => format!("wast{}", self.uploads),
        }
    }

    /// Upload and instantiate; on success it becomes the current instance.
    async fn instantiate(&mut self, id: Option<String>, bytes: Vec<u8>) -> Result<(), Stop> {
        let name = self.fresh_name(id.as_deref());
        if let Err(e) = answer(self.conn.execute(&name, bytes).await)? {
            return Err(Stop::Fail(format!(
                "the module to instantiate, got {}",
                show_error(&e)
            )));
        }
        if let Some(id) = id {
            self.named.insert(id, name.clone());
        }
        if let Some(old) = self.current.replace(name) {
            let nameable = self.registered.contains(&old) || self.named.values().any(|n| *n == old);
            if !nameable {
                self.retire(old).await?;
            }
        }
        Ok(())
    }

    /// Drop an instance nothing can name any more. A refusal is ignored: the
    /// instance only costs a slot.
    async fn retire(&mut self, name: String) -> Result<(), Stop> {
        answer(self.conn.drop_instance(&name).await)?.ok();
        Ok(())
    }

    /// The instance `$id` names, or the current one.
    fn instance(&self, id: Option<&str>) -> Result<String, Stop> {
        match id {
            Some(id) => self
                .named
                .get(id)
                .cloned()
                .ok_or_else(|| Stop::Fail(format!("a module named ${id}, got none"))),
            None => self
                .current
                .clone()
                .ok_or_else(|| Stop::Fail("a module before the action, got none".into())),
        }
    }

    /// Run an action: its results, or the server's refusal.
    async fn act(&mut self, action: Action) -> Result<Result<Vec<Value>, RemoteError>, Stop> {
        match action {
            Action::Invoke {
                module,
                export,
                args,
            } => {
                let name = self.instance(module.as_deref())?;
                answer(self.conn.eval(&name, &export, &args).await)
            }
            Action::Get { module, global } => {
                let name = self.instance(module.as_deref())?;
                Ok(answer(self.conn.get_global(&name, &global).await)?.map(|v| vec![v]))
            }
            Action::Instantiate(bytes) => {
                let name = self.fresh_name(None);
                let got = answer(self.conn.execute(&name, bytes).await)?;
                if got.is_ok() {
                    self.retire(name).await?;
                }
                Ok(got.map(|_| Vec::new()))
            }
        }
    }
}

/// The verdict on an action that must trap with `message` (and, for
/// exhaustion, with exactly `code`).
fn trap_verdict(
    got: Result<Vec<Value>, RemoteError>,
    message: &str,
    code: Option<&str>,
) -> Verdict {
    let wanted = format!("trap \"{message}\"");
    match got {
        Err(e) if e.kind == ErrorKind::Trap => {
            let trap = e.trap.as_deref().unwrap_or_default();
            if code.is_none_or(|c| c == trap) && trap_matches(trap, message) {
                Verdict::Pass
            } else {
                Verdict::Fail(format!("{wanted}, got {}", show_error(&e)))
            }
        }
        Err(e) => Verdict::Fail(format!("{wanted}, got {}", show_error(&e))),
        Ok(values) => Verdict::Fail(format!("{wanted}, got {}", show_values(&values))),
    }
}
