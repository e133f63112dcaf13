//! Listeners that pile up on one event of one emitter (EventEmitter `_events`, EventTarget).

use super::{find_sorted, series, Detected, Finding, Inputs, Verdict};
use crate::report::diff::SuspectKind;

/// Every listener list of the last snapshot (matched by emitter id and event) whose length
/// grows; each explains its list's storage.
pub(super) fn detect(inputs: Inputs<'_, '_>, found: &mut Detected) {
    let (last, th) = (inputs.last, inputs.th);
    let graph = last.graph;
    for l in &inputs.newest.listeners {
        let key = (l.emitter_id, l.event.as_str());
        let measured = series(
            inputs.digests,
            |d| find_sorted(&d.listeners, key, |x| (x.emitter_id, x.event.as_str())),
            |x| (x.count, x.retained_size),
        );
        let Some(verdict) = Verdict::of(measured, th.listener_growth, th) else {
            continue;
        };
        let Some(emitter) = last.node(l.emitter_id) else {
            continue;
        };
        let Some(list) = last
            .listener_lists
            .iter()
            .find(|x| x.emitter == emitter && x.event == l.event)
        else {
            continue;
        };
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
            format!("{emitter_class} @{} ('{}' event)", l.emitter_id, l.event),
        );
        let emitter_label =
            held.label(&emitter_class, format!("{emitter_class} @{}", l.emitter_id));
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
            location,
        };
        found.add(verdict, finding, held);
    }
}
