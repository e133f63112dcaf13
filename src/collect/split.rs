//! Separates V8's `--trace-gc` records from the rest of a child's stdout, byte for byte.
//!
//! Node writes each GC line with one `write(2)` (measured on Node 16–24: one syscall per line),
//! so a record arrives whole and can only be glued to application output that did not end
//! in a newline (`process.stdout.write('50%')`). The splitter finds record markers
//! (`[PID:0xADDR] T ms: `, see [`crate::gc::parse::find_marker`]) anywhere in the stream:
//! from a marker to the next newline (inclusive) is GC output; every other byte is the
//! app's, passed on unchanged and in order. Concatenating all `App` pieces gives exactly the
//! app's bytes; concatenating all `Gc` pieces gives the GC log.
//!
//! A chunk can end in the middle of a marker (`…[12`). Those bytes are held back until the
//! next read decides them, or until [`Splitter::flush_undecided`] is called after a short
//! quiet period, so an app's prompt is never delayed for long. A complete marker without its
//! newline is GC output and waits for the newline (or the end of the stream).

use crate::gc::parse::find_marker;

/// Where a run of bytes belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    App(Vec<u8>),
    Gc(Vec<u8>),
}

/// Streaming splitter state: bytes not yet decided.
#[derive(Debug, Default)]
pub struct Splitter {
    pending: Vec<u8>,
}

impl Splitter {
    pub fn new() -> Self {
        Splitter::default()
    }

    /// Whether bytes are held back.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Whether the held-back bytes already hold a full marker (so they are GC output and
    /// must wait for their newline rather than be flushed to the app's stdout).
    pub fn pending_is_gc(&self) -> bool {
        let text = String::from_utf8_lossy(&self.pending);
        find_marker(&text, 0).is_some_and(|m| m.start == 0)
    }

    /// Feeds a chunk; returns the pieces decided so far, in stream order.
    pub fn feed(&mut self, data: &[u8]) -> Vec<Piece> {
        self.pending.extend_from_slice(data);
        let buf = std::mem::take(&mut self.pending);
        let mut out = Vec::new();
        let mut pos = 0; // everything before `pos` is decided
        let mut app_start = 0; // start of the current run of app bytes
        while pos < buf.len() {
            let Some(off) = buf[pos..].iter().position(|&b| b == b'[') else {
                break;
            };
            let start = pos + off;
            match marker_state(&buf[start..]) {
                MarkerState::Full => {
                    if app_start < start {
                        out.push(Piece::App(buf[app_start..start].to_vec()));
                    }
                    match buf[start..].iter().position(|&b| b == b'\n') {
                        Some(nl) => {
                            out.push(Piece::Gc(buf[start..=start + nl].to_vec()));
                            pos = start + nl + 1;
                            app_start = pos;
                        }
                        None => {
                            // A record without its newline yet: hold it back.
                            self.pending = buf[start..].to_vec();
                            return out;
                        }
                    }
                }
                MarkerState::Prefix => {
                    if app_start < start {
                        out.push(Piece::App(buf[app_start..start].to_vec()));
                    }
                    self.pending = buf[start..].to_vec();
                    return out;
                }
                MarkerState::No => pos = start + 1,
            }
        }
        if app_start < buf.len() {
            out.push(Piece::App(buf[app_start..].to_vec()));
        }
        out
    }

    /// After a quiet period: held-back bytes that are only a marker *prefix* are the app's.
    pub fn flush_undecided(&mut self) -> Option<Piece> {
        if self.pending.is_empty() || self.pending_is_gc() {
            return None;
        }
        Some(Piece::App(std::mem::take(&mut self.pending)))
    }

    /// At the end of the stream everything held back is decided as it stands.
    pub fn finish(&mut self) -> Option<Piece> {
        if self.pending.is_empty() {
            return None;
        }
        let gc = self.pending_is_gc();
        let bytes = std::mem::take(&mut self.pending);
        Some(if gc {
            Piece::Gc(bytes)
        } else {
            Piece::App(bytes)
        })
    }
}

#[derive(Debug, PartialEq)]
enum MarkerState {
    /// `[PID:0xADDR] T ms: ` is complete.
    Full,
    /// The bytes end before the marker could be decided.
    Prefix,
    No,
}

/// Decides whether `s` (starting at a `[`) begins with a record marker. Mirrors the grammar
/// of [`find_marker`]: `[` digits `:0x` hex (`:` digits)? `]` spaces number ` ms: `.
fn marker_state(s: &[u8]) -> MarkerState {
    let mut i = 1;
    let at = |i: usize| s.get(i).copied();
    macro_rules! need {
        ($cond:expr) => {
            match at(i) {
                None => return MarkerState::Prefix,
                Some(b) if $cond(b) => i += 1,
                Some(_) => return MarkerState::No,
            }
        };
    }
    macro_rules! many {
        ($cond:expr) => {
            while let Some(b) = at(i) {
                if !$cond(b) {
                    break;
                }
                i += 1;
            }
            if at(i).is_none() {
                return MarkerState::Prefix;
            }
        };
    }
    let digit = |b: u8| b.is_ascii_digit();
    let hex = |b: u8| b.is_ascii_hexdigit();
    need!(digit);
    many!(digit);
    for lit in [b':', b'0', b'x'] {
        need!(|b| b == lit);
    }
    need!(hex);
    many!(hex);
    if at(i) == Some(b':') {
        i += 1;
        need!(digit);
        many!(digit);
    }
    need!(|b| b == b']');
    many!(|b| b == b' ' || b == b'\t');
    need!(digit);
    many!(digit);
    if at(i) == Some(b'.') {
        i += 1;
        many!(digit);
    }
    for lit in *b" ms: " {
        need!(|b| b == lit);
    }
    let _ = i;
    MarkerState::Full
}

#[cfg(test)]
mod tests {
    use super::*;

    const GC: &str = "[7:0xab12]       52 ms: Scavenge 4.5 (5.9) -> 4.0 (6.1) MB, 0.5 / 0.0 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \n";

    fn run(chunks: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
        let mut s = Splitter::new();
        let (mut app, mut gc) = (Vec::new(), Vec::new());
        let mut take = |p: Piece| match p {
            Piece::App(b) => app.extend(b),
            Piece::Gc(b) => gc.extend(b),
        };
        for c in chunks {
            s.feed(c).into_iter().for_each(&mut take);
        }
        if let Some(p) = s.finish() {
            take(p);
        }
        (app, gc)
    }

    #[test]
    fn every_split_point_gives_the_same_streams() {
        let stream = format!("hello [not a marker]\n50%{GC}done [1:0x\n{GC}[2:0xff] 3 ms: tail");
        let bytes = stream.as_bytes();
        let (app, gc) = run(&[bytes]);
        assert_eq!(
            String::from_utf8(app.clone()).unwrap(),
            "hello [not a marker]\n50%done [1:0x\n"
        );
        assert_eq!(
            String::from_utf8(gc.clone()).unwrap(),
            format!("{GC}{GC}[2:0xff] 3 ms: tail")
        );
        for cut in 0..bytes.len() {
            assert_eq!(
                run(&[&bytes[..cut], &bytes[cut..]]),
                (app.clone(), gc.clone()),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn prefix_is_flushed_after_quiet_period() {
        let mut s = Splitter::new();
        assert_eq!(
            s.feed(b"progress [12"),
            vec![Piece::App(b"progress ".to_vec())]
        );
        assert_eq!(s.flush_undecided(), Some(Piece::App(b"[12".to_vec())));
        assert!(s.feed(b"[3:0x1] 5 ms: Scav").is_empty());
        assert_eq!(
            s.flush_undecided(),
            None,
            "a full marker waits for its newline"
        );
    }
}
