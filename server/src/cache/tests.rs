//! The module cache: bounds in bytes and entries, sharing between engines,
//! refusals before compiling.

use super::*;

/// A cache of `capacity` entries for a default engine.
fn cache(capacity: usize, max_functions: Option<u64>) -> ModuleCache {
    let engine = Engine::default();
    let linkers = Arc::new(Linkers::new(&engine).unwrap());
    let bounds = CompileBounds {
        functions: max_functions,
        ..crate::compile::COMPILE_BOUNDS
    };
    ModuleCache::new(engine, linkers, capacity, usize::MAX, 1, Some(bounds))
}

#[test]
fn the_cache_keeps_entries_within_its_bytes() {
    let engine = Engine::default();
    let linkers = Arc::new(Linkers::new(&engine).unwrap());
    let cache = ModuleCache::new(engine, linkers, 100, 3 << 20, 1, None);
    // A 1 MiB data segment, different per module.
    let data = |i: u8| {
        let segment = format!("\\{i:02x}").repeat(1 << 20);
        wat::parse_str(format!(
            "(module (memory 16) (data (i32.const 0) \"{segment}\"))"
        ))
        .unwrap()
    };
    for i in 0..8 {
        cache.get_or_compile(&data(i)).unwrap();
        let stats = cache.stats();
        assert!(stats.resident_bytes <= 3 << 20, "{stats:?}");
    }
    let stats = cache.stats();
    assert!(stats.cached >= 1 && stats.cached <= 2, "{stats:?}");
    // An entry alive in an "instance" counts, once, after its eviction.
    let held = cache.get_or_compile(&data(100)).unwrap();
    for i in 8..12 {
        cache.get_or_compile(&data(i)).unwrap();
    }
    let stats = cache.stats();
    assert!(stats.resident_bytes <= 4 << 20, "{stats:?}");
    drop(held);
    assert!(cache.stats().resident_bytes <= 3 << 20);
}

#[test]
fn two_engines_sharing_a_budget_keep_within_it_together() {
    let engine = Engine::default();
    let linkers = Arc::new(Linkers::new(&engine).unwrap());
    let first = ModuleCache::new(engine, linkers, 100, 3 << 20, 2, None);
    // Another engine, as the fuel engine is beside the CPU-time one.
    let other = Engine::default();
    let second = first.sharing(other.clone(), Arc::new(Linkers::new(&other).unwrap()));
    assert!(second.shares_bytes_with(&first));
    assert_eq!(second.compiles.available_permits(), 2);
    let _permit = second.compiles.try_acquire().unwrap();
    assert_eq!(first.compiles.available_permits(), 1, "one set of permits");
    let data = |i: u8| {
        let segment = format!("\\{i:02x}").repeat(1 << 20);
        wat::parse_str(format!(
            "(module (memory 16) (data (i32.const 0) \"{segment}\"))"
        ))
        .unwrap()
    };
    for i in 0..6 {
        let cache = if i % 2 == 0 { &first } else { &second };
        cache.get_or_compile(&data(i)).unwrap();
        assert!(
            first.stats().resident_bytes <= 3 << 20,
            "{:?}",
            first.stats()
        );
    }
    let (kept_first, kept_second) = (first.stats().cached, second.stats().cached);
    assert!(kept_second >= 1, "the newest entry is the second engine's");
    assert!(
        kept_first + kept_second <= 2,
        "{kept_first} + {kept_second}"
    );
    let small = b"(module)";
    let a = first.get_or_compile(small).unwrap();
    let b = second.get_or_compile(small).unwrap();
    assert!(!Arc::ptr_eq(&a, &b), "each engine compiles its own");
    assert_eq!((first.stats().misses, second.stats().misses), (4, 4));
}

#[test]
fn the_same_bytes_compile_once_and_the_oldest_entry_goes_first() {
    let cache = cache(2, Some(3));
    let a = cache
        .get_or_compile(b"(module (func (export \"a\")))")
        .unwrap();
    let again = cache
        .get_or_compile(b"(module (func (export \"a\")))")
        .unwrap();
    assert!(Arc::ptr_eq(&a, &again), "a hit returns the compiled module");
    let stats = cache.stats();
    assert_eq!((stats.hits, stats.misses), (1, 1), "{stats:?}");
    assert!(
        matches!(&a.code, Code::Core { pre: Some(_), .. }),
        "import-free modules are pre-instantiated"
    );
    let b = cache
        .get_or_compile(b"(module (import \"m\" \"f\" (func)))")
        .unwrap();
    assert!(matches!(&b.code, Code::Core { pre: None, .. }));
    assert_eq!(cache.stats().cached, 2);
    cache.get_or_compile(b"(module)").unwrap();
    assert_eq!(cache.stats().cached, 2);
    let a2 = cache
        .get_or_compile(b"(module (func (export \"a\")))")
        .unwrap();
    assert!(
        !Arc::ptr_eq(&a, &a2),
        "the oldest entry was evicted and compiled anew"
    );
}

#[test]
fn uploads_with_too_many_functions_are_refused_before_compiling() {
    let cache = cache(4, Some(2));
    let two = "(module (func) (func))";
    assert!(cache.get_or_compile(two.as_bytes()).is_ok());
    let three = "(module (func) (func) (func))";
    let e = cache.get_or_compile(three.as_bytes()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::ResourceLimit, "{}", e.message);
    assert!(e.message.contains("3 functions"), "{}", e.message);
    // Functions of a component's inner modules count too.
    let component = "(component (core module (func) (func)) (core module (func)))";
    let e = cache.get_or_compile(component.as_bytes()).err().unwrap();
    assert_eq!(e.kind, ErrorKind::ResourceLimit, "{}", e.message);
    assert_eq!(cache.stats().cached, 1, "nothing refused is cached");
}

#[test]
fn components_compile_and_garbage_is_refused() {
    let cache = cache(4, None);
    let c = cache.get_or_compile(b"(component)").unwrap();
    assert!(matches!(&c.code, Code::Component(c) if c.pre.is_some() && c.exports.is_empty()));
    let e = cache
        .get_or_compile(b"\0asm\x0d\0\x01\0\x07\xff")
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidModule);
    let e = cache.get_or_compile(b"nonsense").err().unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidModule);
    let e = cache
        .get_or_compile(b"(component (core module $m (func $f (export \"f\")) (func $f)))")
        .err()
        .unwrap();
    assert_eq!(e.kind, ErrorKind::InvalidModule);
    assert_eq!(
        cache.stats().cached,
        1,
        "only the valid component is cached"
    );
}
