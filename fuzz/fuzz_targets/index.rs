//! Fuzzes the index reader with arbitrary bytes as an index file, and, when they read as an
//! index, everything `heapscan summary`, `nodes` and `retainers` compute from the graph. The
//! manifest's checksum is rewritten to fit the mutated bytes first, so that mutations reach
//! the manifest's parser and the reader's structural checks, not only the checksum. A column
//! whose bytes no longer match its checksum must be reported (`columns_intact`), never used.

#![no_main]

use std::io;
use std::path::Path;
use std::sync::Arc;

use heapscan::graph::HeapGraph;
use heapscan::index::format;
use heapscan::paths::{retainer_paths, ShortestPaths};
use heapscan::nodes::{rows, NodeFilter};
use heapscan::report::nodes::write_csv;
use heapscan::report::{summary::render, Format};
use heapscan::summary::{summarize, SortKey, SummaryOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let mut bytes = data.to_vec();
    if let Some((at, len, hash_at)) = format::manifest_place(&bytes) {
        if let Some(json) = at.checked_add(len).and_then(|end| bytes.get(at..end)) {
            let hash = xxhash_rust::xxh3::xxh3_64(json).to_le_bytes();
            bytes[hash_at..hash_at + 8].copy_from_slice(&hash);
        }
    }
    let mut map = memmap2::MmapMut::map_anon(bytes.len()).expect("anonymous map");
    map.copy_from_slice(&bytes);
    let map = Arc::new(map.make_read_only().expect("read-only map"));
    let graph = match format::read_any_origin(map, Path::new("fuzz.hsidx")) {
        Ok(graph) => graph,
        Err(why) => {
            let _ = why.to_string();
            return;
        }
    };
    if !graph.columns_intact() {
        return;
    }
    analyse(&graph);
});

fn analyse(graph: &HeapGraph) {
    let options = SummaryOptions {
        top: None,
        sort: SortKey::Retained,
        class_filter: None,
        dominators: 200,
    };
    let report = summarize(graph, "fuzz", &options);
    let _ = render(&report, Format::Table, &mut io::sink());
    let filter = NodeFilter {
        class: None,
        min_retained: 0,
    };
    let _ = write_csv(rows(graph, &filter), &mut io::sink());
    let tree = ShortestPaths::compute(graph);
    let last = graph.node_count() as u32 - 1;
    for target in [0, last / 2, last] {
        let _ = retainer_paths(graph, &tree, target, 3);
    }
}
