//! The one table of a run, in markdown: printed, and written to
//! `results.md` under a header naming the machine and the command.
//!
//! Columns: the Sandcall figure, its floor (raw TCP echo or native code)
//! and the ratio to it, RPyC's figure and the ratio to it, the issue's
//! target and whether this run met it (the rows: [`crate::rows`]). Every
//! ratio comes from this run.

use crate::results::Results;
use crate::rows;
use crate::targets::met;
use std::fmt::Write;

/// The markdown table of `r`.
pub fn table(r: &Results) -> String {
    let mut out = String::from(
        "| § | measure | Sandcall | floor | ×floor | RPyC | vs RPyC | target | met |\n|---|---|---:|---:|---:|---:|---:|---|---|\n",
    );
    for row in rows::all(r) {
        let _ = writeln!(out, "| {} |", row.cells().join(" | "));
    }
    for row in crate::python::rows(r) {
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out
}

/// `results.md`: a header naming the run, the table, and the targets.
pub fn markdown(r: &Results) -> String {
    let m = &r.meta;
    let mut out = format!(
        "# Sandcall benchmark results\n\n\
         Run `{}` on {} ({} CPUs, {}, Linux {}); load average {} at the start, {} at the end.\n\
         Client, servers (each in its own process) and RPyC share the machine, on loopback.\n\
         Every ratio comes from this one run. \"×floor\" is Sandcall ÷ floor; \"vs RPyC\" is how many times\n\
         better Sandcall is (RPyC's time ÷ Sandcall's, or Sandcall's rate ÷ RPyC's). Sort cells: end to end\n\
         (time inside the guest, end to end ÷ in guest); RPyC sort cells: its fastest by-value path.\n\n",
        m.command, m.date, m.cpus, m.cpu_model, m.kernel, m.loadavg_start, m.loadavg_end
    );
    out.push_str(&table(r));
    out.push_str("\n## Targets\n\n| target | figure | bound | met |\n|---|---|---|---|\n");
    for t in &r.targets {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            t.what,
            t.figure,
            t.bound,
            met(t.met)
        );
    }
    out
}
