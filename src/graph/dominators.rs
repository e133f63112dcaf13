//! Immediate dominators over dense `u32` node ordinals, with Chrome DevTools' treatment of
//! nodes the root cannot reach.
//!
//! Semi-NCA (Georgiadis' variant of Lengauer–Tarjan: semidominators by `eval` with path
//! compression, then immediate dominators as nearest common ancestors), iterative throughout:
//! the heap graph is far too deep for recursion. The algorithm runs in DFS-number space:
//! vertex `i` is the `i`-th node the DFS numbered (the root is 0), so a vertex's state sits
//! in dense arrays indexed by `i`, and predecessors are translated to DFS numbers once, in a
//! parallel pass, before the main loop: from the retainer lists when the build has them, or
//! gathered from the forward edges when it has none (then no reverse graph is ever built), and
//! in either case sorted per vertex, so that the loop's `eval`s visit the state in address
//! order. The state `eval` touches (ancestor and best label) is one 8-byte record, so a
//! predecessor costs one cache miss, not three.
//!
//! The DFS reads the essential edges from a finished set ([`number_nodes`]) or decides each
//! edge as it scans it and records the decision ([`number_nodes_judging`]), so that what the
//! decision needs for the rest of the heap (DevTools' page-owned set) can be made from the
//! DFS's first part.
//!
//! Unreachable nodes are handled exactly as DevTools does, because it changes numbers users
//! compare against: after the DFS from the root, every still-unvisited node whose retainers
//! are all non-essential (an "orphan") starts a DFS of its own as if the root pointed at it,
//! in ordinal order; whatever is still unvisited after that (cycles only reachable from each
//! other) is attached to the root one by one, and ends up dominated by the root. (In DevTools'
//! Lengauer–Tarjan those leftover vertices are numbered last and never lower the
//! semidominator of a vertex numbered before them, so their edges are ignored here.)

use rayon::prelude::*;

use super::bits::BitSet;
use super::prefetch::prefetch;

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
    /// `idom` in DFS-number space: `preorder[idom_number[i]]` dominates `preorder[i]`; always
    /// less than `i` except for the root (0).
    pub idom_number: Vec<u32>,
}

/// Marks a node the DFS has not numbered yet, and a predecessor the main loop skips.
const NONE: u32 = u32::MAX;

/// One vertex's `eval` state: its ancestor in the link forest, and the smallest
/// semidominator number on the compressed path up to it.
#[derive(Clone, Copy)]
struct EvalState {
    ancestor: u32,
    label: u32,
}

/// The forward graph restricted to essential edges: all the DFS numbering reads, so that it
/// can start before the retainer lists exist.
pub struct ForwardGraph<'a> {
    pub root: u32,
    pub first_edge: &'a [u32],
    pub edge_to: &'a [u32],
    pub essential: &'a BitSet,
}

impl DominatorInput<'_> {
    /// The forward half of the input.
    pub fn forward(&self) -> ForwardGraph<'_> {
        ForwardGraph {
            root: self.root,
            first_edge: self.first_edge,
            edge_to: self.edge_to,
            essential: self.essential,
        }
    }
}

/// The DFS numbering the dominators are computed in: `vertex[i]` is the node numbered `i`,
/// `parent[i]` its DFS-tree parent's number (the root's, orphans' and leftovers' is 0).
#[derive(Default)]
pub struct DfsNumbering {
    vertex: Vec<u32>,
    parent: Vec<u32>,
    /// Vertices the DFS from the root reached.
    reachable: usize,
    /// Vertices reached by the root's and the orphans' DFSs; the rest are leftover cycles.
    numbered: usize,
}

/// The DFS in progress. Nodes' numbers are filled in afterwards, from `vertex`: a random
/// store per step would sit in the DFS's critical path.
struct Numbering<'t> {
    /// The forward graph's edges.
    first_edge: &'t [u32],
    edge_to: &'t [u32],
    /// Per edge: where the target's edges start (`first_edge[edge_to[e]]`), built in one
    /// parallel pass. Descending along an edge then needs the target's edges and the end of
    /// its range, two loads whose addresses are both known, instead of a load of the range
    /// start followed by a load of the edges it points at: one memory latency per DFS step
    /// instead of two.
    target_first_edge: &'t [u32],
    /// One bit per node: 1 MB for 8 M nodes stays in cache, where a 32 MB array of numbers
    /// would miss on nearly every edge the DFS scans.
    visited: BitSet,
    vertex: Vec<u32>,
    parent: Vec<u32>,
    /// Explicit DFS stack.
    stack: Vec<Frame>,
}

/// A node on the DFS stack: its next edge to scan, the end of its edges, its number and
/// the node itself (which a classifying DFS needs to judge its edges).
#[derive(Clone, Copy)]
struct Frame {
    next: u32,
    end: u32,
    number: u32,
    node: u32,
}

/// Which edges the DFS follows: read from a finished set of essential edges, or decided
/// edge by edge as the DFS scans them (and then recorded).
trait EdgeRule {
    /// Whether edge `edge` of `node` is essential.
    fn essential(&mut self, node: u32, edge: usize) -> bool;
    /// Asks for what [`EdgeRule::essential`] will read of the edges from `first` on.
    fn ahead(&self, first: usize);
}

/// The essential edges, known before the DFS.
struct KnownEdges<'a>(&'a BitSet);

impl EdgeRule for KnownEdges<'_> {
    #[inline(always)]
    fn essential(&mut self, _: u32, edge: usize) -> bool {
        self.0.get(edge)
    }

    #[inline(always)]
    fn ahead(&self, _: usize) {}
}

/// Edges judged by `judge` as the DFS scans them, the essential ones recorded in `essential`.
/// A node's edges are all scanned, once, before it leaves the stack.
struct JudgedEdges<'a, J> {
    judge: &'a J,
    essential: &'a mut BitSet,
}

impl<J: EdgeJudge> EdgeRule for JudgedEdges<'_, J> {
    #[inline(always)]
    fn essential(&mut self, node: u32, edge: usize) -> bool {
        let essential = self.judge.essential(node, edge);
        if essential {
            self.essential.set(edge);
        }
        essential
    }

    #[inline(always)]
    fn ahead(&self, first: usize) {
        self.judge.ahead(first);
    }
}

/// Decides whether an edge is essential, for a DFS that decides as it goes
/// ([`number_nodes_judging`]).
pub trait EdgeJudge {
    /// Whether edge `edge`, one of `node`'s, is essential.
    fn essential(&self, node: u32, edge: usize) -> bool;
    /// Asks for the memory [`EdgeJudge::essential`] will read for the edges from `first` on
    /// (a hint: the DFS calls it when it numbers a node).
    fn ahead(&self, first: usize);
}

impl Numbering<'_> {
    /// Numbers `node`, whose edges start at `first`, and pushes it on the DFS stack.
    #[inline(always)]
    fn visit(&mut self, rule: &impl EdgeRule, node: u32, first: u32, parent: u32) {
        let i = self.vertex.len() as u32;
        self.visited.set(node as usize);
        self.vertex.push(node);
        self.parent.push(parent);
        // The edge scan below reads `edge_to[first..]` and, on finding a child, the same
        // range of `target_first_edge`: ask for both lines now so that the two misses
        // overlap instead of following one another (README, Speed: measured choices).
        prefetch(self.target_first_edge, first as usize);
        rule.ahead(first as usize);
        self.stack.push(Frame {
            next: first,
            end: self.first_edge[node as usize + 1],
            number: i,
            node,
        });
    }

    /// Iterative preorder DFS over essential edges from `start`, whose tree parent is `parent`.
    fn dfs(&mut self, rule: &mut impl EdgeRule, start: u32, parent: u32) {
        let depth = self.stack.len();
        self.visit(rule, start, self.first_edge[start as usize], parent);
        self.run(rule, depth);
    }

    /// Runs the DFS until the stack is back to `depth` frames.
    fn run(&mut self, rule: &mut impl EdgeRule, depth: usize) {
        while self.stack.len() > depth {
            let top = self
                .stack
                .last_mut()
                .expect("the stack is deeper than `depth`");
            let Frame {
                next: mut e,
                end,
                number: v,
                node,
            } = *top;
            let mut next = NONE;
            while e < end {
                let edge = e as usize;
                e += 1;
                if rule.essential(node, edge) && !self.visited.get(self.edge_to[edge] as usize) {
                    next = edge as u32;
                    break;
                }
            }
            top.next = e;
            if next == NONE {
                self.stack.pop();
            } else {
                let edge = next as usize;
                let first = self.target_first_edge[edge];
                self.visit(rule, self.edge_to[edge], first, v);
            }
        }
    }
}

/// Numbers every node: the DFS from the root, then one from each orphan (a node no essential
/// edge reaches), in ordinal order, then the leftover nodes (see the module docs).
pub fn number_nodes(g: &ForwardGraph<'_>) -> DfsNumbering {
    let node_count = g.first_edge.len().saturating_sub(1);
    if node_count == 0 {
        return DfsNumbering::default();
    }
    let target_first_edge = target_first_edges(g.first_edge, g.edge_to);
    let mut nb = Numbering::new(g.first_edge, g.edge_to, &target_first_edge);
    let mut rule = KnownEdges(g.essential);
    nb.dfs(&mut rule, g.root, 0);
    nb.finish(g.essential)
}

/// [`number_nodes`] for a graph whose essential edges are decided as the DFS scans them, and
/// returned with the numbering. The DFS first follows the root's edges that `first` picks,
/// judging with `early`, which needs only be right for the nodes those edges reach (and the
/// root); then it takes the judge `late` makes from the nodes visited so far (the root
/// included; every edge of the others has been judged by `early`) for the rest, and for the
/// edges of every node the root's DFS did not reach.
pub fn number_nodes_judging<E: EdgeJudge, L: EdgeJudge>(
    root: u32,
    first_edge: &[u32],
    edge_to: &[u32],
    first: impl Fn(usize) -> bool,
    early: &E,
    late: impl FnOnce(&BitSet) -> L,
) -> (DfsNumbering, BitSet) {
    let node_count = first_edge.len().saturating_sub(1);
    let mut essential = BitSet::new(edge_to.len());
    if node_count == 0 {
        return (DfsNumbering::default(), essential);
    }
    let target_first_edge = target_first_edges(first_edge, edge_to);
    let mut nb = Numbering::new(first_edge, edge_to, &target_first_edge);
    let root_edges = first_edge[root as usize] as usize..first_edge[root as usize + 1] as usize;
    {
        let mut rule = JudgedEdges {
            judge: early,
            essential: &mut essential,
        };
        nb.visit(&rule, root, root_edges.start as u32, 0);
        for edge in root_edges.clone() {
            let to = edge_to[edge];
            if first(edge) && rule.essential(root, edge) && !nb.visited.get(to as usize) {
                nb.dfs(&mut rule, to, 0);
            }
        }
    }
    let late = late(&nb.visited);
    let mut rule = JudgedEdges {
        judge: &late,
        essential: &mut essential,
    };
    // The root's frame is still at the bottom of the stack, its edges unscanned: the rest of
    // the DFS scans them all (those taken first are visited already).
    nb.run(&mut rule, 0);
    for node in 0..node_count as u32 {
        if !nb.visited.get(node as usize) {
            for edge in first_edge[node as usize] as usize..first_edge[node as usize + 1] as usize {
                rule.essential(node, edge);
            }
        }
    }
    let numbering = nb.finish(&essential);
    (numbering, essential)
}

/// Per edge, where its target's edges start (see [`Numbering::target_first_edge`]).
fn target_first_edges(first_edge: &[u32], edge_to: &[u32]) -> Vec<u32> {
    edge_to
        .par_iter()
        .map(|&to| first_edge[to as usize])
        .collect()
}

impl<'t> Numbering<'t> {
    fn new(
        first_edge: &'t [u32],
        edge_to: &'t [u32],
        target_first_edge: &'t [u32],
    ) -> Numbering<'t> {
        let node_count = first_edge.len().saturating_sub(1);
        Numbering {
            first_edge,
            edge_to,
            target_first_edge,
            visited: BitSet::new(node_count),
            vertex: Vec::with_capacity(node_count),
            parent: Vec::with_capacity(node_count),
            stack: Vec::new(),
        }
    }

    /// After the root's DFS: the orphans' DFSs and the leftover nodes.
    fn finish(mut self, essential: &BitSet) -> DfsNumbering {
        let node_count = self.visited.len();
        let reachable = self.vertex.len();
        if reachable < node_count {
            let mut retained = BitSet::new(node_count);
            for (e, &to) in self.edge_to.iter().enumerate() {
                if essential.get(e) {
                    retained.set(to as usize);
                }
            }
            let mut rule = KnownEdges(essential);
            for node in 0..node_count as u32 {
                if !self.visited.get(node as usize) && !retained.get(node as usize) {
                    self.dfs(&mut rule, node, 0);
                }
            }
        }
        let numbered = self.vertex.len();
        if numbered < node_count {
            for node in 0..node_count as u32 {
                if !self.visited.get(node as usize) {
                    self.vertex.push(node);
                    self.parent.push(0);
                }
            }
        }
        DfsNumbering {
            vertex: self.vertex,
            parent: self.parent,
            reachable,
            numbered,
        }
    }
}

/// Computes immediate dominators (see the module docs for unreachable nodes).
pub fn dominators(input: &DominatorInput<'_>) -> Dominators {
    dominators_numbered(input, number_nodes(&input.forward()))
}

/// [`dominators`] from the forward graph alone (no retainer lists).
pub fn dominators_forward(g: &ForwardGraph<'_>) -> Dominators {
    prepare_forward(g, number_nodes(g)).finish()
}

/// The dominators from a numbering [`number_nodes`] made of the same graph.
pub fn dominators_numbered(input: &DominatorInput<'_>, numbering: DfsNumbering) -> Dominators {
    prepare(input, numbering).finish()
}

/// The dominators' input in DFS-number space: what [`prepare`] makes of a numbering and the
/// graph, and all that [`PreparedDominators::finish`] reads.
pub struct PreparedDominators {
    vertex: Vec<u32>,
    parent: Vec<u32>,
    reachable: usize,
    numbered: usize,
    preds: Vec<PredChunk>,
}

/// Translates the graph's essential predecessors into DFS-number space: a pass of random
/// reads that every core can share, apart from the sequential main loop
/// ([`PreparedDominators::finish`]) so that a caller can give it both cores before running
/// other work beside that loop.
pub fn prepare(input: &DominatorInput<'_>, numbering: DfsNumbering) -> PreparedDominators {
    prepare_with(numbering, |number, vertex, parent, numbered| {
        predecessors(input, number, vertex, parent, numbered)
    })
}

/// [`prepare`] from the forward graph alone, for a build that has no retainer lists: it
/// needs more time (the predecessors are gathered by target and sorted) but none of the
/// lists' memory.
pub fn prepare_forward(g: &ForwardGraph<'_>, numbering: DfsNumbering) -> PreparedDominators {
    prepare_with(numbering, |number, _, parent, numbered| {
        predecessors_forward(g, number, parent, numbered)
    })
}

/// The nodes' numbers from `numbering`, and the predecessors `translate` makes with them.
fn prepare_with(
    numbering: DfsNumbering,
    translate: impl FnOnce(&[u32], &[u32], &[u32], usize) -> Vec<PredChunk>,
) -> PreparedDominators {
    let DfsNumbering {
        vertex,
        parent,
        reachable,
        numbered,
    } = numbering;
    let mut number = vec![NONE; vertex.len()];
    for (i, &node) in vertex.iter().enumerate() {
        number[node as usize] = i as u32;
    }
    let preds = translate(&number, &vertex, &parent, numbered);
    // The nodes' numbers go before the main loop allocates its state: what follows maps
    // number space back to nodes through `vertex` alone.
    drop(number);
    PreparedDominators {
        vertex,
        parent,
        reachable,
        numbered,
        preds,
    }
}

impl PreparedDominators {
    /// Semidominators, then immediate dominators: one sequential loop each.
    pub fn finish(self) -> Dominators {
        let PreparedDominators {
            vertex,
            parent,
            reachable,
            numbered,
            mut preds,
        } = self;
        let node_count = vertex.len();
        // Semidominators, vertices in decreasing number. A vertex `v` is linked (processed) once
        // `v > i`; its ancestor starts as its parent. Labels hold semidominator numbers directly.
        let mut state: Vec<EvalState> = parent
            .iter()
            .enumerate()
            .map(|(i, &p)| EvalState {
                ancestor: p,
                label: i as u32,
            })
            .collect();
        let mut path = Vec::new();
        for chunk in preds.iter_mut().rev() {
            for k in (0..chunk.start.len()).rev() {
                let i = chunk.base + k;
                if i == 0 {
                    continue;
                }
                // `eval` starts at each later predecessor's state, a random 8-byte record: ask
                // for those of the vertex processed 8 steps from now.
                if let Some(ahead) = k.checked_sub(8) {
                    for &v in
                        &chunk.later[chunk.first[ahead] as usize..chunk.first[ahead + 1] as usize]
                    {
                        prefetch(&state, v as usize);
                    }
                }
                let mut s = chunk.start[k];
                let later = &chunk.later[chunk.first[k] as usize..chunk.first[k + 1] as usize];
                for &v in later {
                    s = s.min(eval(v, i as u32, &mut state, &mut path));
                }
                // A vertex's start is not read again: it keeps the semidominator, which the
                // state's label does not (path compression lowers it).
                chunk.start[k] = s;
                state[i].label = s;
            }
        }
        drop(state);
        let semi: Vec<u32> = if preds.len() == 1 {
            preds.pop().map(|chunk| chunk.start).unwrap_or_default()
        } else {
            let mut semi = Vec::with_capacity(numbered);
            for chunk in preds {
                semi.extend_from_slice(&chunk.start);
            }
            semi
        };

        // Immediate dominators: the nearest common ancestor of the parent and the semidominator
        // in the dominator tree built so far (vertices in increasing number).
        let mut idom_number = parent;
        for i in 1..numbered {
            let s = semi[i];
            let mut d = idom_number[i];
            while d > s {
                d = idom_number[d as usize];
            }
            idom_number[i] = d;
        }
        // Leftover vertices keep their parent, the root.
        let idom = scatter(&vertex, node_count, |i| vertex[idom_number[i] as usize]);
        Dominators {
            idom,
            preorder: vertex,
            reachable,
            idom_number,
        }
    }
}

/// A run of consecutive vertices' predecessors, in DFS-number space.
struct PredChunk {
    /// The first vertex of the run.
    base: usize,
    /// Per vertex: the smallest of its parent and its predecessors numbered before it (those
    /// are not linked yet when the vertex is processed, so they are their own `eval`).
    start: Vec<u32>,
    /// `first[k]..first[k + 1]` index `later` for vertex `base + k`.
    first: Vec<u32>,
    /// Predecessors numbered after the vertex: each needs an `eval`.
    later: Vec<u32>,
}

/// Every numbered vertex's essential predecessors as DFS numbers, skipping leftover sources
/// (see the module docs). One parallel pass over the retainer lists (the lookups are random,
/// so every core helps), stored in DFS order so that the main loop reads them sequentially.
fn predecessors(
    input: &DominatorInput<'_>,
    number: &[u32],
    vertex: &[u32],
    parent: &[u32],
    numbered: usize,
) -> Vec<PredChunk> {
    const CHUNK: usize = 1 << 16;
    vertex[..numbered]
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(c, nodes)| {
            let base = c * CHUNK;
            let mut chunk = PredChunk {
                base,
                start: Vec::with_capacity(nodes.len()),
                first: Vec::with_capacity(nodes.len() + 1),
                later: Vec::new(),
            };
            chunk.first.push(0);
            for (k, &w) in nodes.iter().enumerate() {
                // The vertices' retainer lists are scattered: ask for the list bounds of a
                // vertex 16 ahead and the list of one 8 ahead (whose bounds have arrived).
                if let Some(&far) = nodes.get(k + 16) {
                    prefetch(input.first_retainer, far as usize);
                }
                if let Some(&near) = nodes.get(k + 8) {
                    let slot = input.first_retainer[near as usize] as usize;
                    prefetch(input.retainer_node, slot);
                    prefetch(input.retainer_edge, slot);
                }
                let i = (base + k) as u32;
                let w = w as usize;
                let mut s = parent[i as usize];
                for slot in input.first_retainer[w] as usize..input.first_retainer[w + 1] as usize {
                    if !input.essential.get(input.retainer_edge[slot] as usize) {
                        continue;
                    }
                    let v = number[input.retainer_node[slot] as usize];
                    if v < i {
                        s = s.min(v);
                    } else if v > i && (v as usize) < numbered {
                        chunk.later.push(v);
                    }
                }
                // In increasing order, the main loop's `eval`s then visit the state records in
                // address order (README, Speed: measured choices).
                let listed = *chunk.first.last().unwrap_or(&0) as usize;
                chunk.later[listed..].sort_unstable();
                chunk.start.push(s);
                chunk.first.push(chunk.later.len() as u32);
            }
            chunk
        })
        .collect()
}

/// [`predecessors`] from the forward edges instead of the retainer lists, so that the
/// dominators need no reverse graph. Two passes over every node's edges in ordinal order, the
/// nodes split into one part per core (the edges, their essential bits and the sources'
/// numbers are read in sequence; the targets' numbers are the only random reads). The first
/// counts, per part and target, the sources numbered after the target, and lets a source
/// numbered before it lower its `start` (an atomic minimum, as the parts may meet on one
/// target; it is rarely lower, so the atomic write is rare). Those counts place each part's
/// sources in one array, with no atomic counter, where the second pass writes them, and
/// become the lists' starts; each vertex's list is then sorted. Gives one chunk holding every
/// vertex.
fn predecessors_forward(
    g: &ForwardGraph<'_>,
    number: &[u32],
    parent: &[u32],
    numbered: usize,
) -> Vec<PredChunk> {
    use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
    let node_count = number.len();
    let edge_count = g.first_edge[node_count] as usize;
    let start: Vec<AtomicU32> = parent[..numbered]
        .par_iter()
        .map(|&p| AtomicU32::new(p))
        .collect();
    // Source ranges of about equal edge counts, one per core.
    let parts = rayon::current_num_threads().clamp(1, 4);
    let bounds: Vec<usize> = (0..=parts)
        .map(|p| {
            let edge = edge_count * p / parts;
            g.first_edge[..=node_count].partition_point(|&first| (first as usize) < edge)
        })
        .map(|v| v.min(node_count))
        .collect();
    let mut counts: Vec<Vec<u32>> = (0..parts)
        .into_par_iter()
        .map(|p| {
            // Part 0's counts become `first` (below), which has one more entry.
            let mut count = vec![0u32; numbered + usize::from(p == 0)];
            let sources = bounds[p]..bounds[p + 1];
            scan_forward(g, number, numbered, sources, Some(&start), |j, _| {
                count[j] += 1
            });
            count
        })
        .collect();
    // Each part's counts become where its sources go: part 0 fills its share of a target's
    // slots from their end back, and so leaves its cursors at the targets' starts, which is
    // `first`; the other parts fill theirs forwards after it.
    let mut total = 0u32;
    for j in 0..numbered {
        for (p, count) in counts.iter_mut().enumerate() {
            let n = count[j];
            total += n;
            count[j] = if p == 0 { total } else { total - n };
        }
    }
    counts[0][numbered] = total;
    let later: Vec<AtomicU32> = (0..total).into_par_iter().map(AtomicU32::new).collect();
    counts.par_iter_mut().enumerate().for_each(|(p, cursor)| {
        scan_forward(
            g,
            number,
            numbered,
            bounds[p]..bounds[p + 1],
            None,
            |j, a| {
                if p == 0 {
                    cursor[j] -= 1;
                    later[cursor[j] as usize].store(a, Relaxed);
                } else {
                    later[cursor[j] as usize].store(a, Relaxed);
                    cursor[j] += 1;
                }
            },
        );
    });
    let first = counts.swap_remove(0);
    drop(counts);
    let mut later: Vec<u32> = later.into_iter().map(AtomicU32::into_inner).collect();
    // Each vertex's list in increasing order, as [`predecessors`] leaves them.
    const VERTICES: usize = 1 << 14;
    let mut pieces = Vec::with_capacity(numbered.div_ceil(VERTICES));
    let mut rest = &mut later[..];
    for lo in (0..numbered).step_by(VERTICES) {
        let hi = numbered.min(lo + VERTICES);
        let (piece, tail) = rest.split_at_mut((first[hi] - first[lo]) as usize);
        pieces.push((lo..hi, piece));
        rest = tail;
    }
    let first_ref = &first;
    pieces.into_par_iter().for_each(|(vertices, piece)| {
        let base = first_ref[vertices.start];
        for j in vertices {
            piece[(first_ref[j] - base) as usize..(first_ref[j + 1] - base) as usize]
                .sort_unstable();
        }
    });
    vec![PredChunk {
        base: 0,
        start: start.into_iter().map(AtomicU32::into_inner).collect(),
        first,
        later,
    }]
}

/// For [`predecessors_forward`]: calls `later(j, a)` for each essential edge of `sources`
/// from vertex `a` to an earlier vertex `j`, and lowers `start` (when given) for edges to
/// later vertices. Generic in `later`, which runs once per such edge (tens of millions).
fn scan_forward(
    g: &ForwardGraph<'_>,
    number: &[u32],
    numbered: usize,
    sources: std::ops::Range<usize>,
    start: Option<&[std::sync::atomic::AtomicU32]>,
    mut later: impl FnMut(usize, u32),
) {
    use std::sync::atomic::Ordering::Relaxed;
    const AHEAD: usize = 16;
    let edges_end = g.first_edge[sources.end] as usize;
    for v in sources {
        let a = number[v];
        if a as usize >= numbered {
            continue; // a leftover source (see the module docs)
        }
        for e in g.first_edge[v] as usize..g.first_edge[v + 1] as usize {
            if e + AHEAD < edges_end {
                prefetch(number, g.edge_to[e + AHEAD] as usize);
            }
            if !g.essential.get(e) {
                continue;
            }
            let j = number[g.edge_to[e] as usize];
            if j as usize >= numbered {
                continue;
            }
            if a < j {
                if let Some(start) = start {
                    let slot = &start[j as usize];
                    if a < slot.load(Relaxed) {
                        slot.fetch_min(a, Relaxed);
                    }
                }
            } else if a > j {
                later(j as usize, a);
            }
        }
    }
}

/// `eval(v)` for a linked vertex `v` while vertex `i` is processed: compresses the path from
/// `v` up to the last linked ancestor (iteratively, `path` is scratch) and returns the
/// smallest semidominator number on it.
#[inline]
fn eval(v: u32, i: u32, state: &mut [EvalState], path: &mut Vec<u32>) -> u32 {
    let a = state[v as usize].ancestor;
    if a <= i {
        return state[v as usize].label;
    }
    // Collect v, ancestor(v), ... while the next ancestor is itself linked.
    path.clear();
    let mut x = v;
    let mut ax = a;
    loop {
        let next = state[ax as usize].ancestor;
        if next <= i {
            break;
        }
        path.push(x);
        x = ax;
        ax = next;
    }
    // `x`'s ancestor `ax` is the top linked vertex; `ax`'s ancestor is not linked. Walk back
    // down, pulling each vertex's label and ancestor from the one above it.
    let mut above = state[x as usize];
    let top_label = state[ax as usize].label;
    if top_label < above.label {
        above.label = top_label;
    }
    above.ancestor = state[ax as usize].ancestor;
    state[x as usize] = above;
    while let Some(y) = path.pop() {
        let st = &mut state[y as usize];
        if above.label < st.label {
            st.label = above.label;
        }
        st.ancestor = above.ancestor;
        above = *st;
    }
    state[v as usize].label
}

/// Retained sizes: each node's own size plus those of all nodes it dominates, summed bottom-up
/// in DFS-number space (a dominator is numbered before everything it dominates).
pub fn retained_sizes(dominators: &Dominators, self_size: &[u64]) -> Vec<u64> {
    let mut sums: Vec<u64> = dominators
        .preorder
        .par_iter()
        .map(|&n| self_size[n as usize])
        .collect();
    for i in (1..sums.len()).rev() {
        let d = dominators.idom_number[i] as usize;
        sums[d] += sums[i];
    }
    scatter(&dominators.preorder, sums.len(), |i| sums[i])
}

/// Per node, the value `of(i)` of its DFS number `i`, where `vertex[i]` is the node numbered
/// `i` (every node once): written in parallel through the permutation, so that no per-node
/// column of numbers is needed to gather them.
fn scatter<T: Scattered>(
    vertex: &[u32],
    node_count: usize,
    of: impl Fn(usize) -> T + Sync,
) -> Vec<T> {
    let out: Vec<T::Cell> = (0..node_count).into_par_iter().map(|_| T::cell()).collect();
    vertex
        .par_iter()
        .enumerate()
        .for_each(|(i, &node)| T::put(&out[node as usize], of(i)));
    out.into_iter().map(T::take).collect()
}

/// A per-node value [`scatter`] writes from several threads: each through its atomic cell.
trait Scattered: Copy + Send + Sync {
    type Cell: Send + Sync;
    fn cell() -> Self::Cell;
    fn put(cell: &Self::Cell, value: Self);
    fn take(cell: Self::Cell) -> Self;
}

impl Scattered for u32 {
    type Cell = std::sync::atomic::AtomicU32;
    fn cell() -> Self::Cell {
        Self::Cell::new(0)
    }
    fn put(cell: &Self::Cell, value: u32) {
        cell.store(value, std::sync::atomic::Ordering::Relaxed);
    }
    fn take(cell: Self::Cell) -> u32 {
        cell.into_inner()
    }
}

impl Scattered for u64 {
    type Cell = std::sync::atomic::AtomicU64;
    fn cell() -> Self::Cell {
        Self::Cell::new(0)
    }
    fn put(cell: &Self::Cell, value: u64) {
        cell.store(value, std::sync::atomic::Ordering::Relaxed);
    }
    fn take(cell: Self::Cell) -> u64 {
        cell.into_inner()
    }
}
