//! Assembles the model of `heapscan report` ([`HtmlReport`]) from snapshots read one at a time:
//! each snapshot's Summary (and, when there are two or more, its diff digest) is taken as
//! soon as its graph is built, so only one full graph is held at once; the last graph also
//! gives the leak suspects' owners and paths and the duplicated strings. A GC trace, already
//! analysed (`heapscan gc`'s [`GcReport`]), is added with its longest pauses. Pure: returns a
//! model, prints nothing; progress goes to the caller's observer.

use std::path::PathBuf;

use crate::diff::{compare_visiting, DiffOptions};
use crate::error::Result;
use crate::gc::analysis::GcReport;
use crate::graph::{Columns, HeapGraph};
use crate::index::IndexCache;
use crate::observe::Observer;
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
    /// The memory the comparison may take ([`DiffOptions::max_memory`]).
    pub max_memory: Option<u64>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            top: 30,
            strings_top: crate::strings::DEFAULT_TOP,
            thresholds: Thresholds::default(),
            generated_at: None,
            max_memory: None,
        }
    }
}

/// Builds the report for `files` (oldest first) and, when given, a GC trace. Two or more files
/// are compared as `heapscan diff` compares them ([`crate::diff::compare`]), with every graph
/// summarised as it is built; `observer` is told each file's stages.
pub fn build(
    files: &[PathBuf],
    gc: Option<GcReport>,
    options: &ReportOptions,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
) -> Result<HtmlReport> {
    let summary_options = SummaryOptions {
        top: Some(options.top),
        sort: SortKey::Retained,
        class_filter: None,
        dominators: options.top,
    };
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let mut snapshots = Vec::with_capacity(files.len());
    let mut duplicates = None;
    let mut visit = |i: usize, graph: &HeapGraph| {
        snapshots.push(summarize(graph, &names[i], &summary_options));
        if i + 1 == files.len() {
            duplicates = Some(duplicate_strings(graph, &names[i], options.strings_top));
        }
    };
    let diff = match files {
        [] => None,
        [only] => {
            // A summary and the duplicate strings read no retainer: the lists go after the
            // dominators, as in a summary, whose peak they would set.
            let mut graph = HeapGraph::open(only, Columns::NO_RETAINERS_AFTER, index, observer)?;
            visit(0, &graph);
            if let Some(mut saving) = graph.take_saving() {
                saving.seal(&graph);
                saving.wait_noting(observer);
            }
            None
        }
        _ => Some(compare_visiting(
            files,
            &DiffOptions {
                thresholds: options.thresholds.clone(),
                top: Some(options.top),
                max_suspects: None,
                max_memory: options.max_memory,
            },
            Columns::ALL,
            index,
            observer,
            visit,
        )?),
    };
    Ok(HtmlReport {
        heapscan_version: env!("CARGO_PKG_VERSION").to_string(),
        generated_at: options.generated_at.clone(),
        snapshots,
        diff,
        duplicate_strings: duplicates,
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
