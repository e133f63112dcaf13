//! What heapscan knows about how a snapshot it took came about, kept beside the snapshot as
//! `<file>.heapscan.json`: which process (pid, start time, boot), and the process's CPU time
//! just before the snapshot was asked for and just after it was written. A diff reads it when
//! it is there: the CPU time the process spent between two snapshots says whether it worked
//! in between far better than the heap can (work that leaves nothing behind leaves no trace in
//! a snapshot), and the identity says whether two snapshots come from one process.
//!
//! Snapshots without one (taken by the app itself, by `kill -USR2`, copied without it) are
//! judged from the heap alone. A side file that does not parse is ignored, the same as a
//! missing one: it can only ever add evidence.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The side file of one snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Format version (1).
    pub version: u32,
    pub process: ProcessIdentity,
    /// The process's CPU time (user + system, ms) just before the snapshot was asked for.
    pub cpu_ms_before: u64,
    /// …and just after it was written (the snapshot's own cost lies in between).
    pub cpu_ms_after: u64,
    /// How long the process had run (wall clock, ms) just before the snapshot was asked for;
    /// absent from side files written before heapscan recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_ms_before: Option<u64>,
}

/// Which process, unambiguously: a pid is reused, a pid with its start time within one boot
/// is not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessIdentity {
    pub pid: u32,
    /// Start time in clock ticks since boot (`/proc/PID/stat`).
    pub start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id`.
    pub boot_id: String,
}

/// `<snapshot>.heapscan.json`.
pub fn side_file(snapshot: &Path) -> PathBuf {
    let mut name = snapshot.as_os_str().to_owned();
    name.push(".heapscan.json");
    PathBuf::from(name)
}

/// Writes the side file of `snapshot`.
pub fn write(snapshot: &Path, provenance: &Provenance) -> std::io::Result<()> {
    let text = serde_json::to_string_pretty(provenance).map_err(std::io::Error::other)?;
    std::fs::write(side_file(snapshot), text + "\n")
}

/// Reads the side file of `snapshot`, if there is a valid one.
pub fn read(snapshot: &Path) -> Option<Provenance> {
    let text = std::fs::read_to_string(side_file(snapshot)).ok()?;
    serde_json::from_str::<Provenance>(&text)
        .ok()
        .filter(|p| p.version == 1)
}

/// Copies (or moves) the side file along with its snapshot, when there is one.
pub fn carry(from: &Path, to: &Path, keep_original: bool) -> std::io::Result<()> {
    let (from, to) = (side_file(from), side_file(to));
    if !from.exists() {
        return Ok(());
    }
    if keep_original {
        std::fs::copy(&from, &to).map(|_| ())
    } else {
        std::fs::rename(&from, &to).or_else(|_| {
            std::fs::copy(&from, &to)?;
            std::fs::remove_file(&from)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_bad_files_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let snap = dir.path().join("s-001.heapsnapshot");
        assert_eq!(read(&snap), None);
        let p = Provenance {
            version: 1,
            process: ProcessIdentity {
                pid: 42,
                start_ticks: 7,
                boot_id: "b".into(),
            },
            cpu_ms_before: 10,
            cpu_ms_after: 30,
            uptime_ms_before: Some(1500),
        };
        write(&snap, &p).unwrap();
        assert_eq!(
            side_file(&snap),
            dir.path().join("s-001.heapsnapshot.heapscan.json")
        );
        assert_eq!(read(&snap), Some(p));
        std::fs::write(side_file(&snap), "{not json").unwrap();
        assert_eq!(read(&snap), None);
    }
}
