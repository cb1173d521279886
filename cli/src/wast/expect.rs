//! Expectations: the results and traps a script expects, how a wire value or
//! trap code is matched against them, and how both are shown in failures.

use sandcall_protocol::{RefClass, RefKind, RemoteError, Value};
use std::fmt;

/// An expected result of `assert_return`.
pub(super) enum Expected {
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
    /// A non-null GC reference the server holds, of one of these classes;
    /// the script's word for it (`ref.struct`, `ref.eq` …).
    Held(&'static [RefClass], &'static str),
    Either(Vec<Expected>),
    /// A result no wire value can match (GC references, component values).
    Unsupported(String),
}

/// An expected float (or integer lane) as exact bits or a NaN pattern.
#[derive(Clone, Copy)]
pub(super) enum Bits {
    Exact(u64),
    CanonicalNan,
    ArithmeticNan,
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
    pub(super) fn matches(&self, got: &Value) -> bool {
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
            (Expected::Extern(None), Value::Held(g)) => g.class == RefClass::Extern,
            (Expected::Held(classes, _), Value::Held(g)) => classes.contains(&g.class),
            // A host reference (the client's externref as an anyref) is an
            // anyref, though not an eqref.
            (Expected::Held(classes, _), Value::ExternRef(_)) => classes.contains(&RefClass::Any),
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
            Expected::Null(Some(kind)) => write!(f, "(ref.null {})", kind.heap_name()),
            Expected::Func => f.write_str("(ref.func)"),
            Expected::Extern(None) => f.write_str("(ref.extern)"),
            Expected::Extern(Some(n)) => write!(f, "(ref.extern {n})"),
            Expected::Held(_, word) => write!(f, "({word})"),
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

pub(super) fn show_values(values: &[Value]) -> String {
    if values.is_empty() {
        return "no results".into();
    }
    values.iter().map(show_value).collect::<Vec<_>>().join(" ")
}

pub(super) fn show_expected(expected: &[Expected]) -> String {
    if expected.is_empty() {
        return "no results".into();
    }
    expected
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

pub(super) fn show_error(e: &RemoteError) -> String {
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
        &[
            "null function reference",
            "null structure reference",
            "null array reference",
            "null i31 reference",
            "null exception reference",
            "null reference",
        ],
    ),
    ("array_out_of_bounds", &["out of bounds array access"]),
    ("cast_failure", &["cast failure"]),
    ("atomic_wait_non_shared_memory", &["expected shared memory"]),
    ("uncaught_exception", &["uncaught exception"]),
];

/// Whether trap `code` is what a script means by `expected`.
///
/// Traps are compared by the server's typed trap code, mapped onto the spec
/// interpreter's wording (a table in this module), not by wasmtime's message
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
