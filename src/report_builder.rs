//! Assembles the model of `heapscan report` ([`HtmlReport`]) from snapshots read one at a time:
//! each snapshot's Summary (and, when there are two or more, its diff [`Digest`]) is taken as
//! soon as its graph is built, so only one full graph is held at once; the last graph also
//! gives the leak suspects' owners and paths and the duplicated strings. A GC trace, already
//! analysed (`heapscan gc`'s [`GcReport`]), is added with its longest pauses. Pure: returns a
//! model, prints nothing. Reading files is the caller's (`load`), so progress display stays in
//! the CLI.

use crate::diff::{diff_with_last, DiffOptions, Digest, LastMeasurement};
use crate::gc::analysis::GcReport;
use crate::graph::HeapGraph;
use crate::report::diff::Thresholds;
use crate::report::html::{GcPause, GcTrace, HtmlReport};
use crate::strings::duplicate_strings;
use crate::summary::{summarize, SortKey, SummaryOptions};

/// What the user asked of the report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Rows in each class, dominator and comparison table.
    pub top: usize,
    /// How many duplicated strings to list.
    pub strings_top: usize,
    /// What counts as a leak (as `heapscan diff`).
    pub thresholds: Thresholds,
    /// When the report was made, as it should read; `None` for byte-identical output.
    pub generated_at: Option<String>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top: 30,
            strings_top: crate::strings::DEFAULT_TOP,
            thresholds: Thresholds::default(),
            generated_at: None,
        }
    }
}

/// Builds the report for `files` (oldest first) and, when given, a GC trace. `load(i)` reads
/// and analyses `files[i]`; it is called once per file, in order, and each graph but the last
/// is dropped before the next one is loaded. The first error from `load` is returned as is.
pub fn build<E>(
    files: &[String],
    gc: Option<GcReport>,
    options: &ReportOptions,
    mut load: impl FnMut(usize) -> Result<HeapGraph, E>,
) -> Result<HtmlReport, E> {
    let compare = files.len() >= 2;
    let summary_options = SummaryOptions {
        top: Some(options.top),
        sort: SortKey::Retained,
        class_filter: None,
        dominators: options.top,
    };
    let mut snapshots = Vec::with_capacity(files.len());
    let mut digests = Vec::with_capacity(if compare { files.len() } else { 0 });
    let mut last = None;
    for (i, file) in files.iter().enumerate() {
        let graph = load(i)?;
        snapshots.push(summarize(&graph, file, &summary_options));
        if i + 1 == files.len() {
            last = Some(graph);
        } else if compare {
            digests.push(Digest::new(&graph, file));
        }
    }
    let diff = match (&last, files.last()) {
        (Some(graph), Some(file)) if compare => Some(diff_with_last(
            digests,
            graph,
            LastMeasurement::new(graph),
            file,
            &files
                .iter()
                .map(|f| crate::provenance::read(std::path::Path::new(f)))
                .collect::<Vec<_>>(),
            &DiffOptions {
                thresholds: options.thresholds.clone(),
                top: Some(options.top),
                max_suspects: None,
            },
        )),
        _ => None,
    };
    let duplicate_strings = last
        .as_ref()
        .zip(files.last())
        .map(|(graph, file)| duplicate_strings(graph, file, options.strings_top));
    Ok(HtmlReport {
        heapscan_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: options.generated_at.clone(),
        snapshots,
        diff,
        duplicate_strings,
        gc_trace: gc.map(|analysis| gc_trace(analysis, options.top)),
    })
}

/// The GC trace with its `top` longest pauses over all processes (longest first; ties keep
/// the log's order, so the result is the same on every run).
pub fn gc_trace(analysis: GcReport, top: usize) -> GcTrace {
    let mut pauses: Vec<GcPause> = analysis
        .processes
        .iter()
        .flat_map(|p| {
            p.heap_after.iter().map(|h| GcPause {
                pid: p.pid,
                isolate: p.isolate.clone(),
                time_s: h.time_ms / 1000.0,
                kind: h.kind,
                pause_ms: h.pause_ms,
                heap_after_mb: h.heap_after_mb,
            })
        })
        .collect();
    pauses.sort_by(|a, b| b.pause_ms.total_cmp(&a.pause_ms));
    pauses.truncate(top);
    GcTrace {
        analysis,
        longest_pauses: pauses,
    }
}
