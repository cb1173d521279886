//! `sandcall`: the command-line client.

use anyhow::Context;
use clap::{Parser, Subcommand};
use sandcall::{ConnectOptions, Connection, Mode};
use sandcall_cli::corpus::{Attack, Settings};
use sandcall_cli::script::{CommandError, Shell, format_info};
use sandcall_server::{EmbeddedServer, ServerConfig};
use std::io::{BufRead, IsTerminal, Write};
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
    after_help = "Logs go to stderr; set their level with SANDCALL_LOG (default: warn)."
)]
struct Cli {
    /// Server to talk to: `HOST:PORT` (plaintext) or `sandcalls://HOST:PORT`
    /// (TLS). A server with tenants needs a token: from the environment
    /// variable SANDCALL_TOKEN or --token-file (never on the command line,
    /// where other users see it).
    #[arg(long, default_value = "127.0.0.1:18812", conflicts_with = "embedded")]
    server: String,
    /// TLS: trust the CA in this PEM file (default: the public web roots).
    #[arg(long, value_name = "FILE")]
    ca: Option<std::path::PathBuf>,
    /// Mutual TLS: this client certificate (PEM).
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<std::path::PathBuf>,
    /// Mutual TLS: the key of --cert (PEM).
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<std::path::PathBuf>,
    /// Read the tenant's token from this file (default: $SANDCALL_TOKEN).
    #[arg(long, value_name = "FILE")]
    token_file: Option<std::path::PathBuf>,
    /// Start a server inside this process (on 127.0.0.1, a free port, default
    /// limits) instead of connecting to one. It offers unrestricted mode
    /// only to `--mode unrestricted` and to `compare`.
    #[arg(long)]
    embedded: bool,
    /// The mode to ask for: `sandboxed` (fuel, memory and deadline limits,
    /// WASI with nothing granted) or `unrestricted` (no limits, WASI with
    /// the server's environment, stdio and a directory; only when the server
    /// was started with --allow-unrestricted).
    #[arg(long, value_enum, default_value_t = ModeArg::Sandboxed)]
    mode: ModeArg,
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
    /// eval NAME EXPORT [ARGS...] [--fuel N] [--deadline-ms N] [--input FILE];
    /// ns; drop NAME; reset NAME; get NAME GLOBAL; set NAME GLOBAL VALUE;
    /// read NAME OFFSET LEN; write NAME OFFSET HEXBYTES; register NAME AS; info.
    /// `--input FILE` reads more argument words from FILE (WAVE values may
    /// span lines there). `reset` instantiates an instance afresh, e.g. after
    /// a component trapped. Module and input paths are relative to the
    /// script's folder.
    Run {
        script: PathBuf,
        /// Report errors and go on with the next line.
        #[arg(long)]
        keep_going: bool,
    },
    /// Type the same commands as `run` interactively (one session).
    Shell,
    /// Upload FILE (wasm, WAT or a component), call EXPORT once with ARGS,
    /// print the results.
    Call {
        file: PathBuf,
        export: String,
        /// Arguments, typed by the export's signature (WAVE syntax).
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
        /// Read more arguments from this file, after those given here
        /// (whitespace-separated; a WAVE value may span lines).
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Fuel for the call (default: the server's).
        #[arg(long)]
        fuel: Option<u64>,
        /// Deadline for the call in ms (default: the server's).
        #[arg(long)]
        deadline_ms: Option<u64>,
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

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDCALL_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
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
        ..ConnectOptions::default()
    };
    let conn = match Connection::open(addr.as_str(), options).await {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("error: {}", CommandError::from(e));
            return Ok(ExitCode::FAILURE);
        }
    };
    let code = match cli.command {
        Command::Info => {
            println!("{}", format_info(conn.server_info()));
            ExitCode::SUCCESS
        }
        Command::Run { script, keep_going } => {
            let text = std::fs::read_to_string(&script)
                .with_context(|| format!("while reading {}", script.display()))?;
            let base = script.parent().unwrap_or(Path::new(".")).to_path_buf();
            run_script(Shell::new(conn, base), &script, &text, keep_going).await
        }
        Command::Shell => shell(Shell::new(conn, ".")).await?,
        Command::Call {
            file,
            export,
            args,
            input,
            fuel,
            deadline_ms,
        } => {
            let mut shell = Shell::new(conn, ".");
            let name = file
                .file_stem()
                .map_or("module".into(), |s| s.to_string_lossy().into_owned());
            // A literal `--` (end of options) is not an argument.
            let mut words: Vec<String> = args;
            if let Some(i) = words.iter().position(|w| w == "--") {
                words.remove(i);
            }
            if let Some(fuel) = fuel {
                words.extend(["--fuel".into(), fuel.to_string()]);
            }
            if let Some(ms) = deadline_ms {
                words.extend(["--deadline-ms".into(), ms.to_string()]);
            }
            if let Some(path) = input {
                words.extend(["--input".into(), path.to_string_lossy().into_owned()]);
            }
            let words: Vec<&str> = words.iter().map(String::as_str).collect();
            let outcome = match shell.execute_file(&name, &file, false).await {
                Ok(_) => shell.eval(&name, &export, &words).await,
                Err(e) => Err(e),
            };
            match outcome {
                Ok(out) => {
                    print_output(&out);
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Compare { .. } => unreachable!("handled above"),
        Command::Wast { files } => {
            drop(conn);
            let total =
                sandcall_cli::wast::run_files(&addr, &files, &mut std::io::stdout()).await?;
            if total.failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    };
    if let Some(server) = embedded {
        server
            .stop()
            .await
            .context("while stopping the embedded server")?;
    }
    Ok(code)
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

async fn run_script(mut shell: Shell, path: &Path, text: &str, keep_going: bool) -> ExitCode {
    let mut failed = false;
    for (n, line) in text.lines().enumerate() {
        match shell.run_line(line).await {
            Ok(out) => print_output(&out),
            Err(e) => {
                eprintln!("{}:{}: error: {e}", path.display(), n + 1);
                failed = true;
                if !keep_going {
                    break;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn shell(mut shell: Shell) -> anyhow::Result<ExitCode> {
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            print!("sandcall> ");
            std::io::stdout().flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line.context("while reading standard input")?;
        if matches!(line.trim(), "quit" | "exit") {
            break;
        }
        match shell.run_line(&line).await {
            Ok(out) => print_output(&out),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_output(out: &str) {
    if !out.is_empty() {
        println!("{out}");
    }
}
