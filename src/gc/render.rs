//! Renderers of a [`GcReport`]: a table for people, JSON (the whole model), and CSV (one row
//! per GC, the heap-after-GC time series for spreadsheets). Renderers only format: every
//! number is computed in [`super::analysis`].

use std::io::{self, Write};

use comfy_table::Cell;

use crate::report::{align_right, new_table, write_json};

use super::analysis::{GcReport, PauseStats, ProcessReport};

/// The human-readable report.
pub fn table(report: &GcReport, out: &mut dyn Write) -> io::Result<()> {
    for p in &report.processes {
        process_table(p, out)?;
        writeln!(out)?;
    }
    if report.processes.is_empty() {
        writeln!(out, "No GC records found.")?;
        writeln!(
            out,
            "Run the app with `node --trace-gc app.js > gc.log` (or `heapscan record -- node app.js`) and pass that log."
        )?;
        writeln!(out)?;
    }
    for f in &report.files {
        let l = &f.lines;
        write!(
            out,
            "{}: {} lines: {} GC, {} other, {} malformed, {} blank",
            f.path, l.total, l.gc, l.other, l.malformed, l.blank
        )?;
        if l.run_together > 0 {
            write!(out, "; {} with records run together", l.run_together)?;
        }
        if l.duplicates > 0 {
            write!(out, "; {} repeated records ignored", l.duplicates)?;
        }
        writeln!(out)?;
        for s in &f.skipped {
            writeln!(out, "  line {} ({}): {}", s.line, s.why, s.text)?;
        }
        let shown = f.skipped.len();
        if l.other + l.malformed > shown {
            writeln!(
                out,
                "  … {} more not shown (see --format json)",
                l.other + l.malformed - shown
            )?;
        }
    }
    writeln!(out, "verdict: {}", report.verdict.name())?;
    Ok(())
}

fn process_table(p: &ProcessReport, out: &mut dyn Write) -> io::Result<()> {
    write!(
        out,
        "{}  pid {} isolate {}: {} GCs from {:.1} s to {:.1} s",
        p.file,
        p.pid,
        p.isolate,
        p.gcs,
        p.first_ms / 1000.0,
        p.last_ms / 1000.0
    )?;
    if p.heap_snapshot_gcs > 0 {
        write!(
            out,
            " ({} more for heap snapshots, reason `heap profiler`: not counted)",
            p.heap_snapshot_gcs
        )?;
    }
    writeln!(out)?;
    let mut t = new_table(&[
        "collector",
        "count",
        "total ms",
        "p50 ms",
        "p95 ms",
        "max ms",
        "incr. ms",
    ]);
    let row = |name: &str, s: &PauseStats, incr: Option<f64>| {
        let mut cells = vec![Cell::new(name)];
        for text in [
            s.count.to_string(),
            format!("{:.1}", s.total_ms),
            format!("{:.2}", s.p50_ms),
            format!("{:.2}", s.p95_ms),
            format!("{:.2}", s.max_ms),
            incr.map_or(String::new(), |ms| format!("{ms:.1}")),
        ] {
            cells.push(Cell::new(text));
        }
        cells
    };
    for k in &p.by_kind {
        let incr = (k.incremental_ms > 0.0).then_some(k.incremental_ms);
        t.add_row(row(k.kind.name(), &k.pauses, incr));
    }
    t.add_row(row("all", &p.pauses, None));
    align_right(&mut t, &[1, 2, 3, 4, 5, 6]);
    writeln!(out, "{t}")?;
    if let Some(mu) = p.mutator_utilisation {
        write!(out, "mutator utilisation: {:.1}%", mu * 100.0)?;
        if let Some(v8) = p.v8_average_mu {
            write!(out, " (V8's own average mu, full GCs only: {v8:.3})")?;
        }
        writeln!(out)?;
    }
    if let Some(peak) = p.peak_heap_after_mb {
        writeln!(out, "peak heap after GC: {peak:.1} MB")?;
    }
    let g = &p.growth;
    writeln!(
        out,
        "heap-after-GC growth: {} ({}, {} points, {:+.2} MB/min, {:.1} → {:.1} MB, R² {:.2})",
        g.verdict.name(),
        g.basis,
        g.points,
        g.slope_mb_per_min,
        g.start_mb,
        g.end_mb,
        g.r2
    )?;
    writeln!(out, "  {}", g.why)?;
    Ok(())
}

/// The whole model as pretty JSON.
pub fn json(report: &GcReport, out: &mut dyn Write) -> io::Result<()> {
    write_json(out, report)
}

/// One row per GC: `file,pid,isolate,time_ms,kind,heap_after_mb,pause_ms,for_heap_snapshot`.
pub fn csv(report: &GcReport, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "file",
        "pid",
        "isolate",
        "time_ms",
        "kind",
        "heap_after_mb",
        "pause_ms",
        "for_heap_snapshot",
    ])?;
    for p in &report.processes {
        for h in &p.heap_after {
            w.write_record([
                p.file.clone(),
                p.pid.to_string(),
                p.isolate.clone(),
                h.time_ms.to_string(),
                h.kind.name().to_string(),
                h.heap_after_mb.to_string(),
                h.pause_ms.to_string(),
                h.for_heap_snapshot.to_string(),
            ])?;
        }
    }
    w.flush()
}
