//! Which file an index was made for: size, modification time, inode and device, and a hash of
//! the file's first and last bytes. An index answers only for a file whose identity is the
//! same in every part, so a replaced, rewritten or appended snapshot is never answered from an
//! old index (the hash catches a rewrite that kept size and mtime, as `cp -p` can).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// How many bytes at each end of the file the identity hashes.
const HASHED_END: u64 = 64 * 1024;

/// The identity of one snapshot file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileIdentity {
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch.
    pub mtime_ns: i128,
    pub inode: u64,
    pub device: u64,
    /// xxh3 of the first and last 64 KiB.
    pub ends_hash: u64,
}

impl FileIdentity {
    /// Reads the identity of the file at `path` (a regular file; pipes have none).
    pub fn of(path: &Path) -> io::Result<FileIdentity> {
        // Only regular files have an identity: looked at before opening, since opening and
        // reading a FIFO or a device would take bytes the parse needs.
        if !std::fs::metadata(path)?.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let mut file = File::open(path)?;
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(io::Error::other("not a regular file"));
        }
        let size = meta.len();
        let mtime_ns = match meta.modified()?.duration_since(std::time::UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut buf = vec![0u8; HASHED_END.min(size) as usize];
        file.read_exact(&mut buf)?;
        hasher.update(&buf);
        if size > HASHED_END {
            let tail = HASHED_END.min(size - HASHED_END);
            file.seek(SeekFrom::Start(size - tail))?;
            buf.resize(tail as usize, 0);
            file.read_exact(&mut buf)?;
            hasher.update(&buf);
        }
        let (inode, device) = inode_and_device(&meta);
        Ok(FileIdentity {
            size,
            mtime_ns,
            inode,
            device,
            ends_hash: hasher.digest(),
        })
    }

    /// The name of this file's index in a cache directory: every part of the identity
    /// hashed, so a changed file looks for another name.
    pub fn key(&self) -> String {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        hasher.update(&self.size.to_le_bytes());
        hasher.update(&self.mtime_ns.to_le_bytes());
        hasher.update(&self.inode.to_le_bytes());
        hasher.update(&self.device.to_le_bytes());
        hasher.update(&self.ends_hash.to_le_bytes());
        format!("{:032x}", hasher.digest128())
    }
}

#[cfg(unix)]
fn inode_and_device(meta: &std::fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (meta.ino(), meta.dev())
}

#[cfg(not(unix))]
fn inode_and_device(_meta: &std::fs::Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_rewrite_with_the_same_size_and_time_changes_the_identity() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.heapsnapshot");
        let mut body = vec![b'x'; 300_000];
        std::fs::write(&path, &body).unwrap();
        let first = FileIdentity::of(&path).unwrap();
        assert_eq!(first, FileIdentity::of(&path).unwrap());
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        // Same size, same mtime, one byte changed near the end.
        let len = body.len();
        body[len - 10] = b'y';
        let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.write_all(&body).unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        let second = FileIdentity::of(&path).unwrap();
        assert_eq!(first.size, second.size);
        assert_eq!(first.mtime_ns, second.mtime_ns);
        assert_ne!(first, second);
        assert_ne!(first.key(), second.key());
    }

    #[test]
    fn small_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tiny");
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(FileIdentity::of(&path).unwrap().size, 2);
        assert!(FileIdentity::of(dir.path()).is_err());
    }
}
