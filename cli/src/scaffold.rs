//! `sandcall new guest NAME`: a ready Rust guest crate, so that writing a
//! guest starts from something that builds, uploads and answers.
//!
//! The crate targets `wasm32-wasip1`: Rust's standard library then prints a
//! panic's message to stderr through WASI `fd_write`, which the server
//! captures and returns with the trap, so `panic!` and a failed
//! `assert_eq!` reach the client with their message. `sandcall build`
//! ([`crate::guest_build`]) turns it into a component.

use anyhow::{Context, bail};
use std::path::Path;

/// The wit-bindgen the repository's own guests use: the WIT it embeds is
/// one that wit-component 0.254 (wasmtime 48's) reads.
pub const WIT_BINDGEN: &str = "=0.61.1";

/// The sort guest's lock file: the template starts from the same,
/// known-good versions of wit-bindgen's dependencies.
const LOCK: &str = include_str!("../../guest-sort/Cargo.lock");

/// Write a guest crate at `path`, named after its last part.
///
/// # Errors
/// A name that is not a lower-case kebab-case word (`my-guest`), a folder
/// that exists and is not empty, or a failed write.
pub fn new_guest(path: &Path) -> anyhow::Result<String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .context("the path must end in the crate's name, e.g. `my-guest`")?;
    if !is_kebab(name) {
        bail!(
            "`{name}` cannot name a guest: use lower-case words joined by `-` (e.g. `my-guest`), \
             which both Cargo and WIT accept"
        );
    }
    if path.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        bail!("{} exists and is not empty", path.display());
    }
    let files = [
        ("Cargo.toml", cargo_toml(name)),
        (
            "Cargo.lock",
            LOCK.replace("name = \"guest-sort\"", &format!("name = \"{name}\"")),
        ),
        ("wit/world.wit", WORLD.replace("NAME", name)),
        ("src/lib.rs", LIB_RS.replace("NAME", name)),
        ("README.md", README.replace("NAME", name)),
        (".gitignore", "/target\n".into()),
    ];
    for (file, contents) in files {
        let file = path.join(file);
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("while creating {}", parent.display()))?;
        }
        std::fs::write(&file, contents)
            .with_context(|| format!("while writing {}", file.display()))?;
    }
    let shown = path.display();
    Ok(format!(
        "wrote the guest crate {shown} (see its README.md). Next:\n  \
         sandcall build {shown}\n  \
         sandcall --embedded call {shown}/target/{name}.wasm add 40 2"
    ))
}

/// Lower-case ASCII words of letters and digits, each starting with a
/// letter, joined by single `-`: valid as a crate name and a WIT name.
fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name.split('-').all(|word| {
            word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        })
}

fn cargo_toml(name: &str) -> String {
    format!(
        r#"# A Sandcall guest: a WebAssembly component exporting the world in
# wit/world.wit. Build it with `sandcall build` (see README.md).
[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
# A cdylib is what makes cargo write a `.wasm` file.
crate-type = ["cdylib"]

[dependencies]
# Pinned: the WIT it embeds must be readable by the wit-component of
# wasmtime 48 that `sandcall build` and the server use.
wit-bindgen = "{WIT_BINDGEN}"

[profile.release]
# A panic prints its message to stderr (returned to the client), then traps.
panic = "abort"
lto = true
codegen-units = 1
# Keep the `component-type` custom section that wit-bindgen embeds.
strip = "debuginfo"

# Its own workspace, even inside another one.
[workspace]
"#
    )
}

const WORLD: &str = r#"package local:NAME;

/// What this guest exports. `sandcall call FILE EXPORT ARGS...` and the
/// shell's `eval NAME EXPORT ARGS...` call these by name, with arguments in
/// WAVE syntax (`42`, `"text"`, `[1, 2, 3]`).
world guest {
  /// a + b, wrapping on overflow.
  export add: func(a: s32, b: s32) -> s32;

  /// a / b. Panics when b is 0: the panic message reaches the client.
  export divide: func(a: s32, b: s32) -> s32;

  /// Prints a line on stdout (the client shows it as the guest's) and
  /// returns a greeting.
  export greet: func(name: string) -> string;
}
"#;

const LIB_RS: &str = r#"//! NAME: a Sandcall guest exporting the world `guest` of `wit/world.wit`.
//!
//! `println!` and `eprintln!` write to WASI stdout and stderr: the server
//! captures both and returns them with each answer, and `sandcall` prints
//! them marked as the guest's. A panic prints its message there too.

wit_bindgen::generate!({
    world: "guest",
    path: "wit",
});

struct Component;

impl Guest for Component {
    fn add(a: i32, b: i32) -> i32 {
        a.wrapping_add(b)
    }

    fn divide(a: i32, b: i32) -> i32 {
        if b == 0 {
            panic!("cannot divide {a} by zero");
        }
        a.wrapping_div(b)
    }

    fn greet(name: String) -> String {
        println!("greeting {name}");
        format!("Hello, {name}!")
    }
}

export!(Component);
"#;

const README: &str = r#"# NAME

A Sandcall guest: a WebAssembly component written in
Rust, exporting the functions of `wit/world.wit`.

## Build and call

```sh
sandcall build                                   # writes target/NAME.wasm
sandcall --embedded call target/NAME.wasm add 40 2       # 42
sandcall --embedded call target/NAME.wasm greet '"you"'  # "Hello, you!" and the guest's stdout
sandcall --embedded call target/NAME.wasm divide 1 0     # a trap, with the panic message
```

`sandcall build` runs `cargo build --release --target wasm32-wasip1`
(adding the target with `rustup` if it is missing) and wraps the core
module into a component, with the WASI preview-1 adapter, using the same
`wit-component` as the server. Nothing else to install. Against a running
server, drop `--embedded` (and give `--server HOST:PORT` or set
`SANDCALL_SERVER`).

## Change it

1. Edit the world in `wit/world.wit`: functions take and return WIT types
   (`s32`, `f64`, `string`, `list<T>`, records, variants, options, results).
2. Implement them in `src/lib.rs`: the `Guest` trait that
   `wit_bindgen::generate!` makes has one method per export (kebab-case
   names become snake_case).
3. `sandcall build` again.

## What the guest may do

In the server's sandboxed mode (the default), WASI is there but grants
nothing: no files, environment, arguments or clock beyond what WASI
always answers. Output to stdout and stderr is captured per call (up to the
server's limit) and returned to the client. Each call runs under fuel, a
deadline and memory limits; `sandcall info` prints them.

## By hand

What `sandcall build` does, with your own tools:

```sh
rustup target add wasm32-wasip1
cargo build --release --target wasm32-wasip1
# then wrap target/wasm32-wasip1/release/<crate>.wasm into a component with
# the WASI preview-1 *reactor* adapter, e.g. with wasm-tools:
wasm-tools component new target/wasm32-wasip1/release/<crate>.wasm \
    --adapt wasi_snapshot_preview1.reactor.wasm -o NAME.wasm
```

Keep `crate-type = ["cdylib"]` (without it cargo writes no `.wasm`) and
the pinned `wit-bindgen` version in `Cargo.toml`.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_suit_cargo_and_wit() {
        assert!(is_kebab("my-guest"));
        assert!(is_kebab("g2"));
        for bad in ["", "My", "my_guest", "-a", "a--b", "2a", "a-"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }

    #[test]
    fn the_lock_names_the_sort_guest_once() {
        assert_eq!(LOCK.matches("name = \"guest-sort\"").count(), 1);
        assert!(LOCK.contains("name = \"wit-bindgen\"\nversion = \"0.61.1\""));
    }
}
