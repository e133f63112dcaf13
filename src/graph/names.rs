//! Recognising a fixed set of names (edge and node names such as `_events` or `table`) by
//! string index: one pass over the string table tags every index whose text is one of them,
//! so later checks are an array lookup instead of a string comparison.

use crate::snapshot::Snapshot;

/// Per string index: 0, or 1 + the position of its text in the list given to [`NameTags::new`].
pub struct NameTags {
    tags: Vec<u8>,
}

impl NameTags {
    /// Tags the strings whose text is one of `names` (at most 255 names).
    pub fn new(snapshot: &Snapshot, names: &[&str]) -> NameTags {
        assert!(names.len() < 255, "NameTags holds at most 254 names");
        let tags = (0..snapshot.strings.len() as u32)
            .map(|i| {
                let raw = snapshot.strings.raw(i);
                names
                    .iter()
                    .position(|n| n.as_bytes() == raw)
                    .map_or(0, |p| p as u8 + 1)
            })
            .collect();
        NameTags { tags }
    }

    /// The tag of every string (0: none; `k + 1`: `names[k]`), for keeping them.
    pub fn tags(&self) -> &[u8] {
        &self.tags
    }

    /// Tags kept as [`tags`](Self::tags) of a snapshot of `strings` strings, tagged with
    /// `names` names; `None` when they do not fit.
    pub fn from_tags(tags: Vec<u8>, strings: usize, names: usize) -> Option<NameTags> {
        (tags.len() == strings && tags.iter().all(|&t| (t as usize) <= names))
            .then_some(NameTags { tags })
    }

    /// Whether string `index` is `names[which]`.
    #[inline]
    pub fn is(&self, index: u32, which: usize) -> bool {
        self.tags.get(index as usize).copied() == Some(which as u8 + 1)
    }
}
