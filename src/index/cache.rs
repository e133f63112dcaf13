//! The cache directory of index files: where it is, looking an index up, storing one (write,
//! then rename), least-recently-used eviction under a size bound, listing and clearing.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime};

use memmap2::{Mmap, MmapOptions};

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::format::{self, FileKind, IndexWriter, Reader, Unusable};
use super::identity::FileIdentity;
use super::saving;
use crate::graph::HeapGraph;

/// The size bound when none is given: 10 GiB.
pub const DEFAULT_MAX_BYTES: u64 = 10 << 30;

/// Index files end in this.
const EXTENSION: &str = "hsidx";
/// Digest files (what a diff remembers of a snapshot) end in this.
const DIGEST_EXTENSION: &str = "hsdig";

/// A temporary file older than this was left by a process that died while writing.
const STALE_TEMPORARY: Duration = Duration::from_secs(3600);

/// The temporary files this process is writing (indexes and digests, in any cache), so that
/// a command interrupted by a signal removes them before it ends ([`remove_unfinished`]);
/// once it has, no new one is begun. A process killed outright leaves its file to the next
/// save, which removes it ([`IndexCache::evict`]).
static UNFINISHED: Mutex<Unfinished> = Mutex::new(Unfinished {
    paths: Vec::new(),
    ending: false,
});

struct Unfinished {
    paths: Vec<PathBuf>,
    ending: bool,
}

fn unfinished() -> std::sync::MutexGuard<'static, Unfinished> {
    UNFINISHED.lock().unwrap_or_else(|e| e.into_inner())
}

/// `temporary` is no longer being written: renamed into place or removed.
fn settled(temporary: &Path) {
    unfinished().paths.retain(|p| p != temporary);
}

/// Removes `temporary`, a file that will not be finished.
pub(super) fn discard(temporary: &Path) {
    let _ = fs::remove_file(temporary);
    settled(temporary);
}

/// Removes every index or digest file this process has begun and not finished, and lets it
/// begin no other: for a command ending on a signal (Ctrl-C), so that it leaves no partial
/// file in the cache. Returns how many it removed.
pub fn remove_unfinished() -> usize {
    let mut unfinished = unfinished();
    unfinished.ending = true;
    unfinished
        .paths
        .drain(..)
        .filter(|p| fs::remove_file(p).is_ok())
        .count()
}

/// A directory of index files with a size bound.
#[derive(Debug, Clone)]
pub struct IndexCache {
    dir: PathBuf,
    max_bytes: u64,
}

/// What looking a snapshot's index up found.
pub enum Lookup {
    /// The analysed graph, read from the index.
    Found(Box<HeapGraph>),
    /// No index for this version of the file.
    Absent,
    /// An index exists but cannot answer; the reason is for a note.
    Unusable(Unusable),
}

/// What storing an index did.
#[derive(Debug)]
pub enum Stored {
    /// Written, `bytes` long; `evicted` older indexes were removed to stay under the bound.
    Written { bytes: u64, evicted: usize },
    /// Not kept: bigger than the whole bound.
    TooBig { bytes: u64 },
}

/// One file in the cache: an index or a digest.
#[derive(Debug, Clone)]
pub struct CacheEntry {
    pub path: PathBuf,
    /// An index or a digest (by its name).
    pub kind: FileKind,
    pub bytes: u64,
    /// When it was last used (its modification time, which a lookup refreshes).
    pub used: SystemTime,
    /// The snapshot's size, nodes and edges, when the file reads as what its name says.
    pub described: Option<(u64, u64, u64)>,
}

/// This build of heapscan, as an index records it: the version and the executable's size and
/// modification time, so a rebuilt binary (whose analysis may differ) does not trust indexes
/// an older build wrote.
pub fn producer() -> &'static str {
    static PRODUCER: OnceLock<String> = OnceLock::new();
    PRODUCER.get_or_init(|| {
        let stamp = std::env::current_exe()
            .and_then(fs::metadata)
            .ok()
            .map(|m| {
                let mtime = m
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos());
                format!("{}-{mtime}", m.len())
            })
            .unwrap_or_else(|| "unknown".into());
        format!(
            "heapscan {} format {} build {stamp}",
            env!("CARGO_PKG_VERSION"),
            format::FORMAT_VERSION
        )
    })
}

impl IndexCache {
    /// A cache in `dir` holding at most `max_bytes` of indexes.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: u64) -> IndexCache {
        IndexCache {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// The platform's cache directory for heapscan's indexes (`$XDG_CACHE_HOME/heapscan/index`
    /// or `~/.cache/heapscan/index` on Linux), if the platform has one.
    pub fn default_dir() -> Option<PathBuf> {
        dirs::cache_dir().map(|d| d.join("heapscan").join("index"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_for(&self, identity: &FileIdentity) -> PathBuf {
        self.dir.join(format!("{}.{EXTENSION}", identity.key()))
    }

    fn digest_path_for(&self, identity: &FileIdentity) -> PathBuf {
        self.dir
            .join(format!("{}.{DIGEST_EXTENSION}", identity.key()))
    }

    /// Whether an index for the file with `identity` exists (not whether it is usable).
    pub fn has(&self, identity: &FileIdentity) -> bool {
        self.path_for(identity).is_file()
    }

    /// Looks up the index of the file with `identity` and reads it.
    pub fn load(&self, identity: &FileIdentity) -> Lookup {
        let path = self.path_for(identity);
        match read_in_place(&path, |map| format::read(map, &path, identity, producer())) {
            Ok(Some(graph)) => Lookup::Found(Box::new(graph)),
            Ok(None) => Lookup::Absent,
            Err(why) => Lookup::Unusable(why),
        }
    }

    /// Looks up the digest of the file with `identity` (written by a diff that read it), with
    /// facts of type `F`, checked as far as its manifest; `None` when there is none.
    pub(crate) fn load_digest<F: DeserializeOwned>(
        &self,
        identity: &FileIdentity,
    ) -> Result<Option<Reader<F>>, Unusable> {
        let path = self.digest_path_for(identity);
        read_in_place(&path, |map| {
            format::open(map, &path, FileKind::Digest, identity, producer())
        })
    }

    /// Whether a digest of the file with `identity` exists (not whether it is usable).
    pub fn has_digest(&self, identity: &FileIdentity) -> bool {
        self.digest_path_for(identity).is_file()
    }

    /// Removes the digest of the file with `identity` (one that turned out unusable).
    pub(crate) fn remove_digest(&self, identity: &FileIdentity) {
        let _ = fs::remove_file(self.digest_path_for(identity));
    }

    /// Stores a digest of the file with `identity`: `sections` and the manifest's `facts`,
    /// written to a temporary file and renamed into place, then the cache is kept under its
    /// bound.
    pub(crate) fn store_digest<F: Serialize>(
        &self,
        identity: &FileIdentity,
        sections: &[(&str, &[u8])],
        facts: F,
    ) -> io::Result<Stored> {
        let temporary = self.create_temporary(identity)?;
        let written = (|| {
            // Direct I/O, as an index is written (see `saving`): buffered, the page cache
            // it fills costs more than the diff's comparison.
            let sink = saving::DirectFile::create(&temporary)?;
            let mut writer = IndexWriter::begin(sink, FileKind::Digest)?;
            for (name, bytes) in sections {
                writer.section(name, bytes)?;
            }
            let (sink, len) = writer.finish(producer(), identity, facts)?;
            sink.close(len)?;
            Ok::<u64, io::Error>(len)
        })();
        let bytes = match written {
            Ok(bytes) => bytes,
            Err(e) => {
                discard(&temporary);
                return Err(e);
            }
        };
        self.put_in_place_as(&temporary, self.digest_path_for(identity), bytes)
    }

    /// Creates the directory if needed and names a temporary file in it for the index of the
    /// file with `identity`, unique to this process and moment.
    pub(crate) fn create_temporary(&self, identity: &FileIdentity) -> io::Result<PathBuf> {
        // A snapshot holds whatever the process held (tokens, personal data): a directory
        // heapscan creates is its user's alone, as are the index files (see `saving`).
        if !self.dir.is_dir() {
            let mut builder = fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(&self.dir)?;
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let temporary = self.dir.join(format!(
            ".{}.{}.{nanos}.tmp",
            identity.key(),
            std::process::id()
        ));
        let mut unfinished = unfinished();
        if unfinished.ending {
            return Err(io::Error::new(
                io::ErrorKind::Interrupted,
                "heapscan is ending on a signal",
            ));
        }
        unfinished.paths.push(temporary.clone());
        Ok(temporary)
    }

    /// Renames the finished `temporary` index (`bytes` long) of the file with `identity` into
    /// place, then evicts least recently used indexes to fit the bound. An index bigger than
    /// the whole bound is not kept.
    pub(crate) fn put_in_place(
        &self,
        temporary: &Path,
        identity: &FileIdentity,
        bytes: u64,
    ) -> io::Result<Stored> {
        self.put_in_place_as(temporary, self.path_for(identity), bytes)
    }

    /// Renames `temporary` (`bytes` long) to `target` in the cache, then evicts to fit.
    fn put_in_place_as(&self, temporary: &Path, target: PathBuf, bytes: u64) -> io::Result<Stored> {
        if bytes > self.max_bytes {
            discard(temporary);
            return Ok(Stored::TooBig { bytes });
        }
        if let Err(e) = fs::rename(temporary, &target) {
            discard(temporary);
            return Err(e);
        }
        settled(temporary);
        let evicted = self.evict(&target)?;
        Ok(Stored::Written { bytes, evicted })
    }

    /// Removes the least recently used indexes and digests (never `keep`) until the cache fits
    /// its bound, and temporary files that a dead writer left. Returns how many it removed.
    fn evict(&self, keep: &Path) -> io::Result<usize> {
        self.remove_stale_temporaries();
        let mut entries = self.entries()?;
        let mut total: u64 = entries.iter().map(|e| e.bytes).sum();
        entries.sort_by(|a, b| a.used.cmp(&b.used).then_with(|| a.path.cmp(&b.path)));
        let mut removed = 0;
        for entry in entries {
            if total <= self.max_bytes {
                break;
            }
            if entry.path == keep {
                continue;
            }
            match fs::remove_file(&entry.path) {
                Ok(()) => {
                    total -= entry.bytes;
                    removed += 1;
                }
                // Another process removed it first.
                Err(e) if e.kind() == io::ErrorKind::NotFound => total -= entry.bytes,
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    fn remove_stale_temporaries(&self) {
        let Ok(read) = fs::read_dir(&self.dir) else {
            return;
        };
        for entry in read.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.ends_with(".tmp") {
                continue;
            }
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > STALE_TEMPORARY);
            if old || writer_is_gone(&name) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Every index and digest file in the cache, in name order (empty when the directory
    /// does not exist).
    pub fn entries(&self) -> io::Result<Vec<CacheEntry>> {
        let read = match fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        let mut entries = Vec::new();
        for entry in read {
            let entry = entry?;
            let path = entry.path();
            let kind = match path.extension().and_then(|e| e.to_str()) {
                Some(EXTENSION) => FileKind::Index,
                Some(DIGEST_EXTENSION) => FileKind::Digest,
                _ => continue,
            };
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            entries.push(CacheEntry {
                bytes: meta.len(),
                used: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                kind,
                described: describe(&path, kind),
                path,
            });
        }
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(entries)
    }

    /// Removes every index and digest (and temporary file) in the cache. Returns how many
    /// indexes, how many digests and how many bytes.
    pub fn clear(&self) -> io::Result<(usize, usize, u64)> {
        let entries = self.entries()?;
        let mut removed = (0, 0, 0);
        for entry in entries {
            match fs::remove_file(&entry.path) {
                Ok(()) => {
                    match entry.kind {
                        FileKind::Index => removed.0 += 1,
                        FileKind::Digest => removed.1 += 1,
                    }
                    removed.2 += entry.bytes;
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        if let Ok(read) = fs::read_dir(&self.dir) {
            for entry in read.flatten() {
                if entry.file_name().to_string_lossy().ends_with(".tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
        Ok(removed)
    }
}

/// Whether the process that named the temporary file `name` (`.KEY.PID.NANOS.tmp`) has ended
/// (interrupted while it wrote: its file will never be finished).
fn writer_is_gone(name: &str) -> bool {
    let Some(pid) = name.split('.').nth(2).and_then(|p| p.parse::<i32>().ok()) else {
        return false;
    };
    #[cfg(unix)]
    {
        // SAFETY: signal 0 sends nothing; it only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        !alive && pid != std::process::id() as i32
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        false
    }
}

/// Maps the cache file at `path` and reads it with `read`, then marks it used for the eviction
/// order (a read-only cache stays as it is). `None` when there is no such file.
fn read_in_place<T>(
    path: &Path,
    read: impl FnOnce(Arc<Mmap>) -> Result<T, Unusable>,
) -> Result<Option<T>, Unusable> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Unusable::Corrupt(format!("it cannot be opened: {e}"))),
    };
    // SAFETY: files of the cache are only ever created whole and renamed into place, never
    // written in place, so the mapped bytes do not change under us.
    let map = unsafe { MmapOptions::new().map(&file) }
        .map_err(|e| Unusable::Corrupt(format!("it cannot be mapped: {e}")))?;
    let value = read(Arc::new(map))?;
    let _ = file.set_modified(SystemTime::now());
    Ok(Some(value))
}

/// The snapshot size, nodes and edges the cache file of `kind` at `path` was made for, when it
/// reads as one.
fn describe(path: &Path, kind: FileKind) -> Option<(u64, u64, u64)> {
    let file = File::open(path).ok()?;
    // SAFETY: as in `read_in_place`: files of the cache are never written in place.
    let map: Mmap = unsafe { Mmap::map(&file) }.ok()?;
    format::describe(&map)
        .filter(|(found, ..)| *found == kind)
        .map(|(_, identity, _, nodes, edges)| (identity.size, nodes, edges))
}
