//! Verdicts people can trust, on real Node.js processes under bursty load: a step in which the
//! app did nothing neither confirms nor refutes growth (a leak whose last or middle step is
//! idle is still named; a bounded cache with idle steps is still clean), and when the
//! snapshots cannot be judged (out of order, other processes, one snapshot, nothing but idle
//! steps) `gate` and `diff --fail-on-leak` exit 2 with the reason instead of passing.

mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use heapscan::gate::GateStatus;
use heapscan::report::diff::{DiffReport, Judgement, Unjudgeable};
use support::{CaptureOptions, CaptureVia};

fn heapscan(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .args(args)
        .args(files)
        .output()
        .expect("run heapscan")
}

/// `diff --format json --fail-on-leak`: (report, exit code, stderr).
fn diff(files: &[PathBuf]) -> (DiffReport, i32, String) {
    let out = heapscan(&["diff", "--format", "json", "--fail-on-leak"], files);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no diff JSON ({e}): {stderr}"));
    (report, out.status.code().unwrap_or(-1), stderr)
}

fn capture(app: &str, args: &[&str], plan: &[usize], via: CaptureVia) -> support::Capture {
    let node = support::node_binary(Some(20));
    let mut opts = CaptureOptions::new(plan.len(), 0);
    opts.requests_before = Some(plan.to_vec());
    opts.via = via;
    support::capture_with(app, args, &node, &opts)
}

fn steps(report: &DiffReport) -> String {
    format!("{:?}", report.steps)
}

/// The leak is named (kind, owner), `--fail-on-leak` and `gate` exit 1.
fn assert_named(files: &[PathBuf], kind: &str, via: &str, what: &str) {
    let (report, code, stderr) = diff(files);
    assert_eq!(report.judgement, Judgement::Judged, "{what}: {stderr}");
    assert!(
        report
            .suspects
            .iter()
            .any(|s| s.kind.name() == kind && s.owner.via == via),
        "{what}: no {kind} suspect held by {via}; steps {}: {:#?}",
        steps(&report),
        report.suspects.iter().map(|s| &s.title).collect::<Vec<_>>()
    );
    assert_eq!(code, 1, "{what}: --fail-on-leak");
    assert_eq!(
        heapscan(&["gate"], files).status.code(),
        Some(1),
        "{what}: gate"
    );
}

/// Judged, nothing named, and both verdicts pass.
fn assert_clean(files: &[PathBuf], what: &str) {
    let (report, code, stderr) = diff(files);
    assert_eq!(
        report.judgement,
        Judgement::Judged,
        "{what}: {stderr} {}",
        steps(&report)
    );
    assert!(
        report.suspects.is_empty(),
        "{what}: {:#?}",
        report.suspects.iter().map(|s| &s.title).collect::<Vec<_>>()
    );
    assert_eq!(code, 0, "{what}");
    assert_eq!(
        heapscan(&["gate"], files).status.code(),
        Some(0),
        "{what}: gate"
    );
}

/// Exit 2 from `diff --fail-on-leak` and from `gate` (whose JSON, JUnit and Markdown say it
/// is an error), each with one line on stderr that names `needle`.
fn assert_cannot_judge(files: &[PathBuf], problem: Unjudgeable, needle: &str) {
    let (report, code, stderr) = diff(files);
    assert_eq!(code, 2, "diff --fail-on-leak: {stderr}");
    assert!(
        matches!(&report.judgement, Judgement::CannotJudge { problem: p, .. } if *p == problem),
        "{:?}",
        report.judgement
    );
    assert!(report.suspects.is_empty());
    assert!(stderr.contains(needle), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");

    let dir = tempfile::tempdir().unwrap();
    let (json, junit, md) = (
        dir.path().join("g.json"),
        dir.path().join("g.xml"),
        dir.path().join("g.md"),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .arg("gate")
        .args(files)
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--markdown")
        .arg(&md)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "gate: {stderr}");
    assert!(stderr.contains(needle), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("CANNOT JUDGE"));
    let gate: heapscan::gate::GateReport =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(gate.status, GateStatus::CannotJudge);
    assert!(!gate.passed);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("errors=\"1\"") && xml.contains("<error") && !xml.contains("<failure"),
        "{xml}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("could not judge") && md.contains("**error**"),
        "{md}"
    );
}

#[test]
fn a_leak_whose_last_step_is_idle_is_named() {
    // The load stops before the last snapshot (Ctrl-C after the traffic ended).
    for via in [CaptureVia::Signal, CaptureVia::HeapscanSnap] {
        let cap = capture("leak-listener.js", &[], &[200, 200, 0], via);
        assert_named(&cap.snapshots, "listener", "bus", &format!("{via:?}"));
        let (report, _, _) = diff(&cap.snapshots);
        assert!(report.steps[1].idle, "{via:?}: {}", steps(&report));
        assert_eq!(report.judged_snapshots, vec![0, 2], "{via:?}");
    }
}

#[test]
fn a_leak_with_an_idle_middle_step_is_named() {
    for via in [CaptureVia::Signal, CaptureVia::HeapscanSnap] {
        let cap = capture("leak-cache.js", &["map"], &[200, 0, 200, 200], via);
        assert_named(
            &cap.snapshots,
            "collection",
            "sessionCache",
            &format!("{via:?}"),
        );
    }
}

#[test]
fn a_bounded_cache_with_idle_steps_or_steady_load_is_clean() {
    for via in [CaptureVia::Signal, CaptureVia::HeapscanSnap] {
        let cap = capture("ok-lru.js", &[], &[300, 0, 300, 0], via);
        assert_clean(&cap.snapshots, &format!("ok-lru idle steps {via:?}"));
        let cap = capture("ok-lru.js", &[], &[300, 300, 300], via);
        assert_clean(&cap.snapshots, &format!("ok-lru steady {via:?}"));
    }
}

#[test]
fn snapshots_that_cannot_be_judged_never_pass() {
    let cap = capture(
        "leak-cache.js",
        &["map"],
        &[200, 200, 200],
        CaptureVia::HeapscanSnap,
    );
    let s = &cap.snapshots;
    // Newest first.
    let reversed = vec![s[2].clone(), s[1].clone(), s[0].clone()];
    assert_cannot_judge(&reversed, Unjudgeable::OutOfOrder, "out of order");
    let (report, _, stderr) = diff(&reversed);
    let expected = format!(
        "did you mean `heapscan diff {} {} {}`",
        s[0].display(),
        s[1].display(),
        s[2].display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert!(!report.same_process);

    // Snapshots of two unrelated apps.
    let other = capture("ok-lru.js", &[], &[200], CaptureVia::HeapscanSnap);
    let unrelated = vec![s[0].clone(), other.snapshots[0].clone()];
    assert_cannot_judge(
        &unrelated,
        Unjudgeable::NotOneProcess,
        "different processes",
    );

    // Nothing happens between the snapshots.
    let idle = capture(
        "leak-cache.js",
        &["map"],
        &[0, 0, 0],
        CaptureVia::HeapscanSnap,
    );
    assert_cannot_judge(&idle.snapshots, Unjudgeable::AllStepsIdle, "CPU time");
    let idle = capture("leak-cache.js", &["map"], &[0, 0, 0], CaptureVia::Signal);
    assert_cannot_judge(&idle.snapshots, Unjudgeable::AllStepsIdle, "new objects");

    // One snapshot.
    for cmd in [&["diff", "--fail-on-leak"][..], &["gate"]] {
        let out = heapscan(cmd, &s[..1]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{cmd:?}: {stderr}");
        assert!(
            stderr.contains("two or more snapshots") && stderr.contains("heapscan snap"),
            "{stderr}"
        );
    }
}

#[test]
fn a_cache_that_filled_up_and_stopped_is_a_near_miss_not_a_suspect() {
    // The LRU holds at most 200 entries: with no warm-up, 150 after the first burst, 200
    // after the second and the third. It grew, then stopped: shown as a near miss, and the
    // verdict stays clean.
    let mut opts = CaptureOptions::new(3, 0);
    opts.warmup = 0;
    opts.requests_before = Some(vec![150, 150, 150]);
    opts.via = CaptureVia::HeapscanSnap;
    let cap = support::capture_with("ok-lru.js", &[], &support::node_binary(Some(20)), &opts);
    assert_clean(&cap.snapshots, "ok-lru filling up");
    let (report, _, _) = diff(&cap.snapshots);
    let miss = report
        .near_misses
        .iter()
        .find(|m| m.kind.name() == "collection" && m.subject.starts_with("Map `lruCache`"))
        .unwrap_or_else(|| panic!("no near miss for lruCache: {:#?}", report.near_misses));
    assert_eq!(miss.counts, [150, 200, 200], "{miss:#?}");
    assert_eq!(
        miss.reason,
        heapscan::report::diff::MissReason::Unsteady {
            grew_in: 1,
            steps: 2,
            last_step_grew: false
        }
    );
    let table = heapscan(&["diff"], &cap.snapshots);
    let table = String::from_utf8_lossy(&table.stdout);
    assert!(
        table.contains("No leak suspects")
            && table.contains("Near misses")
            && table.contains("[collection] Map `lruCache`")
            && table.contains("grew in 1 of 2 steps, not in the last"),
        "{table}"
    );
}

/// One snapshot of a fresh process of `app` after `requests` requests (no warm-up), taken as
/// `via` says. The capture holds the file.
fn process_after(
    app: &str,
    args: &[&str],
    requests: usize,
    via: CaptureVia,
    node: u32,
) -> support::Capture {
    let mut opts = CaptureOptions::new(1, 0);
    opts.warmup = 0;
    opts.requests_before = Some(vec![requests]);
    opts.via = via;
    support::capture_with(app, args, &support::node_binary(Some(node)), &opts)
}

/// Three processes of `app` on Node 20, the later ones after more requests.
fn processes_at_increasing_uptime(
    app: &str,
    args: &[&str],
    via: CaptureVia,
) -> (Vec<support::Capture>, Vec<PathBuf>) {
    processes_on(app, args, via, 20)
}

/// Three processes of `app` on Node `node`, the later ones after more requests.
fn processes_on(
    app: &str,
    args: &[&str],
    via: CaptureVia,
    node: u32,
) -> (Vec<support::Capture>, Vec<PathBuf>) {
    let caps: Vec<support::Capture> = [300, 700, 1100]
        .iter()
        .map(|&n| process_after(app, args, n, via, node))
        .collect();
    let files = caps.iter().map(|c| c.snapshots[0].clone()).collect();
    (caps, files)
}

#[test]
fn a_leak_is_named_across_processes_of_one_app() {
    // The entries are object literals of makeEntry, located at the function.
    let source = std::fs::read_to_string("tests/apps/leak-cache.js").expect("the app");
    let literal_line = 1 + source
        .lines()
        .position(|l| l.contains("function makeEntry("))
        .expect("makeEntry") as u32;
    for via in [CaptureVia::HeapscanSnap, CaptureVia::Signal] {
        let what = format!("{via:?}");
        let (_caps, files) = processes_at_increasing_uptime("leak-cache.js", &["map"], via);
        assert_named(&files, "collection", "sessionCache", &what);
        let (report, _, _) = diff(&files);
        assert!(!report.same_process, "{what}");
        assert_eq!(
            report.matched_by,
            heapscan::report::diff::Matching::Structure,
            "{what}"
        );
        assert!(
            report.steps.iter().all(|s| s.other_process && !s.restart),
            "{what}: {:?}",
            report.steps
        );
        let s = report
            .suspects
            .iter()
            .find(|s| s.owner.via == "sessionCache")
            .expect("named");
        assert!(
            s.counts[0] >= 300 && s.counts[0] < s.counts[1] && s.counts[1] < s.counts[2],
            "{what}: {:?}",
            s.counts
        );
        let loc = s.location.as_ref().expect("a location");
        assert!(
            loc.file.ends_with("tests/apps/leak-cache.js") && loc.line == literal_line,
            "{what}: {loc}"
        );
        let held_in = s.held_in.as_ref().expect("held in a scope");
        assert!(
            held_in
                .from_the_outside()
                .ends_with("tests/apps/leak-cache.js (module scope) → sessionCache → Map"),
            "{what}: {held_in}"
        );
        // The table says how the snapshots were compared.
        let table = heapscan(&["diff"], &files);
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("matched by structure") && table.contains("Map `sessionCache`"),
            "{table}"
        );
    }
    let (_caps, files) =
        processes_at_increasing_uptime("leak-listener.js", &[], CaptureVia::HeapscanSnap);
    assert_named(&files, "listener", "bus", "listeners across processes");
    // The oldest and newest Node versions lay scopes and listeners out differently.
    for node in [16, 24] {
        let what = format!("Node {node}");
        let (_caps, files) =
            processes_on("leak-cache.js", &["map"], CaptureVia::HeapscanSnap, node);
        assert_named(&files, "collection", "sessionCache", &what);
        let (_caps, files) = processes_on("leak-listener.js", &[], CaptureVia::HeapscanSnap, node);
        assert_named(&files, "listener", "bus", &what);
        let (_caps, files) = processes_on("ok-lru.js", &[], CaptureVia::HeapscanSnap, node);
        assert_clean(&files, &what);
    }
}

#[test]
fn a_clean_app_across_processes_has_no_suspect() {
    for via in [CaptureVia::HeapscanSnap, CaptureVia::Signal] {
        let (_caps, files) = processes_at_increasing_uptime("ok-lru.js", &[], via);
        assert_clean(&files, &format!("ok-lru across processes {via:?}"));
        assert_clean(&files[..2], &format!("ok-lru, two processes {via:?}"));
        let (_caps, files) = processes_at_increasing_uptime("ok-listeners.js", &[], via);
        assert_clean(&files, &format!("ok-listeners across processes {via:?}"));
    }
}
