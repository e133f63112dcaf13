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
mod listeners;
mod timers;

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::digest::{Digest, DigestBody, Measurement};
use super::shapes::{ListenerList, Shapes, Timer};
use crate::graph::bits::BitSet;
use crate::graph::{HeapGraph, RetainerGraph};
use crate::paths::{path_steps, ShortestPaths};
use crate::report::diff::{MissReason, NearMiss, Owner, Suspect, SuspectKind, Thresholds};
use crate::report::retainers::PathStep;
use crate::report::{grouped, SourceLocation};

/// A measurement that grew across the judged snapshots: its count (entries, listeners,
/// timers, chain length, objects) per judged snapshot, what it retains, and the share of steps
/// in which the count grew.
struct Growth {
    counts: Vec<u64>,
    retained: Vec<u64>,
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
    /// The verdict on a `(counts, retained sizes)` series, one value per judged snapshot,
    /// whose counts must grow by at least `min_step` per step; `None` when it did not grow.
    fn of(series: (Vec<u64>, Vec<u64>), min_step: u64, th: &Thresholds) -> Option<Verdict> {
        let (counts, retained) = series;
        let steps = counts.len().checked_sub(1).filter(|&s| s > 0)?;
        let min_step = min_step.max(1);
        let grows = |i: usize| counts[i] >= counts[i - 1].saturating_add(min_step);
        let grew_in = (1..counts.len()).filter(|&i| grows(i)).count();
        let last_step_grew = grows(counts.len() - 1);
        let share = grew_in as f64 / steps as f64;
        let steady = last_step_grew && share + 1e-9 >= th.steady_fraction;
        let big = retained_growth(&retained) >= th.retained_growth;
        if steady && big {
            let growth = Growth {
                counts,
                retained,
                steadiness: share,
            };
            return Some(Verdict::Leak(growth));
        }
        // A near miss grew overall, in the count and in what it retains: an unsteady series
        // by as much as a leak, a steady one by at least half as much.
        let grew_overall = counts[counts.len() - 1] >= counts[0].saturating_add(min_step);
        let reason = if !steady && big {
            MissReason::Unsteady {
                grew_in: grew_in as u64,
                steps: steps as u64,
                last_step_grew,
            }
        } else if steady && retained_growth(&retained).saturating_mul(2) >= th.retained_growth {
            MissReason::SmallRetainedGrowth {
                retained_growth: retained_growth(&retained),
                threshold: th.retained_growth,
            }
        } else {
            return None;
        };
        grew_overall.then(|| {
            let growth = Growth {
                counts,
                retained,
                steadiness: share,
            };
            Verdict::NearMiss(growth, reason)
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
        self.counts
            .iter()
            .map(|c| grouped(*c))
            .collect::<Vec<_>>()
            .join(" → ")
    }

    /// The suspect: what a detector says about it, with the holder's description and these
    /// numbers.
    fn suspect(self, finding: Finding, held: Held) -> Suspect {
        let steps = (self.counts.len() - 1).max(1) as f64;
        let first = self.counts[0] as f64;
        let last = self.counts[self.counts.len() - 1] as f64;
        Suspect {
            kind: finding.kind,
            class: finding.class,
            title: finding.title,
            hint: finding.hint,
            owner: held.owner,
            path: held.path,
            path_elided: held.cut.steps,
            path_elided_after: held.cut.after,
            location: finding.location,
            growth_per_snapshot: (last - first) / steps,
            score: (retained_growth(&self.retained) as f64 * self.steadiness).round(),
            counts: self.counts,
            retained_sizes: self.retained,
        }
    }

    /// The near miss: what grew, and why that is no verdict.
    fn near_miss(self, finding: Finding, reason: MissReason) -> NearMiss {
        NearMiss {
            kind: finding.kind,
            subject: finding.subject,
            location: finding.location,
            counts: self.counts,
            retained_sizes: self.retained,
            reason,
        }
    }
}

/// Growth from the first value to the last (0 when it shrank).
fn retained_growth(retained: &[u64]) -> u64 {
    retained[retained.len() - 1].saturating_sub(retained[0])
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
    location: Option<SourceLocation>,
}

/// A holder as a suspect shows it: the path to it from the GC roots and its owner line.
struct Held {
    path: Vec<PathStep>,
    cut: PathCut,
    owner: Owner,
}

impl Held {
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

/// Looks a key up in each digest and returns the per-snapshot `(count, retained size)`
/// series (zeros where a digest does not have it).
fn series<T>(
    digests: &[&DigestBody],
    pick: impl Fn(&DigestBody) -> Option<&T>,
    value: impl Fn(&T) -> (u64, u64),
) -> (Vec<u64>, Vec<u64>) {
    digests
        .iter()
        .map(|d| pick(d).map_or((0, 0), &value))
        .unzip()
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

/// What each of the listener, collection, timer and closure detectors reads: the judged
/// snapshots' digests, the newest of them, the last snapshot's graph and the thresholds.
#[derive(Clone, Copy)]
struct Inputs<'a, 'g> {
    digests: &'a [&'a DigestBody],
    newest: &'a DigestBody,
    last: &'a Last<'g>,
    th: &'a Thresholds,
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

/// How many near misses a report lists: the largest growth first, briefly.
const NEAR_MISSES_SHOWN: usize = 10;

/// The listener, collection, timer and closure detectors. They read no class totals, so they
/// can run while the last snapshot's class totals are computed. Listeners and collections are
/// matched by object id, which only holds within one process (`same`); timers and closures
/// are keyed by source location, which holds across processes too.
pub(super) fn find_shaped(
    digests: &[&DigestBody],
    last: &Last<'_>,
    same: bool,
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
        th,
    };
    if same {
        listeners::detect(inputs, &mut found);
        collections::detect(inputs, &mut found);
    }
    timers::detect(inputs, &mut found);
    closures::detect(inputs, &mut found);
    found
}

/// Adds what the class detector finds to what [`find_shaped`] found (with the same
/// arguments, once every digest has its class totals); the suspects are sorted by score,
/// highest first, the near misses by retained growth (at most [`NEAR_MISSES_SHOWN`]). Only
/// within one process: across processes, class totals differ by whatever each run happened to
/// allocate, and that noise must not be reported as a leak (the class comparison still shows
/// it).
pub(super) fn find(
    digests: &[&Digest],
    last: &Last<'_>,
    same: bool,
    th: &Thresholds,
    mut found: Detected,
) -> Detected {
    if same {
        classes::detect(digests, last, th, &mut found);
    }
    sort_by_score(&mut found.suspects);
    found.near_misses.sort_by(|a, b| {
        retained_growth(&b.retained_sizes)
            .cmp(&retained_growth(&a.retained_sizes))
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
    by_id: Vec<(u32, u32)>,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
}

/// The part of [`Last`] that reads no dominator column: the id and location indexes a
/// [`Measurement`] of the graph already holds, and the shortest paths if walked ahead.
pub(crate) struct LastPrep {
    location_index: Vec<u32>,
    by_id: Vec<(u32, u32)>,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
    paths: OnceLock<ShortestPaths>,
}

impl LastPrep {
    /// Takes what `measured` holds; the measurement keeps the rest of the digest.
    pub(crate) fn take(measured: &mut Measurement) -> LastPrep {
        LastPrep {
            location_index: std::mem::take(&mut measured.location_index),
            by_id: std::mem::take(&mut measured.by_id),
            listener_lists: std::mem::take(&mut measured.listener_lists),
            timers: std::mem::take(&mut measured.timer_list),
            paths: OnceLock::new(),
        }
    }

    /// Walks the shortest paths now (a full breadth-first walk: worth it where a core would
    /// otherwise wait, as beside the dominators).
    pub fn walk_paths(&mut self, graph: &RetainerGraph) {
        self.paths.get_or_init(|| ShortestPaths::compute(graph));
    }
}

impl<'g> Last<'g> {
    /// [`Last`] from what was prepared of the same graph.
    pub(super) fn prepared(graph: &'g HeapGraph, prep: LastPrep) -> Last<'g> {
        Last {
            graph,
            shapes: Shapes::with_location_index(graph, prep.location_index),
            paths: prep.paths,
            by_id: prep.by_id,
            listener_lists: prep.listener_lists,
            timers: prep.timers,
        }
    }

    fn node(&self, id: u32) -> Option<u32> {
        self.by_id
            .binary_search_by_key(&id, |&(i, _)| i)
            .ok()
            .map(|p| self.by_id[p].1)
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
        Held { path, cut, owner }
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

    /// The node a person would call the holder of `nodes`: their deepest common dominator,
    /// or `nodes[0]` itself when that is the root or a synthetic node (nothing to act on).
    fn holder_of(&self, nodes: &[u32]) -> u32 {
        let holder = self.common_dominator(nodes);
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
