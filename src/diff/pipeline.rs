//! The one way snapshots are compared ([`compare`]): the order in which files are read, graphs
//! built and digests finished, so that a diff of N snapshots holds one full graph at a time and
//! keeps both cores busy.
//!
//! A diff reads no distances; what it measures without dominators is measured while they are
//! computed, and each earlier snapshot's digest is finished beside the next snapshot's build.
//! The first build has no digest to finish and leaves a core idle for a while: the second file
//! is read in that time ([`ReadAhead`]). Later files are read in turn: reading one ahead beside
//! a build that also finishes a digest would hold a third snapshot's columns at once.
//!
//! That overlap holds about two snapshots' worth of columns at its peak. When the memory the
//! diff may take ([`DiffOptions::max_memory`], by default half of what is available) is less
//! than it would need, the diff goes one snapshot at a time instead ([`Plan::InTurn`]):
//! nothing read ahead, each earlier digest finished before the next build, each snapshot
//! measured after its dominators rather than beside them. It is slower (a core idles through
//! the sequential steps) and prints the same report.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::digest::{Digest, DigestBody, DigestJob, Measurement};
use super::{detectors, judge, report, stored, DiffOptions, Judging};
use crate::error::{Error, Result};
use crate::graph::{Beside, BuildSink, Columns, HeapGraph, RetainerGraph};
use crate::index::{note_stored, FileIdentity, IndexCache, Unusable};
use crate::observe::{Observer, Stage};
use crate::report::diff::DiffReport;
use crate::snapshot::ReadAhead;
use crate::summary::ClassAggregates;

/// Compares snapshots of one process, `files` oldest first (two or more), and names the leak
/// suspects. Snapshots indexed in `index` are read from their index, the others are saved
/// there; what the diff remembers of each snapshot (its digest) is kept there too, and a
/// snapshot an earlier diff digested is not read again (the last one's graph is, from its
/// index when it has one, to describe the suspects). `observer` is told each file's stages as
/// they start.
pub fn compare(
    files: &[PathBuf],
    options: &DiffOptions,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
) -> Result<DiffReport> {
    compare_with(files, options, Columns::NO_DISTANCES, index, observer, None)
}

/// [`compare`] that builds each graph with `columns` and shows it to `visit` (with its index in
/// `files`) as soon as it is built, before it is reduced to a digest: for callers that want
/// more of every snapshot than the diff keeps (`heapscan report`'s summaries). Every snapshot's
/// graph is opened, even one whose digest is kept.
pub(crate) fn compare_visiting(
    files: &[PathBuf],
    options: &DiffOptions,
    columns: Columns,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
    mut visit: impl FnMut(usize, &HeapGraph),
) -> Result<DiffReport> {
    compare_with(files, options, columns, index, observer, Some(&mut visit))
}

/// Shown each graph as it is built, with its index among the files.
type Visit<'v> = dyn FnMut(usize, &HeapGraph) + 'v;

fn compare_with(
    files: &[PathBuf],
    options: &DiffOptions,
    columns: Columns,
    index: Option<&IndexCache>,
    observer: &dyn Observer,
    mut visit: Option<&mut Visit<'_>>,
) -> Result<DiffReport> {
    let Some((last_file, earlier)) = files.split_last().filter(|(_, e)| !e.is_empty()) else {
        return Err(Error::TooFewSnapshots { got: files.len() });
    };
    let plan = Plan::choose(files, options.max_memory, observer);
    let mut kept = KeptDigests::look_up(files, index, observer);
    // Per file, oldest first: its digest once made or found.
    let mut digests: Vec<Option<Digest>> = (0..files.len()).map(|_| None).collect();
    let mut savings = Vec::new();
    let mut unfinished: Option<(usize, DigestJob)> = None;
    // An indexed file is not read, so not read ahead either; nor is an earlier one whose
    // digest is kept.
    let read = |k: usize| {
        let indexed = index.is_some_and(|cache| kept.identity(k).is_some_and(|id| cache.has(id)));
        let skipped = k + 1 < files.len() && kept.has(k) && visit.is_none();
        !indexed && !skipped
    };
    let mut ahead =
        (plan == Plan::Overlapped && read(1)).then(|| ReadAhead::start(files[1].clone()));
    for (k, file) in earlier.iter().enumerate() {
        let kept_digest = kept.take(k);
        if kept_digest.is_some() && visit.is_none() {
            digests[k] = kept_digest;
            continue;
        }
        let source = if k == 1 { ahead.take() } else { None };
        let job = unfinished.take();
        let measure = kept_digest.is_none();
        let (mut graph, finished, measured) = HeapGraph::open_alongside(
            file,
            source,
            columns,
            index,
            observer,
            move || job.map(|(at, job)| (at, job.run())),
            plan.beside(),
            move |graph| measure.then(|| Measurement::of_earlier(graph)),
        )?;
        if let Some((at, digest)) = finished {
            digests[at] = Some(digest);
        }
        if let Some(visit) = visit.as_mut() {
            visit(k, &graph);
        }
        if let Some(mut saving) = graph.take_saving() {
            saving.seal(&graph);
            savings.push(saving);
        }
        match measured {
            Some(measured) => {
                let file = file.display().to_string();
                let job = Digest::finish_later(graph, measured, file);
                match plan {
                    Plan::Overlapped => unfinished = Some((k, job)),
                    Plan::InTurn => digests[k] = Some(job.run()),
                }
            }
            None => digests[k] = kept_digest,
        }
    }
    let at_last = earlier.len();
    let job = unfinished.take();
    let kept_last = kept.take(at_last);
    let kept_parts = kept.last_parts.take();
    let first = move || job.map(|(at, job)| (at, job.run()));
    // One at a time, a fresh last snapshot is measured once its class totals are swept, after
    // its build: the sweep's working columns would otherwise meet the measurement at the peak.
    let measure_after_totals = plan == Plan::InTurn && kept_last.is_none();
    // Its retainer lists too are built after the sweep, which then meets neither them nor the
    // dominators' working columns; unless an index being saved builds them first (whose
    // writer holds them until written).
    let lists_after_totals = measure_after_totals && index.is_none();
    let (last_columns, last_beside) = if lists_after_totals {
        let columns = Columns {
            retainer_lists: false,
            ..columns
        };
        (columns, Beside::Nothing)
    } else {
        (columns, plan.beside())
    };
    let (mut last, finished, measured) = HeapGraph::open_alongside(
        last_file,
        ahead.take(),
        last_columns,
        index,
        observer,
        first,
        last_beside,
        // With its digest kept, the detectors' tables are all that is measured of it.
        move |graph| match kept_last {
            Some(digest) => Some(OfLast::Prepared(
                Box::new(detectors::LastPrep::of_graph(graph, kept_parts)),
                Box::new(digest),
            )),
            None if measure_after_totals => None,
            None => Some(OfLast::Measured(Box::new(LastMeasurement::new(
                graph,
                plan.last_objects(),
            )))),
        },
    )?;
    let totals = measure_after_totals.then(|| ClassAggregates::compute(&last));
    if lists_after_totals {
        last.retainer_lists();
    }
    let measured = measured.unwrap_or_else(|| {
        OfLast::Measured(Box::new(LastMeasurement::new(&last, plan.last_objects())))
    });
    if let Some((at, digest)) = finished {
        digests[at] = Some(digest);
    }
    if let Some(visit) = visit.as_mut() {
        visit(at_last, &last);
    }
    let last_saving = last.take_saving();
    observer.stage(Stage::Comparing);
    let provenance: Vec<_> = files.iter().map(|f| crate::provenance::read(f)).collect();
    let file = last_file.display().to_string();
    let earlier: Vec<Digest> = digests.into_iter().flatten().collect();
    assert_eq!(earlier.len() + 1, files.len(), "every snapshot is digested");
    std::thread::scope(|scope| {
        // The earlier snapshots' digests are saved while the comparison runs, the last one's
        // once it is done, while the indexes are waited for.
        let (kept, earlier) = (&kept, &earlier);
        scope.spawn(move || kept.save(earlier.iter().enumerate(), None, observer));
        let (report, last_digest, kept_of_last) = match measured {
            OfLast::Measured(measured) => {
                // One at a time, the class totals were swept first (above), rather than
                // beside the shortest paths, whose working columns would meet its own.
                diff_with_last(
                    earlier,
                    &last,
                    *measured,
                    totals,
                    &file,
                    &provenance,
                    options,
                )
            }
            OfLast::Prepared(prep, digest) => {
                let all: Vec<&Digest> = earlier.iter().chain([&*digest]).collect();
                let bodies: Vec<&DigestBody> = all.iter().map(|d| &***d).collect();
                let (judging, reader, shaped) =
                    judge_and_detect(&bodies, &last, *prep, &provenance, options);
                let report = report(&all, judging, &reader, shaped, options);
                (report, *digest, reader.into_kept())
            }
        };
        if let Some(mut saving) = last_saving {
            saving.seal(&last);
            savings.push(saving);
        }
        drop(last);
        if index.is_some() {
            observer.stage(Stage::SavingIndex(last_file));
        }
        let at_last = earlier.len();
        scope.spawn(move || {
            let last = [(at_last, &last_digest)];
            kept.save(last.into_iter(), Some(&kept_of_last), observer)
        });
        for saving in savings {
            saving.wait_noting(observer);
        }
        Ok(report)
    })
}

/// How a diff lays its work out in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Plan {
    /// The second file read ahead beside the first build, each earlier digest finished beside
    /// the next build: both cores busy, about two snapshots' columns held at the peak.
    Overlapped,
    /// One snapshot at a time: about one snapshot's build and the earlier digests at the peak.
    InTurn,
}

/// The peak of each plan per byte of the largest snapshot's text, as measured (README,
/// "Scale"): the overlapped plan's comes while the second file is read ahead beside the first
/// build, the one-at-a-time plan's in the last build.
const OVERLAPPED_PEAK_PER_BYTE: f64 = 3.0;
const IN_TURN_PEAK_PER_BYTE: f64 = 2.5;

impl Plan {
    /// The overlapped plan when its estimated peak fits in `max_memory` (by default half of
    /// what is available now: [`room`]), else one snapshot at a time, telling `observer` why.
    /// Where neither the memory nor the files' sizes can be read, the overlapped plan.
    fn choose(files: &[PathBuf], max_memory: Option<u64>, observer: &dyn Observer) -> Plan {
        let largest = files
            .iter()
            .filter_map(|f| crate::snapshot::text_size_estimate(f).ok())
            .max()
            .unwrap_or(0) as f64;
        let Some(room) = room(max_memory) else {
            return Plan::Overlapped;
        };
        let overlapped = largest * OVERLAPPED_PEAK_PER_BYTE;
        if overlapped <= room as f64 {
            return Plan::Overlapped;
        }
        let in_turn = largest * IN_TURN_PEAK_PER_BYTE;
        let bytes = |b: f64| crate::report::human_bytes(b as u64);
        let fits = if in_turn <= room as f64 {
            String::new()
        } else {
            format!(
                "; it may still need about {}: give it more memory if it is killed",
                bytes(in_turn)
            )
        };
        observer.note(&format!(
            "reading one snapshot at a time to stay within {} of memory (overlapping them \
             would take about {}){fits}",
            bytes(room as f64),
            bytes(overlapped)
        ));
        Plan::InTurn
    }

    /// Where a build's measurement runs: beside its dominators, or in turn after them (when
    /// the dominators' working columns are gone).
    fn beside(self) -> Beside {
        match self {
            Plan::Overlapped => Beside::Work,
            Plan::InTurn => Beside::After,
        }
    }
}

/// The memory a command may take: `max_memory` when given, else half of what is available
/// now; `None` when that cannot be read.
///
/// Half, because the machine's other work needs room too (often the very service whose
/// snapshots these are), and the plans' peaks are estimates: with files of a few GB the
/// overlapped plan's second snapshot would take several GB more for a few percent of speed.
fn room(max_memory: Option<u64>) -> Option<u64> {
    room_within(max_memory, crate::memory::available)
}

/// [`room`], with what is available read by `available` (only when `max_memory` is `None`).
fn room_within(max_memory: Option<u64>, available: impl FnOnce() -> Option<u64>) -> Option<u64> {
    max_memory.or_else(|| available().map(|available| available / 2))
}

/// The peak of indexing a snapshot with its diff digest, per byte of its text, with a margin
/// over what was measured (README, "The second look"). Without the digest it is a summary's.
const DIGEST_PEAK_PER_BYTE: f64 = 1.7;

/// Analyses the snapshot `file` and keeps in `cache` all that later commands read of it: its
/// index (with a summary's facts and, with the digest, its retainer lists) and its diff digest,
/// with what a diff whose last snapshot it is reads of its graph (id index, shortest paths,
/// shape tables, listener lists and timers). For `heapscan index`, so that later commands on
/// files indexed ahead (in CI, right after capture) start at once, and a diff of them reads no
/// graph but the last one's and scans nothing of it. What is kept already is checked whole (a
/// damaged column panics, for [`crate::index::recover`]) and not made again.
///
/// The graph is built as a summary's (both cores, no retainer lists); its class totals are
/// swept; then the retainer lists are built (and sent to the index) and the digest measured, as
/// a diff one snapshot at a time measures its last one, so that the lists and the measurement
/// never meet the dominators' working columns, and the lists are let go before the digest is
/// completed and saved. Measuring beside the dominators instead, as a diff with memory to spare
/// does, bought no time here and took more memory (README, "The second look"). When this takes
/// more than `max_memory` (by default half of what is available now), only the index is made,
/// with a note (a diff makes the digest when it first reads the file), so that indexing ahead
/// fits wherever a summary does.
pub fn index_ahead(
    file: &Path,
    cache: &IndexCache,
    max_memory: Option<u64>,
    observer: &dyn Observer,
) -> Result<()> {
    let identity = crate::graph::indexed_identity(file);
    let make_digest = identity.as_ref().is_some_and(|id| !cache.has_digest(id))
        && digest_fits(file, max_memory, observer);
    let mut graph = HeapGraph::open(file, Columns::NO_RETAINERS_AFTER, Some(cache), observer)?;
    graph.check_columns();
    let saving = graph.take_saving();
    let name = file.display().to_string();
    // The index holds all a later summary needs, and the digest's class totals are the
    // summary's: computed once, before the measurement rather than beside the digest's
    // completion, where the two sweeps' working columns (and the shortest paths') would meet
    // at the peak.
    let facts = (saving.is_some() || make_digest)
        .then(|| crate::summary::summary_facts(&graph, crate::summary::KEPT_DOMINATORS));
    let measured = make_digest.then(|| {
        let lists = graph.retainer_lists();
        if let Some(saving) = &saving {
            saving.lists_built(lists);
        }
        LastMeasurement::new(&graph, LastObjects::Viewed)
    });
    // The digest's completion and its saving read no retainer list: kept, they would meet the
    // saving's gathered objects at the peak.
    graph.let_go_of_retainer_lists();
    let graph = &graph;
    let made = measured.map(|measured| {
        let totals = facts.as_deref().map(ClassAggregates::of_facts);
        measured.finish(graph, &name, totals, |_, prep| {
            detectors::Last::prepared(graph, prep).into_kept()
        })
    });
    if let (Some((digest, kept)), Some(identity)) = (made, identity) {
        let saved = stored::save(cache, &identity, &digest, Some(&kept));
        note_stored(observer, "diff digest", file, cache.dir(), saved);
    }
    if let Some(mut saving) = saving {
        saving.seal(graph);
        observer.stage(Stage::SavingIndex(file));
        saving.wait_noting(observer);
    }
    Ok(())
}

/// Whether indexing `file` can make its diff digest within `max_memory` (by default half of
/// what is available now: [`room`]); when it cannot, it says so to `observer`. Where neither
/// the memory nor the file's size can be read, the digest is made.
fn digest_fits(file: &Path, max_memory: Option<u64>, observer: &dyn Observer) -> bool {
    let (Ok(text), Some(room)) = (crate::snapshot::text_size_estimate(file), room(max_memory))
    else {
        return true;
    };
    let needs = text as f64 * DIGEST_PEAK_PER_BYTE;
    if needs <= room as f64 {
        return true;
    }
    let bytes = |b: f64| crate::report::human_bytes(b as u64);
    observer.note(&format!(
        "{}: indexed without its diff digest: making it too would take about {} of memory, \
         more than the {} available (a diff makes it when it first reads the file)",
        file.display(),
        bytes(needs),
        bytes(room as f64)
    ));
    false
}

/// What is measured of the last snapshot beside its build.
enum OfLast {
    /// Its digest's measurement and the detectors' tables.
    Measured(Box<LastMeasurement>),
    /// The detectors' tables alone, with its kept digest.
    Prepared(Box<detectors::LastPrep>, Box<Digest>),
}

/// The digests earlier diffs kept in the index cache for a diff's files, and where the ones
/// this diff makes are saved.
struct KeptDigests<'c> {
    cache: Option<&'c IndexCache>,
    files: Vec<PathBuf>,
    /// Per file: its identity, when it can have a digest in the cache.
    identities: Vec<Option<FileIdentity>>,
    /// Per file: its kept digest, until taken.
    found: Vec<Option<Digest>>,
    /// Per file: whether its digest was found (so is not saved again).
    was_found: Vec<bool>,
    /// The last file's kept id index and shortest paths, until taken.
    last_parts: Option<stored::LastParts>,
    /// Whether the last file's digest was found with them.
    last_had_parts: bool,
}

impl<'c> KeptDigests<'c> {
    /// Looks up every file's digest in `cache`; one that cannot be used is removed (to be made
    /// again), with a note when it was damaged.
    fn look_up(files: &[PathBuf], cache: Option<&'c IndexCache>, observer: &dyn Observer) -> Self {
        let identities: Vec<Option<FileIdentity>> = files
            .iter()
            .map(|f| cache.and_then(|_| crate::graph::indexed_identity(f)))
            .collect();
        // Each is read whole and checked (copying and hashing its columns): in parallel.
        let last = files.len() - 1;
        let mut found: Vec<(Option<Digest>, Option<stored::LastParts>)> = files
            .par_iter()
            .zip(&identities)
            .enumerate()
            .map(|(k, (file, identity))| {
                let (Some(cache), Some(identity)) = (cache, identity.as_ref()) else {
                    return (None, None);
                };
                if !cache.has_digest(identity) {
                    return (None, None);
                }
                observer.stage(Stage::LoadingDigest(file));
                match stored::load(cache, identity, &file.display().to_string(), k == last) {
                    stored::Found::Digest(digest, parts) => (Some(*digest), parts.map(|p| *p)),
                    stored::Found::Absent => (None, None),
                    stored::Found::Unusable(why) => {
                        cache.remove_digest(identity);
                        // One of another build or format is simply made again, as its
                        // index is (which says so).
                        if matches!(why, Unusable::Corrupt(_)) {
                            observer.note(&format!(
                                "the diff digest of {} in {} is not used: {why}; it is made again",
                                file.display(),
                                cache.dir().display()
                            ));
                        }
                        (None, None)
                    }
                }
            })
            .collect();
        let last_parts = found[last].1.take();
        let found: Vec<Option<Digest>> = found.into_iter().map(|(digest, _)| digest).collect();
        KeptDigests {
            cache,
            files: files.to_vec(),
            identities,
            was_found: found.iter().map(Option::is_some).collect(),
            found,
            last_had_parts: last_parts.is_some(),
            last_parts,
        }
    }

    fn has(&self, k: usize) -> bool {
        self.found[k].is_some()
    }

    /// File `k`'s identity, when the diff has a cache and the file can be indexed.
    fn identity(&self, k: usize) -> Option<&FileIdentity> {
        self.identities[k].as_ref()
    }

    fn take(&mut self, k: usize) -> Option<Digest> {
        self.found[k].take()
    }

    /// Saves the digests this diff made among `digests` (each with its file's place among
    /// the files), the last file's with `last` (what the diff computed of its graph, saved
    /// again beside a kept digest that lacked it), telling `observer` of one that cannot be
    /// saved.
    fn save<'d>(
        &self,
        digests: impl Iterator<Item = (usize, &'d Digest)>,
        last: Option<&detectors::KeptOfLast>,
        observer: &dyn Observer,
    ) {
        let Some(cache) = self.cache else {
            return;
        };
        for (k, digest) in digests {
            let parts = last.filter(|_| k + 1 == self.files.len());
            let wanted = !self.was_found[k] || (parts.is_some() && !self.last_had_parts);
            let Some(identity) = self.identities[k].as_ref().filter(|_| wanted) else {
                continue;
            };
            // The file may have changed since it was read: its digest would be filed under
            // the new version.
            if crate::graph::indexed_identity(&self.files[k]).as_ref() != Some(identity) {
                continue;
            }
            let saved = stored::save(cache, identity, digest, parts);
            note_stored(observer, "diff digest", &self.files[k], cache.dir(), saved);
        }
    }
}

/// How a last snapshot's measurement holds its counted objects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastObjects {
    /// Gathered into columns where the measurement runs beside the dominators, on a core
    /// they leave idle: the comparison then reads them in sequence (the view's passes, each
    /// gathering again, made the diff of three ~700 MB snapshots' last phase 0.4 s longer).
    Gathered,
    /// Read through the graph: one snapshot at a time, short of memory, where gathering would
    /// add 16 bytes per object to the peak.
    Viewed,
}

impl Plan {
    /// How this plan's last measurement holds its objects.
    fn last_objects(self) -> LastObjects {
        match self {
            Plan::Overlapped => LastObjects::Gathered,
            Plan::InTurn => LastObjects::Viewed,
        }
    }
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
    fn new(graph: &RetainerGraph, objects: LastObjects) -> LastMeasurement {
        let mut measured = Measurement::new(graph);
        if objects == LastObjects::Gathered {
            measured.gather_objects();
        }
        let prep = detectors::LastPrep::take(&mut measured);
        LastMeasurement { measured, prep }
    }

    /// Completes the digest of `graph` (called `file`) with its retained sizes and class
    /// totals, and runs `then` with the digest but its class totals and the detectors' share.
    /// The class totals are mostly a sequential walk of the dominator tree: the shortest
    /// paths (a breadth-first walk as long), the rest of the digest and `then` run on the
    /// other core meanwhile.
    fn finish<R: Send>(
        self,
        graph: &HeapGraph,
        file: &str,
        totals: Option<ClassAggregates>,
        then: impl FnOnce(&DigestBody, detectors::LastPrep) -> R + Send,
    ) -> (Digest, R) {
        let LastMeasurement { measured, mut prep } = self;
        let (aggregates, (body, done)) = rayon::join(
            || totals.unwrap_or_else(|| ClassAggregates::compute(graph)),
            || {
                prep.walk_paths(graph);
                let body = DigestBody::assemble(graph, measured, file);
                let done = then(&body, prep);
                (body, done)
            },
        );
        (body.with_totals(&aggregates), done)
    }
}

/// Compares the `earlier` snapshots' digests (in order, at least one) with the graph of the
/// last snapshot (called `file`), finishing what [`LastMeasurement`] measured of it, and names
/// the leak suspects. Returns the report, the last snapshot's digest and what is kept of its
/// graph.
fn diff_with_last(
    earlier: &[Digest],
    last: &HeapGraph,
    measured: LastMeasurement,
    totals: Option<ClassAggregates>,
    file: &str,
    provenance: &[Option<crate::provenance::Provenance>],
    options: &DiffOptions,
) -> (DiffReport, Digest, detectors::KeptOfLast) {
    // The same-process check and the detectors but the class one run beside its class totals
    // (unless `totals` has them already).
    let (digest, (judging, reader, shaped)) = measured.finish(last, file, totals, |body, prep| {
        let bodies: Vec<&DigestBody> = earlier
            .iter()
            .map(|d| &**d)
            .chain(std::iter::once(body))
            .collect();
        judge_and_detect(&bodies, last, prep, provenance, options)
    });
    let all: Vec<&Digest> = earlier.iter().chain([&digest]).collect();
    let report = report(&all, judging, &reader, shaped, options);
    (report, digest, reader.into_kept())
}

/// Judges whether and how the snapshots of `bodies` (the last one's included) compare, and runs
/// the detectors but the class one on the last snapshot's `graph`, with what `prep` holds of it.
fn judge_and_detect<'g>(
    bodies: &[&DigestBody],
    graph: &'g HeapGraph,
    prep: detectors::LastPrep,
    provenance: &[Option<crate::provenance::Provenance>],
    options: &DiffOptions,
) -> (Judging, detectors::Last<'g>, detectors::Detected) {
    let judging = judge(bodies, provenance, &options.thresholds);
    let reader = detectors::Last::prepared(graph, prep);
    let judged: Vec<&DigestBody> = judging.judged.iter().map(|&i| bodies[i]).collect();
    let comparison = detectors::Comparison {
        matched_by: judging.matched_by,
        counted: &judging.counted,
        across: &judging.across,
    };
    let shaped = detectors::find_shaped(&judged, &reader, comparison, &options.thresholds);
    (judging, reader, shaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn by_default_a_diff_plans_within_half_the_memory_available() {
        assert_eq!(room_within(None, || Some(24 << 30)), Some(12 << 30));
        assert_eq!(room_within(None, || None), None);
        // Asked for, the memory is taken as given, whatever is available.
        let asked = room_within(Some(20 << 30), || panic!("not read when asked for"));
        assert_eq!(asked, Some(20 << 30));
    }

    #[test]
    fn files_whose_overlap_needs_more_than_the_room_are_read_in_turn() {
        let sample = PathBuf::from("samples/node20.heapsnapshot.gz");
        let text = crate::snapshot::text_size_estimate(&sample).unwrap() as f64;
        let files = [sample.clone(), sample];
        let overlapped = (text * OVERLAPPED_PEAK_PER_BYTE) as u64;
        let observer = crate::observe::Quiet;
        assert_eq!(
            Plan::choose(&files, Some(overlapped + 1), &observer),
            Plan::Overlapped
        );
        assert_eq!(
            Plan::choose(&files, Some(overlapped - 1), &observer),
            Plan::InTurn
        );
    }
}
