//! The lines of a recording session's `events.jsonl` as serde types, each tagged `event`:
//! [`SessionEvent`] (the app's starts and exits, warnings, the end), [`SnapshotEvent`] (what
//! became of each snapshot; `heapscan snap`, aimed at a recorded app, reads them back), and the
//! supervisor policy's decisions (restarts, memory restarts, signals). Each line also has
//! `t_ms`, the time since the session started.

/// The session's own lines.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum SessionEvent {
    /// The app (re)started: its pid, which start this is (1, 2, …), and the command.
    Start {
        pid: u32,
        generation: u32,
        command: Vec<String>,
    },
    /// The app exited: its exit code or the signal that ended it, and the code as a shell
    /// reports it (128 + signal).
    Exit {
        generation: u32,
        code: Option<i32>,
        signal: Option<i32>,
        exit_code: i32,
    },
    /// Something the user was told that did not stop the session.
    Warning { message: String },
    /// The session ended with this exit code after this many restarts.
    End { exit_code: i32, restarts: u32 },
}

use std::path::Path;

use serde::{Deserialize, Serialize};

/// What happened to a snapshot; `trigger` says what asked for it (`interval`, `signal`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum SnapshotEvent {
    SnapshotBegun {
        trigger: String,
        pid: u32,
        rss: u64,
    },
    /// Asked for during another snapshot: taken right after it.
    SnapshotQueued {
        trigger: String,
    },
    SnapshotFinished {
        trigger: String,
        file: String,
        size: u64,
        duration_ms: u64,
    },
    SnapshotFailed {
        trigger: String,
        why: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration_ms: Option<u64>,
    },
    SnapshotSkipped {
        trigger: String,
        why: String,
    },
}

impl SnapshotEvent {
    /// What asked for the snapshot.
    pub fn trigger(&self) -> &str {
        match self {
            SnapshotEvent::SnapshotBegun { trigger, .. }
            | SnapshotEvent::SnapshotQueued { trigger }
            | SnapshotEvent::SnapshotFinished { trigger, .. }
            | SnapshotEvent::SnapshotFailed { trigger, .. }
            | SnapshotEvent::SnapshotSkipped { trigger, .. } => trigger,
        }
    }

    /// Whether this is how a snapshot ended (finished, failed or skipped).
    pub fn is_outcome(&self) -> bool {
        matches!(
            self,
            SnapshotEvent::SnapshotFinished { .. }
                | SnapshotEvent::SnapshotFailed { .. }
                | SnapshotEvent::SnapshotSkipped { .. }
        )
    }
}

/// The snapshot outcomes recorded in a session's events.jsonl, in order. Lines of other events,
/// and unreadable ones (the file may be mid-write), are skipped.
pub fn snapshot_outcomes(events: &Path) -> Vec<SnapshotEvent> {
    let text = std::fs::read_to_string(events).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<SnapshotEvent>(l).ok())
        .filter(SnapshotEvent::is_outcome)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_as_written_and_other_events_are_skipped() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("events.jsonl");
        let text = [
            r#"{"event":"start","pid":7,"t_ms":0}"#,
            r#"{"event":"snapshot-begun","pid":7,"rss":1000,"t_ms":5,"trigger":"signal"}"#,
            r#"{"duration_ms":40,"event":"snapshot-finished","file":"snapshot-001.heapsnapshot","size":99,"t_ms":45,"trigger":"signal"}"#,
            r#"{"event":"snapshot-skipped","t_ms":50,"trigger":"interval","why":"--max-snapshots 1 reached"}"#,
            r#"{"event":"snapshot-failed","t_ms":60,"trigger":"signal","why":"cannot move into place"}"#,
            r#"{"event":"snapshot-fin"#,
        ]
        .join("\n");
        std::fs::write(&path, text).expect("write");
        let outcomes = snapshot_outcomes(&path);
        assert_eq!(
            outcomes,
            [
                SnapshotEvent::SnapshotFinished {
                    trigger: "signal".into(),
                    file: "snapshot-001.heapsnapshot".into(),
                    size: 99,
                    duration_ms: 40
                },
                SnapshotEvent::SnapshotSkipped {
                    trigger: "interval".into(),
                    why: "--max-snapshots 1 reached".into()
                },
                SnapshotEvent::SnapshotFailed {
                    trigger: "signal".into(),
                    why: "cannot move into place".into(),
                    duration_ms: None
                },
            ]
        );
        let line = serde_json::to_string(&outcomes[2]).expect("json");
        assert_eq!(
            line,
            r#"{"event":"snapshot-failed","trigger":"signal","why":"cannot move into place"}"#
        );
    }
}
