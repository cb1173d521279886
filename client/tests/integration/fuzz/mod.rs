//! Fuzzing (issue 15) of what the client library and the server read:
//! WAVE text and core values as text ([`wave`]), WIT values through the
//! values guest ([`values`]) and uploads of mutated modules and components
//! ([`uploads`]), on proptest's runner ([`harness`]: fixed case counts in
//! `make test`, `SANDCALL_FUZZ_SCALE` for `make fuzz`). Seeds are in
//! `fuzz/seeds/`. The wire's own decoding is fuzzed in
//! `protocol/tests/fuzz/`, random frames on a live connection in
//! `limits.rs`.

mod harness;
mod mutate;
mod types;
mod uploads;
mod values;
mod wave;

/// A runtime for the tests that drive a server from a proptest case (the
/// runner is synchronous).
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// A file of the seed corpus, `fuzz/seeds/PATH`.
fn seed_file(path: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds")
        .join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}
