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
        // A member counts when no dominator-tree ancestor is a member of its class. Rather
        // than a depth-first walk (one cache miss after another), lay the tree out in preorder
        // with flat passes whose loads are independent, then sweep the preorder once with a
        // stack of the counted members whose subtrees are still open.
        let n = graph.node_count();
        let root = graph.root;
        // Breadth-first order: every node after its dominator, each node's children together.
        let mut order: Vec<u32> = Vec::with_capacity(n);
        order.push(root);
        let mut head = 0;
        while head < order.len() {
            let node = order[head];
            head += 1;
            order.extend_from_slice(tree.children_of(node));
        }
        let mut size = vec![1u32; n];
        for &node in order.iter().skip(1).rev() {
            size[graph.idom[node as usize] as usize] += size[node as usize];
        }
        // Preorder positions: a node's children follow it, each after the previous one's
        // subtree.
        let mut pre = vec![0u32; n];
        for &node in &order {
            let mut pos = pre[node as usize] + 1;
            for &child in tree.children_of(node) {
                pre[child as usize] = pos;
                pos += size[child as usize];
            }
        }
        // Per preorder position: the node and the end of its subtree. Both reuse memory that
        // is done with (the order, the positions), which keeps the peak resident set down.
        debug_assert_eq!(order.len(), n, "the dominator tree spans every node");
        let mut node_at = order;
        for (node, &k) in pre.iter().enumerate() {
            node_at[k as usize] = node as u32;
        }
        let mut end_at = pre;
        for (k, end) in end_at.iter_mut().enumerate() {
            *end = k as u32 + size[node_at[k] as usize];
        }
        drop(size);
        let mut active = vec![false; classes];
        let mut open: Vec<(u32, u32)> = Vec::new(); // (subtree end, class) of counted members
        for (k, &node) in node_at.iter().enumerate() {
            while let Some(&(end, c)) = open.last() {
                if end as usize > k {
                    break;
                }
                active[c as usize] = false;
                open.pop();
            }
            let node = node as usize;
            let c = graph.classes.class_of[node] as usize;
            if graph.self_size[node] != 0 && !active[c] {
                active[c] = true;
                open.push((end_at[k], c as u32));
                agg.retained_size[c] += graph.retained_size[node];
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
    // The class aggregates walk the dominator tree; the rest reads other columns: side by side.
    let (agg, (scripts, (statistics, top))) = rayon::join(
        || ClassAggregates::compute(graph, &DominatorTree::new(&graph.idom, graph.root)),
        || {
            rayon::join(
                || ScriptNames::find(s),
                || {
                    rayon::join(
                        || statistics(graph),
                        || top_dominators(graph, options.dominators),
                    )
                },
            )
        },
    );
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
    let dominators = top
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
        statistics,
        dominators,
    }
}
