//! The fix that fits what accumulates and who holds it, when something more specific than the
//! container's generic hint ("evict old entries", "cap it") is known. The rules, in order (the
//! first that matches wins; `docs/diff-json.md`, "The fixes", says the same for users):
//!
//! 0. **hold-id-only** — a FinalizationRegistry holds what accumulates: its held values, which
//!    it keeps strongly until their targets are collected (a held value that references its
//!    target keeps it forever): hold only what the cleanup needs.
//!    Then entries that are WeakRefs (**evict**, the dead ones): the targets go, the cells
//!    stay; and an AsyncLocalStorage's store that every request sees (**per-request**): what
//!    accumulates in it was meant to live for one request.
//! 1. **create-once** — the entries are instances of a class of the package that holds them
//!    (prom-client's registry keeping every `Counter` made per call): make it once and reuse it.
//! 2. **bound-label-values** — the holder is a metrics package's instance (prom-client's
//!    `hashMap` of label sets): label with bounded values.
//! 3. **register-once** — a package's instance holds entries that are, or hold, the app's own
//!    functions (an axios interceptor added per request): register once; the app's function is
//!    named, at its line.
//! 4. **per-request** — the holder is an instance of a class meant to live for one request
//!    (a DataLoader made at startup): make one per request.
//! 5. **key-by-value** — a Map whose keys are objects that nothing else holds (a memoised
//!    function called with a fresh object each time): key by value.
//!
//! A collection whose entries are views of larger memory is decided before these
//! ([`crate::diff::views`]); nothing matching, the detector's generic hint stands.

use rustc_hash::FxHashMap;

use super::Last;
use crate::diff::holder::{Holder, HolderKey, Reference};
use crate::report::diff::Fix;
use crate::report::SourceLocation;

/// Packages whose instances hold metrics keyed by label values.
const METRICS_PACKAGES: &[&str] = &[
    "prom-client",
    "@opentelemetry/sdk-metrics",
    "hot-shots",
    "node-statsd",
    "statsd-client",
    "@promster/metrics",
];

/// Classes made to live for one request, by package, with how to end or avoid the cache.
const PER_REQUEST_CLASSES: &[(&str, &str, &str)] = &[(
    "dataloader",
    "DataLoader",
    "its documented use is one per request; for a long-lived one pass `{ cache: false }` or call `clearAll()`",
)];

/// How many entries are looked at for the facts below.
const LOOKED_AT: usize = 500;

/// A specific fix: which, its hint, and the app's code it points at when it knows better than
/// the location (the function registered per call).
pub(super) struct SpecificFix {
    pub fix: Fix,
    pub hint: String,
    pub app_location: Option<SourceLocation>,
}

/// What the rules read: the entries (values) that accumulate, the node that holds them (a
/// collection, or the holder of a class's objects), what holds that node, a label for it,
/// and — for a Map — its node.
pub(super) struct Accumulation<'a> {
    pub entries: &'a [u32],
    pub holder: u32,
    pub held_in: Option<&'a HolderKey>,
    pub label: &'a str,
    pub map: Option<u32>,
}

/// The first rule that matches `acc` (see the module's documentation).
pub(super) fn specific_fix(last: &Last<'_>, acc: &Accumulation<'_>) -> Option<SpecificFix> {
    let sample = &acc.entries[..acc.entries.len().min(LOOKED_AT)];
    let label = acc.label;
    // 0. A FinalizationRegistry's held values.
    if last.graph.class_name(acc.holder) == "FinalizationRegistry" {
        let registry = acc
            .held_in
            .and_then(|key| match &key.steps.first()?.reference {
                Reference::Variable(name) | Reference::Property(name) => {
                    Some(format!("FinalizationRegistry `{name}`"))
                }
                Reference::Element | Reference::Store => None,
            })
            .unwrap_or_else(|| "the FinalizationRegistry".to_string());
        return Some(SpecificFix {
            fix: Fix::HoldIdOnly,
            hint: format!(
                "{registry} keeps each held value passed to `register()` until its target is collected, and these held values ({label}) keep their targets alive, so none ever is: pass only what the cleanup needs (an id, a handle), never the target or an object holding it"
            ),
            app_location: None,
        });
    }
    // 0a. WeakRefs whose entries outlive their targets.
    if let Some((class, _)) = last.main_class(sample) {
        if class == "WeakRef" {
            return Some(SpecificFix {
                fix: Fix::Evict,
                hint: format!(
                    "the entries of {label} are WeakRefs: their targets can be collected, but each WeakRef and its key stay in {label} for good: delete an entry once `deref()` returns undefined (from a FinalizationRegistry callback registered with its key, or when it is looked up), or bound {label}"
                ),
                app_location: None,
            });
        }
    }
    // 0b. An AsyncLocalStorage store shared by every request.
    if let Some(steps) = acc.held_in.map(|key| &key.steps) {
        if let Some(at) = steps.iter().position(|s| s.reference == Reference::Store) {
            let storage = match steps.get(at + 1).map(|s| &s.reference) {
                Some(Reference::Variable(name) | Reference::Property(name)) => {
                    format!("AsyncLocalStorage `{name}`")
                }
                _ => "an AsyncLocalStorage".to_string(),
            };
            return Some(SpecificFix {
                fix: Fix::PerRequest,
                hint: format!(
                    "{label} is kept in the store of {storage}, and that one store is seen by every request (it was given to `run()` or `enterWith()` around long-lived work, such as starting the server): give each request its own store (`run(newStore, handler)` per request), or keep per-request data out of a shared store"
                ),
                app_location: None,
            });
        }
    }
    let holder = package_instance(last, acc.holder, acc.held_in);
    // 1. Entries that are the holding package's own objects.
    if let (Some((holder_class, package)), Some((class, Some(at)))) =
        (&holder, last.main_class(sample))
    {
        if at.package().as_deref() == Some(package.as_str()) {
            return Some(SpecificFix {
                fix: Fix::CreateOnce,
                hint: format!(
                    "{package} keeps every `{class}` made, in {label} of its `{holder_class}`, and one is made per call: make it once (at startup) and reuse it, or remove it from {package} when its work is done"
                ),
                app_location: None,
            });
        }
    }
    if let Some((holder_class, package)) = &holder {
        // 2. A metrics library's label sets.
        if METRICS_PACKAGES.contains(&package.as_str()) {
            return Some(SpecificFix {
                fix: Fix::BoundLabelValues,
                hint: format!(
                    "{label} of {package}'s `{holder_class}` keeps one entry per distinct set of label values, and new values keep coming: label with values from a small fixed set (a route like `/users/:id`, a status class), never an id, a raw URL or a user input"
                ),
                app_location: None,
            });
        }
        // 3. The app's functions registered into a package, per call.
        if let Some((function, at)) = app_function(last, sample) {
            let name = last.function_name(function);
            let at_text = at.as_ref().map(|a| format!(" ({a})")).unwrap_or_default();
            return Some(SpecificFix {
                fix: Fix::RegisterOnce,
                hint: format!(
                    "each call registers `{name}`{at_text} into {package}'s `{holder_class}` again, and it keeps them all: register it once at startup, or remove it when its work is done (the id or handle the registration returns)"
                ),
                app_location: at,
            });
        }
        // 4. A per-request cache living as long as the process.
        if let Some((_, class, how)) = PER_REQUEST_CLASSES
            .iter()
            .find(|(p, c, _)| p == package && c == holder_class)
        {
            return Some(SpecificFix {
                fix: Fix::PerRequest,
                hint: format!(
                    "this `{class}` ({package}) caches every key it is asked for as long as it lives, and it lives as long as the process: make one per request ({how})"
                ),
                app_location: None,
            });
        }
    }
    // 5. A Map keyed by fresh objects.
    if let Some(map) = acc.map {
        if fresh_object_keys(last, map) {
            return Some(SpecificFix {
                fix: Fix::KeyByValue,
                hint: format!(
                    "{label} is keyed by objects made afresh for each call (nothing else holds them), so no lookup ever finds an old entry and every entry stays: key it by value (a string of the fields that matter; for a memoised function, a resolver) or use a WeakMap"
                ),
                app_location: None,
            });
        }
    }
    None
}

/// The nearest package instance that holds the accumulation: the holder itself, or an
/// instance along `held_in`, as (class, package).
fn package_instance(
    last: &Last<'_>,
    holder: u32,
    held_in: Option<&HolderKey>,
) -> Option<(String, String)> {
    let graph = last.graph;
    let own = graph.classes.locations[graph.classes.class_of[holder as usize] as usize]
        .map(|l| last.shapes.scripts.location(l.script_id, l.line, l.column))
        .and_then(|at| at.package())
        .map(|package| (graph.class_name(holder).to_string(), package));
    own.or_else(|| {
        held_in?.steps.iter().find_map(|step| match &step.holder {
            Holder::Instance { class, at } => at.package().map(|p| (class.clone(), p)),
            _ => None,
        })
    })
}

/// The app's function that most of `entries` are, or hold in a property (unbound), with its
/// location, when at least half of them do.
fn app_function(last: &Last<'_>, entries: &[u32]) -> Option<(u32, Option<SourceLocation>)> {
    let s = &last.graph.snapshot;
    let closure = s.layout.node_types.closure;
    let property = s.layout.edge_types.property;
    let app = |f: u32| {
        let f = last.shapes.unbound(f);
        last.shapes
            .location_of(f)
            .filter(|l| super::place::is_file(&l.file) && l.package().is_none())
            .map(|l| (f, l))
    };
    let mut per_location: FxHashMap<String, (usize, u32, SourceLocation)> = FxHashMap::default();
    for &entry in entries {
        let found = if s.node_type[entry as usize] == closure {
            app(entry)
        } else {
            s.edges_of(entry)
                .filter(|&e| s.edge_type[e] == property)
                .map(|e| s.edge_to[e])
                .filter(|&t| s.node_type[t as usize] == closure)
                .find_map(app)
        };
        if let Some((f, at)) = found {
            let slot = per_location.entry(at.to_string()).or_insert((0, f, at));
            slot.0 += 1;
            slot.1 = slot.1.min(f);
        }
    }
    let (_, (count, f, at)) = per_location
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(&a.0)))?;
    (count * 2 >= entries.len()).then_some((f, Some(at)))
}

/// Whether most keys of `map` are objects that only the map holds.
fn fresh_object_keys(last: &Last<'_>, map: u32) -> bool {
    let graph = last.graph;
    let s = &graph.snapshot;
    let weak = s.layout.edge_types.weak;
    let pairs = last.shapes.map_pairs(map);
    let keys: Vec<u32> = pairs
        .iter()
        .filter_map(|&(key, _)| key)
        .take(LOOKED_AT)
        .collect();
    if keys.is_empty() {
        return false;
    }
    let fresh = keys
        .iter()
        .filter(|&&k| {
            s.node_type[k as usize] == s.layout.node_types.object
                && graph
                    .retainers_of(k)
                    .filter(|&slot| s.edge_type[graph.retainer_edge()[slot] as usize] != weak)
                    .count()
                    == 1
        })
        .count();
    fresh * 2 >= keys.len()
}
