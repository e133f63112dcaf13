//! Digests kept in the index cache: what a diff remembers of a snapshot (its [`Digest`]) is
//! saved beside the snapshot's index, keyed by the same file identity and heapscan build, so
//! a later diff of that file takes it instead of reading the file (or its index) and
//! measuring it again. The counted objects are stored as columns, the rest in the manifest.
//!
//! A digest is only ever read whole and checked (checksums, lengths, class numbers in range)
//! before it is used: one that does not check out is made again, never trusted.

use std::io;

use serde::{Deserialize, Serialize};

use super::digest::{
    ClassDigest, ClassTotals, ClosureDigest, CollectionDigest, Digest, DigestBody, GroupDigest,
    ListenerDigest,
};
use crate::index::{DigestLookup, FileIdentity, IndexCache, Stored, Unusable};

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
}

/// What looking a snapshot's digest up in the cache found.
pub(crate) enum Found {
    Digest(Box<Digest>),
    Absent,
    /// One exists but cannot be used; the reason is for a note.
    Unusable(Unusable),
}

/// The digest of the file with `identity` (to be called `file` in the report), if the cache
/// holds a usable one.
pub(crate) fn load(cache: &IndexCache, identity: &FileIdentity, file: &str) -> Found {
    let reader = match cache.load_digest::<FactsIn>(identity) {
        DigestLookup::Found(reader) => reader,
        DigestLookup::Absent => return Found::Absent,
        DigestLookup::Unusable(why) => return Found::Unusable(why),
    };
    let read = || -> Result<Digest, Unusable> {
        let ids: Vec<u32> = reader.copied("ids")?;
        let id_class: Vec<u32> = reader.copied("id_class")?;
        let id_self: Vec<u64> = reader.copied("id_self")?;
        let facts = reader.facts();
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
            ids,
            id_class,
            id_self,
            collections: facts.collections.clone(),
            listeners: facts.listeners.clone(),
            timers: facts.timers.clone(),
            closures: facts.closures.clone(),
            app_scripts: facts.app_scripts.clone(),
        };
        Ok(Digest::from_parts(body, facts.class_totals.clone()))
    };
    match read() {
        Ok(digest) => Found::Digest(Box::new(digest)),
        Err(why) => Found::Unusable(why),
    }
}

/// Saves `digest`, made from the file with `identity`, in `cache`.
pub(crate) fn save(
    cache: &IndexCache,
    identity: &FileIdentity,
    digest: &Digest,
) -> io::Result<Stored> {
    let facts = FactsOut {
        node_count: digest.node_count,
        edge_count: digest.edge_count,
        total_size: digest.total_size,
        max_node_id: digest.max_node_id,
        counted: digest.ids.len() as u64,
        classes: &digest.classes,
        class_totals: &digest.class_totals,
        collections: &digest.collections,
        listeners: &digest.listeners,
        timers: &digest.timers,
        closures: &digest.closures,
        app_scripts: &digest.app_scripts,
    };
    let sections: [(&str, &[u8]); 3] = [
        ("ids", bytemuck::cast_slice(&digest.ids)),
        ("id_class", bytemuck::cast_slice(&digest.id_class)),
        ("id_self", bytemuck::cast_slice(&digest.id_self)),
    ];
    cache.store_digest(identity, &sections, facts)
}
