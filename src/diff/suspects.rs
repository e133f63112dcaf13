//! The leak detectors. Each looks for one pattern whose measurement grows steadily across
//! the snapshots — listeners per event, live timers per callback, entries per collection,
//! closure chain length per function, objects per class — and describes every hit from the
//! last snapshot's graph: what accumulates, its owner, the path to the owner, the source
//! location, and what to change. Class growth already explained by another suspect (the
//! objects sit under its owner in the dominator tree) is not reported twice.

use std::sync::OnceLock;

use rustc_hash::FxHashMap;

use super::digest::{function_key, Digest, Measurement};
use super::shapes::{CollectionKind, ListenerList, Shapes, Timer};
use crate::graph::bits::BitSet;
use crate::graph::HeapGraph;
use crate::paths::{path_steps, ShortestPaths};
use crate::report::diff::{Owner, Suspect, SuspectKind, Thresholds};
use crate::report::grouped;
use crate::report::retainers::PathStep;

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

fn growth_per_step(values: &[u64]) -> f64 {
    let steps = (values.len() - 1).max(1) as f64;
    (values[values.len() - 1] as f64 - values[0] as f64) / steps
}

/// Everything the detectors read from the last snapshot. The costly part (shortest paths) is
/// built on first use unless it was prepared ([`LastPrep::walk_paths`]): with no suspect, it
/// is not needed.
pub(super) struct Last<'g> {
    graph: &'g HeapGraph,
    shapes: Shapes<'g>,
    paths: OnceLock<ShortestPaths>,
    location_index: Vec<u32>,
    by_id: Vec<(u32, u32)>,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
}

/// The part of [`Last`] that reads no dominator column: the id and location indexes a
/// [`Measurement`] of the graph already holds, and the shortest paths if walked ahead.
pub struct LastPrep {
    location_index: Vec<u32>,
    by_id: Vec<(u32, u32)>,
    listener_lists: Vec<ListenerList>,
    timers: Vec<Timer>,
    paths: OnceLock<ShortestPaths>,
}

impl LastPrep {
    /// Takes what `measured` holds; the measurement keeps the rest of the digest.
    pub fn take(measured: &mut Measurement) -> LastPrep {
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
    pub fn walk_paths(&mut self, graph: &HeapGraph) {
        self.paths.get_or_init(|| ShortestPaths::compute(graph));
    }
}

impl<'g> Last<'g> {
    /// [`Last`] from what was prepared of the same graph and its shape reader.
    pub(super) fn prepared(graph: &'g HeapGraph, shapes: Shapes<'g>, prep: LastPrep) -> Last<'g> {
        Last {
            graph,
            paths: prep.paths,
            shapes,
            location_index: prep.location_index,
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

    /// The deepest node of the dominator tree that dominates all of `nodes`.
    fn common_dominator(&self, nodes: &[u32]) -> u32 {
        let n = self.graph.node_count();
        let mut count = vec![0u32; n];
        for &x in nodes {
            count[x as usize] += 1;
        }
        for &v in self.graph.dominator_order.iter().rev() {
            if v != self.graph.root {
                let d = self.graph.idom[v as usize] as usize;
                count[d] += count[v as usize];
            }
        }
        let total = nodes.len() as u32;
        let Some(&start) = nodes.first() else {
            return self.graph.root;
        };
        let mut v = start;
        while count[v as usize] < total && v != self.graph.root {
            v = self.graph.idom[v as usize];
        }
        v
    }

    /// Marks every node in the dominator subtrees of `roots`: one pass down the dominator
    /// order, where a node's dominator is always decided before the node.
    fn mark_subtrees(&self, roots: &[u32], marks: &mut BitSet) {
        for &r in roots {
            marks.set(r as usize);
        }
        let idom = &self.graph.idom;
        for &v in self.graph.dominator_order.iter().skip(1) {
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
    fn main_class(&self, nodes: &[u32]) -> Option<(String, Option<String>)> {
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
            .map(|l| self.shapes.scripts.format(l.script_id, l.line, l.column));
        Some((self.graph.classes.names[class as usize].clone(), location))
    }

    /// The most common location among functions, and a function that has it.
    fn main_function(&self, functions: &[u32]) -> Option<(u32, Option<String>)> {
        let mut counts: FxHashMap<String, (usize, u32)> = FxHashMap::default();
        for &f in functions {
            let key = function_key(&self.shapes, f, &self.location_index);
            let entry = counts.entry(key).or_insert((0, f));
            entry.0 += 1;
        }
        let (key, &(_, f)) = counts
            .iter()
            .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(a.0)))?;
        let location = self.shapes.location_of(f, &self.location_index);
        let _ = key;
        Some((f, location))
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

fn owner(last: &Last<'_>, node: u32, path: &[PathStep], what: String) -> Owner {
    let s = &last.graph.snapshot;
    let (via, how) = describe_via(path);
    Owner {
        id: s.node_id[node as usize],
        class: last.graph.class_name(node).to_string(),
        via,
        description: format!("{what}, held by {how}"),
    }
}

/// Looks a key up in each digest's sorted list and returns the per-snapshot series.
fn series<T>(
    digests: &[&Digest],
    pick: impl Fn(&Digest) -> Option<T>,
    value: impl Fn(&T) -> (u64, u64),
) -> (Vec<u64>, Vec<u64>) {
    digests
        .iter()
        .map(|d| pick(d).map_or((0, 0), |t| value(&t)))
        .unzip()
}

fn score(retained: &[u64], steadiness: f64) -> f64 {
    let growth = retained[retained.len() - 1].saturating_sub(retained[0]);
    (growth as f64 * steadiness).round()
}

fn retained_grows(retained: &[u64], th: &Thresholds) -> bool {
    retained[retained.len() - 1].saturating_sub(retained[0]) >= th.retained_growth
}

/// Where a long path was cut: `steps` left out after its first `after` steps.
#[derive(Debug, Clone, Copy, Default)]
struct PathCut {
    steps: u64,
    after: u64,
}

/// What the detectors that read no class totals found: their suspects, and the nodes whose
/// dominator subtrees those suspects explain (the class detector leaves them out).
pub(super) struct ShapedSuspects {
    suspects: Vec<Suspect>,
    explained_roots: Vec<u32>,
}

/// The listener, collection, timer and closure detectors. They read no class totals (the
/// last digest's may still be zero), so they can run while the last snapshot's class totals
/// are computed.
pub(super) fn find_shaped(
    digests: &[&Digest],
    last: &Last<'_>,
    same: bool,
    th: &Thresholds,
) -> ShapedSuspects {
    let graph = last.graph;
    let s = &graph.snapshot;
    let final_digest = &digests[digests.len() - 1];
    let mut suspects = Vec::new();
    let mut explained_roots: Vec<u32> = Vec::new();

    // Listeners and collections are matched by object id, which only holds in one process.
    if same {
        let lists = &last.listener_lists;
        for l in &final_digest.listeners {
            let (counts, retained) = series(
                digests,
                |d| {
                    d.listeners
                        .binary_search_by(|x| {
                            (x.emitter_id, x.event.as_str()).cmp(&(l.emitter_id, l.event.as_str()))
                        })
                        .ok()
                        .map(|i| d.listeners[i].clone())
                },
                |x| (x.count, x.retained_size),
            );
            let Some(steady) = steadiness(&counts, th.listener_growth, th.steady_fraction) else {
                continue;
            };
            if !retained_grows(&retained, th) {
                continue;
            }
            let Some(emitter) = last.node(l.emitter_id) else {
                continue;
            };
            let Some(list) = lists
                .iter()
                .find(|x| x.emitter == emitter && x.event == l.event)
            else {
                continue;
            };
            explained_roots.push(list.holder);
            let (function, location) = last
                .main_function(&list.listeners)
                .map_or((None, None), |(f, loc)| (Some(f), loc));
            let fname = function.map_or("(unknown)".to_string(), |f| last.function_name(f));
            let (path, cut) = last.path_to(emitter);
            let emitter_class = graph.class_name(emitter).to_string();
            let what = format!("{emitter_class} @{} ('{}' event)", l.emitter_id, l.event);
            let own = owner(last, emitter, &path, what);
            let emitter_label = if own.via.is_empty() {
                format!("{emitter_class} @{}", l.emitter_id)
            } else {
                format!("{emitter_class} `{}`", own.via)
            };
            suspects.push(Suspect {
                kind: SuspectKind::Listener,
                class: fname.clone(),
                title: format!(
                    "'{}' listeners ({fname}) on {emitter_label} keep piling up: {}",
                    l.event,
                    counts.iter().map(|c| grouped(*c)).collect::<Vec<_>>().join(" → "),
                ),
                hint: format!(
                    "remove the listener when its work is done (emitter.off('{}', {fname}) or emitter.once), or register it once instead of per call",
                    l.event
                ),
                owner: own,
                path,
                path_elided: cut.steps,
                path_elided_after: cut.after,
                location,
                growth_per_snapshot: growth_per_step(&counts),
                score: score(&retained, steady),
                counts,
                retained_sizes: retained,
            });
        }

        for c in &final_digest.collections {
            let (counts, retained) = series(
                digests,
                |d| {
                    d.collections
                        .binary_search_by_key(&c.id, |x| x.id)
                        .ok()
                        .map(|i| d.collections[i].clone())
                },
                |x| (x.entries, x.retained_size),
            );
            let Some(steady) = steadiness(&counts, th.collection_entry_growth, th.steady_fraction)
            else {
                continue;
            };
            if !retained_grows(&retained, th) {
                continue;
            }
            let Some(node) = last.node(c.id) else {
                continue;
            };
            explained_roots.push(node);
            let (_, values) = last.shapes.collection_entries(node, c.kind);
            let (value_class, value_location) = last
                .main_class(&values)
                .unwrap_or_else(|| ("(entries)".to_string(), None));
            let (path, cut) = last.path_to(node);
            // Where the entries come from, most specific first: the entries' constructor
            // (class instances are located), else the function whose object literal makes
            // them (through V8's allocation sites), else — as a last resort — a function of
            // the context that holds the collection. Each step is deterministic.
            let location = value_location
                .or_else(|| {
                    last.shapes
                        .allocation_location(&values, &last.location_index)
                })
                .or_else(|| {
                    path.len()
                        .checked_sub(2)
                        .and_then(|i| last.node(path[i].node.id))
                        .filter(|&h| graph.class_name(h) == "system / Context")
                        .and_then(|ctx| {
                            last.shapes
                                .context_function_location(ctx, &last.location_index)
                        })
                });
            let kind_name = c.kind.name();
            let what = format!("{kind_name} @{} with {} entries", c.id, grouped(c.entries));
            let own = owner(last, node, &path, what);
            let label = if own.via.is_empty() {
                format!("{kind_name} @{}", c.id)
            } else {
                format!("{kind_name} `{}`", own.via)
            };
            suspects.push(Suspect {
                kind: SuspectKind::Collection,
                class: value_class.clone(),
                title: format!(
                    "{label} keeps growing: {} entries of {value_class}",
                    counts.iter().map(|c| grouped(*c)).collect::<Vec<_>>().join(" → ")
                ),
                hint: match c.kind {
                    CollectionKind::Array => format!("{label} only grows: cap it (drop old items, use a ring buffer) or stop keeping every item"),
                    _ => format!("bound {label}: evict old entries (an LRU with a maximum size, or a TTL), or delete each entry when its work is done"),
                },
                owner: own,
                path,
                path_elided: cut.steps,
                path_elided_after: cut.after,
                location,
                growth_per_snapshot: growth_per_step(&counts),
                score: score(&retained, steady),
                counts,
                retained_sizes: retained,
            });
        }
    }

    // Timers and closures are keyed by source location, which holds across processes too.
    let timers = &last.timers;
    for t in &final_digest.timers {
        let (counts, retained) = series(
            digests,
            |d| {
                d.timers
                    .binary_search_by(|x| x.key.as_str().cmp(&t.key))
                    .ok()
                    .map(|i| d.timers[i].clone())
            },
            |x| (x.count, x.retained_size),
        );
        let Some(steady) = steadiness(&counts, th.timer_growth, th.steady_fraction) else {
            continue;
        };
        if !retained_grows(&retained, th) {
            continue;
        }
        let group: Vec<_> = timers
            .iter()
            .filter(|x| function_key(&last.shapes, x.callback, &last.location_index) == t.key)
            .collect();
        let Some(first) = group.first() else { continue };
        let nodes: Vec<u32> = group.iter().map(|x| x.timer).collect();
        explained_roots.extend_from_slice(&nodes);
        let holder = last.common_dominator(&nodes);
        let holder = if holder == graph.root || last.is_synthetic(holder) {
            first.timer
        } else {
            holder
        };
        let (path, cut) = last.path_to(holder);
        let fname = last.function_name(first.callback);
        let timer_class = graph.class_name(first.timer).to_string();
        let what = format!(
            "{} @{} holding {} live {timer_class} objects that call {fname}",
            graph.class_name(holder),
            s.node_id[holder as usize],
            grouped(t.count)
        );
        let own = owner(last, holder, &path, what);
        let (setter, clearer) = if first.immediate {
            ("setImmediate", "clearImmediate")
        } else {
            ("setInterval/setTimeout", "clearInterval/clearTimeout")
        };
        suspects.push(Suspect {
            kind: SuspectKind::Timer,
            class: timer_class,
            title: format!(
                "timers calling {fname} are never cleared: {} live",
                counts.iter().map(|c| grouped(*c)).collect::<Vec<_>>().join(" → ")
            ),
            hint: format!("keep the handle {setter} returns and call {clearer} when the work is done (or stop starting a timer per call)"),
            owner: own,
            path,
            path_elided: cut.steps,
            path_elided_after: cut.after,
            location: last.shapes.location_of(first.callback, &last.location_index),
            growth_per_snapshot: growth_per_step(&counts),
            score: score(&retained, steady),
            counts,
            retained_sizes: retained,
        });
    }

    let keys = last.shapes.location_keys(&last.location_index);
    for c in &final_digest.closures {
        let (counts, retained) = series(
            digests,
            |d| {
                d.closures
                    .binary_search_by(|x| x.key.as_str().cmp(&c.key))
                    .ok()
                    .map(|i| d.closures[i].clone())
            },
            |x| (x.longest_chain, x.chain_retained_size),
        );
        let Some(steady) = steadiness(&counts, th.closure_chain_growth, th.steady_fraction) else {
            continue;
        };
        if !retained_grows(&retained, th) {
            continue;
        }
        // The head of the chain dominates it, so it is the closure of this function that
        // retains the most.
        let closure_type = s.layout.node_types.closure;
        let Some(head) = (0..s.node_count() as u32)
            .filter(|&n| {
                s.node_type[n as usize] == closure_type
                    && keys[n as usize] != super::shapes::NO_LOCATION
            })
            .filter(|&n| function_key(&last.shapes, n, &last.location_index) == c.key)
            .max_by_key(|&n| (graph.retained_size[n as usize], std::cmp::Reverse(n)))
        else {
            continue;
        };
        explained_roots.push(head);
        let fname = last.function_name(head);
        let link = last
            .shapes
            .previous_in_chain(head, &keys)
            .and_then(|prev| last.shapes.captured_as(head, prev))
            .unwrap_or_else(|| "a variable".to_string());
        let (path, cut) = last.path_to(head);
        let what = format!(
            "the newest of a chain of {} `{fname}` closures",
            grouped(c.longest_chain)
        );
        let own = owner(last, head, &path, what);
        suspects.push(Suspect {
            kind: SuspectKind::Closure,
            class: format!("Function {fname}"),
            title: format!(
                "each new `{fname}` closure keeps the previous one alive through `{link}`: chain length {}",
                counts.iter().map(|c| grouped(*c)).collect::<Vec<_>>().join(" → ")
            ),
            hint: format!("do not capture the previous closure: clear `{link}` once it has been used, or keep only the data you need instead of the closure"),
            owner: own,
            path,
            path_elided: cut.steps,
            path_elided_after: cut.after,
            location: last.shapes.location_of(head, &last.location_index),
            growth_per_snapshot: growth_per_step(&counts),
            score: score(&retained, steady),
            counts,
            retained_sizes: retained,
        });
    }

    ShapedSuspects {
        suspects,
        explained_roots,
    }
}

/// Adds what the class detector finds to what [`find_shaped`] found (with the same
/// arguments, once every digest has its class totals); the result is sorted by score,
/// highest first.
pub(super) fn find(
    digests: &[&Digest],
    last: &Last<'_>,
    same: bool,
    th: &Thresholds,
    shaped: ShapedSuspects,
) -> Vec<Suspect> {
    let graph = last.graph;
    let s = &graph.snapshot;
    let final_digest = &digests[digests.len() - 1];
    let ShapedSuspects {
        mut suspects,
        explained_roots,
    } = shaped;

    // Classes that accumulate and that no suspect above explains. Only within one process:
    // across processes, class totals differ by whatever each run happened to allocate, and
    // that noise must not be reported as a leak (the class comparison still shows it).
    if !same {
        sort_by_score(&mut suspects);
        return suspects;
    }
    let index: Vec<FxHashMap<&str, (u64, u64)>> = digests
        .iter()
        .map(|d| {
            d.classes
                .iter()
                .map(|c| (c.key.as_str(), (c.count, c.retained_size)))
                .collect()
        })
        .collect();
    // Candidates first, largest retained growth first: objects inside a bigger accumulating
    // class (a record's arrays) are explained by it once it is accepted.
    let mut candidates = Vec::new();
    for cd in &final_digest.classes {
        let name = cd.name.as_str();
        if cd.count == 0
            || name.starts_with('(')
            || name.starts_with("system / ")
            || name.starts_with("Node / ")
            || name == "Function"
        {
            continue;
        }
        let (counts, retained): (Vec<u64>, Vec<u64>) = index
            .iter()
            .map(|m| m.get(cd.key.as_str()).copied().unwrap_or((0, 0)))
            .unzip();
        let Some(steady) = steadiness(&counts, th.class_count_growth, th.steady_fraction) else {
            continue;
        };
        if !retained_grows(&retained, th) {
            continue;
        }
        candidates.push((cd, counts, retained, steady));
    }
    let growth = |r: &[u64]| r[r.len() - 1].saturating_sub(r[0]);
    candidates.sort_by(|a, b| {
        growth(&b.2)
            .cmp(&growth(&a.2))
            .then_with(|| a.0.key.cmp(&b.0.key))
    });
    if candidates.is_empty() {
        sort_by_score(&mut suspects);
        return suspects;
    }
    let mut explained = BitSet::new(graph.node_count());
    last.mark_subtrees(&explained_roots, &mut explained);
    let first_max_id = digests[0].max_node_id;
    let mut class_nodes: Vec<Vec<u32>> = vec![Vec::new(); graph.classes.len()];
    let object = s.layout.node_types.object;
    for n in 0..s.node_count() as u32 {
        let i = n as usize;
        if s.node_type[i] == object && graph.self_size[i] > 0 && s.node_id[i] > first_max_id {
            class_nodes[graph.classes.class_of[i] as usize].push(n);
        }
    }
    for (cd, counts, retained, steady) in candidates {
        let Some(class_id) = (0..graph.classes.len()).find(|&c| {
            graph.classes.names[c] == cd.name
                && graph.classes.locations[c]
                    .map(|l| last.shapes.scripts.format(l.script_id, l.line, l.column))
                    == cd.location
        }) else {
            continue;
        };
        let members = &class_nodes[class_id];
        if members.is_empty() {
            continue;
        }
        let unexplained: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&n| !explained.get(n as usize))
            .collect();
        if unexplained.len() * 2 < members.len() {
            continue;
        }
        last.mark_subtrees(&unexplained, &mut explained);
        let mut holder = last.common_dominator(&unexplained);
        if holder == graph.root || last.is_synthetic(holder) {
            holder = unexplained[0];
        }
        let (path, cut) = last.path_to(holder);
        let what = format!(
            "{} @{}",
            graph.class_name(holder),
            s.node_id[holder as usize]
        );
        let own = owner(last, holder, &path, what);
        suspects.push(Suspect {
            kind: SuspectKind::Class,
            class: cd.name.clone(),
            title: format!(
                "{} objects accumulate: {}",
                cd.name,
                counts.iter().map(|c| grouped(*c)).collect::<Vec<_>>().join(" → ")
            ),
            hint: format!(
                "{} objects are created and never released; find what keeps them (the owner above, or `heapscan retainers LAST.heapsnapshot --class '{}'`) and drop the reference when done",
                cd.name, cd.name
            ),
            owner: own,
            path,
            path_elided: cut.steps,
            path_elided_after: cut.after,
            location: cd.location.clone(),
            growth_per_snapshot: growth_per_step(&counts),
            score: score(&retained, steady),
            counts,
            retained_sizes: retained,
        });
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

#[cfg(test)]
mod tests {
    use super::steadiness;

    #[test]
    fn steady_growth_rules() {
        assert_eq!(steadiness(&[0, 100, 200], 10, 0.75), Some(1.0));
        assert_eq!(
            steadiness(&[0, 200, 200], 10, 0.75),
            None,
            "a plateau is not a leak"
        );
        assert_eq!(
            steadiness(&[0, 200, 205], 10, 0.75),
            None,
            "the last step must grow enough"
        );
        assert_eq!(
            steadiness(&[100, 50, 200], 10, 0.75),
            None,
            "half the steps shrink"
        );
        assert_eq!(steadiness(&[0, 100, 200, 200, 300], 10, 0.75), Some(0.75));
        assert_eq!(
            steadiness(&[0, 30], 10, 0.75),
            Some(1.0),
            "two snapshots: any growth"
        );
        assert_eq!(steadiness(&[5], 10, 0.75), None);
    }
}
