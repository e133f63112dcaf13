//! Can the machine absorb a snapshot right now? Writing a snapshot makes V8 build a copy of
//! the heap graph and serialise it: measured, peak RSS grows to several times the heap, and
//! the file is about the size of the used heap or more. Running out of memory mid-snapshot
//! kills the app (the opposite of what a collector is for), and a full disk leaves a truncated
//! file. So before every snapshot we estimate both from the process's RSS (an upper bound
//! of its heap we can always read) and refuse when either does not fit.

use std::path::Path;

use serde::Serialize;

use super::{procfs, CollectError};
use crate::report::human_bytes;

/// Extra memory a snapshot needs, as a multiple of the process's RSS.
pub const MEMORY_FACTOR: f64 = 2.0;
/// Disk a snapshot needs, as a multiple of the process's RSS.
pub const DISK_FACTOR: f64 = 1.5;
/// Headroom kept free on top of the estimates.
pub const MARGIN: u64 = 64 << 20;

/// What was checked, for events and messages.
#[derive(Debug, Clone, Serialize)]
pub struct RoomCheck {
    pub rss: u64,
    pub memory_needed: u64,
    pub memory_available: u64,
    pub disk_needed: u64,
    pub disk_available: u64,
}

/// Estimates what a snapshot of a process with `rss` bytes needs and compares with what is
/// free; `dir` is where the file will be written.
pub fn check_room(rss: u64, dir: &Path) -> Result<RoomCheck, CollectError> {
    let check = RoomCheck {
        rss,
        memory_needed: (rss as f64 * MEMORY_FACTOR) as u64 + MARGIN,
        memory_available: procfs::mem_available()?,
        disk_needed: (rss as f64 * DISK_FACTOR) as u64 + MARGIN,
        disk_available: procfs::disk_available(dir)?,
    };
    verdict(&check, dir).map(|()| check)
}

/// The decision alone, on figures already read.
pub fn verdict(c: &RoomCheck, dir: &Path) -> Result<(), CollectError> {
    if c.memory_available < c.memory_needed {
        return Err(CollectError::NoRoom(format!(
            "not enough free memory for a snapshot: the process uses {} and a snapshot needs about {} more, but only {} is available; free memory or snapshot earlier (e.g. --snapshot-at-rss)",
            human_bytes(c.rss),
            human_bytes(c.memory_needed),
            human_bytes(c.memory_available)
        )));
    }
    if c.disk_available < c.disk_needed {
        return Err(CollectError::NoRoom(format!(
            "not enough disk space in {} for a snapshot: about {} needed, {} free; free space or write elsewhere",
            dir.display(),
            human_bytes(c.disk_needed),
            human_bytes(c.disk_available)
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_when_memory_or_disk_is_short() {
        let ok = RoomCheck {
            rss: 100 << 20,
            memory_needed: 264 << 20,
            memory_available: 1 << 30,
            disk_needed: 214 << 20,
            disk_available: 1 << 30,
        };
        assert!(verdict(&ok, Path::new("/tmp")).is_ok());
        let low_mem = RoomCheck {
            memory_available: 100 << 20,
            ..ok.clone()
        };
        let e = verdict(&low_mem, Path::new("/tmp"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("free memory"), "{e}");
        let low_disk = RoomCheck {
            disk_available: 1 << 20,
            ..ok
        };
        let e = verdict(&low_disk, Path::new("/tmp"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("disk space in /tmp"), "{e}");
        assert!(check_room(1 << 20, Path::new("/tmp")).is_ok());
    }
}
