//! Section 5b: the server's resident memory, read from `/proc/PID/…` of a
//! fresh server process for each question, so that one measurement's freed
//! heap (which the server keeps for reuse, see `server::allocator`) does
//! not hide in the next one's baseline.
//!
//! - idle: a server that has served nothing;
//! - per instance: 1,000 instances of the sort guest held by 10 connections,
//!   split into what lies in wasm linear memories (mappings of ≥ 1 GiB, the
//!   reservations wasmtime makes for each memory) and everything else;
//! - peak: the high-water mark during one quick sort of 1,000,000 ints.

use crate::process::ServerProcess;
use crate::sorts::{connect, input};
use anyhow::{Context, ensure};
use sandcall::{Connection, Mode, Value};
use serde::Serialize;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// Instances held, and by how many connections.
pub const INSTANCES: usize = 1_000;
pub const CONNECTIONS: usize = 10;
/// The sort whose peak is measured.
pub const PEAK_N: usize = 1_000_000;

/// What section 5b measured, in bytes.
#[derive(Clone, Debug, Serialize)]
pub struct MemoryFigures {
    pub idle_rss: u64,
    /// Instances in the second measurement (fewer in `--quick`).
    pub instances: usize,
    /// RSS with one instance per connection (compiled code and connections
    /// already there), and with all of them.
    pub rss_base: u64,
    pub rss_all: u64,
    /// Per instance beyond the base: all of it, and the part outside
    /// linear memories.
    pub per_instance: f64,
    pub per_instance_linear: f64,
    pub per_instance_beyond_linear: f64,
    /// One instance's linear memory size (pages × 64 KiB, resident or not).
    pub linear_memory_bytes: u64,
    /// The peak sort: RSS with the instance loaded, before the call; the
    /// high-water mark during it; RSS once it returned.
    pub sort_n: usize,
    pub sort_payload_bytes: u64,
    pub sort_before_rss: u64,
    pub sort_peak_rss: u64,
    pub sort_after_rss: u64,
    /// How much of that is the guest's linear memory (grown to hold the list).
    pub sort_after_linear_rss: u64,
    pub peak_method: String,
}

/// Measure section 5b with servers started from `server args…`.
///
/// # Errors
/// When a server does not start or a request fails.
pub async fn measure(
    server: &Path,
    args: &[&str],
    instances: usize,
) -> anyhow::Result<MemoryFigures> {
    let proc = ServerProcess::start(server, args)?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_rss = status_kib(proc.pid(), "VmRSS")? * 1024;

    let guest = sandcall_guests::sort();
    let mut conns = Vec::new();
    let mut linear_memory_bytes = 0;
    for _ in 0..CONNECTIONS {
        let mut conn = connect(&proc.addr, Mode::Sandboxed).await?;
        linear_memory_bytes = conn.execute("s0", guest.clone()).await?.memory_bytes;
        conns.push(conn);
    }
    let (rss_base, linear_base) = (rss(proc.pid())?, linear_rss(proc.pid())?);
    let per_conn = instances / CONNECTIONS;
    for conn in &mut conns {
        for i in 1..per_conn {
            conn.execute(&format!("s{i}"), guest.clone()).await?;
        }
    }
    let (rss_all, linear_all) = (rss(proc.pid())?, linear_rss(proc.pid())?);
    let added = (CONNECTIONS * (per_conn - 1)) as f64;
    let per_instance = (rss_all as f64 - rss_base as f64) / added;
    let per_instance_linear = (linear_all as f64 - linear_base as f64) / added;
    drop(conns);
    drop(proc);

    let proc = ServerProcess::start(server, args)?;
    let mut conn = connect(&proc.addr, Mode::Sandboxed).await?;
    conn.execute("sorter", guest).await?;
    conn.call("sorter", "quick-sort", vec![Value::list_of(&[3, 1, 2])])
        .await?;
    let data = input(PEAK_N);
    let sort_before_rss = rss(proc.pid())?;
    let (sort_peak_rss, peak_method) = peak_during(proc.pid(), sort(&mut conn, &data)).await?;
    let (sort_after_rss, sort_after_linear_rss) = (rss(proc.pid())?, linear_rss(proc.pid())?);
    Ok(MemoryFigures {
        idle_rss,
        instances: CONNECTIONS * per_conn,
        rss_base,
        rss_all,
        per_instance,
        per_instance_linear,
        per_instance_beyond_linear: per_instance - per_instance_linear,
        linear_memory_bytes,
        sort_n: PEAK_N,
        sort_payload_bytes: 4 * PEAK_N as u64,
        sort_before_rss,
        sort_peak_rss,
        sort_after_rss,
        sort_after_linear_rss,
        peak_method,
    })
}

async fn sort(conn: &mut Connection, data: &[i32]) -> anyhow::Result<()> {
    let answer = conn
        .call("sorter", "quick-sort", vec![Value::list_of(data)])
        .await?;
    let sorted = answer.results.first().and_then(|v| v.to_numbers::<i32>());
    ensure!(
        sorted.is_some_and(|s| s.is_sorted() && s.len() == data.len()),
        "the peak sort's result is wrong"
    );
    Ok(())
}

/// The server's highest RSS while `work` runs: its VmHWM after resetting
/// it through `clear_refs`, or where the kernel does not allow that, the
/// highest VmRSS sampled every millisecond.
async fn peak_during(
    pid: u32,
    work: impl std::future::Future<Output = anyhow::Result<()>>,
) -> anyhow::Result<(u64, String)> {
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let (stop, highest) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicU64::new(0)),
    );
    let sampler = {
        let (stop, highest) = (stop.clone(), highest.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Ok(kib) = status_kib(pid, "VmRSS") {
                    highest.fetch_max(kib * 1024, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let worked = work.await;
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    worked?;
    let sampled = highest.load(Ordering::Relaxed);
    if reset {
        let hwm = status_kib(pid, "VmHWM")? * 1024;
        Ok((hwm.max(sampled), "VmHWM (reset through clear_refs)".into()))
    } else {
        Ok((sampled, "VmRSS sampled every 1 ms".into()))
    }
}

/// Current RSS of `pid` in bytes.
pub fn rss(pid: u32) -> anyhow::Result<u64> {
    Ok(status_kib(pid, "VmRSS")? * 1024)
}

/// A `kB` field of `/proc/PID/status`.
fn status_kib(pid: u32, field: &str) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("no {field} in /proc/{pid}/status"))
}

/// Resident bytes of wasm linear memories. Wasmtime reserves several GiB
/// for each memory (guard region included) and maps only its first pages
/// accessible (anonymous, plus the module's initial-data image); so a
/// memory shows up as accessible mappings directly followed by an
/// inaccessible one of 1 GiB or more. Nothing else in the server looks
/// like that: thread stacks and malloc arenas are far smaller.
fn linear_rss(pid: u32) -> anyhow::Result<u64> {
    struct Mapping {
        start: u64,
        end: u64,
        inaccessible: bool,
        rss: u64,
    }
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps"))?;
    let mut maps: Vec<Mapping> = Vec::new();
    for line in smaps.lines() {
        let mut words = line.split_whitespace();
        let first = words.next().unwrap_or_default();
        if first == "Rss:" {
            if let Some(m) = maps.last_mut() {
                m.rss = words.next().unwrap_or("0").parse::<u64>()? * 1024;
            }
        } else if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) =
                (u64::from_str_radix(start, 16), u64::from_str_radix(end, 16))
        {
            let inaccessible = words.next().is_some_and(|perms| perms.starts_with("---"));
            maps.push(Mapping {
                start,
                end,
                inaccessible,
                rss: 0,
            });
        }
    }
    let mut total = 0;
    for (i, reservation) in maps.iter().enumerate() {
        if !reservation.inaccessible || reservation.end - reservation.start < 1 << 30 {
            continue;
        }
        let mut next_start = reservation.start;
        for m in maps[..i].iter().rev() {
            if m.end != next_start || m.inaccessible {
                break;
            }
            total += m.rss;
            next_start = m.start;
        }
    }
    Ok(total)
}
