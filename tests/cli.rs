//! The binary on real snapshots: formats, options, outputs, standard input, compression, and
//! the same output whatever the number of threads.

use std::io::Read;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use heapscan::report::retainers::RetainersReport;
use heapscan::report::summary::SummaryReport;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sample(name: &str) -> PathBuf {
    root()
        .join("samples")
        .join(format!("{name}.heapsnapshot.gz"))
}

fn heapscan() -> Command {
    let mut cmd = Command::cargo_bin("heapscan").expect("binary");
    cmd.env_remove("RAYON_NUM_THREADS");
    cmd
}

fn run_ok(args: &[&str]) -> String {
    stdout_of_success(heapscan().args(args))
}

/// Runs `cmd`, asserts it succeeded, and returns its standard output.
fn stdout_of_success(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn gunzip(path: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).expect("sample"))
        .read_to_end(&mut out)
        .expect("gunzip");
    out
}

fn summary_json(args: &[&str]) -> SummaryReport {
    let text = run_ok(args);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("summary JSON does not match the schema: {e}"))
}

#[test]
fn summary_json_follows_the_schema_and_names_the_sample_classes() {
    let path = sample("node20");
    let report = summary_json(&["summary", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(report.snapshot.node_count, 65390);
    assert_eq!(report.snapshot.edge_count, 260179);
    assert_eq!(
        report.classes.len(),
        report.class_count,
        "json lists every class by default"
    );
    // samples/app.js builds a 20,000-node linked list held by `heapscanSample.list`.
    let list_node = report
        .classes
        .iter()
        .find(|c| c.class == "ListNode")
        .expect("ListNode row");
    assert_eq!(list_node.count, 20000);
    assert_eq!(list_node.self_size, 20000 * 40);
    assert!(
        list_node
            .location
            .as_deref()
            .unwrap_or("")
            .contains("samples/app.js:"),
        "{:?}",
        list_node.location
    );
    let list = report
        .classes
        .iter()
        .find(|c| c.class == "LinkedList")
        .expect("LinkedList row");
    assert!(
        list.retained_size >= list_node.retained_size,
        "the list retains its nodes"
    );
    // Rows are sorted by retained size, largest first.
    assert!(report
        .classes
        .windows(2)
        .all(|w| w[0].retained_size >= w[1].retained_size));
    // The statistics add up to the total.
    let st = &report.statistics;
    assert_eq!(st.total, report.snapshot.total_size);
    assert_eq!(st.v8heap + st.native, st.total);
    assert_eq!(
        st.code + st.strings + st.js_arrays + st.system + st.other,
        st.v8heap
    );
    // The top dominator of a Node.js heap is the global object.
    assert_eq!(report.dominators[0].class, "global");
}

#[test]
fn summary_options_filter_sort_and_cut() {
    let path = sample("node24");
    let p = path.to_str().unwrap();
    let report = summary_json(&[
        "summary",
        p,
        "--format",
        "json",
        "--class",
        "^(Linked)?List",
        "--top",
        "1",
    ]);
    assert_eq!(report.classes.len(), 1);
    assert_eq!(report.matching_classes, 2, "ListNode and LinkedList match");
    assert_eq!(
        report.classes[0].class, "LinkedList",
        "by retained size the list comes first"
    );
    let by_count = summary_json(&[
        "summary", p, "--format", "json", "--sort", "count", "--top", "5",
    ]);
    assert!(by_count
        .classes
        .windows(2)
        .all(|w| w[0].count >= w[1].count));
    let by_self = summary_json(&[
        "summary", p, "--format", "json", "--sort", "self", "--top", "5",
    ]);
    assert!(by_self
        .classes
        .windows(2)
        .all(|w| w[0].self_size >= w[1].self_size));
    let by_distance = summary_json(&["summary", p, "--format", "json", "--sort", "distance"]);
    assert!(by_distance
        .classes
        .windows(2)
        .all(|w| w[0].distance <= w[1].distance));
}

#[test]
fn summary_table_and_csv() {
    let path = sample("node16");
    let table = run_ok(&["summary", path.to_str().unwrap(), "--top", "10"]);
    assert!(table.contains("61,919 nodes"), "{table}");
    assert!(table.contains("ListNode"));
    assert!(table.contains("Statistics"));
    assert!(table.contains("Top dominators"));
    assert!(table.contains("(10 of "), "says rows were cut: {table}");
    let csv = run_ok(&["summary", path.to_str().unwrap(), "--format", "csv"]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("class,location,count,distance,self_size,retained_size,self_percent,retained_percent")
    );
    let list_node = csv
        .lines()
        .find(|l| l.starts_with("ListNode,"))
        .expect("ListNode row");
    assert!(list_node.contains(",20000,"), "{list_node}");
}

#[test]
fn output_file_stdin_and_compression_give_identical_reports() {
    let gz = sample("node22");
    let dir = tempfile::tempdir().expect("tempdir");
    let raw = gunzip(&gz);
    let plain = dir.path().join("plain.heapsnapshot");
    std::fs::write(&plain, &raw).expect("write");
    let zst = dir.path().join("snap.heapsnapshot.zst");
    std::fs::write(&zst, zstd::encode_all(&raw[..], 3).expect("zstd")).expect("write");
    let out_file = dir.path().join("out.json");

    let strip_file = |mut r: SummaryReport| {
        r.snapshot.file.clear();
        r.snapshot.compressed_size = None;
        serde_json::to_string(&r).expect("json")
    };
    let from_plain = summary_json(&["summary", plain.to_str().unwrap(), "--format", "json"]);
    assert_eq!(from_plain.snapshot.compressed_size, None);
    assert_eq!(from_plain.snapshot.file_size, raw.len() as u64);
    let from_gz = summary_json(&[
        "summary",
        gz.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        "-",
    ]);
    assert_eq!(
        from_gz.snapshot.compressed_size,
        Some(std::fs::metadata(&gz).unwrap().len())
    );
    let from_zst = summary_json(&["summary", zst.to_str().unwrap(), "--format", "json"]);
    run_ok(&[
        "summary",
        plain.to_str().unwrap(),
        "--format",
        "json",
        "-o",
        out_file.to_str().unwrap(),
    ]);
    let from_file: SummaryReport =
        serde_json::from_str(&std::fs::read_to_string(&out_file).expect("output file"))
            .expect("schema");
    let stdin_out = stdout_of_success(
        heapscan()
            .args(["summary", "-", "--format", "json"])
            .write_stdin(std::fs::read(&gz).expect("gz bytes")),
    );
    let from_stdin: SummaryReport = serde_json::from_str(&stdin_out).expect("schema");
    assert_eq!(from_stdin.snapshot.file, "-");

    let reference = strip_file(from_plain);
    assert_eq!(strip_file(from_gz), reference);
    assert_eq!(strip_file(from_zst), reference);
    assert_eq!(strip_file(from_file), reference);
    assert_eq!(strip_file(from_stdin), reference);
}

/// zstd as parallel compressors write it (`pzstd`: each frame behind a skippable frame that
/// says how long it is) is zstd too: read from a file and from standard input, it gives the
/// plain file's summary.
#[test]
fn zstd_written_in_frames_with_skippable_ones_reads_as_the_plain_file() {
    let raw = gunzip(&sample("node20"));
    let dir = tempfile::tempdir().expect("tempdir");
    let plain = dir.path().join("plain.heapsnapshot");
    std::fs::write(&plain, &raw).expect("write");
    let mut framed = Vec::new();
    for part in raw.chunks(raw.len() / 3 + 1) {
        let frame = zstd::encode_all(part, 3).expect("zstd");
        // A skippable frame (magic 0x184D2A50) holding the next frame's length.
        framed.extend_from_slice(&0x184D_2A50u32.to_le_bytes());
        framed.extend_from_slice(&4u32.to_le_bytes());
        framed.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        framed.extend_from_slice(&frame);
    }
    let zst = dir.path().join("framed.heapsnapshot.zst");
    std::fs::write(&zst, &framed).expect("write");
    let table = |args: &[&str], input: Option<&[u8]>| {
        let mut cmd = heapscan();
        cmd.args(args);
        if let Some(bytes) = input {
            cmd.write_stdin(bytes.to_vec());
        }
        let out = stdout_of_success(&mut cmd);
        // The first line names the file and its compressed size.
        out.lines().skip(1).collect::<Vec<_>>().join("\n")
    };
    let reference = table(&["summary", "--no-index", plain.to_str().unwrap()], None);
    assert!(reference.contains("ListNode"), "{reference}");
    let from_file = table(&["summary", "--no-index", zst.to_str().unwrap()], None);
    assert_eq!(from_file, reference);
    let from_stdin = table(&["summary", "--no-index", "-"], Some(&framed));
    assert_eq!(from_stdin, reference);
}

/// A diff reads its second file ahead, on idle-priority threads, while the first is analysed;
/// a mapped file's pages are released as they are parsed. Neither may change a byte of the
/// report: plain (mapped) files give the same diff as the same snapshots gzipped (read into
/// memory), and as the plain files read one at a time (nothing read ahead), with two, three
/// and four files (the second read ahead beside the first build), on one thread and on four.
#[test]
fn diff_reads_ahead_and_releases_pages_without_changing_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let names = ["node18", "node20", "node22", "node24"];
    let mut plain = Vec::new();
    let mut gz = Vec::new();
    for name in names {
        let path = dir.path().join(format!("{name}.heapsnapshot"));
        std::fs::write(&path, gunzip(&sample(name))).expect("write");
        plain.push(path.to_str().unwrap().to_string());
        gz.push(sample(name).to_str().unwrap().to_string());
    }
    for count in [2, 3, 4] {
        for threads in ["1", "4"] {
            let diff_within = |files: &[String], max_memory: &str| {
                let mut text = stdout_of_success(
                    heapscan()
                        .env("RAYON_NUM_THREADS", threads)
                        .env("HEAPSCAN_MAX_MEMORY", max_memory)
                        .args(["diff", "--no-index"])
                        .args(&files[..count])
                        .args(["--format", "json"]),
                );
                // The file names differ (in `snapshots` and in the same-process reason);
                // everything else must not.
                for (i, file) in files[..count].iter().enumerate() {
                    let escaped = serde_json::to_string(file).expect("json");
                    text = text.replace(escaped.trim_matches('"'), &format!("FILE{i}"));
                }
                text
            };
            let diff = |files: &[String]| diff_within(files, "64G");
            let from_plain = diff(&plain);
            let report: serde_json::Value = serde_json::from_str(&from_plain).expect("json");
            assert_eq!(report["snapshots"].as_array().map(Vec::len), Some(count));
            assert!(report["classes"].as_array().is_some_and(|c| c.len() > 50));
            assert!(from_plain.contains("FILE1"));
            assert!(
                from_plain == diff(&gz),
                "{count} files, {threads} threads: the reports differ"
            );
            assert!(
                from_plain == diff_within(&plain, "1M"),
                "{count} files, {threads} threads: read in turn, the report differs"
            );
        }
    }
}

#[test]
fn same_output_with_one_and_many_threads() {
    for name in ["node16", "node24"] {
        let path = sample(name);
        let p = path.to_str().unwrap();
        for args in [
            vec!["summary", p, "--format", "json"],
            vec!["nodes", p, "--format", "csv"],
        ] {
            let one = heapscan()
                .env("RAYON_NUM_THREADS", "1")
                .args(&args)
                .output()
                .expect("run");
            let many = heapscan()
                .env("RAYON_NUM_THREADS", "4")
                .args(&args)
                .output()
                .expect("run");
            assert!(one.status.success() && many.status.success());
            assert!(!one.stdout.is_empty());
            assert!(
                one.stdout == many.stdout,
                "{args:?} differs between 1 and 4 threads"
            );
        }
    }
}

#[test]
fn nodes_lists_every_object_and_filters() {
    let path = sample("node20");
    let p = path.to_str().unwrap();
    let csv = run_ok(&["nodes", p]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("id,type,class,name,self_size,retained_size,distance,dominator_id")
    );
    assert_eq!(lines.count(), 65390, "one row per node");
    let jsonl = run_ok(&["nodes", p, "--format", "jsonl", "--class", "^ListNode$"]);
    let rows: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(rows.len(), 20000);
    assert!(rows
        .iter()
        .all(|r| r["class"] == "ListNode" && r["self_size"] == 40));
    let big = run_ok(&["nodes", p, "--min-retained", "1MB", "--format", "jsonl"]);
    assert!(big.lines().count() >= 2);
    for line in big.lines() {
        let row: serde_json::Value = serde_json::from_str(line).expect("json line");
        assert!(row["retained_size"].as_u64().unwrap() >= 1_000_000);
    }
}

#[test]
fn retainers_show_the_path_from_the_roots() {
    let path = sample("node20");
    let p = path.to_str().unwrap();
    let text = run_ok(&["retainers", p, "--class", "LinkedList", "--format", "json"]);
    let report: RetainersReport = serde_json::from_str(&text).expect("schema");
    assert_eq!(report.target.class, "LinkedList");
    assert_eq!(report.class_members, Some(1));
    let path0 = &report.paths[0];
    let names: Vec<&str> = path0.steps.iter().map(|s| s.edge_name.as_str()).collect();
    // global.heapscanSample.list, as samples/app.js stores it.
    assert_eq!(
        &names[names.len() - 2..],
        ["heapscanSample", "list"],
        "{names:?}"
    );
    assert_eq!(path0.steps.last().unwrap().node.id, report.target.id);
    assert_eq!(path0.steps[0].node.class, "global");
    // By id, in the table format.
    let id = format!("@{}", report.target.id);
    let table = run_ok(&["retainers", p, &id]);
    assert!(table.contains(".heapscanSample"), "{table}");
    assert!(table.contains(".list → LinkedList"), "{table}");
    // An id that does not exist is an error (exit 2), not a panic.
    heapscan()
        .args(["retainers", p, "@4294967295"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("no object has id @4294967295"));
}

#[test]
fn usage_errors_exit_2() {
    heapscan().args(["summary"]).assert().code(2);
    heapscan()
        .args([
            "summary",
            sample("node16").to_str().unwrap(),
            "--class",
            "(",
        ])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "--class is not a valid regular expression",
        ));
    heapscan()
        .args([
            "nodes",
            sample("node16").to_str().unwrap(),
            "--min-retained",
            "lots",
        ])
        .assert()
        .code(2);
}

/// `heapscan nodes … | head -1` (and the other commands that stream rows): the reader going
/// away ends heapscan quietly with 0, as it does for any command-line tool.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    for args in [
        &["nodes", "samples/node20.heapsnapshot.gz"][..],
        &[
            "nodes",
            "samples/node20.heapsnapshot.gz",
            "--format",
            "jsonl",
        ],
        &[
            "summary",
            "samples/node20.heapsnapshot.gz",
            "--format",
            "csv",
            "--top",
            "100000",
        ],
        &[
            "summary",
            "samples/node20.heapsnapshot.gz",
            "--format",
            "json",
            "--top",
            "100000",
        ],
    ] {
        // An index directory of its own: one shared with other builds' indexes would have
        // them rebuilt, with a note on stderr.
        let cache = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_heapscan"))
            .args(args)
            .env("HEAPSCAN_INDEX_DIR", cache.path())
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut first = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut first)
            .unwrap();
        assert!(!first.is_empty(), "{args:?}");
        // The reader is gone (dropped): heapscan's next writes hit a closed pipe.
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
}

/// The README's first command: the bundled leak series names the leaking listener, at the
/// app's line, and `--fail-on-leak` fails.
#[test]
fn the_readme_sample_series_names_the_leak() {
    let files = ["leak-1", "leak-2", "leak-3"].map(sample);
    let mut cmd = heapscan();
    cmd.arg("diff").args(&files).args(["--format", "json"]);
    let json: serde_json::Value =
        serde_json::from_str(&stdout_of_success(&mut cmd)).expect("diff JSON");
    assert_eq!(
        json["same_process"], true,
        "{}",
        json["same_process_reason"]
    );
    let suspects = json["suspects"].as_array().expect("suspects");
    assert_eq!(suspects.len(), 1, "{suspects:?}");
    let s = &suspects[0];
    assert_eq!(s["kind"], "listener");
    assert_eq!(s["class"], "onData");
    assert_eq!(s["owner"]["via"], "bus");
    let line = std::fs::read_to_string(root().join("tests/apps/leak-listener.js"))
        .expect("app source")
        .lines()
        .position(|l| l.contains("heapscan-expect: listener emitter"))
        .expect("marker")
        + 1;
    assert!(
        s["location"]
            .as_str()
            .is_some_and(|l| l.contains(&format!("tests/apps/leak-listener.js:{line}:"))),
        "{}",
        s["location"]
    );
    let out = heapscan()
        .arg("diff")
        .args(&files)
        .arg("--fail-on-leak")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
}

/// With less memory than overlapping two snapshots' work needs, `diff`, `gate` and `report`
/// read one snapshot at a time, say so, and answer as they do with memory to spare: the same
/// diff JSON, the same gate verdict and exit code, the same HTML bytes.
#[test]
fn short_of_memory_the_snapshots_are_read_in_turn_with_the_same_answer() {
    let files = ["leak-1", "leak-2", "leak-3"].map(sample);
    let dir = tempfile::tempdir().unwrap();
    let in_turn_note = "reading one snapshot at a time to stay within";
    let run = |args: &[&str], max_memory: Option<&str>| {
        let mut cmd = heapscan();
        cmd.args(args).args(&files).arg("--no-index");
        cmd.env_remove("HEAPSCAN_MAX_MEMORY");
        if let Some(m) = max_memory {
            cmd.env("HEAPSCAN_MAX_MEMORY", m);
        }
        cmd.output().expect("run")
    };
    let plenty = run(&["diff", "--format", "json"], Some("64G"));
    let short = run(&["diff", "--format", "json"], Some("1M"));
    assert!(plenty.status.success());
    assert!(short.status.success());
    let (plenty_err, short_err) = (
        String::from_utf8_lossy(&plenty.stderr),
        String::from_utf8_lossy(&short.stderr),
    );
    assert!(!plenty_err.contains(in_turn_note), "{plenty_err}");
    assert!(short_err.contains(in_turn_note), "{short_err}");
    assert!(short_err.contains("give it more memory"), "{short_err}");
    assert_eq!(
        String::from_utf8_lossy(&plenty.stdout),
        String::from_utf8_lossy(&short.stdout)
    );
    let suspects: serde_json::Value = serde_json::from_slice(&short.stdout).unwrap();
    assert_eq!(suspects["suspects"].as_array().map(Vec::len), Some(1));

    // The flag says the same as the environment.
    let flagged = heapscan()
        .args([
            "diff",
            "--format",
            "json",
            "--no-index",
            "--max-memory",
            "1M",
        ])
        .args(&files)
        .env_remove("HEAPSCAN_MAX_MEMORY")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&flagged.stderr).contains(in_turn_note));
    assert_eq!(flagged.stdout, short.stdout);

    // With an index cache: the first diff builds each snapshot's index as it goes (its
    // retainer lists built before the dominators, for the index), the second reads them; both
    // answer the same.
    let cache = dir.path().join("cache");
    let indexed = || {
        heapscan()
            .args(["diff", "--format", "json", "--max-memory", "1M"])
            .args(&files)
            .env_remove("HEAPSCAN_MAX_MEMORY")
            .env("HEAPSCAN_INDEX_DIR", &cache)
            .output()
            .unwrap()
    };
    for run in ["building the indexes", "reading them"] {
        let out = indexed();
        assert!(
            out.status.success(),
            "{run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(in_turn_note),
            "{run}"
        );
        assert_eq!(out.stdout, short.stdout, "{run}");
    }
    assert!(
        std::fs::read_dir(&cache).unwrap().count() > 0,
        "the indexes were saved"
    );

    let gate_plenty = run(&["gate"], Some("64G"));
    let gate_short = run(&["gate"], Some("1M"));
    assert_eq!(gate_plenty.status.code(), Some(1), "the series leaks");
    assert_eq!(gate_short.status.code(), gate_plenty.status.code());
    assert_eq!(gate_short.stdout, gate_plenty.stdout);

    let html = |name: &str, m: &str| {
        let out = dir.path().join(name);
        let o = run(&["report", "-o", out.to_str().unwrap()], Some(m));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read(out).unwrap()
    };
    assert!(html("plenty.html", "64G") == html("short.html", "1M"));
}

/// Terminal tables cut long class names (DevTools names plain objects by their property sets)
/// to 64 characters ending in `…`, in `summary` and `diff` alike; JSON keeps the whole name.
#[test]
fn tables_cut_long_class_names_and_json_keeps_them() {
    let files = ["leak-1", "leak-2", "leak-3"].map(sample);
    let whole = "{setupHooks, setCallbackTrampoline, pushAsyncContext, popAsyncContext, \
                 executionAsyncResource, clearAsyncIdStack}";
    let cut = "{setupHooks, setCallbackTrampoline, pushAsyncContext, popAsyncC…";
    assert_eq!(cut.chars().count(), 64);
    let diff_table = stdout_of_success(heapscan().arg("diff").args(&files));
    let summary_table = run_ok(&[
        "summary",
        files[2].to_str().unwrap(),
        "--class",
        "setupHooks",
    ]);
    for table in [&diff_table, &summary_table] {
        assert!(table.contains(&format!("│ {cut} ")), "{table}");
        assert!(!table.contains(whole));
    }
    let json = stdout_of_success(
        heapscan()
            .arg("diff")
            .args(&files)
            .args(["--format", "json"]),
    );
    assert!(json.contains(whole));
}
