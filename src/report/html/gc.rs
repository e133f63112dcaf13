//! The report's GC-trace section (`heapscan report --gc FILE…`): the verdict on heap-after-GC
//! growth per process, `heapscan gc`'s chart (heap after GC over time above the pauses), the
//! pause statistics per process and per collector, the longest pauses, and how every line of
//! each log was accounted for. Log lines that are not GC records are the analysed program's
//! output: they are shown only escaped, like snapshot strings.

use std::io;

use maud::{html, Markup};

use super::{bytes_mb, chart_error, figure, num, Cell, Escaped, Section, Table};
use crate::gc::analysis::{GcReport, Verdict};
use crate::gc::plot;

use super::GcTrace;

/// The header's one-line verdict on the trace: CSS class and text.
pub(super) fn verdict(report: &GcReport) -> (&'static str, String) {
    let growing = report
        .processes
        .iter()
        .filter(|p| p.growth.verdict == Verdict::Growing)
        .count();
    let text = match report.verdict {
        Verdict::Growing => format!(
            "GC trace: heap after GC keeps growing in {growing} of {} process{}",
            report.processes.len(),
            if report.processes.len() == 1 {
                ""
            } else {
                "es"
            }
        ),
        Verdict::Stable => "GC trace: heap after GC is stable".to_string(),
        Verdict::InsufficientData => "GC trace: too few GCs to judge heap growth".to_string(),
    };
    (verdict_class(report.verdict), text)
}

/// The CSS class of a verdict's badge.
fn verdict_class(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Growing => "bad",
        Verdict::Stable => "good",
        Verdict::InsufficientData => "info",
    }
}

pub(super) fn section(trace: &GcTrace) -> io::Result<Section> {
    let report = &trace.analysis;
    let chart = if report.processes.iter().any(|p| !p.heap_after.is_empty()) {
        let svg = plot::svg(report).map_err(chart_error)?;
        Some(figure(
            &svg,
            "gc-chart",
            "Heap after each GC over time (full GCs marked, fitted growth dashed), and GC pauses",
        ))
    } else {
        None
    };
    let body = html! {
        (growth_verdicts(report))
        @if let Some(chart) = chart { (chart) }
        h3 { "Pauses per process" }
        (processes_table(report))
        h3 { "Pauses per collector" }
        (collectors_table(report))
        h3 { "Longest pauses" }
        (longest_pauses_table(trace))
        h3 { "Log lines" }
        (log_lines(report))
    };
    Ok(Section {
        id: "gc",
        title: "GC trace".to_string(),
        body,
    })
}

/// Each process's growth verdict, one line each.
fn growth_verdicts(report: &GcReport) -> Markup {
    html! {
        ul class="gc-growth" id="gc-growth" {
            @for p in &report.processes {
                @let g = &p.growth;
                li {
                    code { (Escaped(&p.file)) } " pid " (p.pid) " " code { (Escaped(&p.isolate)) } ": "
                    span class={ "verdict " (verdict_class(g.verdict)) } { (g.verdict.name()) }
                    " "
                    (Escaped(&format!(
                        "{:+.2} MB/min over {:.0} s ({} points, {}, R² {:.2})",
                        g.slope_mb_per_min, g.window_s, g.points, g.basis, g.r2
                    )))
                    " — " (Escaped(&g.why))
                }
            }
        }
    }
}

/// Pauses, utilisation, peak heap and growth per process.
fn processes_table(report: &GcReport) -> Table {
    let mut processes = Table::new(
        "gc-processes",
        "processes",
        &[
            ("File", false),
            ("PID", true),
            ("Isolate", false),
            ("GCs", true),
            ("Total pause ms", true),
            ("p50 ms", true),
            ("p95 ms", true),
            ("Max ms", true),
            ("Mutator utilisation %", true),
            ("Peak heap after GC MB", true),
            ("Growth MB/min", true),
            ("Verdict", false),
        ],
    );
    for p in &report.processes {
        processes.rows.push(vec![
            Cell::Code(p.file.clone()),
            num(u64::from(p.pid)),
            Cell::Code(p.isolate.clone()),
            num(p.gcs as u64),
            ms(p.pauses.total_ms),
            ms(p.pauses.p50_ms),
            ms(p.pauses.p95_ms),
            ms(p.pauses.max_ms),
            p.mutator_utilisation
                .map_or_else(blank, |u| Cell::Num(u * 100.0, format!("{:.2}", u * 100.0))),
            p.peak_heap_after_mb.map_or_else(blank, bytes_mb),
            Cell::Num(
                p.growth.slope_mb_per_min,
                format!("{:+.2}", p.growth.slope_mb_per_min),
            ),
            Cell::Text(p.growth.verdict.name().to_string()),
        ]);
    }
    processes
}

/// Pauses per collector (scavenge, mark-compact, …) of each process.
fn collectors_table(report: &GcReport) -> Table {
    let mut collectors = Table::new(
        "gc-collectors",
        "collectors",
        &[
            ("PID", true),
            ("Isolate", false),
            ("Collector", false),
            ("Count", true),
            ("Total ms", true),
            ("p50 ms", true),
            ("p95 ms", true),
            ("Max ms", true),
            ("Incremental marking ms", true),
        ],
    );
    for p in &report.processes {
        for k in &p.by_kind {
            collectors.rows.push(vec![
                num(u64::from(p.pid)),
                Cell::Code(p.isolate.clone()),
                Cell::Text(k.kind.name().to_string()),
                num(k.pauses.count as u64),
                ms(k.pauses.total_ms),
                ms(k.pauses.p50_ms),
                ms(k.pauses.p95_ms),
                ms(k.pauses.max_ms),
                // Only full GCs have incremental marking before them.
                if k.kind.is_full() {
                    ms(k.incremental_ms)
                } else {
                    blank()
                },
            ]);
        }
    }
    collectors
}

/// The longest pauses over all processes.
fn longest_pauses_table(trace: &GcTrace) -> Table {
    let mut pauses = Table::new(
        "gc-pauses",
        "pauses",
        &[
            ("Time s", true),
            ("PID", true),
            ("Isolate", false),
            ("Collector", false),
            ("Pause ms", true),
            ("Heap after GC MB", true),
        ],
    );
    for p in &trace.longest_pauses {
        pauses.rows.push(vec![
            Cell::Num(p.time_s, format!("{:.3}", p.time_s)),
            num(u64::from(p.pid)),
            Cell::Code(p.isolate.clone()),
            Cell::Text(p.kind.name().to_string()),
            ms(p.pause_ms),
            bytes_mb(p.heap_after_mb),
        ]);
    }
    pauses
}

/// How each log's lines were read, and the lines that are not GC records.
fn log_lines(report: &GcReport) -> Markup {
    let mut lines = Table::new(
        "gc-lines",
        "logs",
        &[
            ("File", false),
            ("Lines", true),
            ("GC records", true),
            ("Other", true),
            ("Blank", true),
            ("Malformed", true),
        ],
    );
    for f in &report.files {
        lines.rows.push(vec![
            Cell::Code(f.path.clone()),
            num(f.lines.total as u64),
            num(f.lines.records as u64),
            num(f.lines.other as u64),
            num(f.lines.blank as u64),
            num(f.lines.malformed as u64),
        ]);
    }
    html! {
        (lines)
        @for f in report.files.iter().filter(|f| !f.skipped.is_empty()) {
            details class="snapshot" {
                summary {
                    "Lines of " code { (Escaped(&f.path)) } " that are not GC records (first "
                    (f.skipped.len()) ")"
                }
                ul class="gc-skipped" {
                    @for s in &f.skipped {
                        li { "line " (s.line) " (" (Escaped(&s.why)) "): " code { (Escaped(&s.text)) } }
                    }
                }
            }
        }
    }
}

fn ms(v: f64) -> Cell {
    Cell::Num(v, format!("{v:.2}"))
}

fn blank() -> Cell {
    Cell::Num(0.0, String::new())
}
