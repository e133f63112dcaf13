//! The persisted index: what analysing a snapshot computed (columns, retainers, dominators,
//! retained sizes, distances, classes, strings), saved once in a cache directory and
//! memory-mapped by later commands on the same file instead of parsing it again.
//!
//! An index is found by the snapshot file's identity ([`FileIdentity`]: size, mtime, inode,
//! device, a hash of both ends), so it never answers for a changed file, and it records the
//! heapscan build that made it, so a newer heapscan never reads an older one's analysis. An
//! index that cannot be used (another format or build, damaged, cut short) is rebuilt, with a
//! note saying why. Indexes are written to a temporary file and renamed into place, so two
//! processes building the same one at once each leave a whole file, and readers never see a
//! half-written one. The directory is kept under a size bound by removing the least recently
//! used indexes once an index is in place ([`Saving`]).
//!
//! The same directory keeps what a diff remembers of a snapshot (its digest, written by
//! `crate::diff`'s `stored` module in the same container, [`FileKind::Digest`]), under the same
//! identity, build check, size bound and eviction, so that a later diff of the same files reads
//! neither the files nor their indexes again.

mod cache;
pub mod format;
pub mod identity;
mod saving;

pub use cache::{
    producer, remove_unfinished, CacheEntry, IndexCache, Lookup, Stored, DEFAULT_MAX_BYTES,
};
pub use format::FileKind;
pub use format::Unusable;
pub use identity::FileIdentity;
pub use saving::Saving;
pub(crate) use saving::{note_stored, note_unsaved};

use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use crate::column::DamagedSection;
use crate::observe::Observer;

/// How many damaged indexes one command gets past (one per snapshot it reads, and then some).
const RECOVERIES: usize = 8;

/// Runs `work`, which reads snapshots through `cache`, so that a damaged index never ends it:
/// when a column of an index turns out damaged as it is first read (see [`crate::column`]),
/// the index is removed, `observer` is told, and `work` runs again from the start (rebuilding
/// that index). When the index cannot be removed (a read-only cache), the next run goes
/// without the cache. `work` must not have written anything before it returns: commands
/// build their report model inside it and render after.
pub fn recover<T>(
    cache: Option<&IndexCache>,
    observer: &dyn Observer,
    mut work: impl FnMut(Option<&IndexCache>) -> T,
) -> T {
    quiet_damage_panics();
    let mut cache = cache;
    for _ in 0..RECOVERIES {
        let attempt = panic::catch_unwind(AssertUnwindSafe(|| work(cache)));
        let payload = match attempt {
            Ok(value) => return value,
            Err(payload) => payload,
        };
        let damage = match payload.downcast::<DamagedSection>() {
            Ok(damage) => damage,
            Err(other) => panic::resume_unwind(other),
        };
        let removed = std::fs::remove_file(&damage.index);
        observer.note(&format!(
            "the index {} is damaged (its `{}` column does not match its checksum); {}",
            damage.index.display(),
            damage.section,
            match removed {
                Ok(()) => "it was removed and is rebuilt",
                Err(_) => "it cannot be removed: going on without the index cache",
            }
        ));
        if removed.is_err() {
            cache = None;
        }
    }
    work(None)
}

/// Leaves the panics that report a damaged index (caught by [`recover`]) out of the panic
/// message on stderr; every other panic prints as before.
fn quiet_damage_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !info.payload().is::<DamagedSection>() {
                previous(info);
            }
        }));
    });
}
