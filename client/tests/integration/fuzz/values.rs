//! WIT values through a real server and the values guest
//! (`guest-values`): values of each export's parameter types come back
//! unchanged; values of any other shape are refused with `bad-request` and
//! the instance stays usable; WAVE texts (the seeds in
//! `fuzz/seeds/wave/values.txt` and mutations of them) parse against the
//! signature the server reports and echo back. Never a dropped connection.

use super::harness::{fuzz, lock, take};
use super::mutate::{mutate, mutations};
use super::types::{any_value, canonical, value_of};
use super::{runtime, seed_file};
use crate::common::{connect, server};
use proptest::collection::vec;
use proptest::prelude::*;
use sandcall::{Connection, ErrorKind, Value, wave};
use sandcall_protocol::{ExportKind, WitFunc};
use std::sync::Mutex;

/// The values guest's echo functions (and `many`, which returns its three
/// arguments as a tuple) with their signatures, as the server reports them.
async fn echoes(conn: &mut Connection) -> Vec<(String, WitFunc)> {
    conn.execute("v", sandcall_guests::values()).await.unwrap();
    let ns = conn.namespace().await.unwrap();
    let mut echoes: Vec<(String, WitFunc)> = ns[0]
        .exports
        .iter()
        .filter(|e| e.name.starts_with("echo-") || e.name == "many")
        .filter_map(|e| match &e.kind {
            ExportKind::ComponentFunc(f) => Some((e.name.clone(), f.clone())),
            _ => None,
        })
        .collect();
    echoes.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(echoes.len() >= 20, "the values guest's echoes: {echoes:?}");
    echoes
}

/// What an echo of `args` answers.
fn echoed(export: &str, args: &[Value]) -> Value {
    match export {
        "many" => Value::Tuple(args.to_vec()),
        _ => args[0].clone(),
    }
}

#[test]
fn wit_values_of_every_type_echo_through_the_server() {
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let echoes = rt.block_on(echoes(&mut lock(&conn)));
    let calls = (0..echoes.len()).prop_flat_map(|i| {
        let args: Vec<BoxedStrategy<Value>> = echoes[i]
            .1
            .params
            .iter()
            .map(|(_, t)| value_of(t))
            .collect();
        (Just(i), args)
    });
    fuzz("wit values echoed", 4000, calls, |(i, args)| {
        let export = &echoes[i].0;
        let mut conn = lock(&conn);
        let back = rt.block_on(conn.eval("v", export, &args));
        prop_assert!(back.is_ok(), "{export}{args:?}: {back:?}");
        let back: Vec<Value> = back.unwrap().iter().map(canonical).collect();
        prop_assert_eq!(back, vec![canonical(&echoed(export, &args))], "{}", export);
        Ok(())
    });
}

#[test]
fn wit_values_of_any_shape_are_refused_cleanly() {
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let echoes = rt.block_on(echoes(&mut lock(&conn)));
    let accepted = Mutex::new(0u32);
    let calls = (0..echoes.len(), vec(any_value(), 0..4));
    fuzz("wit values of any shape", 4000, calls, |(i, args)| {
        let (export, func) = &echoes[i];
        let mut conn = lock(&conn);
        match rt.block_on(conn.eval("v", export, &args)) {
            Ok(results) => {
                // It fit after all (a bool, an empty list …): the answer
                // fits the signature.
                *lock(&accepted) += 1;
                let printed = wave::format_result(func, &results);
                prop_assert!(printed.is_ok(), "{export}: {printed:?}");
            }
            Err(e) => {
                let kind = e.kind();
                prop_assert_eq!(
                    kind,
                    Some(ErrorKind::BadRequest),
                    "{}{:?}: {}",
                    export,
                    args,
                    e
                );
            }
        }
        Ok(())
    });
    let mut conn = take(conn);
    let back = rt.block_on(conn.eval("v", "echo-s32", &[Value::I32(-7)]));
    assert_eq!(
        back.unwrap(),
        [Value::I32(-7)],
        "the instance still answers"
    );
    eprintln!("fuzz wit values of any shape: {} accepted", take(accepted));
}

/// The seed texts: (export, text) per line.
fn seeds() -> Vec<(String, String)> {
    seed_file("wave/values.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (export, text) = l.split_once('\t').expect("EXPORT<TAB>TEXT");
            (export.to_string(), text.to_string())
        })
        .collect()
}

#[test]
fn wave_seeds_and_their_mutations_parse_and_echo_through_the_server() {
    let rt = runtime();
    let server = rt.block_on(server());
    let conn = Mutex::new(rt.block_on(connect(&server)));
    let echoes = rt.block_on(echoes(&mut lock(&conn)));
    let seeds = seeds();
    let signature = |export: &str| {
        echoes
            .iter()
            .find(|(name, _)| name == export)
            .map(|(_, f)| f.clone())
            .unwrap_or_else(|| panic!("seed for unknown export {export}"))
    };
    // Every seed as written parses and echoes.
    for (export, text) in &seeds {
        let func = signature(export);
        let args = wave::parse_args(&func, &[text]).unwrap_or_else(|e| panic!("{text}: {e}"));
        let back = rt.block_on(lock(&conn).eval("v", export, &args));
        assert_eq!(
            back.unwrap().iter().map(canonical).collect::<Vec<_>>(),
            [canonical(&args[0])],
            "{export} {text}"
        );
    }
    let parsed = Mutex::new(0u32);
    let cases = (proptest::sample::select(seeds.clone()), mutations());
    fuzz(
        "wave seeds mutated",
        4000,
        cases,
        |((export, text), mutations)| {
            let func = signature(&export);
            let text = String::from_utf8_lossy(&mutate(text.into_bytes(), &mutations)).into_owned();
            let Ok(args) = wave::parse_args(&func, &[&text]) else {
                return Ok(());
            };
            *lock(&parsed) += 1;
            let back = rt.block_on(lock(&conn).eval("v", &export, &args));
            prop_assert!(back.is_ok(), "{export} {text:?}: {back:?}");
            let back: Vec<Value> = back.unwrap().iter().map(canonical).collect();
            prop_assert_eq!(back, vec![canonical(&args[0])], "{} {:?}", export, text);
            Ok(())
        },
    );
    eprintln!(
        "fuzz wave seeds mutated: {} parsed and echoed",
        take(parsed)
    );
}
