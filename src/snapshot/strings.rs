//! The snapshot's string table: where each string of the `strings` array sits in the text, and
//! lenient decoding on demand. Strings without escapes are borrowed straight from the text.
//!
//! V8 escapes every non-ASCII character as `\uXXXX` and writes code points above U+FFFF cut
//! to 16 bits, so the table is decoded leniently: a lone surrogate becomes U+FFFD, a bad escape
//! is kept as written, and invalid UTF-8 is replaced. Decoding never fails.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use super::source::Source;
use crate::column::{Checked, Column};

/// The text the string spans point into: the mapped/decompressed file, or a copy of just the
/// strings section when the rest of a decompressed buffer was freed.
pub(crate) enum StringText {
    Source(Source),
    Owned(Vec<u8>),
    /// The escaped text of every string, back to back, as an index file stores it.
    Column(Column<u8>),
}

/// A stretch of a table's text, shared with the table (not copied): what an index stores.
pub(crate) struct TextPart {
    text: Arc<StringText>,
    range: Range<usize>,
}

impl TextPart {
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.text.bytes()[self.range.clone()]
    }
}

impl StringText {
    fn bytes(&self) -> &[u8] {
        match self {
            StringText::Source(s) => s.bytes(),
            StringText::Owned(v) => v,
            StringText::Column(c) => c,
        }
    }
}

/// All strings of one snapshot, indexed as `name` fields index them.
pub struct Strings {
    /// Shared with an index being written, which stores it as it is.
    text: Arc<StringText>,
    /// Byte span of string `i` (between its quotes), counted from `base` bytes before the
    /// start of `text`.
    starts: Column<u64>,
    ends: Column<u64>,
    /// Where `text` starts in the numbering of the spans: 0, but for an index file's text,
    /// which keeps only the strings section and the spans of the whole snapshot text.
    base: u64,
}

impl Strings {
    pub(crate) fn new(text: StringText, spans: Vec<Range<u64>>) -> Strings {
        let (starts, ends): (Vec<u64>, Vec<u64>) =
            spans.into_iter().map(|r| (r.start, r.end)).unzip();
        Strings {
            text: Arc::new(text),
            starts: starts.into(),
            ends: ends.into(),
            base: 0,
        }
    }

    /// A table whose string `i` is `text[starts[i] - base..ends[i] - base]` (as an index
    /// file stores it, whose checksums vouch for the spans).
    pub(crate) fn from_columns(
        text: Column<u8>,
        starts: Column<u64>,
        ends: Column<u64>,
        base: u64,
    ) -> Strings {
        Strings {
            text: Arc::new(StringText::Column(text)),
            starts,
            ends,
            base,
        }
    }

    /// Where the part of the text the spans cover starts, in their numbering.
    pub(crate) fn text_start(&self) -> u64 {
        self.starts.iter().copied().min().unwrap_or(self.base)
    }

    /// What an index file stores of the table: the part of the text the spans cover, the
    /// spans (shared, not copied) and where that part starts in their numbering.
    pub(crate) fn parts(&self) -> (TextPart, Column<u64>, Column<u64>, u64) {
        let first = self.text_start();
        let end = self.ends.iter().copied().max().unwrap_or(first).max(first);
        let text = TextPart {
            text: Arc::clone(&self.text),
            range: (first - self.base) as usize..(end - self.base) as usize,
        };
        (text, self.starts.clone(), self.ends.clone(), first)
    }

    /// Number of strings.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Whether the table is empty (never for a valid snapshot: `strings[0]` is `<dummy>`).
    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The raw JSON-escaped bytes of string `i`.
    pub fn raw(&self, i: u32) -> &[u8] {
        let i = i as usize;
        match (self.starts.get(i), self.ends.get(i)) {
            (Some(&s), Some(&e)) => {
                let (Some(s), Some(e)) = (s.checked_sub(self.base), e.checked_sub(self.base))
                else {
                    return b"";
                };
                self.text.bytes().get(s as usize..e as usize).unwrap_or(b"")
            }
            _ => b"",
        }
    }

    /// String `i`, decoded. An index out of range gives `""` (indexes are checked at parse time).
    pub fn get(&self, i: u32) -> Cow<'_, str> {
        decode_json_string(self.raw(i))
    }

    /// Total bytes of escaped string text (for memory accounting).
    pub fn text_len(&self) -> usize {
        self.text.bytes().len()
    }
}

/// Decodes the inside of a JSON string leniently (see the module docs).
pub fn decode_json_string(raw: &[u8]) -> Cow<'_, str> {
    if !raw.contains(&b'\\') {
        return String::from_utf8_lossy(raw);
    }
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            // Copy the run up to the next backslash in one go (it may hold raw UTF-8).
            let end = memchr::memchr(b'\\', &raw[i..]).map_or(raw.len(), |p| i + p);
            out.push_str(&String::from_utf8_lossy(&raw[i..end]));
            i = end;
            continue;
        }
        let Some(&esc) = raw.get(i + 1) else {
            out.push('\\');
            break;
        };
        i += 2;
        match esc {
            b'"' => out.push('"'),
            b'\\' => out.push('\\'),
            b'/' => out.push('/'),
            b'b' => out.push('\u{8}'),
            b'f' => out.push('\u{c}'),
            b'n' => out.push('\n'),
            b'r' => out.push('\r'),
            b't' => out.push('\t'),
            b'u' => match hex4(raw, i) {
                Some(unit) => {
                    i += 4;
                    if (0xD800..0xDC00).contains(&unit) {
                        // A high surrogate: combine with a following low one if there is one.
                        let low = (raw.get(i) == Some(&b'\\') && raw.get(i + 1) == Some(&b'u'))
                            .then(|| hex4(raw, i + 2))
                            .flatten()
                            .filter(|l| (0xDC00..0xE000).contains(l));
                        match low {
                            Some(low) => {
                                let cp = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                                out.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
                                i += 6;
                            }
                            None => out.push('\u{FFFD}'),
                        }
                    } else {
                        out.push(char::from_u32(unit).unwrap_or('\u{FFFD}'));
                    }
                }
                None => out.push_str("\\u"),
            },
            other => {
                out.push('\\');
                out.push(char::from(other));
            }
        }
    }
    Cow::Owned(out)
}

fn hex4(raw: &[u8], at: usize) -> Option<u32> {
    let digits = raw.get(at..at + 4)?;
    let mut v = 0u32;
    for &d in digits {
        v = v * 16 + char::from(d).to_digit(16)?;
    }
    Some(v)
}

impl Checked for Strings {
    fn is_intact(&self) -> bool {
        let text = match &*self.text {
            StringText::Column(c) => c.is_intact(),
            _ => true,
        };
        text && self.starts.is_intact() && self.ends.is_intact()
    }

    fn check(&self) {
        if let StringText::Column(c) = &*self.text {
            c.check();
        }
        self.starts.check();
        self.ends.check();
    }
}

#[cfg(test)]
mod tests {
    use super::decode_json_string as d;

    #[test]
    fn decodes_escapes_leniently() {
        assert_eq!(d(b"plain"), "plain");
        assert_eq!(d(br#"a\nb\t\"q\"\\"#), "a\nb\t\"q\"\\");
        assert_eq!(d(br"caf\u00e9 \u4e2d\u6587"), "café 中文");
        assert_eq!(d(br"\ud83d\ude00"), "😀");
        // V8 cuts astral code points to 16 bits: it is a valid BMP char, kept as is.
        assert_eq!(d(br"\uf600"), "\u{f600}");
        assert_eq!(d(br"lone \ud83d end"), "lone \u{fffd} end");
        assert_eq!(d(br"low \ude00"), "low \u{fffd}");
        assert_eq!(d(br"bad \uZZ escape"), "bad \\uZZ escape");
        assert_eq!(d(br"trailing \"), "trailing \\");
    }
}
