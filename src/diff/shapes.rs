//! How the leak patterns look in a Node.js heap, read off the graph: EventEmitter listener
//! lists, live timers and their callbacks, the entries of Maps, Sets, Arrays and dictionary
//! objects, and chains of closures that keep their predecessors alive. Facts per Node version
//! are in `docs/node-heap-shapes.md`.

use std::collections::BTreeMap;

use rayon::prelude::*;
use rustc_hash::FxHashMap;

use super::digest::is_app_script;
use super::holder::{Holder, HolderKey, HolderStep, Reference};
use super::located::NodeLocations;
use crate::column::Column;
use crate::graph::bits::BitSet;
use crate::graph::locations::ScriptNames;
use crate::graph::names::NameTags;
use crate::graph::RetainerGraph;
use crate::report::SourceLocation;

// Names the shapes are recognised by, as positions in `NAMES`.
const EVENTS: usize = 0;
const TABLE: usize = 1;
const ON_TIMEOUT: usize = 2;
const ON_IMMEDIATE: usize = 3;
const CONTEXT: usize = 4;
const PROTO: usize = 5;
const MAP: usize = 6;
const OBJECT: usize = 7;
const ARRAY: usize = 8;
const MAP_CLASS: usize = 9;
const SET_CLASS: usize = 10;
const TIMEOUT_CLASS: usize = 11;
const IMMEDIATE_CLASS: usize = 12;
const LISTENER: usize = 13;
const K_EVENTS: usize = 14;
const NEXT: usize = 15;
const TRANSITION_INFO: usize = 16;
const ALLOCATION_SITE: usize = 17;
const FEEDBACK_VECTOR: usize = 18;
const SHARED: usize = 19;
const HOLE: usize = 20;
const BOUND_TARGET: usize = 21;
const PREVIOUS: usize = 22;
const NATIVE_CONTEXT: usize = 23;
const REACTIONS: usize = 24;
const PROMISE_REACTION: usize = 25;
const PROMISE_CLASS: usize = 26;
const EXTENSION: usize = 27;
const FUNCTION: usize = 28;
const NAMES: &[&str] = &[
    "_events",
    "table",
    "_onTimeout",
    "_onImmediate",
    "context",
    "__proto__",
    "map",
    "Object",
    "Array",
    "Map",
    "Set",
    "Timeout",
    "Immediate",
    "listener",
    "<symbol kEvents>",
    "next",
    "transition_info",
    "system / AllocationSite",
    "system / FeedbackVector",
    "shared",
    "system / Hole",
    "bound_function",
    "previous",
    "system / NativeContext",
    "reactions_or_result",
    "system / PromiseReaction",
    "Promise",
    "extension",
    "function",
];

/// What kind of container a collection is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum CollectionKind {
    Map,
    Set,
    Array,
    Object,
    /// A pending promise, whose entries are its reactions: the calls awaiting it (`await p`,
    /// `p.then(f)`), in V8's linked list of PromiseReactions.
    Promise,
}

impl CollectionKind {
    pub fn name(self) -> &'static str {
        match self {
            CollectionKind::Map => "Map",
            CollectionKind::Set => "Set",
            CollectionKind::Array => "Array",
            CollectionKind::Object => "Object",
            CollectionKind::Promise => "Promise",
        }
    }
}

/// One event's listeners on one emitter.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ListenerList {
    pub emitter: u32,
    /// The `_events` property that holds the listener (a function or an array of them).
    pub holder: u32,
    pub event: String,
    /// The listener functions (unwrapped from `once` wrappers).
    pub listeners: Vec<u32>,
}

/// A live timer and its callback.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct Timer {
    pub timer: u32,
    pub callback: u32,
    pub immediate: bool,
}

/// The link from a closure to the previous closure of its chain ([`Shapes::chain_link`]).
#[derive(Debug, Clone, Copy)]
pub struct ChainLink {
    /// The previous closure (created by the same function).
    pub previous: u32,
    /// The context edge (a captured variable) the link starts with.
    pub variable: usize,
    /// When the variable holds an object, not the closure: the object's property edge that
    /// holds the previous closure.
    pub property: Option<usize>,
}

/// How many properties of a captured object [`Shapes::chain_link`] looks at.
const LINK_PROPERTIES: usize = 64;

/// Where the entries of a Map's or Set's hash table (an OrderedHashMap/OrderedHashSet
/// FixedArray of `size` bytes) start, from its length: three header slots (element count,
/// deleted count, bucket count), one slot per bucket, then `stride` slots per entry with two
/// entries per bucket — `3 + (1 + 2 * stride) * buckets` slots, buckets a power of two. Slots
/// are 8 bytes (Node) or 4 (pointer compression, Chrome), after a two-slot FixedArray header.
/// `None` when no slot width gives such a length.
fn entries_start(size: u64, stride: u32) -> Option<u32> {
    let per_bucket = 1 + 2 * u64::from(stride);
    [8u64, 4].into_iter().find_map(|slot| {
        let slots = size.checked_sub(2 * slot)? / slot;
        let buckets = slots.checked_sub(3)? / per_bucket;
        let exact = size % slot == 0 && 3 + per_bucket * buckets == slots;
        (exact && buckets.is_power_of_two()).then(|| 3 + buckets as u32)
    })
}

/// The tables a [`Shapes`] computes of its graph, without the graph: kept while the graph
/// moves (from the build to the analysed graph) to make the next reader of it at once.
pub struct ShapeParts {
    names: NameTags,
    holes: BitSet,
    pub scripts: ScriptNames,
    locations: NodeLocations,
}

/// [`ShapeParts`] as kept in a file: the per-string and per-node columns and the script names.
pub(crate) struct KeptShapes {
    pub name_tags: Vec<u8>,
    pub holes: Vec<u64>,
    /// [`NodeLocations::columns`].
    pub located: Vec<u64>,
    pub location_index: Column<u32>,
    pub location_keys: Column<u32>,
    pub scripts: Vec<(u32, String)>,
}

impl ShapeParts {
    /// The columns to keep: name tags, holes (bit words), and the located nodes (bit words),
    /// their location indexes and keys.
    pub(crate) fn columns(&self) -> (&[u8], &[u64], &NodeLocations) {
        (self.names.tags(), self.holes.words(), &self.locations)
    }

    /// The tables of `graph` from `kept`, or `None` when they do not fit it.
    pub(crate) fn from_kept(graph: &RetainerGraph, kept: KeptShapes) -> Option<ShapeParts> {
        let s = &graph.snapshot;
        let n = s.node_count();
        Some(ShapeParts {
            locations: NodeLocations::from_kept(
                s,
                kept.located,
                kept.location_index,
                kept.location_keys,
            )?,
            names: NameTags::from_tags(kept.name_tags, s.strings.len(), NAMES.len())?,
            holes: BitSet::from_words(kept.holes, n)?,
            scripts: ScriptNames::from_entries(kept.scripts),
        })
    }
}

/// The shape reader for one graph.
pub struct Shapes<'g> {
    pub graph: &'g RetainerGraph,
    names: NameTags,
    /// Per node: whether it is a `Hole` (tested for every member of every collection, where a
    /// bit in cache beats a random read of the member's name).
    holes: BitSet,
    pub scripts: ScriptNames,
    /// The nodes with a source location, each one's location and key.
    locations: NodeLocations,
    /// The app's AsyncLocalStorage instances, found on first need.
    async_storages: std::sync::OnceLock<Vec<u32>>,
    /// Whether the heap has any AsyncLocalStorage (its class), found on first need.
    any_async_storage: std::sync::OnceLock<bool>,
}

impl<'g> Shapes<'g> {
    pub fn new(graph: &'g RetainerGraph) -> Shapes<'g> {
        // The location tables and the name tables do not read each other: both cores.
        let (locations, (names, holes, scripts)) = rayon::join(
            || NodeLocations::new(&graph.snapshot),
            || {
                let names = NameTags::new(&graph.snapshot, NAMES);
                let node_name = &graph.snapshot.node_name;
                let holes = BitSet::from_fn_par(node_name.len(), |n| names.is(node_name[n], HOLE));
                (names, holes, ScriptNames::find(&graph.snapshot))
            },
        );
        Self::from_parts(
            graph,
            ShapeParts {
                names,
                holes,
                scripts,
                locations,
            },
        )
    }

    /// A reader of `graph` from what an earlier reader of the same graph computed
    /// ([`into_parts`](Self::into_parts)).
    pub fn from_parts(graph: &'g RetainerGraph, parts: ShapeParts) -> Shapes<'g> {
        let ShapeParts {
            names,
            holes,
            scripts,
            locations,
        } = parts;
        Shapes {
            graph,
            names,
            holes,
            scripts,
            locations,
            async_storages: std::sync::OnceLock::new(),
            any_async_storage: std::sync::OnceLock::new(),
        }
    }

    /// What this reader computed of its graph (every per-node and per-string table), to make
    /// another reader of the same graph without computing it again.
    pub fn into_parts(self) -> ShapeParts {
        ShapeParts {
            names: self.names,
            holes: self.holes,
            scripts: self.scripts,
            locations: self.locations,
        }
    }

    /// Node `n`'s location key (equal for equal places), or [`NO_LOCATION`].
    pub fn location_key(&self, n: u32) -> u32 {
        self.locations.key(n).unwrap_or(NO_LOCATION)
    }

    fn is_name(&self, string: u32, which: usize) -> bool {
        self.names.is(string, which)
    }

    fn raw_name_is(&self, node: u32, which: usize) -> bool {
        self.is_name(self.graph.snapshot.node_name[node as usize], which)
    }

    /// The target of `node`'s first string-named edge called `NAMES[which]`.
    fn edge_named(&self, node: u32, which: usize) -> Option<u32> {
        let s = &self.graph.snapshot;
        s.edges_of(node)
            .find(|&e| {
                !s.layout.edge_name_is_index(s.edge_type[e]) && self.is_name(s.edge_name[e], which)
            })
            .map(|e| s.edge_to[e])
    }

    /// Node 24 fills the slots of deleted Map/Set entries and dictionary properties (and holey
    /// arrays) with `system / Hole`: a hole is not an entry.
    fn is_hole(&self, node: u32) -> bool {
        self.holes.get(node as usize)
    }

    fn is_object(&self, node: u32) -> bool {
        self.graph.snapshot.node_type[node as usize] == self.graph.snapshot.layout.node_types.object
    }

    fn is_closure(&self, node: u32) -> bool {
        self.graph.snapshot.node_type[node as usize]
            == self.graph.snapshot.layout.node_types.closure
    }

    /// Every EventEmitter-like object's listener lists: objects with an `_events` object,
    /// whose properties are event names holding a function or an array of functions.
    /// Returns the lists and the set of nodes that make up listener storage (so that
    /// listener arrays are not also reported as growing collections).
    pub fn listener_lists(&self) -> (Vec<ListenerList>, BitSet) {
        let s = &self.graph.snapshot;
        let et = s.layout.edge_types;
        let mut storage = BitSet::new(s.node_count());
        let mut lists = Vec::new();
        // One parallel pass finds the emitters (the first `[kEvents]` and `_events` edge of
        // every object); the lists are then read in node order.
        let emitters: Vec<(u32, Option<u32>, Option<u32>)> = (0..s.node_count() as u32)
            .into_par_iter()
            .filter(|&n| self.is_object(n))
            .filter_map(|n| {
                let (mut k_events, mut events) = (None, None);
                for e in s.edges_of(n) {
                    if s.layout.edge_name_is_index(s.edge_type[e]) {
                        continue;
                    }
                    let name = s.edge_name[e];
                    if k_events.is_none() && self.is_name(name, K_EVENTS) {
                        k_events = Some(s.edge_to[e]);
                    } else if events.is_none() && self.is_name(name, EVENTS) {
                        events = Some(s.edge_to[e]);
                    }
                }
                (k_events.is_some() || events.is_some()).then_some((n, k_events, events))
            })
            .collect();
        for (n, k_events, events) in emitters {
            if let Some(map) = k_events {
                self.event_target_lists(n, map, &mut lists, &mut storage);
            }
            let Some(events) = events else {
                continue;
            };
            if !self.is_object(events) || events == n {
                continue;
            }
            storage.set(events as usize);
            for e in s.edges_of(events) {
                if s.edge_type[e] != et.property || self.is_name(s.edge_name[e], PROTO) {
                    continue;
                }
                let holder = s.edge_to[e];
                let listeners: Vec<u32> = if self.is_closure(holder) {
                    vec![self.unwrap_once(holder)]
                } else if self.is_object(holder) && self.raw_name_is(holder, ARRAY) {
                    storage.set(holder as usize);
                    s.edges_of(holder)
                        .filter(|&f| s.edge_type[f] == et.element)
                        .map(|f| s.edge_to[f])
                        .filter(|&l| self.is_closure(l))
                        .map(|l| self.unwrap_once(l))
                        .collect()
                } else {
                    Vec::new()
                };
                if listeners.is_empty() {
                    continue;
                }
                lists.push(ListenerList {
                    emitter: n,
                    holder,
                    event: s.edge_name_str(e).into_owned(),
                    listeners,
                });
            }
        }
        (lists, storage)
    }

    /// Node's `EventTarget` keeps a `Map` (`[kEvents]`) from event type to the head of a
    /// linked list of `Listener` objects (`next`), each holding its function in `listener`.
    fn event_target_lists(
        &self,
        target: u32,
        map: u32,
        lists: &mut Vec<ListenerList>,
        storage: &mut BitSet,
    ) {
        if self.collection_kind(map) != Some(CollectionKind::Map) {
            return;
        }
        let s = &self.graph.snapshot;
        storage.set(map as usize);
        for (key, head) in self.map_pairs(map) {
            let Some(key) = key else { continue };
            let event = s.node_name_str(key).into_owned();
            storage.set(head as usize);
            let mut listeners = Vec::new();
            let mut current = self.edge_named(head, NEXT);
            // Bounded walk: a cycle in a corrupt list must not hang us.
            let mut steps = 0usize;
            while let Some(node) = current {
                if node == head || steps > s.node_count() || !self.is_object(node) {
                    break;
                }
                steps += 1;
                storage.set(node as usize);
                if let Some(f) = self
                    .edge_named(node, LISTENER)
                    .filter(|&f| self.is_closure(f))
                {
                    listeners.push(f);
                }
                current = self.edge_named(node, NEXT);
            }
            if !listeners.is_empty() {
                lists.push(ListenerList {
                    emitter: target,
                    holder: head,
                    event,
                    listeners,
                });
            }
        }
    }

    /// The function a listener runs: `once()` wraps a listener in a bound function with a
    /// `listener` property, and `fn.bind(obj)` makes a bound function ([`Self::unbound`]).
    fn unwrap_once(&self, f: u32) -> u32 {
        let f = self
            .edge_named(f, LISTENER)
            .filter(|&l| self.is_closure(l))
            .unwrap_or(f);
        self.unbound(f)
    }

    /// The function a bound function (`fn.bind(obj)`, which V8 names `native_bind` and which
    /// has no source location) calls, through any number of bindings; `f` itself otherwise.
    pub fn unbound(&self, f: u32) -> u32 {
        let mut f = f;
        // Bounded: a corrupt snapshot's cycle must not hang us.
        for _ in 0..16 {
            match self
                .edge_named(f, BOUND_TARGET)
                .filter(|&t| self.is_closure(t))
            {
                Some(target) => f = target,
                None => break,
            }
        }
        f
    }

    /// Live `Timeout` and `Immediate` objects that still have a callback.
    pub fn timers(&self) -> Vec<Timer> {
        let s = &self.graph.snapshot;
        let mut timers = Vec::new();
        for n in 0..s.node_count() as u32 {
            if !self.is_object(n) {
                continue;
            }
            let (immediate, field) = if self.raw_name_is(n, TIMEOUT_CLASS) {
                (false, ON_TIMEOUT)
            } else if self.raw_name_is(n, IMMEDIATE_CLASS) {
                (true, ON_IMMEDIATE)
            } else {
                continue;
            };
            if let Some(callback) = self.edge_named(n, field).filter(|&c| self.is_closure(c)) {
                timers.push(Timer {
                    timer: n,
                    callback: self.unbound(callback),
                    immediate,
                });
            }
        }
        timers
    }

    /// What kind of collection `node` is, if any.
    pub fn collection_kind(&self, node: u32) -> Option<CollectionKind> {
        if !self.is_object(node) {
            return None;
        }
        let name = self.graph.snapshot.node_name[node as usize];
        if self.is_name(name, MAP_CLASS) {
            Some(CollectionKind::Map)
        } else if self.is_name(name, SET_CLASS) {
            Some(CollectionKind::Set)
        } else if self.is_name(name, ARRAY) {
            Some(CollectionKind::Array)
        } else if self.is_name(name, OBJECT) {
            Some(CollectionKind::Object)
        } else if self.is_name(name, PROMISE_CLASS) && self.first_reaction(node).is_some() {
            Some(CollectionKind::Promise)
        } else {
            None
        }
    }

    /// A pending promise's first reaction: what its `reactions_or_result` holds while it is
    /// pending and awaited (once settled, that is its result).
    fn first_reaction(&self, promise: u32) -> Option<u32> {
        self.edge_named(promise, REACTIONS)
            .filter(|&r| self.raw_name_is(r, PROMISE_REACTION))
    }

    /// A pending promise's reactions, in V8's list order (newest first). The link to the next
    /// reaction is the edge to another PromiseReaction (named `next`, or an index in the
    /// versions that leave it unnamed); bounded by the node count, so a corrupt cycle cannot
    /// hang us.
    pub fn promise_reactions(&self, promise: u32) -> Vec<u32> {
        let s = &self.graph.snapshot;
        let mut reactions = Vec::new();
        let mut current = self.first_reaction(promise);
        while let Some(r) = current {
            if reactions.len() >= s.node_count() {
                break;
            }
            reactions.push(r);
            current = s
                .edges_of(r)
                .map(|e| s.edge_to[e])
                .find(|&t| t != r && self.raw_name_is(t, PROMISE_REACTION));
        }
        reactions
    }

    /// The function a reaction resumes: for `await`, the async function whose call is
    /// suspended (V8's await handlers are builtins whose context's `extension` is the
    /// suspended call, a generator object, whose `function` is the async function); for
    /// `then(f)`, `f` itself (unbound).
    pub fn reaction_function(&self, reaction: u32) -> Option<u32> {
        let s = &self.graph.snapshot;
        let handlers = s
            .edges_of(reaction)
            .map(|e| s.edge_to[e])
            .filter(|&t| self.is_closure(t));
        let mut builtin = None;
        for h in handlers {
            let f = self.unbound(h);
            if self.locations.key(f).is_some() {
                return Some(f);
            }
            builtin.get_or_insert(h);
        }
        let suspended = self
            .edge_named(builtin?, CONTEXT)
            .and_then(|context| self.edge_named(context, EXTENSION))?;
        self.edge_named(suspended, FUNCTION)
            .filter(|&f| self.is_closure(f))
    }

    /// The entries of a collection and the nodes stored in it (values for Maps, members for
    /// Sets and Arrays, property values for objects). Map and Set entries live in the
    /// internal `table` array: a Map uses three slots per entry (key, value, chain) and a
    /// Set two (key, chain); the chain slot is a small integer and never an edge, which is
    /// how the slot layout is found. Small-integer keys and values are not in snapshots, so an
    /// entry whose key and value are both small integers is not seen.
    pub fn collection_entries(&self, node: u32, kind: CollectionKind) -> (u64, Vec<u32>) {
        match kind {
            CollectionKind::Map | CollectionKind::Set => {
                let table = self.hash_table(node, kind);
                let mut entries: Vec<u32> = table.slots.iter().map(|slot| slot.entry).collect();
                entries.dedup();
                let values = table
                    .slots
                    .iter()
                    .filter(|slot| slot.is_value)
                    .map(|slot| slot.target)
                    .collect();
                (entries.len() as u64, values)
            }
            CollectionKind::Array | CollectionKind::Object => {
                let values: Vec<u32> = self.member_values(node, kind).collect();
                (values.len() as u64, values)
            }
            CollectionKind::Promise => {
                let reactions = self.promise_reactions(node);
                (reactions.len() as u64, reactions)
            }
        }
    }

    /// How many entries [`collection_entries`](Self::collection_entries) would find, without
    /// collecting the members of arrays and objects (most objects are measured only to be
    /// found too small to track).
    pub fn collection_entry_count(&self, node: u32, kind: CollectionKind) -> u64 {
        match kind {
            CollectionKind::Map | CollectionKind::Set | CollectionKind::Promise => {
                self.collection_entries(node, kind).0
            }
            CollectionKind::Array | CollectionKind::Object => {
                self.member_values(node, kind).count() as u64
            }
        }
    }

    /// Whether `node` may have `min` entries or more: for arrays and objects, its member edges
    /// are counted without looking at their targets (holes are not entries), so that the
    /// many small objects of a heap are ruled out without a random read per member.
    pub fn may_hold(&self, node: u32, kind: CollectionKind, min: u64) -> bool {
        match kind {
            CollectionKind::Map | CollectionKind::Set | CollectionKind::Promise => true,
            CollectionKind::Array | CollectionKind::Object => {
                self.member_edges(node, kind).count() as u64 >= min
            }
        }
    }

    /// The element edges of an array, or the element and property edges (but `__proto__`) of
    /// an object.
    fn member_edges(&self, node: u32, kind: CollectionKind) -> impl Iterator<Item = usize> + '_ {
        let s = &self.graph.snapshot;
        let et = s.layout.edge_types;
        let properties = kind == CollectionKind::Object;
        s.edges_of(node).filter(move |&e| {
            let t = s.edge_type[e];
            t == et.element
                || (properties && t == et.property && !self.is_name(s.edge_name[e], PROTO))
        })
    }

    /// The members of an array (element edges) or the property values of an object (element
    /// and property edges but `__proto__`), holes left out.
    fn member_values(&self, node: u32, kind: CollectionKind) -> impl Iterator<Item = u32> + '_ {
        let s = &self.graph.snapshot;
        self.member_edges(node, kind)
            .map(move |e| s.edge_to[e])
            .filter(move |&v| !self.is_hole(v))
    }

    /// The slots of a Map's or Set's hash table that hold heap objects. A Map uses three
    /// slots per entry (key, value, chain) and a Set two (key, chain); the chain slot is a
    /// small integer and never an edge, which is how the layout is found.
    fn hash_table(&self, node: u32, kind: CollectionKind) -> HashTable {
        let s = &self.graph.snapshot;
        let Some(table) = self.edge_named(node, TABLE) else {
            return HashTable { slots: Vec::new() };
        };
        let stride: u32 = if kind == CollectionKind::Map { 3 } else { 2 };
        let mut raw: Vec<(u32, u32)> = s
            .edges_of(table)
            .filter(|&e| !self.is_name_edge(e, MAP) && !self.is_hole(s.edge_to[e]))
            .filter_map(|e| {
                let index = if s.layout.edge_name_is_index(s.edge_type[e]) {
                    Some(s.edge_name[e])
                } else {
                    s.strings.get(s.edge_name[e]).parse::<u32>().ok()
                };
                index.map(|i| (i, s.edge_to[e]))
            })
            .collect();
        raw.sort_unstable();
        let key = match entries_start(s.node_self_size[table as usize], stride) {
            Some(start) => start % stride,
            None => {
                // The chain slot is never an edge; the slot after it is the key. (When keys
                // are small integers too, only the size above tells keys from values.)
                let mut seen = [false; 3];
                for &(i, _) in &raw {
                    seen[(i % stride) as usize] = true;
                }
                let chain = (0..stride)
                    .find(|&r| !seen[r as usize] && seen[((r + 1) % stride) as usize])
                    .unwrap_or(stride - 1);
                (chain + 1) % stride
            }
        };
        let value = if kind == CollectionKind::Map {
            (key + 1) % stride
        } else {
            key
        };
        let slots = raw
            .into_iter()
            .map(|(i, target)| TableSlot {
                entry: (i + stride - key) / stride,
                is_key: i % stride == key,
                is_value: i % stride == value,
                target,
            })
            .collect();
        HashTable { slots }
    }

    /// A Map's (key, value) pairs, by entry; a key or value that is a small integer is absent.
    pub fn map_pairs(&self, map: u32) -> Vec<(Option<u32>, u32)> {
        let table = self.hash_table(map, CollectionKind::Map);
        let mut pairs = Vec::new();
        let mut i = 0;
        while i < table.slots.len() {
            let entry = table.slots[i].entry;
            let mut key = None;
            let mut value = None;
            while i < table.slots.len() && table.slots[i].entry == entry {
                let slot = &table.slots[i];
                if slot.is_key {
                    key = Some(slot.target);
                } else if slot.is_value {
                    value = Some(slot.target);
                }
                i += 1;
            }
            if let Some(value) = value {
                pairs.push((key, value));
            }
        }
        pairs
    }

    fn is_name_edge(&self, e: usize, which: usize) -> bool {
        let s = &self.graph.snapshot;
        !s.layout.edge_name_is_index(s.edge_type[e]) && self.is_name(s.edge_name[e], which)
    }

    /// The closure a closure's context captures that was created by the same function, if
    /// any: the link of a closure chain (`prev` in `last = () => prev…`).
    pub fn previous_in_chain(&self, closure: u32) -> Option<u32> {
        self.chain_link(closure).map(|link| link.previous)
    }

    /// How a closure's context keeps an earlier closure of the same function alive: directly
    /// (a captured variable is that closure: `last = () => prev…`), or through an object (a
    /// captured variable is an object whose property is that closure — the `replaceThing`
    /// leak, where a method shares its scope with a sibling function that uses the previous
    /// object). The direct link wins; among objects, the first in edge order, and only the
    /// first [`LINK_PROPERTIES`] properties of each are looked at (a huge dictionary captured
    /// by a module scope is not a link, and is not scanned once per closure of the module).
    pub fn chain_link(&self, closure: u32) -> Option<ChainLink> {
        let s = &self.graph.snapshot;
        let own = self.locations.key(closure)?;
        let context = self.edge_named(closure, CONTEXT)?;
        let captured = || {
            s.edges_of(context)
                .filter(|&e| s.edge_type[e] == s.layout.edge_types.context)
        };
        let same_function =
            |t: u32| t != closure && self.is_closure(t) && self.locations.key(t) == Some(own);
        if let Some(e) = captured().find(|&e| same_function(s.edge_to[e])) {
            return Some(ChainLink {
                previous: s.edge_to[e],
                variable: e,
                property: None,
            });
        }
        captured().find_map(|e| {
            let object = s.edge_to[e];
            if !self.is_object(object) {
                return None;
            }
            s.edges_of(object)
                .filter(|&p| s.edge_type[p] == s.layout.edge_types.property)
                .take(LINK_PROPERTIES)
                .find(|&p| same_function(s.edge_to[p]))
                .map(|p| ChainLink {
                    previous: s.edge_to[p],
                    variable: e,
                    property: Some(p),
                })
        })
    }

    /// The other closures whose context is `closure`'s (they share its scope, so what one of
    /// them uses stays alive as long as any of them lives), lowest location first.
    pub fn context_siblings(&self, closure: u32) -> Vec<u32> {
        let g = self.graph;
        let Some(context) = self.edge_named(closure, CONTEXT) else {
            return Vec::new();
        };
        let mut siblings: Vec<(Option<SourceLocation>, u32)> = g
            .retainers_of(context)
            .filter(|&slot| self.is_name_edge(g.retainer_edge()[slot] as usize, CONTEXT))
            .map(|slot| g.retainer_node(slot))
            .filter(|&c| c != closure && self.is_closure(c))
            .map(|c| (self.location_of(c), c))
            .collect();
        siblings.sort();
        siblings.dedup_by(|a, b| a.0.is_some() && a.0 == b.0);
        siblings.into_iter().map(|(_, c)| c).collect()
    }

    /// Where the objects `values` (a collection's entries) were created, from the code that
    /// allocates them: an object literal has no location of its own, but V8 keeps the literal's
    /// boilerplate — an object with the literal's map — in an AllocationSite of the feedback
    /// vector of the function that contains the literal:
    ///
    /// ```text
    /// entry --map--> M <--map-- boilerplate <--transition_info-- AllocationSite
    ///   <-- FeedbackVector --> SharedFunctionInfo <--shared-- closure (located)
    /// ```
    ///
    /// (`docs/node-heap-shapes.md`, "Where an object literal was created".) Only the
    /// AllocationSite path counts: a FeedbackVector also holds weak references to maps used by
    /// property-access ICs of other functions.
    ///
    /// Several candidates (entries with several maps, or a map made by literals in several
    /// functions) are settled by a stable rule, so the answer does not depend on heap layout or
    /// edge order: the location that explains the most entries wins, ties go to the lowest
    /// (script name, line, column). Returns `file:line:column` (1-based).
    pub fn allocation_location(&self, values: &[u32]) -> Option<SourceLocation> {
        let g = self.graph;
        let s = &g.snapshot;
        let code = s.layout.node_types.code;
        let weak = s.layout.edge_types.weak;
        let mut per_map: FxHashMap<u32, u64> = FxHashMap::default();
        for &v in values {
            if let Some(m) = self.edge_named(v, MAP) {
                *per_map.entry(m).or_default() += 1;
            }
        }
        // (script name, line, column) → entries it explains.
        let mut per_location: BTreeMap<(String, u32, u32), (u64, u32)> = BTreeMap::new();
        let mut maps: Vec<(u32, u64)> = per_map.into_iter().collect();
        maps.sort_unstable();
        for (m, entries) in maps {
            let mut found: BTreeMap<(String, u32, u32), u32> = BTreeMap::new();
            for slot in g.retainers_of(m) {
                let boilerplate = g.retainer_node(slot);
                if !self.is_name_edge(g.retainer_edge()[slot] as usize, MAP)
                    || !self.is_object(boilerplate)
                {
                    continue;
                }
                for slot in g.retainers_of(boilerplate) {
                    let site = g.retainer_node(slot);
                    if !self.is_name_edge(g.retainer_edge()[slot] as usize, TRANSITION_INFO)
                        || !self.raw_name_is(site, ALLOCATION_SITE)
                    {
                        continue;
                    }
                    for slot in g.retainers_of(site) {
                        let vector = g.retainer_node(slot);
                        if s.edge_type[g.retainer_edge()[slot] as usize] == weak
                            || !self.raw_name_is(vector, FEEDBACK_VECTOR)
                        {
                            continue;
                        }
                        // The vector's SharedFunctionInfo: its first `code` target that a
                        // located closure points to through `shared`.
                        let located = s
                            .edges_of(vector)
                            .filter(|&e| s.edge_type[e] != weak)
                            .map(|e| s.edge_to[e])
                            .filter(|&t| s.node_type[t as usize] == code)
                            .find_map(|sfi| self.closure_location_of_shared(sfi));
                        if let Some((key, script_id)) = located {
                            found.insert(key, script_id);
                        }
                    }
                }
            }
            for (key, script_id) in found {
                per_location.entry(key).or_insert((0, script_id)).0 += entries;
            }
        }
        // Most entries first; BTreeMap order (lowest script name, line, column) breaks ties
        // because `max_by` keeps the last maximum: iterate in reverse.
        let ((_, line, column), (_, script_id)) = per_location
            .into_iter()
            .rev()
            .max_by_key(|(_, (entries, _))| *entries)?;
        Some(self.scripts.location(script_id, line, column))
    }

    /// The lowest location, as (script name, line, column) and script id, of the closures
    /// whose `shared` edge points to the SharedFunctionInfo `sfi` (all closures of one
    /// function share its location).
    fn closure_location_of_shared(&self, sfi: u32) -> Option<((String, u32, u32), u32)> {
        self.lowest_closure_location(sfi, SHARED)
    }

    /// The lowest location (script name, line, column) among the closures whose context is
    /// `context`. Many functions share one context (every top-level function of a module
    /// shares the module's), so this is only a fallback, made deterministic by taking the
    /// lowest rather than the first in retainer order (which follows heap layout).
    pub fn context_function_location(&self, context: u32) -> Option<SourceLocation> {
        self.lowest_closure_location(context, CONTEXT)
            .map(|((_, line, column), script_id)| self.scripts.location(script_id, line, column))
    }

    /// The lowest location, as (script name, line, column) and script id, among the closures
    /// that retain `target` through an edge named `edge` (`shared`, `context`).
    fn lowest_closure_location(
        &self,
        target: u32,
        edge: usize,
    ) -> Option<((String, u32, u32), u32)> {
        let g = self.graph;
        let s = &g.snapshot;
        g.retainers_of(target)
            .filter(|&slot| self.is_name_edge(g.retainer_edge()[slot] as usize, edge))
            .map(|slot| g.retainer_node(slot))
            .filter(|&c| self.is_closure(c))
            .filter_map(|c| {
                self.locations.index(c).map(|i| {
                    let l = s.locations[i];
                    let name = self.scripts.get(l.script_id).unwrap_or("").to_string();
                    ((name, l.line, l.column), l.script_id)
                })
            })
            .min()
    }

    /// `file:line:column` (1-based) of node `n`, if it has a location.
    pub fn location_of(&self, n: u32) -> Option<SourceLocation> {
        self.locations.index(n).map(|i| {
            let l = self.graph.snapshot.locations[i];
            self.scripts.location(l.script_id, l.line, l.column)
        })
    }

    /// What holds `n`, in terms that carry over between processes of one program (no ids, no
    /// heap order; see [`HolderKey`]). Up to `HOLDER_STEPS` (4) references up, each the most
    /// telling one — a variable of a scope, else a property, else an array element — ties
    /// broken by name and the holder's class. The walk ends at a scope (named by the lowest
    /// location among its functions) or at an instance of the app's own class (one with a
    /// constructor location outside Node and `node_modules`; a package's or Node's instance is
    /// a step on the way).
    pub fn holder_key(&self, n: u32) -> HolderKey {
        let mut key = HolderKey {
            class: self.graph.class_name(n).to_string(),
            steps: Vec::new(),
        };
        let mut node = n;
        for _ in 0..HOLDER_STEPS {
            // The store of an AsyncLocalStorage is held by the async resources that carry its
            // context, none of which the app knows: the storage is the holder a person knows.
            let reference = match self.async_storage_of(node) {
                Some(storage) => Some((Reference::Store, storage)),
                None => self.best_reference(node),
            };
            let Some((reference, holder)) = reference else {
                break;
            };
            let g = self.graph;
            let class_id = g.classes.class_of[holder as usize] as usize;
            let scope = match reference {
                Reference::Variable(_) => self.context_function_location(holder),
                _ => None,
            };
            let (described, ends) = if let Some(at) = scope {
                let module = self.is_module_scope(holder);
                (Holder::Scope { at, module }, true)
            } else if self.is_global_object(holder) {
                (Holder::Global, true)
            } else if let Some(l) = g.classes.locations[class_id] {
                let at = self.scripts.location(l.script_id, l.line, l.column);
                let class = g.class_name(holder).to_string();
                // A package's or Node's instance (a DataLoader, an axios client, a stream's
                // WritableState) is not where the app's code holds it: go on up to the app's
                // variable.
                let ends = is_app_script(&at.file);
                (Holder::Instance { class, at }, ends)
            } else {
                (Holder::Object(g.class_name(holder).to_string()), false)
            };
            key.steps.push(HolderStep {
                reference,
                holder: described,
            });
            if ends {
                break;
            }
            node = holder;
        }
        key
    }

    /// The AsyncLocalStorage whose store `node` is, if it is one: since Node 24, a value of an
    /// `AsyncContextFrame` (a Map from each storage to its store); before, a property
    /// `[kResourceStore]` of async resources, which says only that it is some storage's store —
    /// named when the heap has one storage outside Node's own code.
    fn async_storage_of(&self, node: u32) -> Option<u32> {
        let g = self.graph;
        let s = &g.snapshot;
        // Most heaps have no storage at all: then nothing is a store, at no cost per step.
        let any = *self.any_async_storage.get_or_init(|| {
            g.classes
                .names
                .iter()
                .any(|name| name == "AsyncLocalStorage")
        });
        if !any {
            return None;
        }
        let mut in_frame = None;
        let mut resource_store = false;
        for slot in g.retainers_of(node) {
            let e = g.retainer_edge()[slot] as usize;
            let holder = g.retainer_node(slot);
            if !s.layout.edge_name_is_index(s.edge_type[e])
                && s.edge_name_str(e) == "<symbol kResourceStore>"
            {
                resource_store = true;
            } else if in_frame.is_none()
                && s.node_type[holder as usize] == s.layout.node_types.array
            {
                // An AsyncContextFrame's entries live in its hash table, an array.
                in_frame = g
                    .retainers_of(holder)
                    .map(|up| g.retainer_node(up))
                    .find(|&frame| g.class_name(frame) == "AsyncContextFrame");
            }
        }
        if let Some(frame) = in_frame {
            return self
                .map_pairs(frame)
                .into_iter()
                .find(|&(_, value)| value == node)
                .and_then(|(key, _)| key);
        }
        if !resource_store {
            return None;
        }
        let storages = self.async_storages.get_or_init(|| {
            (0..s.node_count() as u32)
                .filter(|&n| self.is_object(n) && g.class_name(n) == "AsyncLocalStorage")
                .filter(|&n| {
                    // The app's: held by something other than Node's own modules.
                    !self.holder_key_is_node_internal(n)
                })
                .collect()
        });
        match storages.as_slice() {
            [one] => Some(*one),
            _ => None,
        }
    }

    /// Whether what holds `n` directly is a variable of one of Node's own scripts.
    fn holder_key_is_node_internal(&self, n: u32) -> bool {
        let g = self.graph;
        let s = &g.snapshot;
        g.retainers_of(n).all(|slot| {
            let e = g.retainer_edge()[slot] as usize;
            if s.edge_type[e] != s.layout.edge_types.context {
                return true;
            }
            self.context_function_location(g.retainer_node(slot))
                .is_none_or(|at| !is_app_script(&at.file))
        })
    }

    /// Whether `node` is the global object (`globalThis`: Node's `global`, a page's `Window`).
    pub fn is_global_object(&self, node: u32) -> bool {
        self.is_object(node) && matches!(self.graph.class_name(node), "global" | "Window")
    }

    /// Whether `context` is the top level of a module: the scope it is nested in (`previous`)
    /// is the global one (V8's NativeContext).
    pub fn is_module_scope(&self, context: u32) -> bool {
        let s = &self.graph.snapshot;
        // An internal edge: a variable of the scope may be called `previous` too.
        s.edges_of(context).any(|e| {
            s.edge_type[e] == s.layout.edge_types.internal
                && self.is_name(s.edge_name[e], PREVIOUS)
                && self.raw_name_is(s.edge_to[e], NATIVE_CONTEXT)
        })
    }

    /// The most telling reference to `node` and its holder (see [`Self::holder_key`]).
    fn best_reference(&self, node: u32) -> Option<(Reference, u32)> {
        let g = self.graph;
        let s = &g.snapshot;
        let et = s.layout.edge_types;
        // Ranked as `Reference` orders: variables, then properties, then elements, each by
        // name; then by the holder's class. An object can have thousands of retainers under
        // a few names (`owner` of every entry): each distinct name is decoded once.
        let mut candidates: Vec<(u8, u32, usize, u32)> = g
            .retainers_of(node)
            .filter_map(|slot| {
                let e = g.retainer_edge()[slot] as usize;
                let t = s.edge_type[e];
                let holder = g.retainer_node(slot);
                let rank = if t == et.context {
                    0u8
                } else if t == et.property {
                    1
                } else if t == et.element {
                    2
                } else {
                    return None;
                };
                let synthetic = s.node_type[holder as usize] == s.layout.node_types.synthetic;
                let name = if rank < 2 { s.edge_name[e] } else { 0 };
                (holder != node && !synthetic).then_some((rank, name, e, holder))
            })
            .collect();
        let best_rank = candidates.iter().map(|c| c.0).min()?;
        candidates.retain(|c| c.0 == best_rank);
        candidates.sort_unstable_by_key(|c| c.1);
        let mut best: Option<(std::borrow::Cow<'_, str>, &str, usize, u32)> = None;
        for group in candidates.chunk_by(|a, b| a.1 == b.1) {
            let (_, _, e, _) = group[0];
            let name = if best_rank < 2 {
                s.edge_name_str(e)
            } else {
                Default::default()
            };
            for &(_, _, e, holder) in group {
                let class = g.class_name(holder);
                let better = best
                    .as_ref()
                    .is_none_or(|(n, c, _, _)| (&name, class) < (n, *c));
                if better {
                    best = Some((name.clone(), class, e, holder));
                }
            }
        }
        let (name, _, _, holder) = best?;
        let reference = match best_rank {
            0 => Reference::Variable(name.into_owned()),
            1 => Reference::Property(name.into_owned()),
            _ => Reference::Element,
        };
        Some((reference, holder))
    }

    /// The nodes whose [`holder_key`](Self::holder_key) is `key`, in node order: found by
    /// their class and the first reference's name before the whole key is compared.
    pub fn held_by(&self, key: &HolderKey) -> Vec<u32> {
        let g = self.graph;
        let s = &g.snapshot;
        let classes: Vec<bool> = g.classes.names.iter().map(|n| *n == key.class).collect();
        let first = key.steps.first().map(|step| &step.reference);
        (0..s.node_count() as u32)
            .filter(|&n| classes[g.classes.class_of[n as usize] as usize])
            .filter(|&n| match first {
                None => true,
                Some(reference) => g.retainers_of(n).any(|slot| {
                    let e = g.retainer_edge()[slot] as usize;
                    let t = s.edge_type[e];
                    let et = s.layout.edge_types;
                    match reference {
                        Reference::Variable(name) => t == et.context && s.edge_name_str(e) == *name,
                        Reference::Property(name) => {
                            t == et.property && s.edge_name_str(e) == *name
                        }
                        Reference::Element => t == et.element,
                        Reference::Store => true,
                    }
                }),
            })
            .filter(|&n| self.holder_key(n) == *key)
            .collect()
    }

    /// A closure's or timer callback's stable key: its location, or its name when it has none.
    pub fn function_key(&self, f: u32) -> String {
        self.location_of(f)
            .map(|l| l.to_string())
            .unwrap_or_else(|| format!("{} (no location)", self.graph.snapshot.node_name_str(f)))
    }
}

/// The object-holding slots of a hash table, in slot order.
struct HashTable {
    slots: Vec<TableSlot>,
}

struct TableSlot {
    /// Entry number (slot index divided by the entry size).
    entry: u32,
    is_key: bool,
    is_value: bool,
    target: u32,
}

/// How many references up [`Shapes::holder_key`] looks for a name that carries over between
/// processes.
const HOLDER_STEPS: usize = 4;

/// "No location" in per-node location tables.
pub const NO_LOCATION: u32 = u32::MAX;

#[cfg(test)]
mod tests {
    use super::entries_start;

    #[test]
    fn hash_table_entries_start_after_the_buckets() {
        // Node (8-byte slots): a Map with 512 buckets is 3 + 7 * 512 slots plus a header.
        assert_eq!(entries_start(16 + 8 * (3 + 7 * 512), 3), Some(3 + 512));
        assert_eq!(entries_start(120, 2), Some(5)); // a Set with 2 buckets
                                                    // Pointer compression (4-byte slots): a Map with 4 buckets.
        assert_eq!(entries_start(8 + 4 * (3 + 7 * 4), 3), Some(7));
        // Neither width gives a power of two of buckets.
        assert_eq!(entries_start(16 + 8 * (3 + 7 * 3), 3), None);
        assert_eq!(entries_start(0, 3), None);
    }
}
