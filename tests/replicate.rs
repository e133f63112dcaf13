//! The scale benchmark's input maker (`benches/replicate_snapshot.rs`, built as an example by
//! `cargo test`): copies of a real snapshot make one valid snapshot with every count
//! multiplied, unique ids, one root, and ids that agree between two replicated snapshots of
//! one process.

use std::path::Path;

use heapscan::graph::{Columns, HeapGraph};
use heapscan::observe::Quiet;
use heapscan::snapshot::Snapshot;

mod support;
use support::samples::{plain_copy, replicate};

fn class_count(graph: &HeapGraph, class: &str) -> usize {
    (0..graph.node_count() as u32)
        .filter(|&n| graph.class_name(n).starts_with(class))
        .count()
}

#[test]
fn copies_of_a_snapshot_make_one_valid_snapshot_with_every_count_multiplied() {
    let dir = tempfile::tempdir().unwrap();
    let base = plain_copy("node20", dir.path());
    let out = dir.path().join("x3.heapsnapshot");
    replicate(&[&base, &out], "3", &[]);
    let one = HeapGraph::open(&base, Columns::ALL, None, &Quiet).unwrap();
    let three = HeapGraph::open(&out, Columns::ALL, None, &Quiet).unwrap();
    assert_eq!(three.node_count(), 3 * one.node_count());
    assert_eq!(
        three.snapshot.edge_count(),
        3 * one.snapshot.edge_count() + 2
    );
    assert_eq!(
        class_count(&three, "ListNode"),
        3 * class_count(&one, "ListNode")
    );
    assert!(class_count(&one, "ListNode") >= 1000);
    let mut ids = three.snapshot.node_id.to_vec();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), three.node_count(), "ids are unique");
    // Every copy hangs off the one root: nothing is left unreachable that was not before.
    assert_eq!(
        three.dominators.unreachable_count,
        3 * one.dominators.unreachable_count
    );
    let parity = |s: &Snapshot| s.node_id.iter().filter(|&&id| id % 2 == 1).count();
    assert_eq!(parity(&three.snapshot), 3 * parity(&one.snapshot));
}

#[test]
fn two_snapshots_of_one_process_replicated_with_shared_ids_stay_comparable() {
    let dir = tempfile::tempdir().unwrap();
    let a = plain_copy("leak-1", dir.path());
    let b = plain_copy("leak-2", dir.path());
    let both = format!("{},{}", a.display(), b.display());
    let (a2, b2) = (dir.path().join("a2"), dir.path().join("b2"));
    replicate(&[&a, &a2], "2", &["--ids-from", &both]);
    replicate(&[&b, &b2], "2", &["--ids-from", &both]);
    let ids = |p: &Path| -> Vec<u32> {
        let mut v = Snapshot::open(p).unwrap().node_id.to_vec();
        v.sort_unstable();
        v
    };
    let (before, after) = (ids(&a), ids(&b));
    let shared = before
        .iter()
        .filter(|id| after.binary_search(id).is_ok())
        .count();
    let (before2, after2) = (ids(&a2), ids(&b2));
    let shared2 = before2
        .iter()
        .filter(|id| after2.binary_search(id).is_ok())
        .count();
    assert!(shared > 1000);
    assert_eq!(shared2, 2 * shared, "each copy keeps the objects both have");
}
