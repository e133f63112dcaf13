//! Fuzzes the index reader with arbitrary bytes as an index file. Two modes, by the first
//! byte's lowest bit:
//!
//! - the bytes as they are: an index that reads, with every column intact, goes through
//!   everything `heapscan summary`, `nodes` and `retainers` compute (a damaged column must be
//!   reported by `columns_intact`, never used);
//! - the manifest's checksum rewritten to fit the mutated bytes, so that mutations reach the
//!   manifest's parser and the reader's structural checks: the reader must not panic. (Its
//!   facts are then unauthenticated, which no real file can make them: the analysis is not run.)

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
    let forge = data[0] & 1 == 1;
    let mut bytes = data[1..].to_vec();
    if bytes.is_empty() {
        return;
    }
    if let (true, Some((at, len, hash_at))) = (forge, format::manifest_place(&bytes)) {
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
    if forge || !graph.columns_intact() {
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
