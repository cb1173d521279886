//! `sandcall compare`: what the sandbox stops and what it costs.
//!
//! Two tables from one run against one server: every attack of the
//! [`corpus`] sandboxed with CPU-time budgets, sandboxed with fuel, and
//! unrestricted (with a second client calling throughout), then the sort
//! guest in those three beside the same algorithms compiled into this
//! binary.

use crate::corpus::bystander::{Bystander, Seen};
use crate::corpus::{self, Attack, Outcome, Settings, Verdict};
use sandcall::text::thousands;
use sandcall::{ClientError, ConnectOptions, Connection, Metering, Mode, Value};
use sandcall_guests::native;
use sandcall_guests::random_ints;
use std::io::Write;
use std::time::{Duration, Instant};

/// One sort workload's medians.
#[derive(Clone, Debug)]
pub struct SortRow {
    pub export: &'static str,
    pub n: usize,
    /// (end-to-end, in guest) per mode; `None` when the mode is not offered.
    /// Sandboxed with CPU-time budgets (the default) …
    pub sandboxed: Option<(Duration, Duration)>,
    /// … and sandboxed with fuel.
    pub fuel: Option<(Duration, Duration)>,
    pub unrestricted: Option<(Duration, Duration)>,
    pub native: Duration,
}

/// Run the corpus and the sorts against `addr` and print both tables.
///
/// # Errors
/// When the server cannot be reached in sandboxed mode, or a sort returns a
/// wrong result. Attacks never fail the run: their outcomes are the table.
pub async fn compare(
    addr: &str,
    settings: &Settings,
    sorts: &[(&'static str, usize, usize)],
    out: &mut impl Write,
) -> Result<(Vec<[Option<Outcome>; 3]>, Vec<SortRow>), ClientError> {
    let mut sandboxed = connect(addr, Mode::Sandboxed, Metering::Cpu).await?;
    let mut fuel = connect(addr, Mode::Sandboxed, Metering::Fuel).await?;
    let mut unrestricted = match connect(addr, Mode::Unrestricted, Metering::Cpu).await {
        Ok(conn) => Some(conn),
        Err(e) => {
            let _ = writeln!(out, "unrestricted mode: not offered ({e})\n");
            None
        }
    };
    let _ = writeln!(out, "## Hostile guests\n");
    let _ = writeln!(
        out,
        "| attack | what it does | sandboxed (CPU budget) | sandboxed (fuel) | unrestricted | \
         other client meanwhile |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    let mut outcomes = Vec::new();
    for attack in Attack::ALL {
        let mut row: [Option<Outcome>; 3] = [None, None, None];
        let mut seen = Vec::new();
        for (i, conn) in [Some(&mut sandboxed), Some(&mut fuel), unrestricted.as_mut()]
            .into_iter()
            .enumerate()
        {
            let Some(conn) = conn else { continue };
            let bystander = Bystander::start(addr).await?;
            let outcome = corpus::run(conn, attack, settings).await;
            seen.push(bystander.finish().await?);
            row[i] = Some(outcome);
        }
        let cell = |o: &Option<Outcome>| {
            o.as_ref().map_or("not offered".to_string(), |o| {
                let mark = if o.verdict == Verdict::Unexpected {
                    " ⚠"
                } else {
                    ""
                };
                format!("{}{mark}", o.detail)
            })
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            attack.name(),
            attack.what(),
            cell(&row[0]),
            cell(&row[1]),
            cell(&row[2]),
            bystanders(&seen)
        );
        let _ = out.flush();
        outcomes.push(row);
    }
    let _ = writeln!(out, "\n## Sorts: the price of the sandbox\n");
    let _ = writeln!(
        out,
        "Median in-guest time (end-to-end in brackets), the three remote runs interleaved call by \
         call. What each sandbox costs is its ratio to unrestricted."
    );
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "| sort | N | sandboxed (CPU budget) | sandboxed (fuel) | unrestricted | native | \
         CPU budget/unrestricted | fuel/unrestricted | unrestricted/native |"
    );
    let _ = writeln!(out, "|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for conn in [&mut sandboxed, &mut fuel] {
        conn.execute_with("sorter", sandcall_guests::SORT_WASM, true)
            .await?;
    }
    if let Some(conn) = unrestricted.as_mut() {
        conn.execute_with("sorter", sandcall_guests::SORT_WASM, true)
            .await?;
    }
    let mut rows = Vec::new();
    for &(export, n, calls) in sorts {
        let data = random_ints(n, n as u64 ^ 0x5eed);
        let mut expected = data.clone();
        expected.sort_unstable();
        // Round by round, the three side by side, so that all see the same
        // moments of a noisy machine; then the median of each.
        let (mut strict, mut metered, mut free, mut native) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..calls {
            strict.push(remote_sort(&mut sandboxed, export, &data, &expected).await?);
            metered.push(remote_sort(&mut fuel, export, &data, &expected).await?);
            if let Some(conn) = unrestricted.as_mut() {
                free.push(remote_sort(conn, export, &data, &expected).await?);
            }
            native.push(native_sort(export, &data, &expected)?);
        }
        native.sort();
        let row = SortRow {
            export,
            n,
            sandboxed: median_by_guest(strict),
            fuel: median_by_guest(metered),
            unrestricted: median_by_guest(free),
            native: native[native.len() / 2],
        };
        let _ = writeln!(out, "{}", format_row(&row));
        let _ = out.flush();
        rows.push(row);
    }
    Ok((outcomes, rows))
}

async fn connect(addr: &str, mode: Mode, metering: Metering) -> Result<Connection, ClientError> {
    let options = ConnectOptions {
        mode,
        metering,
        ..ConnectOptions::default()
    };
    Connection::connect_with(addr, options).await
}

/// The other client's experience over every mode's run of one attack.
fn bystanders(seen: &[Seen]) -> String {
    if let Some(error) = seen.iter().find_map(|s| s.error.as_ref()) {
        return format!("⚠ a call failed: {error}");
    }
    let answered: u64 = seen.iter().map(|s| s.answered).sum();
    let slowest = seen.iter().map(|s| s.slowest).max().unwrap_or_default();
    format!(
        "{answered} calls answered, slowest {:.1} ms",
        slowest.as_secs_f64() * 1e3
    )
}

/// One remote sort, checked: (end-to-end, in guest).
async fn remote_sort(
    conn: &mut Connection,
    export: &str,
    data: &[i32],
    expected: &[i32],
) -> Result<(Duration, Duration), ClientError> {
    let start = Instant::now();
    let answer = conn
        .call("sorter", export, vec![Value::list_of(data)])
        .await?;
    let sorted = answer.results.first().and_then(|v| v.to_numbers::<i32>());
    let total = start.elapsed();
    check(export, sorted.as_deref(), expected)?;
    Ok((total, Duration::from_nanos(answer.guest_ns)))
}

/// The call with the median in-guest time, if any.
fn median_by_guest(mut times: Vec<(Duration, Duration)>) -> Option<(Duration, Duration)> {
    times.sort_by_key(|t| t.1);
    times.get(times.len() / 2).copied()
}

/// One native sort of a copy of `data`, checked.
fn native_sort(export: &str, data: &[i32], expected: &[i32]) -> Result<Duration, ClientError> {
    let mut copy = data.to_vec();
    let start = Instant::now();
    if !native::sort(export, &mut copy) {
        return Err(ClientError::Protocol(format!("no native `{export}`")));
    }
    let took = start.elapsed();
    check(export, Some(&copy), expected)?;
    Ok(took)
}

fn check(export: &str, sorted: Option<&[i32]>, expected: &[i32]) -> Result<(), ClientError> {
    if sorted == Some(expected) {
        Ok(())
    } else {
        Err(ClientError::Protocol(format!(
            "{export} of {} ints did not return its input sorted",
            expected.len()
        )))
    }
}

/// One line of the sort table.
pub fn format_row(row: &SortRow) -> String {
    let cell = |t: Option<(Duration, Duration)>| {
        t.map_or("n/a".to_string(), |(total, guest)| {
            format!("{} ({})", ms(guest), ms(total))
        })
    };
    let ratio = |a: Option<Duration>, b: Option<Duration>| match (a, b) {
        (Some(a), Some(b)) if !b.is_zero() => {
            format!("{:.2}×", a.as_secs_f64() / b.as_secs_f64())
        }
        _ => "n/a".to_string(),
    };
    let guest = |t: Option<(Duration, Duration)>| t.map(|t| t.1);
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
        row.export,
        thousands(row.n as u64),
        cell(row.sandboxed),
        cell(row.fuel),
        cell(row.unrestricted),
        ms(row.native),
        ratio(guest(row.sandboxed), guest(row.unrestricted)),
        ratio(guest(row.fuel), guest(row.unrestricted)),
        ratio(guest(row.unrestricted), Some(row.native)),
    )
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
