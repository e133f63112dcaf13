//! `heapscan diff` on captured snapshots, read back through the documented JSON schema, and
//! the checks the real-process tests share (a suspect's location against an app's marker).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use heapscan::report::diff::{DiffReport, Judgement, Suspect};

/// Requests between snapshots: enough that every leak grows by hundreds of items per step.
pub const REQUESTS: usize = 200;

/// `heapscan diff SNAPSHOTS --format json --fail-on-leak EXTRA`: the report and exit code.
pub fn diff(snapshots: &[PathBuf], extra: &[&str]) -> (DiffReport, i32) {
    let mut cmd = Command::cargo_bin("heapscan").expect("binary");
    cmd.arg("diff")
        .args(snapshots)
        .args(["--format", "json", "--fail-on-leak"])
        .args(extra);
    let out = cmd.output().expect("run heapscan");
    let code = out.status.code().unwrap_or(-1);
    // 2 with a report on stdout: it could not judge (and says why on stderr).
    assert!(
        (0..=2).contains(&code) && !out.stdout.is_empty(),
        "heapscan diff failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: DiffReport = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("diff JSON does not match the documented schema: {e}"));
    (report, code)
}

/// The diff table (`heapscan diff SNAPSHOTS EXTRA`, no colour) as text.
pub fn diff_table(snapshots: &[PathBuf], extra: &[&str]) -> String {
    let out = Command::cargo_bin("heapscan")
        .expect("binary")
        .arg("diff")
        .args(snapshots)
        .args(extra)
        .env("NO_COLOR", "1")
        .output()
        .expect("run heapscan");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The one line of `app` that contains `needle`.
pub fn line_of(app: &str, needle: &str) -> u32 {
    let text = std::fs::read_to_string(super::app_path(app)).expect("app source");
    let hits: Vec<usize> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
        .collect();
    assert_eq!(hits.len(), 1, "{needle:?} must occur once in {app}");
    hits[0] as u32
}

/// `file:line:col` → (file, line).
pub fn file_line(location: &str) -> (String, u32) {
    let mut parts = location.rsplitn(3, ':');
    let _col = parts.next();
    let line = parts.next().and_then(|l| l.parse().ok()).unwrap_or(0);
    (parts.next().unwrap_or("").to_string(), line)
}

/// The suspect's location is line `line` of the test app `app`.
pub fn assert_location(s: &Suspect, app: &str, line: u32) {
    let loc = s
        .location
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_else(|| panic!("suspect has no location: {s:?}"));
    let (file, got) = file_line(&loc);
    assert!(
        Path::new(&file).ends_with(Path::new("tests/apps").join(app)),
        "location {loc} is not in {app}"
    );
    assert_eq!(got, line, "location {loc} should be line {line} of {app}");
}

/// Captures `app args` on Node `major` (3 snapshots, [`REQUESTS`] requests apart) and diffs
/// it; the snapshots must be of one process and judged.
pub fn run_app(app: &str, args: &[&str], major: u32) -> (DiffReport, i32) {
    let node = super::node_binary(Some(major));
    let cap = super::capture(app, args, &node, 3, REQUESTS);
    let report = diff(&cap.snapshots, &[]);
    assert!(report.0.same_process, "{}", report.0.same_process_reason);
    assert_eq!(report.0.snapshots.len(), 3);
    assert_eq!(
        report.0.judgement,
        Judgement::Judged,
        "{app} under load: {:?}",
        report.0.steps
    );
    report
}

/// The report's only suspect.
pub fn only_suspect(report: &DiffReport) -> &Suspect {
    assert_eq!(
        report.suspects.len(),
        1,
        "expected exactly one suspect, got {:#?}",
        report.suspects.iter().map(|s| &s.title).collect::<Vec<_>>()
    );
    &report.suspects[0]
}

/// Like [`run_app`], with the app started under `node --track-heap-objects`: the snapshots
/// carry allocation stacks.
pub fn run_tracked(app: &str, args: &[&str], major: u32) -> (DiffReport, i32) {
    let node = super::node_binary(Some(major));
    let mut opts = super::CaptureOptions::new(3, REQUESTS);
    opts.node_flags = vec!["--track-heap-objects".to_string()];
    let cap = super::capture_with(app, args, &node, &opts);
    diff(&cap.snapshots, &[])
}

/// `app args` on Node `major` has no suspect, and `--fail-on-leak` passes.
pub fn assert_clean(app: &str, args: &[&str], major: u32) {
    let (report, code) = run_app(app, args, major);
    assert!(
        report.suspects.is_empty(),
        "{app} {args:?} does not leak on Node {major}, but heapscan says: {:#?}",
        report.suspects.iter().map(|s| &s.title).collect::<Vec<_>>()
    );
    assert_eq!(code, 0, "{app} {args:?}: --fail-on-leak passes");
}
