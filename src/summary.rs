//! `heapscan summary`: DevTools' Summary view computed from a [`HeapGraph`] — per-class
//! count, distance, shallow and retained size (with DevTools' rule that a member dominated by
//! another member of its class is not counted twice), the Statistics buckets, and the top
//! dominators. Pure: returns a [`SummaryReport`], prints nothing.

use regex::Regex;

use crate::graph::locations::ScriptNames;
use rayon::prelude::*;

use crate::graph::bits::BitSet;
use crate::graph::prefetch::prefetch;
use crate::graph::HeapGraph;
use crate::report::summary::{ClassRow, DominatorRow, SnapshotInfo, Statistics, SummaryReport};

/// How to order class rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Retained,
    SelfSize,
    Count,
    Distance,
}

/// What the user asked of the summary.
#[derive(Debug, Clone, Default)]
pub struct SummaryOptions {
    /// Keep this many class rows (all when `None`).
    pub top: Option<usize>,
    pub sort: SortKey,
    /// Keep only classes whose name matches.
    pub class_filter: Option<Regex>,
    /// How many top dominators to list.
    pub dominators: usize,
}

/// Per-class totals, indexed by class id (DevTools' `buildAggregates` and
/// `calculateClassesRetainedSize`). Nodes with zero shallow size are not counted, as in DevTools.
pub struct ClassAggregates {
    pub count: Vec<u64>,
    /// Per class: the shortest distance of a member; `None` when the graph has no distances.
    pub distance: Option<Vec<i32>>,
    pub self_size: Vec<u64>,
    pub retained_size: Vec<u64>,
}

/// The columns of an analysed snapshot that its class totals read: borrowed from a
/// [`HeapGraph`], or from what a diff keeps of one after dropping the rest.
#[derive(Clone, Copy)]
pub struct AggregateColumns<'a> {
    /// Number of classes (class ids are below it).
    pub class_count: usize,
    /// Per node: its class.
    pub class_of: &'a [u32],
    /// Per node: shallow size after DevTools' pre-pass.
    pub self_size: &'a [u64],
    /// Per node: distance; `None` when the graph was built without distances.
    pub distance: Option<&'a [i32]>,
    /// Per node: retained size.
    pub retained_size: &'a [u64],
    /// [`DominatorTree::order`](crate::graph::DominatorTree::order).
    pub dominator_order: &'a [u32],
    /// [`DominatorTree::order_idom`](crate::graph::DominatorTree::order_idom).
    pub dominator_order_idom: &'a [u32],
}

impl<'a> AggregateColumns<'a> {
    /// The columns of `graph`.
    pub fn of(graph: &'a HeapGraph) -> AggregateColumns<'a> {
        AggregateColumns {
            class_count: graph.classes.len(),
            class_of: &graph.classes.class_of,
            self_size: &graph.self_size,
            distance: graph.distance.as_deref(),
            retained_size: &graph.dominators.retained_size,
            dominator_order: &graph.dominators.order,
            dominator_order_idom: &graph.dominators.order_idom,
        }
    }
}

impl ClassAggregates {
    /// Computes the aggregates of every class.
    pub fn compute(graph: &HeapGraph) -> ClassAggregates {
        let slices = if graph.node_count() < 1 << 12 {
            1
        } else {
            rayon::current_num_threads() * 2
        };
        Self::compute_in_slices(graph, slices)
    }

    /// The aggregates a summary's `facts` hold (computed by [`compute`](Self::compute)).
    pub fn of_facts(facts: &SummaryFacts) -> ClassAggregates {
        ClassAggregates {
            count: facts.count.clone(),
            distance: facts.distance.clone(),
            self_size: facts.self_size.clone(),
            retained_size: facts.retained_size.clone(),
        }
    }

    /// [`compute`](Self::compute) with the dominator-tree sweep cut into `slices` parallel
    /// slices (at least one); the numbers do not depend on it.
    pub fn compute_in_slices(graph: &HeapGraph, slices: usize) -> ClassAggregates {
        Self::from_columns(AggregateColumns::of(graph), slices)
    }

    /// The aggregates from `columns`, with the dominator-tree sweep cut into `slices`
    /// slices swept in parallel. With one slice nothing runs on the rayon pool: the work
    /// can then fill a core that another computation leaves idle without taking the other.
    /// One long function on purpose: its passes share the per-position arrays they build,
    /// and split apart they would each take and return them.
    pub fn from_columns(columns: AggregateColumns<'_>, slices: usize) -> ClassAggregates {
        let classes = columns.class_count;
        let class_of = columns.class_of;
        let self_size = columns.self_size;
        let mut agg = ClassAggregates {
            count: vec![0; classes],
            distance: columns.distance.map(|_| vec![i32::MAX; classes]),
            self_size: vec![0; classes],
            retained_size: vec![0; classes],
        };
        let n = class_of.len();
        for node in 0..n {
            let size = self_size[node];
            if size == 0 {
                continue;
            }
            let c = class_of[node] as usize;
            agg.count[c] += 1;
            agg.self_size[c] += size;
            if let (Some(per_class), Some(per_node)) = (agg.distance.as_mut(), columns.distance) {
                per_class[c] = per_class[c].min(per_node[node]);
            }
        }
        // A member counts when no dominator-tree ancestor is a member of its class. Lay the
        // tree out in preorder, then sweep the preorder with a stack of the counted members
        // whose subtrees are still open. Everything is indexed by position `j` in
        // `dominator_order`, where a node's dominator sits at `up[j] < j`: subtree sizes and
        // preorder positions are two flat passes, reading `up` in sequence.
        let order = columns.dominator_order;
        let up = columns.dominator_order_idom;
        let mut reach = vec![1u32; n];
        for j in (1..n).rev() {
            reach[up[j] as usize] += reach[j];
        }
        // `reach[j]` holds `j`'s subtree size until `j` is laid out, then the next free
        // position in its subtree (its children's subtrees go there in turn), which ends as
        // its subtree's end: one array where sizes, cursors and ends took three.
        let mut at_position = vec![0u32; n];
        if n > 0 {
            reach[0] = 1;
        }
        for j in 1..n {
            let d = up[j] as usize;
            let at = reach[d];
            reach[d] = at + reach[j];
            reach[j] = at + 1;
            at_position[at as usize] = j as u32;
        }
        let end = reach;
        // Sweep slices of the preorder in parallel. A slice starts with what is open at its
        // first position: the classes of that node's ancestors (their counted members).
        let slices = slices.clamp(1, n);
        let cuts: Vec<usize> = (0..=slices).map(|j| n * j / slices).collect();
        let sweep = |from: usize, to: usize| -> Vec<u64> {
            let mut retained = vec![0u64; classes];
            let mut active = vec![false; classes];
            let mut open: Vec<(u32, u32)> = Vec::new(); // (subtree end, class) of counted members
            if from > 0 {
                let mut ancestors = Vec::new();
                let mut a = at_position[from] as usize;
                while a != 0 {
                    a = up[a] as usize;
                    ancestors.push(a);
                }
                for &a in ancestors.iter().rev() {
                    let node = order[a] as usize;
                    let c = class_of[node] as usize;
                    if self_size[node] != 0 && !active[c] {
                        active[c] = true;
                        open.push((end[a], c as u32));
                    }
                }
            }
            for k in from..to {
                // Two hops to a node's columns: ask for the position's entries early, and for
                // the node's columns once its ordinal has had time to arrive.
                if let Some(&far) = at_position.get(k + 32) {
                    prefetch(order, far as usize);
                    prefetch(&end, far as usize);
                }
                if let Some(&near) = at_position.get(k + 16) {
                    let node = order[near as usize] as usize;
                    prefetch(self_size, node);
                    prefetch(class_of, node);
                }
                while let Some(&(end, c)) = open.last() {
                    if end as usize > k {
                        break;
                    }
                    active[c as usize] = false;
                    open.pop();
                }
                let j = at_position[k] as usize;
                let node = order[j] as usize;
                let c = class_of[node] as usize;
                if self_size[node] != 0 && !active[c] {
                    active[c] = true;
                    open.push((end[j], c as u32));
                    retained[c] += columns.retained_size[node];
                }
            }
            retained
        };
        let partial: Vec<Vec<u64>> = if slices == 1 {
            vec![sweep(0, n)]
        } else {
            cuts.par_windows(2).map(|w| sweep(w[0], w[1])).collect()
        };
        for part in partial {
            for (total, r) in agg.retained_size.iter_mut().zip(part) {
                *total += r;
            }
        }
        agg
    }
}

/// DevTools' Statistics (`JSHeapSnapshot.calculateStatistics`), from shallow sizes after the
/// pre-pass; `other` is what the named V8 buckets leave of the V8 heap.
pub fn statistics(graph: &HeapGraph) -> Statistics {
    let s = &graph.snapshot;
    let nt = s.layout.node_types;
    let internal = s.layout.edge_types.internal;
    let (mut native, mut typed_arrays, mut code, mut strings, mut js_arrays, mut system) =
        (s.extra_native_bytes, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut element_stores = Vec::new();
    for n in 0..s.node_count() {
        let size = graph.self_size[n];
        let t = s.node_type[n];
        let raw_name = s.strings.raw(s.node_name[n]);
        if t == nt.hidden {
            system += size;
        } else if t == nt.native {
            native += size;
            if raw_name == b"system / JSArrayBufferData" {
                typed_arrays += size;
            }
        } else if t == nt.code {
            code += size;
        } else if nt.is_string(t) {
            strings += size;
        } else if raw_name == b"Array" {
            // A JS array counts with its elements store when nothing else holds that store.
            js_arrays += size;
            let elements = s.edges_of(n as u32).find(|&e| {
                s.edge_type[e] == internal && s.strings.raw(s.edge_name[e]) == b"elements"
            });
            if let Some(e) = elements {
                element_stores.push(s.edge_to[e]);
            }
        }
    }
    let held_once = held_by_one_edge(s, &element_stores);
    js_arrays += element_stores
        .iter()
        .filter(|&&store| held_once.get(store as usize))
        .map(|&store| graph.self_size[store as usize])
        .sum::<u64>();
    let total = graph.total_size();
    let v8heap = total.saturating_sub(native);
    Statistics {
        total,
        v8heap,
        native,
        code,
        strings,
        js_arrays,
        typed_arrays,
        system,
        other: v8heap.saturating_sub(code + strings + js_arrays + system),
    }
}

/// Which of `nodes` exactly one edge points at, from one pass over the edges: a summary
/// does not keep the retainer lists (see [`crate::graph::Columns`]).
fn held_by_one_edge(s: &crate::snapshot::Snapshot, nodes: &[u32]) -> BitSet {
    let n = s.node_count();
    let mut wanted = BitSet::new(n);
    for &node in nodes {
        wanted.set(node as usize);
    }
    let mut once = BitSet::new(n);
    let mut more = BitSet::new(n);
    for &to in s.edge_to.iter() {
        let to = to as usize;
        if wanted.get(to) {
            if once.get(to) {
                more.set(to);
            } else {
                once.set(to);
            }
        }
    }
    for node in nodes {
        if more.get(*node as usize) {
            once.clear(*node as usize);
        }
    }
    once
}

/// The objects that hold the most: non-synthetic nodes directly under the root or under a
/// synthetic root category in the dominator tree, by retained size.
pub fn top_dominators(graph: &HeapGraph, limit: usize) -> Vec<u32> {
    top_dominators_of(graph, limit).0
}

/// [`top_dominators`] and how many candidates there were in all.
fn top_dominators_of(graph: &HeapGraph, limit: usize) -> (Vec<u32>, usize) {
    let s = &graph.snapshot;
    let synthetic = s.layout.node_types.synthetic;
    let mut picks: Vec<u32> = (0..s.node_count() as u32)
        .filter(|&n| {
            n != graph.root && s.node_type[n as usize] != synthetic && {
                let d = graph.idom(n);
                d == graph.root || s.node_type[d as usize] == synthetic
            }
        })
        .collect();
    picks.sort_by(|&a, &b| {
        graph
            .retained_size(b)
            .cmp(&graph.retained_size(a))
            .then(s.node_id[a as usize].cmp(&s.node_id[b as usize]))
    });
    let candidates = picks.len();
    picks.truncate(limit);
    (picks, candidates)
}

/// A node's display name: its name cut to `max` characters on one line.
pub fn short_name(graph: &HeapGraph, n: u32, max: usize) -> String {
    let name = graph.snapshot.node_name_str(n);
    let one_line: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    crate::report::cut_chars(one_line, max)
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / total as f64).round() / 100.0
    }
}

/// How many top dominators a snapshot's [`SummaryFacts`] keep, when fewer are asked for.
pub const KEPT_DOMINATORS: usize = 100;

/// What a summary of one snapshot is made of, before the user's sorting, filtering and
/// cutting: per-class totals with each class's location, the Statistics, the top dominators
/// and the total size. Computed once per graph ([`summary_facts`]) and saved in the
/// snapshot's index, so a summary of an indexed snapshot reads none of its columns.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SummaryFacts {
    pub total_size: u64,
    pub count: Vec<u64>,
    pub distance: Option<Vec<i32>>,
    pub self_size: Vec<u64>,
    pub retained_size: Vec<u64>,
    /// Per class: its constructor's location, formatted, for location-keyed classes.
    pub class_locations: Vec<Option<String>>,
    pub statistics: Statistics,
    /// The top dominators, largest first: at least [`KEPT_DOMINATORS`] unless there are fewer.
    pub dominators: Vec<DominatorRow>,
    /// Whether `dominators` holds every candidate (so a longer list cannot be asked of it).
    pub dominators_complete: bool,
}

impl SummaryFacts {
    /// Computes the facts of `graph`, keeping at least `dominators` top dominators.
    pub fn compute(graph: &HeapGraph, dominators: usize) -> SummaryFacts {
        let s = &graph.snapshot;
        let keep = dominators.max(KEPT_DOMINATORS);
        let (agg, (scripts, (statistics, (top, candidates)))) = rayon::join(
            || ClassAggregates::compute(graph),
            || {
                rayon::join(
                    || ScriptNames::find(s),
                    || rayon::join(|| statistics(graph), || top_dominators_of(graph, keep)),
                )
            },
        );
        let total = graph.total_size();
        let class_locations = graph
            .classes
            .locations
            .iter()
            .map(|l| l.map(|l| scripts.format(l.script_id, l.line, l.column)))
            .collect();
        let dominators = top
            .into_iter()
            .map(|n| DominatorRow {
                id: s.node_id[n as usize],
                class: graph.class_name(n).to_string(),
                name: short_name(graph, n, 80),
                node_type: s.layout.node_type_name(s.node_type[n as usize]).to_string(),
                self_size: graph.self_size[n as usize],
                retained_size: graph.retained_size(n),
                retained_percent: percent(graph.retained_size(n), total),
                distance: graph.distance.as_ref().map(|d| d[n as usize]),
            })
            .collect::<Vec<_>>();
        SummaryFacts {
            total_size: total,
            dominators_complete: dominators.len() == candidates,
            count: agg.count,
            distance: agg.distance,
            self_size: agg.self_size,
            retained_size: agg.retained_size,
            class_locations,
            statistics,
            dominators,
        }
    }

    /// Whether these facts can answer a summary that lists `dominators` top dominators.
    pub fn covers(&self, dominators: usize) -> bool {
        self.dominators_complete || self.dominators.len() >= dominators
    }
}

/// The summary facts of `graph` with at least `dominators` top dominators: the ones it was
/// loaded with or computed before when they cover that, else computed now (and kept).
pub fn summary_facts(graph: &HeapGraph, dominators: usize) -> std::sync::Arc<SummaryFacts> {
    if let Some(facts) = graph.summary_facts().filter(|f| f.covers(dominators)) {
        return facts;
    }
    let facts = std::sync::Arc::new(SummaryFacts::compute(graph, dominators));
    graph.keep_summary_facts(facts.clone());
    facts
}

/// Builds the whole summary report for one analysed snapshot.
pub fn summarize(graph: &HeapGraph, file: &str, options: &SummaryOptions) -> SummaryReport {
    let s = &graph.snapshot;
    let facts = summary_facts(graph, options.dominators);
    let total = facts.total_size;
    let mut rows: Vec<ClassRow> = (0..graph.classes.len())
        .filter(|&c| facts.count[c] > 0)
        .map(|c| ClassRow {
            class: graph.classes.names[c].clone(),
            location: facts.class_locations[c].clone(),
            count: facts.count[c],
            distance: facts.distance.as_ref().map(|d| d[c]),
            self_size: facts.self_size[c],
            retained_size: facts.retained_size[c],
            self_percent: percent(facts.self_size[c], total),
            retained_percent: percent(facts.retained_size[c], total),
        })
        .collect();
    let class_count = rows.len();
    if let Some(filter) = &options.class_filter {
        rows.retain(|r| filter.is_match(&r.class));
    }
    rows.sort_by(|a, b| {
        let primary = match options.sort {
            SortKey::Retained => b.retained_size.cmp(&a.retained_size),
            SortKey::SelfSize => b.self_size.cmp(&a.self_size),
            SortKey::Count => b.count.cmp(&a.count),
            SortKey::Distance => a.distance.cmp(&b.distance),
        };
        primary
            .then(b.retained_size.cmp(&a.retained_size))
            .then_with(|| a.class.cmp(&b.class))
            .then_with(|| a.location.cmp(&b.location))
    });
    let matching_classes = rows.len();
    if let Some(top) = options.top {
        rows.truncate(top);
    }
    let dominators = facts
        .dominators
        .iter()
        .take(options.dominators)
        .cloned()
        .collect();
    SummaryReport {
        snapshot: SnapshotInfo {
            file: file.to_string(),
            file_size: s.file_size,
            compressed_size: s.compressed_size,
            node_count: s.node_count() as u64,
            edge_count: s.edge_count() as u64,
            total_size: total,
            unreachable_nodes: graph.dominators.unreachable_count as u64,
        },
        class_count,
        matching_classes,
        classes: rows,
        statistics: facts.statistics.clone(),
        dominators,
    }
}
