//! Timers (`setInterval`, `setTimeout`, `setImmediate`) that stay alive, grouped by callback.

use rustc_hash::FxHashMap;

use super::Clues;
use super::{find_sorted, series, Detected, Finding, Inputs};
use crate::diff::owners::timer_owners;
use crate::diff::shapes::Timer;
use crate::report::diff::{Fix, LocationBasis, SuspectKind};
use crate::report::grouped;

/// How many timers of a group are looked at to find the objects that own them.
const OWNERS_LOOKED_AT: usize = 200;

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
        // Node's list, reached from one of its timers: no place in the app's code. Node keeps
        // one list per interval length, as an element of its timer map named by that length:
        // say so, instead of "element [60000] of Object".
        let timer_list = (graph.class_name(holder) == "TimersList").then(|| {
            held.held_in = None;
            let interval = held
                .path
                .last()
                .filter(|step| step.edge_type == "element")
                .map(|step| format!(" of {} ms timers", step.edge_name))
                .unwrap_or_default();
            format!(
                "Node's list{interval} (TimersList @{})",
                s.node_id[holder as usize]
            )
        });
        let (setter, clearer) = if first.immediate {
            ("setImmediate", "clearImmediate")
        } else {
            ("setInterval/setTimeout", "clearInterval/clearTimeout")
        };
        // An object of the app (or a package) that started the timers and is never closed:
        // the fix is to close it, and it is the owner a person knows.
        let pairs: Vec<(u32, u32)> = group
            .iter()
            .take(OWNERS_LOOKED_AT)
            .map(|x| (x.timer, x.callback))
            .collect();
        let owners = timer_owners(graph, &pairs);
        let started_by = owners
            .as_ref()
            .map(|o| graph.classes.names[o.class as usize].clone());
        let (fix, hint) = match owners {
            Some(owners) => {
                let class = &graph.classes.names[owners.class as usize];
                let at = graph.classes.locations[owners.class as usize]
                    .map(|l| {
                        format!(
                            " ({})",
                            last.shapes.scripts.location(l.script_id, l.line, l.column)
                        )
                    })
                    .unwrap_or_default();
                let kept_by = timer_list.as_deref().map_or_else(
                    || held.owner.description.clone(),
                    |list| format!("{list} holds their live timers"),
                );
                held.owner.description = format!(
                    "`{class}` objects{at} that started them and are never closed (e.g. @{}); {kept_by}",
                    s.node_id[owners.example as usize]
                );
                let hint = match &owners.release {
                    Some(method) => format!(
                        "each `{class}` starts a timer and is never closed: call its `{method}()` when you are done with it (it must call {clearer}), or start the timer only while it is needed"
                    ),
                    None => format!(
                        "each `{class}` starts a timer and nothing clears it: give `{class}` a `close()` that calls {clearer} on the handle it keeps, and call it when you are done with the object"
                    ),
                };
                (Fix::CloseOwner, hint)
            }
            None => {
                if let Some(list) = &timer_list {
                    held.owner.description = format!(
                        "nothing of the app's: only {list} holds the {} live {timer_class} objects that call {fname}",
                        grouped(t.count)
                    );
                }
                (
                    Fix::ClearTimer,
                    format!("keep the handle {setter} returns and call {clearer} when the work is done (or stop starting a timer per call)"),
                )
            }
        };
        let finding = Finding {
            kind: SuspectKind::Timer,
            class: timer_class,
            subject: format!("live timers calling {fname}"),
            title: match started_by {
                Some(class) if fname == "(anonymous)" => format!(
                    "timers started by `{class}` objects are never cleared: {} live",
                    verdict.growth().trail()
                ),
                _ => format!(
                    "timers calling {fname} are never cleared: {} live",
                    verdict.growth().trail()
                ),
            },
            hint,
            fix,
            clues: Clues::own(
                last.shapes.location_of(first.callback),
                LocationBasis::Function,
            ),
            allocation_stacks: last.allocation_stacks(&nodes),
        };
        found.add(verdict, finding, held);
    }
}
