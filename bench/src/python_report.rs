//! Section 8's report: the targets of the Python client (issue 13) judged
//! from [`PythonFigures`], and its rows of the table.

use crate::python::{PythonFigures, ROUND};
use crate::results::{Maybe, Results};
use crate::rpyc::{RpycFigures, RpycSort};
use crate::stats::{ratio, thousands, time};
use crate::targets::{Target, met};

/// RPyC's quick sort of `n` ints, if section 6 measured one.
fn rpyc_sort(rpyc: &Maybe<RpycFigures>, n: usize) -> Option<&RpycSort> {
    rpyc.as_ref()
        .ok()?
        .sorts
        .iter()
        .find(|s| s.alg == "quick-sort" && s.n == n)
}

/// Key, what and bound of each target of issue 13.
const TARGETS: [(&str, &str, &str); 3] = [
    (
        "python-sort",
        "Python client: 1,000,000-int quick sort from a buffer vs the Rust client, end to end",
        "≤ 1.10×",
    ),
    (
        "python-sort-vs-rpyc",
        "Python client: 1,000,000-int quick sort from a buffer vs RPyC's best by-value path",
        "≥ 15× faster",
    ),
    (
        "python-eval",
        "Python client: trivial eval p50 vs the Rust client's",
        "≤ 1.3×",
    ),
];

/// Issue 13's three targets, judged from `py` and RPyC's figures.
pub fn targets(py: &Maybe<PythonFigures>, rpyc: &Maybe<RpycFigures>) -> Vec<Target> {
    let target =
        |(id, what, bound): (&str, &str, &str), figure: String, met: Option<bool>| Target {
            id: id.into(),
            what: what.into(),
            figure,
            bound: bound.into(),
            met,
        };
    let [sort, vs_rpyc, eval] = TARGETS;
    let f = match py {
        Ok(f) => f,
        Err(why) => {
            return TARGETS
                .into_iter()
                .map(|t| target(t, format!("n/a ({why})"), None))
                .collect();
        }
    };
    let full = f.n >= 1_000_000;
    let buffer = f.buffer_sort_ns() as f64;
    let numpy = f
        .numpy_sort_ns
        .map(|ns| format!(", numpy {}", time(ns as f64)))
        .unwrap_or_default();
    let x = buffer / f.rust_sort_ns as f64;
    let figure = format!(
        "array {}{numpy} vs Rust {}: {} ({} ints; the slower buffer counts)",
        time(f.array_sort_ns as f64),
        time(f.rust_sort_ns as f64),
        ratio(x),
        thousands(f.n as u64)
    );
    let mut out = vec![target(sort, figure, full.then_some(x <= 1.10))];
    out.push(match (rpyc, rpyc_sort(rpyc, 1_000_000)) {
        (Err(why), _) => target(vs_rpyc, format!("RPyC skipped: {why}"), None),
        (Ok(_), Some(r)) if full => {
            let x = r.best_by_value_ns / buffer;
            let figure = format!(
                "{} vs RPyC {} ({}): {} faster",
                time(buffer),
                time(r.best_by_value_ns),
                r.best_by_value,
                ratio(x)
            );
            target(vs_rpyc, figure, Some(x >= 15.0))
        }
        (Ok(_), _) if !full => target(vs_rpyc, "not measured (--quick)".into(), None),
        (Ok(_), _) => target(
            vs_rpyc,
            "RPyC's figures have no quick sort of 1,000,000 ints (a --quick run's?)".into(),
            None,
        ),
    });
    let x = f.python_eval_p50_ns as f64 / f.rust_eval_p50_ns as f64;
    let figure = format!(
        "{} vs {}: {} ({} calls each, alternating in rounds of {ROUND})",
        time(f.python_eval_p50_ns as f64),
        time(f.rust_eval_p50_ns as f64),
        ratio(x),
        thousands(f.calls as u64)
    );
    out.push(target(eval, figure, Some(x <= 1.3)));
    out
}

/// Add issue 13's targets to `r` (after [`Results::judge`]).
pub fn judge(r: &mut Results) {
    let more = targets(&r.python, &r.rpyc);
    r.targets.extend(more);
}

/// Section 8's rows of the main table (its nine columns: the Python
/// figure, the Rust client as its floor, RPyC).
pub fn rows(r: &Results) -> Vec<[String; 9]> {
    table_rows(&r.python, &r.rpyc, &r.targets)
}

pub fn table_rows(
    py: &Maybe<PythonFigures>,
    rpyc: &Maybe<RpycFigures>,
    targets: &[Target],
) -> Vec<[String; 9]> {
    let dash = || "–".to_string();
    let judged = |id: &str| {
        targets
            .iter()
            .find(|t| t.id == id)
            .map(|t| (t.bound.clone(), met(t.met).to_string()))
            .unwrap_or_else(|| (dash(), dash()))
    };
    let f = match py {
        Ok(f) => f,
        Err(why) => {
            let cells = [
                "8 Python".into(),
                "Python client".into(),
                format!("skipped: {why}"),
            ];
            return vec![padded(&cells)];
        }
    };
    let mut rows = Vec::new();
    let t = |ns: u64| time(ns as f64);
    let (bound, ok) = judged("python-eval");
    let (rpyc_eval, vs_eval) = match rpyc {
        Ok(p) => (
            time(p.eval_p50_ns),
            format!(
                "{} better",
                ratio(p.eval_p50_ns / f.python_eval_p50_ns as f64)
            ),
        ),
        Err(_) => (dash(), dash()),
    };
    rows.push([
        "8 Python".into(),
        format!(
            "trivial eval p50 / p99 from Python {}, {} calls (Rust client alternating)",
            f.python,
            thousands(f.calls as u64)
        ),
        format!("{} / {}", t(f.python_eval_p50_ns), t(f.python_eval_p99_ns)),
        format!("Rust {} / {}", t(f.rust_eval_p50_ns), t(f.rust_eval_p99_ns)),
        ratio(f.python_eval_p50_ns as f64 / f.rust_eval_p50_ns as f64),
        rpyc_eval,
        vs_eval,
        bound,
        ok,
    ]);
    let rpyc_sort = rpyc_sort(rpyc, f.n);
    let numpy = f.numpy_sort_ns.map(|ns| ("a numpy array", ns));
    let kinds = [
        Some(("an array.array('i')", f.array_sort_ns)),
        numpy,
        Some(("a list of int", f.list_sort_ns)),
    ];
    for (kind, ns) in kinds.into_iter().flatten() {
        let (rpyc_cell, vs) = match rpyc_sort {
            Some(r) => (
                format!(
                    "{} ({})",
                    time(r.best_by_value_ns),
                    r.best_by_value.split(' ').next().unwrap_or_default()
                ),
                format!("{} better", ratio(r.best_by_value_ns / ns as f64)),
            ),
            None => (dash(), dash()),
        };
        let (bound, ok) = if kind == "a list of int" {
            (dash(), dash())
        } else {
            let (b1, m1) = judged("python-sort");
            let (b2, m2) = judged("python-sort-vs-rpyc");
            (format!("{b1}; RPyC {b2}"), format!("{m1}; {m2}"))
        };
        rows.push([
            "8 Python".into(),
            format!(
                "quick sort of {} ints from {kind}, end to end, median of {}",
                thousands(f.n as u64),
                f.sorts
            ),
            t(ns),
            format!("Rust {}", t(f.rust_sort_ns)),
            ratio(ns as f64 / f.rust_sort_ns as f64),
            rpyc_cell,
            vs,
            bound,
            ok,
        ]);
    }
    if f.numpy.is_none() {
        let cells = [
            "8 Python".into(),
            "quick sort from a numpy array".into(),
            "n/a: numpy is not installed in the virtualenv".into(),
        ];
        rows.push(padded(&cells));
    }
    rows
}

/// A row of nine cells: `cells`, then dashes.
fn padded(cells: &[String]) -> [String; 9] {
    std::array::from_fn(|i| cells.get(i).cloned().unwrap_or_else(|| "–".into()))
}
