//! Fuzzes the snapshot reader with arbitrary bytes (plain, gzip or zstd, detected by magic as
//! for files), and, when they parse, everything `heapscan summary`, `nodes` and `retainers`
//! compute from them. Bad input must be an error naming the file, never a panic or a hang.

#![no_main]

use std::io;
use std::path::Path;

use heapscan::graph::HeapGraph;
use heapscan::paths::{retainer_paths, ShortestPaths};
use heapscan::nodes::{rows, NodeFilter};
use heapscan::report::nodes::write_csv;
use heapscan::report::{summary::render, Format};
use heapscan::snapshot::Snapshot;
use heapscan::summary::{summarize, SortKey, SummaryOptions};
use libfuzzer_sys::fuzz_target;

const PATH: &str = "fuzz.heapsnapshot";

fuzz_target!(|data: &[u8]| {
    let snapshot = match Snapshot::from_bytes(Path::new(PATH), data.to_vec()) {
        Ok(snapshot) => snapshot,
        Err(e) => {
            // The binary prints this as its one error line: it must name the file.
            let message = e.to_string();
            assert!(message.starts_with("fuzz.heapsnapshot: "), "{message}");
            assert!(!message.contains('\n'), "{message}");
            return;
        }
    };
    let graph = HeapGraph::build(snapshot, &|_| {});
    let options = SummaryOptions {
        top: None,
        sort: SortKey::Retained,
        class_filter: None,
        dominators: 10,
    };
    let report = summarize(&graph, PATH, &options);
    let _ = render(&report, Format::Table, &mut io::sink());
    let _ = render(&report, Format::Json, &mut io::sink());
    let filter = NodeFilter {
        class: None,
        min_retained: 0,
    };
    let _ = write_csv(rows(&graph, &filter), &mut io::sink());
    let tree = ShortestPaths::compute(&graph);
    let last = graph.node_count() as u32 - 1;
    for target in [0, last / 2, last] {
        let _ = retainer_paths(&graph, &tree, target, 3);
    }
});
