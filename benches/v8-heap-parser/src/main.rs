//! `v8-heap-parser-bench FILE`: what VS Code's heap snapshot tools do with a snapshot, through
//! Microsoft's v8-heap-parser crate: read the file, parse it into a graph, group its nodes by
//! class with retained sizes (dominators included), and print the ten largest classes and the
//! time of each step. The peer `benches/compare.sh` runs beside heapscan.

use std::time::Instant;

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: v8-heap-parser-bench FILE.heapsnapshot");
        std::process::exit(2);
    };
    let start = Instant::now();
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    };
    let read = start.elapsed();
    let graph = match v8_heap_parser::decode_slice(&bytes) {
        Ok(graph) => graph,
        Err(e) => {
            eprintln!("{path}: not a snapshot v8-heap-parser reads: {e}");
            std::process::exit(2);
        }
    };
    drop(bytes);
    let parsed = start.elapsed();
    let groups = graph.get_class_groups(false);
    let grouped = start.elapsed();
    let mut largest: Vec<_> = groups.iter().collect();
    largest.sort_by_key(|g| std::cmp::Reverse(g.retained_size));
    for group in largest.iter().take(10) {
        let name = graph
            .get_node(group.index)
            .map(|n| n.class_name().to_string())
            .unwrap_or_default();
        println!(
            "{name}\t{}\t{}\t{}",
            group.nodes.len(),
            group.self_size,
            group.retained_size
        );
    }
    eprintln!(
        "read {:.2} s, parse {:.2} s, class groups with retained sizes {:.2} s, {} classes",
        read.as_secs_f64(),
        (parsed - read).as_secs_f64(),
        (grouped - parsed).as_secs_f64(),
        groups.len()
    );
}
