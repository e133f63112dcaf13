//! Recognising the internal edges V8 writes for WeakMap entries.
//!
//! A WeakMap value is held by two edges, one from the key and one from the WeakMap's table,
//! both named `<n> / part of key (<key> @<id>) -> value (<value> @<id>) pair in WeakMap (table @<id>)`
//! and differing only in `<n>`. DevTools ignores the table's edge for dominators, and for
//! distances takes the second edge of each pair it meets. The pattern and its use follow
//! DevTools' `tryParseWeakMapEdgeName`.

use std::sync::OnceLock;

use regex::Regex;
use rustc_hash::FxHashMap;

use crate::snapshot::Snapshot;

/// For each string used as an internal edge name that matches the WeakMap pattern: the
/// table's node id and a dense id of the "duplicated part" shared by the pair of edges.
pub struct WeakMapEdgeNames {
    by_string: FxHashMap<u32, WeakMapEdgeName>,
    /// The same strings as a bit set: most edges are answered by one bit test.
    names: crate::graph::bits::BitSet,
}

#[derive(Clone, Copy, Debug)]
pub struct WeakMapEdgeName {
    pub table_id: u64,
    pub pair: u32,
}

fn pattern() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        // `.` in the JavaScript original excludes line terminators; spell that out here.
        let any = r"[^\n\r\u{2028}\u{2029}]";
        let source = format!(
            r"^[0-9]+(?<dup> / part of key \({any}*? @[0-9]+\) -> value \({any}*? @[0-9]+\) pair in WeakMap \(table @(?<table>[0-9]+)\))$"
        );
        Regex::new(&source).unwrap_or_else(|e| panic!("WeakMap edge pattern is invalid: {e}"))
    })
}

impl WeakMapEdgeNames {
    /// Scans the names of all internal edges once.
    pub fn find(snapshot: &Snapshot) -> WeakMapEdgeNames {
        let internal = snapshot.layout.edge_types.internal;
        let mut seen = crate::graph::bits::BitSet::new(snapshot.strings.len());
        let mut by_string = FxHashMap::default();
        let mut pairs: FxHashMap<String, u32> = FxHashMap::default();
        for (e, &t) in snapshot.edge_type.iter().enumerate() {
            if t != internal {
                continue;
            }
            let name = snapshot.edge_name[e];
            if seen.get(name as usize) {
                continue;
            }
            seen.set(name as usize);
            let raw = snapshot.strings.raw(name);
            // Cheap pre-check before decoding and matching.
            if !raw.ends_with(b")") || !raw.first().is_some_and(u8::is_ascii_digit) {
                continue;
            }
            let text = snapshot.strings.get(name);
            let Some(caps) = pattern().captures(&text) else {
                continue;
            };
            let table_id = caps["table"].parse::<u64>().unwrap_or(u64::MAX);
            let next = pairs.len() as u32;
            let pair = *pairs.entry(caps["dup"].to_string()).or_insert(next);
            by_string.insert(name, WeakMapEdgeName { table_id, pair });
        }
        let mut names = crate::graph::bits::BitSet::new(snapshot.strings.len());
        for &name in by_string.keys() {
            names.set(name as usize);
        }
        WeakMapEdgeNames { by_string, names }
    }

    /// The WeakMap reading of internal edge name `name`, if it is one.
    #[inline]
    pub fn get(&self, name: u32) -> Option<WeakMapEdgeName> {
        if !self.names.get(name as usize) {
            return None;
        }
        self.by_string.get(&name).copied()
    }

    /// Number of distinct WeakMap entry pairs seen.
    pub fn len(&self) -> usize {
        self.by_string.len()
    }

    /// Whether no WeakMap edge names were found.
    pub fn is_empty(&self) -> bool {
        self.by_string.is_empty()
    }
}
