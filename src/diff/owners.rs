//! The app's objects that own what leaks: for live timers, the instance of a located class
//! (the app's or a package's) that started them — it holds the Timeout in a property
//! (`this.timer = setInterval(…)`), is the `this` of a bound callback
//! (`setInterval(this.poll.bind(this))`), or is the `this` an arrow callback captures — and the
//! method that would release them (`close`, `destroy`, `stop`, …) if its class has one.

use rustc_hash::FxHashMap;

use crate::graph::HeapGraph;

/// Method names that release what an object holds, in the order they are suggested.
const RELEASING: &[&str] = &[
    "close",
    "destroy",
    "dispose",
    "stop",
    "end",
    "disconnect",
    "unsubscribe",
    "cancel",
    "clear",
];

/// How many prototypes up a releasing method is looked for.
const PROTOTYPES: usize = 4;

/// The owner objects of a group of timers: one class of them, how many timers it owns, one
/// instance, and the releasing method of that class, if any.
#[derive(Debug, Clone)]
pub struct TimerOwners {
    pub class: u32,
    pub owned: usize,
    pub example: u32,
    pub release: Option<String>,
}

/// The objects that own `timers` — (Timeout/Immediate node, the function its callback calls,
/// through any binding) — when one located class owns at least half of them.
pub fn timer_owners(graph: &HeapGraph, timers: &[(u32, u32)]) -> Option<TimerOwners> {
    let s = &graph.snapshot;
    let et = s.layout.edge_types;
    let located = |n: u32| {
        s.node_type[n as usize] == s.layout.node_types.object
            && graph.classes.locations[graph.classes.class_of[n as usize] as usize].is_some()
            && !matches!(graph.class_name(n), "TimersList" | "Timeout" | "Immediate")
    };
    let edge_to = |n: u32, name: &str, internal: bool| {
        s.edges_named(n, name)
            .find(|&e| !internal || s.edge_type[e] == et.internal)
            .map(|e| s.edge_to[e])
    };
    let mut per_class: FxHashMap<u32, (usize, u32)> = FxHashMap::default();
    for &(timer, function) in timers {
        // The callback as set: a bound function when it is not `function` itself.
        let bound = edge_to(timer, "_onTimeout", false)
            .or_else(|| edge_to(timer, "_onImmediate", false))
            .filter(|&f| f != function);
        // A property of a located object that holds the timer.
        let by_property = graph
            .retainers_of(timer)
            .filter(|&slot| s.edge_type[graph.retainer_edge()[slot] as usize] == et.property)
            .map(|slot| graph.retainer_node(slot))
            .filter(|&o| located(o))
            .min();
        let by_this = bound
            .and_then(|b| edge_to(b, "bound_this", true))
            .or_else(|| {
                let context = edge_to(function, "context", true)?;
                edge_to(context, "this", false)
            })
            .filter(|&o| located(o));
        if let Some(owner) = by_property.or(by_this) {
            let class = graph.classes.class_of[owner as usize];
            let entry = per_class.entry(class).or_insert((0, owner));
            entry.0 += 1;
            entry.1 = entry.1.min(owner);
        }
    }
    let (&class, &(owned, example)) = per_class
        .iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(a.0)))?;
    if owned * 2 < timers.len() {
        return None;
    }
    Some(TimerOwners {
        class,
        owned,
        example,
        release: releasing_method(graph, example),
    })
}

/// The first of [`RELEASING`] that `object` has as a method on its prototype chain.
fn releasing_method(graph: &HeapGraph, object: u32) -> Option<String> {
    let s = &graph.snapshot;
    let et = s.layout.edge_types;
    let mut found: Vec<&str> = Vec::new();
    let mut at = object;
    for _ in 0..PROTOTYPES {
        let Some(proto) = s
            .edges_named(at, "__proto__")
            .find(|&e| s.edge_type[e] == et.property)
            .map(|e| s.edge_to[e])
        else {
            break;
        };
        for e in s.edges_of(proto) {
            if s.edge_type[e] != et.property
                || s.node_type[s.edge_to[e] as usize] != s.layout.node_types.closure
            {
                continue;
            }
            let name = s.edge_name_str(e);
            if let Some(&m) = RELEASING.iter().find(|&&m| m == name) {
                found.push(m);
            }
        }
        at = proto;
    }
    RELEASING
        .iter()
        .find(|m| found.contains(m))
        .map(|m| m.to_string())
}
