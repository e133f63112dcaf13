//! The counted objects of one snapshot of a diff (shallow size above zero, as DevTools counts
//! them) in id order, with each one's class and shallow size: what the same-process check and
//! DevTools' by-id columns (new, deleted, survivors) read of a digest.
//!
//! An earlier snapshot's objects are gathered into columns (its graph is freed once it is
//! digested), as are those read back from an index and, with memory to spare, the last
//! snapshot's (beside its dominators, where a core is idle). One snapshot at a time, the last
//! snapshot's are read through its id index and its graph's id, class and size columns, which
//! the diff holds until its report is made anyway: gathering them would add 16 bytes per
//! object to the diff's peak.

use std::borrow::Cow;
use std::sync::Arc;

use crate::column::Column;
use crate::graph::bits::BitSet;
use crate::graph::prefetch::prefetch;
use crate::graph::RetainerGraph;

/// Every node of a snapshot (its ordinal) in id order, equal ids in node order.
pub(crate) type IdIndex = Arc<Vec<u32>>;

/// One counted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    pub id: u32,
    /// Index into its digest's classes.
    pub class: u32,
    pub self_size: u64,
}

/// A snapshot's counted objects, by id.
#[derive(Debug, Clone)]
pub enum Objects {
    /// Gathered: an earlier snapshot's, or read from an index.
    Columns {
        ids: Column<u32>,
        class: Column<u32>,
        self_size: Column<u64>,
    },
    /// Read through a graph the diff still holds: its id index and, per node, its id, class
    /// and shallow size (after DevTools' pre-pass, as counted).
    OfGraph {
        by_id: IdIndex,
        node_id: Column<u32>,
        class_of: Column<u32>,
        self_size: Column<u64>,
        /// How many nodes have a shallow size above zero.
        counted: usize,
    },
}

impl Objects {
    /// The objects of `graph`, whose id index is `by_id`.
    pub(crate) fn of_graph(graph: &RetainerGraph, by_id: IdIndex) -> Self {
        let self_size = graph.self_size.clone();
        let counted = self_size.iter().filter(|&&size| size > 0).count();
        Objects::OfGraph {
            by_id,
            node_id: graph.snapshot.node_id.clone(),
            class_of: graph.classes.class_of.clone(),
            self_size,
            counted,
        }
    }

    /// How many objects there are.
    pub fn len(&self) -> usize {
        match self {
            Objects::Columns { ids, .. } => ids.len(),
            Objects::OfGraph { counted, .. } => *counted,
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The objects in id order.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            objects: self,
            at: 0,
        }
    }

    /// The ids in order.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.iter().map(|o| o.id)
    }

    /// The same objects as columns, which hold nothing of a graph (columns already are: they
    /// are shared, not copied).
    pub(crate) fn gathered(&self) -> Objects {
        match self {
            Objects::Columns { .. } => self.clone(),
            Objects::OfGraph { .. } => {
                let columns = self.columns();
                Objects::Columns {
                    ids: columns.ids.into_owned().into(),
                    class: columns.class.into_owned().into(),
                    self_size: columns.self_size.into_owned().into(),
                }
            }
        }
    }

    /// The objects as columns, gathered when read through a graph: for saving them.
    pub fn columns(&self) -> ObjectColumns<'_> {
        match self {
            Objects::Columns {
                ids,
                class,
                self_size,
            } => ObjectColumns {
                ids: Cow::Borrowed(&ids[..]),
                class: Cow::Borrowed(&class[..]),
                self_size: Cow::Borrowed(&self_size[..]),
            },
            Objects::OfGraph { counted, .. } => {
                let mut ids = Vec::with_capacity(*counted);
                let mut class = Vec::with_capacity(*counted);
                let mut self_size = Vec::with_capacity(*counted);
                for o in self.iter() {
                    ids.push(o.id);
                    class.push(o.class);
                    self_size.push(o.self_size);
                }
                ObjectColumns {
                    ids: Cow::Owned(ids),
                    class: Cow::Owned(class),
                    self_size: Cow::Owned(self_size),
                }
            }
        }
    }
}

/// [`Objects`] as three columns, borrowed or gathered.
#[derive(Debug, PartialEq, Eq)]
pub struct ObjectColumns<'o> {
    pub ids: Cow<'o, [u32]>,
    /// Per object: its class.
    pub class: Cow<'o, [u32]>,
    /// Per object: its shallow size.
    pub self_size: Cow<'o, [u64]>,
}

/// The objects of an [`Objects`] in id order.
pub struct Iter<'o> {
    objects: &'o Objects,
    /// The next position: among the objects for columns, in the id index for a graph.
    at: usize,
}

impl Iterator for Iter<'_> {
    type Item = Object;

    #[inline]
    fn next(&mut self) -> Option<Object> {
        match self.objects {
            Objects::Columns {
                ids,
                class,
                self_size,
            } => {
                let k = self.at;
                let id = *ids.get(k)?;
                self.at += 1;
                Some(Object {
                    id,
                    class: class[k],
                    self_size: self_size[k],
                })
            }
            Objects::OfGraph {
                by_id,
                node_id,
                class_of,
                self_size,
                ..
            } => loop {
                let &node = by_id.get(self.at)?;
                // The nodes come in id order, scattered: ask for those 16 ahead.
                if let Some(&ahead) = by_id.get(self.at + 16) {
                    prefetch(node_id, ahead as usize);
                    prefetch(self_size, ahead as usize);
                    prefetch(class_of, ahead as usize);
                }
                self.at += 1;
                let size = self_size[node as usize];
                if size > 0 {
                    return Some(Object {
                        id: node_id[node as usize],
                        class: class_of[node as usize],
                        self_size: size,
                    });
                }
            },
        }
    }
}

/// Which of `a`'s ids (by position) are also among `b`'s; both ascending.
pub(crate) fn membership(a: &Objects, b: &Objects) -> BitSet {
    let mut found = BitSet::new(a.len());
    let mut b = b.ids().peekable();
    for (i, id) in a.ids().enumerate() {
        while b.next_if(|&other| other < id).is_some() {}
        if b.next_if_eq(&id).is_some() {
            found.set(i);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::HeapGraph;
    use crate::snapshot::Snapshot;
    use std::path::Path;

    fn graph_of(sample: &str) -> HeapGraph {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(sample);
        HeapGraph::build(Snapshot::open(&path).expect("sample"), &|_| {})
    }

    /// A last snapshot's objects read through its graph are those an earlier snapshot's
    /// gathering gives, on a real snapshot: every node with a shallow size above zero, once,
    /// by id, with its class and size; and membership between two real snapshots' objects
    /// is what a set of ids says.
    #[test]
    fn objects_read_through_a_graph_equal_the_gathered_ones() {
        let graph = graph_of("samples/leak-3.heapsnapshot.gz");
        let by_id = IdIndex::new(crate::diff::digest::id_index(&graph));
        let view = Objects::of_graph(&graph, by_id);
        let gathered = view.gathered();
        assert!(matches!(gathered, Objects::Columns { .. }));
        assert_eq!(view.columns(), gathered.columns());
        let objects: Vec<Object> = view.iter().collect();
        assert_eq!(objects.len(), view.len());
        let mut expected: Vec<Object> = (0..graph.snapshot.node_count())
            .filter(|&n| graph.self_size[n] > 0)
            .map(|n| Object {
                id: graph.snapshot.node_id[n],
                class: graph.classes.class_of[n],
                self_size: graph.self_size[n],
            })
            .collect();
        expected.sort_by_key(|o| o.id);
        assert!(expected.len() > 1000, "a real snapshot's objects");
        assert!(
            expected.len() < graph.snapshot.node_count(),
            "some nodes have no size"
        );
        assert_eq!(objects, expected);

        let earlier = graph_of("samples/leak-1.heapsnapshot.gz");
        let earlier = Objects::of_graph(
            &earlier,
            IdIndex::new(crate::diff::digest::id_index(&earlier)),
        );
        let in_earlier: std::collections::BTreeSet<u32> = earlier.ids().collect();
        let found = membership(&view, &earlier);
        let mut shared = 0;
        for (i, id) in view.ids().enumerate() {
            assert_eq!(found.get(i), in_earlier.contains(&id), "id {id}");
            shared += usize::from(found.get(i));
        }
        assert!(
            shared > 100 && shared < view.len(),
            "some objects carry over, not all"
        );
    }
}
