//! `sandcall`: the command-line client.

mod args;

use anyhow::Context;
use args::{Cli, Command, ModeArg, NewCommand};
use clap::Parser;
use sandcall::{ConnectOptions, Connection, Mode};
use sandcall_cli::corpus::{Attack, Settings};
use sandcall_cli::outcome::{CommandError, Outcome};
use sandcall_cli::report::{Printer, run_script};
use sandcall_cli::script::{CallOptions, Session, format_info};
use sandcall_server::{EmbeddedServer, ServerConfig};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    let fuel_call = matches!(&cli.command, Command::Call { fuel: Some(_), .. });
    let options = ConnectOptions {
        mode: cli.mode.into(),
        metering: match cli.metering {
            Some(metering) => metering.into(),
            None if fuel_call => sandcall::Metering::Fuel,
            None => sandcall::Metering::Cpu,
        },
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
            cpu_ms,
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
                cpu_ms,
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
        Command::Wast { files, suite, all } => {
            drop(conn);
            let mut stdout = std::io::stdout();
            let total = if all || !suite.is_empty() {
                let suites = if all {
                    sandcall_cli::wast::SUITES.map(String::from).to_vec()
                } else {
                    suite
                };
                let mut total = sandcall_cli::wast::run_suites(&addr, &suites, &mut stdout).await?;
                if !files.is_empty() {
                    total.add(sandcall_cli::wast::run_files(&addr, &files, &mut stdout).await?);
                }
                total
            } else {
                sandcall_cli::wast::run_files(&addr, &files, &mut stdout).await?
            };
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
        for (outcome, mode) in
            row.iter()
                .zip([Mode::Sandboxed, Mode::Sandboxed, Mode::Unrestricted])
        {
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
