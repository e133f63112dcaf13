//! Saving an index beside the work that needs the graph: a thread of its own writes the
//! parsed columns (and the strings) while the graph is built, the retainer lists as soon as
//! they are built ([`BuildSink`]; a build that needs none, such as a summary's, builds none
//! and the index records that it has none, unless the command builds them later and sends them
//! before the index is sealed, as `heapscan index` does), then the other built columns while
//! the command computes its answer, so the first command on a snapshot pays little more than
//! without an index.
//!
//! The file is written with direct I/O where the file system allows it (`O_DIRECT` on
//! Linux): the bytes go from the columns to the disk without filling the page cache, which
//! costs a fraction of the processor time of buffered writes (on virtual machines whose fresh
//! memory is expensive, several times less), and leaves the index to be read later only as far
//! as a command needs it. Where direct I/O is refused (tmpfs), the same bytes are written
//! through the page cache.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use super::cache::{IndexCache, Stored};
use super::format::{self, Facts, FileKind, IndexWriter, OutSection};
use super::identity::FileIdentity;
use crate::graph::{BuildSink, HeapGraph, RetainerGraph, RetainerLists};
use crate::observe::Observer;
use crate::snapshot::Snapshot;

/// What the writing thread is sent.
enum Job {
    Sections(Vec<OutSection>),
    Finish(Box<Facts>),
}

/// An index being written on its own thread.
pub struct Saving {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<io::Result<u64>>>,
    cache: IndexCache,
    identity: FileIdentity,
    /// The snapshot file, for messages.
    file: PathBuf,
    temporary: PathBuf,
    /// The manifest's facts, once the built graph's sections are sent, until it is sealed.
    facts: Option<Box<Facts>>,
    /// Whether the build sent its retainer lists (a build that needs none makes none).
    lists_sent: AtomicBool,
    finished: bool,
}

impl Saving {
    /// Creates the temporary file in `cache` and starts writing `snapshot`'s parsed columns
    /// (shared with the snapshot, not copied).
    pub(crate) fn start(
        cache: &IndexCache,
        identity: FileIdentity,
        file: &Path,
        snapshot: &Snapshot,
    ) -> io::Result<Saving> {
        let temporary = cache.create_temporary(&identity)?;
        let sink =
            DirectFile::create(&temporary).inspect_err(|_| super::cache::discard(&temporary))?;
        let (jobs, received) = mpsc::channel::<Job>();
        let producer = super::cache::producer();
        let thread = std::thread::Builder::new()
            .name("heapscan-index-writer".into())
            .spawn(move || {
                let mut writer = IndexWriter::begin(sink, FileKind::Index)?;
                for job in received {
                    match job {
                        Job::Sections(sections) => {
                            for (name, bytes) in sections {
                                writer.section(name, bytes.bytes())?;
                            }
                        }
                        Job::Finish(facts) => {
                            let (sink, len) = writer.finish(producer, &identity, *facts)?;
                            sink.close(len)?;
                            return Ok(len);
                        }
                    }
                }
                Err(io::Error::other("the graph was not finished"))
            })?;
        let saving = Saving {
            jobs: Some(jobs),
            thread: Some(thread),
            cache: cache.clone(),
            identity,
            file: file.to_path_buf(),
            temporary,
            facts: None,
            lists_sent: AtomicBool::new(false),
            finished: false,
        };
        saving.send(Job::Sections(format::snapshot_sections(snapshot)));
        Ok(saving)
    }

    fn send(&self, job: Job) {
        // A thread that stopped (a write failed) reports why when it is joined.
        if let Some(jobs) = &self.jobs {
            let _ = jobs.send(job);
        }
    }
}

impl BuildSink for Saving {
    /// Sends the retainer lists (shared, not copied): once written, the writer lets them go.
    fn lists_built(&self, lists: &RetainerLists) {
        self.send(Job::Sections(format::list_sections(lists)));
        self.lists_sent.store(true, Ordering::Relaxed);
    }

    /// Sends the other columns of the first stage of the build, `graph` (shared, not copied).
    fn retainers_built(&self, graph: &RetainerGraph) {
        self.send(Job::Sections(format::retainer_sections(graph)));
    }
}

impl Saving {
    /// Sends the rest of the built `graph` (its columns shared, not copied).
    pub(crate) fn finish(&mut self, graph: &HeapGraph) {
        let (sections, facts) = format::graph_sections(graph);
        self.send(Job::Sections(sections));
        self.facts = Some(Box::new(facts));
        self.finished = true;
    }

    /// Completes the manifest with what the command computed of `graph` since it was built
    /// (its summary facts, the retainer lists sent after the build) and ends the file.
    /// Without it, waiting ends the file without the summary facts.
    pub fn seal(&mut self, graph: &HeapGraph) {
        if let Some(mut facts) = self.manifest_facts() {
            facts.summary = graph.summary_facts().map(|f| (*f).clone());
            self.send(Job::Finish(facts));
        }
    }

    /// The manifest's facts, taken to end the file, saying whether it holds retainer lists:
    /// those sent, during the build or after it (the graph may have let them go since).
    fn manifest_facts(&mut self) -> Option<Box<Facts>> {
        let mut facts = self.facts.take()?;
        facts.has_retainer_lists = self.lists_sent.load(Ordering::Relaxed);
        Some(facts)
    }

    /// Waits for the file to be written, then puts it in place and keeps the cache under its
    /// bound.
    pub fn wait(mut self) -> io::Result<Stored> {
        self.join()
    }

    /// [`wait`](Self::wait), telling `observer` when the index could not be saved: the
    /// command has its answer either way.
    pub fn wait_noting(self, observer: &dyn Observer) {
        let (file, dir) = (self.file.clone(), self.cache.dir().to_path_buf());
        note_stored(observer, "index", &file, &dir, self.wait());
    }

    fn join(&mut self) -> io::Result<Stored> {
        if let Some(facts) = self.manifest_facts() {
            self.send(Job::Finish(facts));
        }
        drop(self.jobs.take());
        let Some(thread) = self.thread.take() else {
            return Err(io::Error::other("the index was already saved"));
        };
        let written = match thread.join() {
            Ok(written) => written,
            Err(_) => Err(io::Error::other("the index writer stopped")),
        };
        match written {
            Ok(bytes) => self
                .cache
                .put_in_place(&self.temporary, &self.identity, bytes),
            Err(e) => {
                super::cache::discard(&self.temporary);
                Err(e)
            }
        }
    }
}

impl Drop for Saving {
    /// A saving nobody waited for: finished, it is put in place; unfinished (the build
    /// failed), it is abandoned.
    fn drop(&mut self) {
        if self.thread.is_some() {
            if !self.finished {
                drop(self.jobs.take());
            }
            let _ = self.join();
        }
    }
}

/// Tells `observer` that the `what` (an index, a diff digest) of `file` could not be saved in
/// `dir`, and why.
pub(crate) fn note_unsaved(
    observer: &dyn Observer,
    what: &str,
    file: &Path,
    dir: &Path,
    why: &io::Error,
) {
    observer.note(&format!(
        "cannot save the {what} of {} in {} ({why}); going on without it",
        file.display(),
        dir.display()
    ));
}

/// Tells `observer` when storing the `what` (an index, a diff digest) of `file` in the cache
/// at `dir` did not keep it: the command has its answer either way.
pub(crate) fn note_stored(
    observer: &dyn Observer,
    what: &str,
    file: &Path,
    dir: &Path,
    stored: io::Result<Stored>,
) {
    match stored {
        Ok(Stored::Written { .. }) => {}
        Ok(Stored::TooBig { bytes }) => observer.note(&format!(
            "the {what} of {} ({} MB) is larger than the index cache's bound; it is not saved (raise --index-max-size)",
            file.display(),
            bytes >> 20
        )),
        Err(e) => note_unsaved(observer, what, file, dir, &e),
    }
}

/// The alignment direct I/O asks of buffers, file offsets and lengths.
const BLOCK: usize = 4096;
/// How much is copied into the aligned buffer before each write.
const BUFFER: usize = 8 << 20;

/// A file written through an aligned buffer with direct I/O when the file system allows it.
pub(crate) struct DirectFile {
    file: File,
    direct: bool,
    /// Room for the aligned buffer: `BUFFER` bytes from `start`.
    storage: Vec<u8>,
    start: usize,
    filled: usize,
}

impl DirectFile {
    pub(crate) fn create(path: &std::path::Path) -> io::Result<DirectFile> {
        let (file, direct) = match open_direct(path) {
            Ok(file) => (file, true),
            Err(_) => (
                private(OpenOptions::new().write(true).create_new(true)).open(path)?,
                false,
            ),
        };
        let storage = vec![0u8; BUFFER + BLOCK];
        let start = storage.as_ptr().align_offset(BLOCK);
        Ok(DirectFile {
            file,
            direct,
            storage,
            start,
            filled: 0,
        })
    }

    /// Writes the buffer's first `len` bytes (a whole number of blocks under direct I/O).
    fn write_buffer(&mut self, len: usize) -> io::Result<()> {
        let bytes = &self.storage[self.start..self.start + len];
        match self.file.write_all(bytes) {
            Err(e) if self.direct && e.raw_os_error() == Some(libc::EINVAL) => {
                // Direct I/O refused after all: go on through the page cache.
                self.direct = false;
                set_direct(&self.file, false)?;
                self.file
                    .write_all(&self.storage[self.start..self.start + len])
            }
            other => other,
        }
    }

    /// Writes what is buffered (padded to whole blocks) and cuts the file to `len` bytes.
    pub(crate) fn close(mut self, len: u64) -> io::Result<()> {
        let padded = self.filled.next_multiple_of(BLOCK);
        let (start, filled) = (self.start, self.filled);
        self.storage[start + filled..start + padded].fill(0);
        self.write_buffer(padded)?;
        self.file.set_len(len)
    }
}

impl Write for DirectFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = BUFFER - self.filled;
        let n = room.min(data.len());
        let at = self.start + self.filled;
        self.storage[at..at + n].copy_from_slice(&data[..n]);
        self.filled += n;
        if self.filled == BUFFER {
            self.write_buffer(BUFFER)?;
            self.filled = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn open_direct(path: &std::path::Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    private(OpenOptions::new().write(true).create_new(true))
        .custom_flags(libc::O_DIRECT)
        .open(path)
}

/// Index files are readable by their user only: a snapshot holds whatever the process held.
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(options, 0o600);
    options
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_path: &std::path::Path) -> io::Result<File> {
    Err(io::Error::other("no direct I/O"))
}

#[cfg(target_os = "linux")]
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFL/F_SETFL on a descriptor this function borrows; no memory is passed.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 {
            return Err(io::Error::last_os_error());
        }
        let flags = if on {
            flags | libc::O_DIRECT
        } else {
            flags & !libc::O_DIRECT
        };
        if libc::fcntl(fd, libc::F_SETFL, flags) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

#[cfg(not(target_os = "linux"))]
fn set_direct(_file: &File, _on: bool) -> io::Result<()> {
    Ok(())
}
