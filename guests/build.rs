//! Builds the guest crates from source and turns them into components.
//!
//! For each of `guest-sort` and `guest-values` (crates outside the workspace,
//! beside this one): `cargo build --release --target wasm32-unknown-unknown`
//! into `target/guest-build`, then `wit-component` wraps the core module into
//! a component, written to `target/guest/<name>.wasm`. No WASI adapter: the
//! component imports nothing the host has to provide. The absolute paths reach the library as the
//! `SANDCALL_GUEST_*` environment variables. Same shape as wasmtime's
//! `crates/test-programs/artifacts/build.rs`.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wit_component::ComponentEncoder;

const TARGET: &str = "wasm32-unknown-unknown";

/// Each guest crate's directory under the workspace root, and the variable
/// that carries its component's path.
const GUESTS: [(&str, &str); 2] = [
    ("guest-sort", "SANDCALL_GUEST_SORT"),
    ("guest-values", "SANDCALL_GUEST_VALUES"),
];

/// Variables the outer build sets that would leak its settings (flags, target,
/// target dir, clippy's wrapper, profile overrides) into the guest builds.
const LEAKY_VARS: [&str; 12] = [
    "CARGO_ENCODED_RUSTFLAGS",
    "RUSTFLAGS",
    "CARGO_BUILD_RUSTFLAGS",
    "CARGO_TARGET_DIR",
    "CARGO_BUILD_TARGET_DIR",
    "CARGO_BUILD_TARGET",
    "RUSTC_WORKSPACE_WRAPPER",
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_INCREMENTAL",
    "CARGO_ENCODED_RUSTDOCFLAGS",
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("guests/ has a parent")
        .to_path_buf();
    let build_dir = root.join("target/guest-build");
    let out_dir = root.join("target/guest");
    fs::create_dir_all(&out_dir).unwrap_or_else(|e| panic!("creating {}: {e}", out_dir.display()));

    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed={}", root.join("wit").display());
    ensure_target();

    for (name, var) in GUESTS {
        let crate_dir = root.join(name);
        for input in ["src", "Cargo.toml", "Cargo.lock"] {
            println!("cargo:rerun-if-changed={}", crate_dir.join(input).display());
        }
        let core = build_core_module(&crate_dir, &build_dir, name);
        let component = componentize(&core, name);
        let path = out_dir.join(format!("{name}.wasm"));
        fs::write(&path, component).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        date_back(&path);
        println!("cargo:rerun-if-changed={}", path.display());
        println!("cargo:rustc-env={var}={}", path.display());
    }
}

/// Gives an output the modification time of this build script's binary.
///
/// Watching the outputs makes cargo rebuild them after they are deleted, but
/// cargo counts a watched file newer than the start of this run as changed:
/// left as written, the outputs would rerun the script on every build.
fn date_back(path: &Path) {
    let exe = env::current_exe().expect("the build script's path");
    let compiled = fs::metadata(&exe)
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|e| panic!("reading the time of {}: {e}", exe.display()));
    fs::File::options()
        .write(true)
        .open(path)
        .and_then(|file| file.set_modified(compiled))
        .unwrap_or_else(|e| panic!("setting the time of {}: {e}", path.display()));
}

/// Installs the wasm target with rustup when the toolchain lacks it.
fn ensure_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .output()
        .unwrap_or_else(|e| panic!("running {rustc:?}: {e}"));
    let libdir = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if output.status.success() && Path::new(&libdir).is_dir() {
        return;
    }
    eprintln!("the {TARGET} standard library is missing; running `rustup target add {TARGET}`");
    let added = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match added {
        Ok(status) if status.success() => {}
        other => panic!(
            "the {TARGET} target is not installed and `rustup target add {TARGET}` failed \
             ({other:?}); install it by hand (or run `make wasm-target`) and build again"
        ),
    }
}

/// Runs `cargo build` on one guest crate and returns its core wasm module.
fn build_core_module(crate_dir: &Path, build_dir: &Path, name: &str) -> Vec<u8> {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(build_dir);
    for var in LEAKY_VARS {
        cmd.env_remove(var);
    }
    for (var, _) in env::vars_os() {
        if var
            .to_str()
            .is_some_and(|v| v.starts_with("CARGO_PROFILE_"))
        {
            cmd.env_remove(var);
        }
    }
    eprintln!("running: {cmd:?}");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo for {name}: {e}"));
    assert!(
        status.success(),
        "building {name} for {TARGET} failed ({status})"
    );

    // Cargo names the artifact after the crate, with `-` turned into `_`.
    let wasm = build_dir
        .join(TARGET)
        .join("release")
        .join(format!("{}.wasm", name.replace('-', "_")));
    fs::read(&wasm).unwrap_or_else(|e| panic!("reading {}: {e}", wasm.display()))
}

/// Wraps a core module built with wit-bindgen into a component, using the
/// WIT world embedded in its `component-type` custom section.
fn componentize(core: &[u8], name: &str) -> Vec<u8> {
    ComponentEncoder::default()
        .module(core)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| panic!("encoding {name} as a component: {e:?}"))
}
