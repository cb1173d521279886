//! The load table, `load.md` and `load.json`.

use crate::run::Row;
use std::fmt::Write as _;
use std::path::Path;

/// The table: one row per level.
pub fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| connections | calls | calls/s | p50 | p99 | errors | lost | server RSS | RSS / connection |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for row in rows {
        let connections = if row.idle > 0 {
            format!("{} active + {} idle", row.active, row.idle)
        } else {
            row.active.to_string()
        };
        let per = match row.rss_per_idle {
            Some(idle) => format!(
                "{} (idle: {})",
                bytes(row.rss_per_connection()),
                bytes(idle)
            ),
            None => bytes(row.rss_per_connection()),
        };
        let _ = writeln!(
            out,
            "| {connections} | {} | {:.0} | {} | {} | {} | {} | {} | {per} |",
            row.calls,
            row.calls_per_second(),
            time(row.p50_ns),
            time(row.p99_ns),
            row.errors,
            row.lost,
            bytes(row.rss_during as f64),
        );
    }
    out
}

/// Write `load.md` (the table and how it was made) and `load.json`.
///
/// # Errors
/// When a file cannot be written.
pub fn write(out: &Path, rows: &[Row], seconds: f64, files: u64) -> anyhow::Result<()> {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mut md = String::from("# `make load`: many connections on one server\n\n");
    let _ = writeln!(
        md,
        "Written by `sandcall-load` (`make load`); see bench/README.md. One \
         `sandcall-server` (a child process, `--connections` raised to fit) and \
         the load generator share this machine's {cpus} CPUs; open-file limit \
         {files}. Each active connection uploads the sort guest (compiled once, \
         then from the cache) and sorts {} random ints per `eval`, one call at a \
         time, for {seconds} s; every answer is checked (its id, the sorted \
         list). Errors: refusals the server explained. Lost: no answer within \
         30 s, a broken connection, or a wrong id or value. RSS / connection: \
         the server's RSS growth over the level, divided by its connections.\n",
        100
    );
    md.push_str(&table(rows));
    std::fs::write(out.join("load.md"), md)?;
    std::fs::write(
        out.join("load.json"),
        serde_json::to_string_pretty(&serde_json::json!({
            "seconds_per_level": seconds,
            "open_file_limit": files,
            "cpus": cpus,
            "levels": rows,
        }))?,
    )?;
    Ok(())
}

fn time(ns: u64) -> String {
    let ns = ns as f64;
    if ns >= 1e6 {
        format!("{:.1} ms", ns / 1e6)
    } else {
        format!("{:.0} µs", ns / 1e3)
    }
}

fn bytes(b: f64) -> String {
    if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else {
        format!("{:.0} KiB", b / 1024.0)
    }
}
