//! Property tests: the fast dominators (Lengauer–Tarjan with DevTools' handling of unreachable
//! nodes) equal a simple reference on thousands of random graphs, including weak edges,
//! self loops and parts the root cannot reach; and deep graphs do not overflow the stack.

#![allow(clippy::needless_range_loop)]

use heapscan::graph::bits::BitSet;
use heapscan::graph::dominators::{dominators, dominators_forward, retained_sizes, DominatorInput};
use petgraph::algo::dominators::simple_fast;
use petgraph::graph::{DiGraph, NodeIndex};
use proptest::prelude::*;

/// A random heap-like graph: node 0 is the root; each edge may be non-essential ("weak").
#[derive(Debug, Clone)]
struct RandomGraph {
    nodes: usize,
    edges: Vec<(u32, u32, bool)>, // (from, to, essential)
}

fn graph_strategy() -> impl Strategy<Value = RandomGraph> {
    (1usize..40).prop_flat_map(|nodes| {
        let edge = (0..nodes as u32, 0..nodes as u32, prop::bool::weighted(0.85));
        prop::collection::vec(edge, 0..nodes * 3)
            .prop_map(move |edges| RandomGraph { nodes, edges })
    })
}

struct Csr {
    first_edge: Vec<u32>,
    edge_to: Vec<u32>,
    essential: BitSet,
    first_retainer: Vec<u32>,
    retainer_edge: Vec<u32>,
    retainer_node: Vec<u32>,
}

fn csr(g: &RandomGraph) -> Csr {
    let mut edges = g.edges.clone();
    edges.sort_by_key(|&(from, _, _)| from); // stable: keeps each node's edge order
    let mut first_edge = vec![0u32; g.nodes + 1];
    for &(from, _, _) in &edges {
        first_edge[from as usize + 1] += 1;
    }
    for i in 0..g.nodes {
        first_edge[i + 1] += first_edge[i];
    }
    let edge_to: Vec<u32> = edges.iter().map(|e| e.1).collect();
    let mut essential = BitSet::new(edges.len());
    for (i, e) in edges.iter().enumerate() {
        if e.2 {
            essential.set(i);
        }
    }
    let mut first_retainer = vec![0u32; g.nodes + 1];
    for &(_, to, _) in &edges {
        first_retainer[to as usize + 1] += 1;
    }
    for i in 0..g.nodes {
        first_retainer[i + 1] += first_retainer[i];
    }
    let mut cursor = first_retainer.clone();
    let mut retainer_edge = vec![0u32; edges.len()];
    let mut retainer_node = vec![0u32; edges.len()];
    for (i, &(from, to, _)) in edges.iter().enumerate() {
        let slot = cursor[to as usize] as usize;
        cursor[to as usize] += 1;
        retainer_edge[slot] = i as u32;
        retainer_node[slot] = from;
    }
    Csr {
        first_edge,
        edge_to,
        essential,
        first_retainer,
        retainer_edge,
        retainer_node,
    }
}

/// The reference: DevTools' rule spelled out naively. Nodes reachable from the root through
/// essential edges, then DFS from each still-unvisited node without essential retainers (in
/// ordinal order) as if the root pointed at it; dominators of that graph by petgraph's
/// simple_fast; every node left over is dominated by the root.
fn reference(g: &RandomGraph, c: &Csr) -> Vec<u32> {
    let n = g.nodes;
    let out = |v: usize| (c.first_edge[v]..c.first_edge[v + 1]).map(|e| e as usize);
    let mut visited = vec![false; n];
    let mut starts = vec![0usize];
    let dfs = |start: usize, visited: &mut Vec<bool>| {
        let mut stack = vec![start];
        visited[start] = true;
        while let Some(v) = stack.pop() {
            for e in out(v) {
                let w = c.edge_to[e] as usize;
                if c.essential.get(e) && !visited[w] {
                    visited[w] = true;
                    stack.push(w);
                }
            }
        }
    };
    dfs(0, &mut visited);
    for v in 0..n {
        let has_essential_retainer = (c.first_retainer[v]..c.first_retainer[v + 1])
            .any(|slot| c.essential.get(c.retainer_edge[slot as usize] as usize));
        if !visited[v] && !has_essential_retainer {
            starts.push(v);
            dfs(v, &mut visited);
        }
    }
    let mut pg = DiGraph::<(), ()>::new();
    let ids: Vec<NodeIndex> = (0..n).map(|_| pg.add_node(())).collect();
    for v in 0..n {
        if !visited[v] {
            continue;
        }
        for e in out(v) {
            let w = c.edge_to[e] as usize;
            if c.essential.get(e) && visited[w] {
                pg.add_edge(ids[v], ids[w], ());
            }
        }
    }
    for &s in &starts[1..] {
        pg.add_edge(ids[0], ids[s], ());
    }
    let doms = simple_fast(&pg, ids[0]);
    (0..n)
        .map(|v| {
            if v == 0 || !visited[v] {
                0
            } else {
                doms.immediate_dominator(ids[v])
                    .map_or(0, |d| d.index() as u32)
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, .. ProptestConfig::default() })]

    #[test]
    fn fast_dominators_equal_the_reference(g in graph_strategy()) {
        let c = csr(&g);
        let input = DominatorInput {
            root: 0,
            first_edge: &c.first_edge,
            edge_to: &c.edge_to,
            first_retainer: &c.first_retainer,
            retainer_edge: &c.retainer_edge,
            retainer_node: &c.retainer_node,
            essential: &c.essential,
        };
        let fast = dominators(&input);
        prop_assert_eq!(&fast.idom, &reference(&g, &c));
        // Without retainer lists, from the forward edges: the same tree in the same order.
        let forward = dominators_forward(&input.forward());
        prop_assert_eq!(&forward.idom, &fast.idom);
        prop_assert_eq!(&forward.preorder, &fast.preorder);
        prop_assert_eq!(fast.preorder.len(), g.nodes, "every node is numbered");
        // Retained sizes: each node's size plus its dominator-tree descendants'.
        let sizes: Vec<u64> = (0..g.nodes as u64).map(|i| i * 7 + 1).collect();
        let retained = retained_sizes(&fast, &sizes);
        for v in 0..g.nodes {
            let mut expected = 0;
            for w in 0..g.nodes {
                let mut x = w;
                loop {
                    if x == v { expected += sizes[w]; break; }
                    if x == 0 { break; }
                    x = fast.idom[x] as usize;
                }
            }
            prop_assert_eq!(retained[v], expected, "retained size of {}", v);
        }
    }
}

#[test]
fn a_million_deep_chain_does_not_overflow_the_stack() {
    let n = 1_000_000usize;
    let g = RandomGraph {
        nodes: n,
        edges: (0..n as u32 - 1).map(|i| (i, i + 1, true)).collect(),
    };
    let c = csr(&g);
    let doms = dominators(&DominatorInput {
        root: 0,
        first_edge: &c.first_edge,
        edge_to: &c.edge_to,
        first_retainer: &c.first_retainer,
        retainer_edge: &c.retainer_edge,
        retainer_node: &c.retainer_node,
        essential: &c.essential,
    });
    assert!(doms
        .idom
        .iter()
        .enumerate()
        .skip(1)
        .all(|(i, &d)| d as usize == i - 1));
    let forward = dominators_forward(&heapscan::graph::dominators::ForwardGraph {
        root: 0,
        first_edge: &c.first_edge,
        edge_to: &c.edge_to,
        essential: &c.essential,
    });
    assert_eq!(forward.idom, doms.idom);
    let retained = retained_sizes(&doms, &vec![1; n]);
    assert_eq!(retained[0], n as u64);
    assert_eq!(retained[n - 1], 1);
}
