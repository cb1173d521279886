//! The plot of a run: sort time against N, log–log, one line per system
//! (native, Sandcall unrestricted, Sandcall sandboxed, RPyC by value), one
//! panel per algorithm that every system has (quick sort, bubble sort).
//! SVG only, its text left to the browser's fonts.

use crate::results::Results;
use plotters::prelude::*;
use std::path::Path;

/// A line: its name, colour and (N, seconds) points.
type Line = (&'static str, RGBColor, Vec<(f64, f64)>);

/// Write the plot of `r` to `path` (SVG).
///
/// # Errors
/// When the file cannot be written or there is nothing to plot.
pub fn write(r: &Results, path: &Path) -> anyhow::Result<()> {
    let panels: Vec<(&str, Vec<Line>)> = ["quick-sort", "bubble-sort"]
        .into_iter()
        .map(|alg| (alg, lines(r, alg)))
        .filter(|(_, lines)| lines.iter().any(|l| l.2.len() > 1))
        .collect();
    anyhow::ensure!(!panels.is_empty(), "no sort has two sizes to plot");
    let width = 560 * panels.len() as u32;
    let root = SVGBackend::new(path, (width, 460)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let areas = root.split_evenly((1, panels.len()));
    for ((alg, lines), area) in panels.iter().zip(areas) {
        panel(&area, alg, lines)?;
    }
    root.present().map_err(err)?;
    Ok(())
}

fn err(e: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("while drawing the plot: {e}")
}

/// The lines of one algorithm; systems without figures are left out.
fn lines(r: &Results, alg: &str) -> Vec<Line> {
    let rows: Vec<_> = r.sorts.iter().filter(|s| s.workload.alg == alg).collect();
    let n = |s: &&crate::results::SortRow| s.workload.n as f64;
    let native = rows
        .iter()
        .map(|s| (n(s), s.native_ns as f64 / 1e9))
        .collect();
    let remote = |sandboxed: bool| {
        rows.iter()
            .filter_map(|s| {
                let m = if sandboxed {
                    &s.sandboxed
                } else {
                    &s.unrestricted
                };
                m.as_ref().ok().map(|m| (n(s), m.e2e_ns as f64 / 1e9))
            })
            .collect()
    };
    let rpyc = match &r.rpyc {
        Ok(p) => p
            .sorts
            .iter()
            .filter(|s| s.alg == alg)
            .map(|s| (s.n as f64, s.best_by_value_ns / 1e9))
            .collect(),
        Err(_) => Vec::new(),
    };
    let lines = vec![
        (
            "native (same Rust, in the bench binary)",
            RGBColor(0, 0, 0),
            native,
        ),
        (
            "Sandcall unrestricted, end to end",
            RGBColor(0, 114, 178),
            remote(false),
        ),
        (
            "Sandcall sandboxed, end to end",
            RGBColor(0, 158, 115),
            remote(true),
        ),
        (
            "RPyC classic, best by-value path",
            RGBColor(213, 94, 0),
            rpyc,
        ),
    ];
    lines.into_iter().filter(|l| !l.2.is_empty()).collect()
}

fn panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    alg: &str,
    lines: &[Line],
) -> anyhow::Result<()> {
    let all = || lines.iter().flat_map(|l| l.2.iter());
    let (x0, x1) = bounds(all().map(|p| p.0));
    let (y0, y1) = bounds(all().map(|p| p.1));
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{alg}: time per sort vs N (log–log)"),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(42)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (x0 / 2.0..x1 * 2.0).log_scale(),
            (y0 / 3.0..y1 * 3.0).log_scale(),
        )
        .map_err(err)?;
    chart
        .configure_mesh()
        .x_desc("N (ints sent to the sort and returned)")
        .y_desc("time per sort")
        .x_label_formatter(&|&x| n_label(x))
        .y_label_formatter(&|&y| seconds_label(y))
        .draw()
        .map_err(err)?;
    for (name, color, points) in lines {
        let color = *color;
        chart
            .draw_series(LineSeries::new(
                points.iter().copied(),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(*name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
        chart
            .draw_series(points.iter().map(|&p| Circle::new(p, 3, color.filled())))
            .map_err(err)?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    Ok(())
}

/// The smallest and largest of `values`.
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

/// `x`'s mantissa when it is 1, 2 or 5 (so that only those ticks get a
/// label), and its power of ten.
fn round_tick(x: f64, mantissas: &[f64]) -> Option<(f64, i32)> {
    let exp = x.log10().floor() as i32;
    let m = x / 10f64.powi(exp);
    mantissas
        .iter()
        .find(|&&want| (m - want).abs() < 0.02)
        .map(|&m| (m, exp))
}

/// An N tick: `1k`, `5k`, `100k`, `1M`, or nothing between those.
fn n_label(x: f64) -> String {
    match round_tick(x, &[1.0, 2.0, 5.0]) {
        Some((m, e)) if e >= 6 => format!("{}M", m * 10f64.powi(e - 6)),
        Some((m, e)) if e >= 3 => format!("{}k", m * 10f64.powi(e - 3)),
        Some((m, e)) => format!("{}", m * 10f64.powi(e)),
        None => String::new(),
    }
}

/// A time tick at each power of ten: `100 µs`, `1 ms`, `1 s`.
fn seconds_label(y: f64) -> String {
    match round_tick(y, &[1.0]) {
        Some((_, e)) if e >= 0 => format!("{} s", 10f64.powi(e)),
        Some((_, e)) if e >= -3 => format!("{} ms", 10f64.powi(e + 3)),
        Some((_, e)) if e >= -6 => format!("{} µs", 10f64.powi(e + 6)),
        Some((_, e)) => format!("1e{e} s"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_labels() {
        assert_eq!(n_label(1_000_000.0), "1M");
        assert_eq!(n_label(5_000.0), "5k");
        assert_eq!(n_label(7_000.0), "");
        assert_eq!(seconds_label(0.01), "10 ms");
        assert_eq!(seconds_label(1.0), "1 s");
        assert_eq!(seconds_label(0.0001), "100 µs");
        assert_eq!(seconds_label(0.02), "");
    }
}
