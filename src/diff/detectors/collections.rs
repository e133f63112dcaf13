//! Maps, Sets, arrays and dictionary objects whose entries keep growing.

use super::{find_sorted, series, Detected, Finding, Inputs, Verdict};
use crate::diff::shapes::CollectionKind;
use crate::report::diff::SuspectKind;
use crate::report::grouped;

/// Every tracked collection of the last snapshot (matched by id) whose entry count grows;
/// each explains its own subtree.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    for c in &inputs.newest.collections {
        let measured = series(
            inputs.digests,
            |d| find_sorted(&d.collections, c.id, |x| x.id),
            |x| (x.entries, x.retained_size),
        );
        let Some(verdict) = Verdict::of(measured, th.collection_entry_growth, th) else {
            continue;
        };
        let Some(node) = last.node(c.id) else {
            continue;
        };
        if verdict.is_leak() {
            found.explained_roots.push(node);
        }
        let (_, values) = last.shapes.collection_entries(node, c.kind);
        let (value_class, value_location) = last
            .main_class(&values)
            .unwrap_or_else(|| ("(entries)".to_string(), None));
        let kind_name = c.kind.name();
        let held = last.held(
            node,
            format!("{kind_name} @{} with {} entries", c.id, grouped(c.entries)),
        );
        // Where the entries come from, most specific first: the entries' constructor (class
        // instances are located), else the function whose object literal makes them (through
        // V8's allocation sites), else — as a last resort — a function of the context that
        // holds the collection. Each step is deterministic.
        let location = value_location
            .or_else(|| last.shapes.allocation_location(&values))
            .or_else(|| {
                held.path
                    .len()
                    .checked_sub(2)
                    .and_then(|i| last.node(held.path[i].node.id))
                    .filter(|&h| graph.class_name(h) == "system / Context")
                    .and_then(|ctx| last.shapes.context_function_location(ctx))
            });
        let label = held.label(kind_name, format!("{kind_name} @{}", c.id));
        let finding = Finding {
            kind: SuspectKind::Collection,
            class: value_class.clone(),
            subject: format!("{label} (entries of {value_class})"),
            title: format!(
                "{label} keeps growing: {} entries of {value_class}",
                verdict.growth().trail()
            ),
            hint: match c.kind {
                CollectionKind::Array => format!("{label} only grows: cap it (drop old items, use a ring buffer) or stop keeping every item"),
                _ => format!("bound {label}: evict old entries (an LRU with a maximum size, or a TTL), or delete each entry when its work is done"),
            },
            location,
        };
        found.add(verdict, finding, held);
    }
}
