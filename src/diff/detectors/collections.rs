//! Maps, Sets, arrays and dictionary objects whose entries keep growing.

use super::{Detected, Finding, Inputs, Matched};
use crate::diff::digest::CollectionDigest;
use crate::diff::shapes::CollectionKind;
use crate::report::diff::SuspectKind;
use crate::report::grouped;

/// Every tracked collection of the last snapshot (matched by id, or across processes by what
/// holds it) whose entry count grows; each explains its own subtree.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    let matched = Matched::new(
        inputs,
        |d| &d.collections,
        |a: &CollectionDigest, b| a.id.cmp(&b.id),
        |a, b| a.holder.cmp(&b.holder),
        |c| c.entries,
    );
    let newest = inputs.digests.len() - 1;
    for (from, c) in matched.newest() {
        let measured = matched.series(from, c, |x| (x.entries, x.retained_size));
        let Some(verdict) = inputs.verdict(measured, th.collection_entry_growth) else {
            continue;
        };
        let kind_name = c.kind.name();
        // The collection in the last snapshot: by id, or (taken from an earlier process) the
        // largest one its holder holds there; a young last process may not have it at all.
        let node = if from == newest {
            last.node(c.id)
        } else {
            last.shapes.held_by(&c.holder).into_iter().max_by_key(|&n| {
                (
                    last.shapes.collection_entry_count(n, c.kind),
                    std::cmp::Reverse(n),
                )
            })
        };
        let Some(node) = node else {
            let held = last.unheld(
                &c.holder,
                format!("{kind_name} with {} entries", grouped(c.entries)),
            );
            let label = format!("{kind_name} `{}`", held.owner.via);
            let finding = Finding {
                kind: SuspectKind::Collection,
                class: "(entries)".to_string(),
                subject: label.clone(),
                title: format!("{label} kept growing: {} entries", verdict.growth().trail()),
                hint: hint(c.kind, &label),
                location: None,
                allocation_stacks: Vec::new(),
            };
            found.add(verdict, finding, held);
            continue;
        };
        if verdict.is_leak() {
            found.explained_roots.push(node);
        }
        let (entries, values) = last.shapes.collection_entries(node, c.kind);
        let id = graph.snapshot.node_id[node as usize];
        // A collection the last snapshot holds empty (a young process, across processes) has
        // no entries to name.
        let main_class = last.main_class(&values);
        let of_class = main_class
            .as_ref()
            .map(|(class, _)| format!(" of {class}"))
            .unwrap_or_default();
        let (value_class, value_location) =
            main_class.unwrap_or_else(|| ("(entries)".to_string(), None));
        let held = last.held(
            node,
            format!("{kind_name} @{id} with {} entries", grouped(entries)),
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
        let label = held.label(kind_name, format!("{kind_name} @{id}"));
        let finding = Finding {
            kind: SuspectKind::Collection,
            class: value_class.clone(),
            subject: format!("{label} (entries{of_class})"),
            title: format!(
                "{label} keeps growing: {} entries{of_class}",
                verdict.growth().trail()
            ),
            hint: hint(c.kind, &label),
            location,
            allocation_stacks: last.allocation_stacks(&values),
        };
        found.add(verdict, finding, held);
    }
}

/// What to change about a growing collection called `label`.
fn hint(kind: CollectionKind, label: &str) -> String {
    match kind {
        CollectionKind::Array => format!("{label} only grows: cap it (drop old items, use a ring buffer) or stop keeping every item"),
        _ => format!("bound {label}: evict old entries (an LRU with a maximum size, or a TTL), or delete each entry when its work is done"),
    }
}
