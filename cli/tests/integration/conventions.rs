//! The command line's conventions, run as a user would against a real
//! server: the address from SANDCALL_SERVER, global options after the
//! subcommand, `--` ending options, unknown options refused, `--json`,
//! `-` for standard input, `run -v`, and errors that say what to do.

use crate::cli::{ADD, scratch, text, write};
use sandcall_server::{EmbeddedServer, LimitConfig, ServerConfig};
use std::io::{Read, Write as _};
use std::process::{Command, Output, Stdio};

/// `sandcall ARGS` with SANDCALL_SERVER=`addr` and `stdin` as its input,
/// off the async runtime (the server runs on it).
async fn at(addr: &str, args: &[&str], stdin: &str) -> Output {
    let addr = addr.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let stdin = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sandcall"))
            .args(&args)
            .env("SANDCALL_SERVER", addr)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sandcall runs");
        let mut input = child.stdin.take().unwrap();
        input.write_all(stdin.as_bytes()).unwrap();
        drop(input);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_comes_from_the_environment_and_options_may_follow_the_subcommand() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let out = at(&addr, &["info", "--json"], "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let info = &json_lines(&out)[0];
    assert_eq!(info["mode"], "sandboxed", "{info}");
    assert_eq!(info["ok"], true);
    assert!(
        info["limits"]["frame_bytes"].as_u64().unwrap() > 0,
        "{info}"
    );
    // A flag after the subcommand overrides the environment.
    let out = at("127.0.0.1:1", &["info", "--server", &addr], "").await;
    assert!(
        text(&out.stdout).contains("mode: sandboxed"),
        "{}",
        text(&out.stderr)
    );
    let out = at("127.0.0.1:1", &["info"], "").await;
    assert!(text(&out.stderr).contains("cannot connect to 127.0.0.1:1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn options_end_at_double_dash_and_unknown_ones_are_refused() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let dir = scratch("conventions-options");
    let file = write(&dir, "add.wat", ADD);
    let file = file.to_str().unwrap();
    let out = at(&addr, &["call", file, "add", "--", "-1", "-5"], "").await;
    assert_eq!(text(&out.stdout), "-6\n", "{}", text(&out.stderr));
    let out = at(
        &addr,
        &["call", file, "add", "-1", "-5", "--fuel", "100"],
        "",
    )
    .await;
    assert_eq!(text(&out.stdout), "-6\n", "{}", text(&out.stderr));
    // A misspelt flag after EXPORT is an error, not two more arguments.
    let out = at(&addr, &["call", file, "add", "1", "--fule", "5"], "").await;
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("'--fule'") && stderr.contains("'--fuel'"),
        "{stderr}"
    );
    // An unquoted list split by the shell: told to quote it.
    let sort = sandcall_guests::SORT;
    let out = at(
        &addr,
        &["call", sort, "quick-sort", "[5,", "3,", "9,", "1]"],
        "",
    )
    .await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("got 4"), "{stderr}");
    assert!(stderr.contains("quote it, '[5, 3, 9, 1]'"), "{stderr}");
    // In a script the same rules hold for `eval`.
    let script =
        format!("execute m {file}\neval m add 1 2 --fule 3\neval m add --cpu-ms=100 -- -1 -2\n");
    let out = at(&addr, &["run", "--keep-going", "-"], &script).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(":2: error: usage: unknown option `--fule` (did you mean `--fuel`?)"),
        "{stderr}"
    );
    assert_eq!(text(&out.stdout), "-3\n", "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_gives_one_object_per_command() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let dir = scratch("conventions-json");
    let file = write(&dir, "add.wat", ADD);
    let file = file.to_str().unwrap();
    let args = [
        "--metering",
        "fuel",
        "call",
        file,
        "add",
        "40",
        "2",
        "--json",
    ];
    let out = at(&addr, &args, "").await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let call = &json_lines(&out)[0];
    assert_eq!(call["ok"], true);
    assert_eq!(call["results"], serde_json::json!(["42"]));
    assert!(call["fuel_used"].as_u64().unwrap() > 0, "{call}");
    assert!(call["guest_ns"].as_u64().unwrap() > 0, "{call}");
    assert_eq!(call["stdout"], "");

    let script = format!("# a comment\nexecute m {file}\neval m nothing\neval m swap 1.5 7\n");
    let out = at(&addr, &["--json", "run", "--keep-going", "-"], &script).await;
    assert!(!out.status.success(), "an error still fails the run");
    let objects = json_lines(&out);
    assert_eq!(objects.len(), 3, "{}", text(&out.stdout));
    assert_eq!(objects[0]["instance"]["kind"], "core");
    assert_eq!(objects[0]["instance"]["exports"][0]["name"], "add");
    assert_eq!(objects[1]["ok"], false);
    assert_eq!(objects[1]["error"]["kind"], "not-found");
    assert_eq!(objects[1]["command"], "eval m nothing");
    assert_eq!(objects[2]["results"], serde_json::json!(["7", "1.5"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_input_serves_as_script_and_input_and_v_echoes() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let dir = scratch("conventions-stdin");
    let file = write(&dir, "add.wat", ADD);
    let script = format!("execute m {}\n\neval m add 1 2\n", file.display());
    let out = at(&addr, &["run", "-v", "-"], &script).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], format!("sandcall> execute m {}", file.display()));
    assert!(lines[1].starts_with("m: core module"), "{stdout}");
    assert_eq!(lines[2..], ["sandcall> eval m add 1 2", "3"], "{stdout}");
    let sort = sandcall_guests::SORT;
    let out = at(
        &addr,
        &["call", sort, "sort-unstable", "--input", "-"],
        "[3,\n 1, 2]\n",
    )
    .await;
    assert_eq!(text(&out.stdout), "[1, 2, 3]\n", "{}", text(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_say_what_to_do() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let dir = scratch("conventions-errors");
    let globals = write(
        &dir,
        "globals.wat",
        r#"(module (global (export "g") (mut i32) (i32.const 7))
                   (global (export "f") (mut f64) (f64.const 1)))"#,
    );
    let bad = write(
        &dir,
        "bad.wat",
        "(module\n  (func (export \"x\") i32.add2))",
    );
    let script = format!(
        "execute m {}\nfrobnicate 1\nevl m\nset m g 4294967295\nset m f 1e400\nget m g\n\
         get m f\nexecute b {}\n",
        globals.display(),
        bad.display()
    );
    let out = at(&addr, &["run", "--keep-going", "-"], &script).await;
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(":2: error: usage: unknown command `frobnicate`; try `help`"),
        "{stderr}"
    );
    assert!(stderr.contains(":3: error: usage: unknown command `evl` (did you mean `eval`?)"));
    assert!(
        stderr.contains(":4: error: usage: `4294967295` is out of range for i32"),
        "{stderr}"
    );
    assert!(
        stderr.contains(":5: error: usage: `1e400` is out of range for f64"),
        "{stderr}"
    );
    // Nothing was stored.
    assert_eq!(text(&out.stdout), "7\n1\n", "{stderr}");
    // WAT errors name the file, line and column.
    assert!(stderr.contains(":8: error: invalid-module: "), "{stderr}");
    assert!(stderr.contains("bad.wat:2:"), "{stderr}");
    assert!(!stderr.contains("<anon>"), "{stderr}");
    // A component value out of range: no byte offsets, "out of range".
    let sort = sandcall_guests::SORT;
    let out = at(&addr, &["call", sort, "quick-sort", "[1, 4294967295]"], "").await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("out of range for s32"), "{stderr}");
    assert!(!stderr.contains("byte"), "{stderr}");
    // `help` and `help COMMAND`.
    let out = at(&addr, &["run", "-"], "help\nhelp set\n").await;
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("commands (`help COMMAND` for more):"),
        "{stdout}"
    );
    assert!(stdout.contains("usage: set NAME GLOBAL VALUE"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_core_module_with_component_metadata_suggests_sandcall_build() {
    let server = crate::server().await;
    let addr = server.addr().to_string();
    let dir = scratch("conventions-core");
    // What wit-bindgen leaves in a core module: a `component-type` section.
    let core = wat::parse_str(
        r#"(module (@custom "component-type:guest" "\00")
             (func (export "add") (param i32 i32) (result i32)
               local.get 0 local.get 1 i32.add))"#,
    )
    .unwrap();
    let path = dir.join("core.wasm");
    std::fs::write(&path, core).unwrap();
    let out = at(
        &addr,
        &["call", path.to_str().unwrap(), "add", "1", "2"],
        "",
    )
    .await;
    assert_eq!(text(&out.stdout), "3\n");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("component-type metadata"), "{stderr}");
    assert!(stderr.contains("`sandcall build`"), "{stderr}");
}

/// A large `--input` list is streamed into the request: the client's peak
/// memory stays a small multiple of the list's packed size, and a request
/// larger than the server's frames is refused naming `--frame-bytes`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_inputs_stream_and_the_frame_limit_names_its_flag() {
    const N: usize = 5_000_000;
    let server = EmbeddedServer::start(ServerConfig {
        limits: LimitConfig {
            frame_bytes: 64 << 20,
            ..LimitConfig::default()
        },
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let addr = server.addr().to_string();
    let dir = scratch("conventions-large");
    let path = dir.join("ints.wave");
    let mut data: Vec<i32> = (0..N as i64)
        .map(|i| ((i * 2_654_435_761) % 4_000_000_007 - 2_000_000_000) as i32)
        .collect();
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        file.write_all(b"[").unwrap();
        for v in &data {
            writeln!(file, "{v},").unwrap();
        }
        file.write_all(b"]\n").unwrap();
    }
    let text_bytes = std::fs::metadata(&path).unwrap().len();
    let sort = sandcall_guests::SORT;
    let args = [
        "call",
        sort,
        "sort-unstable",
        "--input",
        path.to_str().unwrap(),
        "--fuel",
        "50000000000",
        "--deadline-ms",
        "60000",
    ];
    let (out, peak_kb) = peak_rss(&addr, &args).await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    data.sort_unstable();
    let printed = text(&out.stdout);
    assert!(printed.starts_with(&format!("[{}, {}", data[0], data[1])));
    assert!(printed.trim_end().ends_with(&format!("{}]", data[N - 1])));
    // The old path (text, then WAVE values, then packed) took ~100 bytes
    // per element: 500 MB here. Streamed: the packed list (20 MB), its frame,
    // the answer and its printed text (~60 MB), and the program itself.
    println!(
        "{N} ints ({} MB of text): client peak RSS {} MB",
        text_bytes >> 20,
        peak_kb >> 10
    );
    assert!(peak_kb < 300 << 10, "peak RSS {peak_kb} kB");

    // A frame limit smaller than the request: refused before sending,
    // naming the flag that raises it.
    let small = EmbeddedServer::start(ServerConfig {
        limits: LimitConfig {
            frame_bytes: 1 << 20,
            ..LimitConfig::default()
        },
        ..ServerConfig::default()
    })
    .await
    .unwrap();
    let out = at(&small.addr().to_string(), &args, "").await;
    let stderr = text(&out.stderr);
    assert!(stderr.contains("error: resource-limit: "), "{stderr}");
    assert!(stderr.contains("--frame-bytes"), "{stderr}");
}

/// Run `sandcall ARGS` and return its output and its peak resident set
/// (kB, from `wait4`'s rusage of that very child).
async fn peak_rss(addr: &str, args: &[&str]) -> (Output, i64) {
    let addr = addr.to_string();
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        // Reaped by `wait4` below, which also reports its peak memory.
        #[allow(clippy::zombie_processes)]
        let mut child = Command::new(env!("CARGO_BIN_EXE_sandcall"))
            .args(&args)
            .env("SANDCALL_SERVER", addr)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        let drain = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        };
        let readers = (drain(Box::new(stdout)), drain(Box::new(stderr)));
        let mut status = 0;
        // SAFETY: an all-zero rusage is valid; wait4 fills it for this child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        let pid = child.id() as libc::pid_t;
        // SAFETY: pid is our child, not yet waited for; the pointers are valid.
        let got = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(got, pid);
        let output = Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(status),
            stdout: readers.0.join().unwrap(),
            stderr: readers.1.join().unwrap(),
        };
        (output, usage.ru_maxrss)
    })
    .await
    .unwrap()
}
