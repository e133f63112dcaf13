//! Maps, Sets, arrays and dictionary objects whose entries keep growing.

use super::fixes::{specific_fix, Accumulation};
use super::place::is_file;
use super::{promises, streams, Clues, Detected, Finding, Inputs, Matched};
use crate::diff::digest::CollectionDigest;
use crate::diff::shapes::CollectionKind;
use crate::diff::views::{views, ViewKind, Views};
use crate::report::diff::{AllocationStack, Fix, LocationBasis, SuspectKind};
use crate::report::{grouped, human_bytes};

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
                fix: generic_fix(c.kind),
                clues: Clues::own(None, LocationBasis::AllocationSite),
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
            format!(
                "{kind_name} @{id} with {} {}",
                grouped(entries),
                entries_word(c.kind)
            ),
        );
        if c.kind == CollectionKind::Promise {
            let finding = promises::finding(last, &held, &values, &verdict);
            found.add(verdict, finding, held);
            continue;
        }
        if let Some(stream) = held.held_in.as_ref().and_then(streams::write_buffer_of) {
            let finding = streams::finding(last, &held, &stream, &values, &verdict);
            let mut held = held;
            held.owner.description = format!(
                "the write buffer of {} ({kind_name} @{id} in its WritableState) with {} chunks waiting",
                stream.label,
                grouped(entries)
            );
            found.add(verdict, finding, held);
            continue;
        }
        // Where the entries come from, most specific first: the entries' constructor (class
        // instances are located) in the app or a package, else the function whose object
        // literal makes them (through V8's allocation sites), else a Node constructor; and, as
        // a last resort for `place`, a function of the context that holds the collection.
        // Each step is deterministic.
        let own = match value_location {
            Some(l) if is_file(&l.file) => Some((l, LocationBasis::Constructor)),
            node_class => last
                .shapes
                .allocation_location(&values)
                .map(|l| (l, LocationBasis::AllocationSite))
                .or(node_class.map(|l| (l, LocationBasis::Constructor))),
        };
        let holding_scope = last.holding_scope(&held);
        let label = held.label(kind_name, format!("{kind_name} @{id}"));
        let allocation_stacks = last.allocation_stacks(&values);
        let (fix, hint_text, app) = match views(graph, &values) {
            Some(v) => {
                let (fix, hint) = view_hint(c.kind, &label, v, &allocation_stacks);
                (fix, hint, None)
            }
            None => {
                let accumulation = Accumulation {
                    entries: &values,
                    holder: node,
                    held_in: held.held_in.as_ref(),
                    label: &label,
                    map: (c.kind == CollectionKind::Map).then_some(node),
                };
                match specific_fix(last, &accumulation) {
                    Some(specific) => (specific.fix, specific.hint, specific.app_location),
                    None => (generic_fix(c.kind), hint(c.kind, &label), None),
                }
            }
        };
        let finding = Finding {
            kind: SuspectKind::Collection,
            class: value_class.clone(),
            subject: format!("{label} (entries{of_class})"),
            title: format!(
                "{label} keeps growing: {} entries{of_class}",
                verdict.growth().trail()
            ),
            hint: hint_text,
            fix,
            clues: Clues {
                own,
                holding_scope,
                app,
            },
            allocation_stacks,
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

/// The fix [`hint`] names.
fn generic_fix(kind: CollectionKind) -> Fix {
    match kind {
        CollectionKind::Array => Fix::Cap,
        _ => Fix::Evict,
    }
}

/// The fix for a collection `label` whose entries are views keeping larger parents alive.
fn view_hint(
    kind: CollectionKind,
    label: &str,
    v: Views,
    stacks: &[AllocationStack],
) -> (Fix, String) {
    let parent = human_bytes(v.average_parent);
    // Node's `Buffer#subarray`/`slice` are JavaScript (`node:buffer`): when the allocation
    // stacks show them, buffers that hold their ArrayBuffers alone are views too.
    let sliced = stacks.iter().any(|stack| {
        stack.frames.iter().any(|f| {
            matches!(f.function.as_str(), "subarray" | "slice")
                && f.location.as_ref().is_some_and(|l| l.file == "node:buffer")
        })
    });
    let kind_of_view = match v.kind {
        ViewKind::LargeBuffer if sliced => ViewKind::SharedBuffer,
        other => other,
    };
    match kind_of_view {
        ViewKind::SlicedString => (
            Fix::CopyOut,
            format!(
                "copy the pieces out: the entries of {label} are slices (`slice`, `substring`) of larger strings, and each keeps its whole parent alive ({parent} per entry); keep a copy (`Buffer.from(piece).toString()`) instead of the slice, and bound {label} if it should not keep every piece"
            ),
        ),
        ViewKind::SharedBuffer => (
            Fix::CopyOut,
            format!(
                "copy the pieces out: the entries of {label} are Buffer views (`subarray`, `slice`) of larger ArrayBuffers ({parent} per view); keep a copy (`Buffer.from(view)`) so the large buffers can be freed, and bound {label} if it should not keep every piece"
            ),
        ),
        ViewKind::LargeBuffer => (
            generic_fix(kind),
            format!(
                "{}; each entry holds an ArrayBuffer of {parent} of its own: if the entries are views (`subarray`, `slice`) of larger buffers, keep copies (`Buffer.from(view)`) instead",
                hint(kind, label)
            ),
        ),
    }
}

/// What a collection's entries are called.
fn entries_word(kind: CollectionKind) -> &'static str {
    match kind {
        CollectionKind::Promise => "calls waiting",
        _ => "entries",
    }
}
