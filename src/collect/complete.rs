//! Is a snapshot file complete? V8 writes snapshots in one go with no "done" marker, a writer
//! can be killed halfway (PM2's memory restart does that), and a truncated file must never
//! pass for evidence. Complete means: ends in `]}` after trailing whitespace, the header
//! `{"snapshot":{"meta":…}` parses as JSON, and the size stopped changing. The lead's engine
//! will offer a full parse; this stays small on purpose.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, Instant};

/// What a check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completeness {
    Complete {
        size: u64,
    },
    /// Still missing something; the reason says what.
    Incomplete(String),
}

/// Checks the file as it is now (no waiting): tail and header.
pub fn check_now(path: &Path) -> Completeness {
    match check_inner(path) {
        Ok(size) => Completeness::Complete { size },
        Err(why) => Completeness::Incomplete(why),
    }
}

fn check_inner(path: &Path) -> Result<u64, String> {
    let mut f = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let size = f.metadata().map_err(|e| e.to_string())?.len();
    if size < 2 {
        return Err(format!("only {size} bytes"));
    }
    // The tail: up to 64 bytes, trailing whitespace skipped.
    let tail_len = size.min(64);
    f.seek(SeekFrom::Start(size - tail_len))
        .map_err(|e| e.to_string())?;
    let mut tail = vec![0; tail_len as usize];
    f.read_exact(&mut tail).map_err(|e| e.to_string())?;
    let trimmed = tail.trim_ascii_end();
    if !trimmed.ends_with(b"]}") {
        return Err("does not end with `]}` (truncated)".into());
    }
    // The header: `{"snapshot":{…}` up to the `,"nodes"` key; parse that object alone.
    f.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let mut head = vec![0; size.min(1 << 20) as usize];
    let n = f.read(&mut head).map_err(|e| e.to_string())?;
    head.truncate(n);
    let end = find(&head, b",\"nodes\"")
        .or_else(|| find(&head, b",\n\"nodes\""))
        .ok_or("no `\"nodes\"` section in the first MB: not a V8 heap snapshot")?;
    let mut header = head[..end].to_vec();
    header.push(b'}');
    let v: serde_json::Value = serde_json::from_slice(&header)
        .map_err(|e| format!("header does not parse as JSON: {e}"))?;
    if v["snapshot"]["meta"]["node_fields"].as_array().is_none() {
        return Err("header has no snapshot.meta.node_fields".into());
    }
    Ok(size)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Waits until the file is complete and its size has not changed for `settle`, or `limit`
/// passes. `still_writing` is asked between polls: when the writer died, waiting is over.
pub fn wait_complete(
    path: &Path,
    settle: Duration,
    limit: Duration,
    mut writer_alive: impl FnMut() -> bool,
) -> Completeness {
    let start = Instant::now();
    let mut last_size = None;
    let mut stable_since = Instant::now();
    loop {
        let size = std::fs::metadata(path).map(|m| m.len()).ok();
        if size != last_size {
            last_size = size;
            stable_since = Instant::now();
        }
        if stable_since.elapsed() >= settle {
            if let Completeness::Complete { size } = check_now(path) {
                return Completeness::Complete { size };
            }
        }
        if start.elapsed() > limit {
            return match check_now(path) {
                Completeness::Complete { .. } => {
                    Completeness::Incomplete("size still changing at the time limit".into())
                }
                other => other,
            };
        }
        if !writer_alive() && stable_since.elapsed() >= settle {
            return match check_now(path) {
                Completeness::Incomplete(why) => {
                    Completeness::Incomplete(format!("the writer exited; {why}"))
                }
                ok => ok,
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_truncated_and_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let ok = dir.path().join("ok.heapsnapshot");
        let text = r#"{"snapshot":{"meta":{"node_fields":["type","name"]},"node_count":1},
"nodes":[1,2],
"strings":["a"]}
"#;
        std::fs::write(&ok, text).unwrap();
        assert!(matches!(check_now(&ok), Completeness::Complete { .. }));
        let cut = dir.path().join("cut.heapsnapshot");
        std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
        assert!(matches!(check_now(&cut), Completeness::Incomplete(_)));
        let junk = dir.path().join("junk");
        std::fs::write(&junk, "hello]}").unwrap();
        assert!(matches!(check_now(&junk), Completeness::Incomplete(_)));
        assert!(matches!(
            check_now(&dir.path().join("missing")),
            Completeness::Incomplete(_)
        ));
    }
}
