//! `heapscan diff`: comparing successive snapshots of one process and naming what leaks.
//!
//! Each snapshot but the last is reduced to a [`Digest`] as soon as its graph is built, so
//! a diff of N snapshots holds one full graph at a time. The last snapshot's graph stays, to
//! describe each suspect: its owner, the shortest path to it from the GC roots, and where in
//! the source it is created. Pure: returns a [`DiffReport`], prints nothing.

pub mod digest;
pub mod shapes;
mod suspects;

use std::collections::BTreeMap;

use crate::graph::bits::BitSet;
use crate::graph::HeapGraph;
use crate::report::diff::{ClassChange, DiffReport, SnapshotSummary, Thresholds};
use crate::summary::ClassAggregates;
pub use digest::{Digest, DigestJob, Measurement};
use rayon::prelude::*;
use shapes::Shapes;

/// What the user asked of the diff.
#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub thresholds: Thresholds,
    /// Keep this many class rows (all when `None`).
    pub top: Option<usize>,
    /// Keep this many suspects (all when `None`).
    pub max_suspects: Option<usize>,
}

/// For each element of sorted `a`: whether it is in sorted `b`.
pub(crate) fn membership(a: &[u32], b: &[u32]) -> BitSet {
    let mut found = BitSet::new(a.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                found.set(i);
                i += 1;
                j += 1;
            }
        }
    }
    found
}

/// Whether two snapshots come from one process: V8 keeps an object's id for its lifetime and
/// gives new objects higher ids, so most objects of the earlier snapshot reappear under the
/// same id with the same class, and the highest id does not go down.
fn same_process(a: &Digest, b: &Digest) -> Result<(), String> {
    if b.max_node_id < a.max_node_id {
        return Err(format!(
            "{} has lower object ids than {} (max {} < {}): not a later snapshot of the same process",
            b.file, a.file, b.max_node_id, a.max_node_id
        ));
    }
    let (mut i, mut j, mut matched, mut consistent) = (0, 0, 0u64, 0u64);
    while i < a.ids.len() && j < b.ids.len() {
        match a.ids[i].cmp(&b.ids[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                matched += 1;
                let ka = &a.classes[a.id_class[i] as usize].key;
                let kb = &b.classes[b.id_class[j] as usize].key;
                if ka == kb {
                    consistent += 1;
                }
                i += 1;
                j += 1;
            }
        }
    }
    let smaller = a.ids.len().min(b.ids.len()).max(1) as f64;
    if (matched as f64) < 0.2 * smaller {
        return Err(format!(
            "only {matched} object ids of {} reappear in {}: not snapshots of one process",
            a.file, b.file
        ));
    }
    if (consistent as f64) < 0.9 * matched as f64 {
        return Err(format!(
            "{} of {matched} shared object ids have a different class in {} than in {}: not snapshots of one process",
            matched - consistent,
            b.file,
            a.file
        ));
    }
    Ok(())
}

/// DevTools' comparison per class (first vs last snapshot) and each class's totals in every
/// snapshot.
fn class_changes(digests: &[Digest], same: bool) -> Vec<ClassChange> {
    let k = digests.len();
    let first = &digests[0];
    let last = &digests[k - 1];
    let mut rows: BTreeMap<&str, ClassChange> = BTreeMap::new();
    for (s, d) in digests.iter().enumerate() {
        for c in d.classes.iter().filter(|c| c.count > 0) {
            let row = rows.entry(c.key.as_str()).or_insert_with(|| ClassChange {
                class: c.name.clone(),
                location: c.location.clone(),
                counts: vec![0; k],
                retained_sizes: vec![0; k],
                new: 0,
                deleted: 0,
                delta: 0,
                alloc_size: 0,
                freed_size: 0,
                size_delta: 0,
                retained_delta: 0,
                survivors: None,
            });
            row.counts[s] += c.count;
            row.retained_sizes[s] += c.retained_size;
            if s == 0 {
                row.size_delta -= c.self_size as i64;
            }
            if s == k - 1 {
                row.size_delta += c.self_size as i64;
            }
        }
    }
    if same {
        let last_in_first = membership(&last.ids, &first.ids);
        for i in 0..last.ids.len() {
            if !last_in_first.get(i) {
                let key = last.classes[last.id_class[i] as usize].key.as_str();
                if let Some(row) = rows.get_mut(key) {
                    row.new += 1;
                    row.alloc_size += last.id_self[i];
                }
            }
        }
        let first_in_last = membership(&first.ids, &last.ids);
        for i in 0..first.ids.len() {
            if !first_in_last.get(i) {
                let key = first.classes[first.id_class[i] as usize].key.as_str();
                if let Some(row) = rows.get_mut(key) {
                    row.deleted += 1;
                    row.freed_size += first.id_self[i];
                }
            }
        }
        if k >= 3 {
            // Allocated after the first snapshot, alive at the second and at the last.
            let second = &digests[1];
            let second_in_first = membership(&second.ids, &first.ids);
            let second_in_last = membership(&second.ids, &last.ids);
            for row in rows.values_mut() {
                row.survivors = Some(0);
            }
            for i in 0..second.ids.len() {
                if !second_in_first.get(i) && second_in_last.get(i) {
                    let key = second.classes[second.id_class[i] as usize].key.as_str();
                    if let Some(row) = rows.get_mut(key) {
                        row.survivors = Some(row.survivors.unwrap_or(0) + 1);
                    }
                }
            }
        }
    }
    let mut out: Vec<ClassChange> = rows
        .into_values()
        .map(|mut row| {
            row.delta = row.counts[k - 1] as i64 - row.counts[0] as i64;
            row.retained_delta = row.retained_sizes[k - 1] as i64 - row.retained_sizes[0] as i64;
            row
        })
        .filter(|r| r.new != 0 || r.deleted != 0 || r.delta != 0 || r.retained_delta != 0)
        .collect();
    // Like DevTools' Comparison view: biggest growth in shallow size first (retained growth
    // piles up on every dominator above a leak, shallow growth sits where objects are added).
    out.sort_by(|a, b| {
        b.size_delta
            .cmp(&a.size_delta)
            .then(b.delta.cmp(&a.delta))
            .then(b.retained_delta.cmp(&a.retained_delta))
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| a.location.cmp(&b.location))
    });
    out
}

/// The last snapshot's share of a diff that reads no dominator column: its digest's
/// measurement and what the leak detectors look up.
pub struct LastMeasurement {
    measured: Measurement,
    prep: suspects::LastPrep,
}

impl LastMeasurement {
    /// Measures `graph` (built or being built); shortest paths are walked when first needed.
    pub fn new(graph: &HeapGraph) -> LastMeasurement {
        let mut measured = Measurement::new(graph);
        let prep = suspects::LastPrep::take(&mut measured);
        LastMeasurement { measured, prep }
    }

    /// [`new`](Self::new) with the shortest paths walked too: for the core the dominators
    /// leave idle while they are computed ([`HeapGraph::build_alongside`]).
    pub fn with_paths(graph: &HeapGraph) -> LastMeasurement {
        let mut measurement = Self::new(graph);
        measurement.prep.walk_paths(graph);
        measurement
    }
}

/// Compares the `earlier` digests (in order, at least one) with the graph of the last
/// snapshot (called `file`), finishing what [`LastMeasurement`] measured of it, and names the
/// leak suspects.
pub fn diff_with_last(
    mut earlier: Vec<Digest>,
    last: &HeapGraph,
    measured: LastMeasurement,
    file: &str,
    options: &DiffOptions,
) -> DiffReport {
    // The last snapshot's class totals are mostly a sequential walk of its dominator tree:
    // check that the earlier snapshots come from one process, and tag the names the suspects
    // look for, on the other core meanwhile.
    let (aggregates, (earlier_same, shapes)) = rayon::join(
        || ClassAggregates::compute(last),
        || (same_process_all(&earlier), Shapes::new(last)),
    );
    earlier.push(Digest::assemble(last, &aggregates, measured.measured, file));
    let n = earlier.len();
    let same = earlier_same.and_then(|()| same_process(&earlier[n - 2], &earlier[n - 1]));
    report(
        &earlier,
        same,
        &suspects::Last::prepared(last, shapes, measured.prep),
        options,
    )
}

/// [`same_process`] for each pair of successive digests, in parallel; the first failure in
/// order.
fn same_process_all(digests: &[Digest]) -> Result<(), String> {
    let checks: Vec<Result<(), String>> = digests
        .par_windows(2)
        .map(|pair| same_process(&pair[0], &pair[1]))
        .collect();
    checks.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

fn report(
    digests: &[Digest],
    same: Result<(), String>,
    last: &suspects::Last<'_>,
    options: &DiffOptions,
) -> DiffReport {
    assert!(digests.len() >= 2, "diff needs two or more snapshots");
    let same_process_reason = match &same {
        Ok(()) => {
            "object ids carry over from each snapshot to the next with the same classes".to_string()
        }
        Err(reason) => format!(
            "{reason}; comparing class totals only (no class, collection or listener suspects)"
        ),
    };
    let same = same.is_ok();
    // The class table reads the digests, the suspects the digests and the last graph: build
    // them side by side.
    let (mut classes, mut found) = rayon::join(
        || class_changes(digests, same),
        || suspects::find(digests, last, same, &options.thresholds),
    );
    let class_count = classes.len();
    if let Some(max) = options.max_suspects {
        found.truncate(max);
    }
    if let Some(top) = options.top {
        classes.truncate(top);
    }
    DiffReport {
        snapshots: digests
            .iter()
            .map(|d| SnapshotSummary {
                file: d.file.clone(),
                node_count: d.node_count,
                edge_count: d.edge_count,
                total_size: d.total_size,
                max_node_id: d.max_node_id,
            })
            .collect(),
        same_process: same,
        same_process_reason,
        thresholds: options.thresholds.clone(),
        suspects: found,
        class_count,
        classes,
    }
}
