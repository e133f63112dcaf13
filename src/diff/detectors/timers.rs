//! Timers (`setInterval`, `setTimeout`, `setImmediate`) that stay alive, grouped by callback.

use rustc_hash::FxHashMap;

use super::{find_sorted, series, Detected, Finding, Inputs};
use crate::diff::shapes::Timer;
use crate::report::diff::SuspectKind;
use crate::report::grouped;

/// Every callback of the last snapshot's live timers (keyed by its location) whose number of
/// live timers grows; each explains its timers.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    let s = &graph.snapshot;
    // The last snapshot's timers by callback key, in the order found.
    let mut by_key: FxHashMap<String, Vec<&Timer>> = FxHashMap::default();
    for t in &last.timers {
        by_key
            .entry(last.shapes.function_key(t.callback))
            .or_default()
            .push(t);
    }
    for t in &inputs.newest.timers {
        let measured = series(
            inputs.digests,
            |d| find_sorted(&d.timers, t.key.as_str(), |x| x.key.as_str()),
            |x| (x.count, x.retained_size),
        );
        let Some(verdict) = inputs.verdict(measured, th.timer_growth) else {
            continue;
        };
        let Some(group) = by_key.get(&t.key).filter(|g| !g.is_empty()) else {
            continue;
        };
        let first = group[0];
        let nodes: Vec<u32> = group.iter().map(|x| x.timer).collect();
        if verdict.is_leak() {
            found.explained_roots.extend_from_slice(&nodes);
        }
        let holder = last.holder_of(&nodes);
        let fname = last.function_name(first.callback);
        let timer_class = graph.class_name(first.timer).to_string();
        let mut held = last.held(
            holder,
            format!(
                "{} @{} holding {} live {timer_class} objects that call {fname}",
                graph.class_name(holder),
                s.node_id[holder as usize],
                grouped(t.count)
            ),
        );
        if graph.class_name(holder) == "TimersList" {
            // Node keeps one list per interval length, as an element of its timer map named by
            // that length: say so, instead of "element [60000] of Object".
            let interval = held
                .path
                .last()
                .filter(|step| step.edge_type == "element")
                .map(|step| format!(" of {} ms timers", step.edge_name))
                .unwrap_or_default();
            held.owner.description = format!(
                "Node's list{interval} (TimersList @{}), holding {} live {timer_class} objects that call {fname}",
                s.node_id[holder as usize],
                grouped(t.count)
            );
        }
        let (setter, clearer) = if first.immediate {
            ("setImmediate", "clearImmediate")
        } else {
            ("setInterval/setTimeout", "clearInterval/clearTimeout")
        };
        let finding = Finding {
            kind: SuspectKind::Timer,
            class: timer_class,
            subject: format!("live timers calling {fname}"),
            title: format!(
                "timers calling {fname} are never cleared: {} live",
                verdict.growth().trail()
            ),
            hint: format!("keep the handle {setter} returns and call {clearer} when the work is done (or stop starting a timer per call)"),
            location: last.shapes.location_of(first.callback),
            allocation_stacks: last.allocation_stacks(&nodes),
        };
        found.add(verdict, finding, held);
    }
}
