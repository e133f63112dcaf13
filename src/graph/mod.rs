//! The retainer graph of one snapshot, with everything Chrome DevTools derives from it:
//! retainers (reverse CSR), DevTools' "essential" edges, the shallow-size pre-pass, the
//! dominator tree, retained sizes, distances and class names.
//!
//! Every rule here follows DevTools' heap snapshot worker (`HeapSnapshot.ts`,
//! `JSHeapSnapshot`) so that each number equals what DevTools shows for the same file; the
//! parity tests compare node by node against DevTools' own code. `docs/devtools-rules.md`
//! describes the rules. Heap data stays in flat columns indexed by node ordinal (`u32`).

pub mod bits;
pub mod classes;
pub mod dominators;
pub mod locations;
pub mod names;
pub mod prefetch;
mod weakmap;

use rayon::prelude::*;

use std::path::Path;

use crate::column::{Checked, Column};
use std::cell::RefCell;
use std::sync::{Arc, Mutex, OnceLock};

use crate::error::Result;
use crate::index::{FileIdentity, IndexCache, Lookup, Saving};
use crate::observe::{Observer, Stage};
use crate::snapshot::{ReadAhead, Snapshot};
use crate::summary::SummaryFacts;
use bits::BitSet;
pub use classes::{ClassId, Classes};
use weakmap::WeakMapEdgeNames;

/// Distance of nodes no BFS reached (DevTools' `noDistance`).
pub const NO_DISTANCE: i32 = -5;
/// Distance given to the root when the snapshot has user roots, so that objects reached only
/// through system roots sort after everything reachable from user roots.
pub const BASE_SYSTEM_DISTANCE: i32 = 100_000_000;

/// One snapshot with the columns derived without dominators: retainers, DevTools' essential
/// edges, shallow sizes after the pre-pass, DOM state and class names. The first stage of
/// [`HeapGraph`]; what reads no dominator column takes this type, so it can run while the
/// dominators are computed (`HeapGraph::build_alongside`).
pub struct RetainerGraph {
    pub snapshot: Snapshot,
    /// The root node's ordinal (always 0 in V8 snapshots).
    pub root: u32,
    /// The retainer lists: built with the graph, let go after the dominators by a build
    /// told that nothing will read them ([`Columns`]), and then rebuilt if something does.
    pub(crate) lists: OnceLock<RetainerLists>,
    /// Per edge: whether it retains for dominator purposes (DevTools' essential edges).
    pub essential: BitSet,
    /// Per node: shallow size after DevTools' pre-pass (owned arrays/hidden moved to owners).
    pub self_size: Column<u64>,
    /// Per node: whether DevTools renames it `Detached …` (a detached DOM node).
    pub detached: BitSet,
    /// Class of every node and the class table.
    pub classes: Classes,
    /// Whether the root has user-root children (Chrome pages; not Node.js).
    pub has_user_roots: bool,
}

/// Every node's retainers (the reverse CSR), which commands that walk retainers (owners, a
/// diff's detectors) and an index read; a build that needs none never makes them. Each slot
/// holds the retaining edge only: its node is the edge's owner
/// ([`RetainerGraph::retainer_node`]), looked up when read rather than stored beside every
/// slot (a column as long as the edges).
pub struct RetainerLists {
    /// `first_retainer[n]..first_retainer[n + 1]` index `retainer_edge`.
    pub first_retainer: Column<u32>,
    /// Per retainer slot: the retaining edge's index.
    pub retainer_edge: Column<u32>,
}

/// The dominator tree of a [`RetainerGraph`] and the retained sizes it gives.
pub struct DominatorTree {
    /// Per node: immediate dominator (the root's is itself).
    pub idom: Column<u32>,
    /// Every node once, each after its immediate dominator (the dominators' DFS order, root
    /// first): bottom-up passes walk it backwards, top-down passes forwards, with no tree.
    pub order: Column<u32>,
    /// Per position in `order`: the position of that node's immediate dominator (always a
    /// smaller one; the root's is 0). Top-down and bottom-up passes over the dominator tree
    /// read it in sequence instead of looking `idom` up node by node.
    pub order_idom: Column<u32>,
    /// Per node: retained size.
    pub retained_size: Column<u64>,
    /// How many nodes the root could not reach through essential edges.
    pub unreachable_count: usize,
}

/// A snapshot fully analysed: its [`RetainerGraph`] (which it dereferences to, so the
/// retainer columns read the same at both stages), its [`DominatorTree`] and, when built
/// with them, its distances.
pub struct HeapGraph {
    retainers: RetainerGraph,
    pub dominators: DominatorTree,
    /// Per node: BFS distance from the roots, or [`NO_DISTANCE`]; `None` when built with
    /// [`Columns::NO_DISTANCES`].
    pub distance: Option<Column<i32>>,
    /// The index being saved for this graph, when it was built with an index cache and had
    /// none: to be waited for ([`take_saving`](Self::take_saving)).
    saving: Option<Saving>,
    /// What a summary of this graph is made of, once computed or loaded from its index.
    summary_facts: Mutex<Option<Arc<SummaryFacts>>>,
}

impl std::ops::Deref for HeapGraph {
    type Target = RetainerGraph;

    fn deref(&self) -> &RetainerGraph {
        &self.retainers
    }
}

/// The identity of the snapshot at `path` for its index, or `None` for what has no lasting
/// identity (standard input, pipes).
pub(crate) fn indexed_identity(path: &Path) -> Option<FileIdentity> {
    if path == Path::new("-") {
        return None;
    }
    FileIdentity::of(path).ok()
}

/// Phases reported to a progress observer: the dominators' DFS, with the work that runs
/// beside it, then the rest of the dominators, with theirs (`HeapGraph::build_alongside`
/// says which work runs where).
pub const PHASES: &[&str] = &["dfs", "dominators"];

/// Where a build's columns are saved as they are made (an index being written): told of the
/// retainer lists as soon as they are built, when the build makes them, and of the
/// [`RetainerGraph`]'s other columns once it exists.
pub(crate) trait BuildSink: Sync {
    /// The retainer lists, just built.
    fn lists_built(&self, lists: &RetainerLists);
    /// The graph after the first phase (its lists are already told).
    fn retainers_built(&self, graph: &RetainerGraph);
}

/// Whether a caller gives a build work of its own to run beside the dominators' sequential
/// loops (`alongside`), which decides where their parallel first step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beside {
    /// No caller work beside the dominators (`alongside`, if any, runs after them): the
    /// distances and class names run beside the DFS, the predecessor translation takes both
    /// cores, and the loops run beside the build's other columns.
    Nothing,
    /// Work such as a diff's measurements, as long as the loops or longer: the build's other
    /// columns run beside the DFS; the translation runs with the loops, beside the distances
    /// and the work, so that they start at once.
    Work,
    /// Work that should not hold its memory while the dominators hold theirs (a diff short of
    /// memory): it runs once they are done, with the retainer lists, which are built then
    /// too (not beside the dominators' working columns); the build itself runs as with
    /// `Nothing`.
    After,
}

/// The caller's `alongside` work in a build: to run beside the dominators or after them, or
/// its result.
enum Alongside<F, R> {
    Beside(F),
    After(F),
    Done(R),
}

/// Which optional columns a build computes, and which it keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Columns {
    /// Whether to compute distances (`distance` is `None` without).
    pub distances: bool,
    /// Whether to keep the retainer lists after the dominators (without, they are let go
    /// and rebuilt if something reads them after all).
    pub retainer_lists: bool,
}

impl Columns {
    /// Every column, all kept.
    pub const ALL: Columns = Columns {
        distances: true,
        retainer_lists: true,
    };
    /// No distances: for analyses that never read them, such as snapshot diffs.
    pub const NO_DISTANCES: Columns = Columns {
        distances: false,
        retainer_lists: true,
    };
    /// Every column, but the retainer lists are let go once the dominators are computed:
    /// for commands that read no retainer (a summary), whose peak memory they would set.
    pub const NO_RETAINERS_AFTER: Columns = Columns {
        distances: true,
        retainer_lists: false,
    };
}

impl HeapGraph {
    /// Reads and analyses the snapshot at `path` (the `columns` asked for), telling
    /// `observer` its stages.
    pub fn open(
        path: &Path,
        columns: Columns,
        index: Option<&IndexCache>,
        observer: &dyn Observer,
    ) -> Result<HeapGraph> {
        Ok(Self::open_alongside(
            path,
            None,
            columns,
            index,
            observer,
            || (),
            Beside::Nothing,
            |_| (),
        )?
        .0)
    }

    /// [`open`](Self::open) with `columns`, running `first` and (`beside` says whether there
    /// is any) `alongside` as [`build_alongside`](Self::build_alongside) does. `ahead` is the
    /// snapshot at `path` if it is already being read.
    ///
    /// With an `index` cache, a snapshot indexed before is read from its index (then `first`
    /// and `alongside` run side by side on the loaded graph), and one that is not is saved
    /// there after it is built. An index that cannot be used, or cannot be saved, is noted to
    /// the observer and the work goes on without it.
    #[allow(clippy::too_many_arguments)] // the build's own three, then the caller's work and where it runs
    pub(crate) fn open_alongside<Q: Send, R: Send>(
        path: &Path,
        ahead: Option<ReadAhead>,
        columns: Columns,
        index: Option<&IndexCache>,
        observer: &dyn Observer,
        first: impl FnOnce() -> Q + Send,
        beside: Beside,
        alongside: impl FnOnce(&RetainerGraph) -> R + Send,
    ) -> Result<(HeapGraph, Q, R)> {
        let identity = index.and_then(|_| indexed_identity(path));
        if let (Some(cache), Some(identity)) = (index, &identity) {
            observer.stage(Stage::LoadingIndex(path));
            match cache.load(identity) {
                Lookup::Found(graph) => {
                    let mut graph = *graph;
                    // Only when the index appeared after the read started (callers do not
                    // read indexed files ahead): that read is left to end on its own.
                    drop(ahead);
                    if columns.distances {
                        graph.ensure_distances();
                    }
                    let (first_result, beside) = rayon::join(first, || alongside(&graph));
                    return Ok((graph, first_result, beside));
                }
                Lookup::Absent => {}
                Lookup::Unusable(why) => observer.note(&format!(
                    "the index of {} in {} is not used: {why}; it is rebuilt",
                    path.display(),
                    cache.dir().display()
                )),
            }
        }
        observer.stage(Stage::Reading(path));
        let snapshot = match ahead {
            Some(reading) => reading.finish()?,
            None => Snapshot::open(path)?,
        };
        // The parsed columns are written while the graph is built, the rest while the caller
        // works: the caller waits for it at the end (`take_saving`).
        let saving = match (index, identity) {
            (Some(cache), Some(identity)) => {
                match Saving::start(cache, identity, path, &snapshot) {
                    Ok(saving) => Some(saving),
                    Err(e) => {
                        crate::index::note_unsaved(observer, "index", path, cache.dir(), &e);
                        None
                    }
                }
            }
            _ => None,
        };
        let (mut graph, first_result, beside) = Self::build_alongside(
            snapshot,
            columns,
            &|phase| observer.stage(Stage::Building(path, phase)),
            saving.as_ref().map(|saving| saving as &dyn BuildSink),
            first,
            beside,
            alongside,
        );
        if let Some(mut saving) = saving {
            if indexed_identity(path) == identity {
                saving.finish(&graph);
                graph.saving = Some(saving);
            } else {
                observer.note(&format!(
                    "{} changed while it was read; its index is not saved",
                    path.display()
                ));
            }
        }
        Ok((graph, first_result, beside))
    }

    /// Builds every derived column. `progress` is told each phase as it starts.
    pub fn build(snapshot: Snapshot, progress: &dyn Fn(&str)) -> HeapGraph {
        Self::build_alongside(
            snapshot,
            Columns::ALL,
            progress,
            None,
            || (),
            Beside::Nothing,
            |_| (),
        )
        .0
    }

    /// Builds the graph and runs caller work on the core the build leaves idle: `first`, which
    /// sees nothing of this graph (it is for work left over from elsewhere, such as a previous
    /// snapshot's), after the build's other columns, on the core beside the DFS (with caller
    /// work beside the dominators) or beside the dominators' loops (without); and
    /// `alongside`, given the [`RetainerGraph`], beside the dominators' loops (`Beside::Work`,
    /// on a thread of its own: see `run_on_own_thread`) or after them. `sink`, when the build
    /// is saved, is told of the retainer lists as soon as they are built and of the
    /// [`RetainerGraph`] as soon as it exists.
    pub(crate) fn build_alongside<Q: Send, R: Send>(
        snapshot: Snapshot,
        columns: Columns,
        progress: &dyn Fn(&str),
        sink: Option<&dyn BuildSink>,
        first: impl FnOnce() -> Q + Send,
        beside: Beside,
        alongside: impl FnOnce(&RetainerGraph) -> R + Send,
    ) -> (HeapGraph, Q, R) {
        let root = 0u32;
        let s = &snapshot;
        // Whether the retainer lists are built with the other columns: for work beside the
        // dominators (with each slot's retaining node, from which the dominators then read
        // their predecessors) or a caller that keeps them. A build short of memory (work after
        // the dominators) builds them once the dominators' working columns are gone, unless
        // an index is saved; otherwise nothing builds the lists (a later reader builds them:
        // `retainer_lists`; a few nodes' retainers are found by a scan of the edges:
        // `retainers_of_node`). An index saves the lists a build made, and none when it
        // made none: building them only to be saved cost the first command that saves an
        // index more than reading a few retainers without them costs later commands (README,
        // The second look).
        let lists_first = match beside {
            Beside::Work => true,
            Beside::After => sink.is_some(),
            Beside::Nothing => columns.retainer_lists,
        };
        progress(PHASES[0]);
        let weakmaps = WeakMapEdgeNames::find(s);
        let number = || number_judging(s, root, &weakmaps);
        // DevTools' shallow sizes, and whether there are user roots they depend on.
        let sizes = || {
            let has_user_roots = s.edges_of(root).any(|e| is_user_root(s, s.edge_to[e]));
            let self_size: Column<u64> = if has_user_roots {
                shallow_sizes(s, root).into()
            } else {
                s.node_self_size.clone()
            };
            (has_user_roots, self_size)
        };
        // DOM state (detachedness) and the class of every node.
        let names = || {
            let detached = propagate_dom_state(s);
            let classes = Classes::compute(s, &detached);
            (detached, classes)
        };
        // The build's other columns (with the class names, unless made already), and the
        // caller's leftover work.
        let other_columns = |named: Option<(BitSet, Classes)>| {
            // Beside caller work, the dominators translate their predecessors from the
            // lists, which then need each slot's retaining node for a while.
            let sources = match beside {
                Beside::Work => SourceColumn::With,
                Beside::Nothing | Beside::After => SourceColumn::Without,
            };
            let retainers = lists_first.then(|| {
                let (lists, sources) = build_retainers(s, sources);
                if let Some(sink) = sink {
                    sink.lists_built(&lists);
                }
                (lists, sources)
            });
            let (detached, classes) = named.unwrap_or_else(names);
            let (has_user_roots, self_size) = sizes();
            let first_result = first();
            (
                retainers,
                (detached, has_user_roots, self_size, classes),
                first_result,
            )
        };
        // With caller work beside the dominators' loops, the other core makes the build's
        // other columns beside the DFS, and the distances come beside the loops, before the
        // caller's work. Otherwise the other core makes the distances and class names beside
        // the DFS (which finds DevTools' page-owned set itself, and judges the edges as it
        // scans them rather than after a pass over all edges), then the predecessor
        // translation takes both cores, and the shallow sizes, the retainer lists (if built)
        // and the caller's leftover work come beside the loops. The class names beside the
        // loops met the loops' working columns at the build's peak (README, Speed).
        let (so_far, essential, (retainers, columns_made, first_result), early_distance) =
            if beside == Beside::Work {
                let ((numbering, essential), made) = rayon::join(number, || other_columns(None));
                (SoFar::Numbering(numbering), essential, made, None)
            } else {
                let ((numbering, essential), (early_distance, named)) = rayon::join(number, || {
                    let distance = columns.distances.then(|| distances(s, root, &weakmaps));
                    (distance, names())
                });
                progress(PHASES[1]);
                let prepared =
                    dominators::prepare_forward(&forward_graph(s, root, &essential), numbering);
                let (doms, made) = rayon::join(|| prepared.finish(), || other_columns(Some(named)));
                (SoFar::Done(doms), essential, made, early_distance)
            };
        let (detached, has_user_roots, self_size, classes) = columns_made;
        let (lists, retainer_sources) = match retainers {
            Some((lists, sources)) => (OnceLock::from(lists), sources),
            None => (OnceLock::new(), None),
        };
        let mut graph = RetainerGraph {
            snapshot,
            root,
            lists,
            essential,
            self_size,
            detached,
            classes,
            has_user_roots,
        };
        if beside == Beside::Work {
            progress(PHASES[1]);
        }
        if let Some(sink) = sink {
            sink.retainers_built(&graph);
        }
        let g = &graph;
        let alongside = match beside {
            Beside::After => Alongside::After(alongside),
            Beside::Nothing | Beside::Work => Alongside::Beside(alongside),
        };
        let ((doms, retained_size), (distance, beside)) = match so_far {
            SoFar::Done(doms) => {
                let retained_size = dominators::retained_sizes(&doms, &g.self_size);
                ((doms, retained_size), (early_distance, alongside))
            }
            // Caller work runs beside the dominators' loops, which read their predecessors
            // from the retainer lists, in the loops' own chain, so that the work starts at
            // once (the translation from the forward edges on both cores beside it took 1.12
            // times as long in a diff: README, Speed: measured choices).
            SoFar::Numbering(numbering) => rayon::join(
                || {
                    let prepared = match &retainer_sources {
                        Some(sources) => {
                            dominators::prepare(&dominator_input(g, sources), numbering)
                        }
                        None => dominators::prepare_forward(
                            &forward_graph(&g.snapshot, root, &g.essential),
                            numbering,
                        ),
                    };
                    let doms = prepared.finish();
                    let retained_size = dominators::retained_sizes(&doms, &g.self_size);
                    (doms, retained_size)
                },
                || {
                    let distance = early_distance.or_else(|| {
                        columns
                            .distances
                            .then(|| distances(&g.snapshot, root, &weakmaps))
                    });
                    let beside = match alongside {
                        Alongside::Beside(work) => Alongside::Done(run_on_own_thread(|| work(g))),
                        other => other,
                    };
                    (distance, beside)
                },
            ),
        };
        let beside = match beside {
            Alongside::Done(result) => result,
            Alongside::After(work) => {
                // Built here (unless built first for an index), when the dominators hold only
                // their results: the work reads them, and so may its caller.
                graph.retainer_lists();
                work(&graph)
            }
            Alongside::Beside(work) => work(&graph),
        };
        if !columns.retainer_lists {
            // The dominators and a caller's work beside or after them (`Beside::Work`,
            // `Beside::After`) read the lists until now; otherwise they are gone already.
            graph.lists = OnceLock::new();
        }
        let dominators = DominatorTree {
            // The dominators' first DFS is the one from the root over essential edges.
            unreachable_count: graph.node_count() - doms.reachable,
            idom: doms.idom.into(),
            order: doms.preorder.into(),
            order_idom: doms.idom_number.into(),
            retained_size: retained_size.into(),
        };
        let graph = HeapGraph {
            retainers: graph,
            dominators,
            distance: distance.map(Column::from),
            saving: None,
            summary_facts: Mutex::new(None),
        };
        (graph, first_result, beside)
    }

    /// A graph from its parts, as an index file stores them.
    pub(crate) fn from_parts(
        retainers: RetainerGraph,
        dominators: DominatorTree,
        distance: Option<Column<i32>>,
    ) -> HeapGraph {
        HeapGraph {
            retainers,
            dominators,
            distance,
            saving: None,
            summary_facts: Mutex::new(None),
        }
    }

    /// The summary facts computed for this graph or loaded with it, if any.
    pub fn summary_facts(&self) -> Option<Arc<SummaryFacts>> {
        self.summary_facts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Keeps `facts` as this graph's summary facts (for later summaries and its index).
    pub fn keep_summary_facts(&self, facts: Arc<SummaryFacts>) {
        *self.summary_facts.lock().unwrap_or_else(|e| e.into_inner()) = Some(facts);
    }

    /// The index being saved for this graph, if any: wait for it before the process ends
    /// ([`Saving::wait_noting`]). A saving never taken is waited for when the graph is
    /// dropped.
    pub fn take_saving(&mut self) -> Option<Saving> {
        self.saving.take()
    }

    /// Every column of the graph, for checking them all at once.
    fn columns(&self) -> Vec<&dyn Checked> {
        let s = &self.retainers.snapshot;
        let g = &self.retainers;
        let d = &self.dominators;
        let mut all: Vec<&dyn Checked> = vec![
            &s.node_type,
            &s.node_name,
            &s.node_id,
            &s.node_self_size,
            &s.node_trace_id,
            &s.node_detachedness,
            &s.first_edge,
            &s.edge_type,
            &s.edge_name,
            &s.edge_to,
            &s.locations,
            &s.trace_function_infos,
            &s.strings,
            &g.self_size,
            &g.classes.class_of,
            &d.idom,
            &d.order,
            &d.order_idom,
            &d.retained_size,
        ];
        if let Some(lists) = self.retainer_lists_kept() {
            all.extend([&lists.first_retainer as &dyn Checked, &lists.retainer_edge]);
        }
        if let Some(distance) = &self.distance {
            all.push(distance);
        }
        all
    }

    /// Whether every column matches its checksum (always, for a graph not loaded from an
    /// index), checking them all now without panicking.
    pub fn columns_intact(&self) -> bool {
        self.columns().iter().all(|c| c.is_intact())
    }

    /// Checks every column now, so that a graph loaded from an index has had all its
    /// checksums checked (a damaged one panics here, for [`crate::index::recover`]) before a
    /// caller starts writing output from it.
    pub fn check_columns(&self) {
        self.columns().iter().for_each(|c| c.check());
    }

    /// Lets the retainer lists go: a reader that asks for them again rebuilds them.
    pub(crate) fn let_go_of_retainer_lists(&mut self) {
        self.retainers.lists.take();
    }

    /// Computes the distances if this graph was built without them.
    pub(crate) fn ensure_distances(&mut self) {
        if self.distance.is_none() {
            let s = &self.retainers.snapshot;
            let weakmaps = WeakMapEdgeNames::find(s);
            self.distance = Some(distances(s, self.retainers.root, &weakmaps).into());
        }
    }

    /// The retainer graph, taken apart from the dominator tree and distances.
    pub fn into_parts(self) -> (RetainerGraph, DominatorTree, Option<Column<i32>>) {
        (self.retainers, self.dominators, self.distance)
    }

    /// Node `n`'s retained size.
    pub fn retained_size(&self, n: u32) -> u64 {
        self.dominators.retained_size[n as usize]
    }

    /// Node `n`'s immediate dominator (the root's is itself).
    pub fn idom(&self, n: u32) -> u32 {
        self.dominators.idom[n as usize]
    }

    /// DevTools' total size: the root's retained size (plus `extra_native_bytes`, if any).
    pub fn total_size(&self) -> u64 {
        self.retained_size(self.root) + self.snapshot.extra_native_bytes
    }
}

impl RetainerGraph {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.snapshot.node_count()
    }

    /// Node `n`'s retainer slots (for `retainer_edge` and [`retainer_node`](Self::retainer_node)).
    pub fn retainers_of(&self, n: u32) -> std::ops::Range<usize> {
        let first = self.first_retainer();
        first[n as usize] as usize..first[n as usize + 1] as usize
    }

    /// The retainer lists, rebuilt first if the build let them go.
    pub fn retainer_lists(&self) -> &RetainerLists {
        self.lists
            .get_or_init(|| build_retainers(&self.snapshot, SourceColumn::Without).0)
    }

    /// The retainers of node `n` as (retaining node, edge), in no order to rely on: from the
    /// retainer lists when the graph has them, else from one parallel scan of every edge, so
    /// that a command reading the retainers of a few nodes need not keep (or rebuild) the
    /// lists of all of them, which would set its peak memory.
    pub fn retainers_of_node(&self, n: u32) -> Vec<(u32, u32)> {
        if let Some(lists) = self.retainer_lists_kept() {
            return self
                .retainers_of(n)
                .map(|slot| (self.retainer_node(slot), lists.retainer_edge[slot]))
                .collect();
        }
        let s = &self.snapshot;
        const NODES_PER_JOB: usize = 1 << 16;
        let jobs = s.node_count().div_ceil(NODES_PER_JOB);
        (0..jobs)
            .into_par_iter()
            .flat_map_iter(|job| {
                let nodes = job * NODES_PER_JOB..((job + 1) * NODES_PER_JOB).min(s.node_count());
                nodes.flat_map(move |from| {
                    s.edges_of(from as u32)
                        .filter(move |&e| s.edge_to[e] == n)
                        .map(move |e| (from as u32, e as u32))
                })
            })
            .collect()
    }

    /// The retainer lists if the graph has them now (without rebuilding them).
    pub fn retainer_lists_kept(&self) -> Option<&RetainerLists> {
        self.lists.get()
    }

    /// `first_retainer[n]..first_retainer[n + 1]` are node `n`'s retainer slots (for
    /// [`retainer_edge`](Self::retainer_edge) and [`retainer_node`](Self::retainer_node)).
    pub fn first_retainer(&self) -> &Column<u32> {
        &self.retainer_lists().first_retainer
    }

    /// Per retainer slot: the retaining edge's index.
    pub fn retainer_edge(&self) -> &Column<u32> {
        &self.retainer_lists().retainer_edge
    }

    /// The retaining node of retainer slot `slot`: its edge's owner.
    pub fn retainer_node(&self, slot: usize) -> u32 {
        self.snapshot.edge_owner(self.retainer_edge()[slot])
    }

    /// The class name of node `n`.
    pub fn class_name(&self, n: u32) -> &str {
        self.classes.name_of_node(n)
    }
}

/// How far the dominators have got by the end of a build's first phase.
enum SoFar {
    /// Nodes numbered by the DFS: the dominators are finished in the second phase, beside
    /// the caller's work.
    Numbering(dominators::DfsNumbering),
    /// The dominators, finished in the first phase.
    Done(dominators::Dominators),
}

/// The forward graph the dominators read when there are no retainer lists.
fn forward_graph<'a>(
    s: &'a Snapshot,
    root: u32,
    essential: &'a BitSet,
) -> dominators::ForwardGraph<'a> {
    dominators::ForwardGraph {
        root,
        first_edge: &s.first_edge,
        edge_to: &s.edge_to,
        essential,
    }
}

/// The forward and reverse graph the dominators read, with `sources` the retaining node of
/// each retainer slot.
fn dominator_input<'g>(g: &'g RetainerGraph, sources: &'g [u32]) -> dominators::DominatorInput<'g> {
    let lists = g.retainer_lists();
    dominators::DominatorInput {
        root: g.root,
        first_edge: &g.snapshot.first_edge,
        edge_to: &g.snapshot.edge_to,
        first_retainer: &lists.first_retainer,
        retainer_edge: &lists.retainer_edge,
        retainer_node: sources,
        essential: &g.essential,
    }
}

/// Runs `work` on a one-thread rayon pool of its own (its parallel iterators then run in
/// sequence there), or here if no thread can be started. Work beside the dominators goes
/// there: in the shared pool, a thread that waits in the dominators' parallel steps for a
/// task the other thread stole runs that thread's queued tasks meanwhile, so the dominators
/// (the longer chain) waited behind the work meant to fill their idle time (README, Speed:
/// measured choices).
fn run_on_own_thread<R: Send>(work: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// JS snapshot's user roots: any non-synthetic node, and the `(Document DOM trees)` root.
fn is_user_root(snapshot: &Snapshot, n: u32) -> bool {
    let t = snapshot.node_type[n as usize];
    t != snapshot.layout.node_types.synthetic || is_document_dom_trees_root(snapshot, n)
}

fn is_document_dom_trees_root(snapshot: &Snapshot, n: u32) -> bool {
    snapshot.node_type[n as usize] == snapshot.layout.node_types.synthetic
        && snapshot.strings.raw(snapshot.node_name[n as usize]) == b"(Document DOM trees)"
}

/// Whether a retainer-list build also gives each slot's retaining node, as a column of its
/// own (which the lists do not keep).
#[derive(Clone, Copy, PartialEq, Eq)]
enum SourceColumn {
    With,
    Without,
}

/// The reverse CSR, and with [`SourceColumn::With`] each slot's retaining node. Each node's
/// retainers are stored in reverse order of (source, edge), as DevTools fills them, so
/// retainer listings come out in the same order.
fn build_retainers(s: &Snapshot, sources: SourceColumn) -> (RetainerLists, Option<Vec<u32>>) {
    use prefetch::prefetch;
    // Both passes walk the edges in order and update their targets' counts or slots at
    // random: the edge column says which targets come next, so their counts are asked for
    // `FAR` edges ahead, and their slots `NEAR` edges ahead, once the counts have arrived
    // (README, Speed: measured choices).
    const FAR: usize = 128;
    const NEAR: usize = 64;
    let n = s.node_count();
    let m = s.edge_count();
    let edge_to = &s.edge_to[..];
    let mut first = vec![0u32; n + 1];
    for e in 0..m {
        if let Some(&ahead) = edge_to.get(e + FAR) {
            prefetch(&first, ahead as usize);
        }
        first[edge_to[e] as usize] += 1;
    }
    // Inclusive prefix sums: first[t] is the end of t's slots; filling decrements it back
    // to the start.
    let mut sum = 0u32;
    for slot in first.iter_mut().take(n) {
        sum += *slot;
        *slot = sum;
    }
    first[n] = m as u32;
    let mut retainer_edge = vec![0u32; m];
    let mut retainer_node = match sources {
        SourceColumn::With => vec![0u32; m],
        SourceColumn::Without => Vec::new(),
    };
    for src in 0..n as u32 {
        for e in s.edges_of(src) {
            if let Some(&ahead) = edge_to.get(e + FAR) {
                prefetch(&first, ahead as usize);
            }
            if let Some(&near) = edge_to.get(e + NEAR) {
                let slot = first[near as usize] as usize;
                prefetch(&retainer_edge, slot.wrapping_sub(1));
            }
            let to = edge_to[e] as usize;
            first[to] -= 1;
            let slot = first[to] as usize;
            retainer_edge[slot] = e as u32;
            if let Some(node) = retainer_node.get_mut(slot) {
                *node = src;
            }
        }
    }
    let lists = RetainerLists {
        first_retainer: first.into(),
        retainer_edge: retainer_edge.into(),
    };
    (
        lists,
        (sources == SourceColumn::With).then_some(retainer_node),
    )
}

/// DevTools' `propagateDOMState`: native nodes whose detachedness says detached, and native
/// nodes reached from them (not through attached ones), are renamed `Detached …`.
fn propagate_dom_state(s: &Snapshot) -> BitSet {
    let n = s.node_count();
    let mut detached = BitSet::new(n);
    if s.layout.node_detachedness_field.is_none() {
        return detached;
    }
    let native = s.layout.node_types.native;
    let hidden_edge = s.layout.edge_types.hidden;
    let weak_edge = s.layout.edge_types.weak;
    let mut state = s.node_detachedness.to_vec();
    let mut visited = BitSet::new(n);
    // Nodes to spread from: `lists[1]` attached ones, `lists[2]` detached ones.
    let mut lists: [Vec<u32>; 3] = Default::default();
    let mut process = |node: u32, new_state: u8, state: &mut [u8], lists: &mut [Vec<u32>; 3]| {
        let i = node as usize;
        if visited.get(i) {
            return;
        }
        visited.set(i);
        if s.node_type[i] != native {
            return;
        }
        state[i] = new_state;
        if new_state == 2 {
            detached.set(i);
        }
        if new_state == 1 || new_state == 2 {
            lists[new_state as usize].push(node);
        }
    };
    for node in 0..n as u32 {
        let st = s.node_detachedness[node as usize];
        if st != 0 {
            process(node, st, &mut state, &mut lists);
        }
    }
    // Attached state spreads first; detached state then spreads to what is left.
    for new_state in [1u8, 2] {
        while let Some(node) = lists[new_state as usize].pop() {
            if state[node as usize] != new_state {
                continue;
            }
            for e in s.edges_of(node) {
                let t = s.edge_type[e];
                if t != hidden_edge && t != weak_edge {
                    process(s.edge_to[e], new_state, &mut state, &mut lists);
                }
            }
        }
    }
    detached
}

/// The dominators' DFS numbering and DevTools' essential edges, decided as the DFS scans
/// them: it follows the root's page-owned entries first, judging their nodes' edges without
/// the page-owned set (they are all page-owned), and the rest of the heap with that set, which
/// the first part of the DFS has all but found ([`page_owned_after`]). So no separate walk
/// over the whole heap marks it.
fn number_judging(
    s: &Snapshot,
    root: u32,
    weakmaps: &WeakMapEdgeNames,
) -> (dominators::DfsNumbering, BitSet) {
    number_judging_showing_pages(s, root, weakmaps, |_, _| {})
}

/// [`number_judging`] that shows `see` the page-owned set once found, with the targets the
/// DFS recorded for it.
fn number_judging_showing_pages(
    s: &Snapshot,
    root: u32,
    weakmaps: &WeakMapEdgeNames,
    see: impl FnOnce(&BitSet, &[u32]),
) -> (dominators::DfsNumbering, BitSet) {
    let early = RecordingBeyond {
        rule: EssentialRule { s, root, weakmaps },
        beyond: RefCell::new(Vec::new()),
    };
    dominators::number_nodes_judging(
        root,
        &s.first_edge,
        &s.edge_to,
        |e| is_page_entry(s, e),
        &early,
        |visited| {
            let beyond = early.beyond.take();
            let page_owned = page_owned_after(s, root, visited, &beyond);
            see(&page_owned, &beyond);
            EssentialWithPages {
                rule: early.rule,
                page_owned,
            }
        },
    )
}

/// DevTools' page-owned set (everything reachable, not through weak edges, from the root's
/// page entries, as `markPageOwnedNodes` walks it) from the DFS that followed those entries first:
/// `visited` holds what it visited (the root, and nodes reached from the entries over
/// essential edges, all page-owned), `beyond` the targets of the other non-weak edges of the
/// nodes it visited (and of their edges to the root). A page-owned node the DFS did not visit
/// is reachable, not through weak edges, from one of those targets: on a path to it from an
/// entry, the first unvisited node is reached by an edge the DFS judged and did not follow.
/// So a walk from the targets over the nodes not yet marked completes the set; it is small
/// (edges into WeakMap tables, shortcuts between non-root nodes).
fn page_owned_after(s: &Snapshot, root: u32, visited: &BitSet, beyond: &[u32]) -> BitSet {
    let mut owned = visited.clone();
    // The root is visited first, not reached from an entry: page-owned only if an edge of
    // a page-owned node leads back to it (then so is all it reaches).
    owned.clear(root as usize);
    let mut queue = Vec::new();
    for &to in beyond {
        if !owned.get(to as usize) {
            owned.set(to as usize);
            queue.push(to);
        }
    }
    breadth_first(s, &mut queue, 0, &mut owned, |_, _, _| true);
    owned
}

/// [`EssentialRule`] that keeps, for [`page_owned_after`], the target of every non-weak edge
/// it does not call essential, and of every non-weak edge to the root.
struct RecordingBeyond<'a> {
    rule: EssentialRule<'a>,
    beyond: RefCell<Vec<u32>>,
}

impl dominators::EdgeJudge for RecordingBeyond<'_> {
    #[inline(always)]
    fn essential(&self, node: u32, e: usize) -> bool {
        let essential = self.rule.essential(node, e);
        let s = self.rule.s;
        let to = s.edge_to[e];
        if (!essential || to == self.rule.root) && s.edge_type[e] != s.layout.edge_types.weak {
            self.beyond.borrow_mut().push(to);
        }
        essential
    }

    #[inline(always)]
    fn ahead(&self, first: usize) {
        self.rule.ahead(first);
    }
}

/// Whether edge `e`, one of the root's, enters the page-owned part of the heap: a shortcut
/// (to a global object) or an element edge to `(Document DOM trees)`.
fn is_page_entry(s: &Snapshot, e: usize) -> bool {
    let et = s.layout.edge_types;
    let t = s.edge_type[e];
    t == et.shortcut || (t == et.element && is_document_dom_trees_root(s, s.edge_to[e]))
}

/// DevTools' `markPageOwnedNodes`: everything reachable (not through weak edges) from the
/// root's shortcut edges and its `(Document DOM trees)` element edges. In a Node.js heap the
/// root's shortcut edges lead to the global objects, so most of the heap is page-owned. The
/// build finds the set with its DFS instead ([`page_owned_after`]); this walk is what tests
/// check that against.
#[cfg(test)]
fn mark_page_owned(s: &Snapshot, root: u32) -> BitSet {
    let mut owned = BitSet::new(s.node_count());
    // Only the reached set matters, not the order, so walk breadth-first: with a FIFO queue
    // the CPU fetches the edges of many queued nodes at once, where with a stack each step
    // waits for the memory the previous one loaded.
    let mut queue = Vec::new();
    for e in s.edges_of(root) {
        let to = s.edge_to[e];
        if is_page_entry(s, e) && !owned.get(to as usize) {
            owned.set(to as usize);
            queue.push(to);
        }
    }
    breadth_first(s, &mut queue, 0, &mut owned, |_, _, _| true);
    owned
}

/// DevTools' `computeIsEssentialEdge` without its page-owned part: right for the root's
/// edges and for those of page-owned nodes, where that part never applies (an edge from a
/// page-owned node into the page-owned set is essential).
#[derive(Clone, Copy)]
struct EssentialRule<'a> {
    s: &'a Snapshot,
    root: u32,
    weakmaps: &'a WeakMapEdgeNames,
}

impl dominators::EdgeJudge for EssentialRule<'_> {
    #[inline(always)]
    fn essential(&self, node: u32, e: usize) -> bool {
        let s = self.s;
        let et = s.layout.edge_types;
        let t = s.edge_type[e];
        if t == et.weak {
            return false;
        }
        if t == et.internal && !self.weakmaps.is_empty() {
            if let Some(w) = self.weakmaps.get(s.edge_name[e]) {
                if u64::from(s.node_id[node as usize]) == w.table_id {
                    return false;
                }
            }
        }
        s.edge_to[e] != node && (node == self.root || t != et.shortcut)
    }

    #[inline(always)]
    fn ahead(&self, first: usize) {
        prefetch::prefetch(&self.s.edge_type, first);
    }
}

/// DevTools' `computeIsEssentialEdge` whole: [`EssentialRule`] and, for edges of nodes other
/// than the root, none from outside the page-owned set into it.
struct EssentialWithPages<'a> {
    rule: EssentialRule<'a>,
    page_owned: BitSet,
}

impl dominators::EdgeJudge for EssentialWithPages<'_> {
    #[inline(always)]
    fn essential(&self, node: u32, e: usize) -> bool {
        self.rule.essential(node, e)
            && (node == self.rule.root
                || !self.page_owned.get(self.rule.s.edge_to[e] as usize)
                || self.page_owned.get(node as usize))
    }

    #[inline(always)]
    fn ahead(&self, first: usize) {
        self.rule.ahead(first);
    }
}

/// DevTools' `computeIsEssentialEdge` for every edge, in one parallel pass: what the
/// judging DFS records, computed directly (for tests).
#[cfg(test)]
fn essential_edges(s: &Snapshot, root: u32, weakmaps: &WeakMapEdgeNames) -> BitSet {
    use dominators::EdgeJudge;
    let judge = EssentialWithPages {
        rule: EssentialRule { s, root, weakmaps },
        page_owned: mark_page_owned(s, root),
    };
    // Nodes' edges are contiguous, so ranges of nodes own disjoint slices of the flags and
    // can be checked in parallel without a per-edge source column.
    let n = s.node_count();
    let parts = (rayon::current_num_threads() * 8).max(1);
    let step = n.div_ceil(parts).max(1);
    let ranges: Vec<(usize, usize)> = (0..n)
        .step_by(step)
        .map(|a| (a, (a + step).min(n)))
        .collect();
    let mut flags = vec![false; s.edge_count()];
    let slices = crate::snapshot::split_lengths(
        &mut flags,
        ranges
            .iter()
            .map(|&(a, b)| (s.first_edge[b] - s.first_edge[a]) as usize),
    );
    ranges
        .into_par_iter()
        .zip(slices)
        .for_each(|((a, b), slice)| {
            let base = s.first_edge[a] as usize;
            for node in a as u32..b as u32 {
                for e in s.edges_of(node) {
                    slice[e - base] = judge.essential(node, e);
                }
            }
        });
    BitSet::from_fn_par(flags.len(), |e| flags[e])
}

/// DevTools' `calculateShallowSizes`: the self size of `hidden` and `array` nodes (and
/// `system / ExternalStringData`) owned by exactly one other node moves to that owner.
///
/// A node's owner is a fixpoint (the one owner whose edges reach it through owned nodes,
/// or several), so the order the work is done in does not change it: DevTools starts from
/// every owner on a stack; here the owners' edges are first scanned in order, where the
/// targets' owners can be asked for ahead, and only the owned nodes they reach go on a stack.
fn shallow_sizes(s: &Snapshot, root: u32) -> Vec<u64> {
    use prefetch::prefetch;
    // While owners are found, each node's slot holds its owner's ordinal tagged with the top
    // bit (sizes never have it); the sizes then replace the owners in the same column, so the
    // build holds one column here rather than an owner column beside the sizes.
    const OWNER: u64 = 1 << 63;
    const UNVISITED: u64 = u64::MAX;
    const MULTIPLE: u64 = u64::MAX - 1;
    // Edges ahead whose target's owner is asked for (README, Speed: measured choices).
    const AHEAD: usize = 64;
    let nt = s.layout.node_types;
    let weak = s.layout.edge_types.weak;
    let n = s.node_count();
    let mut slots: Vec<u64> = (0..n)
        .map(|i| {
            let t = s.node_type[i];
            let external =
                t == nt.native && s.strings.raw(s.node_name[i]) == b"system / ExternalStringData";
            if t == nt.hidden || t == nt.array || external {
                UNVISITED
            } else {
                OWNER | i as u64
            }
        })
        .collect();
    let mut worklist = Vec::new();
    // What reaching `target` from an edge of a node owned by `owner` does: claims it, shares
    // it, or nothing; a target whose owner changed goes on the stack, to pass it on.
    let reach = |slots: &mut [u64], worklist: &mut Vec<u32>, owner: u64, target: u32| {
        let current = slots[target as usize];
        if current == UNVISITED {
            slots[target as usize] = owner;
            worklist.push(target);
        } else if current == OWNER | u64::from(target) || current == owner || current == MULTIPLE {
            // Owned by itself, already by this owner, or already shared: nothing changes.
        } else {
            slots[target as usize] = MULTIPLE;
            worklist.push(target);
        }
    };
    let edge_to = &s.edge_to[..];
    for node in 0..n as u32 {
        let owner = slots[node as usize];
        if owner != OWNER | u64::from(node) {
            continue;
        }
        for e in s.edges_of(node) {
            if let Some(&ahead) = edge_to.get(e + AHEAD) {
                prefetch(&slots, ahead as usize);
            }
            if s.edge_type[e] != weak {
                reach(&mut slots, &mut worklist, owner, edge_to[e]);
            }
        }
    }
    while let Some(id) = worklist.pop() {
        let owner = slots[id as usize];
        for e in s.edges_of(id) {
            if s.edge_type[e] != weak {
                reach(&mut slots, &mut worklist, owner, edge_to[e]);
            }
        }
    }
    drop(worklist);
    // Owners own themselves, so their slots take their own sizes first; then each owned
    // node's size moves to its owner (unless the owner is synthetic or the root).
    let self_size = &s.node_self_size;
    for (i, slot) in slots.iter_mut().enumerate() {
        let owner = *slot;
        if owner == UNVISITED || owner == MULTIPLE || owner == OWNER | i as u64 {
            *slot = self_size[i];
        }
    }
    for i in 0..n {
        let slot = slots[i];
        if slot & OWNER == 0 {
            continue;
        }
        let owner = (slot & !OWNER) as usize;
        let size = self_size[i];
        if s.node_type[owner] == nt.synthetic || owner == root as usize {
            slots[i] = size;
        } else {
            slots[i] = 0;
            slots[owner] += size;
        }
    }
    slots
}

/// Interned strings the distance filter compares names against.
struct DistanceFilterNames {
    sloppy_function_map: Option<u32>,
    native_context: Option<u32>,
    map_descriptors: Option<u32>,
}

fn find_strings(s: &Snapshot, wanted: &[&[u8]]) -> Vec<Option<u32>> {
    let n = s.strings.len();
    wanted
        .iter()
        .map(|w| {
            (0..n as u32)
                .into_par_iter()
                .find_first(|&i| s.strings.raw(i) == *w)
        })
        .collect()
}

/// JavaScript `parseInt(text, 10)` for the descriptor-array filter: `None` is NaN.
fn js_parse_int(text: &str) -> Option<i64> {
    let t = text.trim_start();
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let end = digits.bytes().take_while(u8::is_ascii_digit).count();
    if end == 0 {
        return None;
    }
    let value = digits[..end].parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -value } else { value })
}

/// DevTools' distances: BFS from the root's user-root children first, then from the root,
/// skipping weak edges and applying JSHeapSnapshot's edge filter.
fn distances(s: &Snapshot, root: u32, weakmaps: &WeakMapEdgeNames) -> Vec<i32> {
    let n = s.node_count();
    let nt = s.layout.node_types;
    let et = s.layout.edge_types;
    let found = find_strings(
        s,
        &[
            b"sloppy_function_map",
            b"system / NativeContext",
            b"(map descriptors)",
        ],
    );
    let names = DistanceFilterNames {
        sloppy_function_map: found[0],
        native_context: found[1],
        map_descriptors: found[2],
    };
    // Pairs of WeakMap edges: the first edge of a pair met is skipped, the second taken.
    let mut pending_pairs = BitSet::new(weakmaps.len().max(1) * 2 + 1);
    let mut filter = |node: u32, e: usize| -> bool {
        let t = s.edge_type[e];
        let node_name = Some(s.node_name[node as usize]);
        let node_type = s.node_type[node as usize];
        if node_type == nt.hidden
            && !s.layout.edge_name_is_index(t)
            && names.sloppy_function_map.is_some()
            && Some(s.edge_name[e]) == names.sloppy_function_map
            && node_name == names.native_context
        {
            return false;
        }
        if node_type == nt.array
            && names.map_descriptors.is_some()
            && node_name == names.map_descriptors
        {
            let index = if s.layout.edge_name_is_index(t) {
                Some(i64::from(s.edge_name[e]))
            } else {
                js_parse_int(&s.strings.get(s.edge_name[e]))
            };
            return match index {
                Some(i) => i < 2 || i % 3 != 1,
                None => true,
            };
        }
        if t == et.internal && !weakmaps.is_empty() {
            if let Some(w) = weakmaps.get(s.edge_name[e]) {
                let pair = w.pair as usize;
                if pending_pairs.get(pair) {
                    pending_pairs.clear(pair);
                } else {
                    pending_pairs.set(pair);
                    return false;
                }
            }
        }
        true
    };
    let mut distance = vec![NO_DISTANCE; n];
    // Whether a node has a distance, asked of every edge's target: a bit per node stays in
    // cache where `distance` (32 MB for 8 M nodes) would miss.
    let mut seen = BitSet::new(n);
    let mut queue: Vec<u32> = Vec::with_capacity(n);
    for e in s.edges_of(root) {
        let to = s.edge_to[e];
        if is_user_root(s, to) {
            distance[to as usize] = 1;
            seen.set(to as usize);
            queue.push(to);
        }
    }
    let user_roots = queue.len();
    breadth_first(s, &mut queue, 0, &mut seen, |node, e, to| {
        admit_at_distance(&mut distance, &mut filter, node, e, to)
    });
    distance[root as usize] = if user_roots > 0 {
        BASE_SYSTEM_DISTANCE
    } else {
        0
    };
    seen.set(root as usize);
    let start = queue.len();
    queue.push(root);
    breadth_first(s, &mut queue, start, &mut seen, |node, e, to| {
        admit_at_distance(&mut distance, &mut filter, node, e, to)
    });
    distance
}

/// The breadth-first walk every traversal of the heap shares (DevTools' distances, page-owned
/// nodes, shortest retainer paths): from `queue[head..]` over non-weak edges to nodes not yet
/// `seen`, each taken when `admit(node, edge, target)` says so (it records what its walk
/// needs); taken nodes are marked seen and queued. Generic over `admit` so that it is inlined
/// into the per-edge loop. "Seen" is a bit per node, which stays in cache where a 32 MB column
/// would miss on every edge, and the queue's next nodes are prefetched. The queue is left
/// holding only the nodes not yet taken from it (none when the walk ran to its end).
pub(crate) fn breadth_first(
    s: &Snapshot,
    queue: &mut Vec<u32>,
    head: usize,
    seen: &mut BitSet,
    admit: impl FnMut(u32, usize, u32) -> bool,
) {
    breadth_first_while(s, queue, head, seen, admit, || true);
}

/// [`breadth_first`] that stops, before taking the next node from the queue, once `more()`
/// says nothing more is wanted.
pub(crate) fn breadth_first_while(
    s: &Snapshot,
    queue: &mut Vec<u32>,
    head: usize,
    seen: &mut BitSet,
    admit: impl FnMut(u32, usize, u32) -> bool,
    more: impl FnMut() -> bool,
) {
    walk_queue(s, queue, head, seen, admit, more, COMPACT_AFTER);
}

/// How many taken nodes a breadth-first queue holds before it drops them (when they are at
/// least half of it): few enough to be a small share of a large heap's walk, enough that the
/// moves cost nothing measurable.
const COMPACT_AFTER: usize = 1 << 16;

/// [`breadth_first_while`], the queue dropping its taken nodes once there are
/// `compact_after` of them and they are at least half of it.
fn walk_queue(
    s: &Snapshot,
    queue: &mut Vec<u32>,
    mut head: usize,
    seen: &mut BitSet,
    mut admit: impl FnMut(u32, usize, u32) -> bool,
    mut more: impl FnMut() -> bool,
    compact_after: usize,
) {
    let weak = s.layout.edge_types.weak;
    while head < queue.len() && more() {
        if head >= compact_after && head * 2 >= queue.len() {
            // The taken nodes are dropped, so the queue's touched memory stays within twice
            // its widest frontier rather than growing to every node reached (part of a diff's
            // peak on a large heap).
            queue.drain(..head);
            head = 0;
        }
        prefetch::bfs_ahead(s, queue, head);
        let node = queue[head];
        head += 1;
        for e in s.edges_of(node) {
            if s.edge_type[e] == weak {
                continue;
            }
            let to = s.edge_to[e];
            if seen.get(to as usize) || !admit(node, e, to) {
                continue;
            }
            seen.set(to as usize);
            queue.push(to);
        }
    }
    queue.drain(..head);
}

/// For the distances' walk: takes `to` when DevTools' filter lets the edge count, one step
/// further than `node`.
#[inline(always)]
fn admit_at_distance(
    distance: &mut [i32],
    filter: &mut impl FnMut(u32, usize) -> bool,
    node: u32,
    e: usize,
    to: u32,
) -> bool {
    if !filter(node, e) {
        return false;
    }
    distance[to as usize] = distance[node as usize] + 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A breadth-first queue that drops its taken nodes walks in the same order as one that
    /// keeps them all: on a real snapshot, the walk with the queue compacted as often as it
    /// can be admits the same (node, edge, target) steps in the same order as the walk that
    /// never compacts it, and both leave nothing in the queue.
    #[test]
    fn a_compacted_queue_walks_in_the_same_order() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        let s = Snapshot::open(path).expect("sample");
        let walk = |compact_after| {
            let mut seen = BitSet::new(s.node_count());
            let mut queue = vec![0u32];
            seen.set(0);
            let mut steps = Vec::new();
            // Odd edges to every third node are refused, so that refusals are walked too.
            let admit = |node: u32, e: usize, to: u32| {
                let take = e % 2 == 0 || to % 3 != 0;
                if take {
                    steps.push((node, e, to));
                }
                take
            };
            walk_queue(&s, &mut queue, 0, &mut seen, admit, || true, compact_after);
            assert!(queue.is_empty(), "a finished walk leaves its queue empty");
            steps
        };
        let kept = walk(usize::MAX);
        assert!(
            kept.len() > 10_000,
            "the sample's walk is long enough to compact"
        );
        assert_eq!(walk(1), kept);
        assert_eq!(walk(100), kept);
    }

    /// A build that keeps no retainer list and saves no index computes its dominators from
    /// the forward edges and its distances in the first phase; a build with caller work beside
    /// its dominators translates their predecessors from the retainer lists: every column of
    /// one equals the other's, and the lists are built when read after all.
    #[test]
    fn a_build_without_retainer_lists_gives_the_same_columns() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        let build = |columns, beside| {
            let snapshot = Snapshot::open(path).expect("sample");
            HeapGraph::build_alongside(snapshot, columns, &|_| (), None, || (), beside, |_| ()).0
        };
        let with_lists = build(Columns::ALL, Beside::Work);
        let without = build(Columns::NO_RETAINERS_AFTER, Beside::Nothing);
        assert!(with_lists.retainer_lists_kept().is_some());
        assert!(without.retainer_lists_kept().is_none());
        assert_eq!(*without.dominators.idom, *with_lists.dominators.idom);
        assert_eq!(*without.dominators.order, *with_lists.dominators.order);
        assert_eq!(
            *without.dominators.retained_size,
            *with_lists.dominators.retained_size
        );
        assert_eq!(without.distance.as_deref(), with_lists.distance.as_deref());
        assert!(with_lists.distance.is_some());
        assert_eq!(
            *without.retainer_lists().retainer_edge,
            *with_lists.retainer_lists().retainer_edge
        );
    }

    /// The bundled samples of every Node.js version, and two of a leaking server, parsed.
    fn samples_of_every_version() -> impl Iterator<Item = (&'static str, Snapshot)> {
        [
            "node16", "node18", "node20", "node22", "node24", "leak-1", "leak-3",
        ]
        .into_iter()
        .map(|sample| {
            let path = format!(
                "{}/samples/{sample}.heapsnapshot.gz",
                env!("CARGO_MANIFEST_DIR")
            );
            (sample, Snapshot::open(Path::new(&path)).expect("sample"))
        })
    }

    /// The DFS that judges edges as it scans them (the page-owned set found on the way) records
    /// exactly DevTools' essential edges, computed directly in one pass, and numbers the
    /// nodes so that the dominators are those of the directly computed edges; on real
    /// snapshots of every Node.js version, whose roots lead to page-owned globals, some with
    /// nodes the root cannot reach (their edges judged after the DFS).
    #[test]
    fn the_judging_dfs_records_devtools_essential_edges() {
        let mut with_unreachable = 0;
        for (sample, s) in samples_of_every_version() {
            let root = 0;
            let weakmaps = WeakMapEdgeNames::find(&s);
            let direct = essential_edges(&s, root, &weakmaps);
            let entries = s.edges_of(root).filter(|&e| is_page_entry(&s, e)).count();
            assert!(entries > 0, "{sample}: the root leads to page-owned nodes");
            let (numbering, judged) = number_judging(&s, root, &weakmaps);
            assert_eq!(judged.words(), direct.words(), "{sample}: essential edges");
            let from_judged =
                dominators::prepare_forward(&forward_graph(&s, root, &judged), numbering).finish();
            let from_direct = dominators::dominators_forward(&forward_graph(&s, root, &direct));
            with_unreachable += usize::from(from_direct.reachable < s.node_count());
            assert_eq!(from_judged.idom, from_direct.idom, "{sample}: dominators");
            assert_eq!(from_judged.reachable, from_direct.reachable, "{sample}");
        }
        assert!(with_unreachable >= 2, "samples with unreachable nodes");
    }

    /// The page-owned set the judging DFS completes is the one DevTools' walk marks, on every
    /// bundled sample (their WeakMap tables and shortcuts between non-root nodes are what the
    /// DFS leaves for the walk from its recorded targets).
    #[test]
    fn the_dfs_finds_the_page_owned_set_devtools_marks() {
        for (sample, s) in samples_of_every_version() {
            let root = 0;
            let weakmaps = WeakMapEdgeNames::find(&s);
            let mut found = None;
            let mut beyond_count = 0;
            number_judging_showing_pages(&s, root, &weakmaps, |page_owned, beyond| {
                found = Some(page_owned.clone());
                beyond_count = beyond.len();
            });
            let found = found.expect("the late judge was made");
            let marked = mark_page_owned(&s, root);
            assert!(beyond_count > 0, "{sample}: edges the DFS did not follow");
            assert!(
                marked.count_ones() * 2 > s.node_count(),
                "{sample}: most is page-owned"
            );
            assert_eq!(found.words(), marked.words(), "{sample}: page-owned nodes");
        }
    }

    /// The retaining node of every retainer slot, looked up from its edge, is the source the
    /// list build records for it, nodes without edges included (the sample has hundreds).
    #[test]
    fn a_retainer_slot_s_node_is_its_edge_s_source() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        let snapshot = Snapshot::open(path).expect("sample");
        let (lists, sources) = build_retainers(&snapshot, SourceColumn::With);
        let sources = sources.expect("asked for");
        assert_eq!(sources.len(), snapshot.edge_count());
        let without_edges = (0..snapshot.node_count() as u32)
            .filter(|&n| snapshot.edges_of(n).is_empty())
            .count();
        assert!(without_edges > 100, "{without_edges} nodes without edges");
        for (slot, &source) in sources.iter().enumerate() {
            assert_eq!(snapshot.edge_owner(lists.retainer_edge[slot]), source);
        }
        let (again, none) = build_retainers(&snapshot, SourceColumn::Without);
        assert!(none.is_none());
        assert_eq!(*again.retainer_edge, *lists.retainer_edge);
        assert_eq!(*again.first_retainer, *lists.first_retainer);
    }

    /// Work after the dominators finds the retainer lists still built, even when the build
    /// lets them go afterwards; work beside the dominators does too.
    #[test]
    fn work_after_the_dominators_reads_the_retainer_lists_without_rebuilding_them() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        for beside in [Beside::After, Beside::Work] {
            let snapshot = Snapshot::open(path).expect("sample");
            let (graph, (), kept) = HeapGraph::build_alongside(
                snapshot,
                Columns::NO_RETAINERS_AFTER,
                &|_| (),
                None,
                || (),
                beside,
                |g| g.retainer_lists_kept().is_some(),
            );
            assert!(kept, "{beside:?}: the lists were let go before the work");
            assert!(graph.retainer_lists_kept().is_none(), "{beside:?}");
        }
    }

    /// A node's retainers found by scanning the edges (the lists let go) are those its
    /// retainer list holds: for the nodes with the most retainers and a spread of others.
    #[test]
    fn retainers_found_without_the_lists_are_those_the_lists_hold() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        let open =
            |columns| HeapGraph::open(path, columns, None, &crate::observe::Quiet).expect("sample");
        let with_lists = open(Columns::ALL);
        let without = open(Columns::NO_RETAINERS_AFTER);
        assert!(without.retainer_lists_kept().is_none());
        let n = with_lists.snapshot.node_count() as u32;
        let mut busiest: Vec<u32> = (0..n).collect();
        busiest.sort_by_key(|&v| std::cmp::Reverse(with_lists.retainers_of(v).len()));
        let nodes: Vec<u32> = busiest[..20]
            .iter()
            .copied()
            .chain((0..n).step_by(331))
            .collect();
        let mut compared = 0;
        for v in nodes {
            let mut kept = with_lists.retainers_of_node(v);
            let mut scanned = without.retainers_of_node(v);
            kept.sort_unstable();
            scanned.sort_unstable();
            assert_eq!(kept, scanned, "node {v}");
            compared += kept.len();
        }
        assert!(compared > 1000, "too few retainers compared: {compared}");
        assert!(
            without.retainer_lists_kept().is_none(),
            "the lists were rebuilt"
        );
    }
}
