//! `heapscan nodes`: the rows of the heap objects that pass a filter, as the report model
//! [`NodeRow`] (rendered by `report::nodes`).

use crate::graph::HeapGraph;
use crate::report::nodes::{NodeRow, MAX_NAME_CHARS};

/// Which nodes to list.
#[derive(Debug, Default)]
pub struct NodeFilter {
    pub class: Option<regex::Regex>,
    pub min_retained: u64,
}

/// The rows for the nodes that pass `filter`, in snapshot order.
pub fn rows<'a>(
    graph: &'a HeapGraph,
    filter: &'a NodeFilter,
) -> impl Iterator<Item = NodeRow<'a>> + 'a {
    let s = &graph.snapshot;
    // Decide class matches once per class, not per node.
    let class_ok: Vec<bool> = graph
        .classes
        .names
        .iter()
        .map(|name| filter.class.as_ref().is_none_or(|re| re.is_match(name)))
        .collect();
    (0..s.node_count() as u32).filter_map(move |n| {
        let i = n as usize;
        if graph.dominators.retained_size[i] < filter.min_retained
            || !class_ok[graph.classes.class_of[i] as usize]
        {
            return None;
        }
        Some(NodeRow {
            id: s.node_id[i],
            node_type: s.layout.node_type_name(s.node_type[i]),
            class: graph.class_name(n),
            name: crate::summary::short_name(graph, n, MAX_NAME_CHARS),
            self_size: graph.self_size[i],
            retained_size: graph.dominators.retained_size[i],
            distance: graph.distance.as_ref().map(|d| d[i]),
            dominator_id: s.node_id[graph.dominators.idom[i] as usize],
        })
    })
}
