//! The leak detectors, one module each. Each looks for one pattern whose measurement grows
//! steadily across the judged snapshots — listeners per event ([`listeners`]), entries per
//! collection ([`collections`]), live timers per callback ([`timers`]), closure chain length
//! per function ([`closures`]), objects per class ([`classes`]) — and describes every hit from
//! the last snapshot's graph ([`Last`]): what accumulates, its owner, the path to the owner,
//! the source location, and what to change.
//!
//! What they share lives here: one growth check ([`Growth`]), one way to describe a holder
//! ([`Last::held`]) and one way to build a suspect ([`Growth::suspect`]). Class growth already
//! explained by another suspect (the objects sit under its owner in the dominator tree) is not
//! reported twice, so the class detector runs last, with what the others explained.

mod classes;
mod closures;
mod collections;
mod fixes;
mod listeners;
mod place;
mod promises;
mod streams;
mod timers;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::digest::is_app_script;
use super::digest::{Digest, DigestBody, Measurement};
use super::holder::{Holder, HolderKey, HolderStep, Reference};
use super::objects::IdIndex;
use super::shapes::{ListenerList, ShapeParts, Shapes, Timer};
use super::stored::LastParts;
use crate::graph::bits::BitSet;
use crate::graph::{HeapGraph, RetainerGraph};
use crate::paths::{path_steps, ShortestPaths};
use crate::report::diff::{
    AllocationStack, Fix, Matching, MissReason, NearMiss, Owner, StackFrame, Suspect, SuspectKind,
    Thresholds,
};
use crate::report::retainers::PathStep;
use crate::report::SourceLocation;
use crate::snapshot::trace::NO_PARENT;
use place::{place, Clues};
use rayon::prelude::*;

/// A measurement that grew across the judged snapshots: its count (entries, listeners,
/// timers, chain length, objects) per judged snapshot, what it retains, and the share of steps
/// in which the count grew.
struct Growth {
    counts: Vec<u64>,
    retained: Vec<u64>,
    /// Growth of `retained` over the judged steps (first to last when every step counts).
    retained_growth: u64,
    steadiness: f64,
}

/// What a measured series says: a leak, or growth that fell short of the verdict.
enum Verdict {
    /// The count grows steadily (in at least `steady_fraction` of the steps, and in the last
    /// one) by at least the step minimum, and what it retains grows by at least the
    /// retained-growth threshold from first to last: a suspect.
    Leak(Growth),
    /// The count grew from first to last by at least the step minimum, but not the way a leak
    /// does: shown after the suspects, failing nothing.
    NearMiss(Growth, MissReason),
}

impl Verdict {
    /// The verdict on a series measured across the judged snapshots, whose counts must grow
    /// by at least `min_step` per step; `None` when it did not grow. Only the steps `counted`
    /// (one per step, [`Comparison::steps_for`]) are judged.
    fn of(series: Series, counted: &[bool], min_step: u64, th: &Thresholds) -> Option<Verdict> {
        let Series {
            counts, retained, ..
        } = series;
        let judged: Vec<usize> = (1..counts.len())
            .filter(|&i| counted.get(i - 1).copied().unwrap_or(true))
            .collect();
        let (&last_step, steps) = (judged.last()?, judged.len());
        let min_step = min_step.max(1);
        let grows = |i: usize| counts[i] >= counts[i - 1].saturating_add(min_step);
        let grew_in = judged.iter().filter(|&&i| grows(i)).count();
        let last_step_grew = grows(last_step);
        let share = grew_in as f64 / steps as f64;
        let steady = last_step_grew && share + 1e-9 >= th.steady_fraction;
        // Net growth over the judged steps: first to last when every step counts.
        let net = |values: &[u64]| -> u64 {
            let (up, down) = judged.iter().fold((0u64, 0u64), |(up, down), &i| {
                let (a, b) = (values[i - 1], values[i]);
                (up + b.saturating_sub(a), down + a.saturating_sub(b))
            });
            up.saturating_sub(down)
        };
        let retained_growth = net(&retained);
        let big = retained_growth >= th.retained_growth;
        // A near miss grew overall, in the count and in what it retains: an unsteady series
        // by as much as a leak, a steady one by at least half as much.
        let miss = match (steady, big) {
            (true, true) => None,
            (false, true) => Some(MissReason::Unsteady {
                grew_in: grew_in as u64,
                steps: steps as u64,
                last_step_grew,
            }),
            (true, false) if retained_growth.saturating_mul(2) >= th.retained_growth => {
                Some(MissReason::SmallRetainedGrowth {
                    retained_growth,
                    threshold: th.retained_growth,
                })
            }
            _ => return None,
        };
        if miss.is_some() && net(&counts) < min_step {
            return None;
        }
        let growth = Growth {
            counts,
            retained,
            retained_growth,
            steadiness: share,
        };
        Some(match miss {
            None => Verdict::Leak(growth),
            Some(reason) => Verdict::NearMiss(growth, reason),
        })
    }

    fn is_leak(&self) -> bool {
        matches!(self, Verdict::Leak(_))
    }

    fn growth(&self) -> &Growth {
        match self {
            Verdict::Leak(g) | Verdict::NearMiss(g, _) => g,
        }
    }
}

impl Growth {
    /// The counts as people read them: `500 → 700 → 900`.
    fn trail(&self) -> String {
        crate::report::series(&self.counts, false)
    }

    /// The suspect: what a detector says about it, with the holder's description and these
    /// numbers.
    fn suspect(self, finding: Finding, held: Held) -> Suspect {
        let placed = place(finding.clues, &finding.allocation_stacks);
        let steps = (self.counts.len() - 1).max(1) as f64;
        let first = self.counts[0] as f64;
        let last = self.counts[self.counts.len() - 1] as f64;
        Suspect {
            kind: finding.kind,
            class: finding.class,
            title: finding.title,
            hint: finding.hint,
            fix: finding.fix,
            owner: held.owner,
            held_in: held.held_in,
            path: held.path,
            path_elided: held.cut.steps,
            path_elided_after: held.cut.after,
            location: placed.location,
            location_basis: placed.basis,
            package: placed.package,
            app_location: placed.app_location,
            allocation_stacks: finding.allocation_stacks,
            growth_per_snapshot: (last - first) / steps,
            score: (self.retained_growth as f64 * self.steadiness).round(),
            counts: self.counts,
            retained_sizes: self.retained,
        }
    }

    /// The near miss: what grew, and why that is no verdict.
    fn near_miss(self, finding: Finding, reason: MissReason) -> NearMiss {
        let placed = place(finding.clues, &finding.allocation_stacks);
        NearMiss {
            kind: finding.kind,
            subject: finding.subject,
            location: placed.location,
            counts: self.counts,
            retained_sizes: self.retained,
            retained_growth: self.retained_growth,
            reason,
        }
    }
}

/// What a detector says about one hit; [`Growth::suspect`] adds the numbers and the holder.
struct Finding {
    kind: SuspectKind,
    class: String,
    /// What grows, without its numbers (`Map `cache` (entries of Session)`): a near miss's
    /// line.
    subject: String,
    title: String,
    hint: String,
    /// Which fix `hint` names.
    fix: Fix,
    /// What the detector knows of where it comes from ([`place`] picks the location).
    clues: Clues,
    /// The stacks that allocated what accumulates, when the snapshot has them
    /// ([`Last::allocation_stacks`]).
    allocation_stacks: Vec<AllocationStack>,
}

/// A holder as a suspect shows it: the path to it from the GC roots and its owner line.
struct Held {
    path: Vec<PathStep>,
    cut: PathCut,
    owner: Owner,
    held_in: Option<HolderKey>,
}

impl Held {
    /// Names the holder by one reference to it (a property of the global object, a variable
    /// of a scope): `via` and a one-step `held_in` for objects of `class`.
    fn held_in_one_step(&mut self, class: &str, reference: Reference, holder: Holder) {
        if let Reference::Variable(name) | Reference::Property(name) = &reference {
            self.owner.via = name.clone();
        }
        self.held_in = Some(HolderKey {
            class: class.to_string(),
            steps: vec![HolderStep { reference, holder }],
        });
    }

    /// How titles name the holder: `Map `sessionCache`` when the last path step names it,
    /// else `fallback` (such as `Map @1234`).
    fn label(&self, kind: &str, fallback: String) -> String {
        if self.owner.via.is_empty() {
            fallback
        } else {
            format!("{kind} `{}`", self.owner.via)
        }
    }
}

/// Where a long path was cut: `steps` left out after its first `after` steps.
#[derive(Debug, Clone, Copy, Default)]
struct PathCut {
    steps: u64,
    after: u64,
}

/// One thing measured in every judged snapshot: its count and what it retains (zeros where a
/// snapshot does not have it), and whether each snapshot has it.
struct Series {
    counts: Vec<u64>,
    retained: Vec<u64>,
    present: Vec<bool>,
}

impl Series {
    /// The series of `(count, retained size)` values, `None` where a snapshot lacks the thing.
    fn from_values(values: impl Iterator<Item = Option<(u64, u64)>>) -> Series {
        let mut series = Series {
            counts: Vec::new(),
            retained: Vec::new(),
            present: Vec::new(),
        };
        for value in values {
            let (count, retained) = value.unwrap_or((0, 0));
            series.counts.push(count);
            series.retained.push(retained);
            series.present.push(value.is_some());
        }
        series
    }
}

/// Looks a key up in each digest and returns its series.
fn series<T>(
    digests: &[&DigestBody],
    pick: impl Fn(&DigestBody) -> Option<&T>,
    value: impl Fn(&T) -> (u64, u64),
) -> Series {
    Series::from_values(digests.iter().map(|d| pick(d).map(&value)))
}

/// The item of `items` (sorted by `key_of`) whose key is `key`.
fn find_sorted<'a, T, K: Ord>(
    items: &'a [T],
    key: K,
    key_of: impl Fn(&'a T) -> K,
) -> Option<&'a T> {
    items
        .binary_search_by(|x| key_of(x).cmp(&key))
        .ok()
        .map(|i| &items[i])
}

/// How the judged snapshots are compared: how what they hold is matched from one to the next,
/// and, per step between them, whether it counts (not across a restart) and whether it goes
/// from one process to another.
#[derive(Clone, Copy)]
pub(super) struct Comparison<'a> {
    pub(super) matched_by: Matching,
    pub(super) counted: &'a [bool],
    pub(super) across: &'a [bool],
}

impl Comparison<'_> {
    /// Which steps of `series` are judged: those that count, and of those that go from one
    /// process to another only the ones with the thing at both ends. A variable one process
    /// has and another lacks is a difference between the processes (what they loaded, their
    /// configuration, a smaller cache not yet tracked), not growth.
    fn steps_for(&self, series: &Series) -> Vec<bool> {
        (1..series.present.len())
            .map(|i| {
                let counted = self.counted.get(i - 1).copied().unwrap_or(true);
                let across = self.across.get(i - 1).copied().unwrap_or(false);
                counted && (!across || (series.present[i - 1] && series.present[i]))
            })
            .collect()
    }
}

/// What each of the listener, collection, timer and closure detectors reads: the judged
/// snapshots' digests, the newest of them, the last snapshot's graph, how they are compared
/// and the thresholds.
#[derive(Clone, Copy)]
struct Inputs<'a, 'g> {
    digests: &'a [&'a DigestBody],
    newest: &'a DigestBody,
    last: &'a Last<'g>,
    comparison: Comparison<'a>,
    th: &'a Thresholds,
}

impl Inputs<'_, '_> {
    /// The verdict on a series measured across the judged snapshots ([`Verdict::of`]).
    fn verdict(&self, series: Series, min_step: u64) -> Option<Verdict> {
        let steps = self.comparison.steps_for(&series);
        Verdict::of(series, &steps, min_step, self.th)
    }
}

/// Items of one kind (collections, listener lists) in every judged digest, matched from one
/// snapshot to the next: by object id within one process; across processes by what holds
/// them, keeping the largest of the items that share a holder.
struct Matched<'a, T> {
    /// Per judged digest: its items, sorted by `by_id`.
    items: Vec<&'a [T]>,
    /// Per judged digest, when a step goes from one process to another: the largest item of
    /// each holder, sorted by `by_holder`.
    by_holder: Vec<Vec<&'a T>>,
    by_id: fn(&T, &T) -> std::cmp::Ordering,
    holder_order: fn(&T, &T) -> std::cmp::Ordering,
    /// Per step: whether it goes from one process to another.
    across: &'a [bool],
}

impl<'a, T> Matched<'a, T> {
    /// `items` of every judged digest (sorted by `by_id`), matched by `by_id` within one
    /// process and by `by_holder` across processes; `size` picks the largest of one holder.
    fn new(
        inputs: Inputs<'a, '_>,
        items: fn(&'a DigestBody) -> &'a [T],
        by_id: fn(&T, &T) -> std::cmp::Ordering,
        by_holder: fn(&T, &T) -> std::cmp::Ordering,
        size: fn(&T) -> u64,
    ) -> Matched<'a, T> {
        let items: Vec<&'a [T]> = inputs.digests.iter().map(|&d| items(d)).collect();
        let across = inputs.comparison.across;
        let largest = if across.contains(&true) {
            items
                .iter()
                .map(|list| {
                    let mut list: Vec<&T> = list.iter().collect();
                    list.sort_by(|a, b| by_holder(a, b).then(size(b).cmp(&size(a))));
                    list.dedup_by(|later, first| by_holder(later, first).is_eq());
                    list
                })
                .collect()
        } else {
            Vec::new()
        };
        Matched {
            items,
            by_holder: largest,
            by_id,
            holder_order: by_holder,
            across,
        }
    }

    /// The items to judge, each with the index of the judged snapshot it is taken from.
    /// Within one process: every item of the newest snapshot. Across processes: the largest
    /// item of each holder in any snapshot, from the newest snapshot that has one — a young
    /// process last (just restarted, or idle since) may not hold yet what the older ones
    /// grew.
    fn newest(&self) -> Vec<(usize, &'a T)> {
        let newest = self.items.len().saturating_sub(1);
        if self.by_holder.is_empty() {
            return self.items.last().map_or_else(Vec::new, |items| {
                items.iter().map(|x| (newest, x)).collect()
            });
        }
        let mut all: Vec<(usize, &'a T)> = self
            .by_holder
            .iter()
            .enumerate()
            .flat_map(|(k, list)| list.iter().map(move |&x| (k, x)))
            .collect();
        // Per holder, the newest snapshot's item first; then one per holder.
        all.sort_by(|(ka, a), (kb, b)| (self.holder_order)(a, b).then(kb.cmp(ka)));
        all.dedup_by(|(_, later), (_, first)| (self.holder_order)(later, first).is_eq());
        all
    }

    /// `item` (of judged snapshot `from`) followed back through the judged snapshots, and its
    /// `(count, retained size)` in each: by id while the snapshots are of one process, by
    /// holder across a change of process, from the nearest later snapshot that has it. The
    /// snapshots after `from` do not have it.
    fn series(&self, from: usize, item: &'a T, value: impl Fn(&T) -> (u64, u64)) -> Series {
        let n = self.items.len();
        let mut found: Vec<Option<&T>> = vec![None; n];
        found[from] = Some(item);
        let mut anchor = item;
        // Whether `anchor`'s snapshot and the one being searched are of one process.
        let mut one_process = true;
        for j in (0..from).rev() {
            one_process &= !self.across.get(j).copied().unwrap_or(false);
            let hit = if one_process {
                let list = self.items[j];
                list.binary_search_by(|x| (self.by_id)(x, anchor))
                    .ok()
                    .map(|i| &list[i])
            } else {
                let list = &self.by_holder[j];
                list.binary_search_by(|x| (self.holder_order)(x, anchor))
                    .ok()
                    .map(|i| list[i])
            };
            if let Some(hit) = hit {
                anchor = hit;
                one_process = true;
            }
            found[j] = hit;
        }
        Series::from_values(found.into_iter().map(|x| x.map(&value)))
    }
}

/// What the detectors found: their suspects and near misses, and the nodes whose dominator
/// subtrees those suspects explain (the class detector leaves them out).
#[derive(Default)]
pub(super) struct Detected {
    pub(super) suspects: Vec<Suspect>,
    pub(super) near_misses: Vec<NearMiss>,
    explained_roots: Vec<u32>,
}

impl Detected {
    /// Adds what `verdict` makes of a hit: a suspect or a near miss.
    fn add(&mut self, verdict: Verdict, finding: Finding, held: Held) {
        match verdict {
            Verdict::Leak(growth) => self.suspects.push(growth.suspect(finding, held)),
            Verdict::NearMiss(growth, reason) => {
                self.near_misses.push(growth.near_miss(finding, reason))
            }
        }
    }

    /// Nothing found (for snapshots whose growth means nothing, such as ones out of order).
    pub(super) fn clear(&mut self) {
        self.suspects.clear();
        self.near_misses.clear();
    }
}

/// How many allocation stacks a suspect shows, and how many calls of each.
const STACKS_SHOWN: usize = 3;
const FRAMES_SHOWN: usize = 12;

/// How many near misses a report lists: the largest growth first, briefly.
const NEAR_MISSES_SHOWN: usize = 10;

/// The listener, collection, timer and closure detectors. They read no class totals, so they
/// can run while the last snapshot's class totals are computed. Listeners and collections are
/// matched by object id within one process and by what holds them across processes
/// ([`Matched`]); timers and closures are keyed by source location, which holds across
/// processes too.
pub(super) fn find_shaped(
    digests: &[&DigestBody],
    last: &Last<'_>,
    comparison: Comparison<'_>,
    th: &Thresholds,
) -> Detected {
    let mut found = Detected::default();
    let Some(&newest) = digests.last() else {
        return found;
    };
    let inputs = Inputs {
        digests,
        newest,
        last,
        comparison,
        th,
    };
    listeners::detect(inputs, &mut found);
    collections::detect(inputs, &mut found);
    timers::detect(inputs, &mut found);
    closures::detect(inputs, &mut found);
    found
}

/// Adds what the class detector finds to what [`find_shaped`] found (with the same
/// arguments, once every digest has its class totals); the suspects are sorted by score,
/// highest first, the near misses by retained growth (at most [`NEAR_MISSES_SHOWN`]).
pub(super) fn find(
    digests: &[&Digest],
    last: &Last<'_>,
    comparison: Comparison<'_>,
    th: &Thresholds,
    mut found: Detected,
) -> Detected {
    classes::detect(digests, last, comparison, th, &mut found);
    sort_by_score(&mut found.suspects);
    found.near_misses.sort_by(|a, b| {
        (b.retained_growth)
            .cmp(&a.retained_growth)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    found.near_misses.truncate(NEAR_MISSES_SHOWN);
    found
}

/// Most important first; ties in a fixed order, so the output is deterministic.
fn sort_by_score(suspects: &mut [Suspect]) {
    suspects.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.kind.cmp(&b.kind))
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| a.owner.id.cmp(&b.owner.id))
    });
}

/// Everything the detectors read from the last snapshot. The costly part (shortest paths) is
/// built on first use unless it was prepared ([`LastPrep::walk_paths`]): with no suspect, it
/// is not needed.
pub(super) struct Last<'g> {
    graph: &'g HeapGraph,
    shapes: Shapes<'g>,
    paths: OnceLock<ShortestPaths>,
    by_id: IdIndex,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
}

/// The part of [`Last`] that reads no dominator column: the id index and the shape reader's
/// tables a [`Measurement`] of the graph already holds, and the shortest paths if walked
/// ahead.
pub(crate) struct LastPrep {
    shape_parts: Option<ShapeParts>,
    by_id: IdIndex,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
    paths: OnceLock<ShortestPaths>,
}

impl LastPrep {
    /// Takes what `measured` holds; the measurement keeps the rest of the digest.
    pub(crate) fn take(measured: &mut Measurement) -> LastPrep {
        LastPrep {
            shape_parts: measured.shape_parts.take(),
            by_id: std::mem::take(&mut measured.by_id),
            listener_lists: std::mem::take(&mut measured.listener_lists),
            timers: std::mem::take(&mut measured.timer_list),
            paths: OnceLock::new(),
        }
    }

    /// What the detectors read of `graph`, for a last snapshot whose digest was kept from an
    /// earlier diff (so no [`Measurement`] of it is made): the shape reader's tables, and the
    /// id index and shortest paths from `kept` when that diff kept them (and they fit this
    /// graph), else measured beside the tables.
    pub(crate) fn of_graph(graph: &RetainerGraph, kept: Option<LastParts>) -> LastPrep {
        let shapes_parts = |kept: Option<ShapeParts>| {
            let shapes = match kept {
                Some(parts) => Shapes::from_parts(graph, parts),
                None => Shapes::new(graph),
            };
            let ((listener_lists, _), timers) =
                rayon::join(|| shapes.listener_lists(), || shapes.timers());
            (shapes.into_parts(), listener_lists, timers)
        };
        let ((shape_parts, listener_lists, timers), by_id, paths) =
            match kept.and_then(|k| kept_parts(graph, k)) {
                Some(kept) => {
                    let tables = match (kept.shapes, kept.lists) {
                        (Some(parts), Some((lists, timers))) => (parts, lists, timers),
                        (parts, _) => shapes_parts(parts),
                    };
                    (tables, kept.by_id, kept.paths)
                }
                None => {
                    let ((tables, by_id), paths) = rayon::join(
                        || {
                            rayon::join(
                                || shapes_parts(None),
                                || IdIndex::new(crate::diff::digest::id_index(graph)),
                            )
                        },
                        || ShortestPaths::compute(graph),
                    );
                    (tables, by_id, paths)
                }
            };
        LastPrep {
            shape_parts: Some(shape_parts),
            by_id,
            listener_lists,
            timers,
            paths: OnceLock::from(paths),
        }
    }

    /// Walks the shortest paths now (a full breadth-first walk: worth it where a core would
    /// otherwise wait, as beside the dominators).
    pub fn walk_paths(&mut self, graph: &RetainerGraph) {
        self.paths.get_or_init(|| ShortestPaths::compute(graph));
    }
}

/// A last snapshot's id index and shortest paths, and (when they fit) its shape tables,
/// listener lists and timers, as kept.
pub(in crate::diff) struct KeptLast {
    pub by_id: IdIndex,
    pub paths: ShortestPaths,
    pub shapes: Option<ShapeParts>,
    pub lists: Option<(Vec<ListenerList>, Vec<Timer>)>,
}

/// What a diff keeps of its last snapshot's graph for a later diff with the same last
/// snapshot ([`Last::into_kept`]).
pub(crate) struct KeptOfLast {
    pub by_id: IdIndex,
    /// When they were walked.
    pub paths: Option<ShortestPaths>,
    pub shapes: ShapeParts,
    pub listener_lists: Vec<ListenerList>,
    pub timers: Vec<Timer>,
}

/// What a diff kept of `graph` ([`LastParts`]), checked against it: `None` when the id index
/// or the shortest paths do not fit it; shape tables, or listener lists and timers, that do
/// not fit are left out (to be made again).
pub(in crate::diff) fn kept_parts(graph: &RetainerGraph, kept: LastParts) -> Option<KeptLast> {
    let s = &graph.snapshot;
    let n = s.node_count();
    let paths = ShortestPaths::from_parts(
        kept.via_node,
        BitSet::from_words(kept.reached, n)?,
        BitSet::from_words(kept.from_user_root, n)?,
        n,
    )?;
    if kept.by_id_node.len() != n || kept.by_id_node.iter().any(|&node| node as usize >= n) {
        return None;
    }
    if kept
        .by_id_node
        .par_windows(2)
        .any(|w| s.node_id[w[0] as usize] > s.node_id[w[1] as usize])
    {
        return None;
    }
    let by_id = IdIndex::new(kept.by_id_node);
    // Tables that do not fit are made again; the rest is still used.
    let shapes = kept.shapes.and_then(|k| ShapeParts::from_kept(graph, k));
    let in_graph = |node: u32| (node as usize) < n;
    let lists = kept
        .listener_lists
        .zip(kept.timers)
        .filter(|(lists, timers)| {
            lists.iter().all(|l| {
                in_graph(l.emitter)
                    && in_graph(l.holder)
                    && l.listeners.iter().all(|&f| in_graph(f))
            }) && timers
                .iter()
                .all(|t| in_graph(t.timer) && in_graph(t.callback))
        });
    Some(KeptLast {
        by_id,
        paths,
        shapes,
        lists,
    })
}

impl<'g> Last<'g> {
    /// What a later diff with this last snapshot can keep of it: its id index, its shortest
    /// paths when they were walked, the shape reader's tables, listener lists and timers.
    pub(crate) fn into_kept(self) -> KeptOfLast {
        KeptOfLast {
            by_id: self.by_id,
            paths: self.paths.into_inner(),
            shapes: self.shapes.into_parts(),
            listener_lists: self.listener_lists,
            timers: self.timers,
        }
    }

    /// [`Last`] from what was prepared of the same graph.
    pub(super) fn prepared(graph: &'g HeapGraph, prep: LastPrep) -> Last<'g> {
        Last {
            graph,
            shapes: match prep.shape_parts {
                Some(parts) => Shapes::from_parts(graph, parts),
                None => Shapes::new(graph),
            },
            paths: prep.paths,
            by_id: prep.by_id,
            listener_lists: prep.listener_lists,
            timers: prep.timers,
        }
    }

    fn node(&self, id: u32) -> Option<u32> {
        let node_id = &self.graph.snapshot.node_id;
        self.by_id
            .binary_search_by_key(&id, |&n| node_id[n as usize])
            .ok()
            .map(|p| self.by_id[p])
    }

    /// The shortest path to `n`, its middle cut out when it is very long (a linked list),
    /// and how many steps were cut after which step.
    fn path_to(&self, n: u32) -> (Vec<PathStep>, PathCut) {
        const LONG: usize = 40;
        const HEAD: usize = 10;
        const TAIL: usize = 25;
        let paths = self
            .paths
            .get_or_init(|| ShortestPaths::compute(self.graph));
        let Some(mut chain) = paths.edges_to(&self.graph.snapshot, n) else {
            return (Vec::new(), PathCut::default());
        };
        let mut cut = PathCut::default();
        if chain.len() > LONG {
            cut = PathCut {
                steps: (chain.len() - HEAD - TAIL) as u64,
                after: HEAD as u64,
            };
            chain.drain(HEAD..chain.len() - TAIL);
        }
        (path_steps(self.graph, &chain), cut)
    }

    /// `node` as the holder of a suspect: the path to it and its owner line (`what`, held by
    /// how the path's last step reaches it).
    fn held(&self, node: u32, what: String) -> Held {
        let (path, cut) = self.path_to(node);
        let (via, how) = describe_via(&path);
        let owner = Owner {
            id: self.graph.snapshot.node_id[node as usize],
            class: self.graph.class_name(node).to_string(),
            via,
            description: format!("{what}, held by {how}"),
        };
        let key = self.shapes.holder_key(node);
        let held_in = (!key.steps.is_empty()).then_some(key);
        Held {
            path,
            cut,
            owner,
            held_in,
        }
    }

    /// A holder that the last snapshot does not have (its process is younger than the one
    /// where something grew): described by its key, with no path and id 0.
    fn unheld(&self, key: &HolderKey, what: String) -> Held {
        let via = key
            .steps
            .first()
            .map(|step| match &step.reference {
                Reference::Variable(name) | Reference::Property(name) => name.clone(),
                Reference::Element | Reference::Store => String::new(),
            })
            .unwrap_or_default();
        Held {
            path: Vec::new(),
            cut: PathCut::default(),
            held_in: Some(key.clone()),
            owner: Owner {
                id: 0,
                class: key.class.clone(),
                via,
                description: format!(
                    "{what}, held as {key} in an earlier snapshot; the last snapshot's process does not hold it (it is younger)"
                ),
            },
        }
    }

    /// The stacks that allocated `nodes`, when the snapshot carries allocation traces: grouped
    /// by stack, most objects first, at most [`STACKS_SHOWN`], each innermost call first and at
    /// most [`FRAMES_SHOWN`] calls deep. Empty without traces.
    fn allocation_stacks(&self, nodes: &[u32]) -> Vec<AllocationStack> {
        let s = &self.graph.snapshot;
        let tree = &s.trace_tree;
        let Some([name, script, line, column]) = s.layout.trace_function_fields else {
            return Vec::new();
        };
        if tree.is_empty() {
            return Vec::new();
        }
        let mut per_trace: FxHashMap<u32, u64> = FxHashMap::default();
        for &n in nodes {
            let trace = s.node_trace_id[n as usize];
            if trace != 0 {
                *per_trace.entry(trace).or_default() += 1;
            }
        }
        let mut traces: Vec<(u32, u64)> = per_trace.into_iter().collect();
        traces.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        traces.truncate(STACKS_SHOWN);
        let width = s.layout.trace_function_info_width;
        let info = |record: u32, field: usize| {
            s.trace_function_infos
                .get(record as usize * width + field)
                .copied()
        };
        traces
            .into_iter()
            .filter_map(|(trace, count)| {
                let mut frames = Vec::new();
                let mut at = tree.position(trace)?;
                while at != NO_PARENT && frames.len() < FRAMES_SHOWN {
                    let record = tree.function_info[at as usize];
                    let function = info(record, name)
                        .map(|i| s.strings.get(i as u32).into_owned())
                        .unwrap_or_default();
                    at = tree.parent[at as usize];
                    if at == NO_PARENT && function == "(root)" {
                        break;
                    }
                    let file = info(record, script)
                        .map(|i| s.strings.get(i as u32).into_owned())
                        .unwrap_or_default();
                    // V8 writes these lines and columns 1-based, 0 when unknown.
                    let location = match (info(record, line), info(record, column)) {
                        (Some(l), Some(c)) if !file.is_empty() && l > 0 => Some(SourceLocation {
                            file,
                            line: l as u32,
                            column: c as u32,
                        }),
                        _ => None,
                    };
                    let app = location.as_ref().is_some_and(|l| is_app_script(&l.file));
                    frames.push(StackFrame {
                        function: if function.is_empty() {
                            "(anonymous)".to_string()
                        } else {
                            function
                        },
                        location,
                        app,
                    });
                }
                (!frames.is_empty()).then_some(AllocationStack { count, frames })
            })
            .collect()
    }

    /// A function of the scope that holds `held`'s node: the context the path reaches it from,
    /// else the app's scope where its holder key ends (the module that holds a package's
    /// instance). Only a fallback for a location ([`place`]): many functions share a scope.
    fn holding_scope(&self, held: &Held) -> Option<SourceLocation> {
        let from_path = held
            .path
            .len()
            .checked_sub(2)
            .and_then(|i| self.node(held.path[i].node.id))
            .filter(|&h| self.graph.class_name(h) == "system / Context")
            .and_then(|ctx| self.shapes.context_function_location(ctx));
        from_path.or_else(|| match &held.held_in.as_ref()?.steps.last()?.holder {
            Holder::Scope { at, .. } if at.package().is_none() && place::is_file(&at.file) => {
                Some(at.clone())
            }
            _ => None,
        })
    }

    /// The deepest node of the dominator tree that dominates all of `nodes`.
    fn common_dominator(&self, nodes: &[u32]) -> u32 {
        let n = self.graph.node_count();
        let mut count = vec![0u32; n];
        for &x in nodes {
            count[x as usize] += 1;
        }
        for &v in self.graph.dominators.order.iter().rev() {
            if v != self.graph.root {
                let d = self.graph.idom(v) as usize;
                count[d] += count[v as usize];
            }
        }
        let total = nodes.len() as u32;
        let Some(&start) = nodes.first() else {
            return self.graph.root;
        };
        let mut v = start;
        while count[v as usize] < total && v != self.graph.root {
            v = self.graph.idom(v);
        }
        v
    }

    /// The node a person would call the holder of `nodes`: their deepest common dominator
    /// (above V8's hidden records), or `nodes[0]` itself when that is the root or a synthetic
    /// node (nothing to act on).
    fn holder_of(&self, nodes: &[u32]) -> u32 {
        let mut holder = self.common_dominator(nodes);
        // V8's internal records (`(system)`, a PromiseReaction, a FixedArray of a hash table)
        // are nothing to act on: the nearest JavaScript object above them is.
        let hidden = self.graph.snapshot.layout.node_types.hidden;
        let mut steps = 0;
        while holder != self.graph.root
            && self.graph.snapshot.node_type[holder as usize] == hidden
            && steps < 64
        {
            holder = self.graph.idom(holder);
            steps += 1;
        }
        if holder == self.graph.root || self.is_synthetic(holder) {
            nodes[0]
        } else {
            holder
        }
    }

    /// Marks every node in the dominator subtrees of `roots`: one pass down the dominator
    /// order, where a node's dominator is always decided before the node.
    fn mark_subtrees(&self, roots: &[u32], marks: &mut BitSet) {
        for &r in roots {
            marks.set(r as usize);
        }
        let idom = &self.graph.dominators.idom;
        for &v in self.graph.dominators.order.iter().skip(1) {
            if !marks.get(v as usize) && marks.get(idom[v as usize] as usize) {
                marks.set(v as usize);
            }
        }
    }

    fn is_synthetic(&self, n: u32) -> bool {
        let s = &self.graph.snapshot;
        s.node_type[n as usize] == s.layout.node_types.synthetic
    }

    /// The most common class among `nodes`, with its location if it has one.
    fn main_class(&self, nodes: &[u32]) -> Option<(String, Option<SourceLocation>)> {
        let mut counts: FxHashMap<u32, usize> = FxHashMap::default();
        for &v in nodes {
            *counts
                .entry(self.graph.classes.class_of[v as usize])
                .or_default() += 1;
        }
        let (&class, _) = counts
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))?;
        let location = self.graph.classes.locations[class as usize]
            .map(|l| self.shapes.scripts.location(l.script_id, l.line, l.column));
        Some((self.graph.classes.names[class as usize].clone(), location))
    }

    /// The most common location among functions, and a function that has it.
    fn main_function(&self, functions: &[u32]) -> Option<(u32, Option<SourceLocation>)> {
        let mut counts: FxHashMap<String, (usize, u32)> = FxHashMap::default();
        for &f in functions {
            let entry = counts.entry(self.shapes.function_key(f)).or_insert((0, f));
            entry.0 += 1;
        }
        let (_, &(_, f)) = counts
            .iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(a.0)))?;
        Some((f, self.shapes.location_of(f)))
    }

    fn function_name(&self, f: u32) -> String {
        let name = self.graph.snapshot.node_name_str(f);
        if name.is_empty() {
            "(anonymous)".to_string()
        } else {
            name.into_owned()
        }
    }
}

/// How the last step of a path reaches its node: `variable x`, `property x of Foo`, …
fn describe_via(path: &[PathStep]) -> (String, String) {
    let Some(step) = path.last() else {
        return (
            String::new(),
            "(not reachable from the GC roots)".to_string(),
        );
    };
    let holder = if path.len() >= 2 {
        path[path.len() - 2].node.class.clone()
    } else {
        "(GC roots)".to_string()
    };
    let name = step.edge_name.clone();
    let text = match step.edge_type.as_str() {
        "context" => format!("variable `{name}`"),
        "property" => format!("property `{name}` of {holder}"),
        "element" => format!("element [{name}] of {holder}"),
        other => format!("{other} edge `{name}` of {holder}"),
    };
    (name, text)
}

#[cfg(test)]
mod tests;
