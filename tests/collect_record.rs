//! `heapscan record` on real Node.js children under real HTTP load on 127.0.0.1: snapshots on
//! schedule, on threshold, on SIGUSR2 and on `heapscan snap`; gc.log, memory.csv, events and
//! the manifest; stdout intact byte for byte; signals forwarded; exit code returned; crashes
//! restarted; memory restarts snapshotted first; wrappers (`sh -c`) handled.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::*;

const LONG: Duration = Duration::from_secs(90);

fn record(dir: &Path, opts: &[&str], app: &[&str]) -> Command {
    let mut c = heapscan();
    c.arg("record")
        .arg("--out")
        .arg(dir)
        .args(opts)
        .arg("--")
        .args(app);
    c.env("MAX_LIFETIME_MS", "80000");
    c
}

fn node20() -> String {
    node(20).display().to_string()
}

fn check_snapshots(dir: &Path) -> usize {
    let snaps = files_ending(dir, ".heapsnapshot");
    for (i, s) in snaps.iter().enumerate() {
        let name = s.file_name().unwrap().to_str().unwrap();
        assert_eq!(
            name,
            format!("snapshot-{:03}.heapsnapshot", i + 1),
            "numbered in order"
        );
        assert_complete_snapshot(s);
    }
    assert!(
        !dir.join(".incoming").exists(),
        "no half-written files left behind"
    );
    snaps.len()
}

/// `heapscan diff --format json --fail-on-leak` of `snapshots`: the report, the exit code and
/// what it said on stderr.
fn diff_json(snapshots: &[std::path::PathBuf]) -> (Value, Option<i32>, String) {
    let out = heapscan()
        .args(["diff", "--format", "json", "--fail-on-leak"])
        .args(snapshots)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no diff JSON ({e}): {stderr}"));
    (report, out.status.code(), stderr)
}

/// Sends load in bursts of 200 requests until the session in `dir` logs a restart.
fn load_until_restart(dir: &Path, port: u16) {
    wait_for("the memory restart", LONG, || {
        if events_named(dir, "restart", None).is_empty() {
            load(port, 200);
            None
        } else {
            Some(())
        }
    });
}

fn gc_report(gc_log: &Path) -> Value {
    let out = heapscan()
        .args(["gc", "--format", "json"])
        .arg(gc_log)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("gc json")
}

#[test]
fn steady_app_interval_signal_and_snap_snapshots_exit_code_and_intact_stdout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let echo = tmp.path().join("echo.txt");
    let node = node20();
    let mut cmd = record(
        &dir,
        &["--snapshot-every", "2s", "--sample-interval", "200ms"],
        &[&node, server_js().to_str().unwrap(), "steady"],
    );
    cmd.env("ECHO_FILE", &echo).env("EXIT_CODE", "7");
    let run = Collected::spawn(cmd);
    let port = run.port(1);
    assert_eq!(load(port, 300), 300);
    wait_for("two interval snapshots", LONG, || {
        (events_named(&dir, "snapshot-finished", Some("interval")).len() >= 2).then_some(())
    });
    // SIGUSR2 to heapscan: a snapshot now (queued if an interval one is running).
    unsafe { libc::kill(run.guard.pid() as i32, libc::SIGUSR2) };
    wait_for("the SIGUSR2 snapshot", LONG, || {
        (!events_named(&dir, "snapshot-finished", Some("signal")).is_empty()).then_some(())
    });
    // `heapscan snap --pid CHILD` aimed at the recorded app goes through the session.
    let child_pid = events_named(&dir, "start", None)[0]["pid"]
        .as_u64()
        .unwrap();
    let out =
        run_ok(heapscan().args(["snap", "--format", "json", "--pid", &child_pid.to_string()]));
    let snap: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(snap[0]["method"], "session");
    let path = snap[0]["path"].as_str().unwrap();
    assert!(path.starts_with(dir.to_str().unwrap()), "{path}");
    assert!(support::alive(child_pid as u32), "the app keeps running");
    assert_eq!(load(port, 50), 50, "and keeps serving");

    let (code, stdout) = run.stop(libc::SIGTERM, LONG);
    assert_eq!(code, Some(7), "heapscan exits with the app's exit code");
    let expected = std::fs::read(&echo).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&stdout),
        String::from_utf8_lossy(&expected),
        "the app's stdout arrives intact, without GC lines"
    );
    assert!(
        String::from_utf8_lossy(&stdout).ends_with("got SIGTERM, bye\n"),
        "SIGTERM forwarded"
    );

    let n = check_snapshots(&dir);
    assert!(n >= 4, "2 interval + signal + snap, got {n}");
    let gc = gc_report(&dir.join("gc.log"));
    let lines = &gc["files"][0]["lines"];
    assert!(lines["gc"].as_u64().unwrap() >= 3, "{lines}");
    assert_eq!(
        lines["gc"], lines["total"],
        "gc.log holds only GC lines: {lines}"
    );
    assert_eq!(gc["processes"][0]["pid"].as_u64(), Some(child_pid));

    let csv = std::fs::read_to_string(dir.join("memory.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert!(rows[0].starts_with("t_ms,pid,rss_bytes,"));
    assert!(rows.len() >= 10, "{} rows", rows.len());
    // The first sample is taken the moment the app is spawned, when Node may still be
    // loading (a few MB under a busy CI machine): that row is real data, so it only has to
    // measure the app. Once V8 has written a snapshot the process is a booted Node.
    let booted_at = events_named(&dir, "snapshot-finished", None)[0]["t_ms"]
        .as_u64()
        .unwrap();
    let mut booted_rows = 0;
    for r in &rows[1..] {
        let cols: Vec<u64> = r.split(',').map(|c| c.parse().unwrap()).collect();
        assert_eq!(cols.len(), 10, "{r}");
        assert_eq!(cols[1], child_pid, "{r}");
        assert!(
            cols[2] > 0 && cols[5] > 0,
            "a live process is measured: {r}"
        );
        if cols[0] >= booted_at {
            booted_rows += 1;
            assert!(cols[2] > 10 << 20, "RSS of a booted node process: {r}");
        }
    }
    assert!(
        booted_rows >= 5,
        "{booted_rows} rows after the first snapshot"
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap();
    assert_eq!(manifest["state"], "finished");
    assert_eq!(manifest["exit_code"], 7);
    assert!(manifest["node_version"]
        .as_str()
        .unwrap()
        .starts_with("v20."));
    assert_eq!(manifest["files"]["snapshots"].as_array().unwrap().len(), n);
    let ev = events(&dir);
    assert_eq!(ev.first().unwrap()["event"], "start");
    assert_eq!(ev.last().unwrap()["event"], "end");
    assert!(ev
        .iter()
        .any(|e| e["event"] == "exit" && e["exit_code"] == 7));
}

#[test]
fn leaking_app_snapshot_at_rss_threshold_then_memory_restart_keeps_evidence() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    let run = Collected::spawn(record(
        &dir,
        &[
            "--sample-interval",
            "200ms",
            "--snapshot-at-rss",
            "90MB",
            "--max-memory-restart",
            "140MB",
            "--kill-timeout",
            "5s",
        ],
        &[&node, server_js().to_str().unwrap(), "leak"],
    ));
    let port = run.port(1);
    // Leak ~20 KB per request until the threshold snapshot, then until the memory restart.
    wait_for("the RSS threshold snapshot", LONG, || {
        load(port, 200);
        (!events_named(&dir, "snapshot-finished", Some("rss-threshold")).is_empty()).then_some(())
    });
    load_until_restart(&dir, port);
    let port2 = run.port(2);
    assert_eq!(load(port2, 10), 10, "the restarted app serves");
    let (code, stdout) = run.stop(libc::SIGINT, LONG);
    assert_eq!(code, Some(0));
    let text = String::from_utf8_lossy(&stdout);
    assert!(
        text.contains("got SIGINT, bye"),
        "memory restart sends SIGINT: {text}"
    );

    let names: Vec<String> = events(&dir)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    let pos = |n: &str| {
        names
            .iter()
            .position(|x| x == n)
            .unwrap_or_else(|| panic!("{n} in {names:?}"))
    };
    let before = events_named(&dir, "snapshot-finished", Some("before-memory-restart"));
    assert_eq!(before.len(), 1, "{names:?}");
    assert!(pos("memory-limit") < pos("memory-restart"));
    assert!(pos("memory-restart") < pos("restart"));
    let snap_at = names
        .iter()
        .rposition(|n| n == "snapshot-finished")
        .unwrap();
    assert!(
        snap_at < pos("memory-restart"),
        "the snapshot is taken before the restart"
    );
    assert_eq!(check_snapshots(&dir), 2);
    assert_eq!(events_named(&dir, "start", None).len(), 2);
    let gc = gc_report(&dir.join("gc.log"));
    assert_eq!(
        gc["processes"].as_array().unwrap().len(),
        2,
        "one GC trace per run"
    );
}

#[test]
fn crash_is_restarted_with_backoff_and_exit_code_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    let mut cmd = record(
        &dir,
        &["--restart", "on-crash", "--sample-interval", "200ms"],
        &[&node, server_js().to_str().unwrap(), "steady"],
    );
    cmd.env("CRASH_ONCE", tmp.path().join("crashed"));
    let run = Collected::spawn(cmd);
    let port = run.port(2); // the second run: the first crashed
    assert_eq!(load(port, 20), 20);
    let (code, stdout) = run.stop(libc::SIGINT, LONG);
    assert_eq!(code, Some(0));
    let text = String::from_utf8_lossy(&stdout);
    assert!(text.contains("crashing on purpose\n"));
    assert_eq!(text.matches("listening ").count(), 2);
    let exits = events_named(&dir, "exit", None);
    assert_eq!(exits[0]["exit_code"], 3);
    assert_eq!(events_named(&dir, "restart", None).len(), 1);
    assert!(
        events_named(&dir, "restart-scheduled", None)[0]["in_ms"]
            .as_u64()
            .unwrap()
            > 0
    );

    // --restart never: the crash ends the session with the app's code.
    let dir2 = tmp.path().join("session2");
    let mut cmd = record(
        &dir2,
        &[],
        &[&node, server_js().to_str().unwrap(), "steady"],
    );
    cmd.env("CRASH_ONCE", tmp.path().join("crashed-again"));
    let (code, _) = Collected::spawn(cmd).wait(LONG);
    assert_eq!(code, Some(3));
}

#[test]
fn wrapper_command_gets_gc_trace_through_preload_and_snapshots_the_node_grandchild() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    let script = format!("{node} {} steady; echo wrapper-done", server_js().display());
    let run = Collected::spawn(record(
        &dir,
        &[
            "--snapshot-every",
            "1s",
            "--max-snapshots",
            "1",
            "--sample-interval",
            "200ms",
        ],
        &["sh", "-c", &script],
    ));
    let port = run.port(1);
    assert_eq!(load(port, 300), 300);
    wait_for("a snapshot of the grandchild", LONG, || {
        (!events_named(&dir, "snapshot-finished", None).is_empty()).then_some(())
    });
    wait_for("--max-snapshots to skip the next", LONG, || {
        events_named(&dir, "snapshot-skipped", Some("interval"))
            .iter()
            .any(|e| e["why"].as_str().unwrap().contains("--max-snapshots"))
            .then_some(())
    });
    let (_code, _) = run.stop(libc::SIGTERM, LONG);
    assert_eq!(check_snapshots(&dir), 1);
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap();
    assert!(manifest["injected"]["preload"].is_string());
    assert!(manifest["injected"]["node_options"]
        .as_str()
        .unwrap()
        .contains("--require"));
    let gc = gc_report(&dir); // a session folder means its gc.log
    assert!(
        gc["files"][0]["lines"]["gc"].as_u64().unwrap() >= 1,
        "{}",
        gc["files"][0]
    );
    let start_pid = events_named(&dir, "start", None)[0]["pid"]
        .as_u64()
        .unwrap();
    let snap_pid = events_named(&dir, "snapshot-begun", None)[0]["pid"]
        .as_u64()
        .unwrap();
    assert_ne!(
        start_pid, snap_pid,
        "the node grandchild, not the shell, is snapshotted"
    );
}

#[test]
fn bad_command_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = heapscan()
        .args(["record", "--out"])
        .arg(tmp.path().join("s"))
        .args(["--", "/nonexistent/node-app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/node-app"));
    assert!(
        !tmp.path().join("s").exists(),
        "no session folder for a command that never started"
    );
    // A folder that cannot be made: the OS error is said once.
    let out = heapscan()
        .args(["record", "--out", "/proc/x/y", "--", "true"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("/proc/x/y"), "{stderr}");
    // The same with the folder made beforehand: it is left empty.
    let made = tmp.path().join("made");
    std::fs::create_dir(&made).unwrap();
    let out = heapscan()
        .arg("record")
        .arg("--out")
        .arg(&made)
        .args(["--", "/nonexistent/node-app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read_dir(&made).unwrap().count(), 0, "left empty");
    // An existing session is never overwritten.
    let used = tmp.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("snapshot-001.heapsnapshot"), "evidence").unwrap();
    let out = heapscan()
        .args(["record", "--out"])
        .arg(&used)
        .args(["--", "node", "-e", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not empty"));
    assert_eq!(
        std::fs::read_to_string(used.join("snapshot-001.heapsnapshot")).unwrap(),
        "evidence"
    );
    let out = heapscan()
        .args(["record", "--snapshot-every", "10parsecs", "--", "node"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn snapshot_cut_short_by_the_app_dying_is_deleted_and_logged() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    // A heap big enough that writing the snapshot takes seconds (700 k objects: ~120 MB of
    // snapshot): the kill below must land while V8 is still writing, even on a slow machine.
    // With a small heap V8 could finish the file before the kill arrived.
    let mut cmd = record(
        &dir,
        &["--sample-interval", "100ms"],
        &[&node, server_js().to_str().unwrap(), "leak"],
    );
    cmd.env("BALLAST", "700000");
    let run = Collected::spawn(cmd);
    let port = run.port(1);
    assert_eq!(load(port, 2500), 2500);
    let child = events_named(&dir, "start", None)[0]["pid"]
        .as_u64()
        .unwrap() as i32;
    unsafe { libc::kill(run.guard.pid() as i32, libc::SIGUSR2) };
    // Kill the app as soon as V8 has started writing the file.
    wait_for("V8 to start writing", LONG, || {
        std::fs::read_dir(dir.join(".incoming"))
            .ok()?
            .flatten()
            .any(|e| e.metadata().is_ok_and(|m| m.len() > 0))
            .then_some(())
    });
    unsafe { libc::kill(child, libc::SIGKILL) };
    let (code, _) = run.wait(LONG);
    assert_eq!(code, Some(137), "killed by SIGKILL: 128 + 9");
    let failed = events_named(&dir, "snapshot-failed", Some("signal"));
    assert_eq!(failed.len(), 1, "{:?}", events(&dir));
    assert!(events_named(&dir, "snapshot-finished", None).is_empty());
    assert_eq!(check_snapshots(&dir), 0, "the truncated file is gone");
}

#[test]
fn wrapper_exiting_before_its_node_child_does_not_hang_the_recorder() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    // The shell exits at once; its Node child lives on holding the stdout pipe.
    let script = format!("{node} {} steady & exit 5", server_js().display());
    let run = Collected::spawn(record(&dir, &[], &["sh", "-c", &script]));
    let (code, _) = run.wait(Duration::from_secs(30));
    let group = events_named(&dir, "start", None)[0]["pid"]
        .as_u64()
        .unwrap() as i32;
    // SAFETY: kill(2) on the process group the recorder created for the app.
    unsafe { libc::kill(-group, libc::SIGKILL) };
    assert_eq!(
        code,
        Some(5),
        "the wrapper's exit code, without waiting for the orphan"
    );
}

#[test]
fn max_disk_bounds_what_a_session_keeps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let node = node20();
    // A Node process's RSS alone is tens of MB: a 1 MB budget can never hold a snapshot.
    let run = Collected::spawn(record(
        &dir,
        &["--snapshot-every", "1s", "--max-disk", "1MB"],
        &[&node, server_js().to_str().unwrap(), "steady"],
    ));
    run.port(1);
    wait_for("a snapshot skipped for --max-disk", LONG, || {
        events_named(&dir, "snapshot-skipped", Some("interval"))
            .iter()
            .any(|e| e["why"].as_str().unwrap_or("").contains("--max-disk"))
            .then_some(())
    });
    let (code, _) = run.stop(libc::SIGINT, LONG);
    assert_eq!(code, Some(0));
    assert_eq!(check_snapshots(&dir), 0);
    assert!(events_named(&dir, "snapshot-begun", None).is_empty());
}

/// The README's flow: record with snapshots on a schedule, load the leaking app for a while,
/// stop the load, Ctrl-C. The snapshots after the load are idle steps: the diff still names
/// the leak (and `--fail-on-leak` exits 1); stderr said what each snapshot was and what to run
/// next.
#[test]
fn a_recorded_leak_is_named_when_the_last_snapshots_come_after_the_load() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let app = support::app_path("leak-listener.js");
    let mut cmd = record(
        &dir,
        &["--snapshot-every", "2s"],
        &[&node20(), app.to_str().unwrap()],
    );
    cmd.stderr(std::process::Stdio::piped());
    let rec = Collected::spawn(cmd);
    let port = rec.listening_port();
    // Load across at least two snapshots, then none across two more.
    let loaded_until = std::time::Instant::now() + Duration::from_secs(5);
    while std::time::Instant::now() < loaded_until {
        load(port, 20);
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_for("two snapshots after the load", LONG, || {
        (files_ending(&dir, ".heapsnapshot").len() >= 5).then_some(())
    });
    let mut rec = rec;
    let stderr_pipe = rec.guard.child().stderr.take().unwrap();
    let (code, _) = rec.stop(libc::SIGINT, LONG);
    assert!(code.is_some());
    let stderr = std::io::read_to_string(stderr_pipe).unwrap();
    let snapshots = files_ending(&dir, ".heapsnapshot");
    for s in &snapshots {
        let name = s.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            stderr
                .lines()
                .any(|l| l.contains(&name) && l.contains("(interval)") && l.contains(" s")),
            "a line for {name}: {stderr}"
        );
    }
    assert!(
        stderr.contains(&format!(
            "next: heapscan diff {}/snapshot-*.heapsnapshot",
            dir.display()
        )),
        "{stderr}"
    );
    let (report, code, stderr) = diff_json(&snapshots);
    assert_eq!(code, Some(1), "{}: {stderr}", report["steps"]);
    assert!(
        report["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "listener" && s["owner"]["via"] == "bus"),
        "{}",
        report["steps"]
    );
    assert!(
        report["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["idle"] == true),
        "{}",
        report["steps"]
    );
}

/// A leak in a session that `--max-memory-restart` restarts: the snapshots span two processes
/// (matched by structure), the step to the restarted process is not judged, and the growth
/// within each process names the leak.
#[test]
fn a_leak_is_named_across_a_memory_restart() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let app = support::app_path("leak-cache.js");
    let rec = Collected::spawn(record(
        &dir,
        &[
            "--snapshot-every",
            "2s",
            "--max-memory-restart",
            "90MB",
            "--sample-interval",
            "200ms",
        ],
        &[&node20(), app.to_str().unwrap(), "map"],
    ));
    let port = rec.nth_listening_port(1);
    // ~4 KB kept per request: some load across two snapshots, then until the memory restart.
    wait_for("two snapshots under load", LONG, || {
        load(port, 50);
        std::thread::sleep(Duration::from_millis(100));
        (files_ending(&dir, ".heapsnapshot").len() >= 2).then_some(())
    });
    load_until_restart(&dir, port);
    // The restarted process's first snapshot comes before any load: it has done less work
    // than the one before. Then it leaks too, across two more of its own snapshots.
    let port = rec.nth_listening_port(2);
    let before_restart = files_ending(&dir, ".heapsnapshot").len();
    wait_for("the restarted process's first snapshot", LONG, || {
        std::thread::sleep(Duration::from_millis(50));
        (files_ending(&dir, ".heapsnapshot").len() > before_restart).then_some(())
    });
    let restarted_snapshots = files_ending(&dir, ".heapsnapshot").len();
    wait_for("two snapshots of the restarted process", LONG, || {
        load(port, 20);
        std::thread::sleep(Duration::from_millis(50));
        (files_ending(&dir, ".heapsnapshot").len() >= restarted_snapshots + 2).then_some(())
    });
    let (code, _) = rec.stop(libc::SIGINT, LONG);
    assert!(code.is_some());
    let snapshots = files_ending(&dir, ".heapsnapshot");
    let (report, code, stderr) = diff_json(&snapshots);
    let steps = &report["steps"];
    assert_eq!(code, Some(1), "{steps} {stderr}");
    assert_eq!(report["matched_by"], "structure");
    assert!(
        report["suspects"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["kind"] == "collection" && s["owner"]["via"] == "sessionCache"),
        "{steps}: {}",
        report["suspects"]
    );
    let restarts = steps
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["restart"] == true)
        .count();
    let restart_events = events_named(&dir, "restart", None).len();
    assert!(
        restarts >= 1 && restarts <= restart_events,
        "a step goes to each restarted process ({restart_events} restarts): {steps}"
    );
    let gate = heapscan().arg("gate").args(&snapshots).output().unwrap();
    assert_eq!(gate.status.code(), Some(1));

    // Ended right after the restart: the last snapshot's young process does not hold the
    // leak yet (its Map is too small to be tracked), and the growth before it still counts.
    let restart_step = steps
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["restart"] == true)
        .unwrap();
    let up_to_restart = &snapshots[..restart_step + 2];
    let (report, code, stderr) = diff_json(up_to_restart);
    assert_eq!(code, Some(1), "{}: {stderr}", report["steps"]);
    let suspect = report["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "collection" && s["owner"]["via"] == "sessionCache")
        .unwrap_or_else(|| panic!("{}", report["suspects"]));
    assert_eq!(suspect["owner"]["class"], "Map");
    assert!(
        suspect["location"]
            .as_str()
            .is_some_and(|l| l.contains("tests/apps/leak-cache.js:")),
        "{suspect}"
    );
}

/// `record --track-allocations`: Node runs with `--track-heap-objects` (through NODE_OPTIONS,
/// so wrappers get it too), and the diff of the session names the leak with the stack that
/// allocated its entries.
#[test]
fn track_allocations_gives_suspects_their_allocation_stacks() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("session");
    let app = support::app_path("leak-cache.js");
    let rec = Collected::spawn(record(
        &dir,
        &["--snapshot-every", "1s", "--track-allocations"],
        &[
            "sh",
            "-c",
            &format!("exec {} {} map", node20(), app.display()),
        ],
    ));
    let port = rec.listening_port();
    wait_for("three snapshots under load", LONG, || {
        load(port, 30);
        std::thread::sleep(Duration::from_millis(50));
        (files_ending(&dir, ".heapsnapshot").len() >= 3).then_some(())
    });
    let (code, _) = rec.stop(libc::SIGINT, LONG);
    assert!(code.is_some());
    let session: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("session.json")).unwrap()).unwrap();
    assert!(
        session.to_string().contains("--track-heap-objects"),
        "{session}"
    );
    let snapshots = files_ending(&dir, ".heapsnapshot");
    let (report, code, stderr) = diff_json(&snapshots);
    assert_eq!(code, Some(1), "{}: {stderr}", report["steps"]);
    let suspect = report["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["owner"]["via"] == "sessionCache")
        .unwrap_or_else(|| panic!("{}: {}", report["steps"], report["suspects"]));
    let frames = &suspect["allocation_stacks"][0]["frames"];
    assert_eq!(frames[0]["function"], "makeEntry", "{suspect}");
    assert_eq!(frames[0]["app"], true);
    assert_eq!(frames[1]["function"], "remember");
}
