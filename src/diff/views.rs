//! Small views that keep much larger parents alive: sliced strings (V8 makes a substring of
//! 13 characters or more a *sliced string* pointing at its parent, so a short key can keep a
//! whole request body) and Buffer/TypedArray views (`subarray`, `slice`) that keep their whole
//! ArrayBuffer. The fix is the same for both — keep a copy of the piece — so a collection
//! whose entries are such views gets that hint instead of "evict old entries".
//!
//! A sliced string is known for what it is (its node type, its `parent` edge). A Buffer is not:
//! the snapshot gives a typed array's ArrayBuffer and the ArrayBuffer's size, never the view's
//! own length, so a Buffer that *is* 16 KB looks like a 40-byte view of 16 KB. Views are
//! certain only when several entries share one ArrayBuffer; otherwise the hint says what to
//! check.

use crate::graph::RetainerGraph;

/// What a collection's entries are, when they are views of larger memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewKind {
    /// Sliced strings with large parents. (Snapshots name every sliced string `(sliced
    /// string)`: their own length is not known, only that it is at least 13.)
    SlicedString,
    /// Typed arrays sharing ArrayBuffers of at least [`SHARE_PER_VIEW`] bytes per view (or
    /// shown by their allocation stacks to be made by `subarray`/`slice`): views for certain.
    SharedBuffer,
    /// Typed arrays each holding an ArrayBuffer of at least [`LARGE_BUFFER`] bytes alone:
    /// views only if they were cut from larger data, which the snapshot cannot tell.
    LargeBuffer,
}

/// The views among a collection's entries: their kind and what their parents hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Views {
    pub kind: ViewKind,
    /// Bytes of the parent strings or ArrayBuffers per view (a parent shared by several views
    /// counted once).
    pub average_parent: u64,
}

/// How many entries are looked at (the first ones, in the collection's order).
const LOOKED_AT: usize = 2_000;
/// Views sharing an ArrayBuffer keep a large parent when each one's share of it is this large.
const SHARE_PER_VIEW: u64 = 1024;
/// An ArrayBuffer this large behind one small entry is worth a word in the hint.
const LARGE_BUFFER: u64 = 4 * 1024;

/// Whether at least half of `values` (a collection's entries) are views that keep much larger
/// parents alive, and of which kind.
pub fn views(graph: &RetainerGraph, values: &[u32]) -> Option<Views> {
    let s = &graph.snapshot;
    let sample = &values[..values.len().min(LOOKED_AT)];
    if sample.is_empty() {
        return None;
    }
    let edge_to = |n: u32, name: &str| s.edges_named(n, name).next().map(|e| s.edge_to[e]);
    // (parent, its size) per sliced string and per typed array.
    let mut strings: Vec<(u32, u64)> = Vec::new();
    let mut buffers: Vec<(u32, u64)> = Vec::new();
    for &v in sample {
        let t = s.node_type[v as usize];
        if t == s.layout.node_types.sliced_string {
            if let Some(parent) = edge_to(v, "parent") {
                strings.push((parent, s.node_self_size[parent as usize]));
            }
        } else if t == s.layout.node_types.object {
            let store = edge_to(v, "buffer").and_then(|b| Some((b, edge_to(b, "backing_store")?)));
            if let Some((buffer, store)) = store {
                buffers.push((buffer, s.node_self_size[store as usize]));
            }
        }
    }
    let looked_at = sample.len() as u64;
    let most = |n: u64| n * 2 >= looked_at;
    let strings = Parents::of(strings);
    if most(strings.shared + strings.alone) {
        return Some(Views {
            kind: ViewKind::SlicedString,
            average_parent: strings.per_view(),
        });
    }
    let buffers = Parents::of(buffers);
    let (shared, large) = (buffers.shared, buffers.alone);
    let kind = if most(shared) {
        ViewKind::SharedBuffer
    } else if most(large) && buffers.per_view() >= LARGE_BUFFER {
        ViewKind::LargeBuffer
    } else {
        return None;
    };
    Some(Views {
        kind,
        average_parent: buffers.per_view(),
    })
}

/// The parents behind a collection's views, grouped: how many views share a parent with
/// another view, how many hold one alone, and what those parents hold — counting only
/// parents whose share per view is at least [`SHARE_PER_VIEW`] (small copies share Node's
/// 8 KB Buffer pool, a few dozen bytes each: not views of anything large).
struct Parents {
    shared: u64,
    alone: u64,
    bytes: u64,
}

impl Parents {
    fn of(mut views: Vec<(u32, u64)>) -> Parents {
        views.sort_unstable();
        let mut parents = Parents {
            shared: 0,
            alone: 0,
            bytes: 0,
        };
        for group in views.chunk_by(|a, b| a.0 == b.0) {
            let (n, size) = (group.len() as u64, group[0].1);
            if size / n < SHARE_PER_VIEW {
                continue;
            }
            parents.bytes += size;
            if n >= 2 {
                parents.shared += n;
            } else {
                parents.alone += 1;
            }
        }
        parents
    }

    /// Parent bytes per view counted.
    fn per_view(&self) -> u64 {
        self.bytes / (self.shared + self.alone).max(1)
    }
}
