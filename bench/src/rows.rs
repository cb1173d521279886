//! The rows of the table, section by section. Each row: the Sandcall
//! figure, its floor and the ratio to it, RPyC's figure and how many times
//! better Sandcall is, the target and whether it was met.

use crate::results::{Maybe, Results, SortRow};
use crate::sorts::RemoteSort;
use crate::stats::{bytes, ratio, thousands, time};
use crate::targets::met;
use crate::tls::TlsFigures;

/// Every row of the table of `r`, in section order.
pub fn all(r: &Results) -> Vec<Row> {
    let mut rows = Vec::new();
    calls(r, &mut rows);
    for s in &r.sorts {
        sort_rows(r, s, &mut rows);
    }
    for s in &r.sorts {
        let n = thousands(s.workload.n as u64);
        let measure = format!("{} {n}, compiled into the bench", s.workload.alg);
        let mut native = row("4 native", measure, DASH);
        native.floor = time(s.native_ns as f64);
        rows.push(native);
    }
    execute_and_memory(r, &mut rows);
    rpyc_rows(r, &mut rows);
    tls_rows(r, &mut rows);
    rows
}

/// Section 7: each TLS figure with plaintext as its floor.
fn tls_rows(r: &Results, rows: &mut Vec<Row>) {
    let Ok(f) = &r.tls else {
        return;
    };
    let n = thousands(f.sort_n as u64);
    let sort = format!("quick sort of {n} ints end to end, p50");
    let measures = [
        ("connect + TLS handshake p50", f.connect_ns, "tls-connect"),
        ("trivial eval over TLS p50", f.eval_ns, "tls-eval"),
        (sort.as_str(), f.sort_ns, "tls-sort"),
    ];
    for (measure, pair, id) in measures {
        let x = row("7 TLS", measure, time(pair[1] as f64))
            .floor(
                format!("plaintext {}", time(pair[0] as f64)),
                TlsFigures::ratio(pair),
            )
            .target(r, id);
        rows.push(x);
    }
}

/// One line of the table.
pub struct Row {
    section: &'static str,
    measure: String,
    sandcall: String,
    floor: String,
    vs_floor: String,
    rpyc: String,
    vs_rpyc: String,
    target: String,
    met: String,
}

const DASH: &str = "–";

fn row(section: &'static str, measure: impl Into<String>, sandcall: impl Into<String>) -> Row {
    Row {
        section,
        measure: measure.into(),
        sandcall: sandcall.into(),
        floor: DASH.into(),
        vs_floor: DASH.into(),
        rpyc: DASH.into(),
        vs_rpyc: DASH.into(),
        target: DASH.into(),
        met: DASH.into(),
    }
}

impl Row {
    /// The cells, in the table's column order.
    pub fn cells(&self) -> [&str; 9] {
        [
            self.section,
            &self.measure,
            &self.sandcall,
            &self.floor,
            &self.vs_floor,
            &self.rpyc,
            &self.vs_rpyc,
            &self.target,
            &self.met,
        ]
    }

    fn floor(mut self, floor: String, vs: f64) -> Row {
        (self.floor, self.vs_floor) = (floor, ratio(vs));
        self
    }
    /// RPyC's figure and how many times better Sandcall is.
    fn rpyc(mut self, figure: String, better: f64) -> Row {
        (self.rpyc, self.vs_rpyc) = (figure, format!("{} better", ratio(better)));
        self
    }
    fn target(mut self, r: &Results, id: &str) -> Row {
        if let Some(t) = r.target(id) {
            (self.target, self.met) = (t.bound.clone(), met(t.met).into());
        }
        self
    }
}

fn calls(r: &Results, rows: &mut Vec<Row>) {
    let c = &r.calls;
    let rpyc = r.rpyc.as_ref().ok();
    let t = |ns: u64| time(ns as f64);
    let mut x = row(
        "1 calls",
        "connect + handshake p50 / p99",
        format!("{} / {}", t(c.connect_p50_ns), t(c.connect_p99_ns)),
    )
    .floor(
        format!("TCP connect {}", t(c.tcp_connect_p50_ns)),
        c.connect_p50_ns as f64 / c.tcp_connect_p50_ns as f64,
    )
    .target(r, "connect");
    if let Some(p) = rpyc {
        x = x.rpyc(time(p.connect_ns), p.connect_ns / c.connect_p50_ns as f64);
    }
    rows.push(x);
    let mut x = row(
        "1 calls",
        format!(
            "trivial eval round trip p50 / p99 ({} calls)",
            thousands(c.calls as u64)
        ),
        format!("{} / {}", t(c.eval_p50_ns), t(c.eval_p99_ns)),
    )
    .floor(
        format!("echo {} / {}", t(c.echo_p50_ns), t(c.echo_p99_ns)),
        c.eval_p50_ns as f64 / c.echo_p50_ns as f64,
    )
    .target(r, "eval-vs-echo");
    if let Some(p) = rpyc {
        let cell = format!(
            "{} / {} (just before it: Sandcall {}, echo {})",
            time(p.eval_p50_ns),
            time(p.eval_p99_ns),
            time(p.sandcall_eval_p50_ns),
            time(p.echo_p50_ns),
        );
        x = x.rpyc(cell, p.eval_p50_ns / p.sandcall_eval_p50_ns);
        if let Some(t) = r.target("eval-vs-rpyc") {
            x.target = format!("{}; RPyC {}", x.target, t.bound);
            x.met = format!("{}; {}", x.met, met(t.met));
        }
    }
    rows.push(x);
    rows.push(
        row(
            "1 calls",
            "trivial eval p50 with a CPU-time budget (the default), beside fuel",
            t(c.cpu_eval_p50_ns),
        )
        .floor(
            format!("fuel {}", t(c.fuel_eval_p50_ns)),
            c.cpu_eval_p50_ns as f64 / c.fuel_eval_p50_ns as f64,
        )
        .target(r, "eval-cpu-vs-fuel"),
    );
    let per_s = |v: f64| thousands(v as u64);
    let mut x = row(
        "1 calls",
        "calls/s, one client, sequential",
        per_s(c.sequential_per_s),
    )
    .floor(
        format!("echo {}", per_s(c.echo_per_s)),
        c.sequential_per_s / c.echo_per_s,
    )
    .target(r, "sequential");
    if let Some(p) = rpyc {
        x = x.rpyc(
            per_s(p.sequential_per_s),
            c.sequential_per_s / p.sequential_per_s,
        );
    }
    rows.push(x);
    let measure = format!("calls/s, one client, pipelined ({} in flight)", c.in_flight);
    rows.push(row("1 calls", measure, per_s(c.pipelined_per_s)).target(r, "pipelined"));
    let measure = format!("calls/s, {} concurrent clients", c.clients);
    let mut x = row("1 calls", measure, per_s(c.clients_per_s))
        .floor(
            format!("echo {}", per_s(c.echo_clients_per_s)),
            c.clients_per_s / c.echo_clients_per_s,
        )
        .target(r, "clients");
    if let Some(p) = rpyc {
        x = x.rpyc(per_s(p.clients4_per_s), c.clients_per_s / p.clients4_per_s);
    }
    rows.push(x);

    let mut x = row(
        "2 floor",
        format!("raw TCP echo, {} B each way, p50 / p99", c.frame_bytes),
        DASH,
    );
    x.floor = format!("{} / {}", t(c.echo_p50_ns), t(c.echo_p99_ns));
    rows.push(x);
    let mut x = row("2 floor", "raw TCP connect p50", DASH);
    x.floor = t(c.tcp_connect_p50_ns);
    rows.push(x);
    let mut seen = Vec::new();
    for s in &r.sorts {
        if !seen.contains(&s.workload.n) {
            seen.push(s.workload.n);
            let mut x = row(
                "2 floor",
                format!(
                    "raw TCP echo, {} each way, p50",
                    bytes(4.0 * s.workload.n as f64)
                ),
                DASH,
            );
            x.floor = t(s.echo_ns);
            rows.push(x);
        }
    }
}

fn sort_rows(r: &Results, s: &SortRow, rows: &mut Vec<Row>) {
    let n = s.workload.n;
    for (mode, remote) in [
        ("sandboxed", &s.sandboxed),
        ("sandboxed with fuel", &s.fuel),
        ("unrestricted", &s.unrestricted),
    ] {
        let measure = format!(
            "{} {}, {mode}: end to end (in guest)",
            s.workload.alg,
            thousands(n as u64)
        );
        let mut x = match remote {
            Ok(RemoteSort {
                e2e_ns, guest_ns, ..
            }) => {
                let e2e = *e2e_ns as f64;
                let cell = format!(
                    "{} ({}, {})",
                    time(e2e),
                    time(*guest_ns as f64),
                    ratio(e2e / *guest_ns as f64)
                );
                let floor = format!("native {}", time(s.native_ns as f64));
                let mut x = row("3 sorts", measure, cell).floor(floor, e2e / s.native_ns as f64);
                x.vs_floor = format!(
                    "{} (guest {})",
                    x.vs_floor,
                    ratio(*guest_ns as f64 / s.native_ns as f64)
                );
                if let (Some(p), Ok(_)) = (&s.rpyc, &r.rpyc) {
                    let label = if p.alg == s.workload.alg {
                        String::new()
                    } else {
                        format!("its {}: ", p.alg)
                    };
                    let how = p.best_by_value.split(' ').next().unwrap_or_default();
                    x = x.rpyc(
                        format!("{label}{} ({how})", time(p.best_by_value_ns)),
                        p.best_by_value_ns / e2e,
                    );
                }
                x
            }
            Err(why) => row("3 sorts", measure, format!("n/a ({why})")),
        };
        if n == 1_000_000 && s.workload.alg == "quick-sort" {
            x = x.target(r, &format!("quick-e2e-{mode}"));
        }
        if n == 1_000_000 && s.workload.alg == "sort-unstable" && mode == "sandboxed" {
            x = x.target(r, "unstable-vs-rpyc");
        }
        rows.push(x);
    }
}

fn execute_and_memory(r: &Results, rows: &mut Vec<Row>) {
    for (mode, e) in [
        ("sandboxed", &r.execute.sandboxed),
        ("unrestricted", &r.execute.unrestricted),
    ] {
        rows.extend(execute_rows(r, mode, e));
    }
    let m = &r.memory;
    let mib = |b: u64| bytes(b as f64);
    rows.push(row(
        "5b memory",
        "server RSS, idle (nothing served yet)",
        mib(m.idle_rss),
    ));
    let measure = format!(
        "server RSS with {} sort instances on 10 connections (per instance: all / in linear memory / beyond; each memory is {}, mostly untouched)",
        thousands(m.instances as u64),
        bytes(m.linear_memory_bytes as f64)
    );
    let cell = format!(
        "{} ({} / {} / {})",
        mib(m.rss_all),
        bytes(m.per_instance),
        bytes(m.per_instance_linear),
        bytes(m.per_instance_beyond_linear)
    );
    rows.push(row("5b memory", measure, cell).target(r, "instance-rss"));
    let above = m.sort_peak_rss as f64 - m.sort_before_rss as f64;
    let measure = format!(
        "server RSS peak during one quick sort of {} ints (before → peak, above before = × the {:.0} MB payload)",
        thousands(m.sort_n as u64),
        m.sort_payload_bytes as f64 / 1e6
    );
    let cell = format!(
        "{} → {} (+{} = {})",
        mib(m.sort_before_rss),
        mib(m.sort_peak_rss),
        bytes(above),
        ratio(above / m.sort_payload_bytes as f64)
    );
    rows.push(row("5b memory", measure, cell).target(r, "peak-rss"));
    let measure = "server RSS after that sort (guest linear memory / the rest: mostly freed heap kept for reuse, see server::allocator)";
    let cell = format!(
        "{} ({} / {})",
        mib(m.sort_after_rss),
        mib(m.sort_after_linear_rss),
        mib(m.sort_after_rss - m.sort_after_linear_rss)
    );
    rows.push(row("5b memory", measure, cell));
}

fn execute_rows(r: &Results, mode: &str, e: &Maybe<crate::sorts::ExecuteTimes>) -> Vec<Row> {
    match e {
        Ok(e) => vec![
            row(
                "5 execute",
                format!(
                    "execute the sort guest ({} KiB), {mode}, cold: compile, median of {}",
                    e.guest_bytes / 1024,
                    e.cold_samples
                ),
                time(e.cold_ns as f64),
            ),
            row(
                "5 execute",
                format!(
                    "execute the sort guest, {mode}, warm: cached, median of {}",
                    e.warm_samples
                ),
                time(e.warm_ns as f64),
            )
            .target(r, &format!("warm-{mode}")),
        ],
        Err(why) => vec![
            row(
                "5 execute",
                format!("execute the sort guest, {mode}"),
                format!("n/a ({why})"),
            )
            .target(r, &format!("warm-{mode}")),
        ],
    }
}

/// RPyC's own sort rows: the sort timed inside its server (CPython) beside
/// the same sort inside the Sandcall guest, sandboxed.
fn rpyc_rows(r: &Results, rows: &mut Vec<Row>) {
    let p = match &r.rpyc {
        Ok(p) => p,
        Err(why) => {
            rows.push(row("6 RPyC", "RPyC classic", format!("skipped: {why}")));
            return;
        }
    };
    let measure = format!(
        "RPyC {} classic on CPython {}: see the RPyC column above",
        p.rpyc, p.python
    );
    rows.push(row("6 RPyC", measure, DASH));
    for s in &p.sorts {
        let measure = format!(
            "{} {}: in the server (RPyC: CPython; Sandcall: sandboxed guest)",
            s.alg,
            thousands(s.n as u64)
        );
        let guest = r
            .sort(&s.alg, s.n)
            .and_then(|row| row.sandboxed.as_ref().ok())
            .map(|g| g.guest_ns as f64);
        let x = match guest {
            Some(g) => row("6 RPyC", measure, time(g)).rpyc(time(s.server_ns), s.server_ns / g),
            None => {
                let mut x = row("6 RPyC", measure, DASH);
                x.rpyc = time(s.server_ns);
                x
            }
        };
        rows.push(x);
    }
}
