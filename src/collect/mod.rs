//! The collector: gets heap snapshots and GC traces out of running Node.js processes, safely.
//!
//! - [`record`] supervises a command (`heapscan record -- node app.js`) and writes a session
//!   folder: `gc.log`, `memory.csv`, `events.jsonl`, `session.json`, `snapshot-NNN.heapsnapshot`;
//!   what it decides (restarts, back-off, snapshots, memory restarts) is the pure `policy`, and
//!   the snapshot lines of `events.jsonl` are the serde type of [`events`];
//! - [`snap`] snapshots a running process by pid or PM2 name: through the recorder, heapscan's
//!   snapshot hook ([`hook`], installed once over the inspector), or the app's own signal;
//! - [`inspector`] is the small DevTools-protocol client the inspector path uses;
//! - [`split`] separates GC trace lines from the app's stdout, byte for byte;
//! - [`safety`] decides whether memory and disk can absorb a snapshot;
//! - [`complete`] decides whether a snapshot file is complete;
//! - [`procfs`] reads `/proc` (memory figures, caught signals, children, listening ports).

pub mod complete;
pub mod events;
pub mod hook;
pub mod inspector;
mod policy;
pub mod procfs;
pub mod record;
pub mod safety;
pub mod snap;
pub mod split;

use std::path::PathBuf;

/// Everything the collector can fail at. Messages say what to do where there is something.
///
/// The OS errors are part of the message and not a `source`: these errors are shown both as
/// `{}` (in events and warnings) and as a chain (`{:#}`, the binary's error line), and either
/// way the OS error must be said once.
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{}: {os}", path.display())]
    Io { path: PathBuf, os: std::io::Error },
    #[error("no process with pid {0} (has it exited?)")]
    NoProcess(u32),
    #[error("cannot send signal {signal} to {pid}: {os}")]
    Signal {
        pid: i32,
        signal: i32,
        os: std::io::Error,
    },
    /// Refused for the process's safety: says why and what to do.
    #[error("{0}")]
    Refused(String),
    /// Not enough memory or disk for a snapshot.
    #[error("{0}")]
    NoRoom(String),
    #[error("inspector: {0}")]
    Inspector(String),
    #[error("snapshot {}: {problem}", path.display())]
    Snapshot { path: PathBuf, problem: String },
    /// V8 in the process could not write the snapshot where it was asked to (`why` is its
    /// error: permissions, a full disk).
    #[error("process {pid} could not write the snapshot: {why}")]
    NotWritten { pid: u32, why: String },
    #[error("{0}")]
    Other(String),
}

impl CollectError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        CollectError::Io {
            path: path.into(),
            os: source,
        }
    }
}
