//! Class names and class keys, as DevTools' Summary groups objects.
//!
//! A node's class name follows `calculateObjectNames`: `hidden` → `(system)`, `code` →
//! `(compiled code)`, `closure` → `Function`, `regexp` → `RegExp`, `object`/`native` → the
//! node's name (HTML-like `<div id=…>` cut to `<div>`, detached DOM nodes prefixed
//! `Detached `), anything else `(type)`. Plain objects (`Object`) are then renamed after the
//! most common property sets (`{a, b, c}`), as `inferInterfaceDefinitions` and
//! `applyInterfaceDefinitions` do. Objects of type `object` that have a source location are
//! keyed by (location, name), so two constructors with one name stay apart.
//!
//! One deliberate difference from DevTools: classes are grouped by name text. DevTools keys
//! them by string index, so an object literally named `Function` and the closures form two
//! groups with one public key, and one overwrites the other in its Summary; heapscan counts
//! both in one row (see `docs/devtools-rules.md`).

use rustc_hash::FxHashMap;

use super::bits::BitSet;
use crate::column::Column;
use crate::snapshot::Snapshot;

/// Dense class index.
pub type ClassId = u32;

/// Where a location-keyed class's constructor is: script id, 0-based line and column.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct ClassLocation {
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// Every node's class and the table of classes.
#[derive(Default)]
pub struct Classes {
    /// Per node: its class.
    pub class_of: Column<ClassId>,
    /// Per class: its name.
    pub names: Vec<String>,
    /// Per class: the location it is keyed by, for `object` nodes with a location.
    pub locations: Vec<Option<ClassLocation>>,
}

const UNSET: u32 = u32::MAX;

/// Interns class names by their text.
#[derive(Default)]
struct NameTable {
    texts: Vec<String>,
    by_text: FxHashMap<String, u32>,
}

impl NameTable {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.by_text.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.texts.push(text.to_owned());
        self.by_text.insert(text.to_owned(), id);
        id
    }
}

/// DevTools' `calculateObjectNames`: each node's name, interned in `table`.
fn object_names(s: &Snapshot, detached: &BitSet, table: &mut NameTable) -> Vec<u32> {
    let n = s.node_count();
    let nt = s.layout.node_types;
    let mut name_of_string = vec![UNSET; s.strings.len()];
    let mut name_of_type = vec![UNSET; s.layout.node_type_names.len()];
    let system = table.intern("(system)");
    let code = table.intern("(compiled code)");
    let function = table.intern("Function");
    let regexp = table.intern("RegExp");
    let mut name_id = vec![0u32; n];
    for i in 0..n {
        let t = s.node_type[i];
        name_id[i] = if t == nt.hidden {
            system
        } else if t == nt.object || t == nt.native {
            let raw_index = s.node_name[i];
            if detached.get(i) {
                let raw = s.strings.get(raw_index);
                table.intern(&html_class_name(&format!("Detached {raw}")))
            } else {
                let cached = name_of_string[raw_index as usize];
                if cached != UNSET {
                    cached
                } else {
                    let raw = s.strings.get(raw_index);
                    let id = table.intern(&html_class_name(&raw));
                    name_of_string[raw_index as usize] = id;
                    id
                }
            }
        } else if t == nt.code {
            code
        } else if t == nt.closure {
            function
        } else if t == nt.regexp {
            regexp
        } else {
            let cached = name_of_type[t as usize];
            if cached != UNSET {
                cached
            } else {
                let id = table.intern(&format!("({})", s.layout.node_type_name(t)));
                name_of_type[t as usize] = id;
                id
            }
        };
    }
    name_id
}

/// Each located node's location, by node; the last location given for a node wins, as in
/// DevTools' map.
fn node_locations(s: &Snapshot) -> Vec<(u32, ClassLocation)> {
    let mut node_locations: Vec<(u32, ClassLocation)> = s
        .locations
        .iter()
        .map(|l| {
            (
                l.node,
                ClassLocation {
                    script_id: l.script_id,
                    line: l.line,
                    column: l.column,
                },
            )
        })
        .collect();
    node_locations.reverse();
    node_locations.sort_by_key(|&(node, _)| node);
    node_locations.dedup_by_key(|&mut (node, _)| node);
    node_locations
}

impl Classes {
    /// Computes every node's class (see the module docs).
    pub fn compute(s: &Snapshot, detached: &BitSet) -> Classes {
        let n = s.node_count();
        let nt = s.layout.node_types;
        let mut table = NameTable::default();
        // 1. Names (`calculateObjectNames`).
        let mut name_id = object_names(s, detached, &mut table);
        // 2. Plain objects renamed after common property sets.
        interfaces::apply(s, &mut table, &mut name_id);
        // 3. Class keys: (location, name) for `object` nodes with a location, else the name.
        let node_locations = node_locations(s);
        let mut names = Vec::new();
        let mut locations = Vec::new();
        let mut class_of_name = vec![UNSET; table.texts.len()];
        let mut class_of_located: FxHashMap<(ClassLocation, u32), u32> = FxHashMap::default();
        // Each node's class replaces its name id in place: one column instead of two at the
        // build's peak.
        let mut class_of = name_id;
        let mut cursor = 0usize;
        for i in 0..n {
            let name = class_of[i];
            while cursor < node_locations.len() && (node_locations[cursor].0 as usize) < i {
                cursor += 1;
            }
            let location = (s.node_type[i] == nt.object
                && cursor < node_locations.len()
                && node_locations[cursor].0 as usize == i)
                .then(|| node_locations[cursor].1);
            class_of[i] = match location {
                Some(loc) => *class_of_located.entry((loc, name)).or_insert_with(|| {
                    names.push(table.texts[name as usize].clone());
                    locations.push(Some(loc));
                    (names.len() - 1) as u32
                }),
                None => {
                    if class_of_name[name as usize] == UNSET {
                        names.push(table.texts[name as usize].clone());
                        locations.push(None);
                        class_of_name[name as usize] = (names.len() - 1) as u32;
                    }
                    class_of_name[name as usize]
                }
            };
        }
        Classes {
            class_of: class_of.into(),
            names,
            locations,
        }
    }

    /// Number of classes.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are no classes (never for a valid snapshot).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The class name of node `n`.
    pub fn name_of_node(&self, n: u32) -> &str {
        &self.names[self.class_of[n as usize] as usize]
    }
}

/// HTML-like names are cut at the first space: `<div id="a">` → `<div>`, and likewise after
/// a `Detached ` prefix.
fn html_class_name(name: &str) -> String {
    let cut_from = if name.starts_with('<') {
        Some(0)
    } else if name.starts_with("Detached <") {
        Some(10)
    } else {
        None
    };
    match cut_from.and_then(|from| name[from..].find(' ').map(|p| from + p)) {
        Some(space) => format!("{}>", &name[..space]),
        None => name.to_owned(),
    }
}

/// DevTools' interface definitions for plain objects.
mod interfaces {
    use std::cmp::Ordering;

    use rustc_hash::FxHashMap;

    use super::NameTable;
    use crate::graph::bits::BitSet;
    use crate::snapshot::Snapshot;

    const MIN_INTERFACE_PROPERTY_COUNT: usize = 1;
    const MAX_INTERFACE_NAME_LENGTH: usize = 120;
    const MIN_OBJECT_COUNT_PER_INTERFACE: f64 = 2.0;
    const MIN_OBJECT_PROPORTION_PER_INTERFACE: f64 = 1000.0;

    fn utf16_len(s: &str) -> usize {
        s.encode_utf16().count()
    }

    /// JavaScript's default string order: by UTF-16 code units.
    fn js_cmp(a: &str, b: &str) -> Ordering {
        a.encode_utf16().cmp(b.encode_utf16())
    }

    /// `formatPropertyName`: names with `, ' " { }` are shown JSON-quoted.
    pub(super) fn format_property_name(name: &str) -> String {
        if name.contains([',', '\'', '"', '{', '}']) {
            serde_json::to_string(name).unwrap_or_else(|_| name.to_owned())
        } else {
            name.to_owned()
        }
    }

    struct Definition {
        name: String,
        properties: Vec<u32>, // string indexes
        count: usize,
    }

    #[derive(Clone, Copy)]
    struct MatchInfo {
        name: u32,
        property_count: usize,
        index: usize,
    }

    fn better(a: MatchInfo, b: Option<MatchInfo>) -> MatchInfo {
        match b {
            None => a,
            Some(b) if a.property_count > b.property_count => a,
            Some(b) if b.property_count > a.property_count => b,
            Some(b) => {
                if a.index <= b.index {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// A trie over property names in sorted order; transitions keyed by the name's rank.
    struct Trie {
        next: FxHashMap<(u32, u32), u32>,
        greatest_next: Vec<Option<u32>>,
        match_info: Vec<Option<MatchInfo>>,
    }

    /// Renames plain objects after the common property sets they have (DevTools'
    /// `inferInterfaceDefinitions` and `applyInterfaceDefinitions`, step for step). One long
    /// function on purpose: it follows DevTools' two passes in their order, so that each step
    /// can be checked against theirs (the parity tests compare every class name).
    pub(super) fn apply(s: &Snapshot, table: &mut NameTable, name_id: &mut [u32]) {
        let nt = s.layout.node_types;
        let property = s.layout.edge_types.property;
        let n = s.node_count();
        let object_string = (0..s.strings.len() as u32).filter(|&i| s.strings.raw(i) == b"Object");
        let object_strings: Vec<u32> = object_string.collect();
        if object_strings.is_empty() {
            return;
        }
        let mut is_object_string = BitSet::new(s.strings.len());
        for &i in &object_strings {
            is_object_string.set(i as usize);
        }
        let is_plain =
            |i: usize| s.node_type[i] == nt.object && is_object_string.get(s.node_name[i] as usize);
        let proto = (0..s.strings.len() as u32).find(|&i| s.strings.raw(i) == b"__proto__");

        // Decoded property names, cached per string index.
        let mut decoded: FxHashMap<u32, String> = FxHashMap::default();
        let mut text = |i: u32| -> String {
            decoded
                .entry(i)
                .or_insert_with(|| s.strings.get(i).into_owned())
                .clone()
        };

        // inferInterfaceDefinitions
        let mut total_objects = 0usize;
        let mut candidates: Vec<Definition> = Vec::new();
        let mut candidate_by_name: FxHashMap<String, usize> = FxHashMap::default();
        for i in 0..n {
            if !is_plain(i) {
                continue;
            }
            total_objects += 1;
            let mut name = String::from("{");
            let mut name_len = 1usize;
            let mut properties = Vec::new();
            for e in s.edges_of(i as u32) {
                if s.edge_type[e] != property || Some(s.edge_name[e]) == proto {
                    continue;
                }
                let formatted = format_property_name(&text(s.edge_name[e]));
                let formatted_len = utf16_len(&formatted);
                if name_len > MIN_INTERFACE_PROPERTY_COUNT
                    && name_len + formatted_len > MAX_INTERFACE_NAME_LENGTH
                {
                    break;
                }
                if name_len != 1 {
                    name.push_str(", ");
                    name_len += 2;
                }
                name.push_str(&formatted);
                name_len += formatted_len;
                properties.push(s.edge_name[e]);
            }
            if properties.is_empty() {
                continue;
            }
            name.push('}');
            match candidate_by_name.get(&name) {
                Some(&c) => candidates[c].count += 1,
                None => {
                    candidate_by_name.insert(name.clone(), candidates.len());
                    candidates.push(Definition {
                        name,
                        properties,
                        count: 1,
                    });
                }
            }
        }
        // Stable sort by count, most common first.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.count));
        let min_count = MIN_OBJECT_COUNT_PER_INTERFACE
            .max(total_objects as f64 / MIN_OBJECT_PROPORTION_PER_INTERFACE);
        let definitions: Vec<Definition> = candidates
            .into_iter()
            .take_while(|c| c.count as f64 >= min_count)
            .collect();
        if definitions.is_empty() {
            return;
        }

        // Rank every property name that plain objects or definitions use, in JS order, so
        // the trie compares numbers. Equal texts get equal ranks.
        let mut used = BitSet::new(s.strings.len());
        for i in 0..n {
            if is_plain(i) {
                for e in s.edges_of(i as u32) {
                    if s.edge_type[e] == property {
                        used.set(s.edge_name[e] as usize);
                    }
                }
            }
        }
        let mut used_strings: Vec<(String, u32)> = (0..s.strings.len() as u32)
            .filter(|&i| used.get(i as usize))
            .map(|i| (text(i), i))
            .collect();
        used_strings.sort_by(|a, b| js_cmp(&a.0, &b.0));
        let mut rank = vec![u32::MAX; s.strings.len()];
        let mut current = 0u32;
        for k in 0..used_strings.len() {
            if k > 0 && used_strings[k].0 != used_strings[k - 1].0 {
                current += 1;
            }
            rank[used_strings[k].1 as usize] = current;
        }

        // applyInterfaceDefinitions: build the trie.
        let mut trie = Trie {
            next: FxHashMap::default(),
            greatest_next: vec![None],
            match_info: vec![None],
        };
        for (index, def) in definitions.iter().enumerate() {
            let mut props: Vec<u32> = def.properties.iter().map(|&p| rank[p as usize]).collect();
            props.sort_unstable();
            let mut node = 0u32;
            for &p in &props {
                node = match trie.next.get(&(node, p)) {
                    Some(&child) => child,
                    None => {
                        let child = trie.match_info.len() as u32;
                        trie.match_info.push(None);
                        trie.greatest_next.push(None);
                        trie.next.insert((node, p), child);
                        let g = &mut trie.greatest_next[node as usize];
                        if g.is_none_or(|g| g < p) {
                            *g = Some(p);
                        }
                        child
                    }
                };
            }
            if trie.match_info[node as usize].is_none() {
                let name = table.intern(&def.name);
                trie.match_info[node as usize] = Some(MatchInfo {
                    name,
                    property_count: props.len(),
                    index,
                });
            }
        }

        let mut props = Vec::new();
        let mut states: Vec<u32> = Vec::new();
        let mut snapshot_states: Vec<u32> = Vec::new();
        for i in 0..n {
            if !is_plain(i) {
                continue;
            }
            props.clear();
            for e in s.edges_of(i as u32) {
                if s.edge_type[e] == property {
                    props.push(rank[s.edge_name[e] as usize]);
                }
            }
            props.sort_unstable();
            states.clear();
            states.push(0);
            let initial = MatchInfo {
                name: u32::MAX,
                property_count: 0,
                index: usize::MAX,
            };
            let mut best = better(initial, trie.match_info[0]);
            for &p in &props {
                snapshot_states.clear();
                snapshot_states.extend_from_slice(&states);
                for &state in &snapshot_states {
                    if trie.greatest_next[state as usize].is_none_or(|g| p >= g) {
                        // No further transitions are possible from this state.
                        states.retain(|&x| x != state);
                    }
                    if let Some(&next) = trie.next.get(&(state, p)) {
                        if !states.contains(&next) {
                            states.push(next);
                        }
                        best = better(best, trie.match_info[next as usize]);
                    }
                }
            }
            if best.name != u32::MAX {
                name_id[i] = best.name;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::html_class_name;
    use super::interfaces::format_property_name;

    #[test]
    fn html_names_are_cut_at_the_first_space() {
        assert_eq!(html_class_name("<div id=\"a\">"), "<div>");
        assert_eq!(html_class_name("<div>"), "<div>");
        assert_eq!(html_class_name("Detached <li class=x>"), "Detached <li>");
        assert_eq!(
            html_class_name("Detached HTMLDivElement"),
            "Detached HTMLDivElement"
        );
        assert_eq!(html_class_name("Foo bar"), "Foo bar");
    }

    #[test]
    fn property_names_with_punctuation_are_quoted() {
        assert_eq!(format_property_name("plain"), "plain");
        assert_eq!(format_property_name("a,b"), "\"a,b\"");
        assert_eq!(format_property_name("say \"hi\""), "\"say \\\"hi\\\"\"");
        assert_eq!(format_property_name("{x}"), "\"{x}\"");
    }
}
