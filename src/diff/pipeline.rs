//! The one way snapshots are compared ([`compare`]): the order in which files are read, graphs
//! built and digests finished, so that a diff of N snapshots holds one full graph at a time and
//! keeps both cores busy.
//!
//! A diff reads no distances; what it measures without dominators is measured while they are
//! computed, and each earlier snapshot's digest is finished beside the next snapshot's build.
//! The first build has no digest to finish and leaves a core idle for a while: the second file
//! is read in that time ([`ReadAhead`]). Later files are read in turn: reading one ahead beside
//! a build that also finishes a digest would hold a third snapshot's columns at once.

use std::path::PathBuf;

use super::digest::{Digest, DigestBody, DigestJob, Measurement};
use super::{detectors, judge, report, DiffOptions};
use crate::error::{Error, Result};
use crate::graph::{Beside, Columns, HeapGraph, RetainerGraph};
use crate::index::{FileIdentity, IndexCache};
use crate::observe::{Observer, Stage};
use crate::report::diff::DiffReport;
use crate::snapshot::ReadAhead;
use crate::summary::ClassAggregates;

/// Compares snapshots of one process, `files` oldest first (two or more), and names the leak
/// suspects. Snapshots indexed in `index` are read from their index, the others are saved
/// there. `observer` is told each file's stages as they start.
pub fn compare(
    files: &[PathBuf],
    options: &DiffOptions,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
) -> Result<DiffReport> {
    compare_visiting(
        files,
        options,
        Columns::NO_DISTANCES,
        index,
        observer,
        |_, _| {},
    )
}

/// [`compare`] that builds each graph with `columns` and shows it to `visit` (with its index in
/// `files`) as soon as it is built, before it is reduced to a digest: for callers that want
/// more of every snapshot than the diff keeps (`heapscan report`'s summaries).
pub(crate) fn compare_visiting(
    files: &[PathBuf],
    options: &DiffOptions,
    columns: Columns,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
    mut visit: impl FnMut(usize, &HeapGraph),
) -> Result<DiffReport> {
    let Some((last_file, earlier)) = files.split_last().filter(|(_, e)| !e.is_empty()) else {
        return Err(Error::TooFewSnapshots { got: files.len() });
    };
    let mut digests = Vec::with_capacity(files.len());
    let mut savings = Vec::new();
    let mut unfinished: Option<DigestJob> = None;
    // An indexed file is not read, so not read ahead either.
    let indexed = |file: &PathBuf| {
        index.is_some_and(|cache| FileIdentity::of(file).is_ok_and(|identity| cache.has(&identity)))
    };
    let mut ahead = (!indexed(&files[1])).then(|| ReadAhead::start(files[1].clone()));
    for (k, file) in earlier.iter().enumerate() {
        let source = if k == 1 { ahead.take() } else { None };
        let job = unfinished.take();
        let (mut graph, finished, measured) = HeapGraph::open_alongside(
            file,
            source,
            columns,
            index,
            observer,
            move || job.map(DigestJob::run),
            Beside::Work,
            Measurement::of_earlier,
        )?;
        digests.extend(finished);
        visit(k, &graph);
        if let Some(mut saving) = graph.take_saving() {
            saving.seal(&graph);
            savings.push(saving);
        }
        unfinished = Some(Digest::finish_later(
            graph,
            measured,
            file.display().to_string(),
        ));
    }
    let job = unfinished.take();
    let (mut last, finished, measured) = HeapGraph::open_alongside(
        last_file,
        ahead.take(),
        columns,
        index,
        observer,
        move || job.map(DigestJob::run),
        Beside::Work,
        LastMeasurement::new,
    )?;
    digests.extend(finished);
    visit(earlier.len(), &last);
    let last_saving = last.take_saving();
    observer.stage(Stage::Comparing);
    let provenance: Vec<_> = files.iter().map(|f| crate::provenance::read(f)).collect();
    let report = diff_with_last(
        digests,
        &last,
        measured,
        &last_file.display().to_string(),
        &provenance,
        options,
    );
    if let Some(mut saving) = last_saving {
        saving.seal(&last);
        savings.push(saving);
    }
    for saving in savings {
        saving.wait_noting(observer);
    }
    Ok(report)
}

/// The last snapshot's share of a diff that reads no dominator column: its digest's
/// measurement and what the leak detectors look up.
struct LastMeasurement {
    measured: Measurement,
    prep: detectors::LastPrep,
}

impl LastMeasurement {
    /// Measures `graph`: for the core the dominators leave idle while they are computed.
    /// (Its shortest paths are walked later, beside its class totals: measuring alone takes
    /// about as long as the dominators.)
    fn new(graph: &RetainerGraph) -> LastMeasurement {
        let mut measured = Measurement::new(graph);
        let prep = detectors::LastPrep::take(&mut measured);
        LastMeasurement { measured, prep }
    }
}

/// Compares the earlier snapshots' `digests` (in order, at least one) with the graph of the last
/// snapshot (called `file`), finishing what [`LastMeasurement`] measured of it, and names the
/// leak suspects.
fn diff_with_last(
    mut digests: Vec<Digest>,
    last: &HeapGraph,
    measured: LastMeasurement,
    file: &str,
    provenance: &[Option<crate::provenance::Provenance>],
    options: &DiffOptions,
) -> DiffReport {
    let LastMeasurement { measured, mut prep } = measured;
    // The last snapshot's class totals are mostly a sequential walk of its dominator tree.
    // Everything that does not read them runs on the other core meanwhile: its shortest
    // paths (a breadth-first walk as long as the class totals' walk), the rest of its digest,
    // the same-process check, and the detectors but the class one.
    let (aggregates, (body, judging, reader, shaped)) = rayon::join(
        || ClassAggregates::compute(last),
        || {
            prep.walk_paths(last);
            let body = DigestBody::assemble(last, measured, file);
            let bodies: Vec<&DigestBody> = digests
                .iter()
                .map(|d| &**d)
                .chain(std::iter::once(&body))
                .collect();
            let judging = judge(&bodies, provenance, &options.thresholds);
            let reader = detectors::Last::prepared(last, prep);
            let judged: Vec<&DigestBody> = judging.judged.iter().map(|&i| bodies[i]).collect();
            let comparison = detectors::Comparison {
                matched_by: judging.matched_by,
                counted: &judging.counted,
                across: &judging.across,
            };
            let shaped = detectors::find_shaped(&judged, &reader, comparison, &options.thresholds);
            (body, judging, reader, shaped)
        },
    );
    digests.push(body.with_totals(&aggregates));
    report(&digests, judging, &reader, shaped, options)
}
