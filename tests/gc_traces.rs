//! `heapscan gc` on real `--trace-gc` output: the committed traces from Node 16–24 (made by
//! samples/gc/make-gc-traces.sh) and traces captured live from Node 16, 20 and 24 here.
//! Every line must be accounted for, and the counts must match an independent count of the
//! file's lines.

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::{heapscan, node, root, Guard};

fn gc_json(files: &[&Path]) -> (Value, i32) {
    let out = heapscan()
        .arg("gc")
        .args(files)
        .args(["--format", "json"])
        .output()
        .expect("run heapscan gc");
    let code = out.status.code().expect("exit code");
    assert!(
        code == 0 || code == 1,
        "heapscan gc failed ({code}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        serde_json::from_slice(&out.stdout).expect("json report"),
        code,
    )
}

/// Independent counts: lines, lines holding a record marker ` ms: ` after `]`, blank lines.
fn count_lines(path: &Path) -> (u64, u64, u64) {
    let text = String::from_utf8_lossy(&std::fs::read(path).expect("read log")).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    let marked = lines
        .iter()
        .filter(|l| l.contains("] ") && l.contains(" ms: "))
        .count();
    let blank = lines.iter().filter(|l| l.trim().is_empty()).count();
    (lines.len() as u64, marked as u64, blank as u64)
}

fn check_accounting(report: &Value, path: &Path) {
    let (total, marked, blank) = count_lines(path);
    let l = &report["files"][0]["lines"];
    let n = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("lines.{k}"));
    assert_eq!(n("total"), total, "{}: total lines", path.display());
    assert_eq!(
        n("gc") + n("other") + n("blank") + n("malformed"),
        total,
        "{}: every line accounted for",
        path.display()
    );
    assert_eq!(n("malformed"), 0, "{}: malformed lines {l}", path.display());
    assert_eq!(n("gc"), marked, "{}: GC lines", path.display());
    assert_eq!(n("blank"), blank);
    let events: u64 = report["processes"]
        .as_array()
        .expect("processes")
        .iter()
        .map(|p| p["gcs"].as_u64().expect("gcs"))
        .sum();
    assert_eq!(events + n("duplicates"), n("records"));
}

fn kinds(report: &Value) -> Vec<String> {
    report["processes"][0]["by_kind"]
        .as_array()
        .expect("by_kind")
        .iter()
        .map(|k| k["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn sample(name: &str) -> PathBuf {
    root().join("samples/gc").join(name)
}

#[test]
fn committed_traces_of_every_node_version_parse_completely() {
    for v in [16, 18, 20, 22, 24] {
        for flavour in ["trace-gc", "trace-gc-nvp"] {
            let path = sample(&format!("node{v}.{flavour}.log"));
            if flavour == "trace-gc-nvp" && ![16, 20, 24].contains(&v) {
                continue;
            }
            let (report, code) = gc_json(&[&path]);
            check_accounting(&report, &path);
            // The app leaks a quarter of what it allocates and V8 runs full GCs: both kinds
            // appear, and the growth is found.
            assert_eq!(
                kinds(&report),
                ["scavenge", "mark-compact"],
                "{}",
                path.display()
            );
            assert_eq!(report["verdict"], "growing", "{}", path.display());
            assert_eq!(code, 1, "growing exits 1");
            let p = &report["processes"][0];
            assert!(p["pauses"]["max_ms"].as_f64().unwrap() > 0.0);
            assert!(p["pauses"]["p95_ms"].as_f64() <= p["pauses"]["max_ms"].as_f64());
            let mu = p["mutator_utilisation"].as_f64().unwrap();
            assert!(mu > 0.0 && mu < 1.0, "mu {mu}");
            // The app's own last line is the only non-GC line.
            assert_eq!(report["files"][0]["lines"]["other"], 1);
            assert!(report["files"][0]["skipped"][0]["text"]
                .as_str()
                .unwrap()
                .starts_with("gc-app leak done"));
        }
    }
}

#[test]
fn out_of_memory_dump_with_repeated_records_and_stack_trace() {
    let path = sample("node22.oom.log");
    let (report, _) = gc_json(&[&path]);
    check_accounting(&report, &path);
    let l = &report["files"][0]["lines"];
    // V8 repeats the last GCs after "<--- Last few GCs --->": counted once.
    assert!(l["duplicates"].as_u64().unwrap() >= 1, "{l}");
    assert!(
        l["other"].as_u64().unwrap() >= 5,
        "stack trace lines are 'other': {l}"
    );
}

#[test]
fn prefixed_and_run_together_lines_are_split() {
    // PM2 writes `2024-01-02T03:04:05: ` before each line; apps that print without a newline
    // glue their output to the next GC line. Built from a real Node 20 trace.
    let real = std::fs::read_to_string(sample("node20.trace-gc.log")).unwrap();
    let gc_lines: Vec<&str> = real.lines().filter(|l| l.contains(" ms: ")).collect();
    let mut mangled = String::new();
    for (i, line) in gc_lines.iter().enumerate() {
        match i % 3 {
            0 => mangled.push_str(&format!("2024-01-02T03:04:05: {line}\n")),
            1 => mangled.push_str(&format!("0|api  | progress {i}...{line}")),
            _ => mangled.push_str(&format!("{line}\n")),
        }
    }
    mangled.push('\n');
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pm2.log");
    std::fs::write(&path, &mangled).unwrap();
    let (report, _) = gc_json(&[&path]);
    let l = &report["files"][0]["lines"];
    assert_eq!(l["records"].as_u64().unwrap(), gc_lines.len() as u64, "{l}");
    assert_eq!(l["malformed"], 0);
    assert!(l["run_together"].as_u64().unwrap() >= gc_lines.len() as u64 / 3 - 1);
    assert_eq!(
        report["processes"][0]["gcs"].as_u64().unwrap(),
        gc_lines.len() as u64
    );
}

/// Runs samples/gc/gc-app.js under `node --trace-gc --expose-gc` and returns the log path.
fn capture(dir: &Path, major: u32, mode: &str) -> PathBuf {
    capture_with(dir, major, mode, &["--trace-gc", "--expose-gc"])
}

fn capture_with(dir: &Path, major: u32, mode: &str, flags: &[&str]) -> PathBuf {
    let log = dir.join(format!("node{major}-{mode}-{}.log", flags.join("")));
    let file = std::fs::File::create(&log).unwrap();
    let child = Command::new(node(major))
        .args(flags)
        .arg(sample("gc-app.js"))
        .args([mode, "1200"])
        .current_dir(dir)
        .stdout(file)
        .spawn()
        .expect("spawn node");
    let out = Guard::new(child).wait_output(Duration::from_secs(60));
    assert!(out.status.success(), "node {major} gc-app failed");
    log
}

#[test]
fn live_traces_from_node_16_20_24_leak_vs_steady() {
    let dir = tempfile::tempdir().unwrap();
    for major in [16, 20, 24] {
        let leak = capture(dir.path(), major, "leak");
        let steady = capture(dir.path(), major, "steady");
        let (r, code) = gc_json(&[&leak]);
        check_accounting(&r, &leak);
        assert_eq!(
            r["verdict"], "growing",
            "node {major} leak: {}",
            r["processes"][0]["growth"]
        );
        assert_eq!(code, 1);
        assert_eq!(r["processes"][0]["growth"]["basis"], "full-gcs");
        let (r, code) = gc_json(&[&steady]);
        check_accounting(&r, &steady);
        assert_eq!(
            r["verdict"], "stable",
            "node {major} steady: {}",
            r["processes"][0]["growth"]
        );
        assert_eq!(code, 0);
        assert!(r["processes"][0]["growth"]["points"].as_u64().unwrap() >= 3);
    }
}

#[test]
fn node22_minor_mark_sweep_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for flags in [
        ["--trace-gc", "--minor-ms"],
        ["--trace-gc-nvp", "--minor-ms"],
    ] {
        let log = capture_with(dir.path(), 22, "leak", &flags);
        let (r, _) = gc_json(&[&log]);
        check_accounting(&r, &log);
        let k = kinds(&r);
        assert!(
            k.contains(&"minor-mark-sweep".to_string()),
            "{flags:?}: {k:?}"
        );
        assert!(!k.contains(&"scavenge".to_string()), "{flags:?}: {k:?}");
        assert!(!k.contains(&"other".to_string()), "{flags:?}: {k:?}");
    }
}

#[test]
fn several_files_table_csv_and_plot() {
    let a = sample("node16.trace-gc.log");
    let b = sample("node24.trace-gc.log");
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("gc.svg");
    let out = heapscan()
        .args(["gc", "--format", "table", "--plot"])
        .arg(&svg)
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.contains("mark-compact") && table.contains("scavenge"),
        "{table}"
    );
    assert!(table.contains("verdict: growing"));
    assert_eq!(table.matches("mutator utilisation").count(), 2);
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.contains("heap after GC"));
    assert!(chart.matches("<circle").count() >= 6, "full GCs are marked");

    let out = heapscan()
        .args(["gc", "--format", "csv", "-o", "-"])
        .arg(&a)
        .output()
        .unwrap();
    let csv = String::from_utf8(out.stdout).unwrap();
    let (_, marked, _) = count_lines(&a);
    assert_eq!(
        csv.lines().count() as u64,
        marked + 1,
        "one row per GC plus header"
    );
    assert!(
        csv.starts_with("file,pid,isolate,time_ms,kind,heap_after_mb,pause_ms,for_heap_snapshot\n")
    );
    // Deterministic: the same input gives the same bytes.
    let again = heapscan()
        .args(["gc", "--format", "csv"])
        .arg(&a)
        .output()
        .unwrap();
    assert_eq!(again.stdout, csv.as_bytes());
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let out = heapscan()
        .args(["gc", "/nonexistent/gc.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/gc.log"));
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.log");
    std::fs::write(&junk, b"\xff\xfe not a gc log [1:0x] 5 ms: \n\n").unwrap();
    let out = heapscan()
        .args(["gc", "--format", "json"])
        .arg(&junk)
        .output()
        .unwrap();
    // A file without a single GC record is not a GC log: no verdict to give.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("junk.log: not a --trace-gc log (no GC records in 2 lines)")
            && stderr.contains("--trace-gc app.js"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(out.stdout.is_empty());
    let out = heapscan()
        .args(["gc", "--plot", "x.png"])
        .arg(sample("node20.trace-gc.log"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".svg"));
}

/// The GCs V8 runs to take heap snapshots (two full GCs each, reason `heap profiler`) are
/// labelled and left out of the app's pause statistics and growth fit.
#[test]
fn heap_snapshot_gcs_are_labelled_and_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    for major in [16, 24] {
        let node = node(major);
        let script = r#"
            const v8 = require('v8');
            const keep = [];
            let n = 0;
            const t = setInterval(() => {
              for (let i = 0; i < 2000; i++) keep.push({ i, s: 'x'.repeat(50) });
              if (++n % 10 === 0) v8.writeHeapSnapshot(process.argv[1] + '/s' + n + '.heapsnapshot');
              if (n === 30) clearInterval(t);
            }, 5);
        "#;
        let out = std::process::Command::new(&node)
            .args(["--trace-gc", "--max-semi-space-size=1", "-e", script])
            .arg(dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = dir.path().join(format!("node{major}.log"));
        std::fs::write(&log, &out.stdout).unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let for_snapshots = text.lines().filter(|l| l.contains("heap profiler")).count();
        assert_eq!(
            for_snapshots, 6,
            "node {major}: two GCs per snapshot:\n{text}"
        );
        let all = text.lines().filter(|l| l.contains(" ms: ")).count();
        let (r, _) = gc_json(&[&log]);
        let p = &r["processes"][0];
        assert_eq!(p["heap_snapshot_gcs"], 6, "node {major}");
        assert_eq!(p["gcs"].as_u64(), Some((all - 6) as u64), "node {major}");
        assert_eq!(p["pauses"]["count"], p["gcs"], "node {major}");
        let points = p["heap_after"].as_array().unwrap();
        assert_eq!(
            points
                .iter()
                .filter(|h| h["for_heap_snapshot"] == true)
                .count(),
            6
        );
        let table = heapscan().arg("gc").arg(&log).output().unwrap();
        let table = String::from_utf8_lossy(&table.stdout);
        assert!(
            table.contains("(6 more for heap snapshots, reason `heap profiler`: not counted)"),
            "{table}"
        );
    }
}
