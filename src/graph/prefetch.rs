//! Software prefetch hints for traversals whose next steps are known ahead.
//!
//! A breadth-first walk of a large heap waits on memory at every node: where its edges start
//! (`first_edge`), then the edges themselves, each a likely cache miss. The queue already says
//! which nodes come next, so asking for their memory a few steps early lets those misses
//! overlap instead of following one another (the README's Speed section has the figures).

use crate::snapshot::Snapshot;

/// Asks the CPU to start loading the cache line holding `slice[i]`; a no-op when out of range
/// or on targets without a prefetch instruction. Never changes behaviour, only timing.
#[inline(always)]
pub fn prefetch<T>(slice: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if let Some(item) = slice.get(i) {
        // SAFETY: prefetching is a hint: it does not access memory architecturally, and the
        // address is a valid element of `slice`.
        unsafe {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
            _mm_prefetch::<_MM_HINT_T0>((item as *const T).cast::<i8>());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (slice, i);
}

/// How many queue entries ahead a breadth-first walk asks for a node's edge range; its edges
/// are asked for half as far ahead, once the range has had time to arrive.
const AHEAD: usize = 16;

/// Prefetches for a breadth-first walk about to process `queue[head]`: the edge range of the
/// node `AHEAD` entries later and the edges (targets and types) of the one `AHEAD / 2` later.
#[inline(always)]
pub fn bfs_ahead(s: &Snapshot, queue: &[u32], head: usize) {
    if let Some(&far) = queue.get(head + AHEAD) {
        prefetch(&s.first_edge, far as usize);
    }
    if let Some(&near) = queue.get(head + AHEAD / 2) {
        let first = s.first_edge[near as usize] as usize;
        prefetch(&s.edge_to, first);
        prefetch(&s.edge_type, first);
    }
}
