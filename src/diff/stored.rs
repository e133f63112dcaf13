//! Digests kept in the index cache: what a diff remembers of a snapshot (its [`Digest`]) is
//! saved beside the snapshot's index, keyed by the same file identity and heapscan build, so
//! a later diff of that file takes it instead of reading the file (or its index) and
//! measuring it again. The counted objects are stored as columns, the rest in the manifest.
//!
//! A digest is only ever read whole and checked (checksums, lengths, class numbers in range)
//! before it is used: one that does not check out is made again, never trusted.

use std::io;

use serde::{Deserialize, Serialize};

use super::detectors::KeptOfLast;
use super::digest::{
    ClassDigest, ClassTotals, ClosureDigest, CollectionDigest, Digest, DigestBody, GroupDigest,
    ListenerDigest,
};
use super::objects::Objects;
use super::shapes::{KeptShapes, ListenerList, Timer};
use crate::column::Column;
use crate::index::{FileIdentity, IndexCache, Stored, Unusable};

/// The digest but for its counted objects, as the manifest records it (written from a
/// borrowed digest).
#[derive(Serialize)]
struct FactsOut<'a> {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    max_node_id: u32,
    counted: u64,
    classes: &'a [ClassDigest],
    class_totals: &'a [ClassTotals],
    collections: &'a [CollectionDigest],
    listeners: &'a [ListenerDigest],
    timers: &'a [GroupDigest],
    closures: &'a [ClosureDigest],
    app_scripts: &'a [String],
    last_parts: bool,
    last_scripts: Option<Vec<(u32, String)>>,
    last_listeners: Option<&'a [ListenerList]>,
    last_timers: Option<&'a [Timer]>,
}

/// [`FactsOut`] read back.
#[derive(Deserialize)]
struct FactsIn {
    node_count: u64,
    edge_count: u64,
    total_size: u64,
    max_node_id: u32,
    counted: u64,
    classes: Vec<ClassDigest>,
    class_totals: Vec<ClassTotals>,
    collections: Vec<CollectionDigest>,
    listeners: Vec<ListenerDigest>,
    timers: Vec<GroupDigest>,
    closures: Vec<ClosureDigest>,
    app_scripts: Vec<String>,
    /// Whether the file holds [`LastParts`].
    #[serde(default)]
    last_parts: bool,
    /// The shape reader's script names, when the file holds its tables.
    #[serde(default)]
    last_scripts: Option<Vec<(u32, String)>>,
    /// The listener lists and live timers the shape reader found, when kept.
    #[serde(default)]
    last_listeners: Option<Vec<ListenerList>>,
    #[serde(default)]
    last_timers: Option<Vec<Timer>>,
}

/// What a diff whose last snapshot this was computed of its graph besides the digest, kept
/// with the digest so that a diff with the same last snapshot does not walk it again.
pub(crate) struct LastParts {
    /// The nodes in id order.
    pub by_id_node: Vec<u32>,
    /// The shortest paths' walk ([`ShortestPaths::parts`]).
    pub via_node: Column<u32>,
    pub reached: Vec<u64>,
    pub from_user_root: Vec<u64>,
    /// The shape reader's tables, when kept.
    pub shapes: Option<KeptShapes>,
    /// The listener lists and live timers, when kept.
    pub listener_lists: Option<Vec<ListenerList>>,
    pub timers: Option<Vec<Timer>>,
}

/// What looking a snapshot's digest up in the cache found.
pub(crate) enum Found {
    Digest(Box<Digest>, Option<Box<LastParts>>),
    Absent,
    /// One exists but cannot be used; the reason is for a note.
    Unusable(Unusable),
}

/// The digest of the file with `identity` (to be called `file` in the report), if the cache
/// holds a usable one, with its [`LastParts`] when `last` and it has them.
pub(crate) fn load(cache: &IndexCache, identity: &FileIdentity, file: &str, last: bool) -> Found {
    let reader = match cache.load_digest::<FactsIn>(identity) {
        Ok(Some(reader)) => reader,
        Ok(None) => return Found::Absent,
        Err(why) => return Found::Unusable(why),
    };
    let facts = reader.facts();
    // The columns are checked in place (the last one's parts copied out) on both cores.
    let last_parts = || -> Result<Option<LastParts>, Unusable> {
        if !(last && facts.last_parts) {
            return Ok(None);
        }
        let ((by_id_node, via_node), (location_index, location_keys)) = rayon::join(
            || {
                rayon::join(
                    || reader.copied("by_id_node"),
                    || reader.checked("via_node"),
                )
            },
            || {
                rayon::join(
                    || reader.checked("location_index"),
                    || reader.checked("location_keys"),
                )
            },
        );
        let shapes = match &facts.last_scripts {
            Some(scripts) => Some(KeptShapes {
                name_tags: reader.copied("name_tags")?,
                holes: reader.copied("holes")?,
                located: reader.copied("located")?,
                location_index: location_index?,
                location_keys: location_keys?,
                scripts: scripts.clone(),
            }),
            None => None,
        };
        Ok(Some(LastParts {
            by_id_node: by_id_node?,
            via_node: via_node?,
            reached: reader.copied("reached")?,
            from_user_root: reader.copied("from_user_root")?,
            shapes,
            listener_lists: facts.last_listeners.clone(),
            timers: facts.last_timers.clone(),
        }))
    };
    let read = || -> Result<(Digest, Option<LastParts>), Unusable> {
        let ((ids, id_class), (id_self, parts)) = rayon::join(
            || {
                rayon::join(
                    || reader.checked::<u32>("ids"),
                    || reader.checked::<u32>("id_class"),
                )
            },
            || rayon::join(|| reader.checked::<u64>("id_self"), last_parts),
        );
        let (ids, id_class, id_self, parts) = (ids?, id_class?, id_self?, parts?);
        let damaged = |why: &str| Unusable::Corrupt(why.to_string());
        let counted = usize::try_from(facts.counted).map_err(|_| damaged("its count"))?;
        if ids.len() != counted || id_class.len() != counted || id_self.len() != counted {
            return Err(damaged("its columns disagree with its count"));
        }
        if facts.class_totals.len() != facts.classes.len() {
            return Err(damaged("its class totals disagree with its classes"));
        }
        let classes = facts.classes.len() as u64;
        if id_class.iter().any(|&c| u64::from(c) >= classes) {
            return Err(damaged("an object's class is out of range"));
        }
        if ids.windows(2).any(|w| w[0] > w[1]) {
            return Err(damaged("its ids are out of order"));
        }
        let body = DigestBody {
            file: file.to_string(),
            node_count: facts.node_count,
            edge_count: facts.edge_count,
            total_size: facts.total_size,
            max_node_id: facts.max_node_id,
            classes: facts.classes.clone(),
            objects: Objects::Columns {
                ids,
                class: id_class,
                self_size: id_self,
            },
            collections: facts.collections.clone(),
            listeners: facts.listeners.clone(),
            timers: facts.timers.clone(),
            closures: facts.closures.clone(),
            app_scripts: facts.app_scripts.clone(),
        };
        Ok((Digest::from_parts(body, facts.class_totals.clone()), parts))
    };
    match read() {
        Ok((digest, parts)) => Found::Digest(Box::new(digest), parts.map(Box::new)),
        Err(why) => Found::Unusable(why),
    }
}

/// Saves `digest`, made from the file with `identity`, in `cache`, with what a diff whose last
/// snapshot it was computed of its graph (`last`).
pub(crate) fn save(
    cache: &IndexCache,
    identity: &FileIdentity,
    digest: &Digest,
    last: Option<&KeptOfLast>,
) -> io::Result<Stored> {
    // Kept only with its shortest paths (the walk is what a later diff would miss most).
    let last = last.and_then(|kept| Some((kept, kept.paths.as_ref()?)));
    let facts = FactsOut {
        node_count: digest.node_count,
        edge_count: digest.edge_count,
        total_size: digest.total_size,
        max_node_id: digest.max_node_id,
        counted: digest.objects.len() as u64,
        classes: &digest.classes,
        class_totals: &digest.class_totals,
        collections: &digest.collections,
        listeners: &digest.listeners,
        timers: &digest.timers,
        closures: &digest.closures,
        app_scripts: &digest.app_scripts,
        last_parts: last.is_some(),
        last_scripts: last.map(|(l, _)| l.shapes.scripts.entries()),
        last_listeners: last.map(|(l, _)| &l.listener_lists[..]),
        last_timers: last.map(|(l, _)| &l.timers[..]),
    };
    // A last snapshot's objects are gathered here, once its graph's other columns are gone.
    let objects = digest.objects.columns();
    let mut sections: Vec<(&str, &[u8])> = vec![
        ("ids", bytemuck::cast_slice(&objects.ids)),
        ("id_class", bytemuck::cast_slice(&objects.class)),
        ("id_self", bytemuck::cast_slice(&objects.self_size)),
    ];
    if let Some((last, paths)) = last {
        let (via_node, reached, from_user_root) = paths.parts();
        sections.extend([
            ("by_id_node", bytemuck::cast_slice(&last.by_id)),
            ("via_node", bytemuck::cast_slice(via_node)),
            ("reached", bytemuck::cast_slice(reached.words())),
            (
                "from_user_root",
                bytemuck::cast_slice(from_user_root.words()),
            ),
        ]);
        let (name_tags, holes, locations) = last.shapes.columns();
        let (located, location_index, location_keys) = locations.columns();
        sections.extend([
            ("name_tags", name_tags),
            ("holes", bytemuck::cast_slice(holes)),
            ("located", bytemuck::cast_slice(located)),
            ("location_index", bytemuck::cast_slice(location_index)),
            ("location_keys", bytemuck::cast_slice(location_keys)),
        ]);
    }
    cache.store_digest(identity, &sections, facts)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::diff::detectors::{kept_parts, Last, LastPrep};
    use crate::graph::HeapGraph;
    use crate::snapshot::Snapshot;

    fn graph_of(sample: &str) -> HeapGraph {
        let mut raw = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(sample).unwrap()),
            &mut raw,
        )
        .unwrap();
        HeapGraph::build(
            Snapshot::from_bytes(Path::new(sample), raw).unwrap(),
            &|_| {},
        )
    }

    /// A last snapshot's digest saved with what the diff computed of its graph reads back
    /// whole, and those parts fit the graph (so a later diff uses them, not made again);
    /// parts altered to point outside the graph are refused.
    #[test]
    fn kept_last_parts_round_trip_and_fit_their_graph() {
        let sample = "samples/leak-3.heapsnapshot.gz";
        let graph = graph_of(sample);
        let digest = Digest::new(&graph, "f");
        let reader = Last::prepared(&graph, LastPrep::of_graph(&graph, None));
        let kept = reader.into_kept();
        let (by_id, paths, shapes) = (
            &kept.by_id,
            kept.paths.as_ref().expect("walked"),
            &kept.shapes,
        );
        let dir = tempfile::tempdir().unwrap();
        let cache = IndexCache::new(dir.path(), u64::MAX);
        let identity = FileIdentity::of(Path::new(sample)).unwrap();
        save(&cache, &identity, &digest, Some(&kept)).unwrap();
        let load_parts = || match load(&cache, &identity, "g", true) {
            Found::Digest(back, parts) => {
                assert_eq!(back.objects.columns(), digest.objects.columns());
                assert_eq!(back.file, "g");
                *parts.expect("the last parts")
            }
            _ => panic!("the saved digest does not read"),
        };
        let back = kept_parts(&graph, load_parts()).expect("the kept parts fit their graph");
        assert_eq!(&back.by_id, by_id);
        assert_eq!(back.paths.parts().0, paths.parts().0);
        let (lists, timers) = back.lists.expect("the listener lists and timers fit");
        assert_eq!(format!("{lists:?}"), format!("{:?}", kept.listener_lists));
        assert_eq!(format!("{timers:?}"), format!("{:?}", kept.timers));
        let kept_shapes = back.shapes.expect("the shape tables fit their graph");
        assert_eq!(kept_shapes.columns(), shapes.columns());
        assert_eq!(kept_shapes.scripts.entries(), shapes.scripts.entries());
        // As an earlier snapshot, the digest reads without them.
        assert!(matches!(
            load(&cache, &identity, "g", false),
            Found::Digest(_, None)
        ));
        // Altered to point past the graph: the paths and id index are refused, and so are
        // shape tables whose location index does.
        let mut altered = load_parts();
        let mut via_node = altered.via_node.to_vec();
        via_node[0] = graph.snapshot.node_count() as u32;
        altered.via_node = via_node.into();
        assert!(kept_parts(&graph, altered).is_none());
        let mut altered = load_parts();
        if let Some(shapes) = altered.shapes.as_mut() {
            let mut index = shapes.location_index.to_vec();
            index[0] = u32::MAX - 1;
            shapes.location_index = index.into();
        }
        let back = kept_parts(&graph, altered).expect("the rest still fits");
        assert!(back.shapes.is_none());
    }
}
