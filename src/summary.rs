//! `heapscan summary`: DevTools' Summary view computed from a [`HeapGraph`] — per-class
//! count, distance, shallow and retained size (with DevTools' rule that a member dominated by
//! another member of its class is not counted twice), the Statistics buckets, and the top
//! dominators. Pure: returns a [`SummaryReport`], prints nothing.

use regex::Regex;

use crate::graph::locations::ScriptNames;
use crate::graph::{DominatorTree, HeapGraph};
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
    pub distance: Vec<i32>,
    pub self_size: Vec<u64>,
    pub retained_size: Vec<u64>,
}

impl ClassAggregates {
    /// Computes the aggregates of every class.
    pub fn compute(graph: &HeapGraph, tree: &DominatorTree) -> ClassAggregates {
        let classes = graph.classes.len();
        let mut agg = ClassAggregates {
            count: vec![0; classes],
            distance: vec![i32::MAX; classes],
            self_size: vec![0; classes],
            retained_size: vec![0; classes],
        };
        for n in 0..graph.node_count() {
            let size = graph.self_size[n];
            if size == 0 {
                continue;
            }
            let c = graph.classes.class_of[n] as usize;
            agg.count[c] += 1;
            agg.self_size[c] += size;
            agg.distance[c] = agg.distance[c].min(graph.distance[n]);
        }
        // Walk the dominator tree keeping, per class, whether a counted member is an ancestor
        // of the current node; only members with no such ancestor add their retained size.
        let mut active = vec![0u32; classes];
        let mut stack: Vec<(u32, u32, bool)> = vec![(graph.root, 0, false)];
        let mut entered = false;
        while let Some(top) = stack.last_mut() {
            let (node, next_child, _) = *top;
            if !entered {
                let c = graph.classes.class_of[node as usize] as usize;
                let counts = active[c] == 0 && graph.self_size[node as usize] != 0;
                if counts {
                    agg.retained_size[c] += graph.retained_size[node as usize];
                    active[c] += 1;
                }
                top.2 = counts;
            }
            let children = tree.children_of(node);
            if (next_child as usize) < children.len() {
                top.1 += 1;
                stack.push((children[next_child as usize], 0, false));
                entered = false;
            } else {
                let (node, _, counted) = stack.pop().unwrap_or((0, 0, false));
                if counted {
                    active[graph.classes.class_of[node as usize] as usize] -= 1;
                }
                entered = true;
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
                let store = s.edge_to[e];
                if graph.retainers_of(store).len() == 1 {
                    js_arrays += graph.self_size[store as usize];
                }
            }
        }
    }
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

/// The objects that hold the most: non-synthetic nodes directly under the root or under a
/// synthetic root category in the dominator tree, by retained size.
pub fn top_dominators(graph: &HeapGraph, limit: usize) -> Vec<u32> {
    let s = &graph.snapshot;
    let synthetic = s.layout.node_types.synthetic;
    let mut picks: Vec<u32> = (0..s.node_count() as u32)
        .filter(|&n| {
            n != graph.root && s.node_type[n as usize] != synthetic && {
                let d = graph.idom[n as usize];
                d == graph.root || s.node_type[d as usize] == synthetic
            }
        })
        .collect();
    picks.sort_by(|&a, &b| {
        graph.retained_size[b as usize]
            .cmp(&graph.retained_size[a as usize])
            .then(s.node_id[a as usize].cmp(&s.node_id[b as usize]))
    });
    picks.truncate(limit);
    picks
}

/// A node's display name: its name cut to `max` characters on one line.
pub fn short_name(graph: &HeapGraph, n: u32, max: usize) -> String {
    let name = graph.snapshot.node_name_str(n);
    let one_line: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() > max {
        let cut: String = one_line.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        one_line
    }
}

fn percent(part: u64, total: u64) -> f64 {
    if total == 0 {
        0.0
    } else {
        (part as f64 * 10000.0 / total as f64).round() / 100.0
    }
}

/// Builds the whole summary report for one analysed snapshot.
pub fn summarize(graph: &HeapGraph, file: &str, options: &SummaryOptions) -> SummaryReport {
    let s = &graph.snapshot;
    let tree = DominatorTree::new(&graph.idom, graph.root);
    let agg = ClassAggregates::compute(graph, &tree);
    let scripts = ScriptNames::find(s);
    let total = graph.total_size();
    let mut rows: Vec<ClassRow> = (0..graph.classes.len())
        .filter(|&c| agg.count[c] > 0)
        .map(|c| ClassRow {
            class: graph.classes.names[c].clone(),
            location: graph.classes.locations[c]
                .map(|l| scripts.format(l.script_id, l.line, l.column)),
            count: agg.count[c],
            distance: agg.distance[c],
            self_size: agg.self_size[c],
            retained_size: agg.retained_size[c],
            self_percent: percent(agg.self_size[c], total),
            retained_percent: percent(agg.retained_size[c], total),
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
    let dominators = top_dominators(graph, options.dominators)
        .into_iter()
        .map(|n| DominatorRow {
            id: s.node_id[n as usize],
            class: graph.class_name(n).to_string(),
            name: short_name(graph, n, 80),
            node_type: s.layout.node_type_name(s.node_type[n as usize]).to_string(),
            self_size: graph.self_size[n as usize],
            retained_size: graph.retained_size[n as usize],
            retained_percent: percent(graph.retained_size[n as usize], total),
            distance: graph.distance[n as usize],
        })
        .collect();
    SummaryReport {
        snapshot: SnapshotInfo {
            file: file.to_string(),
            file_size: s.file_size,
            compressed_size: s.compressed_size,
            node_count: s.node_count() as u64,
            edge_count: s.edge_count() as u64,
            total_size: total,
            unreachable_nodes: graph.unreachable_count as u64,
        },
        class_count,
        matching_classes,
        classes: rows,
        statistics: statistics(graph),
        dominators,
    }
}
