//! One level of `make load`: hold the idle connections, run the active
//! ones for a while, check every answer, and measure the server's RSS.

use crate::process::ServerProcess;
use anyhow::Context;
use sandcall::{ClientError, Connection, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The length of each list sorted.
const LIST: usize = 100;
/// An answer later than this counts as lost.
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// Connections opened at once: well below the server's handshake slots.
const CONNECTING: usize = 64;

/// What one level measured.
#[derive(Debug, Default, serde::Serialize)]
pub struct Row {
    pub active: usize,
    pub idle: usize,
    pub calls: u64,
    pub errors: u64,
    pub lost: u64,
    pub seconds: f64,
    pub p50_ns: u64,
    pub p99_ns: u64,
    /// Server RSS before the level's connections opened, and with all of
    /// them open and the active ones running.
    pub rss_before: u64,
    pub rss_during: u64,
    /// Server RSS per idle connection (measured once they are all open).
    pub rss_per_idle: Option<f64>,
}

impl Row {
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.seconds.max(1e-9)
    }

    /// Server RSS per connection open during the level.
    pub fn rss_per_connection(&self) -> f64 {
        self.rss_during.saturating_sub(self.rss_before) as f64 / (self.active + self.idle) as f64
    }
}

/// One active connection's tally.
#[derive(Default)]
struct Tally {
    calls: u64,
    errors: u64,
    lost: u64,
    latencies: Vec<Duration>,
}

/// Run `active` connections for `duration` while `idle` others stay open.
///
/// # Errors
/// When the server's RSS cannot be read; connection failures are counted,
/// not returned.
pub async fn level(
    server: &ServerProcess,
    active: usize,
    idle: usize,
    duration: Duration,
) -> anyhow::Result<Row> {
    let addr = server.addr.clone();
    let rss_before = rss(server.pid())?;
    let held = open_idle(&addr, idle).await;
    let rss_per_idle = (idle > 0).then(|| -> anyhow::Result<f64> {
        Ok(rss(server.pid())?.saturating_sub(rss_before) as f64 / idle as f64)
    });
    let rss_per_idle = rss_per_idle.transpose()?;
    let idle_failed = idle - held.len();
    // Everyone starts sending at once, once everyone is connected.
    let ready = Arc::new(tokio::sync::Barrier::new(active + 1));
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let mut workers = Vec::with_capacity(active);
    for n in 0..active {
        let (addr, ready, connecting) = (addr.clone(), ready.clone(), connecting.clone());
        workers.push(tokio::spawn(async move {
            worker(&addr, n as u64, ready, connecting, duration).await
        }));
    }
    ready.wait().await;
    let started = Instant::now();
    // Sample the RSS half-way, while every connection is busy.
    tokio::time::sleep(duration / 2).await;
    let rss_during = rss(server.pid())?;
    let mut total = Tally::default();
    for worker in workers {
        let tally = worker.await.context("a connection's task failed")?;
        total.calls += tally.calls;
        total.errors += tally.errors;
        total.lost += tally.lost;
        total.latencies.extend(tally.latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    drop(held);
    let mut latencies = total.latencies;
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    };
    Ok(Row {
        active,
        idle,
        calls: total.calls,
        errors: total.errors + idle_failed as u64,
        lost: total.lost,
        seconds,
        p50_ns: pct(0.5),
        p99_ns: pct(0.99),
        rss_before,
        rss_during,
        rss_per_idle,
    })
}

/// Upload the sort guest once, so that every level finds it in the
/// server's cache and no level's RSS counts the compile.
///
/// # Errors
/// When the server cannot be reached or refuses the upload.
pub async fn warm_up(addr: &str) -> anyhow::Result<()> {
    let mut conn = Connection::connect(addr).await?;
    conn.execute("sorter", sandcall_guests::SORT_WASM)
        .await
        .context("while uploading the sort guest")?;
    Ok(())
}

/// Open `count` connections that send nothing after their hello.
async fn open_idle(addr: &str, count: usize) -> Vec<Connection> {
    let connecting = Arc::new(Semaphore::new(CONNECTING));
    let mut opening = Vec::with_capacity(count);
    for _ in 0..count {
        let (addr, connecting) = (addr.to_string(), connecting.clone());
        opening.push(tokio::spawn(async move {
            let _turn = connecting.acquire_owned().await.ok()?;
            match Connection::connect(addr.as_str()).await {
                Ok(conn) => Some(conn),
                Err(e) => {
                    eprintln!("load: an idle connection failed: {e}");
                    None
                }
            }
        }));
    }
    let mut held = Vec::with_capacity(count);
    for opened in opening {
        if let Ok(Some(conn)) = opened.await {
            held.push(conn);
        }
    }
    held
}

/// One active connection: connect, upload the sort guest, then sort
/// random lists until `duration` has passed, checking every answer.
async fn worker(
    addr: &str,
    n: u64,
    ready: Arc<tokio::sync::Barrier>,
    connecting: Arc<Semaphore>,
    duration: Duration,
) -> Tally {
    let mut tally = Tally::default();
    let turn = connecting.acquire_owned().await;
    let conn = async {
        let mut conn = Connection::connect(addr).await?;
        conn.execute("sorter", sandcall_guests::SORT_WASM).await?;
        Ok::<_, ClientError>(conn)
    }
    .await;
    drop(turn);
    ready.wait().await;
    let mut conn = match conn {
        Ok(conn) => conn,
        Err(e) => {
            eprintln!("load: connection {n} could not start: {e}");
            tally.errors += 1;
            return tally;
        }
    };
    let until = Instant::now() + duration;
    let mut seed = n << 32;
    while Instant::now() < until {
        seed += 1;
        let data = sandcall_guests::random_ints(LIST, seed);
        let mut sorted = data.clone();
        sorted.sort_unstable();
        let sent = Instant::now();
        let answer = tokio::time::timeout(
            REPLY_TIMEOUT,
            conn.call("sorter", "quick-sort", vec![Value::list_of(&data)]),
        )
        .await;
        tally.calls += 1;
        match answer {
            Ok(Ok(result)) => {
                tally.latencies.push(sent.elapsed());
                let got = result.results.first().and_then(|v| v.to_numbers::<i32>());
                if got.as_deref() != Some(sorted.as_slice()) {
                    eprintln!("load: connection {n}: a wrong sort");
                    tally.lost += 1;
                }
            }
            // The server refused and said why: an error, not a loss.
            Ok(Err(ClientError::Remote(e))) => {
                eprintln!("load: connection {n}: {e}");
                tally.errors += 1;
            }
            // No answer (the connection broke), or one with the wrong id.
            Ok(Err(e)) => {
                eprintln!("load: connection {n}: {e}");
                tally.lost += 1;
                break;
            }
            Err(_) => {
                eprintln!("load: connection {n}: no answer within {REPLY_TIMEOUT:?}");
                tally.lost += 1;
                break;
            }
        }
    }
    tally
}

/// Resident set size of process `pid`, in bytes (`VmRSS`).
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("while reading /proc/{pid}/status"))?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS line")?;
    Ok(kib * 1024)
}

/// Raise this process's soft open-file limit to its hard limit (children
/// such as the server inherit it); the new soft limit.
///
/// # Errors
/// When the limit cannot be read or set.
pub fn raise_open_files() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write `limit`, a
    // valid rlimit owned by this frame.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    limit.rlim_cur = limit.rlim_max;
    // SAFETY: as above.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(limit.rlim_cur)
}
