//! Generators of protocol messages: every [`Request`] variant with
//! arbitrary values inside, hellos, and answers; and byte-level mutations
//! of an encoding (flips, overwrites, insertions, removals, cuts).

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;
use sandcall_protocol::{
    Eval, Execute, GuestOutput, HeldRef, Hello, MemoryRead, MemoryWrite, Metering, Mode, NumType,
    Packed, RefClass, RefKind, Request, Value,
};

/// Short names, mostly ASCII, sometimes any text.
pub fn name() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[a-z][a-z0-9-]{0,8}", 1 => any::<String>()]
}

fn num_type() -> impl Strategy<Value = NumType> {
    use NumType::*;
    proptest::sample::select(vec![S8, U8, S16, U16, S32, U32, S64, U64, F32, F64])
}

/// A packed list: whole elements, or (rarely) a ragged buffer.
fn packed() -> impl Strategy<Value = Packed> {
    (num_type(), vec(any::<u8>(), 0..40), any::<bool>()).prop_map(|(elem, mut bytes, ragged)| {
        if !ragged {
            bytes.truncate(bytes.len() / elem.size() * elem.size());
        }
        Packed { elem, bytes }
    })
}

fn leaf() -> impl Strategy<Value = Value> {
    let wasm = prop_oneof![
        any::<i32>().prop_map(Value::I32),
        any::<i64>().prop_map(Value::I64),
        any::<u32>().prop_map(Value::F32),
        any::<u64>().prop_map(Value::F64),
        any::<u128>().prop_map(Value::V128),
        prop_oneof![Just(RefKind::Func), Just(RefKind::Extern)].prop_map(Value::NullRef),
        Just(Value::FuncRef),
        any::<u32>().prop_map(Value::ExternRef),
        (0..RefClass::ALL.len(), any::<u64>()).prop_map(|(c, id)| Value::Held(HeldRef {
            class: RefClass::ALL[c],
            id
        })),
    ];
    let wit = prop_oneof![
        any::<bool>().prop_map(Value::Bool),
        any::<i8>().prop_map(Value::S8),
        any::<u8>().prop_map(Value::U8),
        any::<i16>().prop_map(Value::S16),
        any::<u16>().prop_map(Value::U16),
        any::<u32>().prop_map(Value::U32),
        any::<u64>().prop_map(Value::U64),
        any::<char>().prop_map(Value::Char),
        any::<String>().prop_map(Value::String),
    ];
    let named = prop_oneof![
        packed().prop_map(Value::Packed),
        name().prop_map(Value::Enum),
        vec(name(), 0..4).prop_map(Value::Flags),
    ];
    prop_oneof![wasm, wit, named]
}

fn boxed(v: Option<Value>) -> Option<Box<Value>> {
    v.map(Box::new)
}

/// Any value: leaves and lists, records, tuples, variants, options and
/// results nested a few levels.
pub fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            vec((name(), inner.clone()), 0..4).prop_map(Value::Record),
            vec(inner.clone(), 0..4).prop_map(Value::Tuple),
            (name(), option::of(inner.clone())).prop_map(|(n, v)| Value::Variant(n, boxed(v))),
            option::of(inner.clone()).prop_map(|v| Value::Option(boxed(v))),
            (any::<bool>(), option::of(inner)).prop_map(|(ok, v)| Value::Result(if ok {
                Ok(boxed(v))
            } else {
                Err(boxed(v))
            })),
        ]
    })
}

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..64)
}

/// Every request variant, with arbitrary contents.
pub fn request() -> impl Strategy<Value = Request> {
    let eval = (
        name(),
        name(),
        vec(value(), 0..4),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
        option::of(any::<u64>()),
    )
        .prop_map(|(name, export, args, fuel, deadline_ms, cpu_ms)| {
            Request::Eval(Eval {
                name,
                export,
                args,
                fuel,
                deadline_ms,
                cpu_ms,
            })
        });
    let memory = prop_oneof![
        (name(), option::of(name()), any::<u64>(), any::<u64>()).prop_map(
            |(name, memory, offset, len)| Request::ReadMemory(MemoryRead {
                name,
                memory,
                offset,
                len
            })
        ),
        (name(), option::of(name()), any::<u64>(), bytes()).prop_map(
            |(name, memory, offset, bytes)| Request::WriteMemory(MemoryWrite {
                name,
                memory,
                offset,
                bytes
            })
        ),
    ];
    let named = prop_oneof![
        name().prop_map(|name| Request::Drop { name }),
        name().prop_map(|name| Request::Reset { name }),
        (name(), name()).prop_map(|(name, global)| Request::GetGlobal { name, global }),
        (name(), name(), value()).prop_map(|(name, global, value)| Request::SetGlobal {
            name,
            global,
            value
        }),
        (name(), name()).prop_map(|(name, as_name)| Request::Register { name, as_name }),
    ];
    let modules = prop_oneof![
        (name(), bytes(), any::<bool>()).prop_map(|(name, module, replace)| {
            Request::Execute(Execute {
                name,
                module,
                replace,
            })
        }),
        bytes().prop_map(|module| Request::Validate { module }),
    ];
    prop_oneof![
        Just(Request::Info),
        Just(Request::Namespace),
        any::<u64>().prop_map(|id| Request::Cancel { id }),
        eval,
        memory,
        named,
        modules,
    ]
}

/// Which variant `request` is, by declaration order; the match names every
/// variant, so one added to [`Request`] does not compile here until the
/// generators above learn it too.
pub fn variant(request: &Request) -> usize {
    match request {
        Request::Info => 0,
        Request::Execute(_) => 1,
        Request::Eval(_) => 2,
        Request::Namespace => 3,
        Request::Drop { .. } => 4,
        Request::GetGlobal { .. } => 5,
        Request::SetGlobal { .. } => 6,
        Request::ReadMemory(_) => 7,
        Request::WriteMemory(_) => 8,
        Request::Register { .. } => 9,
        Request::Validate { .. } => 10,
        Request::Reset { .. } => 11,
        Request::Cancel { .. } => 12,
    }
}

/// The number of [`Request`] variants.
pub const VARIANTS: usize = 13;

/// Any hello: other versions, names, tokens.
pub fn hello() -> impl Strategy<Value = Hello> {
    (
        prop_oneof![Just(sandcall_protocol::PROTOCOL_VERSION), any::<u32>()],
        name(),
        prop_oneof![Just(Mode::Sandboxed), Just(Mode::Unrestricted)],
        option::of(any::<String>()),
        any::<bool>(),
        prop_oneof![Just(Metering::Cpu), Just(Metering::Fuel)],
    )
        .prop_map(
            |(protocol_version, client, mode, token, host_stdio, metering)| Hello {
                protocol_version,
                client,
                mode,
                token,
                host_stdio,
                metering,
            },
        )
}

/// A call's answer (the part of a response that carries values).
pub fn eval_result() -> impl Strategy<Value = sandcall_protocol::EvalResult> {
    (vec(value(), 0..3), any::<u64>(), bytes()).prop_map(|(results, fuel_used, stdout)| {
        sandcall_protocol::EvalResult {
            results,
            fuel_used,
            guest_ns: 1,
            cpu_ns: fuel_used / 3,
            output: GuestOutput {
                stdout,
                stderr: Vec::new(),
                dropped: 0,
            },
        }
    })
}

/// One change to a byte string.
#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(Index, u8),
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Cut(Index),
    /// Repeat a stretch (a length or count followed by more of the same).
    Repeat(Index, Index),
}

pub fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        4 => (any::<Index>(), 0..8u8).prop_map(|(i, bit)| Mutation::Flip(i, bit)),
        4 => (any::<Index>(), prop_oneof![Just(0u8), Just(0xff), Just(0xfb), Just(0xfc), Just(0xfd), any::<u8>()])
            .prop_map(|(i, b)| Mutation::Set(i, b)),
        2 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<Index>().prop_map(Mutation::Remove),
        1 => any::<Index>().prop_map(Mutation::Cut),
        1 => (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::Repeat(a, b)),
    ];
    vec(one, 1..4)
}

/// `bytes` after `mutations`.
pub fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            _ if len == 0 => bytes.push(0xff),
            Mutation::Flip(ref i, bit) => bytes[i.index(len)] ^= 1 << bit,
            Mutation::Set(ref i, b) => bytes[i.index(len)] = b,
            Mutation::Insert(ref i, b) => bytes.insert(i.index(len + 1), b),
            Mutation::Remove(ref i) => {
                bytes.remove(i.index(len));
            }
            Mutation::Cut(ref i) => bytes.truncate(i.index(len)),
            Mutation::Repeat(ref a, ref b) => {
                let (a, b) = (a.index(len), b.index(len));
                let (from, to) = (a.min(b), a.max(b) + 1);
                let stretch = bytes[from..to.min(from + 64)].to_vec();
                bytes.splice(to.min(len)..to.min(len), stretch);
            }
        }
    }
    bytes
}
