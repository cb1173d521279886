//! `sandcall new guest` and `sandcall build`: a guest crate written from
//! the template, built into a component with nothing but cargo and the
//! CLI, uploaded to a real server; its output and its panic's message
//! reach the client.

use crate::cli::{scratch, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `sandcall ARGS` with SANDCALL_SERVER=`addr` (if any), off the runtime.
async fn sandcall(addr: Option<String>, args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_sandcall"));
        cmd.args(&args);
        if let Some(addr) = addr {
            cmd.env("SANDCALL_SERVER", addr);
        }
        // The guests' own build folder: wit-bindgen's build-time crates are
        // compiled there already (same versions: the template's lock file
        // is the sort guest's).
        cmd.env("CARGO_TARGET_DIR", workspace().join("target/guest-build"));
        cmd.output().expect("sandcall runs")
    })
    .await
    .unwrap()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ has a parent")
        .to_path_buf()
}

fn args(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_guest_builds_uploads_answers_and_its_panic_message_arrives() {
    let dir = scratch("scaffold");
    let _ = std::fs::remove_dir_all(dir.join("hello-guest"));
    let crate_dir = dir.join("hello-guest");
    let crate_path = crate_dir.to_str().unwrap().to_string();
    let out = sandcall(None, args(&["new", "guest", &crate_path])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    for file in [
        "Cargo.toml",
        "Cargo.lock",
        "wit/world.wit",
        "src/lib.rs",
        "README.md",
    ] {
        assert!(crate_dir.join(file).is_file(), "{file}");
    }
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("crate-type = [\"cdylib\"]"), "{manifest}");
    assert!(manifest.contains("wit-bindgen = \"=0.61.1\""), "{manifest}");
    // Not over a crate that is there.
    let again = sandcall(None, args(&["new", "guest", &crate_path])).await;
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("exists and is not empty"));
    let bad = sandcall(None, args(&["new", "guest", "Bad_Name"])).await;
    assert!(text(&bad.stderr).contains("lower-case words joined by `-`"));

    // `build` where there is no crate says what it wants.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = sandcall(None, args(&["build", empty.to_str().unwrap()])).await;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("no Cargo.toml in "),
        "{}",
        text(&out.stderr)
    );

    let component = dir.join("hello.wasm");
    let component_path = component.to_str().unwrap().to_string();
    let out = sandcall(None, args(&["build", &crate_path, "-o", &component_path])).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("(a component, "),
        "{}",
        text(&out.stdout)
    );
    let bytes = std::fs::read(&component).unwrap();
    assert!(wasmparser::Parser::is_component(&bytes));

    let server = crate::server().await;
    let addr = Some(server.addr().to_string());
    let call = |words: &[&str]| {
        let mut all = args(&["call", &component_path]);
        all.extend(args(words));
        sandcall(addr.clone(), all)
    };
    let out = call(&["add", "40", "2"]).await;
    assert_eq!(text(&out.stdout), "42\n", "{}", text(&out.stderr));
    // The guest's stdout, marked as the guest's, on stderr.
    let out = call(&["greet", "\"you\""]).await;
    assert_eq!(text(&out.stdout), "\"Hello, you!\"\n");
    assert!(
        text(&out.stderr).contains("[guest stdout] greeting you"),
        "{}",
        text(&out.stderr)
    );
    let out = call(&["greet", "\"json\"", "--json"]).await;
    let object: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(object["stdout"], "greeting json\n", "{object}");
    // A panic: a trap, with the panic's message.
    let out = call(&["divide", "7", "0"]).await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: trap: "), "{stderr}");
    assert!(stderr.contains("cannot divide 7 by zero"), "{stderr}");
    let out = call(&["divide", "7", "2"]).await;
    assert_eq!(text(&out.stdout), "3\n");

    // The core module cargo wrote, uploaded as it is, gets the advice.
    let core = workspace().join("target/guest-build/wasm32-wasip1/release/hello_guest.wasm");
    let out = sandcall(
        addr.clone(),
        args(&["call", core.to_str().unwrap(), "add", "1", "2"]),
    )
    .await;
    assert!(
        text(&out.stderr).contains("Make it a component with `sandcall build`"),
        "{}",
        text(&out.stderr)
    );
}
