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
use crate::report::diff::{Owner, Suspect, SuspectKind, Thresholds};
use crate::report::retainers::PathStep;
use crate::report::{grouped, SourceLocation};

/// How steadily `values` grow: the share of steps that grow by at least `min_step`, or
/// `None` when the last step does not grow or too few steps do.
pub(crate) fn steadiness(values: &[u64], min_step: u64, need: f64) -> Option<f64> {
    let steps = values.len().checked_sub(1).filter(|&s| s > 0)?;
    let grows = |i: usize| values[i] >= values[i - 1].saturating_add(min_step.max(1));
    if !grows(values.len() - 1) {
        return None;
    }
    let growing = (1..values.len()).filter(|&i| grows(i)).count();
    let share = growing as f64 / steps as f64;
    (share + 1e-9 >= need).then_some(share)
}

/// A measurement that grows the way a leak does across the judged snapshots: its count
/// (entries, listeners, timers, chain length, objects) grows steadily and what it retains grows
/// by at least the retained-growth threshold from first to last.
struct Growth {
    counts: Vec<u64>,
    retained: Vec<u64>,
    steadiness: f64,
}

impl Growth {
    /// The growth of a `(counts, retained sizes)` series, one value per judged snapshot, when
    /// the counts grow by at least `min_step` per step; `None` when it does not look like a
    /// leak.
    fn check(series: (Vec<u64>, Vec<u64>), min_step: u64, th: &Thresholds) -> Option<Growth> {
        let (counts, retained) = series;
        let steadiness = steadiness(&counts, min_step, th.steady_fraction)?;
        (retained_growth(&retained) >= th.retained_growth).then_some(Growth {
            counts,
            retained,
            steadiness,
        })
    }

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
}

/// Growth from the first value to the last (0 when it shrank).
fn retained_growth(retained: &[u64]) -> u64 {
    retained[retained.len() - 1].saturating_sub(retained[0])
}

/// What a detector says about one hit; [`Growth::suspect`] adds the numbers and the holder.
struct Finding {
    kind: SuspectKind,
    class: String,
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

/// What the detectors found: their suspects, and the nodes whose dominator subtrees those
/// suspects explain (the class detector leaves them out).
#[derive(Default)]
pub(super) struct Detected {
    suspects: Vec<Suspect>,
    explained_roots: Vec<u32>,
}

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
/// arguments, once every digest has its class totals); the result is sorted by score,
/// highest first. Only within one process: across processes, class totals differ by
/// whatever each run happened to allocate, and that noise must not be reported as a leak
/// (the class comparison still shows it).
pub(super) fn find(
    digests: &[&Digest],
    last: &Last<'_>,
    same: bool,
    th: &Thresholds,
    shaped: Detected,
) -> Vec<Suspect> {
    let Detected {
        mut suspects,
        explained_roots,
    } = shaped;
    if same {
        suspects.extend(classes::detect(digests, last, th, &explained_roots));
    }
    sort_by_score(&mut suspects);
    suspects
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
