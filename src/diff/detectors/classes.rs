//! Classes whose objects accumulate and that no other suspect explains.

use rustc_hash::FxHashMap;

use super::fixes::{specific_fix, Accumulation};
use super::Clues;
use super::{Comparison, Detected, Finding, Last, Series, Verdict};
use crate::diff::digest::{is_app_script, ClassDigest, Digest};
use crate::diff::holder::{Holder, Reference};
use crate::graph::bits::BitSet;
use crate::report::diff::{Fix, LocationBasis, Matching, SuspectKind, Thresholds};

/// Classes whose object count grows steadily, largest retained growth first, each reported
/// only when at least half of its new objects (allocated after the first snapshot) lie outside
/// the dominator subtrees already explained (`found`'s explained roots, then each accepted
/// class's own objects: a record's arrays are explained by the record). Classes that grew
/// short of a verdict are near misses by the same rule, when they are the app's own (have a
/// constructor location): built-in classes wobble with whatever the process did. Across
/// processes only the app's own classes are judged, for the same reason, and every object
/// of a class counts as new (ids say nothing there).
pub(super) fn detect(
    digests: &[&Digest],
    last: &Last<'_>,
    comparison: Comparison<'_>,
    th: &Thresholds,
    found: &mut Detected,
) {
    let graph = last.graph;
    let s = &graph.snapshot;
    let Some(first_digest) = digests.first() else {
        return;
    };
    let across_processes = comparison.matched_by == Matching::Structure;
    let candidates = growing_classes(digests, comparison, th);
    if candidates.is_empty() {
        return;
    }
    let allocated_after = if across_processes {
        0
    } else {
        first_digest.max_node_id
    };
    let class_nodes = new_objects_by_class(last, allocated_after);
    let mut explained = BitSet::new(graph.node_count());
    last.mark_subtrees(&found.explained_roots, &mut explained);
    for (class_id, cd, verdict) in candidates {
        let members = &class_nodes[class_id];
        if members.is_empty() || (!verdict.is_leak() && cd.location.is_none()) {
            continue;
        }
        let unexplained: Vec<u32> = members
            .iter()
            .copied()
            .filter(|&n| !explained.get(n as usize))
            .collect();
        if unexplained.len() * 2 < members.len() {
            continue;
        }
        if verdict.is_leak() {
            last.mark_subtrees(&unexplained, &mut explained);
        }
        let holder = last.holder_of(&unexplained);
        let mut held = last.held(
            holder,
            format!(
                "{} @{}",
                graph.class_name(holder),
                s.node_id[holder as usize]
            ),
        );
        let in_globals = last.shapes.is_global_object(holder);
        if in_globals {
            name_global_holder(last, holder, &unexplained, &cd.name, &mut held);
        } else if graph.class_name(holder) == "system / Context" {
            name_scope_holder(last, holder, class_id as u32, &cd.name, &mut held);
        }
        let label = format!("the `{}` objects", cd.name);
        let accumulation = Accumulation {
            entries: &unexplained,
            holder,
            held_in: held.held_in.as_ref(),
            label: &label,
            map: None,
        };
        let specific = specific_fix(last, &accumulation);
        // Objects made by a literal have no constructor; V8's allocation site names the
        // function whose literal makes them.
        let own = match cd.location.clone() {
            Some(l) => Some((l, LocationBasis::Constructor)),
            None => last
                .shapes
                .allocation_location(&unexplained)
                .map(|l| (l, LocationBasis::AllocationSite)),
        };
        let (fix, hint, app) = match specific {
            Some(specific) => (specific.fix, specific.hint, specific.app_location),
            None if in_globals => (
                Fix::DropReference,
                format!(
                    "each {} is stored as a property of the global object, and nothing deletes it: keep them in a Map of your own that is bounded (or delete the property when its work is done), not in globalThis",
                    cd.name
                ),
                None,
            ),
            None => (
                Fix::DropReference,
                format!(
                    "{} objects are created and never released; find what keeps them (the owner above, or `heapscan retainers LAST.heapsnapshot --class '{}'`) and drop the reference when done",
                    cd.name, cd.name
                ),
                None,
            ),
        };
        let finding = Finding {
            kind: SuspectKind::Class,
            class: cd.name.clone(),
            subject: format!("{} objects", cd.name),
            title: format!(
                "{} objects accumulate: {}",
                cd.name,
                verdict.growth().trail()
            ),
            hint,
            fix,
            clues: Clues {
                own,
                holding_scope: last.holding_scope(&held),
                app,
            },
            allocation_stacks: last.allocation_stacks(&unexplained),
        };
        found.add(verdict, finding, held);
    }
}

/// The classes of the last digest (but internal ones, `Function` and embedder objects) whose
/// count and retained size grow, largest retained growth first (objects inside a bigger
/// accumulating class are then explained by it once it is accepted). Each comes with its index
/// in the last digest, which is the last graph's class id (that digest is made from that graph's
/// class table, in its order).
fn growing_classes<'d>(
    digests: &[&'d Digest],
    comparison: Comparison<'_>,
    th: &Thresholds,
) -> Vec<(usize, &'d ClassDigest, Verdict)> {
    let app_class = |cd: &ClassDigest| cd.location.as_ref().is_some_and(|l| is_app_script(&l.file));
    let Some(final_digest) = digests.last() else {
        return Vec::new();
    };
    let index: Vec<FxHashMap<&str, (u64, u64)>> = digests
        .iter()
        .map(|d| {
            d.classes
                .iter()
                .zip(&d.class_totals)
                .map(|(c, t)| (c.key.as_str(), (t.count, t.retained_size)))
                .collect()
        })
        .collect();
    let mut candidates = Vec::new();
    for (c, (cd, totals)) in final_digest
        .classes
        .iter()
        .zip(&final_digest.class_totals)
        .enumerate()
    {
        let name = cd.name.as_str();
        if totals.count == 0
            || name.starts_with('(')
            || name.starts_with("system / ")
            || name.starts_with("Node / ")
            || name == "Function"
            || (comparison.matched_by == Matching::Structure && !app_class(cd))
        {
            continue;
        }
        let measured = Series::from_values(index.iter().map(|m| m.get(cd.key.as_str()).copied()));
        let steps = comparison.steps_for(&measured);
        if let Some(verdict) = Verdict::of(measured, &steps, th.class_count_growth, th) {
            candidates.push((c, cd, verdict));
        }
    }
    candidates.sort_by(|a, b| {
        (b.2.growth().retained_growth)
            .cmp(&a.2.growth().retained_growth)
            .then_with(|| a.1.key.cmp(&b.1.key))
    });
    candidates
}

/// Per class of the last graph: its objects (`object` nodes with a shallow size) allocated
/// after the first snapshot, whose highest id was `first_max_id`.
fn new_objects_by_class(last: &Last<'_>, first_max_id: u32) -> Vec<Vec<u32>> {
    let graph = last.graph;
    let s = &graph.snapshot;
    let mut class_nodes: Vec<Vec<u32>> = vec![Vec::new(); graph.classes.len()];
    let object = s.layout.node_types.object;
    for n in 0..s.node_count() as u32 {
        let i = n as usize;
        if s.node_type[i] == object && graph.self_size[i] > 0 && s.node_id[i] > first_max_id {
            class_nodes[graph.classes.class_of[i] as usize].push(n);
        }
    }
    class_nodes
}

/// When the objects are held as properties of the global object: the owner is `globalThis`,
/// said as such (not "global @6047, held by shortcut edge 2 of (GC roots)"), and `held_in`
/// names one of the properties (the one named lowest, so the answer does not depend on heap
/// order).
fn name_global_holder(
    last: &Last<'_>,
    global: u32,
    objects: &[u32],
    class: &str,
    held: &mut super::Held,
) {
    let s = &last.graph.snapshot;
    let mut members = BitSet::new(s.node_count());
    for &n in objects {
        members.set(n as usize);
    }
    let mut names: Vec<String> = s
        .edges_of(global)
        .filter(|&e| s.edge_type[e] == s.layout.edge_types.property)
        .filter(|&e| members.get(s.edge_to[e] as usize))
        .map(|e| s.edge_name_str(e).into_owned())
        .collect();
    names.sort_unstable();
    let held_as = names.len();
    held.owner.description = match names.first() {
        Some(first) => format!(
            "globalThis (the global object, {} @{}), which holds {} of them as its properties (`{first}`, …)",
            last.graph.class_name(global),
            s.node_id[global as usize],
            crate::report::grouped(held_as as u64)
        ),
        None => format!(
            "globalThis (the global object, {} @{})",
            last.graph.class_name(global),
            s.node_id[global as usize]
        ),
    };
    if let Some(first) = names.into_iter().next() {
        held.held_in_one_step(class, Reference::Property(first), Holder::Global);
    }
}

/// When the objects' holder is a scope (a closure context: variables that reach them between
/// them, as the two ends of a linked list do): the owner is that scope and its variables that
/// hold objects of the class (not "system / Context @…, held by internal edge context of
/// Function"), and `held_in` names the first of them.
fn name_scope_holder(
    last: &Last<'_>,
    context: u32,
    class_id: u32,
    class: &str,
    held: &mut super::Held,
) {
    let graph = last.graph;
    let s = &graph.snapshot;
    let mut names: Vec<String> = s
        .edges_of(context)
        .filter(|&e| s.edge_type[e] == s.layout.edge_types.context)
        .filter(|&e| graph.classes.class_of[s.edge_to[e] as usize] == class_id)
        .map(|e| s.edge_name_str(e).into_owned())
        .collect();
    names.sort_unstable();
    names.dedup();
    let Some(at) = last.shapes.context_function_location(context) else {
        return;
    };
    let module = last.shapes.is_module_scope(context);
    let scope = if module {
        format!("the module scope of {}", at.file)
    } else {
        format!("the scope at {at}")
    };
    let variables: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    held.owner.description = if variables.is_empty() {
        format!(
            "{scope} (system / Context @{})",
            s.node_id[context as usize]
        )
    } else {
        format!(
            "{scope}, whose variables {} reach them (system / Context @{})",
            variables.join(", "),
            s.node_id[context as usize]
        )
    };
    if let Some(first) = names.into_iter().next() {
        held.held_in_one_step(
            class,
            Reference::Variable(first),
            Holder::Scope { at, module },
        );
    }
}
