//! Immediate dominators over dense `u32` node ordinals, with Chrome DevTools' treatment of
//! nodes the root cannot reach.
//!
//! Lengauer–Tarjan ("simple" link/eval with path compression), iterative throughout: the heap
//! graph is far too deep for recursion. Vertices are numbered 1..=n in DFS preorder (0 means
//! "none"), as in the paper.
//!
//! Unreachable nodes are handled exactly as DevTools does, because it changes numbers users
//! compare against: after the DFS from the root, every still-unvisited node whose retainers
//! are all non-essential (an "orphan") starts a DFS of its own as if the root pointed at it,
//! in ordinal order; whatever is still unvisited after that (cycles only reachable from each
//! other) is attached to the root one by one, and ends up dominated by the root.

use super::bits::BitSet;

/// The forward and reverse graph restricted to essential edges, as the algorithm reads it.
pub struct DominatorInput<'a> {
    pub root: u32,
    pub first_edge: &'a [u32],
    pub edge_to: &'a [u32],
    pub first_retainer: &'a [u32],
    pub retainer_edge: &'a [u32],
    pub retainer_node: &'a [u32],
    pub essential: &'a BitSet,
}

/// The dominator tree: `idom[n]` is node `n`'s immediate dominator (the root's is itself),
/// and `preorder` lists the nodes in the order they were numbered (root first), which is a
/// valid order for bottom-up passes when walked backwards.
pub struct Dominators {
    pub idom: Vec<u32>,
    pub preorder: Vec<u32>,
    /// How many nodes the DFS from the root reached through essential edges (the first
    /// `reachable` entries of `preorder`); the rest are orphans and cycles hung off the root.
    pub reachable: usize,
}

/// Computes immediate dominators (see the module docs for unreachable nodes).
pub fn dominators(input: &DominatorInput<'_>) -> Dominators {
    let node_count = input.first_edge.len() - 1;
    let len = node_count + 1;
    // 1-based vertex numbers: vertex v is node v - 1.
    let mut parent = vec![0u32; len];
    let mut semi = vec![0u32; len];
    let mut vertex = vec![0u32; len];
    let mut label = vec![0u32; len];
    // `scratch` is the DFS's next-edge cursor first, then eval's compression stack.
    let mut scratch = vec![0u32; len];
    let mut numbered = 0u32;

    let r = input.root + 1;
    dfs(
        input,
        r,
        &mut parent,
        &mut semi,
        &mut vertex,
        &mut label,
        &mut scratch,
        &mut numbered,
    );
    let reachable = numbered as usize;
    if (numbered as usize) < node_count {
        for v in 1..=node_count as u32 {
            if semi[v as usize] == 0 && has_only_weak_retainers(input, v - 1) {
                parent[v as usize] = r;
                dfs(
                    input,
                    v,
                    &mut parent,
                    &mut semi,
                    &mut vertex,
                    &mut label,
                    &mut scratch,
                    &mut numbered,
                );
            }
        }
    }
    if (numbered as usize) < node_count {
        for v in 1..=node_count as u32 {
            if semi[v as usize] == 0 {
                parent[v as usize] = r;
                numbered += 1;
                semi[v as usize] = numbered;
                vertex[numbered as usize] = v;
                label[v as usize] = v;
            }
        }
    }
    let n = numbered as usize;

    let mut ancestor = vec![0u32; len];
    let mut dom = vec![0u32; len];
    // Buckets as singly linked lists: each vertex sits in at most one bucket at a time.
    let mut bucket_head = vec![0u32; len];
    let mut bucket_next = vec![0u32; len];
    let stack = &mut scratch;

    for i in (2..=n).rev() {
        let w = vertex[i];
        let w_node = (w - 1) as usize;
        let mut orphan = true;
        for slot in input.first_retainer[w_node]..input.first_retainer[w_node + 1] {
            let slot = slot as usize;
            if !input.essential.get(input.retainer_edge[slot] as usize) {
                continue;
            }
            orphan = false;
            let v = input.retainer_node[slot] + 1;
            let u = eval(v, &mut ancestor, &mut label, &semi, stack);
            if semi[u as usize] < semi[w as usize] {
                semi[w as usize] = semi[u as usize];
            }
        }
        if orphan {
            // An orphan behaves as if its only predecessor were the root.
            semi[w as usize] = semi[r as usize];
        }
        let s = vertex[semi[w as usize] as usize] as usize;
        bucket_next[w as usize] = bucket_head[s];
        bucket_head[s] = w;
        let p = parent[w as usize];
        ancestor[w as usize] = p; // link(parent[w], w)
        let mut v = bucket_head[p as usize];
        bucket_head[p as usize] = 0;
        while v != 0 {
            let next = bucket_next[v as usize];
            let u = eval(v, &mut ancestor, &mut label, &semi, stack);
            dom[v as usize] = if semi[u as usize] < semi[v as usize] {
                u
            } else {
                p
            };
            v = next;
        }
    }
    // The root dominates itself; vertex 0 ("no dominator yet") resolves to the root too, which
    // is how cycles attached one by one end up under the root.
    dom[0] = r;
    dom[r as usize] = r;
    for &w in &vertex[2..=n] {
        let w = w as usize;
        if dom[w] != vertex[semi[w] as usize] {
            dom[w] = dom[dom[w] as usize];
        }
    }
    let idom = (0..node_count).map(|node| dom[node + 1] - 1).collect();
    let preorder = vertex[1..=n].iter().map(|&v| v - 1).collect();
    Dominators {
        idom,
        preorder,
        reachable,
    }
}

fn has_only_weak_retainers(input: &DominatorInput<'_>, node: u32) -> bool {
    let node = node as usize;
    (input.first_retainer[node]..input.first_retainer[node + 1]).all(|slot| {
        !input
            .essential
            .get(input.retainer_edge[slot as usize] as usize)
    })
}

/// Iterative DFS over essential edges from vertex `start`, numbering vertices in preorder.
/// `next_edge[node]` remembers how far each node's edge list has been explored.
#[allow(clippy::too_many_arguments)]
fn dfs(
    input: &DominatorInput<'_>,
    start: u32,
    parent: &mut [u32],
    semi: &mut [u32],
    vertex: &mut [u32],
    label: &mut [u32],
    next_edge: &mut [u32],
    numbered: &mut u32,
) {
    next_edge[(start - 1) as usize] = input.first_edge[(start - 1) as usize];
    let mut v = start;
    while v != 0 {
        if semi[v as usize] == 0 {
            *numbered += 1;
            semi[v as usize] = *numbered;
            vertex[*numbered as usize] = v;
            label[v as usize] = v;
        }
        let mut v_next = parent[v as usize];
        let v_node = (v - 1) as usize;
        let end = input.first_edge[v_node + 1];
        while next_edge[v_node] < end {
            let e = next_edge[v_node] as usize;
            next_edge[v_node] += 1;
            if !input.essential.get(e) {
                continue;
            }
            let w_node = input.edge_to[e];
            let w = w_node + 1;
            if semi[w as usize] == 0 {
                parent[w as usize] = v;
                next_edge[w_node as usize] = input.first_edge[w_node as usize];
                v_next = w;
                break;
            }
        }
        v = v_next;
    }
}

/// `eval` with path compression, iterative, using `stack` as scratch space.
#[inline]
fn eval(v: u32, ancestor: &mut [u32], label: &mut [u32], semi: &[u32], stack: &mut [u32]) -> u32 {
    if ancestor[v as usize] == 0 {
        return v;
    }
    // compress(v)
    let mut top = 0usize;
    let mut x = v;
    while ancestor[ancestor[x as usize] as usize] != 0 {
        stack[top] = x;
        top += 1;
        x = ancestor[x as usize];
    }
    while top > 0 {
        top -= 1;
        let w = stack[top] as usize;
        let a = ancestor[w] as usize;
        if semi[label[a] as usize] < semi[label[w] as usize] {
            label[w] = label[a];
        }
        ancestor[w] = ancestor[a];
    }
    label[v as usize]
}

/// Retained sizes: each node's own size plus those of all nodes it dominates, summed bottom-up
/// over the DFS preorder walked backwards (children are numbered after their dominators).
pub fn retained_sizes(dominators: &Dominators, self_size: &[u64]) -> Vec<u64> {
    let mut retained = self_size.to_vec();
    for &node in dominators.preorder.iter().skip(1).rev() {
        let d = dominators.idom[node as usize] as usize;
        retained[d] += retained[node as usize];
    }
    retained
}
