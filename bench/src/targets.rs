//! The targets, judged from one run's figures: each with the
//! figure, the bound, and met or not (`None` when the run did not measure
//! it, e.g. the 1,000,000-element rows under `--quick`).

use crate::results::{Maybe, Results, SortRow};
use crate::stats::{bytes, ratio, thousands, time};
use crate::tls::TlsFigures;
use serde::Serialize;

/// One target of the issue: the figure, the bound, met or not (`None`
/// when this run did not measure it).
#[derive(Clone, Debug, Serialize)]
pub struct Target {
    /// A short key, e.g. `eval-vs-echo`.
    pub id: String,
    pub what: String,
    pub figure: String,
    pub bound: String,
    pub met: Option<bool>,
}

impl Results {
    /// Judge every target from the figures; fills [`Results::targets`].
    pub fn judge(&mut self) {
        let mut t = Targets(Vec::new());
        let c = &self.calls;
        let x = c.eval_p50_ns as f64 / c.echo_p50_ns as f64;
        t.add(
            "eval-vs-echo",
            "trivial eval p50 vs raw TCP echo p50",
            format!(
                "{} vs {}: {}",
                time(c.eval_p50_ns as f64),
                time(c.echo_p50_ns as f64),
                ratio(x)
            ),
            "≤ 2.2×",
            Some(x <= 2.2),
        );
        let x = c.cpu_eval_p50_ns as f64 / c.fuel_eval_p50_ns as f64;
        t.add(
            "eval-cpu-vs-fuel",
            "trivial eval p50, CPU-time budget vs fuel metering (interleaved sessions)",
            format!(
                "{} vs {}: {}",
                time(c.cpu_eval_p50_ns as f64),
                time(c.fuel_eval_p50_ns as f64),
                ratio(x)
            ),
            "no slower: ≤ 1.05× (the noise of a loopback round trip)",
            Some(x <= 1.05),
        );
        let what = "trivial eval p50 vs RPyC eval('1') p50";
        match &self.rpyc {
            Ok(r) => {
                let x = r.eval_p50_ns / r.sandcall_eval_p50_ns;
                let figure = format!(
                    "RPyC {} vs Sandcall {} measured just before it: {} better (raw echo then: {})",
                    time(r.eval_p50_ns),
                    time(r.sandcall_eval_p50_ns),
                    ratio(x),
                    time(r.echo_p50_ns),
                );
                t.add("eval-vs-rpyc", what, figure, "≥ 5× better", Some(x >= 5.0));
            }
            Err(why) => t.add(
                "eval-vs-rpyc",
                what,
                format!("RPyC skipped: {why}"),
                "≥ 5× better",
                None,
            ),
        }
        let rate = |v: f64| format!("{} calls/s", thousands(v as u64));
        let what = "calls/s, one client, sequential";
        t.add(
            "sequential",
            what,
            rate(c.sequential_per_s),
            "≥ 45,000",
            Some(c.sequential_per_s >= 45e3),
        );
        let what = format!("calls/s, one client, pipelined ({} in flight)", c.in_flight);
        t.add(
            "pipelined",
            &what,
            rate(c.pipelined_per_s),
            "≥ 200,000",
            Some(c.pipelined_per_s >= 200e3),
        );
        let what = format!("calls/s, {} concurrent clients", c.clients);
        t.add(
            "clients",
            &what,
            rate(c.clients_per_s),
            "≥ 80,000",
            Some(c.clients_per_s >= 80e3),
        );

        // The price of the sandbox: in-guest time against unrestricted,
        // with CPU-time budgets (the target) and with fuel (beside it).
        for (alg, n) in [("bubble-sort", 5_000), ("quick-sort", 1_000_000)] {
            let id = format!("cpu-budget-{alg}");
            let what = format!(
                "{alg} of {}, sandboxed with CPU budgets vs unrestricted, in guest (fuel beside)",
                thousands(n as u64)
            );
            let guest = |r: &Maybe<crate::sorts::RemoteSort>| r.as_ref().ok().map(|s| s.guest_ns);
            match self
                .sort(alg, n)
                .map(|r| (guest(&r.sandboxed), guest(&r.fuel), guest(&r.unrestricted)))
            {
                Some((Some(cpu), fuel, Some(free))) => {
                    let x = cpu as f64 / free as f64;
                    let fuel = fuel.map_or("n/a".to_string(), |f| ratio(f as f64 / free as f64));
                    let figure = format!(
                        "{} vs {}: {} (fuel: {fuel})",
                        time(cpu as f64),
                        time(free as f64),
                        ratio(x)
                    );
                    t.add(&id, &what, figure, "≤ 1.05×", Some(x <= 1.05));
                }
                Some(_) => t.add(
                    &id,
                    &what,
                    "n/a (unrestricted not measured)".into(),
                    "≤ 1.05×",
                    None,
                ),
                None => t.add(&id, &what, "not measured (--quick)".into(), "≤ 1.05×", None),
            }
        }
        for mode in ["sandboxed", "unrestricted"] {
            let id = format!("quick-e2e-{mode}");
            let what = format!("quick sort of 1,000,000 ints, {mode}: end to end vs in guest");
            let row = self.sort("quick-sort", 1_000_000);
            match row.map(|r| {
                if mode == "sandboxed" {
                    &r.sandboxed
                } else {
                    &r.unrestricted
                }
            }) {
                Some(Ok(s)) => {
                    let x = s.e2e_ns as f64 / s.guest_ns as f64;
                    let figure = format!(
                        "{} vs {}: {}",
                        time(s.e2e_ns as f64),
                        time(s.guest_ns as f64),
                        ratio(x)
                    );
                    t.add(&id, &what, figure, "≤ 1.15×", Some(x <= 1.15));
                }
                Some(Err(why)) => t.add(&id, &what, format!("n/a ({why})"), "≤ 1.15×", None),
                None => t.add(&id, &what, "not measured (--quick)".into(), "≤ 1.15×", None),
            }
        }
        let what = "sort-unstable of 1,000,000 ints sandboxed vs RPyC's best by-value quick sort";
        match (self.sort("sort-unstable", 1_000_000), &self.rpyc) {
            (_, Err(why)) => t.add(
                "unstable-vs-rpyc",
                what,
                format!("RPyC skipped: {why}"),
                "≥ 30× faster",
                None,
            ),
            (
                Some(SortRow {
                    sandboxed: Ok(s),
                    rpyc: Some(r),
                    ..
                }),
                _,
            ) => {
                let x = r.best_by_value_ns / s.e2e_ns as f64;
                let figure = format!(
                    "{} vs {} ({}): {} faster",
                    time(s.e2e_ns as f64),
                    time(r.best_by_value_ns),
                    r.best_by_value,
                    ratio(x)
                );
                t.add(
                    "unstable-vs-rpyc",
                    what,
                    figure,
                    "≥ 30× faster",
                    Some(x >= 30.0),
                );
            }
            _ => t.add(
                "unstable-vs-rpyc",
                what,
                "not measured (--quick)".into(),
                "≥ 30× faster",
                None,
            ),
        }
        for (mode, e) in [
            ("sandboxed", &self.execute.sandboxed),
            ("unrestricted", &self.execute.unrestricted),
        ] {
            let (id, what) = (
                format!("warm-{mode}"),
                format!("warm execute of the sort guest, {mode}"),
            );
            match e {
                Ok(e) => t.add(
                    &id,
                    &what,
                    time(e.warm_ns as f64),
                    "≤ 1 ms",
                    Some(e.warm_ns <= 1_000_000),
                ),
                Err(why) => t.add(&id, &what, format!("n/a ({why})"), "≤ 1 ms", None),
            }
        }
        let figure = time(c.connect_p50_ns as f64);
        t.add(
            "connect",
            "connect + handshake p50",
            figure,
            "≤ 0.3 ms",
            Some(c.connect_p50_ns <= 300_000),
        );

        let m = &self.memory;
        let figure = format!(
            "{} ({} in all, {} of it in linear memory)",
            bytes(m.per_instance_beyond_linear),
            bytes(m.per_instance),
            bytes(m.per_instance_linear)
        );
        let what = "server RSS per idle instance beyond its linear memory";
        t.add(
            "instance-rss",
            what,
            figure,
            "≤ 64 KiB",
            Some(m.per_instance_beyond_linear <= 65536.0),
        );
        let above = m.sort_peak_rss as f64 - m.sort_before_rss as f64;
        let x = above / m.sort_payload_bytes as f64;
        let payload = m.sort_payload_bytes as f64 / 1e6;
        let figure = format!(
            "{} = {} the {payload:.0} MB payload",
            bytes(above),
            ratio(x)
        );
        let what = "peak RSS during the 1,000,000-element sort, above idle";
        t.add("peak-rss", what, figure, "≤ 6×", Some(x <= 6.0));
        self.judge_tls(&mut t);
        self.targets = t.0;
    }

    /// Issue 12's TLS targets: connect, trivial eval and the 1,000,000-int
    /// sort over TLS against plaintext.
    fn judge_tls(&self, t: &mut Targets) {
        let tls = match &self.tls {
            Ok(f) => f,
            Err(why) => {
                for (id, what, bound) in TLS_TARGETS {
                    t.add(id, what, format!("n/a ({why})"), bound, None);
                }
                return;
            }
        };
        let [connect, eval, sort] = TLS_TARGETS;
        let pair = |p: [u64; 2]| {
            let x = TlsFigures::ratio(p);
            let figure = format!(
                "{} vs {}: {}",
                time(p[1] as f64),
                time(p[0] as f64),
                ratio(x)
            );
            (figure, x)
        };
        t.add(
            connect.0,
            connect.1,
            time(tls.connect_ns[1] as f64),
            connect.2,
            Some(tls.connect_ns[1] <= 2_000_000),
        );
        let (figure, x) = pair(tls.eval_ns);
        t.add(eval.0, eval.1, figure, eval.2, Some(x <= 1.15));
        let (figure, x) = pair(tls.sort_ns);
        let full = tls.sort_n >= 1_000_000;
        let figure = format!("{figure} ({} ints)", thousands(tls.sort_n as u64));
        t.add(sort.0, sort.1, figure, sort.2, full.then_some(x <= 1.10));
    }

    /// The target with key `id`.
    pub fn target(&self, id: &str) -> Option<&Target> {
        self.targets.iter().find(|t| t.id == id)
    }
}

/// Key, what and bound of each TLS target.
const TLS_TARGETS: [(&str, &str, &str); 3] = [
    ("tls-connect", "TLS connect + handshake p50", "≤ 2 ms"),
    (
        "tls-eval",
        "trivial eval p50 over TLS vs plaintext",
        "≤ 1.15×",
    ),
    (
        "tls-sort",
        "1,000,000-int quick sort end to end, TLS vs plaintext",
        "≤ 1.10×",
    ),
];

/// The targets as they are judged.
struct Targets(Vec<Target>);

impl Targets {
    fn add(&mut self, id: &str, what: &str, figure: String, bound: &str, met: Option<bool>) {
        self.0.push(Target {
            id: id.into(),
            what: what.into(),
            figure,
            bound: bound.into(),
            met,
        });
    }
}

/// "yes", "**no**" or "n/a", for the tables.
pub fn met(m: Option<bool>) -> &'static str {
    match m {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "n/a",
    }
}
