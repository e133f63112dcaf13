//! What a diff needs to remember of one snapshot once its graph is dropped: class totals,
//! the (id, class, size) of every counted object, and the measurements the leak detectors
//! compare across snapshots (collection sizes, listener counts, live timers and closure chains,
//! keyed by node id or by source location). A digest is a small fraction of a graph, so
//! diffing N snapshots holds one graph at a time.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::column::Column;
use rustc_hash::FxHashMap;

use super::holder::HolderKey;
use super::objects::{IdIndex, Objects};
use super::shapes::{CollectionKind, ListenerList, ShapeParts, Shapes, Timer, NO_LOCATION};
use crate::graph::locations::ScriptNames;
use crate::graph::Classes;
use crate::graph::{HeapGraph, RetainerGraph};
use crate::report::SourceLocation;
use crate::summary::{AggregateColumns, ClassAggregates};

/// Collections smaller than this are not remembered (too small to matter).
pub const MIN_TRACKED_ENTRIES: u64 = 8;

/// One snapshot, digested: its [`DigestBody`] (which it dereferences to) and its class totals.
#[derive(Debug, Clone)]
pub struct Digest {
    body: DigestBody,
    /// Per class (indexes `classes`): its totals.
    pub class_totals: Vec<ClassTotals>,
}

impl std::ops::Deref for Digest {
    type Target = DigestBody;

    fn deref(&self) -> &DigestBody {
        &self.body
    }
}

/// A digest but for its class totals, which are a sequential walk of the dominator tree: what
/// the same-process check and the shaped detectors read, so that they run beside that walk.
#[derive(Debug, Clone)]
pub struct DigestBody {
    pub file: String,
    pub node_count: u64,
    pub edge_count: u64,
    pub total_size: u64,
    pub max_node_id: u32,
    pub classes: Vec<ClassDigest>,
    /// Counted objects (shallow size > 0, as DevTools counts them) by id, with their classes
    /// (indexes into `classes`) and shallow sizes.
    pub objects: Objects,
    /// Collections with at least [`MIN_TRACKED_ENTRIES`] entries, sorted by id.
    pub collections: Vec<CollectionDigest>,
    /// Listener lists, sorted by (emitter id, event).
    pub listeners: Vec<ListenerDigest>,
    /// Live timers grouped by callback, sorted by key.
    pub timers: Vec<GroupDigest>,
    /// Closures grouped by function location, sorted by key.
    pub closures: Vec<ClosureDigest>,
    /// The program's own scripts (not Node's `node:` ones nor packages under `node_modules`)
    /// that have functions in the heap, sorted: two processes of one app share most of them.
    pub app_scripts: Vec<String>,
}

/// One class: a name, plus a constructor location when DevTools keys it so.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClassDigest {
    /// `name` and `location` joined; equal across snapshots of one program.
    pub key: String,
    pub name: String,
    pub location: Option<SourceLocation>,
}

/// One class's totals in one snapshot (DevTools' Summary numbers).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ClassTotals {
    pub count: u64,
    pub self_size: u64,
    pub retained_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollectionDigest {
    pub id: u32,
    /// What holds it, in terms that carry over between processes ([`Shapes::holder_key`]).
    pub holder: HolderKey,
    pub kind: CollectionKind,
    pub entries: u64,
    pub retained_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ListenerDigest {
    pub emitter_id: u32,
    /// What holds the emitter, in terms that carry over between processes
    /// ([`Shapes::holder_key`]).
    pub emitter_holder: HolderKey,
    pub event: String,
    pub count: u64,
    pub retained_size: u64,
}

/// A group of like objects (timers with one callback), by a key stable across snapshots.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupDigest {
    pub key: String,
    pub count: u64,
    pub retained_size: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClosureDigest {
    /// The function's location (`file:line:column`).
    pub key: String,
    pub count: u64,
    /// The longest chain of closures of this function each capturing the previous one.
    pub longest_chain: u64,
    /// Retained size of the head of that chain.
    pub chain_retained_size: u64,
}

/// The class key used to match classes across snapshots.
pub fn class_key(name: &str, location: Option<&SourceLocation>) -> String {
    match location {
        Some(loc) => format!("{name}\u{1f}{loc}"),
        None => name.to_string(),
    }
}

impl Digest {
    /// A digest of `body` with its `class_totals` (one per class).
    pub(crate) fn from_parts(body: DigestBody, class_totals: Vec<ClassTotals>) -> Digest {
        Digest { body, class_totals }
    }

    /// Digests an analysed snapshot.
    pub fn new(graph: &HeapGraph, file: &str) -> Digest {
        // The class aggregates are one sequential walk of the dominator tree: run it beside
        // the rest of the digest (mostly parallel scans) instead of before it.
        let (agg, measured) = rayon::join(
            || ClassAggregates::compute(graph),
            || Measurement::of_earlier(graph),
        );
        DigestBody::assemble(graph, measured, file).with_totals(&agg)
    }

    /// Completes a digest from what [`Measurement::new`] measured of `graph` (while its
    /// dominators were being computed), as a job to run later where a core is idle: beside
    /// the next snapshot's build (the `first` work of [`HeapGraph::build_alongside`]), so
    /// that the class totals of an earlier snapshot cost no wall time. The columns the job
    /// reads are moved out of the graph; the rest of it is freed here, before the next
    /// snapshot is read. (Not on another thread: unmapping holds the process's memory-map
    /// lock, which the next parse's page faults then wait for.)
    pub(crate) fn finish_later(graph: HeapGraph, measured: Measurement, file: String) -> DigestJob {
        let columns = DigestColumns::take(graph);
        DigestJob {
            columns,
            measured: measured.without_last_parts(),
            file,
        }
    }
}

impl DigestBody {
    /// Completes a measurement of `graph` with its retained sizes: a digest but for its class
    /// totals.
    pub(crate) fn assemble(graph: &HeapGraph, measured: Measurement, file: &str) -> DigestBody {
        let parts = FinishingParts {
            node_count: graph.snapshot.node_count() as u64,
            edge_count: graph.snapshot.edge_count() as u64,
            total_size: graph.total_size(),
            classes: &graph.classes,
            retained_size: &graph.dominators.retained_size,
        };
        Self::from_parts(parts, measured, file)
    }

    /// The digest, with each class's count, shallow and retained size from `agg` (of the
    /// same graph).
    pub(crate) fn with_totals(self, agg: &ClassAggregates) -> Digest {
        let class_totals = (0..self.classes.len())
            .map(|c| ClassTotals {
                count: agg.count[c],
                self_size: agg.self_size[c],
                retained_size: agg.retained_size[c],
            })
            .collect();
        Digest {
            body: self,
            class_totals,
        }
    }

    fn from_parts(parts: FinishingParts<'_>, measured: Measurement, file: &str) -> DigestBody {
        let graph_classes = parts.classes;
        let classes: Vec<ClassDigest> = (0..graph_classes.len())
            .map(|c| {
                let location = graph_classes.locations[c]
                    .map(|l| measured.scripts.location(l.script_id, l.line, l.column));
                let name = graph_classes.names[c].clone();
                ClassDigest {
                    key: class_key(&name, location.as_ref()),
                    name,
                    location,
                }
            })
            .collect();
        let retained = |n: u32| parts.retained_size[n as usize];
        let Measurement {
            objects,
            collections,
            listeners,
            timers,
            closures,
            max_node_id,
            scripts,
            ..
        } = measured;
        let mut app_scripts: Vec<String> = scripts
            .names()
            .filter(|name| is_app_script(name))
            .map(str::to_string)
            .collect();
        app_scripts.sort_unstable();
        app_scripts.dedup();
        DigestBody {
            file: file.to_string(),
            node_count: parts.node_count,
            edge_count: parts.edge_count,
            total_size: parts.total_size,
            max_node_id,
            classes,
            objects,
            collections: settle(collections, |c, &n| c.retained_size = retained(n)),
            listeners: settle(listeners, |l, &holder| l.retained_size = retained(holder)),
            timers: settle(timers, |t, nodes| {
                t.retained_size = nodes.iter().map(|&n| retained(n)).sum();
            }),
            closures: settle(closures, |c, &head| c.chain_retained_size = retained(head)),
            app_scripts,
        }
    }
}

/// Whether a script is a file (the app's or a package's), not one of Node's (`node:…`, or a
/// bare internal name).
pub(crate) fn is_script_file(name: &str) -> bool {
    name.starts_with('/') || name.starts_with("file://") || name.contains(":\\")
}

/// Whether a script is the program's own: a file ([`is_script_file`]) not under
/// `node_modules` (unrelated apps share those).
pub(crate) fn is_app_script(name: &str) -> bool {
    is_script_file(name) && !name.contains("/node_modules/")
}

/// A digest to finish ([`Digest::finish_later`]): what it reads of its graph.
pub(crate) struct DigestJob {
    columns: DigestColumns,
    measured: Measurement,
    file: String,
}

impl DigestJob {
    /// Finishes the digest on the calling thread (nothing runs on the rayon pool).
    pub fn run(self) -> Digest {
        let DigestJob {
            columns,
            measured,
            file,
        } = self;
        let agg = ClassAggregates::from_columns(columns.aggregate_columns(), 1);
        DigestBody::from_parts(columns.parts(), measured, &file).with_totals(&agg)
    }
}

/// What finishing a digest reads of its graph besides the class totals.
struct FinishingParts<'a> {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    classes: &'a Classes,
    retained_size: &'a [u64],
}

/// The columns of a graph that finishing its digest reads, moved out of it.
struct DigestColumns {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    classes: Classes,
    self_size: Column<u64>,
    retained_size: Column<u64>,
    dominator_order: Column<u32>,
    dominator_order_idom: Column<u32>,
}

impl DigestColumns {
    /// Moves the columns out of `graph` (no copy); the rest of it is freed here.
    fn take(graph: HeapGraph) -> DigestColumns {
        let total_size = graph.total_size();
        let (retainers, dominators, _distance) = graph.into_parts();
        DigestColumns {
            node_count: retainers.snapshot.node_count() as u64,
            edge_count: retainers.snapshot.edge_count() as u64,
            total_size,
            classes: retainers.classes,
            self_size: retainers.self_size,
            retained_size: dominators.retained_size,
            dominator_order: dominators.order,
            dominator_order_idom: dominators.order_idom,
        }
    }

    fn aggregate_columns(&self) -> AggregateColumns<'_> {
        AggregateColumns {
            class_count: self.classes.len(),
            class_of: &self.classes.class_of,
            self_size: &self.self_size,
            distance: None,
            retained_size: &self.retained_size,
            dominator_order: &self.dominator_order,
            dominator_order_idom: &self.dominator_order_idom,
        }
    }

    fn parts(&self) -> FinishingParts<'_> {
        FinishingParts {
            node_count: self.node_count,
            edge_count: self.edge_count,
            total_size: self.total_size,
            classes: &self.classes,
            retained_size: &self.retained_size,
        }
    }
}

/// Measured items with what their retained size is read from, once it can be: `set` fills it.
fn settle<T, K>(items: Vec<(T, K)>, set: impl Fn(&mut T, &K)) -> Vec<T> {
    items
        .into_iter()
        .map(|(mut item, from)| {
            set(&mut item, &from);
            item
        })
        .collect()
}

/// The part of a [`Digest`] that needs no dominators, so it can be measured while they are
/// computed ([`HeapGraph::build_alongside`]). Retained sizes are left at 0, with the node
/// each one is read from when the digest is finished.
pub(crate) struct Measurement {
    objects: Objects,
    collections: Vec<(CollectionDigest, u32)>,
    listeners: Vec<(ListenerDigest, u32)>,
    timers: Vec<(GroupDigest, Vec<u32>)>,
    closures: Vec<(ClosureDigest, u32)>,
    max_node_id: u32,
    scripts: ScriptNames,
    /// The shape reader's tables (the last snapshot's suspects read them again).
    pub(crate) shape_parts: Option<ShapeParts>,
    /// Every node by id (empty once only a digest is made of it).
    pub(crate) by_id: IdIndex,
    /// The listener lists and live timers found (the suspects of the last snapshot read them).
    pub(crate) listener_lists: Vec<ListenerList>,
    pub(crate) timer_list: Vec<Timer>,
}

/// Which snapshot of a diff a [`Measurement`] is of.
#[derive(Clone, Copy)]
enum Role {
    /// One that only becomes a digest.
    Earlier,
    /// The last one, whose suspects read its id index, shapes, listeners and timers.
    Last,
}

/// Every node in id order (equal ids in node order): a snapshot's id index, four bytes a node.
pub(crate) fn id_index(graph: &RetainerGraph) -> Vec<u32> {
    let mut pairs: Vec<[u32; 2]> = graph
        .snapshot
        .node_id
        .iter()
        .enumerate()
        .map(|(n, &id)| [id, n as u32])
        .collect();
    sort_by_id(&mut pairs);
    // The nodes move to the front of the pairs' own buffer, which then gives its second half
    // back: no second column is allocated beside the pairs.
    let count = pairs.len();
    let mut words: Vec<u32> = bytemuck::allocation::cast_vec(pairs);
    for k in 0..count {
        // Pair `k`'s node is word `2k + 1`; the writes so far went to words below `k`.
        words[k] = words[2 * k + 1];
    }
    words.truncate(count);
    words.shrink_to_fit();
    words
}

/// How many of an id's highest bits pick its bucket in [`sort_by_id`].
const BUCKET_BITS: u32 = 16;

/// Sorts (id, node) pairs by id, then node, in place: the pairs are moved into buckets by
/// their ids' highest bits (an American flag sort: one pass of swaps, no second buffer), then
/// each bucket, a few thousand pairs that fit in cache, is sorted on its own. A second buffer
/// as large as the pairs (a least-significant-digit radix sort) was part of a diff's peak.
fn sort_by_id(pairs: &mut [[u32; 2]]) {
    let max = pairs.iter().map(|p| p[0]).max().unwrap_or(0);
    let bits = 32 - max.leading_zeros();
    let shift = bits.saturating_sub(BUCKET_BITS);
    let digit = |p: &[u32; 2]| (p[0] >> shift) as usize;
    let mut ends = vec![0usize; 1 << (bits - shift)];
    for p in pairs.iter() {
        ends[digit(p)] += 1;
    }
    let mut sum = 0;
    for end in ends.iter_mut() {
        sum += *end;
        *end = sum;
    }
    let starts: Vec<usize> = std::iter::once(0)
        .chain(ends[..ends.len() - 1].iter().copied())
        .collect();
    // `next[b]`: the first place in bucket `b` not yet known to hold one of its pairs.
    let mut next = starts.clone();
    for b in 0..ends.len() {
        while next[b] < ends[b] {
            let d = digit(&pairs[next[b]]);
            if d == b {
                next[b] += 1;
            } else {
                pairs.swap(next[b], next[d]);
                next[d] += 1;
            }
        }
    }
    for (&start, &end) in starts.iter().zip(&ends) {
        pairs[start..end].sort_unstable();
    }
}

impl Measurement {
    /// Frees what only the last snapshot's suspects read (the id index, location index,
    /// listener lists and timers), for a measurement that only becomes a digest.
    fn without_last_parts(self) -> Measurement {
        Measurement {
            shape_parts: None,
            by_id: IdIndex::default(),
            listener_lists: Vec::new(),
            timer_list: Vec::new(),
            ..self
        }
    }

    /// [`new`](Self::new) for a snapshot that only becomes a digest (not the last one of a
    /// diff): what only the last snapshot's suspects read is freed at once, not kept for as
    /// long as the dominators still take.
    pub(crate) fn of_earlier(graph: &RetainerGraph) -> Measurement {
        Self::measure(graph, Role::Earlier).without_last_parts()
    }

    /// Gathers the objects into columns if they are read through the graph.
    pub(crate) fn gather_objects(&mut self) {
        self.objects = self.objects.gathered();
    }

    /// Measures `graph`; reads no dominator column.
    pub(crate) fn new(graph: &RetainerGraph) -> Measurement {
        Self::measure(graph, Role::Last)
    }

    /// Measures `graph`, keeping what only a last snapshot's suspects read when it is one.
    fn measure(graph: &RetainerGraph, role: Role) -> Measurement {
        let s = &graph.snapshot;
        let shapes = Shapes::new(graph);
        // Sorting (id, node) pairs moves half the bytes that sorting (id, class, size) would.
        let by_id = IdIndex::new(id_index(graph));
        let view = Objects::of_graph(graph, IdIndex::clone(&by_id));
        let (objects, by_id) = match role {
            // An earlier snapshot's objects are gathered (its graph goes once it is digested)
            // and its id index goes at once, before the scans below allocate theirs.
            Role::Earlier => {
                let gathered = view.gathered();
                drop((view, by_id));
                (gathered, IdIndex::default())
            }
            Role::Last => (view, by_id),
        };
        let (lists, listener_storage) = shapes.listener_lists();
        let mut listeners: Vec<(ListenerDigest, u32)> = lists
            .iter()
            .map(|l| {
                let digest = ListenerDigest {
                    emitter_id: s.node_id[l.emitter as usize],
                    emitter_holder: shapes.holder_key(l.emitter),
                    event: l.event.clone(),
                    count: l.listeners.len() as u64,
                    retained_size: 0,
                };
                (digest, l.holder)
            })
            .collect();
        listeners.sort_by(|(a, _), (b, _)| (a.emitter_id, &a.event).cmp(&(b.emitter_id, &b.event)));

        let mut collections: Vec<(CollectionDigest, u32)> = (0..s.node_count() as u32)
            .into_par_iter()
            .filter(|&n| !listener_storage.get(n as usize))
            .filter_map(|n| {
                let kind = shapes.collection_kind(n)?;
                if !shapes.may_hold(n, kind, MIN_TRACKED_ENTRIES) {
                    return None;
                }
                let entries = shapes.collection_entry_count(n, kind);
                (entries >= MIN_TRACKED_ENTRIES).then(|| {
                    let digest = CollectionDigest {
                        id: s.node_id[n as usize],
                        holder: shapes.holder_key(n),
                        kind,
                        entries,
                        retained_size: 0,
                    };
                    (digest, n)
                })
            })
            .collect();
        collections.sort_by_key(|(c, _)| c.id);

        let mut timer_groups: FxHashMap<String, (GroupDigest, Vec<u32>)> = FxHashMap::default();
        let timer_list = shapes.timers();
        for t in &timer_list {
            let key = shapes.function_key(t.callback);
            let (group, nodes) = timer_groups.entry(key.clone()).or_insert_with(|| {
                let group = GroupDigest {
                    key,
                    count: 0,
                    retained_size: 0,
                };
                (group, Vec::new())
            });
            group.count += 1;
            nodes.push(t.timer);
        }
        let mut timers: Vec<(GroupDigest, Vec<u32>)> = timer_groups.into_values().collect();
        timers.sort_by(|(a, _), (b, _)| a.key.cmp(&b.key));

        let closures = closure_chains(&shapes);
        let parts = shapes.into_parts();
        let scripts = parts.scripts.clone();
        Measurement {
            objects,
            collections,
            listeners,
            timers,
            closures,
            max_node_id: max_heap_id(graph),
            scripts,
            shape_parts: Some(parts),
            by_id,
            listener_lists: lists,
            timer_list,
        }
    }
}

/// The highest id of a V8 heap object. Embedder (`native`) and `synthetic` nodes are left
/// out: their ids are derived from addresses, not handed out in allocation order.
fn max_heap_id(graph: &RetainerGraph) -> u32 {
    let s = &graph.snapshot;
    let nt = s.layout.node_types;
    (0..s.node_count())
        .into_par_iter()
        .filter(|&n| s.node_type[n] != nt.native && s.node_type[n] != nt.synthetic)
        .map(|n| s.node_id[n])
        .max()
        .unwrap_or(0)
}

/// Closures per function location, with the longest chain of closures of that function each
/// capturing the previous one in its context.
fn closure_chains(shapes: &Shapes<'_>) -> Vec<(ClosureDigest, u32)> {
    let graph = shapes.graph;
    let s = &graph.snapshot;
    let closure = s.layout.node_types.closure;
    let n = s.node_count();
    // Chain length by following `previous_in_chain` links, memoised, cycle-safe. Each closure's
    // link is looked up once (it scans its context's edges): the stack keeps it.
    const UNKNOWN: u32 = 0;
    const IN_PROGRESS: u32 = u32::MAX;
    let mut length = vec![UNKNOWN; n];
    let mut stack: Vec<(u32, Option<u32>)> = Vec::new();
    let mut per_key: FxHashMap<u32, (u64, u64, u32)> = FxHashMap::default(); // count, longest, head
    for start in 0..n as u32 {
        if s.node_type[start as usize] != closure || shapes.location_key(start) == NO_LOCATION {
            continue;
        }
        if length[start as usize] == UNKNOWN {
            length[start as usize] = IN_PROGRESS;
            stack.push((start, shapes.previous_in_chain(start)));
            while let Some(&(top, previous)) = stack.last() {
                if let Some(prev) = previous.filter(|&p| length[p as usize] == UNKNOWN) {
                    length[prev as usize] = IN_PROGRESS;
                    stack.push((prev, shapes.previous_in_chain(prev)));
                    continue;
                }
                stack.pop();
                // A link back into the chain being walked (a cycle) ends it.
                let tail = match previous {
                    Some(prev) if length[prev as usize] != IN_PROGRESS => length[prev as usize],
                    _ => 0,
                };
                length[top as usize] = tail + 1;
            }
        }
        let entry = per_key
            .entry(shapes.location_key(start))
            .or_insert((0, 0, start));
        entry.0 += 1;
        if u64::from(length[start as usize]) > entry.1 {
            entry.1 = u64::from(length[start as usize]);
            entry.2 = start;
        }
    }
    let mut out: Vec<(ClosureDigest, u32)> = per_key
        .into_values()
        .filter(|&(count, longest, _)| count >= 2 || longest >= 2)
        .map(|(count, longest, head)| {
            let digest = ClosureDigest {
                key: shapes.function_key(head),
                count,
                longest_chain: longest,
                chain_retained_size: 0,
            };
            (digest, head)
        })
        .collect();
    out.sort_by(|(a, _), (b, _)| a.key.cmp(&b.key));
    out
}

#[cfg(test)]
mod tests {
    use super::sort_by_id;
    use proptest::prelude::*;

    fn sorted(mut pairs: Vec<[u32; 2]>) -> Vec<[u32; 2]> {
        sort_by_id(&mut pairs);
        pairs
    }

    proptest! {
        /// The bucket sort orders by id, ties by node, like sorting the pairs: with small ids
        /// (many ties, one bucket), any ids, and ids that differ only in the top bits.
        #[test]
        fn bucket_sort_equals_pair_sort(ids in prop::collection::vec(
            prop_oneof![0u32..64, any::<u32>(), (0u32..4).prop_map(|x| x << 30)],
            0..3000,
        )) {
            let pairs: Vec<[u32; 2]> =
                ids.iter().enumerate().map(|(n, &id)| [id, n as u32]).collect();
            let mut expected = pairs.clone();
            expected.sort_unstable();
            prop_assert_eq!(sorted(pairs), expected);
        }

        /// Ids already in order (a process's first snapshot) come back as given, and one
        /// swapped pair among them is sorted like the rest.
        #[test]
        fn ordered_ids_and_one_swap(mut ids in prop::collection::vec(0u32..5000, 2..3000), at in any::<prop::sample::Index>()) {
            ids.sort_unstable();
            let pairs: Vec<[u32; 2]> =
                ids.iter().enumerate().map(|(n, &id)| [id, n as u32]).collect();
            prop_assert!(sorted(pairs.clone()) == pairs, "ordered ids were moved");
            let mut swapped = pairs.clone();
            let i = at.index(swapped.len() - 1);
            swapped.swap(i, i + 1);
            prop_assert!(sorted(swapped) == pairs, "swap at {}", i);
        }
    }
}
