//! Listeners that pile up on one event of one emitter (EventEmitter `_events`, EventTarget).

use super::Clues;
use super::{Detected, Finding, Inputs, Matched};
use crate::diff::digest::ListenerDigest;
use crate::report::diff::{Fix, LocationBasis, SuspectKind};

/// Every listener list of the last snapshot (matched by emitter id and event, or across
/// processes by what holds the emitter and the event) whose length grows; each explains its
/// list's storage.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    let matched = Matched::new(
        inputs,
        |d| &d.listeners,
        |a: &ListenerDigest, b| (a.emitter_id, &a.event).cmp(&(b.emitter_id, &b.event)),
        |a, b| (&a.emitter_holder, &a.event).cmp(&(&b.emitter_holder, &b.event)),
        |l| l.count,
    );
    let newest = inputs.digests.len() - 1;
    for (from, l) in matched.newest() {
        let measured = matched.series(from, l, |x| (x.count, x.retained_size));
        let Some(verdict) = inputs.verdict(measured, th.listener_growth) else {
            continue;
        };
        // The list in the last snapshot: by emitter id, or (taken from an earlier process)
        // the list of the event on an emitter its holder holds there; a young last process
        // may not have any.
        let list = if from == newest {
            last.node(l.emitter_id).and_then(|emitter| {
                last.listener_lists
                    .iter()
                    .find(|x| x.emitter == emitter && x.event == l.event)
            })
        } else {
            let emitters = last.shapes.held_by(&l.emitter_holder);
            last.listener_lists
                .iter()
                .filter(|x| x.event == l.event && emitters.contains(&x.emitter))
                .max_by_key(|x| (x.listeners.len(), std::cmp::Reverse(x.emitter)))
        };
        let Some(list) = list else {
            let held = last.unheld(
                &l.emitter_holder,
                format!("an emitter ('{}' event)", l.event),
            );
            let subject = format!("'{}' listeners on `{}`", l.event, held.owner.via);
            let finding = Finding {
                kind: SuspectKind::Listener,
                class: "(unknown)".to_string(),
                title: format!("{subject} kept piling up: {}", verdict.growth().trail()),
                hint: format!(
                    "remove the listener when its work is done (emitter.off('{}', listener) or emitter.once), or register it once instead of per call",
                    l.event
                ),
                subject,
                clues: Clues::own(None, LocationBasis::Function),
                fix: Fix::RemoveListener,
                allocation_stacks: Vec::new(),
            };
            found.add(verdict, finding, held);
            continue;
        };
        let emitter = list.emitter;
        let emitter_id = graph.snapshot.node_id[emitter as usize];
        if verdict.is_leak() {
            found.explained_roots.push(list.holder);
        }
        let (function, location) = last
            .main_function(&list.listeners)
            .map_or((None, None), |(f, loc)| (Some(f), loc));
        let fname = function.map_or("(unknown)".to_string(), |f| last.function_name(f));
        let emitter_class = graph.class_name(emitter).to_string();
        let held = last.held(
            emitter,
            format!("{emitter_class} @{emitter_id} ('{}' event)", l.event),
        );
        let emitter_label = held.label(&emitter_class, format!("{emitter_class} @{emitter_id}"));
        let finding = Finding {
            kind: SuspectKind::Listener,
            class: fname.clone(),
            subject: format!("'{}' listeners ({fname}) on {emitter_label}", l.event),
            title: format!(
                "'{}' listeners ({fname}) on {emitter_label} keep piling up: {}",
                l.event,
                verdict.growth().trail(),
            ),
            hint: format!(
                "remove the listener when its work is done (emitter.off('{}', {fname}) or emitter.once), or register it once instead of per call",
                l.event
            ),
            clues: Clues::own(location, LocationBasis::Function),
            fix: Fix::RemoveListener,
            allocation_stacks: last.allocation_stacks(&list.listeners),
        };
        found.add(verdict, finding, held);
    }
}
