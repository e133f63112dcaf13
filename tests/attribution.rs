//! Where to act, on real Node.js processes: each suspect names the fix that fits what grows and
//! who holds it, a location a person can open (or says why there is none), and an owner with a
//! name. Apps in `tests/apps/` leak through Node core (sliced strings, Buffer views, objects
//! that own timers); their clean twins get no suspect.

mod support;

use heapscan::report::diff::{Fix, LocationBasis, Suspect, SuspectKind};
use support::report::{
    assert_clean, assert_location, line_of, only_suspect, run_app, run_tracked, REQUESTS,
};

/// Captures `app args` on Node `major` and diffs it: exactly one suspect, of `kind`, whose
/// hint names `fix`, and `--fail-on-leak` fails.
fn leak(app: &str, args: &[&str], major: u32, kind: SuspectKind, fix: Fix) -> Suspect {
    let (report, code) = run_app(app, args, major);
    assert_eq!(code, 1, "{app} {args:?} on Node {major}");
    let s = only_suspect(&report).clone();
    assert_eq!(
        (s.kind, s.fix),
        (kind, fix),
        "{app} {args:?} on Node {major}: {}",
        s.hint
    );
    s
}

/// Sliced strings kept in a Map: each 40-character piece keeps its 16 KB parent. The fix is to
/// copy the pieces; without allocation tracking the location is a function of the module that
/// holds the Map, and says so; with it, the function that slices.
#[test]
fn sliced_strings_keeping_their_parents_are_copied_out() {
    let s = &leak(
        "leak-view.js",
        &["string"],
        20,
        SuspectKind::Collection,
        Fix::CopyOut,
    );
    assert_eq!(s.owner.via, "recentPrefixes");
    assert_eq!(s.class, "(sliced string)");
    assert!(
        s.hint
            .contains("slices (`slice`, `substring`) of larger strings"),
        "{}",
        s.hint
    );
    assert!(s.hint.contains("16.4 kB per entry"), "{}", s.hint);
    assert_eq!(s.location_basis, LocationBasis::HoldingScope);
    let at = s
        .location
        .as_ref()
        .expect("a function of the holding scope");
    assert!(at.file.ends_with("tests/apps/leak-view.js"), "{at}");

    // Tracked allocations (Node 16): the function that made the slices.
    let (report, code) = run_tracked("leak-view.js", &["string"], 16);
    assert_eq!(code, 1);
    let s = only_suspect(&report);
    assert_eq!(s.fix, Fix::CopyOut);
    assert_eq!(s.location_basis, LocationBasis::AllocationStack);
    assert_location(
        s,
        "leak-view.js",
        line_of("leak-view.js", "heapscan-expect: view string"),
    );
}

/// Buffer views (`subarray`) sharing their 16 KB ArrayBuffers, kept in an array: copy them.
/// On Node 24; with allocation tracking on Node 20 the stack shows `subarray` and the location
/// is the app's function that calls it, not `node:buffer`.
#[test]
fn buffer_views_keeping_their_parents_are_copied_out() {
    let s = &leak(
        "leak-view.js",
        &["buffer"],
        24,
        SuspectKind::Collection,
        Fix::CopyOut,
    );
    assert_eq!(s.owner.via, "recentFields");
    assert!(s.hint.contains("`Buffer.from(view)`"), "{}", s.hint);
    let at = s.location.as_ref().expect("a location");
    assert!(!at.file.starts_with("node:"), "a Node internal alone: {at}");

    let (report, _) = run_tracked("leak-view.js", &["buffer"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.fix, Fix::CopyOut);
    assert_eq!(s.location_basis, LocationBasis::AllocationStack);
    assert_location(
        s,
        "leak-view.js",
        line_of("leak-view.js", "heapscan-expect: view buffer"),
    );
    assert!(
        s.allocation_stacks[0]
            .frames
            .iter()
            .any(|f| f.function == "subarray"),
        "{:#?}",
        s.allocation_stacks
    );
}

/// The twins keep bounded copies: nothing to report.
#[test]
fn copied_pieces_are_no_leak() {
    for mode in ["string-copy", "buffer-copy"] {
        assert_clean("leak-view.js", &[mode], 20);
    }
}

/// Objects that start a timer and are never closed: the owner is the app's class (not Node's
/// timer list) and the fix is to call its `close()`. Node 20 and 16; closing them is no leak.
#[test]
fn objects_that_own_timers_and_are_never_closed() {
    for major in [20, 16] {
        let s = &leak(
            "leak-timer.js",
            &["owner"],
            major,
            SuspectKind::Timer,
            Fix::CloseOwner,
        );
        assert!(
            s.title.contains("timers started by `Subscription` objects"),
            "Node {major}: {}",
            s.title
        );
        let constructor = line_of("leak-timer.js", "heapscan-expect: owner timer");
        assert!(
            s.owner.description.starts_with("`Subscription` objects (")
                && s.owner
                    .description
                    .contains(&format!("tests/apps/leak-timer.js:{constructor}:")),
            "Node {major}: {}",
            s.owner.description
        );
        assert!(
            s.hint.contains("call its `close()`"),
            "Node {major}: {}",
            s.hint
        );
        assert!(
            s.held_in.is_none(),
            "Node's timer list is no place in the code"
        );
        // Where the timer is started: the callback passed to setInterval in the constructor.
        assert_location(s, "leak-timer.js", constructor + 2);
    }
    assert_clean("leak-timer.js", &["owner-closed"], 20);

    // A bound method of an object with no releasing method: add one.
    let (report, _) = run_app("leak-timer.js", &["bound"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.fix, Fix::CloseOwner);
    assert!(s.hint.contains("give `Poller` a `close()`"), "{}", s.hint);
}

/// prom-client: a Counter labelled with raw paths keeps a label set per request (bound the
/// label values); a Counter made per request stays in the registry (create it once, and with
/// allocation tracking the app's line that makes them).
#[test]
fn prom_client_label_sets_and_counters_made_per_call() {
    let app = "packages/leak-metrics.js";
    let s = &leak(
        app,
        &["labels"],
        20,
        SuspectKind::Collection,
        Fix::BoundLabelValues,
    );
    assert_eq!(s.owner.via, "hashMap");
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(
        held_in
            .ends_with("leak-metrics.js (module scope) → requests (Counter) → .hashMap → Object"),
        "{held_in}"
    );
    assert_eq!(s.package.as_deref(), Some("prom-client"));
    let at = s.location.as_ref().expect("prom-client's line");
    assert!(
        at.file.ends_with("node_modules/prom-client/lib/counter.js"),
        "{at}"
    );
    assert_clean(app, &["labels-bounded"], 20);

    let s = &leak(
        app,
        &["per-call"],
        24,
        SuspectKind::Collection,
        Fix::CreateOnce,
    );
    assert_eq!(s.owner.via, "_metrics");
    assert!(
        s.hint.starts_with("prom-client keeps every `Counter` made"),
        "{}",
        s.hint
    );
    assert_clean(app, &["per-call-once"], 24);

    let (report, _) = run_tracked(app, &["per-call"], 20);
    let s = only_suspect(&report);
    assert_eq!(s.fix, Fix::CreateOnce);
    assert_eq!(s.package.as_deref(), Some("prom-client"));
    let from_app = s.app_location.as_ref().expect("the app's frame");
    assert!(
        from_app
            .file
            .ends_with("tests/apps/packages/leak-metrics.js"),
        "{from_app}"
    );
    assert_eq!(
        from_app.line,
        line_of(app, "heapscan-expect: per-call counter")
    );
}

/// axios: an interceptor added per request piles up in the client's InterceptorManager: the
/// app's function is named at its line, and the fix is to register it once. Node 16 and 20.
#[test]
fn axios_interceptors_registered_per_request() {
    let app = "packages/leak-interceptors.js";
    for major in [16, 20] {
        let (report, code) = run_app(app, &["per-call"], major);
        assert_eq!(code, 1, "Node {major}");
        let s = only_suspect(&report);
        assert_eq!(s.fix, Fix::RegisterOnce, "Node {major}: {}", s.hint);
        assert!(s.hint.contains("registers `addTraceId`"), "{}", s.hint);
        assert!(
            s.owner.description.starts_with("InterceptorManager @"),
            "{}",
            s.owner.description
        );
        assert_eq!(s.package.as_deref(), Some("axios"), "Node {major}");
        let from_app = s.app_location.as_ref().expect("the app's function");
        assert!(from_app
            .file
            .ends_with("tests/apps/packages/leak-interceptors.js"));
        assert_eq!(from_app.line, line_of(app, "heapscan-expect: interceptor"));
    }
    assert_clean(app, &["once"], 20);
}

/// dataloader: a DataLoader made at startup caches every key: make one per request.
#[test]
fn a_dataloader_shared_by_every_request() {
    let app = "packages/leak-dataloader.js";
    let s = &leak(
        app,
        &["shared"],
        20,
        SuspectKind::Collection,
        Fix::PerRequest,
    );
    assert_eq!(s.owner.via, "_cacheMap");
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(
        held_in.contains("(module scope) → userLoader (DataLoader) → ._cacheMap"),
        "{held_in}"
    );
    // Promises have no location: a function of the module that holds the loader, said so.
    assert_eq!(s.location_basis, LocationBasis::HoldingScope);
    assert_clean(app, &["per-request"], 20);
}

/// lodash's memoize called with a fresh object per call: key by value. Node 24.
#[test]
fn memoize_fed_fresh_object_keys() {
    let app = "packages/leak-memoize.js";
    let s = &leak(
        app,
        &["fresh-keys"],
        24,
        SuspectKind::Collection,
        Fix::KeyByValue,
    );
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(
        held_in.contains("(module scope) → cachedPrice → .cache (MapCache)"),
        "{held_in}"
    );
    assert_location(
        s,
        "packages/leak-memoize.js",
        line_of(app, "heapscan-expect: memoized entry"),
    );
    assert_clean(app, &["by-value"], 24);
}

/// A promise that never settles while every request awaits it: kind `promise`, the awaiting
/// function named at its line, the fix is to settle it (or await with a timeout). Node 16, 20
/// and 24 (whose PromiseReaction edges differ); settled, it is no leak.
#[test]
fn a_promise_that_never_settles_while_calls_await_it() {
    let line = line_of("leak-promise.js", "heapscan-expect: awaiting function");
    for major in [20, 16, 24] {
        let s = &leak(
            "leak-promise.js",
            &["pending"],
            major,
            SuspectKind::Promise,
            Fix::SettlePromise,
        );
        assert_eq!(s.owner.via, "databaseReady", "Node {major}");
        assert!(
            s.title.contains("the calls of `lookUpUser` awaiting it"),
            "Node {major}: {}",
            s.title
        );
        assert_eq!(s.location_basis, LocationBasis::Function);
        assert_location(s, "leak-promise.js", line);
    }
    assert_clean("leak-promise.js", &["settled"], 20);
}

/// A Writable whose destination stalled, written to per request without heeding `write()`'s
/// return value: kind `stream`, named by the variable that holds the stream, the fix is to
/// respect backpressure. Node 20 and 16 (`[kBufferedValue]` vs `buffered`); with allocation
/// tracking (Node 24) the location is the app's function that writes; draining, no leak.
#[test]
fn a_writable_stream_that_nothing_drains() {
    for major in [20, 16] {
        let s = &leak(
            "leak-stream.js",
            &["stalled"],
            major,
            SuspectKind::Stream,
            Fix::RespectBackpressure,
        );
        assert!(
            s.title
                .starts_with("the write buffer of Writable `auditSink` keeps growing"),
            "Node {major}: {}",
            s.title
        );
        assert!(
            s.owner
                .description
                .starts_with("the write buffer of Writable `auditSink`"),
            "{}",
            s.owner.description
        );
        let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
        assert!(
            held_in.contains("(module scope) → auditSink (Writable) → ._writableState"),
            "{held_in}"
        );
        assert!(!s
            .location
            .as_ref()
            .expect("a location")
            .file
            .starts_with("node:"));
    }
    let (report, _) = run_tracked("leak-stream.js", &["stalled"], 24);
    let s = only_suspect(&report);
    assert_eq!(s.kind, SuspectKind::Stream);
    assert_eq!(s.location_basis, LocationBasis::AllocationStack);
    assert_location(
        s,
        "leak-stream.js",
        line_of("leak-stream.js", "heapscan-expect: stream writer"),
    );

    assert_clean("leak-stream.js", &["drained"], 20);
}

/// The `diff` table's suspects, as a person reads them, against `tests/golden/tables/NAME.txt`:
/// captured live, so what varies from run to run is normalised (ids, byte sizes, the checkout's
/// path, the snapshots' names) and the shortest path from the GC roots (which of Node's many
/// equal-length routes is shortest depends on heap layout) is left out; the class table is
/// below what is compared. `HEAPSCAN_BLESS=1` writes the files instead.
fn assert_golden_table(name: &str, app: &str, args: &[&str], major: u32) {
    let node = support::node_binary(Some(major));
    let cap = support::capture(app, args, &node, 3, REQUESTS);
    let table = support::report::diff_table(&cap.snapshots, &["--top", "0"]);
    let root = support::repo_root().display().to_string();
    let ids = regex::Regex::new(r"@\d+").expect("regex");
    let sizes = regex::Regex::new(r"\d[\d,.]* (B|kB|MB|GB)\b").expect("regex");
    let mut normal = String::new();
    for line in table.lines() {
        if line.starts_with('┌') {
            break;
        }
        if line.starts_with('#') || line.starts_with("   path:") {
            continue;
        }
        let line = line.replace(&root, "<repo>");
        let line = ids.replace_all(&line, "@<id>");
        let line = sizes.replace_all(&line, "<size>");
        normal.push_str(line.trim_end());
        normal.push('\n');
    }
    let golden = support::repo_root()
        .join("tests/golden/tables")
        .join(format!("{name}.txt"));
    if std::env::var_os("HEAPSCAN_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().expect("dir")).expect("golden dir");
        std::fs::write(&golden, &normal).expect("write golden table");
        return;
    }
    let want = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (HEAPSCAN_BLESS=1 writes it)", golden.display()));
    assert_eq!(
        normal, want,
        "{name}: the diff table changed (HEAPSCAN_BLESS=1 rewrites it)"
    );
}

#[test]
fn golden_diff_tables() {
    assert_golden_table("closure-through-object", "leak-closure.js", &["object"], 20);
    assert_golden_table("sliced-strings", "leak-view.js", &["string"], 20);
    assert_golden_table("timer-owner", "leak-timer.js", &["owner"], 20);
    assert_golden_table(
        "axios-interceptors",
        "packages/leak-interceptors.js",
        &["per-call"],
        20,
    );
}

/// Objects kept as properties of the global object: the owner is `globalThis`, named with one
/// of the properties, never "global @…, held by shortcut edge 2 of (GC roots)".
#[test]
fn objects_kept_as_properties_of_the_global_object() {
    let s = &leak(
        "leak-class.js",
        &["global"],
        20,
        SuspectKind::Class,
        Fix::DropReference,
    );
    assert!(
        s.owner
            .description
            .starts_with("globalThis (the global object, global @")
            && s.owner.description.contains("as its properties (`request-"),
        "{}",
        s.owner.description
    );
    assert!(
        !s.owner.description.contains("GC roots"),
        "{}",
        s.owner.description
    );
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(
        held_in.starts_with("globalThis → .request-") && held_in.ends_with("→ RequestRecord"),
        "{held_in}"
    );
    assert!(
        s.hint.contains("property of the global object"),
        "{}",
        s.hint
    );
    assert_location(
        s,
        "leak-class.js",
        line_of("leak-class.js", "heapscan-expect: class"),
    );
}

/// A FinalizationRegistry whose held values hold their targets: the owner is the registry by
/// its variable, the fix is to hold an id only, and the twin that does is clean. Node 20, 24.
#[test]
fn a_finalization_registry_whose_held_values_keep_their_targets() {
    for major in [20, 24] {
        let s = &leak(
            "leak-registry.js",
            &["held-target"],
            major,
            SuspectKind::Class,
            Fix::HoldIdOnly,
        );
        assert!(
            s.owner.description.starts_with("FinalizationRegistry @")
                && s.owner.via == "connectionCleanup",
            "Node {major}: {:?}",
            s.owner
        );
        assert!(
            s.hint
                .starts_with("FinalizationRegistry `connectionCleanup` keeps each held value"),
            "{}",
            s.hint
        );
        let at = s.location.as_ref().expect("the literal's function");
        assert!(at.file.ends_with("tests/apps/leak-registry.js"), "{at}");
    }
    assert_clean("leak-registry.js", &["held-id"], 20);
}

/// Per-request data kept in an AsyncLocalStorage store that the whole server shares: the
/// holder is named as the storage's store (not the async resource that happens to carry it),
/// and the fix is a store per request. Node 20 (`[kResourceStore]`) and 24 (AsyncContextFrame).
#[test]
fn an_async_local_storage_store_shared_by_every_request() {
    for major in [20, 24] {
        let s = &leak(
            "leak-context.js",
            &["shared-store"],
            major,
            SuspectKind::Collection,
            Fix::PerRequest,
        );
        let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
        assert!(
            held_in.ends_with(
                "leak-context.js (module scope) → requestContext (AsyncLocalStorage) → (its store) → .trail → Array"
            ),
            "Node {major}: {held_in}"
        );
        assert!(
            s.hint
                .contains("the store of AsyncLocalStorage `requestContext`"),
            "{}",
            s.hint
        );
        assert_location(
            s,
            "leak-context.js",
            line_of("leak-context.js", "heapscan-expect: context entry"),
        );
    }
    assert_clean("leak-context.js", &["per-request"], 20);
}

/// Objects a scope reaches through two variables (the two ends of a linked list): the owner is
/// the module scope with those variables, never "system / Context @…, held by internal edge".
#[test]
fn objects_a_scope_holds_by_two_variables() {
    let s = &leak(
        "leak-class.js",
        &["linked"],
        20,
        SuspectKind::Class,
        Fix::DropReference,
    );
    assert!(
        s.owner.description.starts_with("the module scope of ")
            && s.owner
                .description
                .contains("whose variables `newestRecord`, `oldestRecord` reach them"),
        "{}",
        s.owner.description
    );
    let held_in = s.held_in.as_ref().expect("held in").from_the_outside();
    assert!(
        held_in.ends_with("leak-class.js (module scope) → newestRecord → RequestRecord"),
        "{held_in}"
    );
    assert_location(
        s,
        "leak-class.js",
        line_of("leak-class.js", "heapscan-expect: class"),
    );
}

/// A Map of WeakRefs that is never pruned: the targets go, the WeakRefs and their keys stay;
/// the hint says to delete the dead entries. Bounded, no leak.
#[test]
fn weakrefs_whose_entries_are_never_pruned() {
    let s = &leak(
        "leak-weakref.js",
        &["never-pruned"],
        20,
        SuspectKind::Collection,
        Fix::Evict,
    );
    assert_eq!(s.owner.via, "responseRefs");
    assert_eq!(s.class, "WeakRef");
    assert!(
        s.hint
            .starts_with("the entries of Map `responseRefs` are WeakRefs")
            && s.hint.contains("`deref()` returns undefined"),
        "{}",
        s.hint
    );
    assert_clean("leak-weakref.js", &["bounded"], 20);
}
