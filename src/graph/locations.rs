//! Source locations resolved offline: V8's `locations` give (script id, line, column) for
//! functions and objects, and the script's name is reachable from any located closure through
//! its `shared` → `script` → `name` edges. This module builds that script-id → name table.

use crate::report::SourceLocation;
use rustc_hash::FxHashMap;

use crate::snapshot::Snapshot;

/// Script names by V8 script id.
#[derive(Debug, Default, Clone)]
pub struct ScriptNames {
    by_id: FxHashMap<u32, String>,
}

/// Follows the first edge of `node` whose name is one of `names` (string edges only).
fn follow(s: &Snapshot, node: u32, names: &[&[u8]]) -> Option<u32> {
    let et = s.layout.edge_types;
    s.edges_of(node)
        .find(|&e| {
            let t = s.edge_type[e];
            (t == et.internal || t == et.property) && names.contains(&s.strings.raw(s.edge_name[e]))
        })
        .map(|e| s.edge_to[e])
}

/// The name of a Script node. V8 names Script nodes after their script (a path for CommonJS, a
/// `file://` URL for ES modules, `node:internal/…` for Node's own), so the node's own name comes
/// first. Its `name` edge is only a fallback: on Node 16 an ES module's `name` can point to a
/// `(concatenated string)` node (the URL, not yet flattened) while the node itself is named
/// `file:///…/app.mjs`.
fn script_name(s: &Snapshot, script: u32) -> Option<String> {
    let usable =
        |name: &str| !name.is_empty() && !name.starts_with("system / ") && !name.starts_with('(');
    let own = s.node_name_str(script);
    if usable(&own) {
        return Some(own.into_owned());
    }
    follow(s, script, &[b"name"])
        .map(|n| s.node_name_str(n).into_owned())
        .filter(|name| usable(name))
}

impl ScriptNames {
    /// Scans the located closures once.
    pub fn find(s: &Snapshot) -> ScriptNames {
        let closure = s.layout.node_types.closure;
        let mut by_id = FxHashMap::default();
        for loc in &s.locations {
            if s.node_type[loc.node as usize] != closure || by_id.contains_key(&loc.script_id) {
                continue;
            }
            // Node 16–20 name the edge `script_or_debug_info`, Node 22+ `script`.
            let name = follow(s, loc.node, &[b"shared"])
                .and_then(|shared| follow(s, shared, &[b"script", b"script_or_debug_info"]))
                .and_then(|script| script_name(s, script));
            if let Some(name) = name {
                by_id.insert(loc.script_id, name);
            }
        }
        ScriptNames { by_id }
    }

    /// Every (script id, name), by id: for keeping them.
    pub fn entries(&self) -> Vec<(u32, String)> {
        let mut entries: Vec<(u32, String)> = self
            .by_id
            .iter()
            .map(|(&id, name)| (id, name.clone()))
            .collect();
        entries.sort_unstable();
        entries
    }

    /// The names kept as [`entries`](Self::entries).
    pub fn from_entries(entries: Vec<(u32, String)>) -> ScriptNames {
        ScriptNames {
            by_id: entries.into_iter().collect(),
        }
    }

    /// Every script's name, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_id.values().map(String::as_str)
    }

    /// The script's name (a path or URL), if known.
    pub fn get(&self, script_id: u32) -> Option<&str> {
        self.by_id.get(&script_id).map(String::as_str)
    }

    /// The location of V8's 0-based (`line`, `column`) in script `script_id`, 1-based as
    /// editors expect.
    pub fn location(&self, script_id: u32, line: u32, column: u32) -> SourceLocation {
        SourceLocation {
            file: match self.get(script_id) {
                Some(name) => name.to_string(),
                None => format!("script#{script_id}"),
            },
            line: line + 1,
            column: column + 1,
        }
    }

    /// [`location`](Self::location) as text, `file:line:column`.
    pub fn format(&self, script_id: u32, line: u32, column: u32) -> String {
        self.location(script_id, line, column).to_string()
    }
}
