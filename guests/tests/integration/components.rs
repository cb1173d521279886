//! The built components run in wasmtime with an empty linker: the sorts sort
//! (a million elements, including the shapes that break naive quick sorts),
//! and the values guest echoes, keeps state, traps, spins and grows as its WIT
//! documents.

use sandcall_guests::random_ints as random;
use std::time::Duration;

use wasmtime::component::{Component, Instance, Linker, Val};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};

const MILLION: usize = 1_000_000;

/// A fresh instance of `bytes` in its own store, instantiated with nothing
/// linked in; the store's memory is capped at `max_memory` bytes.
fn instantiate(engine: &Engine, bytes: &[u8], max_memory: usize) -> (Store<StoreLimits>, Instance) {
    let component = Component::new(engine, bytes).expect("compiles");
    let limits = StoreLimitsBuilder::new().memory_size(max_memory).build();
    let mut store = Store::new(engine, limits);
    store.limiter(|limits| limits);
    let instance = Linker::new(engine)
        .instantiate(&mut store, &component)
        .expect("instantiates");
    (store, instance)
}

/// Calls the sort export `name` on `data` and checks it against the standard
/// library's sort.
fn check_sort(store: &mut Store<StoreLimits>, instance: &Instance, name: &str, data: Vec<i32>) {
    let sort = instance
        .get_typed_func::<(Vec<i32>,), (Vec<i32>,)>(&mut *store, name)
        .expect(name);
    let mut expected = data.clone();
    expected.sort_unstable();
    let (sorted,) = sort.call(&mut *store, (data,)).expect(name);
    assert!(
        sorted == expected,
        "{name} returned an unsorted or altered list"
    );
}

#[test]
fn no_import_needs_a_definition() {
    let engine = Engine::default();
    for (path, bytes) in [
        (sandcall_guests::SORT, sandcall_guests::sort()),
        (sandcall_guests::VALUES, sandcall_guests::values()),
    ] {
        let component = Component::new(&engine, bytes).expect("compiles");
        let imports: Vec<_> = component
            .component_type()
            .imports(&engine)
            .map(|(n, _)| n.to_string())
            .collect();
        assert!(imports.is_empty(), "{path} imports {imports:?}");
    }
}

#[test]
fn sorts_agree_with_std_on_a_million_elements() {
    let engine = Engine::default();
    let (mut store, sort) = instantiate(&engine, &sandcall_guests::sort(), 256 << 20);
    let shapes: [(&str, Vec<i32>); 5] = [
        ("random", random(MILLION, 0x5eed)),
        ("sorted", (0..MILLION as i32).collect()),
        ("reversed", (0..MILLION as i32).rev().collect()),
        ("all equal", vec![7; MILLION]),
        (
            "min/max",
            (0..MILLION)
                .map(|i| if i % 3 == 0 { i32::MIN } else { i32::MAX })
                .collect(),
        ),
    ];
    for (shape, data) in shapes {
        eprintln!("quick-sort, {shape}");
        check_sort(&mut store, &sort, "quick-sort", data);
    }
    check_sort(&mut store, &sort, "sort-unstable", random(MILLION, 1));
    // Quadratic: a few thousand elements are plenty.
    check_sort(&mut store, &sort, "bubble-sort", random(3_000, 2));
    check_sort(
        &mut store,
        &sort,
        "bubble-sort",
        (0..MILLION as i32).collect(),
    );
    for name in ["bubble-sort", "quick-sort", "sort-unstable"] {
        check_sort(&mut store, &sort, name, Vec::new());
        check_sort(&mut store, &sort, name, vec![i32::MAX, i32::MIN]);
    }
}

#[test]
fn values_round_trip_and_keep_state() {
    let engine = Engine::default();
    let (mut store, values) = instantiate(&engine, &sandcall_guests::values(), 64 << 20);

    let many = values
        .get_typed_func::<(u8, &str, &[f32]), ((u8, String, Vec<f32>),)>(&mut store, "many")
        .unwrap();
    let (got,) = many.call(&mut store, (7, "seven", &[0.5, -1.0])).unwrap();
    assert_eq!(got, (7, "seven".to_string(), vec![0.5, -1.0]));

    let result = values
        .get_typed_func::<(Result<u32, &str>,), (Result<u32, String>,)>(&mut store, "echo-result")
        .unwrap();
    assert_eq!(
        result.call(&mut store, (Err("no"),)).unwrap().0,
        Err("no".to_string())
    );

    // Records go through the dynamic API: no Rust type mirrors `point` here.
    let point = Val::Record(vec![
        ("x".into(), Val::S32(-1)),
        ("y".into(), Val::S32(2)),
        ("label".into(), Val::String("p".into())),
    ]);
    let nested = Val::List(vec![Val::Option(Some(Box::new(point))), Val::Option(None)]);
    let echo_nested = values.get_func(&mut store, "echo-nested").unwrap();
    let mut out = [Val::Bool(false)];
    echo_nested
        .call(&mut store, std::slice::from_ref(&nested), &mut out)
        .unwrap();
    assert_eq!(out[0], nested);

    let sum = values
        .get_typed_func::<(&[i32],), (i64,)>(&mut store, "sum")
        .unwrap();
    assert_eq!(
        sum.call(&mut store, (&[i32::MAX, i32::MAX, 2],)).unwrap().0,
        1 << 32
    );

    let repeat = values
        .get_typed_func::<(u32,), (Vec<u8>,)>(&mut store, "repeat")
        .unwrap();
    let bytes = repeat.call(&mut store, (300,)).unwrap().0;
    assert_eq!(
        (bytes.len(), bytes[255], bytes[256], bytes[299]),
        (300, 255, 0, 43)
    );

    let text = values
        .get_export_index(&mut store, None, "sandcall:values/text@0.1.0")
        .unwrap();
    let upper = values
        .get_export_index(&mut store, Some(&text), "upper")
        .unwrap();
    let upper = values
        .get_typed_func::<(&str,), (String,)>(&mut store, &upper)
        .unwrap();
    assert_eq!(upper.call(&mut store, ("straße",)).unwrap().0, "STRASSE");

    let bump = values
        .get_typed_func::<(), (u32,)>(&mut store, "bump")
        .unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap().0, 1);
    assert_eq!(bump.call(&mut store, ()).unwrap().0, 2);
    // A new instance has a new memory, so the counter starts over.
    let (mut store, values) = instantiate(&engine, &sandcall_guests::values(), 64 << 20);
    let bump = values
        .get_typed_func::<(), (u32,)>(&mut store, "bump")
        .unwrap();
    assert_eq!(bump.call(&mut store, ()).unwrap().0, 1);
}

#[test]
fn crash_traps_and_grow_stops_at_the_memory_limit() {
    let engine = Engine::default();
    let bytes = sandcall_guests::values();

    let (mut store, values) = instantiate(&engine, &bytes, 64 << 20);
    let crash = values
        .get_typed_func::<(&str,), ()>(&mut store, "crash")
        .unwrap();
    let err = crash.call(&mut store, ("boom",)).unwrap_err();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::UnreachableCodeReached),
        "{err:?}"
    );

    let (mut store, values) = instantiate(&engine, &bytes, 64 << 20);
    let grow = values
        .get_typed_func::<(u64,), (u64,)>(&mut store, "grow")
        .unwrap();
    assert_eq!(grow.call(&mut store, (16 << 20,)).unwrap().0, 16 << 20);
    let err = grow.call(&mut store, (128 << 20,)).unwrap_err();
    assert!(err.downcast_ref::<Trap>().is_some(), "not a trap: {err:?}");
}

#[test]
fn spin_runs_until_the_epoch_deadline() {
    let mut config = Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config).unwrap();
    let (mut store, values) = instantiate(&engine, &sandcall_guests::values(), 64 << 20);
    store.set_epoch_deadline(1);
    let spin = values.get_typed_func::<(), ()>(&mut store, "spin").unwrap();
    let ticker = engine.clone();
    let tick = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        ticker.increment_epoch();
    });
    let err = spin.call(&mut store, ()).unwrap_err();
    tick.join().unwrap();
    assert_eq!(
        err.downcast_ref::<Trap>(),
        Some(&Trap::Interrupt),
        "{err:?}"
    );
}
