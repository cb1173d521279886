//! `sandcall build [DIR]`: a guest crate (as `sandcall new guest` writes
//! it) into a component, with nothing but cargo and rustup.
//!
//! 1. `wasm32-wasip1` is added with `rustup target add` when the toolchain
//!    lacks it;
//! 2. `cargo build --release --target wasm32-wasip1`, its JSON messages
//!    naming the `.wasm` it wrote;
//! 3. the core module is wrapped into a component with `wit-component`
//!    (the version wasmtime 48 is built with, as `guests/build.rs` uses) and
//!    the WASI preview-1 reactor adapter of wasmtime 48, which turns the
//!    module's `fd_write` into WASI 0.2 streams the server captures.
//!
//! A crate built for `wasm32-wasip2` already comes out as a component and
//! is copied as it is.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use wasi_preview1_component_adapter_provider::{
    WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
};
use wit_component::ComponentEncoder;

/// The target guests are built for: WASI preview 1, so that Rust's std
/// writes panic messages to stderr.
pub const TARGET: &str = "wasm32-wasip1";

/// Build the guest crate in `dir` and write its component to `output`
/// (default: `<target dir>/<crate>.wasm`). Cargo's own output goes to
/// stderr as usual. Returns what was written.
///
/// # Errors
/// No `Cargo.toml` in `dir`, the target cannot be added, cargo fails, the
/// crate makes no `.wasm` (no `crate-type = ["cdylib"]`), or the module
/// cannot be made a component (e.g. no WIT world embedded by wit-bindgen).
pub fn build(dir: &Path, output: Option<&Path>) -> anyhow::Result<String> {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        bail!(
            "no Cargo.toml in {}: give the guest crate's folder (`sandcall new guest NAME` \
             writes one)",
            dir.display()
        );
    }
    let dir = &dir
        .canonicalize()
        .with_context(|| format!("while finding {}", dir.display()))?;
    let manifest = dir.join("Cargo.toml");
    let package = package_name(&manifest)?;
    ensure_target(dir)?;
    let core_path = cargo_build(dir, &manifest)?;
    let core = std::fs::read(&core_path)
        .with_context(|| format!("while reading {}", core_path.display()))?;
    let component = if wasmparser::Parser::is_component(&core) {
        core
    } else {
        componentize(&core).with_context(|| {
            format!(
                "while making a component of {} (does the crate use wit-bindgen's \
                 `generate!` and `export!`?)",
                core_path.display()
            )
        })?
    };
    let output = match output {
        Some(path) => path.to_path_buf(),
        None => default_output(&core_path, &package)?,
    };
    std::fs::write(&output, &component)
        .with_context(|| format!("while writing {}", output.display()))?;
    Ok(format!(
        "wrote {} (a component, {} bytes)\ntry: sandcall --embedded call {} EXPORT ARGS...",
        output.display(),
        component.len(),
        output.display()
    ))
}

/// Wrap a wasip1 core module made with wit-bindgen into a component.
///
/// # Errors
/// What wit-component says: no embedded WIT world, imports it cannot
/// satisfy, an invalid module.
pub fn componentize(core: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut encoder = ComponentEncoder::default()
        .module(core)?
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )?
        .validate(true);
    encoder.encode()
}

/// `T/wasm32-wasip1/release/x.wasm` → `T/<package>.wasm`.
fn default_output(core: &Path, package: &str) -> anyhow::Result<PathBuf> {
    let target_dir = core
        .ancestors()
        .nth(3)
        .context("cargo wrote the module outside a target folder")?;
    Ok(target_dir.join(format!("{package}.wasm")))
}

/// The `[package] name` of a Cargo.toml.
fn package_name(manifest: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("while reading {}", manifest.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("while reading {}", manifest.display()))?;
    doc.get("package")
        .and_then(|p| p.get("name"))
        .and_then(|n| n.as_str())
        .map(str::to_string)
        .with_context(|| format!("{} names no [package]", manifest.display()))
}

/// Adds the target with rustup when the toolchain used in `dir` lacks it.
fn ensure_target(dir: &Path) -> anyhow::Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let libdir = Command::new(&rustc)
        .args(["--print", "target-libdir", "--target", TARGET])
        .current_dir(dir)
        .output()
        .with_context(|| format!("while running {rustc:?} (is Rust installed?)"))?;
    let path = String::from_utf8_lossy(&libdir.stdout).trim().to_string();
    if libdir.status.success() && Path::new(&path).is_dir() {
        return Ok(());
    }
    eprintln!("the {TARGET} target is missing: running `rustup target add {TARGET}`");
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .current_dir(dir)
        .status()
        .context("while running rustup (install Rust with rustup, or add the target by hand)")?;
    if !status.success() {
        bail!("`rustup target add {TARGET}` failed ({status})");
    }
    Ok(())
}

/// Runs cargo and returns the `.wasm` of the crate's cdylib.
fn cargo_build(dir: &Path, manifest: &Path) -> anyhow::Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.args(["build", "--release", "--target", TARGET])
        .arg("--manifest-path")
        .arg(manifest)
        .arg("--message-format=json-render-diagnostics")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let out = cmd
        .output()
        .with_context(|| format!("while running {cargo:?}"))?;
    if !out.status.success() {
        bail!(
            "cargo build for {TARGET} failed ({}); its errors are above",
            out.status
        );
    }
    let mut wasm = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let cdylib = message["target"]["crate_types"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "cdylib"));
        if message["reason"] == "compiler-artifact" && cdylib {
            wasm = message["filenames"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f.as_str())
                .find(|f| f.ends_with(".wasm"))
                .map(PathBuf::from);
        }
    }
    wasm.context(
        "cargo wrote no .wasm: the crate needs `[lib] crate-type = [\"cdylib\"]` in its Cargo.toml",
    )
}
