//! `heapscan gate` end to end: snapshots captured from a leaking and a clean Node.js app are
//! gated with real JUnit, JSON, Markdown and GitHub Actions outputs, a baseline, growth limits
//! and a `heapscan.toml`.

mod support;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use heapscan::gate::{Baseline, GateReport};
use heapscan::report::diff::SuspectKind;
use quick_xml::events::Event;

fn gate(dir: &Path, snapshots: &[PathBuf], args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("heapscan").expect("binary");
    cmd.current_dir(dir)
        .env_remove("GITHUB_ACTIONS")
        .arg("gate")
        .args(snapshots)
        .args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// (testcases, failures) of a JUnit file, checked for the structure CI systems read:
/// `<testsuites>` with `<testsuite tests= failures=>` holding `<testcase name= classname=>`.
fn junit_counts(path: &Path) -> (usize, usize) {
    let xml = std::fs::read_to_string(path).expect("junit file");
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut saw_suites, mut declared) = (0, 0, false, None);
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => {
                let attr = |name: &[u8]| {
                    e.attributes()
                        .flatten()
                        .find(|a| a.key.as_ref() == name)
                        .map(|a| String::from_utf8_lossy(&a.value).into_owned())
                };
                match e.name().as_ref() {
                    b"testsuites" => saw_suites = true,
                    b"testsuite" => declared = attr(b"tests").and_then(|t| t.parse::<usize>().ok()),
                    b"testcase" => {
                        assert!(attr(b"name").is_some() && attr(b"classname").is_some());
                        cases += 1;
                    }
                    b"failure" => failures += 1,
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert!(saw_suites, "a <testsuites> root");
    assert_eq!(declared, Some(cases), "the suite declares its test count");
    (cases, failures)
}

#[test]
fn gate_fails_on_a_leak_passes_with_its_baseline_and_on_a_clean_app() {
    let node = support::node_binary(Some(20));
    let leaky = support::capture("leak-cache.js", &["map"], &node, 3, 200);
    let clean = support::capture("ok-lru.js", &[], &node, 3, 200);
    let work = tempfile::tempdir().expect("tempdir");
    let dir = work.path();

    // 1. The leak fails the gate, with every output.
    let (code, out) = gate(
        dir,
        &leaky.snapshots,
        &[
            "--junit",
            "junit.xml",
            "--json",
            "gate.json",
            "--markdown",
            "summary.md",
        ],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("heapscan gate FAILED"), "{out}");
    assert!(out.contains("sessionCache"), "{out}");
    let (cases, failures) = junit_counts(&dir.join("junit.xml"));
    assert_eq!((cases, failures), (1, 1));
    let report: GateReport =
        serde_json::from_str(&std::fs::read_to_string(dir.join("gate.json")).unwrap())
            .expect("gate JSON schema");
    assert!(!report.passed);
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.diff.suspects[0].owner.via, "sessionCache");
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(
        md.contains("heapscan gate failed") && md.contains("sessionCache"),
        "{md}"
    );

    // 2. GitHub Actions annotations point at the source line.
    let (code, out) = gate(dir, &leaky.snapshots, &[], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(code, 1);
    let annotation = out
        .lines()
        .find(|l| l.starts_with("::error "))
        .unwrap_or_else(|| panic!("no annotation: {out}"));
    assert!(
        annotation.contains("file=") && annotation.contains("leak-cache.js"),
        "{annotation}"
    );
    assert!(annotation.contains(",line="), "{annotation}");

    // 3. Accepting it in a baseline makes the same snapshots pass.
    let (code, out) = gate(
        dir,
        &leaky.snapshots,
        &["--write-baseline", "baseline.json"],
        &[],
    );
    assert_eq!(
        code, 1,
        "writing a baseline does not change the verdict: {out}"
    );
    let baseline: Baseline =
        serde_json::from_str(&std::fs::read_to_string(dir.join("baseline.json")).unwrap()).unwrap();
    assert_eq!(baseline.accepted.len(), 1);
    assert_eq!(baseline.accepted[0].kind, SuspectKind::Collection);
    let (code, out) = gate(
        dir,
        &leaky.snapshots,
        &["--baseline", "baseline.json", "--junit", "junit2.xml"],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("accepted in the baseline"), "{out}");
    assert_eq!(junit_counts(&dir.join("junit2.xml")), (1, 0));

    // 4. …but not past a growth limit, from flags or from heapscan.toml.
    let (code, out) = gate(
        dir,
        &leaky.snapshots,
        &["--baseline", "baseline.json", "--max-growth", "1MB"],
        &[],
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("retained growth"), "{out}");
    std::fs::write(
        dir.join("heapscan.toml"),
        "[gate]\nbaseline = \"baseline.json\"\nmax_class_growth = \"500kB\"\njunit = \"from-config.xml\"\n",
    )
    .unwrap();
    let (code, out) = gate(dir, &leaky.snapshots, &[], &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("class growth:"), "{out}");
    assert!(
        dir.join("from-config.xml").exists(),
        "junit path from heapscan.toml"
    );
    std::fs::remove_file(dir.join("heapscan.toml")).unwrap();

    // 5. The clean app passes, with a JUnit file that has passing cases.
    let (code, out) = gate(
        dir,
        &clean.snapshots,
        &["--junit", "clean.xml", "--max-class-growth", "1MB"],
        &[],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("heapscan gate PASSED"), "{out}");
    let (cases, failures) = junit_counts(&dir.join("clean.xml"));
    assert!(cases >= 2 && failures == 0);

    // 6. Bad input is never a pass.
    let empty = dir.join("empty.heapsnapshot");
    std::fs::write(&empty, b"").unwrap();
    let (code, out) = gate(dir, &[clean.snapshots[0].clone(), empty], &[], &[]);
    assert_eq!(code, 2, "{out}");
    std::fs::write(dir.join("heapscan.toml"), "[gate]\nmax_growth = \"lots\"\n").unwrap();
    let (code, out) = gate(dir, &clean.snapshots, &[], &[]);
    assert_eq!(code, 2, "{out}");
}
