//! Exact decoding: claims beyond the bytes left are refused before allocating, and every message round-trips with every read counted.

use super::*;
use crate::codec::decode_body;
use crate::message::{Execute, Hello, Request, Response};
use crate::value::Value;
use crate::{ErrorKind, RemoteError};
use std::time::Instant;

fn encode<T: serde::Serialize>(message: &T) -> Vec<u8> {
    bincode::serde::encode_to_vec(message, bincode::config::standard()).unwrap()
}

/// bincode's varint for a length.
fn varint(out: &mut Vec<u8>, n: u64) {
    match n {
        0..=250 => out.push(n as u8),
        251..=0xffff => out.extend([&[0xfb][..], &(n as u16).to_le_bytes()].concat()),
        0x1_0000..=0xffff_ffff => out.extend([&[0xfc][..], &(n as u32).to_le_bytes()].concat()),
        _ => out.extend([&[0xfd][..], &n.to_le_bytes()].concat()),
    }
}

/// The body of `empty`, whose encoding ends in a length 0, with that
/// length replaced by `claim` and `present` zero bytes after it.
fn claiming<T: serde::Serialize>(empty: &T, claim: u64, present: usize) -> Vec<u8> {
    let mut body = encode(empty);
    assert_eq!(body.pop(), Some(0), "the length to replace");
    varint(&mut body, claim);
    body.resize(body.len() + present, 0);
    body
}

/// Claims of a string, a byte buffer and a list of exactly the bytes
/// left decode; one byte more is refused, saying so.
#[test]
fn a_claim_of_one_byte_more_than_is_left_is_refused() {
    let name = Request::Drop {
        name: String::new(),
    };
    let module = Request::Validate { module: Vec::new() };
    let flags = Value::Flags(Vec::new());
    for n in [0, 1, 250, 251, 100_000] {
        let ok = decode_body::<Request>(&claiming(&name, n as u64, n)).unwrap();
        assert_eq!(
            ok,
            Request::Drop {
                name: "\0".repeat(n)
            }
        );
        let e = decode_body::<Request>(&claiming(&name, n as u64 + 1, n)).unwrap_err();
        assert!(e.to_string().contains("claims 1 byte"), "{e}");
        let ok = decode_body::<Request>(&claiming(&module, n as u64, n)).unwrap();
        assert_eq!(ok, Request::Validate { module: vec![0; n] });
        let e = decode_body::<Request>(&claiming(&module, n as u64 + 1, n)).unwrap_err();
        assert!(e.to_string().contains("claims 1 byte"), "{e}");
        // n empty flag names take n bytes.
        let ok = decode_body::<Value>(&claiming(&flags, n as u64, n)).unwrap();
        assert_eq!(ok, Value::Flags(vec![String::new(); n]));
        let e = decode_body::<Value>(&claiming(&flags, n as u64 + 1, n)).unwrap_err();
        let want = format!("a list claims {} elements with only {n} bytes", n + 1);
        assert!(e.to_string().contains(&want), "{e}");
    }
    // A list of two-byte values: a claim is measured against the bytes
    // left (each element takes at least one), not against what these
    // elements will turn out to need.
    let list = Value::List(Vec::new());
    let e = decode_body::<Value>(&claiming(&list, 4, 3)).unwrap_err();
    assert!(
        e.to_string().contains("claims 4 elements with only 3"),
        "{e}"
    );
}

/// A request holding `leaf` deep inside its value: in an option, in a
/// record, in a variant's payload, in a list, in a `set-global`.
fn nested(leaf: Value) -> Request {
    Request::SetGlobal {
        name: "n".into(),
        global: "g".into(),
        value: Value::List(vec![Value::Variant(
            "case".into(),
            Some(Box::new(Value::Record(vec![(
                "field".into(),
                Value::Option(Some(Box::new(leaf))),
            )]))),
        )]),
    }
}

/// This process's peak virtual memory, in MiB.
fn vm_peak_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmPeak")).unwrap();
    line.split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        >> 10
}

/// 1 MiB bodies claiming 3.75 GiB, at the top of a hello and deep inside
/// a request (a string, a packed buffer, a list): refused, and nothing
/// like the claim is ever reserved.
#[test]
fn huge_claims_in_small_bodies_reserve_nothing() {
    let claim: u64 = 3_840 << 20;
    let present = 1 << 20;
    let mut hello = Vec::new();
    varint(&mut hello, u64::from(crate::PROTOCOL_VERSION));
    varint(&mut hello, claim);
    hello.resize(hello.len() + present, b'a');
    // Each leaf is the last thing in its request: the filling alone
    // follows the claimed length.
    let string = claiming(&nested(Value::String(String::new())), claim, present);
    let packed = claiming(&nested(Value::list_of::<u8>(&[])), claim, present);
    let flags = claiming(&nested(Value::Flags(Vec::new())), claim, present);
    let before = vm_peak_mib();
    let e = decode_body::<Hello>(&hello).unwrap_err();
    assert!(e.to_string().contains("claims"), "{e}");
    for body in [&string, &packed, &flags] {
        let e = decode_body::<Request>(body).unwrap_err();
        assert!(e.to_string().contains("claims"), "{e}");
    }
    let after = vm_peak_mib();
    eprintln!("4 bodies of 1 MiB claiming 3.75 GiB: VmPeak {before} -> {after} MiB; {e}");
    assert!(
        after - before < 1024,
        "VmPeak grew by {} MiB",
        after - before
    );
    // The same leaves with the claimed bytes present decode: the bodies
    // differ from valid ones in the claim alone.
    let n = present as u64;
    let ok = claiming(&nested(Value::String(String::new())), n, present);
    let want = nested(Value::String("\0".repeat(present)));
    assert_eq!(decode_body::<Request>(&ok).unwrap(), want);
}

/// The decoded value, and that the bytes [`Read`] counted are exactly
/// the bytes bincode read: every nested read went through [`Exact`].
fn round_trip<T>(message: &T)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + fmt::Debug,
{
    let body = encode(message);
    let read = Read::new(&body);
    let (back, used) = decode_tracked::<T>(&body, &read).unwrap();
    assert_eq!(&back, message);
    assert_eq!(used, body.len());
    let what = std::any::type_name::<T>();
    assert_eq!(
        read.at.get(),
        used,
        "bytes counted of a {what} of {used} bytes"
    );
    assert_eq!(&decode_body::<T>(&body).unwrap(), message);
}

#[test]
fn messages_round_trip_and_every_read_is_counted() {
    let every_value = Value::Tuple(vec![
        Value::I32(-300),
        Value::I64(i64::MIN),
        Value::F32(7),
        Value::F64(u64::MAX),
        Value::V128(u128::MAX),
        Value::NullRef(crate::RefKind::Func),
        Value::FuncRef,
        Value::ExternRef(70_000),
        Value::Held(crate::HeldRef {
            class: crate::RefClass::Exn,
            id: u64::MAX,
        }),
        Value::Bool(true),
        Value::S8(-1),
        Value::U8(255),
        Value::S16(-200),
        Value::U16(65_535),
        Value::U32(251),
        Value::U64(1 << 40),
        Value::Char('λ'),
        Value::Char('🦀'),
        Value::String("é".repeat(300)),
        Value::List(vec![Value::Bool(false); 300]),
        Value::list_of(&[1.5f64, -0.0]),
        Value::Record(vec![("x".into(), Value::I32(1))]),
        Value::Variant("v".into(), Some(Box::new(Value::Enum("e".into())))),
        Value::Variant("w".into(), None),
        Value::Option(Some(Box::new(Value::Option(None)))),
        Value::Result(Err(Some(Box::new(Value::Result(Ok(None)))))),
        Value::Flags(vec!["a".into(), String::new()]),
    ]);
    round_trip(&every_value);
    round_trip(&nested(every_value.clone()));
    round_trip(&Request::Info);
    round_trip(&Request::Namespace);
    round_trip(&Request::Execute(Execute {
        name: "m".into(),
        module: vec![7; 70_000],
        replace: true,
    }));
    round_trip(&Request::Eval(crate::Eval {
        name: "m".into(),
        export: "f".into(),
        args: vec![every_value.clone(), Value::U8(1)],
        fuel: Some(u64::MAX),
        deadline_ms: None,
        cpu_ms: None,
    }));
    round_trip(&Request::Register {
        name: "a".into(),
        as_name: "b".into(),
    });
    round_trip(&Request::ReadMemory(crate::MemoryRead {
        name: "m".into(),
        memory: Some("mem".into()),
        offset: 1 << 33,
        len: 300,
    }));
    round_trip(&Request::WriteMemory(crate::MemoryWrite {
        name: "m".into(),
        memory: None,
        offset: 3,
        bytes: vec![1, 2, 3],
    }));
    round_trip(&Request::Reset { name: "m".into() });
    let answers: Vec<Result<Response, RemoteError>> = vec![
        Ok(Response::Global(every_value)),
        Ok(Response::Memory(vec![9; 1000])),
        Ok(Response::Namespace(Vec::new())),
        Ok(Response::Valid {
            module_hash: "ab".repeat(32),
        }),
        Err(RemoteError::new(ErrorKind::BadRequest, "no")),
    ];
    for answer in &answers {
        round_trip(answer);
    }
}

/// The best of 7 runs of `old` and of `new`, in ms, taken in turns so
/// that a noisy neighbour slows both alike.
fn best_ms(mut old: impl FnMut(), mut new: impl FnMut()) -> (f64, f64) {
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        f();
        started.elapsed().as_secs_f64() * 1e3
    };
    (0..7).fold((f64::INFINITY, f64::INFINITY), |(o, n), _| {
        (o.min(time(&mut old)), n.min(time(&mut new)))
    })
}

/// bincode's owned decoding under a limit, as messages were decoded
/// before this module.
fn owned<T: serde::de::DeserializeOwned>(body: &[u8]) -> T {
    let config = bincode::config::standard().with_limit::<{ 1 << 30 }>();
    bincode::serde::decode_from_slice(body, config).unwrap().0
}

/// Not a bound, a measurement: the wrapper costs nothing measurable on a
/// 16 MiB module, and little per value (`--nocapture` prints both).
#[test]
fn decoding_cost_against_owned_decoding() {
    let execute = Request::Execute(Execute {
        name: "m".into(),
        module: vec![0x61; 16 << 20],
        replace: false,
    });
    let body = encode(&execute);
    let (old, new) = best_ms(
        || assert_eq!(owned::<Request>(&body), execute),
        || assert_eq!(decode_from_slice::<Request>(&body).unwrap().0, execute),
    );
    let record = |i: u32| Value::Record(vec![("k".into(), Value::U32(i))]);
    let values = Value::List((0..100_000).map(record).collect());
    let value_body = encode(&values);
    let len = value_body.len();
    let owned_value = || crate::nesting::budget(len, || owned::<Value>(&value_body));
    let exact_value = || crate::nesting::budget(len, || decode_from_slice::<Value>(&value_body));
    let (old_values, new_values) = best_ms(
        || assert_eq!(owned_value(), values),
        || assert_eq!(exact_value().unwrap().0, values),
    );
    eprintln!(
        "16 MiB execute: owned {old:.2} ms, exact {new:.2} ms; 100k records ({} KiB): \
         owned {old_values:.2} ms, exact {new_values:.2} ms",
        value_body.len() >> 10
    );
}
