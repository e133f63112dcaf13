//! Duplicated strings: string contents that one heap stores many times over (the same URL,
//! header or JSON key in every cached object), the waste memlab and Eclipse MAT call out.
//!
//! Flat `string` nodes are grouped by their name (V8 names a string node by its content, cut to
//! 1,024 characters) and shallow size, so two long strings that only differ after the cut stay
//! apart unless they also have the same length. Concatenated and sliced strings are left out:
//! they share their parts rather than copy them. Pure: returns a [`DuplicateStrings`], prints
//! nothing.

use rustc_hash::FxHashMap;

use crate::graph::HeapGraph;
use crate::report::strings::{DuplicateString, DuplicateStrings};

/// How many groups the HTML report lists.
pub const DEFAULT_TOP: usize = 20;
/// Characters of a string's content kept in [`DuplicateString::preview`].
pub const PREVIEW_CHARS: usize = 200;
/// Snapshot ids kept per group.
pub const EXAMPLE_IDS: usize = 3;

/// Copies of one content: how many, and the first node (by ordinal) that holds it.
struct Group {
    count: u64,
    first: u32,
}

/// The `top` string contents whose extra copies waste the most bytes in `graph`, with totals
/// over all duplicated contents. Ties are broken by count, then content, so the result is the
/// same on every run.
pub fn duplicate_strings(graph: &HeapGraph, file: &str, top: usize) -> DuplicateStrings {
    let s = &graph.snapshot;
    let string_type = s.layout.node_types.string;
    let mut groups: FxHashMap<(&[u8], u64), Group> = FxHashMap::default();
    let (mut string_count, mut string_bytes) = (0u64, 0u64);
    for n in 0..s.node_count() {
        if s.node_type[n] != string_type {
            continue;
        }
        let size = graph.self_size[n];
        string_count += 1;
        string_bytes += size;
        groups
            .entry((s.strings.raw(s.node_name[n]), size))
            .and_modify(|g| g.count += 1)
            .or_insert(Group {
                count: 1,
                first: n as u32,
            });
    }
    let mut duplicated: Vec<(&[u8], u64, &Group)> = groups
        .iter()
        .filter(|(_, g)| g.count > 1)
        .map(|(&(raw, size), g)| (raw, size, g))
        .collect();
    let wasted_of = |size: u64, g: &Group| (g.count - 1).saturating_mul(size);
    let duplicated_contents = duplicated.len() as u64;
    let wasted = duplicated
        .iter()
        .map(|&(_, size, g)| wasted_of(size, g))
        .fold(0u64, u64::saturating_add);
    duplicated.sort_by(|a, b| {
        wasted_of(b.1, b.2)
            .cmp(&wasted_of(a.1, a.2))
            .then(b.2.count.cmp(&a.2.count))
            .then(a.0.cmp(b.0))
            .then(a.1.cmp(&b.1))
    });
    duplicated.truncate(top);

    // A second pass collects a few ids of each listed group (cheaper than keeping ids for all).
    let index: FxHashMap<(&[u8], u64), usize> = duplicated
        .iter()
        .enumerate()
        .map(|(i, &(raw, size, _))| ((raw, size), i))
        .collect();
    let mut ids: Vec<Vec<u32>> = vec![Vec::new(); duplicated.len()];
    if !index.is_empty() {
        let earliest = duplicated.iter().map(|d| d.2.first).min().unwrap_or(0);
        for n in earliest as usize..s.node_count() {
            if s.node_type[n] != string_type {
                continue;
            }
            let key = (s.strings.raw(s.node_name[n]), graph.self_size[n]);
            if let Some(&i) = index.get(&key) {
                if ids[i].len() < EXAMPLE_IDS {
                    ids[i].push(s.node_id[n]);
                }
            }
        }
    }
    let top = duplicated
        .iter()
        .zip(ids)
        .map(|(&(raw, size, g), mut example_ids)| {
            let content = crate::snapshot::decode_json_string(raw);
            example_ids.sort_unstable();
            DuplicateString {
                preview: preview(&content),
                length: content.chars().count() as u64,
                count: g.count,
                self_size: size,
                wasted: wasted_of(size, g),
                example_ids,
            }
        })
        .collect();
    DuplicateStrings {
        file: file.to_string(),
        string_count,
        string_bytes,
        duplicated_contents,
        wasted,
        top,
    }
}

/// The first [`PREVIEW_CHARS`] characters on one line, with `…` when cut.
fn preview(content: &str) -> String {
    let mut out = String::new();
    for (i, c) in content.chars().enumerate() {
        if i == PREVIEW_CHARS {
            out.push('…');
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::Snapshot;
    use std::path::Path;

    /// root → holder → 3 × "<b>dup</b>" (20 B), 2 × "pair" (16 B), "pair" (24 B), "solo",
    /// and a concatenated string named like the duplicates (not counted).
    fn graph() -> HeapGraph {
        let text = r#"{"snapshot":{"meta":{"node_fields":["type","name","id","self_size","edge_count","trace_node_id"],
"node_types":[["hidden","array","string","object","code","closure","regexp","number","native","synthetic","concatenated string","sliced string","symbol","bigint","object shape"],"string","number","number","number","number"],
"edge_fields":["type","name_or_index","to_node"],"edge_types":[["context","element","property","internal","hidden","shortcut","weak"],"string_or_number","node"],
"location_fields":["object_index","script_id","line","column"]},"node_count":10,"edge_count":9},
"nodes":[9,1,1,0,1,0, 3,2,3,32,8,0, 2,3,5,20,0,0, 2,3,7,20,0,0, 2,3,9,20,0,0, 2,4,11,16,0,0, 2,4,13,16,0,0, 2,4,15,24,0,0, 2,5,17,16,0,0, 10,3,19,32,0,0],
"edges":[5,1,6, 1,0,12,1,1,18,1,2,24,1,3,30,1,4,36,1,5,42,1,6,48,1,7,54],
"locations":[],
"strings":["<dummy>","","Holder","<b>dup</b>\n","pair","solo"]}"#;
        let snapshot =
            Snapshot::from_bytes(Path::new("dup.heapsnapshot"), text.as_bytes().to_vec())
                .expect("test snapshot parses");
        HeapGraph::build(snapshot, &|_| {})
    }

    #[test]
    fn groups_by_content_and_size_largest_waste_first() {
        let g = graph();
        let d = duplicate_strings(&g, "dup.heapsnapshot", 20);
        assert_eq!(d.string_count, 7);
        assert_eq!(d.string_bytes, 20 * 3 + 16 * 2 + 24 + 16);
        assert_eq!(d.duplicated_contents, 2);
        assert_eq!(d.wasted, 40 + 16);
        assert_eq!(d.top.len(), 2);
        let first = &d.top[0];
        assert_eq!(first.preview, "<b>dup</b>\\n");
        assert_eq!(first.length, 11);
        assert_eq!((first.count, first.self_size, first.wasted), (3, 20, 40));
        assert_eq!(first.example_ids, vec![5, 7, 9]);
        assert_eq!(d.top[1].preview, "pair");
        assert_eq!((d.top[1].count, d.top[1].wasted), (2, 16));
        assert_eq!(d.top[1].example_ids, vec![11, 13]);
        let one = duplicate_strings(&g, "dup.heapsnapshot", 1);
        assert_eq!(one.top.len(), 1);
        assert_eq!(
            one.wasted, d.wasted,
            "totals cover every group, not just the top"
        );
    }

    #[test]
    fn previews_are_one_line_and_cut() {
        assert_eq!(preview("a\tb\u{7}c"), "a\\tb c");
        let long = "x".repeat(PREVIEW_CHARS + 5);
        let p = preview(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
