//! The real-process capture harness (`tests/support`) works: three snapshots of one Node.js
//! process running `tests/apps/leak-cache.js` are complete, parse, come from the same process
//! (V8 object ids carry over) and show the `sessionCache` Map growing by exactly the number of
//! requests sent between them.

mod support;

use std::collections::HashSet;

use heapscan::graph::HeapGraph;
use heapscan::snapshot::Snapshot;

const WARMUP: usize = 300;
const BETWEEN: usize = 300;

/// The Map held by the context variable `sessionCache` (the module-level `const`).
fn session_cache(g: &HeapGraph) -> u32 {
    let s = &g.snapshot;
    let et = s.layout.edge_types;
    let hits: Vec<u32> = (0..s.edge_count())
        .filter(|&e| {
            s.edge_type[e] == et.context && s.strings.get(s.edge_name[e]) == "sessionCache"
        })
        .map(|e| s.edge_to[e])
        .collect();
    assert_eq!(hits.len(), 1, "one `sessionCache` context variable");
    assert_eq!(g.class_name(hits[0]), "Map");
    hits[0]
}

/// Entries of a Map: its `table` (an OrderedHashMap, node type `array`) has one internal edge
/// per key and per value that is a heap object, named by slot index; deleted slots point to
/// `system / Hole` on Node 22+ and are absent before. Keys here are strings, values objects.
fn map_entries(g: &HeapGraph, map: u32) -> usize {
    let s = &g.snapshot;
    let et = s.layout.edge_types;
    let table = s
        .edges_of(map)
        .find(|&e| s.edge_type[e] == et.internal && s.strings.get(s.edge_name[e]) == "table")
        .map(|e| s.edge_to[e])
        .expect("a Map has a `table` edge");
    let slots = s
        .edges_of(table)
        .filter(|&e| s.edge_type[e] == et.internal)
        .filter(|&e| s.strings.get(s.edge_name[e]).parse::<u32>().is_ok())
        .filter(|&e| s.node_name_str(s.edge_to[e]) != "system / Hole")
        .count();
    assert_eq!(slots % 2, 0, "a key and a value per entry");
    slots / 2
}

/// V8 object ids of JS heap objects (odd; Node's native nodes get even ids that change with
/// every snapshot).
fn heap_ids(s: &Snapshot) -> HashSet<u32> {
    s.node_id.iter().copied().filter(|id| id % 2 == 1).collect()
}

#[test]
fn captures_three_snapshots_of_a_leaking_cache() {
    let node = support::node_binary(Some(20));
    let mut opts = support::CaptureOptions::new(3, BETWEEN);
    opts.warmup = WARMUP;
    let cap = support::capture_with("leak-cache.js", &["map"], &node, &opts);
    eprintln!(
        "captured 3 snapshots of leak-cache.js on node {} in {:.1?} (per snapshot: {:.1?})",
        cap.node_version, cap.elapsed, cap.snapshot_times
    );

    assert_eq!(cap.snapshots.len(), 3);
    let mut previous_ids: Option<HashSet<u32>> = None;
    for (i, path) in cap.snapshots.iter().enumerate() {
        assert!(path.is_file(), "{} exists", path.display());
        assert_eq!(
            path.file_name().and_then(|n| n.to_str()),
            Some(format!("snap-{}.heapsnapshot", i + 1).as_str())
        );
        assert!(
            support::is_complete_snapshot(path),
            "{} is complete",
            path.display()
        );
        let snapshot = Snapshot::open(path).expect("the snapshot parses");
        let ids = heap_ids(&snapshot);
        let graph = HeapGraph::build(snapshot, &|_| {});

        let entries = map_entries(&graph, session_cache(&graph));
        assert_eq!(
            entries,
            WARMUP + BETWEEN * (i + 1),
            "sessionCache entries in snapshot {}",
            i + 1
        );

        if let Some(prev) = &previous_ids {
            // Same process: most objects survive with their ids, and objects allocated since
            // the previous snapshot get ids above every id it had.
            let kept = ids.intersection(prev).count();
            assert!(
                kept * 10 >= prev.len() * 9,
                "snapshot {} keeps only {kept} of {} ids",
                i + 1,
                prev.len()
            );
            let prev_max = prev.iter().copied().max().unwrap_or(0);
            assert!(
                ids.difference(prev).all(|&id| id > prev_max),
                "new objects in snapshot {} have ids above {prev_max}",
                i + 1
            );
        }
        previous_ids = Some(ids);
    }
}

#[test]
fn marker_lines_are_found() {
    let line = support::marker_line("leak-closure.js", "heapscan-expect: closure");
    let text = std::fs::read_to_string(support::app_path("leak-closure.js")).unwrap();
    let marked = text.lines().nth(line as usize - 1).unwrap();
    assert!(
        marked.contains("last = function ("),
        "line {line}: {marked}"
    );
}
