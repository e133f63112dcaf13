//! Each detector on small heaps built node by node: three snapshots of one "process" (objects
//! keep their ids, new ones get higher ids) in which one thing grows, and the same heaps with
//! that thing not growing.

use std::path::Path;

use super::Series as Measured;
use super::{classes, closures, collections, find, find_shaped, listeners, timers};
use super::{Comparison, Detected, Inputs, Last, LastPrep, Verdict};
use crate::diff::digest::{Digest, DigestBody, Measurement};
use crate::graph::HeapGraph;
use crate::report::diff::{Matching, MissReason, Suspect, SuspectKind, Thresholds};
use crate::snapshot::Snapshot;

const NODE_TYPES: [&str; 15] = [
    "hidden",
    "array",
    "string",
    "object",
    "code",
    "closure",
    "regexp",
    "number",
    "native",
    "synthetic",
    "concatenated string",
    "sliced string",
    "symbol",
    "bigint",
    "object shape",
];
const EDGE_TYPES: [&str; 7] = [
    "context", "element", "property", "internal", "hidden", "shortcut", "weak",
];

/// A heap snapshot written node by node.
struct Heap {
    strings: Vec<String>,
    /// (type, name, id, self size)
    nodes: Vec<(usize, usize, u32, u32)>,
    /// Per node: (edge type, name string or index, target node).
    edges: Vec<Vec<(usize, usize, usize)>>,
    /// (node, script id, line, column)
    locations: Vec<(usize, u32, u32, u32)>,
    /// The `(GC roots)` node, which holds the heap's variables.
    roots: usize,
}

impl Heap {
    fn new() -> Heap {
        let mut heap = Heap {
            strings: vec!["<dummy>".into(), String::new()],
            nodes: Vec::new(),
            edges: Vec::new(),
            locations: Vec::new(),
            roots: 0,
        };
        let root = heap.node("synthetic", "", 1, 0);
        heap.roots = heap.node("synthetic", "(GC roots)", 3, 0);
        heap.element(root, 1, heap.roots);
        heap
    }

    fn string(&mut self, s: &str) -> usize {
        match self.strings.iter().position(|x| x == s) {
            Some(i) => i,
            None => {
                self.strings.push(s.to_string());
                self.strings.len() - 1
            }
        }
    }

    fn node(&mut self, ty: &str, name: &str, id: u32, size: u32) -> usize {
        let ty = NODE_TYPES.iter().position(|t| *t == ty).expect("node type");
        let name = self.string(name);
        self.nodes.push((ty, name, id, size));
        self.edges.push(Vec::new());
        self.nodes.len() - 1
    }

    fn edge(&mut self, from: usize, ty: &str, name: &str, to: usize) {
        let t = EDGE_TYPES.iter().position(|x| *x == ty).expect("edge type");
        let name = self.string(name);
        self.edges[from].push((t, name, to));
    }

    fn element(&mut self, from: usize, index: usize, to: usize) {
        self.edges[from].push((1, index, to));
    }

    fn located(&mut self, node: usize, script: u32, line: u32, column: u32) {
        self.locations.push((node, script, line, column));
    }

    fn graph(&self) -> HeapGraph {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .zip(&self.edges)
            .map(|(&(t, name, id, size), edges)| {
                format!("{t},{name},{id},{size},{},0", edges.len())
            })
            .collect();
        let edges: Vec<String> = self
            .edges
            .iter()
            .flatten()
            .map(|&(t, name, to)| format!("{t},{name},{}", to * 6))
            .collect();
        let locations: Vec<String> = self
            .locations
            .iter()
            .map(|&(n, script, line, column)| format!("{},{script},{line},{column}", n * 6))
            .collect();
        let text = format!(
            r#"{{"snapshot":{{"meta":{{"node_fields":["type","name","id","self_size","edge_count","trace_node_id"],
"node_types":[{},"string","number","number","number","number"],
"edge_fields":["type","name_or_index","to_node"],"edge_types":[{},"string_or_number","node"],
"location_fields":["object_index","script_id","line","column"]}},"node_count":{},"edge_count":{}}},
"nodes":[{}],"edges":[{}],"locations":[{}],"strings":{}}}"#,
            serde_json::to_string(&NODE_TYPES).expect("json"),
            serde_json::to_string(&EDGE_TYPES).expect("json"),
            nodes.len(),
            edges.len(),
            nodes.join(","),
            edges.join(","),
            locations.join(","),
            serde_json::to_string(&self.strings).expect("json"),
        );
        let snapshot = Snapshot::from_bytes(Path::new("built.heapsnapshot"), text.into_bytes())
            .expect("the built snapshot parses");
        HeapGraph::build(snapshot, &|_| {})
    }
}

/// Thresholds for heaps this small: the defaults but for the retained growth (bytes).
/// Snapshots of one process, every step counted.
const ONE_PROCESS: Comparison<'static> = Comparison {
    matched_by: Matching::Ids,
    counted: &[],
    across: &[],
};

/// A series present in every snapshot.
fn present(counts: &[u64], retained: &[u64]) -> Measured {
    Measured::from_values(counts.iter().zip(retained).map(|(&c, &r)| Some((c, r))))
}

fn thresholds() -> Thresholds {
    Thresholds {
        retained_growth: 1_000,
        ..Thresholds::default()
    }
}

/// The heaps `build(k)` makes for each `k` of `sizes`, digested as a diff digests them: every
/// snapshot but the last in full, the last as the detectors read it.
struct Series {
    earlier: Vec<Digest>,
    last_graph: HeapGraph,
    last_digest: Digest,
    prep: Option<LastPrep>,
}

impl Series {
    fn of(sizes: &[u32], build: impl Fn(u32) -> Heap) -> Series {
        let (&last_size, earlier) = sizes.split_last().expect("sizes");
        let earlier = earlier
            .iter()
            .map(|&k| Digest::new(&build(k).graph(), &format!("{k}.heapsnapshot")))
            .collect();
        let last_graph = build(last_size).graph();
        let mut measured = Measurement::new(&last_graph);
        let prep = LastPrep::take(&mut measured);
        let agg = crate::summary::ClassAggregates::compute(&last_graph);
        let last_digest =
            DigestBody::assemble(&last_graph, measured, "last.heapsnapshot").with_totals(&agg);
        Series {
            earlier,
            last_graph,
            last_digest,
            prep: Some(prep),
        }
    }

    fn digests(&self) -> Vec<&Digest> {
        self.earlier.iter().chain([&self.last_digest]).collect()
    }

    fn last(&mut self) -> Last<'_> {
        Last::prepared(&self.last_graph, self.prep.take().expect("one reader"))
    }
}

/// What `detect` finds on the series.
fn detect_with(
    series: &mut Series,
    th: &Thresholds,
    detect: fn(Inputs<'_, '_>, &mut Detected),
) -> Detected {
    let digests: Vec<Digest> = series.digests().into_iter().cloned().collect();
    let bodies: Vec<&DigestBody> = digests.iter().map(|d| &**d).collect();
    let last = series.last();
    let mut found = Detected::default();
    let inputs = Inputs {
        digests: &bodies,
        newest: bodies[bodies.len() - 1],
        last: &last,
        comparison: ONE_PROCESS,
        th,
    };
    detect(inputs, &mut found);
    found
}

fn only(found: &Detected) -> &Suspect {
    assert_eq!(found.suspects.len(), 1, "{:#?}", found.suspects);
    &found.suspects[0]
}

/// `bus` (an EventEmitter) with `k` 'data' listeners `onData`, each closing over 200 bytes.
fn emitter_heap(k: u32) -> Heap {
    let mut h = Heap::new();
    let bus = h.node("object", "EventEmitter", 11, 40);
    let events = h.node("object", "Object", 13, 40);
    let list = h.node("object", "Array", 15, 32);
    h.edge(h.roots, "property", "bus", bus);
    h.edge(bus, "property", "_events", events);
    h.edge(events, "property", "data", list);
    for i in 0..k {
        let f = h.node("closure", "onData", 1001 + 4 * i, 32);
        let data = h.node("array", "", 1003 + 4 * i, 200);
        h.located(f, 7, 24, 32);
        h.element(list, i as usize, f);
        h.edge(f, "internal", "data", data);
    }
    h
}

#[test]
fn listeners_that_pile_up_are_a_suspect_and_a_plateau_is_not() {
    let mut growing = Series::of(&[10, 20, 30], emitter_heap);
    let found = detect_with(&mut growing, &thresholds(), listeners::detect);
    let s = only(&found);
    assert_eq!(s.kind, SuspectKind::Listener);
    assert_eq!(s.counts, [10, 20, 30]);
    assert_eq!(s.class, "onData");
    assert_eq!(
        s.title,
        "'data' listeners (onData) on EventEmitter `bus` keep piling up: 10 → 20 → 30"
    );
    assert_eq!(
        s.location.as_ref().map(ToString::to_string).as_deref(),
        Some("script#7:25:33")
    );
    assert_eq!(s.owner.id, 11);
    assert!(
        s.retained_sizes[2] > s.retained_sizes[0] + 4_000,
        "{:?}",
        s.retained_sizes
    );
    assert_eq!(found.explained_roots.len(), 1, "the listener array");

    let mut plateau = Series::of(&[10, 30, 30], emitter_heap);
    assert!(detect_with(&mut plateau, &thresholds(), listeners::detect)
        .suspects
        .is_empty());
    let mut small = Series::of(&[10, 20, 30], emitter_heap);
    let strict = Thresholds {
        retained_growth: 1_000_000,
        ..thresholds()
    };
    assert!(
        detect_with(&mut small, &strict, listeners::detect)
            .suspects
            .is_empty(),
        "retained growth below the threshold"
    );
}

/// `auditLog` (an Array) with `k` `Entry` objects of 100 bytes.
fn array_heap(k: u32) -> Heap {
    let mut h = Heap::new();
    let log = h.node("object", "Array", 11, 32);
    h.edge(h.roots, "property", "auditLog", log);
    for i in 0..k {
        let entry = h.node("object", "Entry", 1001 + 2 * i, 100);
        h.element(log, i as usize, entry);
    }
    h
}

#[test]
fn a_growing_array_is_a_collection_suspect_that_explains_its_entries() {
    let mut growing = Series::of(&[10, 30, 50], array_heap);
    let found = detect_with(&mut growing, &thresholds(), collections::detect);
    let s = only(&found);
    assert_eq!(s.kind, SuspectKind::Collection);
    assert_eq!(s.counts, [10, 30, 50]);
    assert_eq!(s.class, "Entry");
    assert_eq!(
        s.title,
        "Array `auditLog` keeps growing: 10 → 30 → 50 entries of Entry"
    );
    assert!(s.hint.contains("ring buffer"), "{}", s.hint);
    assert_eq!(s.owner.via, "auditLog");

    // The entries' class grows too, but the array explains it: one suspect in all.
    let mut all = Series::of(&[10, 30, 50], array_heap);
    let digests: Vec<Digest> = all.digests().into_iter().cloned().collect();
    let refs: Vec<&Digest> = digests.iter().collect();
    let bodies: Vec<&DigestBody> = digests.iter().map(|d| &**d).collect();
    let last = all.last();
    let th = Thresholds {
        class_count_growth: 5,
        ..thresholds()
    };
    let shaped = find_shaped(&bodies, &last, ONE_PROCESS, &th);
    let suspects = find(&refs, &last, ONE_PROCESS, &th, shaped).suspects;
    assert_eq!(suspects.len(), 1, "{suspects:#?}");
    assert_eq!(suspects[0].kind, SuspectKind::Collection);

    let mut plateau = Series::of(&[50, 50, 50], array_heap);
    assert!(
        detect_with(&mut plateau, &thresholds(), collections::detect)
            .suspects
            .is_empty()
    );
}

/// `k` live `Timeout`s calling `poll` (located), held by one `TimersList`.
fn timer_heap(k: u32) -> Heap {
    let mut h = Heap::new();
    let list = h.node("object", "TimersList", 11, 40);
    let poll = h.node("closure", "poll", 13, 32);
    h.located(poll, 4, 9, 18);
    h.edge(h.roots, "property", "timerList", list);
    h.edge(h.roots, "property", "poll", poll);
    for i in 0..k {
        let timeout = h.node("object", "Timeout", 1001 + 4 * i, 120);
        let state = h.node("array", "", 1003 + 4 * i, 200);
        h.element(list, i as usize, timeout);
        h.edge(timeout, "property", "_onTimeout", poll);
        h.edge(timeout, "internal", "state", state);
    }
    h
}

#[test]
fn timers_that_are_never_cleared_are_a_suspect_held_by_their_list() {
    let mut growing = Series::of(&[10, 20, 30], timer_heap);
    let found = detect_with(&mut growing, &thresholds(), timers::detect);
    let s = only(&found);
    assert_eq!(s.kind, SuspectKind::Timer);
    assert_eq!(s.counts, [10, 20, 30]);
    assert_eq!(
        s.title,
        "timers calling poll are never cleared: 10 → 20 → 30 live"
    );
    assert_eq!(
        s.location.as_ref().map(ToString::to_string).as_deref(),
        Some("script#4:10:19")
    );
    assert_eq!(s.owner.class, "TimersList", "{:?}", s.owner);
    assert_eq!(
        s.owner.description,
        "nothing of the app's: only Node's list (TimersList @11) holds the 30 live Timeout objects that call poll"
    );
    assert!(s.hint.contains("clearInterval"), "{}", s.hint);
    assert_eq!(found.explained_roots.len(), 30, "every live timer");

    let mut steady = Series::of(&[30, 30, 30], timer_heap);
    assert!(detect_with(&mut steady, &thresholds(), timers::detect)
        .suspects
        .is_empty());
}

/// A chain of `k` closures `last` (one function), each capturing the previous one through
/// `prev` in its context and 200 bytes of its own.
fn chain_heap(k: u32) -> Heap {
    let mut h = Heap::new();
    let mut previous = None;
    for i in 0..k {
        let f = h.node("closure", "last", 1001 + 6 * i, 32);
        let context = h.node("object", "system / Context", 1003 + 6 * i, 40);
        let data = h.node("array", "", 1005 + 6 * i, 200);
        h.located(f, 2, 4, 12);
        h.edge(f, "internal", "context", context);
        h.edge(context, "context", "data", data);
        if let Some(p) = previous {
            h.edge(context, "context", "prev", p);
        }
        previous = Some(f);
    }
    if let Some(head) = previous {
        h.edge(h.roots, "property", "last", head);
    }
    h
}

#[test]
fn a_closure_chain_that_grows_names_the_captured_variable() {
    let mut growing = Series::of(&[10, 25, 40], chain_heap);
    let found = detect_with(&mut growing, &thresholds(), closures::detect);
    let s = only(&found);
    assert_eq!(s.kind, SuspectKind::Closure);
    assert_eq!(s.counts, [10, 25, 40]);
    assert_eq!(s.class, "Function last");
    assert_eq!(
        s.title,
        "each new `last` closure keeps the previous one alive through `prev`: chain length 10 → 25 → 40"
    );
    assert_eq!(
        s.location.as_ref().map(ToString::to_string).as_deref(),
        Some("script#2:5:13")
    );
    assert_eq!(
        s.owner.id,
        1001 + 6 * 39,
        "the newest closure heads the chain"
    );

    let mut short = Series::of(&[10, 15, 20], chain_heap);
    assert!(
        detect_with(&mut short, &thresholds(), closures::detect)
            .suspects
            .is_empty(),
        "5 per step is below the chain threshold"
    );
}

/// A linked list of `k` `Record`s of 120 bytes, newest first, held by `newest`.
fn record_heap(k: u32) -> Heap {
    let mut h = Heap::new();
    let mut previous = None;
    for i in 0..k {
        let record = h.node("object", "Record", 1001 + 2 * i, 120);
        if let Some(p) = previous {
            h.edge(record, "property", "prev", p);
        }
        previous = Some(record);
    }
    if let Some(head) = previous {
        h.edge(h.roots, "property", "newest", head);
    }
    h
}

/// What the class detector finds, with `explained` roots already explained by other suspects.
fn class_suspects(digests: &[&Digest], last: &Last<'_>, explained: &[u32]) -> Vec<Suspect> {
    let mut found = Detected {
        explained_roots: explained.to_vec(),
        ..Detected::default()
    };
    classes::detect(digests, last, ONE_PROCESS, &thresholds(), &mut found);
    found.suspects
}

#[test]
fn a_class_that_accumulates_is_a_suspect_unless_explained() {
    let mut growing = Series::of(&[10, 40, 70], record_heap);
    let digests: Vec<Digest> = growing.digests().into_iter().cloned().collect();
    let refs: Vec<&Digest> = digests.iter().collect();
    let last = growing.last();
    let found = class_suspects(&refs, &last, &[]);
    assert_eq!(found.len(), 1, "{found:#?}");
    let s = &found[0];
    assert_eq!(s.kind, SuspectKind::Class);
    assert_eq!(s.counts, [10, 40, 70]);
    assert_eq!(s.title, "Record objects accumulate: 10 → 40 → 70");
    assert_eq!(
        s.owner.via, "newest",
        "the list's head holds the new records"
    );

    // The same records under a root another suspect explains are not reported again.
    let head = last.node(1001 + 2 * 69).expect("the newest record");
    assert!(class_suspects(&refs, &last, &[head]).is_empty());

    let mut plateau = Series::of(&[70, 70, 70], record_heap);
    let digests: Vec<Digest> = plateau.digests().into_iter().cloned().collect();
    let refs: Vec<&Digest> = digests.iter().collect();
    assert!(class_suspects(&refs, &plateau.last(), &[]).is_empty());
}

/// The share of steps that grew, when `values` grow steadily by at least 10 per step (with a
/// retained growth well over the threshold).
fn steadiness(values: &[u64], _min_step: u64, need: f64) -> Option<f64> {
    let th = Thresholds {
        steady_fraction: need,
        retained_growth: 1,
        ..Thresholds::default()
    };
    let retained: Vec<u64> = (0..values.len() as u64).map(|i| i * 1_000).collect();
    match Verdict::of(present(values, &retained), &[], 10, &th)? {
        Verdict::Leak(growth) => Some(growth.steadiness),
        Verdict::NearMiss(..) => None,
    }
}

#[test]
fn steady_growth_rules() {
    assert_eq!(steadiness(&[0, 100, 200], 10, 0.75), Some(1.0));
    assert_eq!(
        steadiness(&[0, 200, 200], 10, 0.75),
        None,
        "a plateau is not a leak"
    );
    assert_eq!(
        steadiness(&[0, 200, 205], 10, 0.75),
        None,
        "the last step must grow enough"
    );
    assert_eq!(
        steadiness(&[100, 50, 200], 10, 0.75),
        None,
        "half the steps shrink"
    );
    assert_eq!(steadiness(&[0, 100, 200, 200, 300], 10, 0.75), Some(0.75));
    assert_eq!(
        steadiness(&[0, 30], 10, 0.75),
        Some(1.0),
        "two snapshots: any growth"
    );
    assert_eq!(steadiness(&[5], 10, 0.75), None);
}

#[test]
fn near_misses_grew_short_of_a_verdict() {
    let th = Thresholds {
        retained_growth: 1_000,
        ..Thresholds::default()
    };
    let verdict = |counts: &[u64], retained: &[u64]| {
        Verdict::of(present(counts, retained), &[], 10, &th).map(|v| match v {
            Verdict::Leak(_) => None,
            Verdict::NearMiss(_, reason) => Some(reason),
        })
    };
    assert_eq!(
        verdict(&[0, 100, 100], &[0, 5_000, 5_000]),
        Some(Some(MissReason::Unsteady {
            grew_in: 1,
            steps: 2,
            last_step_grew: false
        })),
        "a cache that filled up and stopped"
    );
    assert_eq!(
        verdict(&[0, 100, 100, 200], &[0, 5_000, 5_000, 9_000]),
        Some(Some(MissReason::Unsteady {
            grew_in: 2,
            steps: 3,
            last_step_grew: true
        })),
        "grew in two of three steps"
    );
    assert_eq!(
        verdict(&[0, 100, 200], &[0, 300, 600]),
        Some(Some(MissReason::SmallRetainedGrowth {
            retained_growth: 600,
            threshold: 1_000
        })),
        "steady, but small"
    );
    assert_eq!(verdict(&[0, 100, 200], &[0, 500, 1_000]), Some(None));
    assert_eq!(
        verdict(&[0, 100, 200], &[0, 100, 200]),
        None,
        "far too small"
    );
    assert_eq!(
        verdict(&[100, 200, 100], &[0, 5_000, 5_000]),
        None,
        "back where it started"
    );
    assert_eq!(verdict(&[100, 100, 100], &[0, 5_000, 9_000]), None);
}

#[test]
fn a_listener_list_that_grew_and_stopped_is_a_near_miss() {
    let mut plateau = Series::of(&[10, 30, 30], emitter_heap);
    let found = detect_with(&mut plateau, &thresholds(), listeners::detect);
    assert!(found.suspects.is_empty());
    assert!(
        found.explained_roots.is_empty(),
        "a near miss explains nothing"
    );
    assert_eq!(found.near_misses.len(), 1, "{:#?}", found.near_misses);
    let m = &found.near_misses[0];
    assert_eq!(m.kind, SuspectKind::Listener);
    assert_eq!(m.subject, "'data' listeners (onData) on EventEmitter `bus`");
    assert_eq!(m.counts, [10, 30, 30]);
    assert_eq!(
        m.reason.to_string(),
        "grew in 1 of 2 steps, not in the last"
    );
}

#[test]
fn steps_across_a_restart_or_to_a_process_without_the_thing_are_not_judged() {
    let th = Thresholds {
        retained_growth: 5_000,
        ..thresholds()
    };
    let leak = |series: Measured, comparison: Comparison<'_>| {
        let steps = comparison.steps_for(&series);
        match Verdict::of(series, &steps, 10, &th) {
            Some(Verdict::Leak(growth)) => Some(growth.retained_growth),
            _ => None,
        }
    };
    // Grows in the first process, drops at the restart, grows again in the next.
    let counts = [100, 200, 300, 20, 120];
    let retained = [10_000, 20_000, 30_000, 2_000, 12_000];
    let restart = Comparison {
        matched_by: Matching::Structure,
        counted: &[true, true, false, true],
        across: &[false, false, true, false],
    };
    assert_eq!(
        leak(present(&counts, &retained), restart),
        Some(30_000),
        "the growth within each process, none across the restart"
    );
    assert_eq!(
        leak(present(&counts, &retained), ONE_PROCESS),
        None,
        "the drop counts when every step does: 2 kB more retained, first to last"
    );

    // Three processes at increasing uptime; the first does not hold the thing at all.
    let absent_first =
        Measured::from_values([None, Some((200, 20_000)), Some((300, 30_000))].into_iter());
    let across = Comparison {
        matched_by: Matching::Structure,
        counted: &[true, true],
        across: &[true, true],
    };
    assert_eq!(
        across.steps_for(&absent_first),
        [false, true],
        "no growth from a process that does not have it"
    );
    assert_eq!(leak(absent_first, across), Some(10_000));
    let absent_first =
        Measured::from_values([None, Some((200, 20_000)), Some((300, 30_000))].into_iter());
    assert_eq!(
        ONE_PROCESS.steps_for(&absent_first),
        [true, true],
        "within one process, a new collection grows from nothing"
    );
}

/// A module-level `cache` Map in scope `scope_line`, with `k` entries.
fn cached_heap(k: u32, scope_line: u32, base_id: u32) -> Heap {
    let mut h = Heap::new();
    let f = h.node("closure", "handle", base_id, 32);
    let scope = h.node("hidden", "system / Context", base_id + 2, 40);
    let map = h.node("object", "Map", base_id + 4, 32);
    let table = h.node("array", "", base_id + 6, 16);
    h.located(f, 7, scope_line, 4);
    h.edge(h.roots, "property", "handle", f);
    h.edge(f, "internal", "context", scope);
    h.edge(scope, "context", "cache", map);
    h.edge(map, "internal", "table", table);
    for i in 0..k {
        let v = h.node("object", "Entry", base_id + 100 + 2 * i, 100);
        h.element(table, i as usize, v);
    }
    h
}

#[test]
fn holders_are_named_the_same_in_two_processes() {
    // Two "processes": other ids, other heap order, the same program.
    let a = cached_heap(3, 11, 1001).graph();
    let b = cached_heap(9, 11, 5001).graph();
    let key = |g: &HeapGraph, id: u32| {
        let shapes = crate::diff::shapes::Shapes::new(g);
        let node = g.snapshot.find_node_by_id(id).expect("the map");
        shapes.holder_key(node)
    };
    let (ka, kb) = (key(&a, 1005), key(&b, 5005));
    assert_eq!(ka, kb);
    assert_eq!(
        ka.to_string(),
        "Map ← variable cache of the scope at script#7:12:5"
    );
    // Found again in the other process by that key.
    let shapes = crate::diff::shapes::Shapes::new(&b);
    assert_eq!(
        shapes.held_by(&ka),
        [b.snapshot.find_node_by_id(5005).unwrap()]
    );
    // Another scope (another module) is another holder.
    let c = cached_heap(3, 40, 1001).graph();
    assert_ne!(key(&c, 1005), ka);
}
