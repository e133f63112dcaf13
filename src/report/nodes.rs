//! `heapscan nodes`: one row per heap object, streamed as CSV or JSON lines, for loading a
//! heap into DuckDB or pandas (and for parity checks).

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::graph::HeapGraph;

/// Node names longer than this are cut (strings can be megabytes long).
pub const MAX_NAME_CHARS: usize = 1024;

/// One heap object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRow<'a> {
    pub id: u32,
    #[serde(rename = "type")]
    pub node_type: &'a str,
    pub class: &'a str,
    pub name: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub distance: i32,
    pub dominator_id: u32,
}

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
        if graph.retained_size[i] < filter.min_retained
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
            retained_size: graph.retained_size[i],
            distance: graph.distance[i],
            dominator_id: s.node_id[graph.idom[i] as usize],
        })
    })
}

/// Streams rows as CSV with a header.
pub fn write_csv<'a>(
    rows: impl Iterator<Item = NodeRow<'a>>,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    w.write_record([
        "id",
        "type",
        "class",
        "name",
        "self_size",
        "retained_size",
        "distance",
        "dominator_id",
    ])?;
    let mut count = 0;
    for row in rows {
        w.serialize(&row)?;
        count += 1;
    }
    w.flush()?;
    Ok(count)
}

/// Streams rows as JSON lines.
pub fn write_jsonl<'a>(
    rows: impl Iterator<Item = NodeRow<'a>>,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut count = 0;
    for row in rows {
        serde_json::to_writer(&mut *out, &row).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok(count)
}
