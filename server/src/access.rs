//! Who may open a session: TLS, tenants and their tokens, the slowing down
//! of addresses that keep guessing tokens, and the timeouts of the
//! handshake and of idle sessions.

use crate::config::ServerConfig;
use crate::server::ServerError;
use crate::tenants::Tenants;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio_rustls::TlsAcceptor;

/// Default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(900);
/// How long a client may take to finish TLS and say hello.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Sockets that may be in their handshake at once, besides the sessions:
/// silent sockets take these, never a session's slot.
pub const HANDSHAKE_RESERVE: usize = 256;

/// Everything the handshake checks, built once per server.
pub struct Access {
    pub tls: Option<TlsAcceptor>,
    /// Clients must show a certificate; its common name names the tenant.
    pub mutual_tls: bool,
    pub tenants: Option<Tenants>,
    pub throttle: Throttle,
    pub idle_timeout: Duration,
    pub handshake_timeout: Duration,
}

impl Access {
    /// Load the TLS material and the tenants file of `config`.
    ///
    /// # Errors
    /// When a file cannot be read or is invalid (the message names it, and
    /// the line for the tenants file).
    pub fn new(config: &ServerConfig) -> Result<Access, ServerError> {
        let tls = config.tls.as_ref().map(crate::tls::acceptor).transpose()?;
        let quota_period = config.quota_period.unwrap_or(Duration::from_secs(60));
        let tenants = config
            .tenants
            .as_deref()
            .map(|path| Tenants::load(path, quota_period))
            .transpose()?;
        Ok(Access {
            tls,
            mutual_tls: config.tls.as_ref().is_some_and(|t| t.client_ca.is_some()),
            tenants,
            throttle: Throttle::default(),
            idle_timeout: config.idle_timeout.unwrap_or(DEFAULT_IDLE_TIMEOUT),
            handshake_timeout: config
                .handshake_timeout
                .unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
        })
    }
}

/// Refuse to listen beyond loopback without TLS and tenants, unless
/// `insecure` (then warn).
///
/// # Errors
/// [`ServerError::Config`] naming the flags to add.
pub fn check_exposure(
    addr: SocketAddr,
    config: &ServerConfig,
    insecure: bool,
) -> Result<(), ServerError> {
    if addr.ip().is_loopback() {
        return Ok(());
    }
    let mut missing = Vec::new();
    if config.tls.is_none() {
        missing.push("--tls-cert FILE --tls-key FILE");
    }
    if config.tenants.is_none() {
        missing.push("--tenants FILE");
    }
    if missing.is_empty() {
        return Ok(());
    }
    if insecure {
        tracing::warn!(
            %addr,
            "--insecure: listening beyond loopback without {}; anyone who reaches the port \
             can use this server",
            missing.join(" and ")
        );
        return Ok(());
    }
    Err(ServerError::Config(format!(
        "refusing to listen on {addr}, beyond loopback, without TLS and tenants: add {} \
         (or --insecure to accept the risk)",
        missing.join(" and ")
    )))
}

/// Failed tokens per address. After [`FREE_FAILURES`], each further refusal
/// to that address is delayed twice as long as the one before, up to
/// [`MAX_DELAY`]; other addresses are not slowed.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

/// Failed tokens an address may send before its refusals are delayed.
pub const FREE_FAILURES: u32 = 5;
/// The longest delay of a refusal.
pub const MAX_DELAY: Duration = Duration::from_secs(2);
/// An address's failures are forgotten after this long without one.
const FORGET_AFTER: Duration = Duration::from_secs(600);

impl Throttle {
    /// Count a failure from `ip`; how long to wait before answering it.
    pub fn failed(&self, ip: IpAddr) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        if failures.len() > 100_000 {
            failures.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        }
        let entry = failures.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
        let over = entry.0.saturating_sub(FREE_FAILURES);
        if over == 0 {
            return Duration::ZERO;
        }
        let delay = Duration::from_millis(50).saturating_mul(1 << (over - 1).min(16));
        delay.min(MAX_DELAY)
    }
}
