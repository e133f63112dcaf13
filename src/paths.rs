//! Shortest retainer paths: how an object is reached from the GC roots.
//!
//! A BFS over non-weak edges records, for every node, the edge it was first reached by: first
//! from the user roots (such as `global`) until nothing more is reached, then from the system
//! roots, as DevTools orders distances — a path a program's own variables explain is shown
//! even when a system root (a handle scope, the stack) reaches the object in fewer steps. The path to
//! any node is then that chain of edges, read backwards. Several paths to one object are the
//! shortest path through each of its distinct direct retainers, nearest first.

use crate::column::Column;
use crate::graph::bits::BitSet;
use crate::graph::{breadth_first_while, HeapGraph, RetainerGraph};
use crate::report::retainers::{NodeRef, PathStep, RetainerPath};
use crate::snapshot::Snapshot;
use crate::summary::short_name;

const NONE: u32 = u32::MAX;

/// The BFS tree over non-weak edges, as one parent per node: hop counts and the edges taken
/// are recovered on demand (a few paths are ever printed), which keeps the walk to one
/// random store per node where three (edge, parent, hops) made it a quarter slower.
pub struct ShortestPaths {
    /// Per node: the node it was first reached from (`NONE` for the root and unreached nodes).
    via_node: Column<u32>,
    /// Per node: whether the walk reached it.
    reached: BitSet,
    /// Per node: whether its path starts at a user root (such as `global`) rather than at a
    /// system root category; paths a user can act on are shown first.
    pub from_user_root: BitSet,
}

impl ShortestPaths {
    /// Runs the BFS.
    pub fn compute(graph: &RetainerGraph) -> ShortestPaths {
        Self::walk(graph, None)
    }

    /// Runs the BFS until every node of `wanted` is reached. The paths to them, and to every
    /// node reached before them, are those of the whole walk ([`compute`](Self::compute)):
    /// a breadth-first walk gives each node its parent once, in queue order. Nodes reached
    /// later read as unreached.
    pub fn compute_reaching(graph: &RetainerGraph, wanted: &[u32]) -> ShortestPaths {
        Self::walk(graph, Some(wanted))
    }

    fn walk(graph: &RetainerGraph, wanted: Option<&[u32]>) -> ShortestPaths {
        let s = &graph.snapshot;
        let n = s.node_count();
        let weak = s.layout.edge_types.weak;
        let synthetic = s.layout.node_types.synthetic;
        let mut via_node = vec![NONE; n];
        let mut from_user_root = BitSet::new(n);
        let mut reached = BitSet::new(n);
        let mut queue = Vec::with_capacity(n);
        reached.set(graph.root as usize);
        // The wanted nodes, and how many of them are not reached yet (without any, the whole
        // walk is wanted).
        let is_wanted = wanted.map(|wanted| {
            let mut bits = BitSet::new(n);
            for &w in wanted
                .iter()
                .filter(|&&w| (w as usize) < n && w != graph.root)
            {
                bits.set(w as usize);
            }
            bits
        });
        let left = std::cell::Cell::new(is_wanted.as_ref().map_or(usize::MAX, BitSet::count_ones));
        let take = |to: u32| {
            if is_wanted.as_ref().is_some_and(|bits| bits.get(to as usize)) {
                left.set(left.get() - 1);
            }
        };
        // Everything reachable from user roots (such as `global`) gets its path from them, as
        // DevTools orders distances; the system roots only reach what is left.
        let mut head = 0;
        for user_first in [true, false] {
            if left.get() == 0 {
                break;
            }
            for e in s.edges_of(graph.root) {
                let to = s.edge_to[e];
                let is_user = s.node_type[to as usize] != synthetic;
                if is_user == user_first && !reached.get(to as usize) && s.edge_type[e] != weak {
                    reached.set(to as usize);
                    if is_user {
                        from_user_root.set(to as usize);
                    }
                    via_node[to as usize] = graph.root;
                    queue.push(to);
                    take(to);
                }
            }
            let admit = |node: u32, _, to: u32| {
                if from_user_root.get(node as usize) {
                    from_user_root.set(to as usize);
                }
                via_node[to as usize] = node;
                take(to);
                true
            };
            breadth_first_while(s, &mut queue, head, &mut reached, admit, || left.get() != 0);
            head = queue.len();
        }
        ShortestPaths {
            via_node: via_node.into(),
            reached,
            from_user_root,
        }
    }

    /// The walk's columns: per node, the node it was reached from; whether it was reached;
    /// whether from a user root. For keeping it ([`from_parts`](Self::from_parts)).
    pub fn parts(&self) -> (&[u32], &BitSet, &BitSet) {
        (&self.via_node, &self.reached, &self.from_user_root)
    }

    /// A walk of a graph of `nodes` nodes from its kept [`parts`](Self::parts); `None` when
    /// they do not fit such a graph.
    pub fn from_parts(
        via_node: Column<u32>,
        reached: BitSet,
        from_user_root: BitSet,
        nodes: usize,
    ) -> Option<ShortestPaths> {
        let fits = via_node.len() == nodes
            && reached.len() == nodes
            && from_user_root.len() == nodes
            && via_node.iter().all(|&v| v == NONE || (v as usize) < nodes);
        fits.then_some(ShortestPaths {
            via_node,
            reached,
            from_user_root,
        })
    }

    /// The chain of nodes the walk reached `node` through, `node` first and the root last;
    /// `None` when unreachable. A chain longer than the graph (a loop, in kept parts that
    /// were altered) ends it.
    fn chain(&self, node: u32) -> Option<impl Iterator<Item = u32> + '_> {
        if !self.reached.get(node as usize) {
            return None;
        }
        let chain = std::iter::successors(Some(node), |&n| {
            Some(self.via_node[n as usize]).filter(|&v| v != NONE)
        });
        Some(chain.take(self.via_node.len()))
    }

    /// Hops from the root to `node` (its distance over non-weak edges); `None` when
    /// unreachable.
    pub fn hops(&self, node: u32) -> Option<u32> {
        Some(self.chain(node)?.count() as u32 - 1)
    }

    /// The edges from the root to `node`, root side first, as (source node, edge); `None`
    /// when unreachable. Each step is the first non-weak edge from the parent to the child:
    /// the one the walk went through.
    pub fn edges_to(&self, s: &Snapshot, node: u32) -> Option<Vec<(u32, usize)>> {
        let weak = s.layout.edge_types.weak;
        let chain: Vec<u32> = self.chain(node)?.collect();
        let mut steps = Vec::with_capacity(chain.len().saturating_sub(1));
        for pair in chain.windows(2) {
            let (current, from) = (pair[0], pair[1]);
            let edge = s
                .edges_of(from)
                .find(|&e| s.edge_to[e] == current && s.edge_type[e] != weak)?;
            steps.push((from, edge));
        }
        steps.reverse();
        Some(steps)
    }
}

/// Describes node `n` for reports.
pub fn node_ref(graph: &HeapGraph, n: u32) -> NodeRef {
    let s = &graph.snapshot;
    NodeRef {
        id: s.node_id[n as usize],
        node_type: s.layout.node_type_name(s.node_type[n as usize]).to_string(),
        class: graph.class_name(n).to_string(),
        name: short_name(graph, n, 80),
        self_size: graph.self_size[n as usize],
        retained_size: graph.retained_size(n),
    }
}

/// Turns a chain of (source node, edge) into report steps ending at the edge's target.
pub fn path_steps(graph: &HeapGraph, chain: &[(u32, usize)]) -> Vec<PathStep> {
    let s = &graph.snapshot;
    chain
        .iter()
        .map(|&(_, e)| PathStep {
            edge_type: s.layout.edge_type_name(s.edge_type[e]).to_string(),
            edge_name: s.edge_name_str(e).into_owned(),
            node: node_ref(graph, s.edge_to[e]),
        })
        .collect()
}

/// The direct retainers of `target` a path can go through, as (retaining node, edge): over
/// non-weak edges, from other nodes.
pub fn path_retainers(graph: &HeapGraph, target: u32) -> Vec<(u32, u32)> {
    let s = &graph.snapshot;
    let weak = s.layout.edge_types.weak;
    let mut retainers = graph.retainers_of_node(target);
    retainers.retain(|&(from, e)| s.edge_type[e as usize] != weak && from != target);
    retainers
}

/// Up to `limit` shortest paths from the root to `target`, one through each distinct direct
/// retainer of `retainers` ([`path_retainers`]): retainers reached from user roots first,
/// then the nearest. `tree` must have reached them ([`ShortestPaths::compute_reaching`]).
pub fn retainer_paths(
    graph: &HeapGraph,
    tree: &ShortestPaths,
    retainers: &[(u32, u32)],
    limit: usize,
) -> Vec<RetainerPath> {
    let s = &graph.snapshot;
    let mut retainers: Vec<(u32, u32, usize)> = retainers
        .iter()
        .filter_map(|&(from, e)| Some((tree.hops(from)?, from, e as usize)))
        .collect();
    retainers.sort_by_key(|&(hops, from, e)| {
        let system = !tree.from_user_root.get(from as usize);
        (system, hops, s.node_id[from as usize], e)
    });
    let mut seen_sources = Vec::new();
    let mut paths = Vec::new();
    for (_, from, e) in retainers {
        if paths.len() >= limit {
            break;
        }
        if seen_sources.contains(&from) {
            continue;
        }
        seen_sources.push(from);
        let Some(mut chain) = tree.edges_to(s, from) else {
            continue;
        };
        chain.push((from, e));
        paths.push(RetainerPath {
            steps: path_steps(graph, &chain),
        });
    }
    paths
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::Columns;
    use std::path::Path;

    /// A walk stopped once the object and its retainers are reached gives the same distance
    /// and paths as the whole walk, and stops early for objects near the roots.
    #[test]
    fn a_walk_stopped_at_the_wanted_nodes_gives_the_whole_walks_paths() {
        let path = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/samples/node20.heapsnapshot.gz"
        ));
        let graph = HeapGraph::open(
            path,
            Columns::NO_RETAINERS_AFTER,
            None,
            &crate::observe::Quiet,
        )
        .expect("sample");
        let whole = ShortestPaths::compute(&graph);
        let n = graph.snapshot.node_count() as u32;
        let everything = whole.parts().1.count_ones();
        let (mut compared, mut stopped_early) = (0, 0);
        for target in (1..n).step_by(997) {
            let retainers = path_retainers(&graph, target);
            let mut wanted: Vec<u32> = retainers.iter().map(|&(from, _)| from).collect();
            wanted.push(target);
            let reaching = ShortestPaths::compute_reaching(&graph, &wanted);
            assert_eq!(reaching.hops(target), whole.hops(target), "@{target}");
            assert_eq!(
                retainer_paths(&graph, &reaching, &retainers, 3),
                retainer_paths(&graph, &whole, &retainers, 3),
                "node {target}"
            );
            compared += usize::from(whole.hops(target).is_some());
            stopped_early += usize::from(reaching.parts().1.count_ones() < everything / 2);
        }
        assert!(compared > 30, "only {compared} reachable targets");
        assert!(
            stopped_early > 5,
            "only {stopped_early} walks stopped early"
        );
    }
}
