//! Fuzzing (issue 15) of what the command line reads: the words of a line
//! and `eval`'s options ([`words`]), `--input` lists of numbers and the
//! process's own arguments ([`args`]), and whole script lines run on a
//! session against a real server ([`script`]). On proptest's runner
//! ([`harness`]); seeds in `fuzz/seeds/scripts/`.

mod args;
mod harness;
mod script;
mod words;

/// The seed corpus folder, `fuzz/seeds/`.
fn seeds_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}
