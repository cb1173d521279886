//! `sandcall-server`: listen for Sandcall clients.

use anyhow::Context;
use clap::Parser;
use sandcall_server::{LimitConfig, ServerConfig, TlsConfig};
use std::io::Write;
use std::path::PathBuf;
use tokio_util::sync::CancellationToken;

/// Serve WebAssembly remote execution: clients upload modules, the server runs
/// them sandboxed (fuel, memory, deadline, WASI with nothing granted) and
/// keeps the instances in each client's namespace until it disconnects. The
/// limit flags below are the sandboxed mode's; unrestricted mode (off unless
/// --allow-unrestricted) keeps only the size, instance and connection limits.
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "Logs go to stderr; set their level with SANDCALL_LOG (default: info). \
                  SIGTERM drains: /healthz turns 503, no new sessions, those under way get up to \
                  --drain-timeout to end. SIGINT (or a second SIGTERM) stops the server once each \
                  connection's call under way is answered."
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on. Port 0 picks a free port; the real address is
    /// printed as `listening on ADDR`.
    #[arg(long, default_value = "127.0.0.1:18812")]
    listen: String,
    /// Also offer unrestricted mode to clients that ask for it: no fuel, no
    /// memory or table caps, no default deadline, and WASI with this
    /// process's environment, stdio and --unrestricted-dir. Like RPyC's
    /// classic mode, it gives the server away: only for trusted clients and
    /// for comparisons. Logged as a warning at start.
    #[arg(long)]
    allow_unrestricted: bool,
    /// The directory unrestricted guests see as `.` through WASI (read and
    /// write). Default: the working directory.
    #[arg(long, value_name = "DIR", requires = "allow_unrestricted")]
    unrestricted_dir: Option<std::path::PathBuf>,
    /// Serve TLS only, with this certificate chain (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Mutual TLS: require a client certificate signed by this CA (PEM);
    /// its subject common name names the tenant.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_client_ca: Option<PathBuf>,
    /// Tenants and the SHA-256 of their tokens (TOML; see `tenant add`):
    /// every client must present a token (or a client certificate) of one.
    #[arg(long, value_name = "FILE")]
    tenants: Option<PathBuf>,
    /// Listen beyond loopback without TLS and tenants (logged as a warning).
    #[arg(long)]
    insecure: bool,
    /// Close sessions idle this long, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    idle_timeout: u64,
    /// Serve HTTP on this address: `/metrics` (Prometheus text) and
    /// `/healthz` (200 while accepting, 503 while draining). Port 0 picks a
    /// free port; the real address is printed as `metrics on ADDR`.
    #[arg(long, value_name = "ADDR")]
    metrics: Option<String>,
    /// On SIGTERM, how long sessions under way may go on before they are
    /// ended, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    drain_timeout: u64,
    #[command(flatten)]
    limits: LimitConfig,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Manage the tenants file.
    #[command(subcommand)]
    Tenant(TenantCommand),
}

#[derive(clap::Subcommand, Debug)]
enum TenantCommand {
    /// Add a tenant, or a new token to an existing one: prints the token
    /// once, alone on the last line; the file keeps only its SHA-256.
    Add {
        name: String,
        #[arg(long, value_name = "FILE")]
        tenants: PathBuf,
        /// The tenant may use unrestricted mode (on a server started with
        /// --allow-unrestricted).
        #[arg(long)]
        unrestricted: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Process-wide, so the binary's to set: calls that pass large lists
    // reuse freed buffers instead of faulting their pages in again.
    sandcall_server::tune_allocator();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SANDCALL_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    if let Some(Command::Tenant(TenantCommand::Add {
        name,
        tenants,
        unrestricted,
    })) = &args.command
    {
        let token = sandcall_server::add_tenant(tenants, name, *unrestricted)?;
        println!(
            "added a token for tenant {name:?} to {}; give it to the client (SANDCALL_TOKEN or \
             --token-file); it is not stored and is shown only now:",
            tenants.display()
        );
        println!("{token}");
        return Ok(());
    }
    let config = ServerConfig {
        limits: args.limits,
        allow_unrestricted: args.allow_unrestricted,
        unrestricted_dir: args.unrestricted_dir,
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| TlsConfig {
                cert,
                key,
                client_ca: args.tls_client_ca,
            }),
        tenants: args.tenants,
        idle_timeout: Some(std::time::Duration::from_secs(args.idle_timeout)),
        drain_timeout: Some(std::time::Duration::from_secs(args.drain_timeout)),
        ..ServerConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("while binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    sandcall_server::check_exposure(addr, &config, args.insecure)?;
    println!("listening on {addr}");
    let metrics = match &args.metrics {
        Some(at) => {
            let metrics = tokio::net::TcpListener::bind(at)
                .await
                .with_context(|| format!("while binding --metrics {at}"))?;
            println!("metrics on {}", metrics.local_addr()?);
            Some(metrics)
        }
        None => None,
    };
    std::io::stdout().flush()?;
    let (drain, shutdown) = (CancellationToken::new(), CancellationToken::new());
    tokio::spawn(stop_on_signal(drain.clone(), shutdown.clone()));
    let listeners = sandcall_server::Listeners {
        sessions: listener,
        metrics,
    };
    sandcall_server::run_with(listeners, config, drain, shutdown)
        .await
        .context("while serving")?;
    Ok(())
}

/// SIGTERM cancels `drain` (a second one, `shutdown`); SIGINT cancels
/// `shutdown`.
async fn stop_on_signal(drain: CancellationToken, shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                shutdown.cancel();
                return;
            }
        };
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                _ = term.recv() => {
                    if drain.is_cancelled() {
                        break;
                    }
                    tracing::info!("SIGTERM: draining");
                    drain.cancel();
                }
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        let _ = &drain;
    }
    tracing::info!("signal received, stopping");
    shutdown.cancel();
}
