//! Sections 3 and 5: the sort guest through Sandcall, and `execute` of it
//! cold (first compile) and warm (from the server's cache).
//!
//! Each call sends the whole list from the client (4 bytes per element,
//! packed) and gets the sorted list back; every result is checked against
//! the input sorted here. "end to end" is the client's clock around the
//! call; "in guest" is the server's clock around the guest call, copying the
//! list into and out of the guest's memory included.

use crate::echo::EchoClient;
use crate::native;
use crate::results::{Maybe, brief};
use crate::stats::{median, ns, random_ints};
use anyhow::Context;
use sandcall::{ConnectOptions, Connection, Metering, Mode, Value};
use serde::Serialize;
use std::time::Instant;
use wasm_encoder::{CustomSection, Section};

/// One sort workload: algorithm (the guest's export name), list length,
/// calls to take the median of.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Workload {
    pub alg: &'static str,
    pub n: usize,
    pub reps: usize,
}

/// The workloads: bubble sort is quadratic, so it gets small lists.
pub fn workloads(quick: bool) -> Vec<Workload> {
    let w = |alg, n, reps| Workload { alg, n, reps };
    if quick {
        vec![
            w("bubble-sort", 1_000, 3),
            w("quick-sort", 10_000, 3),
            w("quick-sort", 100_000, 3),
            w("sort-unstable", 10_000, 3),
            w("sort-unstable", 100_000, 3),
        ]
    } else {
        vec![
            w("bubble-sort", 1_000, 7),
            w("bubble-sort", 5_000, 5),
            w("quick-sort", 10_000, 9),
            w("quick-sort", 100_000, 9),
            w("quick-sort", 1_000_000, 7),
            w("sort-unstable", 10_000, 9),
            w("sort-unstable", 100_000, 9),
            w("sort-unstable", 1_000_000, 7),
        ]
    }
}

/// The input list of a workload: the same for every system.
pub fn input(n: usize) -> Vec<i32> {
    random_ints(n, n as u64)
}

/// The median call of one workload (by end-to-end time).
#[derive(Clone, Debug, Serialize)]
pub struct RemoteSort {
    pub e2e_ns: u64,
    pub guest_ns: u64,
    pub fuel_used: u64,
}

/// A result that is not the input sorted: a real failure, never noise.
#[derive(Debug, thiserror::Error)]
#[error("{alg} of {n} ints ({mode}) returned {what}")]
pub struct WrongResult {
    alg: &'static str,
    n: usize,
    mode: Mode,
    what: &'static str,
}

/// Connect in `mode` with default options otherwise.
pub async fn connect(addr: &str, mode: Mode) -> anyhow::Result<Connection> {
    connect_metered(addr, mode, Metering::Cpu).await
}

/// Connect in `mode`, metered by `metering` (sandboxed mode).
pub async fn connect_metered(
    addr: &str,
    mode: Mode,
    metering: Metering,
) -> anyhow::Result<Connection> {
    let options = ConnectOptions {
        mode,
        metering,
        ..Default::default()
    };
    Connection::connect_with(addr, options)
        .await
        .with_context(|| format!("while connecting to {addr} in {mode} mode"))
}

/// One workload measured on every system, side by side.
#[derive(Clone, Debug)]
pub struct Measured {
    /// The guest's algorithm compiled into this binary.
    pub native_ns: u64,
    /// A raw TCP echo of the list's bytes (a frame of 4 bytes per element).
    pub echo_ns: u64,
    /// Sandboxed with CPU-time budgets (the default).
    pub sandboxed: RemoteSort,
    /// Sandboxed with fuel.
    pub fuel: Maybe<RemoteSort>,
    pub unrestricted: Maybe<RemoteSort>,
}

/// Run every workload: upload the sort guest through every connection,
/// then for each workload one warm-up round and `reps` timed rounds, each
/// round running native, the echo, sandboxed with CPU budgets, sandboxed
/// with fuel and unrestricted one after the other, so that all five see the
/// same moment of a noisy machine.
/// An unrestricted connection that is refused or fails gives n/a rows.
///
/// # Errors
/// A failed sandboxed call, or [`WrongResult`] when any result is not the
/// input sorted.
pub async fn side_by_side(
    workloads: &[Workload],
    sandboxed: &mut Connection,
    fuel: &mut Connection,
    unrestricted: Maybe<Connection>,
    echo: &mut EchoClient,
) -> anyhow::Result<Vec<Measured>> {
    sandboxed.execute("sorter", sandcall_guests::sort()).await?;
    fuel.execute("sorter", sandcall_guests::sort()).await?;
    let mut unrestricted = match unrestricted {
        Ok(mut conn) => match conn.execute("sorter", sandcall_guests::sort()).await {
            Ok(_) => Ok(conn),
            Err(e) => Err(brief(e.into())),
        },
        Err(why) => Err(why),
    };
    let mut rows = Vec::new();
    for w in workloads {
        let data = input(w.n);
        let mut expected = data.clone();
        expected.sort_unstable();
        let (mut native, mut echoes) = (Vec::new(), Vec::new());
        let (mut boxed, mut metered, mut free) = (Vec::new(), Vec::new(), Ok(Vec::new()));
        for rep in 0..=w.reps {
            let t = native::sort_once(w.alg, &data, &expected)?;
            let e = echo.round_trip(4 + 4 * w.n).await?;
            let b = call(sandboxed, Mode::Sandboxed, w, &data, &expected).await?;
            let f = call(fuel, Mode::Sandboxed, w, &data, &expected).await?;
            let u = match (&mut unrestricted, &free) {
                (Ok(conn), Ok(_)) => {
                    match call(conn, Mode::Unrestricted, w, &data, &expected).await {
                        Ok(u) => Some(u),
                        Err(e) if e.is::<WrongResult>() => return Err(e),
                        Err(e) => {
                            free = Err(brief(e));
                            None
                        }
                    }
                }
                _ => None,
            };
            if rep > 0 {
                native.push(t);
                echoes.push(e);
                boxed.push(b);
                metered.push(f);
                if let (Ok(free), Some(u)) = (&mut free, u) {
                    free.push(u);
                }
            }
        }
        let free = match (&unrestricted, free) {
            (Err(why), _) => Err(why.clone()),
            (Ok(_), free) => free.map(median_call),
        };
        rows.push(Measured {
            native_ns: ns(median(&mut native)),
            echo_ns: ns(median(&mut echoes)),
            sandboxed: median_call(boxed),
            fuel: Ok(median_call(metered)),
            unrestricted: free,
        });
    }
    Ok(rows)
}

/// The median of `calls` by end-to-end time.
fn median_call(mut calls: Vec<RemoteSort>) -> RemoteSort {
    calls.sort_by_key(|c| c.e2e_ns);
    calls.swap_remove(calls.len() / 2)
}

/// One remote sort of `data`, checked against `expected`.
async fn call(
    conn: &mut Connection,
    mode: Mode,
    w: &Workload,
    data: &[i32],
    expected: &[i32],
) -> anyhow::Result<RemoteSort> {
    let start = Instant::now();
    let answer = conn
        .call("sorter", w.alg, vec![Value::list_of(data)])
        .await
        .with_context(|| format!("while sorting {} ints with {} ({mode})", w.n, w.alg))?;
    let sorted = answer.results.first().and_then(|v| v.to_numbers::<i32>());
    let e2e = start.elapsed();
    let wrong = |what| WrongResult {
        alg: w.alg,
        n: w.n,
        mode,
        what,
    };
    let sorted = sorted.ok_or_else(|| wrong("no list<s32>"))?;
    if sorted != expected {
        Err(wrong(if sorted.is_sorted() {
            "a sorted list that is not a permutation of its input"
        } else {
            "an unsorted list"
        }))?;
    }
    Ok(RemoteSort {
        e2e_ns: ns(e2e),
        guest_ns: answer.guest_ns,
        fuel_used: answer.fuel_used,
    })
}

/// `execute` of the sort guest: cold (compiled, not in the cache) and warm.
#[derive(Clone, Debug, Serialize)]
pub struct ExecuteTimes {
    pub guest_bytes: usize,
    pub cold_ns: u64,
    pub cold_samples: usize,
    pub warm_ns: u64,
    pub warm_samples: usize,
}

/// Time `execute` of the sort guest through `conn`. Cold uploads differ by
/// a custom section (a nonce), so each has a new hash and is compiled; warm
/// uploads are the same bytes again, found in the cache and instantiated.
///
/// # Errors
/// When an upload fails.
pub async fn execute_times(
    conn: &mut Connection,
    colds: usize,
    warms: usize,
) -> anyhow::Result<ExecuteTimes> {
    let guest = sandcall_guests::sort();
    let nonce = format!("{}-{:?}", std::process::id(), Instant::now());
    let mut cold = Vec::with_capacity(colds);
    for i in 0..colds {
        let bytes =
            with_custom_section(&guest, "sandcall-bench", format!("{nonce}-{i}").as_bytes());
        let start = Instant::now();
        conn.execute_with("cold", bytes, true).await?;
        cold.push(start.elapsed());
    }
    conn.execute_with("warm", guest.clone(), true).await?;
    let mut warm = Vec::with_capacity(warms);
    for _ in 0..warms {
        let start = Instant::now();
        conn.execute_with("warm", guest.clone(), true).await?;
        warm.push(start.elapsed());
    }
    conn.drop_instance("cold").await?;
    conn.drop_instance("warm").await?;
    Ok(ExecuteTimes {
        guest_bytes: guest.len(),
        cold_ns: ns(median(&mut cold)),
        cold_samples: colds,
        warm_ns: ns(median(&mut warm)),
        warm_samples: warms,
    })
}

/// `wasm` (a module or component) with a custom section appended: the
/// same code, different bytes.
fn with_custom_section(wasm: &[u8], name: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = wasm.to_vec();
    let section = CustomSection {
        name: name.into(),
        data: payload.into(),
    };
    section.append_to(&mut out);
    out
}
