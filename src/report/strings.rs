//! The duplicated-strings model: the same string content stored many times in one snapshot,
//! largest waste first. Computed by [`crate::strings::duplicate_strings`]; shown by the HTML
//! report (`heapscan report`).

use serde::{Deserialize, Serialize};

/// The duplicated strings of one snapshot.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DuplicateStrings {
    /// The snapshot the strings were counted in.
    pub file: String,
    /// Flat (`string`) nodes in the snapshot.
    pub string_count: u64,
    /// Their shallow sizes added up.
    pub string_bytes: u64,
    /// Distinct contents stored more than once.
    pub duplicated_contents: u64,
    /// Bytes all the extra copies take: the sum of every group's `wasted`.
    pub wasted: u64,
    /// The groups that waste the most, largest first.
    pub top: Vec<DuplicateString>,
}

/// One string content stored `count` times.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DuplicateString {
    /// The content's first characters (at most 200), newlines and tabs written `\n`, `\t`,
    /// other control characters as spaces. Untrusted text from the analysed program.
    pub preview: String,
    /// Characters in the content as the snapshot names it (V8 keeps at most 1,024).
    pub length: u64,
    /// Copies in the heap.
    pub count: u64,
    /// Shallow size of one copy in bytes.
    pub self_size: u64,
    /// `(count - 1) × self_size`: what keeping one copy would save.
    pub wasted: u64,
    /// Snapshot ids of the first few copies (for `heapscan retainers @ID`), ascending.
    pub example_ids: Vec<u32>,
}
