//! Planning: a script parsed with the `wast` crate into [`Step`]s, with every
//! module encoded and every value owned, so that running needs only the wire.

use super::expect::{Bits, Expected};
use sandcall_protocol::{ErrorKind, RefClass, RefKind, Value};
use wast::core::{AbstractHeapType, HeapType, NanPattern, V128Pattern, WastArgCore, WastRetCore};
use wast::lexer::Lexer;
use wast::parser::{self, ParseBuffer};
use wast::token::Id;
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastInvoke, WastRet, Wat};

/// One directive, planned: everything the server is not needed for is done.
pub(super) struct Step {
    /// 1-based line of the directive.
    pub(super) line: usize,
    pub(super) kind: StepKind,
}

pub(super) enum StepKind {
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

pub(super) enum Action {
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

pub(super) enum Verdict {
    Pass,
    Fail(String),
    /// An assertion of an older spec version that the newer one made moot.
    Superseded(String),
    Skip(String),
}

/// Parse `text` into steps. The lexer accepts "confusing" Unicode (bidi
/// overrides such as U+202E): the `wast` crate refuses it by default as a
/// guard against misleading source, but the spec's text format allows any
/// character in a string, and `names.wast` uses them in export names.
pub(super) fn plan(text: &str) -> Result<Vec<Step>, wast::Error> {
    let mut lexer = Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buf = ParseBuffer::new_with_lexer(lexer)?;
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

/// The spec interpreter's words for an exception that left a call.
const UNCAUGHT: &str = "uncaught exception";

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
        // An exception no guest code caught ends the call as a trap whose
        // code says so (the exception stays on the server, held).
        D::AssertException { exec, .. } => match plan_exec(exec) {
            Ok(action) => StepKind::Trap(action, UNCAUGHT.to_string()),
            Err(e) => fail(e),
        },
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
        // A host reference: the client's externref, as an anyref.
        WastArgCore::RefHost(n) => Value::ExternRef(*n),
    })
}

/// The wire's reference kind for a heap type, if it has one.
fn ref_kind(heap: &HeapType<'_>) -> Option<RefKind> {
    match heap {
        HeapType::Abstract { shared: false, ty } => match ty {
            AbstractHeapType::Func | AbstractHeapType::NoFunc => Some(RefKind::Func),
            AbstractHeapType::Extern | AbstractHeapType::NoExtern => Some(RefKind::Extern),
            AbstractHeapType::Any
            | AbstractHeapType::Eq
            | AbstractHeapType::I31
            | AbstractHeapType::Struct
            | AbstractHeapType::Array
            | AbstractHeapType::None => Some(RefKind::Any),
            AbstractHeapType::Exn | AbstractHeapType::NoExn => Some(RefKind::Exn),
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
        WastRetCore::RefHost(n) => Expected::Extern(Some(*n)),
        WastRetCore::RefAny => Expected::Held(
            &[
                RefClass::I31,
                RefClass::Struct,
                RefClass::Array,
                RefClass::Any,
            ],
            "ref.any",
        ),
        WastRetCore::RefEq => Expected::Held(
            &[RefClass::I31, RefClass::Struct, RefClass::Array],
            "ref.eq",
        ),
        WastRetCore::RefStruct => Expected::Held(&[RefClass::Struct], "ref.struct"),
        WastRetCore::RefArray => Expected::Held(&[RefClass::Array], "ref.array"),
        WastRetCore::RefI31 => Expected::Held(&[RefClass::I31], "ref.i31"),
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
