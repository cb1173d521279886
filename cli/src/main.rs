//! `sandcall`: the command-line client.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sandcall::{ConnectOptions, Connection, Mode};
use sandcall_cli::corpus::{Attack, Settings};
use sandcall_cli::outcome::{CommandError, Outcome};
use sandcall_cli::report::{Printer, run_script};
use sandcall_cli::script::{CallOptions, Session, format_info};
use sandcall_server::{EmbeddedServer, ServerConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Run WebAssembly on a Sandcall server: upload core modules or components,
/// call their exports, inspect their state. Values are written and printed in
/// WAVE syntax, typed by the export's signature (`42`, `-1.5`, `nan`;
/// several core results as `(1, 2)`; component values such as
/// `[5, 3, 9, 1]`, `{x: 1, label: "a"}`, `some('x')`, `ok(3)`, `{read, exec}`).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Global options may also follow the subcommand (`sandcall info --json`). \
                  Logs go to stderr; set their level with SANDCALL_LOG (default: warn)."
)]
struct Cli {
    /// Server to talk to: `HOST:PORT` (plaintext) or `sandcalls://HOST:PORT`
    /// (TLS). A server with tenants needs a token: from the environment
    /// variable SANDCALL_TOKEN or --token-file (never on the command line,
    /// where other users see it). Ignored with --embedded.
    #[arg(
        long,
        global = true,
        env = "SANDCALL_SERVER",
        default_value = "127.0.0.1:18812"
    )]
    server: String,
    /// TLS: trust the CA in this PEM file (default: the public web roots).
    #[arg(long, global = true, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Mutual TLS: this client certificate (PEM).
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Mutual TLS: the key of --cert (PEM).
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// Read the tenant's token from this file (default: $SANDCALL_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Start a server inside this process (on 127.0.0.1, a free port, default
    /// limits) instead of connecting to one. It offers unrestricted mode
    /// only to `--mode unrestricted` and to `compare`.
    #[arg(long, global = true)]
    embedded: bool,
    /// The mode to ask for: `sandboxed` (fuel, memory and deadline limits,
    /// WASI with nothing granted) or `unrestricted` (no limits, WASI with
    /// the server's environment and a directory; only when the server was
    /// started with --allow-unrestricted). Guest output comes back with
    /// each answer in both modes (see --host-stdio).
    #[arg(long, global = true, value_enum, default_value_t = ModeArg::Sandboxed)]
    mode: ModeArg,
    /// Print one JSON object per command (`info`, `call`, each line of `run`
    /// and `shell`) instead of text: results (WAVE text), fuel used, guest
    /// time, guest output, or the error's kind and message.
    #[arg(long, global = true)]
    json: bool,
    /// Unrestricted mode only: guests write to the server's own stdout and
    /// stderr, as a program run there would, instead of returning their
    /// output with each answer.
    #[arg(long, global = true)]
    host_stdio: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ModeArg {
    Sandboxed,
    Unrestricted,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::Sandboxed => Mode::Sandboxed,
            ModeArg::Unrestricted => Mode::Unrestricted,
        }
    }
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the server's versions, mode, limits and wasm features.
    Info,
    /// Run a script of commands, one per line, in one session.
    ///
    /// `#` starts a comment. Stops at the first error (exit 1) unless
    /// --keep-going. Commands: execute NAME PATH [--replace];
    /// eval NAME EXPORT [ARGS...] [--fuel N] [--deadline-ms N] [--input FILE] [-- ARGS...];
    /// ns; drop NAME; reset NAME; get NAME GLOBAL; set NAME GLOBAL VALUE;
    /// read NAME OFFSET LEN; write NAME OFFSET HEXBYTES; register NAME AS;
    /// info; help [COMMAND]. `--input FILE` reads more argument words from
    /// FILE (`-`: standard input; WAVE values may span lines there).
    /// `reset` instantiates an instance afresh, e.g. after a component
    /// trapped. Module and input paths are relative to the script's folder.
    Run {
        /// The script; `-` reads it from standard input.
        script: PathBuf,
        /// Report errors and go on with the next line.
        #[arg(long)]
        keep_going: bool,
        /// Echo each command (as `sandcall> LINE`) before its output.
        #[arg(short, long)]
        verbose: bool,
    },
    /// Type the same commands as `run` interactively (one session): line
    /// editing, history, Tab completion, `help`. Ctrl-C cancels a running
    /// call; Ctrl-C at the prompt, Ctrl-D or `quit` leaves.
    Shell,
    /// Upload FILE (wasm, WAT or a component), call EXPORT once with ARGS,
    /// print the results.
    ///
    /// Options end at `--`: `call FILE EXPORT -- ARGS...` passes anything,
    /// even words that start with `-`. Quote a value with spaces for your
    /// shell: '[5, 3, 9, 1]'.
    Call {
        file: PathBuf,
        export: String,
        /// Arguments, typed by the export's signature (WAVE syntax).
        #[arg(allow_negative_numbers = true)]
        args: Vec<String>,
        /// Read more arguments from this file (`-`: standard input), after
        /// those given here (whitespace-separated; a WAVE value may span
        /// lines). A list of numbers there is streamed into the request.
        #[arg(long, value_name = "FILE")]
        input: Option<String>,
        /// Fuel for the call (default: the server's).
        #[arg(long)]
        fuel: Option<u64>,
        /// Deadline for the call in ms (default: the server's).
        #[arg(long)]
        deadline_ms: Option<u64>,
    },
    /// Write a new guest crate: a Rust component with a WIT world, ready
    /// for `sandcall build`.
    New {
        #[command(subcommand)]
        what: NewCommand,
    },
    /// Build the guest crate in DIR (default: `.`) into a component:
    /// `cargo build --release` for wasm32-wasip1 (added with rustup when
    /// missing), then the core module wrapped into a component with
    /// wit-component and the WASI preview-1 adapter. No other tool needed.
    Build {
        /// The guest crate's folder (with its Cargo.toml).
        #[arg(default_value = ".")]
        dir: PathBuf,
        /// Where to write the component (default: DIR's target folder,
        /// `target/NAME.wasm`).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run the hostile-guest corpus and the sort guest in both modes and
    /// print two tables: each attack's outcome sandboxed and unrestricted
    /// (while a second client keeps calling), and the sorts' times
    /// sandboxed, unrestricted and compiled natively into this binary.
    ///
    /// With --embedded the server offers both modes and gives unrestricted
    /// guests a fresh temporary directory holding a planted `secret.txt`.
    /// Against another server, unrestricted columns need
    /// --allow-unrestricted there. Attacks that never end unrestricted run
    /// there in a bounded form and say so. Exits 1 if an outcome is not
    /// the expected one.
    Compare {
        /// Smaller attacks and lists (seconds instead of a minute).
        #[arg(long)]
        quick: bool,
    },
    /// Run WebAssembly spec test scripts (.wast) through the protocol.
    ///
    /// Each file runs in its own session. Prints a line per failing
    /// directive, `FILE: N passed, M failed` per file and a total. Exits 1
    /// on any failure.
    Wast {
        /// Script files (.wast).
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum NewCommand {
    /// A Rust guest: `Cargo.toml` (cdylib, wit-bindgen pinned), `wit/`,
    /// `src/lib.rs` with a few exports (one panics on demand, to show that
    /// panic messages reach the client) and a README with the steps.
    Guest {
        /// The folder to create; its last part names the crate.
        path: PathBuf,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDCALL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    // Commands that need no server.
    match &cli.command {
        Command::New {
            what: NewCommand::Guest { path },
        } => return report_plain(sandcall_cli::scaffold::new_guest(path)),
        Command::Build { dir, output } => {
            return report_plain(sandcall_cli::guest_build::build(dir, output.as_deref()));
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: io: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `new` and `build`: what they did on stdout, or the error.
fn report_plain(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let comparing = matches!(cli.command, Command::Compare { .. });
    let planted = if cli.embedded && comparing {
        Some(PlantedDir::new().context("while preparing the unrestricted directory")?)
    } else {
        None
    };
    let embedded = if cli.embedded {
        // The server runs in this process: tune its allocator as the
        // `sandcall-server` binary does (process-wide, so only here).
        sandcall_server::tune_allocator();
        let config = ServerConfig {
            allow_unrestricted: comparing || cli.mode == ModeArg::Unrestricted,
            unrestricted_dir: planted.as_ref().map(|p| p.path.clone()),
            ..ServerConfig::default()
        };
        Some(
            EmbeddedServer::start(config)
                .await
                .context("while starting the embedded server")?,
        )
    } else {
        None
    };
    let addr = embedded
        .as_ref()
        .map_or(cli.server.clone(), |s| s.addr().to_string());
    if let Command::Compare { quick } = cli.command {
        let code = compare(&addr, quick).await;
        if let Some(server) = embedded {
            server
                .stop()
                .await
                .context("while stopping the embedded server")?;
        }
        drop(planted);
        return code;
    }
    let token = match &cli.token_file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("while reading --token-file {}", path.display()))?
                .trim()
                .to_string(),
        ),
        None => std::env::var("SANDCALL_TOKEN").ok(),
    };
    let options = ConnectOptions {
        mode: cli.mode.into(),
        token,
        ca: cli.ca.clone(),
        cert: cli.cert.clone(),
        key: cli.key.clone(),
        host_stdio: cli.host_stdio,
        ..ConnectOptions::default()
    };
    let printer = Printer { json: cli.json };
    let conn = match Connection::open(addr.as_str(), options).await {
        Ok(conn) => conn,
        Err(e) => {
            let error = CommandError::from(e);
            printer.report(None, "connect", &Err(error), false);
            return Ok(ExitCode::FAILURE);
        }
    };
    let ok = match cli.command {
        Command::Info => {
            if cli.json {
                println!("{}", sandcall_cli::json::info(conn.server_info()));
            } else {
                println!("{}", format_info(conn.server_info()));
            }
            true
        }
        Command::Run {
            script,
            keep_going,
            verbose,
        } => {
            let (name, text, base) = if script == Path::new("-") {
                let text = std::io::read_to_string(std::io::stdin())
                    .context("while reading the script from standard input")?;
                ("<stdin>".to_string(), text, PathBuf::from("."))
            } else {
                let text = std::fs::read_to_string(&script)
                    .with_context(|| format!("while reading {}", script.display()))?;
                let base = script.parent().unwrap_or(Path::new(".")).to_path_buf();
                (script.display().to_string(), text, base)
            };
            let mut session = Session::new(conn, base);
            run_script(&mut session, printer, &name, &text, keep_going, verbose).await
        }
        Command::Shell => {
            sandcall_cli::shell::run(Session::new(conn, "."), printer).await;
            true
        }
        Command::Call {
            file,
            export,
            args,
            input,
            fuel,
            deadline_ms,
        } => {
            let mut session = Session::new(conn, ".");
            let name = file
                .file_stem()
                .map_or("module".into(), |s| s.to_string_lossy().into_owned());
            let texts: Vec<&str> = args.iter().map(String::as_str).collect();
            let options = CallOptions {
                fuel,
                deadline_ms,
                input,
            };
            let line = format!("call {} {export}", file.display());
            let result = match session.execute_file(&name, &file, false).await {
                Ok(executed) if cli.json => {
                    // One object: the upload's note goes with the call's.
                    let mut result = session.eval(&name, &export, &texts, &options).await;
                    if let Ok(out) = &mut result {
                        out.note = executed.note;
                    }
                    result
                }
                Ok(executed) => {
                    // The upload's note and its start function's output first.
                    let upload = Outcome {
                        summary: None,
                        ..executed
                    };
                    printer.report(None, &line, &Ok(upload), false);
                    session.eval(&name, &export, &texts, &options).await
                }
                Err(e) => Err(e),
            };
            printer.report(None, &line, &result, false);
            result.is_ok()
        }
        Command::New { .. } | Command::Build { .. } => unreachable!("handled in main"),
        Command::Compare { .. } => unreachable!("handled above"),
        Command::Wast { files } => {
            drop(conn);
            let total =
                sandcall_cli::wast::run_files(&addr, &files, &mut std::io::stdout()).await?;
            total.failed == 0
        }
    };
    if let Some(server) = embedded {
        server
            .stop()
            .await
            .context("while stopping the embedded server")?;
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `sandcall compare`: both tables, and exit 1 when an outcome is not the
/// expected one.
async fn compare(addr: &str, quick: bool) -> anyhow::Result<ExitCode> {
    let settings = if quick {
        Settings::quick()
    } else {
        Settings::full()
    };
    let sorts: Vec<_> = sandcall_guests::SORT_WORKLOADS
        .iter()
        .filter(|(_, n, _)| !quick || *n <= 100_000)
        .copied()
        .collect();
    let mut stdout = std::io::stdout();
    let (outcomes, _) =
        sandcall_cli::compare::compare(addr, &settings, &sorts, &mut stdout).await?;
    let mut code = ExitCode::SUCCESS;
    for (attack, row) in Attack::ALL.iter().zip(&outcomes) {
        for (outcome, mode) in row.iter().zip([Mode::Sandboxed, Mode::Unrestricted]) {
            if let Some(outcome) = outcome
                && outcome.verdict != attack.expected(mode)
            {
                eprintln!(
                    "error: {} in {mode} mode: expected {:?}, got {:?} ({})",
                    attack.name(),
                    attack.expected(mode),
                    outcome.verdict,
                    outcome.detail
                );
                code = ExitCode::FAILURE;
            }
        }
    }
    Ok(code)
}

/// A fresh temporary directory with a planted `secret.txt`, removed on drop:
/// what `compare --embedded` lets unrestricted guests see.
struct PlantedDir {
    path: PathBuf,
}

impl PlantedDir {
    fn new() -> std::io::Result<PlantedDir> {
        let path = std::env::temp_dir().join(format!("sandcall-compare-{}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        std::fs::write(
            path.join(sandcall_cli::corpus::modules::SECRET_FILE),
            "planted by sandcall compare: a file of the server's\n",
        )?;
        Ok(PlantedDir { path })
    }
}

impl Drop for PlantedDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
