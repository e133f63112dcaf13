//! Getting a snapshot's bytes into memory: memory-mapping plain files, decompressing gzip and
//! zstd (detected by their magic bytes, not the file name), and reading standard input for `-`.
//!
//! This is the one place with `unsafe` for mapping. Everything downstream sees `&[u8]`.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// The bytes of one snapshot file, mapped or owned, plus the path for messages.
pub struct Source {
    path: PathBuf,
    bytes: Bytes,
    compressed_len: Option<u64>,
}

enum Bytes {
    Mapped(Mmap),
    Owned(Vec<u8>),
}

/// How much of a stream is read before deciding whether it can be a snapshot at all.
const STREAM_SNIFF: usize = 64 * 1024;

/// Reads a stream (standard input, a pipe, a device) whole, but looks at its start first: a
/// stream longer than [`STREAM_SNIFF`] that does not begin like a snapshot (JSON `{`, gzip or
/// zstd data) is refused there, so `/dev/zero` or `/dev/urandom` fail at once instead of
/// filling memory. Shorter streams go to the parser, which says exactly what is wrong.
fn read_stream(path: &Path, reader: impl Read) -> Result<Vec<u8>> {
    let io_err = |source: io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = reader;
    let mut raw = Vec::with_capacity(STREAM_SNIFF);
    (&mut reader)
        .take(STREAM_SNIFF as u64)
        .read_to_end(&mut raw)
        .map_err(io_err)?;
    if raw.len() == STREAM_SNIFF {
        let first = raw
            .iter()
            .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        let plausible = raw.starts_with(&GZIP_MAGIC)
            || raw.starts_with(&ZSTD_MAGIC)
            || first.is_some_and(|i| raw[i] == b'{');
        if !plausible {
            return Err(Error::bad(
                path,
                "is not a heap snapshot: its data does not start with `{` (nor gzip or zstd data); give a .heapsnapshot file, optionally .gz or .zst",
            ));
        }
        reader.read_to_end(&mut raw).map_err(io_err)?;
    }
    Ok(raw)
}

/// The whole file at `path`, whose size is about `len`.
fn read_whole(path: &Path, len: u64) -> io::Result<Vec<u8>> {
    let mut raw = Vec::with_capacity(len as usize);
    File::open(path)?.read_to_end(&mut raw)?;
    Ok(raw)
}

impl Source {
    /// Opens `path` (or standard input for `-`), decompressing gzip or zstd transparently.
    pub fn open(path: &Path) -> Result<Source> {
        let io_err = |source: io::Error| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        if path == Path::new("-") {
            let raw = read_stream(path, io::stdin().lock())?;
            return Self::from_vec(path, raw);
        }
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Err(Error::bad(
                path,
                "is a directory, not a heap snapshot file (give a .heapsnapshot file)",
            ));
        }
        let file = File::open(path).map_err(io_err)?;
        if !meta.is_file() {
            // A pipe (`<(zcat …)`), a FIFO or a device: no length to trust, no mapping.
            let raw = read_stream(path, file)?;
            return Self::from_vec(path, raw);
        }
        if meta.len() == 0 {
            return Err(Error::bad(
                path,
                "file is empty (0 bytes): the snapshot was never written, or the writer was killed before it started",
            ));
        }
        let mut magic = [0u8; 4];
        let got = (&file).take(4).read(&mut magic).map_err(io_err)?;
        let magic = &magic[..got];
        if magic.starts_with(&GZIP_MAGIC) || magic.starts_with(&ZSTD_MAGIC) {
            // Compressed files are read whole; decompression needs a stream.
            return Self::from_vec(path, read_whole(path, meta.len()).map_err(io_err)?);
        }
        // On mapping failure we read instead.
        match map_read_only(&file) {
            Ok(map) => {
                #[cfg(unix)]
                let _ = map.advise(memmap2::Advice::Sequential);
                Ok(Source {
                    path: path.to_path_buf(),
                    bytes: Bytes::Mapped(map),
                    compressed_len: None,
                })
            }
            Err(_) => Self::from_vec(path, read_whole(path, meta.len()).map_err(io_err)?),
        }
    }

    /// Wraps bytes already in memory, decompressing them if they are gzip or zstd.
    pub fn from_vec(path: &Path, raw: Vec<u8>) -> Result<Source> {
        if raw.is_empty() {
            return Err(Error::bad(
                path,
                "input is empty (0 bytes): the snapshot was never written",
            ));
        }
        let compressed_len = raw.len() as u64;
        let decompressed = if raw.starts_with(&GZIP_MAGIC) {
            let mut out = Vec::with_capacity(raw.len().saturating_mul(6));
            flate2::read::MultiGzDecoder::new(&raw[..])
                .read_to_end(&mut out)
                .map_err(|e| {
                    Error::bad(
                        path,
                        format!("corrupt or truncated gzip data ({e}); re-copy or re-compress the snapshot"),
                    )
                })?;
            Some(out)
        } else if raw.starts_with(&ZSTD_MAGIC) {
            let out = zstd::stream::decode_all(&raw[..]).map_err(|e| {
                Error::bad(
                    path,
                    format!(
                        "corrupt or truncated zstd data ({e}); re-copy or re-compress the snapshot"
                    ),
                )
            })?;
            Some(out)
        } else {
            None
        };
        let (bytes, compressed_len) = match decompressed {
            Some(out) => (out, Some(compressed_len)),
            None => (raw, None),
        };
        if bytes.is_empty() {
            return Err(Error::bad(
                path,
                "decompressed to nothing: the snapshot is empty",
            ));
        }
        Ok(Source {
            path: path.to_path_buf(),
            bytes: Bytes::Owned(bytes),
            compressed_len,
        })
    }

    /// The (decompressed) snapshot text.
    pub fn bytes(&self) -> &[u8] {
        match &self.bytes {
            Bytes::Mapped(map) => map,
            Bytes::Owned(vec) => vec,
        }
    }

    /// The path the bytes came from (`-` for standard input), for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The size on disk when the file was compressed.
    pub fn compressed_len(&self) -> Option<u64> {
        self.compressed_len
    }

    /// Tells the kernel we are done with `range` of a mapped file so its pages leave our
    /// resident set (they are clean file pages and are re-read if touched again). A no-op for
    /// owned buffers. Used as each stretch of the big number arrays has been read.
    pub fn release(&self, range: std::ops::Range<usize>) {
        #[cfg(unix)]
        if let Bytes::Mapped(map) = &self.bytes {
            let page = page_size();
            let start = range.start.div_ceil(page) * page;
            let end = range.end / page * page;
            if end > start {
                // SAFETY: the mapping is private and never written, so dropping its pages loses
                // no data and changes no byte a reader sees: a later read of the range (a
                // neighbouring chunk's boundary, the second pass over an array) faults the
                // same file bytes back in. Only whole pages inside `range` are dropped.
                let _ = unsafe {
                    map.unchecked_advise_range(
                        memmap2::UncheckedAdvice::DontNeed,
                        start,
                        end - start,
                    )
                };
            }
        }
        #[cfg(not(unix))]
        let _ = range;
    }
}

/// Maps `file` read-only and private: the one place heapscan maps a file.
///
/// Contract: the caller only reads the bytes, and accepts that if another process truncates or
/// rewrites the file meanwhile the bytes read may change (parsing then fails with an error) or
/// a read past a truncation raises SIGBUS. That is the trade-off of mapping, which is what lets
/// multi-GB snapshots be parsed without a copy; snapshots are written once (to a temporary name,
/// then renamed) and not changed afterwards.
fn map_read_only(file: &File) -> std::io::Result<Mmap> {
    // SAFETY: read-only private mapping; the caller's contract above covers concurrent change.
    unsafe { Mmap::map(file) }
}

/// The system's memory page size (4096 when it cannot be read).
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        #[cfg(unix)]
        {
            // SAFETY: sysconf reads a system constant.
            let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            usize::try_from(size)
                .ok()
                .filter(|&s| s > 0)
                .unwrap_or(4096)
        }
        #[cfg(not(unix))]
        4096
    })
}
