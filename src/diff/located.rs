//! Which nodes of a snapshot have a source location (V8 lists one for closures and some
//! objects), with each one's entry in `snapshot.locations` and a key shared by equal places:
//! in memory proportional to the located nodes, not to every node (two per-node columns were
//! eight bytes per node at a diff's peak).

use crate::column::Column;
use crate::graph::bits::BitSet;
use crate::snapshot::Snapshot;

/// The located nodes of one snapshot.
pub struct NodeLocations {
    /// Per node: whether it has a location.
    located: BitSet,
    /// Per 64-node word of `located`: how many located nodes come before it.
    before: Vec<u32>,
    /// Per located node, in node order: the index of its location in `snapshot.locations`
    /// (the last one listed for it).
    index: Column<u32>,
    /// Per located node, in node order: a dense id of its (script, line, column), handed out
    /// in node order; equal places share one, so closures of one function compare equal.
    keys: Column<u32>,
}

impl NodeLocations {
    /// The located nodes of `s`.
    pub fn new(s: &Snapshot) -> NodeLocations {
        // (node, location) in node order; of several locations for one node the last wins.
        let mut listed: Vec<(u32, u32)> = s
            .locations
            .iter()
            .enumerate()
            .map(|(i, l)| (l.node, i as u32))
            .filter(|&(node, _)| (node as usize) < s.node_count())
            .collect();
        listed.sort_unstable();
        let mut located = BitSet::new(s.node_count());
        let mut index = Vec::with_capacity(listed.len());
        for (k, &(node, i)) in listed.iter().enumerate() {
            if listed.get(k + 1).is_some_and(|&(next, _)| next == node) {
                continue;
            }
            located.set(node as usize);
            index.push(i);
        }
        let mut places = rustc_hash::FxHashMap::default();
        // Objects made by one function tend to sit side by side in the heap: the previous
        // located node's key spares most lookups.
        let mut previous: Option<((u32, u32, u32), u32)> = None;
        let keys: Vec<u32> = index
            .iter()
            .map(|&i| {
                let l = s.locations[i as usize];
                let place = (l.script_id, l.line, l.column);
                if let Some((last, key)) = previous {
                    if last == place {
                        return key;
                    }
                }
                let next = places.len() as u32;
                let key = *places.entry(place).or_insert(next);
                previous = Some((place, key));
                key
            })
            .collect();
        Self::from_columns(located, index.into(), keys.into())
    }

    /// The located nodes of `s` from kept columns ([`columns`](Self::columns)), or `None`
    /// when they do not fit it.
    pub fn from_kept(
        s: &Snapshot,
        located: Vec<u64>,
        index: Column<u32>,
        keys: Column<u32>,
    ) -> Option<NodeLocations> {
        let located = BitSet::from_words(located, s.node_count())?;
        let fits = located.count_ones() == index.len()
            && keys.len() == index.len()
            && index.iter().all(|&i| (i as usize) < s.locations.len());
        fits.then(|| Self::from_columns(located, index, keys))
    }

    fn from_columns(located: BitSet, index: Column<u32>, keys: Column<u32>) -> NodeLocations {
        let mut before = Vec::with_capacity(located.words().len());
        let mut count = 0u32;
        for word in located.words() {
            before.push(count);
            count += word.count_ones();
        }
        NodeLocations {
            located,
            before,
            index,
            keys,
        }
    }

    /// The columns to keep: the located bits (words), the location indexes and the keys.
    pub fn columns(&self) -> (&[u64], &[u32], &[u32]) {
        (self.located.words(), &self.index, &self.keys)
    }

    /// Node `n`'s position among the located nodes, if it has a location.
    #[inline]
    fn slot(&self, n: u32) -> Option<usize> {
        let n = n as usize;
        if n >= self.located.len() || !self.located.get(n) {
            return None;
        }
        let word = self.located.words()[n / 64];
        let below = word & ((1u64 << (n % 64)) - 1);
        Some(self.before[n / 64] as usize + below.count_ones() as usize)
    }

    /// The index in `snapshot.locations` of node `n`'s location, if it has one.
    #[inline]
    pub fn index(&self, n: u32) -> Option<usize> {
        self.slot(n).map(|k| self.index[k] as usize)
    }

    /// Node `n`'s location key, if it has a location.
    #[inline]
    pub fn key(&self, n: u32) -> Option<u32> {
        self.slot(n).map(|k| self.keys[k])
    }
}

/// Equal when they list the same nodes with the same locations and keys.
impl PartialEq for NodeLocations {
    fn eq(&self, other: &NodeLocations) -> bool {
        self.located.len() == other.located.len() && self.columns() == other.columns()
    }
}

impl std::fmt::Debug for NodeLocations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (located, index, keys) = self.columns();
        f.debug_struct("NodeLocations")
            .field("nodes", &self.located.len())
            .field("located", &located)
            .field("index", &index)
            .field("keys", &keys)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// On a real snapshot with locations, every node's location and key are those of the
    /// per-node tables: the last location listed for it, and one key per distinct place,
    /// handed out in node order.
    #[test]
    fn located_nodes_match_per_node_tables() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/leak-3.heapsnapshot.gz");
        let s = Snapshot::open(&path).expect("sample");
        let mut per_node = vec![None; s.node_count()];
        for (i, l) in s.locations.iter().enumerate() {
            per_node[l.node as usize] = Some(i);
        }
        let mut keys = std::collections::HashMap::new();
        let located = NodeLocations::new(&s);
        let mut count = 0;
        for (n, &i) in per_node.iter().enumerate() {
            assert_eq!(located.index(n as u32), i, "node {n}");
            let want = i.map(|i| {
                let l = s.locations[i];
                let next = keys.len() as u32;
                *keys.entry((l.script_id, l.line, l.column)).or_insert(next)
            });
            assert_eq!(located.key(n as u32), want, "node {n}");
            count += usize::from(i.is_some());
        }
        assert!(count > 1000, "the sample has located nodes");
        assert!(keys.len() > 10 && keys.len() < count, "places are shared");
        assert_eq!(located.index(s.node_count() as u32), None);

        let (words, index, keys) = located.columns();
        let back = NodeLocations::from_kept(
            &s,
            words.to_vec(),
            index.to_vec().into(),
            keys.to_vec().into(),
        )
        .expect("its own columns fit");
        assert!((0..s.node_count() as u32).all(|n| back.key(n) == located.key(n)));
        let mut past = index.to_vec();
        past[0] = s.locations.len() as u32;
        assert!(
            NodeLocations::from_kept(&s, words.to_vec(), past.into(), keys.to_vec().into())
                .is_none()
        );
        let short = index[1..].to_vec();
        assert!(
            NodeLocations::from_kept(&s, words.to_vec(), short.into(), keys.to_vec().into())
                .is_none()
        );
    }
}
