//! Parsing `--trace-gc` and `--trace-gc-nvp` output into [`GcEvent`]s: a pure function from
//! bytes to a [`ParsedLog`]. The path is only carried for messages.
//!
//! Every V8 trace record starts with `[PID:0xISOLATE] <time> ms: ` (Node 24's nvp lines add a
//! `:N` thread part). We find those markers anywhere in a line, so a log prefix (PM2's
//! timestamps, `0|app  |`) is skipped and records run together on one line (V8's "Last few
//! GCs" dump, or app output without a trailing newline) are split. Every input line lands in
//! exactly one bucket of [`LineStats`], so nothing is silently dropped.
//!
//! Formats seen on Node 16–24 (all handled):
//! ```text
//! 16: Scavenge 4.6 (5.0) -> 4.1 (6.0) MB, 0.7 / 0.0 ms  (average mu = 1.000, current mu = 1.000) task
//! 16: Mark-sweep 14.8 (25.5) -> 11.2 (30.0) MB, 3.3 / 0.0 ms  (+ 4.6 ms in 83 steps since start of marking, …) (average mu = …) finalize incremental marking via task GC in old space requested
//! 18: … allocation failure;             (reason parts separated by `; `)
//! 20: Mark-Compact 11.1 (24.7) -> 8.7 (26.7) MB, 3.81 / 0.00 ms  …   (two decimals)
//! 22: Scavenge 4.4 (5.1) -> 3.7 (6.1) MB, pooled: 0 MB, 0.78 / 0.00 ms  …
//! 22: Minor Mark-Sweep …, Scavenge (interleaved) …, Mark-Compact (reduce) …
//! nvp: pause=0.6 mutator=14.2 gc=s … total_size_before=… total_size_after=…   (or start/end_object_size)
//! ```

use serde::{Deserialize, Serialize};

/// Which collector ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GcKind {
    /// Young generation, copying (`Scavenge`, `Scavenge (interleaved)`, nvp `gc=s`).
    Scavenge,
    /// Young generation, Node 22+'s `--minor-ms` collector (`Minor Mark-Sweep`, nvp `gc=mms`).
    MinorMarkSweep,
    /// Full collection (`Mark-sweep` on Node ≤ 18, `Mark-Compact` later, nvp `gc=mc`, Node 16 `gc=ms`).
    MarkCompact,
    /// A record whose collector name we do not know; still counted.
    Other,
}

impl GcKind {
    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            GcKind::Scavenge => "scavenge",
            GcKind::MinorMarkSweep => "minor-mark-sweep",
            GcKind::MarkCompact => "mark-compact",
            GcKind::Other => "other",
        }
    }

    /// Whether this collection covers the old generation, so its heap-after is the live set.
    pub fn is_full(self) -> bool {
        self == GcKind::MarkCompact
    }

    fn from_label(label: &str) -> GcKind {
        let l = label.to_ascii_lowercase();
        if l.starts_with("scavenge") {
            GcKind::Scavenge
        } else if l.starts_with("minor mark") {
            GcKind::MinorMarkSweep
        } else if l.starts_with("mark-sweep") || l.starts_with("mark-compact") {
            GcKind::MarkCompact
        } else {
            GcKind::Other
        }
    }
}

/// One GC as V8 reported it. Sizes are MB as V8 prints them (MiB, one decimal).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GcEvent {
    /// OS process id from the marker.
    pub pid: u32,
    /// V8 isolate address from the marker (`0x…`): worker threads have their own.
    pub isolate: String,
    /// Milliseconds since the isolate started.
    pub time_ms: f64,
    pub kind: GcKind,
    /// The collector name as printed (`Mark-sweep (reduce)`), or `gc=mc` for nvp lines.
    pub label: String,
    pub heap_before_mb: Option<f64>,
    pub heap_after_mb: Option<f64>,
    /// Committed (reserved) heap before/after, the numbers in parentheses.
    pub committed_before_mb: Option<f64>,
    pub committed_after_mb: Option<f64>,
    /// Main-thread pause.
    pub pause_ms: f64,
    /// Incremental marking time before this GC (`(+ N ms in … steps …)`), full GCs only.
    pub incremental_ms: Option<f64>,
    /// V8's own running mutator utilisation (`average mu = …`).
    pub v8_average_mu: Option<f64>,
    /// Why the GC ran, trailing `;` removed (`allocation failure`, `task; GC in old space requested`).
    pub reason: Option<String>,
    /// 1-based line number in the input.
    pub line: usize,
}

impl GcEvent {
    /// V8 ran this GC to take a heap snapshot (reason `heap profiler`): heapscan's own
    /// snapshots, or the app's. Its pause is not the app's, and its heap-after is taken when
    /// the snapshot wants it, not when the heap needed it.
    pub fn for_heap_snapshot(&self) -> bool {
        self.reason
            .as_deref()
            .is_some_and(|r| r.starts_with("heap profiler"))
    }
}

/// How each input line was accounted for. `total == gc + blank + other + malformed`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineStats {
    pub total: usize,
    /// Lines holding at least one parsed record.
    pub gc: usize,
    pub blank: usize,
    /// Lines with no GC record marker at all (application output, V8's banners).
    pub other: usize,
    /// Lines with a record marker whose record did not parse.
    pub malformed: usize,
    /// Parsed records (more than `gc` when records ran together on one line).
    pub records: usize,
    /// Lines holding more than one record.
    pub run_together: usize,
    /// Records seen twice (V8 repeats the last GCs when it runs out of memory): kept once.
    pub duplicates: usize,
    /// Lines in `--trace-gc-nvp` format.
    pub nvp: usize,
}

/// A line we could not account for as GC output, kept for the report (the first few only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedLine {
    pub line: usize,
    /// `other` or `malformed`.
    pub why: String,
    pub text: String,
}

/// The result of parsing one log.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ParsedLog {
    pub source: String,
    pub lines: LineStats,
    pub events: Vec<GcEvent>,
    /// Up to [`MAX_SKIPPED_KEPT`] examples of lines that were not GC records.
    pub skipped: Vec<SkippedLine>,
}

/// How many unparsed lines a report shows as examples.
pub const MAX_SKIPPED_KEPT: usize = 20;
const MAX_SKIPPED_TEXT: usize = 200;

/// Parses a whole log. Invalid UTF-8 is replaced, never an error: logs get mangled.
pub fn parse_log(bytes: &[u8], source: &str) -> ParsedLog {
    let mut log = ParsedLog {
        source: source.to_string(),
        ..ParsedLog::default()
    };
    let mut seen = std::collections::HashSet::new();
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    let mut number = 0;
    while let Some(raw) = lines.next() {
        // A final empty piece after the last newline is not a line.
        if raw.is_empty() && lines.peek().is_none() {
            break;
        }
        number += 1;
        let text = String::from_utf8_lossy(raw);
        let text = text.trim_end_matches('\r');
        log.lines.total += 1;
        if text.trim().is_empty() {
            log.lines.blank += 1;
            continue;
        }
        let records = split_records(text);
        if records.is_empty() {
            log.lines.other += 1;
            keep_skipped(&mut log.skipped, number, "other", text);
            continue;
        }
        let mut parsed = 0;
        let mut nvp = false;
        for (marker, body) in &records {
            if let Some(event) = parse_record(marker, body, number) {
                nvp |= event.label.starts_with("gc=");
                parsed += 1;
                let key = (
                    event.pid,
                    event.isolate.clone(),
                    event.time_ms.to_bits(),
                    event.label.clone(),
                    event.heap_before_mb.map(f64::to_bits),
                    event.heap_after_mb.map(f64::to_bits),
                );
                if seen.insert(key) {
                    log.events.push(event);
                } else {
                    log.lines.duplicates += 1;
                }
            }
        }
        if parsed == 0 {
            log.lines.malformed += 1;
            keep_skipped(&mut log.skipped, number, "malformed", text);
            continue;
        }
        log.lines.gc += 1;
        log.lines.records += parsed;
        if records.len() > 1 {
            log.lines.run_together += 1;
        }
        if nvp {
            log.lines.nvp += 1;
        }
    }
    log
}

fn keep_skipped(skipped: &mut Vec<SkippedLine>, line: usize, why: &'static str, text: &str) {
    if skipped.len() < MAX_SKIPPED_KEPT {
        let mut text = text.to_string();
        if text.len() > MAX_SKIPPED_TEXT {
            let mut cut = MAX_SKIPPED_TEXT;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push('…');
        }
        skipped.push(SkippedLine {
            line,
            why: why.to_string(),
            text,
        });
    }
}

/// The `[PID:0xADDR] T ms: ` part of a record.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub pid: u32,
    pub isolate: String,
    pub time_ms: f64,
    /// Byte offset of the `[` in the text.
    pub start: usize,
    /// Byte offset just after `ms: `.
    pub end: usize,
}

/// Finds the first record marker at or after byte `from` of `text`.
pub fn find_marker(text: &str, from: usize) -> Option<Marker> {
    let bytes = text.as_bytes();
    let mut i = from;
    while let Some(off) = memchr_byte(b'[', &bytes[i.min(bytes.len())..]) {
        let start = i + off;
        if let Some(m) = marker_at(text, start) {
            return Some(m);
        }
        i = start + 1;
    }
    None
}

fn memchr_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

/// Tries to read a marker starting exactly at `start` (a `[`).
fn marker_at(text: &str, start: usize) -> Option<Marker> {
    let mut c = Cursor::new(text, start + 1);
    let pid: u32 = c.digits()?.parse().ok()?;
    c.expect(":0x")?;
    let hex = c.take_while(|b| b.is_ascii_hexdigit());
    if hex.is_empty() {
        return None;
    }
    let isolate = format!("0x{hex}");
    if c.peek() == Some(b':') {
        c.bump();
        c.digits()?;
    }
    c.expect("]")?;
    c.skip_ws();
    let time_ms = c.number()?;
    c.expect(" ms: ")?;
    Some(Marker {
        pid,
        isolate,
        time_ms,
        start,
        end: c.pos,
    })
}

/// Splits a line into (marker, body) pairs; the body runs to the next marker or the end.
pub fn split_records(text: &str) -> Vec<(Marker, &str)> {
    let mut out = Vec::new();
    let mut next = find_marker(text, 0);
    while let Some(marker) = next {
        next = find_marker(text, marker.end);
        let body_end = next.as_ref().map_or(text.len(), |m| m.start);
        let body = &text[marker.end..body_end];
        out.push((marker, body));
    }
    out
}

/// Parses one record body (after `ms: `) in either format.
pub fn parse_record(marker: &Marker, body: &str, line: usize) -> Option<GcEvent> {
    let mut event = GcEvent {
        pid: marker.pid,
        isolate: marker.isolate.clone(),
        time_ms: marker.time_ms,
        kind: GcKind::Other,
        label: String::new(),
        heap_before_mb: None,
        heap_after_mb: None,
        committed_before_mb: None,
        committed_after_mb: None,
        pause_ms: 0.0,
        incremental_ms: None,
        v8_average_mu: None,
        reason: None,
        line,
    };
    if body.trim_start().starts_with("pause=") {
        parse_nvp(body, &mut event)?;
    } else {
        parse_trace(body, &mut event)?;
    }
    Some(event)
}

/// `Scavenge 4.6 (5.0) -> 4.1 (6.0) MB, [pooled: 0 MB, ]0.7 / 0.0 ms  [(+ …)] [(average mu = …)] reason`
fn parse_trace(body: &str, event: &mut GcEvent) -> Option<()> {
    // The label is everything before the first number that is followed by ` (`.
    let label_end = body
        .char_indices()
        .find(|&(i, ch)| ch.is_ascii_digit() && (i == 0 || body.as_bytes()[i - 1] == b' '))
        .map(|(i, _)| i)?;
    let label = body[..label_end].trim();
    if label.is_empty() {
        return None;
    }
    event.label = label.to_string();
    event.kind = GcKind::from_label(label);
    let mut c = Cursor::new(body, label_end);
    event.heap_before_mb = Some(c.number()?);
    c.skip_ws();
    event.committed_before_mb = Some(c.paren_number()?);
    c.skip_ws();
    c.expect("->")?;
    c.skip_ws();
    event.heap_after_mb = Some(c.number()?);
    c.skip_ws();
    event.committed_after_mb = Some(c.paren_number()?);
    c.skip_ws();
    c.expect("MB,")?;
    c.skip_ws();
    if c.rest().starts_with("pooled:") {
        // Node 22+: memory pooled for reuse; not heap, so only skipped.
        c.expect("pooled:")?;
        c.skip_ws();
        c.number()?;
        c.skip_ws();
        c.expect("MB,")?;
        c.skip_ws();
    }
    event.pause_ms = c.number()?;
    c.skip_ws();
    if c.rest().starts_with('/') {
        c.bump();
        c.skip_ws();
        c.number()?;
        c.skip_ws();
    }
    c.expect("ms")?;
    c.skip_ws();
    if c.rest().starts_with("(+") {
        c.expect("(+")?;
        c.skip_ws();
        event.incremental_ms = c.number();
        c.skip_past(')')?;
        c.skip_ws();
    }
    if c.rest().starts_with("(average mu = ") {
        c.expect("(average mu = ")?;
        event.v8_average_mu = c.number();
        c.skip_past(')')?;
        c.skip_ws();
    }
    let reason = c.rest().trim().trim_end_matches(';').trim();
    if !reason.is_empty() {
        event.reason = Some(reason.to_string());
    }
    Some(())
}

/// `pause=0.6 mutator=14.2 gc=s … total_size_before=N total_size_after=N …` (sizes in bytes).
fn parse_nvp(body: &str, event: &mut GcEvent) -> Option<()> {
    let mut gc = None;
    let mut pause = None;
    let (mut before, mut after, mut mem_before, mut mem_after) = (None, None, None, None);
    let mut incremental = None;
    for pair in body.split_ascii_whitespace() {
        let Some((key, value)) = pair.split_once('=') else {
            continue;
        };
        let num = || value.parse::<f64>().ok();
        match key {
            "gc" => gc = Some(value),
            "pause" => pause = num(),
            "total_size_before" | "start_object_size" => before = num(),
            "total_size_after" | "end_object_size" => after = num(),
            "start_memory_size" => mem_before = num(),
            "end_memory_size" => mem_after = num(),
            "incremental" => incremental = num(),
            _ => {}
        }
    }
    let gc = gc?;
    event.pause_ms = pause?;
    event.label = format!("gc={gc}");
    event.kind = match gc {
        "s" => GcKind::Scavenge,
        // `ms` is Node 16's full mark-sweep; `mms`/`mmc` are the minor collectors of later V8s.
        "mc" | "ms" => GcKind::MarkCompact,
        "mms" | "mmc" => GcKind::MinorMarkSweep,
        _ => GcKind::Other,
    };
    const MB: f64 = 1024.0 * 1024.0;
    event.heap_before_mb = before.map(|b| b / MB);
    event.heap_after_mb = after.map(|b| b / MB);
    event.committed_before_mb = mem_before.map(|b| b / MB);
    event.committed_after_mb = mem_after.map(|b| b / MB);
    event.incremental_ms = incremental.filter(|&ms| ms > 0.0);
    Some(())
}

/// A byte cursor over ASCII-structured text.
struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str, pos: usize) -> Self {
        Cursor { text, pos }
    }
    fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }
    fn bump(&mut self) {
        self.pos += 1;
    }
    fn expect(&mut self, s: &str) -> Option<()> {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            Some(())
        } else {
            None
        }
    }
    fn skip_ws(&mut self) {
        self.take_while(|b| b == b' ' || b == b'\t');
    }
    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }
    fn digits(&mut self) -> Option<&'a str> {
        let d = self.take_while(|b| b.is_ascii_digit());
        (!d.is_empty()).then_some(d)
    }
    fn number(&mut self) -> Option<f64> {
        let start = self.pos;
        self.digits()?;
        if self.peek() == Some(b'.') {
            self.bump();
            self.take_while(|b| b.is_ascii_digit());
        }
        self.text[start..self.pos].parse().ok()
    }
    fn paren_number(&mut self) -> Option<f64> {
        self.expect("(")?;
        let n = self.number()?;
        self.expect(")")?;
        Some(n)
    }
    fn skip_past(&mut self, ch: char) -> Option<()> {
        let off = self.rest().find(ch)?;
        self.pos += off + ch.len_utf8();
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node16_mark_sweep_with_incremental_part() {
        let line = "[8973:0x435b4900]       65 ms: Mark-sweep 14.8 (25.5) -> 11.2 (30.0) MB, 3.3 / 0.0 ms  (+ 4.6 ms in 83 steps since start of marking, biggest step 0.1 ms, walltime since start of marking 11 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via task GC in old space requested";
        let log = parse_log(line.as_bytes(), "t");
        assert_eq!(log.lines.gc, 1);
        let e = &log.events[0];
        assert_eq!((e.pid, e.isolate.as_str()), (8973, "0x435b4900"));
        assert_eq!(e.kind, GcKind::MarkCompact);
        assert_eq!(e.heap_after_mb, Some(11.2));
        assert_eq!(e.committed_after_mb, Some(30.0));
        assert_eq!(e.pause_ms, 3.3);
        assert_eq!(e.incremental_ms, Some(4.6));
        assert_eq!(
            e.reason.as_deref(),
            Some("finalize incremental marking via task GC in old space requested")
        );
    }

    #[test]
    fn node22_pooled_and_prefix_and_run_together() {
        let text = "2024-05-01T10:00:00: [1:0xa9cf000]       22 ms: Scavenge 4.4 (5.1) -> 3.7 (6.1) MB, pooled: 0 MB, 0.78 / 0.00 ms  (average mu = 1.000, current mu = 1.000) allocation failure; \n\
app says hi[1:0xa9cf000]      144 ms: Mark-Compact 18.6 (28.2) -> 18.2 (51.2) MB, pooled: 0 MB, 37.99 / 0.00 ms  (+ 1.0 ms in 0 steps since start of marking, biggest step 0.0 ms, walltime since start of marking 47 ms) (average mu = 0.724, current mu = 0.724) fi[1:0xa9cf000]      272 ms: Mark-Compact 34.8 (52.1) -> 32.9 (66.2) MB, pooled: 0 MB, 119.15 / 0.00 ms  (average mu = 0.413, current mu = 0.070) allocation failure; scavenge might not succeed\n\
\n\
<--- Last few GCs --->\n\
[1:0xa9cf000]      272 ms: Mark-Compact 34.8 (52.1) -> 32.9 (66.2) MB, pooled: 0 MB, 119.15 / 0.00 ms  (average mu = 0.413, current mu = 0.070) allocation failure; scavenge might not succeed\n\
[1:0xa9cf000]      300 ms: Mark-Compact garbled\n";
        let log = parse_log(text.as_bytes(), "t");
        assert_eq!(log.lines.total, 6);
        assert_eq!(log.lines.gc, 3);
        assert_eq!(log.lines.blank, 1);
        assert_eq!(log.lines.other, 1);
        assert_eq!(log.lines.malformed, 1);
        assert_eq!(log.lines.run_together, 1);
        assert_eq!(log.lines.duplicates, 1);
        assert_eq!(log.events.len(), 3);
        assert_eq!(log.events[0].reason.as_deref(), Some("allocation failure"));
        assert_eq!(log.events[1].reason.as_deref(), Some("fi"));
        assert_eq!(log.events[2].pause_ms, 119.15);
        assert_eq!(log.skipped.len(), 2);
    }

    #[test]
    fn nvp_line_with_thread_marker() {
        let line = "[9186:0x16279000:0]       17 ms: pause=0.6 mutator=14.2 gc=s reduce_memory=0 start_object_size=4953640 end_object_size=4208600 start_memory_size=6070272 end_memory_size=7118848";
        let log = parse_log(line.as_bytes(), "t");
        let e = &log.events[0];
        assert_eq!(e.kind, GcKind::Scavenge);
        assert_eq!(e.pause_ms, 0.6);
        assert!((e.heap_after_mb.unwrap() - 4.0136).abs() < 0.001);
        assert_eq!(log.lines.nvp, 1);
    }

    #[test]
    fn marker_needs_ms_and_brackets() {
        assert!(find_marker("[12:0xzz] 5 ms: x", 0).is_none());
        assert!(find_marker("[12:0xab] 5 s: x", 0).is_none());
        assert!(find_marker("[[12:0xab] 5 ms: x", 0).is_some());
    }
}
