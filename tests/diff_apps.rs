//! `heapscan diff` on real Node.js processes: small HTTP servers in `tests/apps/` that leak in
//! each way heapscan names (or do not leak at all) are driven with requests on 127.0.0.1 and
//! snapshotted three times with `--heapsnapshot-signal`; the diff must name the leak's kind,
//! class, owner and source line, and find nothing in the apps that do not leak.

mod support;

use assert_cmd::Command;
use heapscan::report::diff::{Judgement, Suspect, SuspectKind, Unjudgeable};
use support::report::{
    assert_clean, assert_location, diff, line_of, only_suspect, run_app, REQUESTS,
};

fn assert_steady(s: &Suspect) {
    assert_eq!(s.counts.len(), 3);
    assert!(
        s.counts[0] < s.counts[1] && s.counts[1] < s.counts[2],
        "{:?}",
        s.counts
    );
    assert!(s.retained_sizes[2] > s.retained_sizes[0]);
    assert!(
        s.growth_per_snapshot >= (REQUESTS / 2) as f64,
        "{}",
        s.growth_per_snapshot
    );
    assert!(s.score > 0.0);
    assert!(!s.path.is_empty(), "a path to the owner");
    assert_eq!(
        s.path.last().map(|p| p.node.id),
        Some(s.owner.id),
        "the path ends at the owner"
    );
    assert!(!s.hint.is_empty());
    // A cut path says where it was cut: after its first 10 steps, 25 kept after the cut.
    if s.path_elided > 0 {
        assert_eq!((s.path_elided_after, s.path.len()), (10, 35), "{s:?}");
    } else {
        assert_eq!(s.path_elided_after, 0);
    }
}

#[test]
fn listener_leak_on_an_event_emitter() {
    let (report, code) = run_app("leak-listener.js", &["emitter"], 20);
    assert_eq!(code, 1, "--fail-on-leak exits 1");
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Listener);
    assert_eq!(s.class, "onData");
    assert_eq!(s.owner.class, "EventEmitter");
    assert_eq!(s.owner.via, "bus");
    assert!(s.title.contains("'data'"), "{}", s.title);
    assert!(s.hint.contains("off('data', onData)"), "{}", s.hint);
    assert_location(
        s,
        "leak-listener.js",
        line_of("leak-listener.js", "heapscan-expect: listener emitter"),
    );
    assert_steady(s);
}

#[test]
fn listener_leak_on_process() {
    let (report, _) = run_app("leak-listener.js", &["process"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Listener);
    assert_eq!(s.class, "onExit");
    assert_eq!(s.owner.class, "process");
    assert!(s.title.contains("'exit'"), "{}", s.title);
    assert_location(
        s,
        "leak-listener.js",
        line_of("leak-listener.js", "heapscan-expect: listener process"),
    );
    assert_steady(s);
}

#[test]
fn listener_leak_on_an_event_target() {
    let (report, _) = run_app("leak-listener.js", &["target"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Listener);
    assert_eq!(s.class, "onHubData");
    assert_eq!(s.owner.class, "EventTarget");
    assert_eq!(s.owner.via, "hub");
    assert_location(
        s,
        "leak-listener.js",
        line_of("leak-listener.js", "heapscan-expect: listener target"),
    );
    assert_steady(s);
}

#[test]
fn timer_leak() {
    let (report, _) = run_app("leak-timer.js", &[], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Timer);
    assert_eq!(s.class, "Timeout");
    assert!(s.title.contains("pollJob"), "{}", s.title);
    assert!(s.hint.contains("clearInterval"), "{}", s.hint);
    // Nothing of the app's holds them: Node's list of 60 s timers does, said as such.
    assert!(
        s.owner
            .description
            .starts_with("nothing of the app's: only Node's list of 60000 ms timers (TimersList @"),
        "{}",
        s.owner.description
    );
    assert_location(
        s,
        "leak-timer.js",
        line_of("leak-timer.js", "heapscan-expect: timer"),
    );
    assert_steady(s);
}

#[test]
fn timer_and_listener_leaks_through_bound_methods_name_the_method() {
    // `setInterval(this.poll.bind(this))`: the callback is a bound function (V8 names it
    // `native_bind`); the suspect names its target, Poller#poll, at its line.
    let (report, _) = run_app("leak-timer.js", &["bound"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Timer);
    assert!(
        s.title.contains("calling poll") && !s.title.contains("native_bind"),
        "{}",
        s.title
    );
    assert_location(
        s,
        "leak-timer.js",
        line_of("leak-timer.js", "heapscan-expect: bound timer"),
    );
    assert_steady(s);

    let (report, _) = run_app("leak-listener.js", &["bound"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Listener);
    assert_eq!(s.class, "onMessage");
    assert_eq!(s.owner.via, "bus");
    assert_location(
        s,
        "leak-listener.js",
        line_of("leak-listener.js", "heapscan-expect: bound listener"),
    );
    assert_steady(s);
}

#[test]
fn collection_leaks_map_object_and_array() {
    // The entries are made by makeEntry(); that is the line the report points at.
    let entry_line = line_of("leak-cache.js", "function makeEntry(");
    for (mode, owner_class, via) in [
        ("map", "Map", "sessionCache"),
        ("object", "Object", "sessionsById"),
        ("array", "Array", "auditLog"),
    ] {
        let (report, code) = run_app("leak-cache.js", &[mode], 20);
        assert_eq!(code, 1);
        let s = only_suspect(&report);
        assert_eq!(s.kind, SuspectKind::Collection, "{mode}");
        assert_eq!(s.owner.class, owner_class, "{mode}");
        assert_eq!(s.owner.via, via, "{mode}");
        assert_eq!(
            s.path.last().map(|p| p.edge_type.as_str()),
            Some("context"),
            "{mode}: a variable"
        );
        assert!(
            s.class.contains("url") && s.class.contains("data"),
            "{mode}: entries are {}",
            s.class
        );
        assert!(
            s.hint.contains("bound") || s.hint.contains("cap it"),
            "{}",
            s.hint
        );
        // Object literals have no location of their own: the report must find makeEntry
        // through V8's allocation sites, the same on every run (not a function picked by heap
        // layout among those sharing the module's context).
        assert_location(s, "leak-cache.js", entry_line);
        assert_steady(s);
        // Where to look: the module's variable.
        let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
        assert!(
            held_in.ends_with(&format!(
                "tests/apps/leak-cache.js (module scope) → {via} → {owner_class}"
            )),
            "{mode}: {held_in}"
        );
    }
    // A cache on the global object is held in `globalThis`.
    let (report, _) = run_app("leak-cache.js", &["global"], 20);
    let s = only_suspect(&report);
    assert_eq!(
        (s.owner.class.as_str(), s.owner.via.as_str()),
        ("Map", "requestCache")
    );
    assert_eq!(
        s.held_in.as_ref().map(|k| k.from_the_outside()).as_deref(),
        Some("globalThis → .requestCache → Map")
    );
    assert_location(s, "leak-cache.js", entry_line);
}

#[test]
fn closure_chain_leak() {
    let (report, _) = run_app("leak-closure.js", &[], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Closure);
    assert_eq!(s.owner.via, "last");
    assert!(s.title.contains("`prev`"), "{}", s.title);
    assert_location(
        s,
        "leak-closure.js",
        line_of("leak-closure.js", "heapscan-expect: closure"),
    );
    assert_steady(s);
}

#[test]
fn class_leak() {
    let (report, _) = run_app("leak-class.js", &["list"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Class);
    assert_eq!(s.class, "RequestRecord");
    assert_eq!(s.owner.class, "RequestRecord");
    assert_eq!(s.owner.via, "newestRecord");
    assert_location(
        s,
        "leak-class.js",
        line_of("leak-class.js", "heapscan-expect: class"),
    );
    assert_steady(s);
    // The class table has DevTools' comparison columns for it.
    let row = report
        .classes
        .iter()
        .find(|c| c.class == "RequestRecord")
        .expect("class row");
    assert_eq!(row.delta, row.counts[2] as i64 - row.counts[0] as i64);
    assert!(
        row.new >= 2 * REQUESTS as u64 - 5,
        "new objects by id: {}",
        row.new
    );
    assert_eq!(row.deleted, 0);
    assert!(
        row.survivors.unwrap_or(0) >= REQUESTS as u64 - 5,
        "{:?}",
        row.survivors
    );
}

#[test]
fn apps_that_do_not_leak_have_no_suspects() {
    for (app, args) in [
        ("ok-lru.js", &[][..]),
        ("ok-listeners.js", &[]),
        ("ok-timers.js", &[]),
        ("ok-plateau.js", &[]),
        ("ok-garbage.js", &[]),
    ] {
        assert_clean(app, args, 20);
    }
}

#[test]
fn listener_leak_on_node_16() {
    let (report, _) = run_app("leak-listener.js", &["emitter"], 16);
    let s = only_suspect(&report);
    assert_eq!(
        (s.kind.name(), s.class.as_str(), s.owner.via.as_str()),
        ("listener", "onData", "bus")
    );
    assert_location(
        s,
        "leak-listener.js",
        line_of("leak-listener.js", "heapscan-expect: listener emitter"),
    );
}

#[test]
fn cache_and_timer_leaks_on_node_24() {
    let (report, _) = run_app("leak-cache.js", &["map"], 24);
    let s = only_suspect(&report);
    assert_eq!(
        (s.kind.name(), s.owner.via.as_str()),
        ("collection", "sessionCache")
    );
    assert_location(
        s,
        "leak-cache.js",
        line_of("leak-cache.js", "function makeEntry("),
    );
    let (report, _) = run_app("leak-timer.js", &[], 24);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Timer);
    assert_location(
        s,
        "leak-timer.js",
        line_of("leak-timer.js", "heapscan-expect: timer"),
    );
}

#[test]
fn snapshots_of_different_processes_are_compared_by_class_totals() {
    let node = support::node_binary(Some(20));
    let a = support::capture("leak-cache.js", &["map"], &node, 1, REQUESTS);
    let b = support::capture("ok-lru.js", &[], &node, 1, REQUESTS);
    let (report, code) = diff(&[a.snapshots[0].clone(), b.snapshots[0].clone()], &[]);
    assert!(!report.same_process, "{}", report.same_process_reason);
    assert_eq!(code, 2, "--fail-on-leak cannot judge two processes");
    assert!(matches!(
        report.judgement,
        Judgement::CannotJudge {
            problem: Unjudgeable::NotOneProcess,
            ..
        }
    ));
    assert!(report
        .suspects
        .iter()
        .all(|s| s.kind != SuspectKind::Collection && s.kind != SuspectKind::Listener));
    assert!(report.classes.iter().all(|c| c.new == 0 && c.deleted == 0));
}

#[test]
fn collection_leak_location_on_node_16() {
    // Node 16 keeps the literal's AllocationSite at another slot of the FeedbackVector
    // (hidden:3, not hidden:4); the entries must still be traced to makeEntry.
    let entry_line = line_of("leak-cache.js", "function makeEntry(");
    for (mode, via) in [("object", "sessionsById"), ("map", "sessionCache")] {
        let (report, _) = run_app("leak-cache.js", &[mode], 16);
        let s = only_suspect(&report);
        assert_eq!(
            (s.kind.name(), s.owner.via.as_str()),
            ("collection", via),
            "{mode}"
        );
        assert_location(s, "leak-cache.js", entry_line);
    }
}

#[test]
fn deleted_entries_are_not_counted_on_node_24() {
    // Node 24 writes the slots of deleted Map entries as edges to `system / Hole`. The LRU
    // holds 200 entries; counting holes made it look like it grew (e.g. 204 → 292 → 380) and,
    // with low thresholds, a collection suspect. Holes are not entries.
    let node = support::node_binary(Some(24));
    let cap = support::capture("ok-lru.js", &[], &node, 3, REQUESTS);
    let (report, _) = diff(
        &cap.snapshots,
        &["--min-entry-growth", "1", "--min-retained-growth", "0"],
    );
    assert!(report.same_process, "{}", report.same_process_reason);
    let lru: Vec<_> = report
        .suspects
        .iter()
        .filter(|s| s.owner.via == "lruCache")
        .map(|s| (&s.title, &s.counts))
        .collect();
    assert!(lru.is_empty(), "the bounded LRU is not a leak: {lru:#?}");
    // And with the default thresholds, nothing at all.
    let (report, code) = diff(&cap.snapshots, &[]);
    assert!(report.suspects.is_empty(), "{:#?}", report.suspects);
    assert_eq!(code, 0);
}

#[test]
fn es_module_locations_on_node_16() {
    let node = support::node_binary(Some(16));
    // A server written as an ES module: its script is named by file:// URL.
    let cap = support::capture("leak-esm.mjs", &[], &node, 3, REQUESTS);
    let (report, _) = diff(&cap.snapshots, &[]);
    assert!(report.same_process, "{}", report.same_process_reason);
    let s = only_suspect(&report);
    assert_eq!(
        (s.kind.name(), s.class.as_str(), s.owner.via.as_str()),
        ("listener", "onModuleData", "moduleBus")
    );
    assert!(
        s.location
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            .is_some_and(|l| l.starts_with("file://")),
        "{:?}",
        s.location
    );
    assert_location(
        s,
        "leak-esm.mjs",
        line_of("leak-esm.mjs", "heapscan-expect: listener esm"),
    );

    // Snapshots taken while the module is being loaded: Node 16 writes the Script's `name`
    // edge to a `(concatenated string)` node; the file name must come from the Script itself.
    let dir = tempfile::tempdir().expect("temporary directory");
    let apps = support::repo_root().join("tests").join("apps");
    let status = std::process::Command::new(&node)
        .arg("esm-early.mjs")
        .arg(dir.path())
        .current_dir(&apps)
        .env_remove("NODE_OPTIONS")
        .status()
        .expect("run node");
    assert!(status.success(), "esm-early.mjs failed: {status}");
    let snapshots: Vec<_> = (1..=3)
        .map(|i| dir.path().join(format!("early-{i}.heapsnapshot")))
        .collect();
    let (report, _) = diff(&snapshots, &[]);
    assert!(report.same_process, "{}", report.same_process_reason);
    let s = only_suspect(&report);
    assert_eq!(s.class, "EsmRecord");
    let location = s
        .location
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        !location.contains("concatenated string"),
        "location {location}"
    );
    assert_location(
        s,
        "esm-early.mjs",
        line_of("esm-early.mjs", "heapscan-expect: class esm"),
    );
    let row = report
        .classes
        .iter()
        .find(|c| c.class == "EsmRecord")
        .expect("EsmRecord row");
    assert!(
        row.location
            .as_ref()
            .map(ToString::to_string)
            .as_deref()
            .is_some_and(|l| l.contains("tests/apps/esm-early.mjs")),
        "{:?}",
        row.location
    );
}

#[test]
fn snapshots_of_two_runs_of_one_app_are_compared_by_structure() {
    // Two runs of leak-class.js: RequestRecord grows 300 → 500 → 700 across the three
    // snapshots (run A after its warm-up, run B after 200 and 400 more requests). The first
    // comes from another process, so nothing is matched by id; the app's own class is still
    // compared by name and constructor location, and its growth is the leak it is.
    let node = support::node_binary(Some(20));
    let a = support::capture("leak-class.js", &["list"], &node, 1, 0);
    let b = support::capture("leak-class.js", &["list"], &node, 2, REQUESTS);
    let snapshots = [
        a.snapshots[0].clone(),
        b.snapshots[0].clone(),
        b.snapshots[1].clone(),
    ];
    let (report, code) = diff(&snapshots, &[]);
    assert!(!report.same_process, "{}", report.same_process_reason);
    assert_eq!(
        report.matched_by,
        heapscan::report::diff::Matching::Structure
    );
    let titles: Vec<&String> = report.suspects.iter().map(|s| &s.title).collect();
    assert_eq!(
        titles,
        ["RequestRecord objects accumulate: 300 → 500 → 700"],
        "one suspect, the class"
    );
    assert_location(
        &report.suspects[0],
        "leak-class.js",
        line_of("leak-class.js", "heapscan-expect: class"),
    );
    assert_eq!(code, 1, "--fail-on-leak");
    let row = report
        .classes
        .iter()
        .find(|c| c.class == "RequestRecord")
        .expect("the class comparison keeps RequestRecord");
    assert!(
        row.counts[0] < row.counts[1] && row.counts[1] < row.counts[2],
        "{:?}",
        row.counts
    );
    assert_eq!((row.new, row.deleted, row.survivors), (0, 0, None));

    // The table says why.
    let out = Command::cargo_bin("heapscan")
        .expect("binary")
        .arg("diff")
        .args(&snapshots)
        .output()
        .expect("run heapscan");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("not one process") && text.contains("RequestRecord"),
        "{text}"
    );
}

/// With allocation tracking on (`node --track-heap-objects`), a suspect shows the stacks that
/// allocated what accumulates, down to the app's own lines; without it, none.
#[test]
fn allocation_stacks_when_the_process_tracked_allocations() {
    let entry_line = line_of("leak-cache.js", "function makeEntry(");
    for major in [16, 20, 24] {
        let node = support::node_binary(Some(major));
        let mut opts = support::CaptureOptions::new(3, REQUESTS);
        opts.node_flags = vec!["--track-heap-objects".to_string()];
        let cap = support::capture_with("leak-cache.js", &["map"], &node, &opts);
        let (report, code) = diff(&cap.snapshots, &[]);
        assert_eq!(code, 1, "Node {major}");
        let s = only_suspect(&report);
        assert_eq!(s.owner.via, "sessionCache", "Node {major}");
        let stack = s
            .allocation_stacks
            .first()
            .unwrap_or_else(|| panic!("Node {major}: no allocation stack: {s:#?}"));
        assert!(
            stack.count >= s.counts[2] / 2 && stack.count <= s.counts[2],
            "Node {major}: {} of {} entries",
            stack.count,
            s.counts[2]
        );
        let top = &stack.frames[0];
        assert_eq!(top.function, "makeEntry", "Node {major}: {stack:#?}");
        assert!(top.app, "Node {major}");
        let at = top.location.as_ref().expect("the allocating line");
        assert!(
            at.file.ends_with("tests/apps/leak-cache.js") && at.line == entry_line,
            "Node {major}: {at}"
        );
        let callers: Vec<&str> = stack.frames.iter().map(|f| f.function.as_str()).collect();
        assert!(
            callers.starts_with(&["makeEntry", "remember", "handle"]),
            "Node {major}: {callers:?}"
        );
        let table = Command::cargo_bin("heapscan")
            .expect("binary")
            .arg("diff")
            .args(&cap.snapshots)
            .output()
            .expect("run heapscan");
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("   allocated: ") && table.contains(" × makeEntry "),
            "{table}"
        );
    }
    // Untracked snapshots have no stacks.
    let (report, _) = run_app("leak-cache.js", &["map"], 20);
    assert!(only_suspect(&report).allocation_stacks.is_empty());
}

/// The `replaceThing` leak: each new object's method shares its scope with a function that
/// uses the previous object, so the chain runs closure → context → object → closure. It is a
/// closure chain (not a growing plain-object class), named by the captured variable and the
/// property that holds the previous closure.
#[test]
fn closure_chain_through_objects_names_the_captured_variable() {
    let (report, code) = run_app("leak-closure.js", &["object"], 20);
    assert_eq!(code, 1);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Closure, "{}", s.title);
    assert_eq!(s.class, "Function someMethod");
    assert!(
        s.title.contains("`originalThing`") && s.title.contains("`.someMethod`"),
        "{}",
        s.title
    );
    assert!(s.hint.contains("`originalThing = null`"), "{}", s.hint);
    assert!(s.hint.contains("one context per scope"), "{}", s.hint);
    assert_eq!(s.owner.via, "someMethod");
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(held_in.contains("(module scope) → theThing"), "{held_in}");
    assert_location(
        s,
        "leak-closure.js",
        line_of("leak-closure.js", "heapscan-expect: object chain"),
    );
    assert_steady(s);
}
