//! Getting a snapshot's bytes into memory: memory-mapping plain files, decompressing gzip and
//! zstd (detected by their magic bytes, not the file name), and reading standard input for `-`.
//!
//! Compressed data is decompressed as a stream into memory, and the parser hands each stretch
//! of the number arrays back to the kernel once it has parsed it (as it does a mapped file's
//! pages), so a decompressed multi-GB snapshot does not stay resident beside its columns.
//!
//! This is the one place with `unsafe` for mapping. Everything downstream sees `&[u8]`.

use std::fs::File;
use std::io::{self, Read, Seek};
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
        let plausible = Compression::of(&raw).is_some() || first.is_some_and(|i| raw[i] == b'{');
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
        if let Some(format) = Compression::of(magic) {
            // The same open file, from its start again: decoded as it is read.
            (&file).seek(io::SeekFrom::Start(0)).map_err(io_err)?;
            let input = io::BufReader::with_capacity(1 << 20, &file);
            return Ok(Source {
                path: path.to_path_buf(),
                bytes: decompress(path, format, Box::new(input), meta.len())?,
                compressed_len: Some(meta.len()),
            });
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
        let Some(format) = Compression::of(&raw) else {
            return Ok(Source {
                path: path.to_path_buf(),
                bytes: Bytes::Owned(raw),
                compressed_len: None,
            });
        };
        let bytes = decompress(path, format, Box::new(&raw[..]), raw.len() as u64)?;
        Ok(Source {
            path: path.to_path_buf(),
            bytes,
            compressed_len: Some(raw.len() as u64),
        })
    }

    /// Whether the bytes are a mapped file (whose pages [`release`](Self::release) can hand
    /// back and a later read faults in again), not a buffer in memory.
    pub fn is_mapped(&self) -> bool {
        matches!(self.bytes, Bytes::Mapped(_))
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

    /// [`release`](Self::release) for a `range` that is never read again (a stretch of a number
    /// array once parsed): a buffer in memory hands its pages back too. The pages inside the
    /// range but one at each end go (a neighbouring chunk's parse may look a few bytes past
    /// its own end); what is handed back reads as zeros afterwards, so the caller's promise
    /// matters: nothing reads these bytes again.
    pub fn release_consumed(&self, range: std::ops::Range<usize>) {
        match &self.bytes {
            Bytes::Mapped(_) => self.release(range),
            #[cfg(unix)]
            Bytes::Owned(vec) => {
                let page = page_size();
                let base = vec.as_ptr() as usize;
                let start = (base + range.start).div_ceil(page) * page + page;
                let end = ((base + range.end.min(vec.len())) / page * page).saturating_sub(page);
                if end > start {
                    // SAFETY: [start, end) is whole pages inside the vector's own allocation
                    // (the rounding moves inward, never past its first or last byte), so no
                    // allocator data is touched; the caller promises these bytes are not read
                    // again, and a private anonymous page handed back reads as zeros, never
                    // as another process's data.
                    let _ = unsafe {
                        libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED)
                    };
                }
            }
            #[cfg(not(unix))]
            Bytes::Owned(_) => {}
        }
    }
}

/// About how many bytes of snapshot text the file at `path` holds, for planning memory: its
/// length, or for gzip or zstd data eight times it (heap snapshots compress five to seven times
/// at the usual levels; the estimate errs high, towards the plan that holds less).
pub fn text_size_estimate(path: &Path) -> io::Result<u64> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let mut head = [0u8; 4];
    let read = file.read(&mut head)?;
    Ok(match Compression::of(&head[..read]) {
        Some(_) => len.saturating_mul(8),
        None => len,
    })
}

/// Whether `head` starts a zstd skippable frame (magic `0x184D2A5?`), as parallel compressors
/// (`pzstd`) write before each data frame.
fn is_skippable_frame(head: &[u8]) -> bool {
    head.len() >= 4 && head[0] & 0xF0 == 0x50 && head[1..4] == [0x2A, 0x4D, 0x18]
}

/// The compressed formats heapscan reads, by their magic bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    Gzip,
    Zstd,
}

impl Compression {
    /// The format that data starting with `head` is in, if compressed.
    fn of(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&GZIP_MAGIC) {
            Some(Compression::Gzip)
        } else if head.starts_with(&ZSTD_MAGIC) || is_skippable_frame(head) {
            Some(Compression::Zstd)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }

    /// A decoder of this format reading `input`.
    fn decoder<'a>(self, input: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            // Concatenated members (`cat a.gz b.gz`, parallel gzip tools) are one stream.
            Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(input)?),
        })
    }
}

/// Decompresses `input` (`compressed_len` bytes of `format`) into memory.
fn decompress(
    path: &Path,
    format: Compression,
    input: Box<dyn Read + '_>,
    compressed_len: u64,
) -> Result<Bytes> {
    // Snapshots compress 5 to 8 times; the vector grows (by remapping, not copying) past that.
    let mut out =
        Vec::with_capacity(usize::try_from(compressed_len.saturating_mul(6)).unwrap_or(0));
    format
        .decoder(input)
        .and_then(|mut d| d.read_to_end(&mut out))
        .map_err(|e| {
            Error::bad(
                path,
                format!(
                    "corrupt or truncated {} data ({e}); re-copy or re-compress the snapshot",
                    format.name()
                ),
            )
        })?;
    if out.is_empty() {
        return Err(Error::bad(
            path,
            "decompressed to nothing: the snapshot is empty",
        ));
    }
    Ok(Bytes::Owned(out))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A compressed file and compressed bytes from a stream decompress to the file's text,
    /// and a parsed stretch handed back leaves the bytes around it as they were.
    #[test]
    fn compressed_data_decompresses_and_hands_back_parsed_stretches() {
        let gz = Path::new("samples/node20.heapsnapshot.gz");
        let raw = std::fs::read(gz).unwrap();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .unwrap();
        let zst = zstd::stream::encode_all(&text[..], 1).unwrap();
        let from_file = Source::open(gz).unwrap();
        let from_stream = Source::from_vec(Path::new("-"), zst.clone()).unwrap();
        for (source, compressed) in [(&from_file, raw.len()), (&from_stream, zst.len())] {
            assert!(!source.is_mapped());
            assert_eq!(source.compressed_len(), Some(compressed as u64));
            assert!(source.bytes() == &text[..]);
        }
        let len = text.len();
        let (from, to) = (len / 4, len / 2);
        from_file.release_consumed(from..to);
        let bytes = from_file.bytes();
        // Outside the range, and within a page of its ends, nothing changed.
        let page = page_size();
        assert!(bytes[..from + page] == text[..from + page]);
        assert!(bytes[to - page..] == text[to - page..]);
        // Inside, the pages went: they read as zeros now.
        let middle = (from + to) / 2;
        assert!(bytes[middle - 64..middle + 64].iter().all(|&b| b == 0));
        // Plain bytes from a stream stay in memory as they are.
        let plain = Source::from_vec(Path::new("-"), text.clone()).unwrap();
        assert!(!plain.is_mapped() && plain.compressed_len().is_none());
    }
}
