//! The persisted index through the binary, on real snapshots: a second command reads the
//! index (not the snapshot) and prints byte for byte what a command without it prints; a
//! replaced file, a truncated, damaged or other-version index, concurrent builders, a cache
//! that cannot be written, the size bound and the cache commands.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

mod support;
use support::samples::{plain_copy, replicate, sample};

/// heapscan with its index cache in `cache` (and phase timings on stderr, which name the
/// phases a run went through).
fn heapscan(cache: &Path) -> Command {
    let mut cmd = Command::cargo_bin("heapscan").expect("binary");
    cmd.env("HEAPSCAN_INDEX_DIR", cache)
        .env("HEAPSCAN_TIMINGS", "1")
        .env_remove("HEAPSCAN_NO_INDEX")
        .env_remove("HEAPSCAN_INDEX_MAX_SIZE")
        .env_remove("HEAPSCAN_MAX_MEMORY");
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().expect("run heapscan");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Whether the run parsed a snapshot (rather than reading everything from indexes).
fn parsed(out: &Output) -> bool {
    stderr(out).contains("timing: read+parse")
}

fn indexes(cache: &Path) -> Vec<PathBuf> {
    cache_files(cache, "hsidx")
}

/// Cuts the file at `path` to half its length (a write that never finished).
fn cut_in_half(path: &Path) {
    let len = fs::metadata(path).unwrap().len();
    fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();
}

/// Makes the file at `path` claim format version 999 (one a later heapscan might write).
fn claim_format_999(path: &Path) {
    let mut bytes = fs::read(path).unwrap();
    bytes[16..20].copy_from_slice(&999u32.to_le_bytes());
    fs::write(path, bytes).unwrap();
}

fn leftovers(cache: &Path) -> Vec<PathBuf> {
    fs::read_dir(cache)
        .map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".tmp"))
        .collect()
}

/// Runs `args` without the index, then twice with a fresh cache; asserts the second run read
/// only the index and all three printed the same. Returns the cache's index files.
fn same_with_and_without_index(args: &[&str]) -> Vec<PathBuf> {
    let cache = tempfile::tempdir().unwrap();
    let without = run(heapscan(cache.path()).args(args).arg("--no-index"));
    assert!(
        indexes(cache.path()).is_empty(),
        "--no-index saved an index"
    );
    let first = run(heapscan(cache.path()).args(args));
    assert!(parsed(&first), "{args:?}: the first run did not parse");
    let saved = indexes(cache.path());
    assert!(!saved.is_empty(), "{args:?}: no index saved");
    let second = run(heapscan(cache.path()).args(args));
    assert!(
        !parsed(&second),
        "{args:?}: the second run parsed again: {}",
        stderr(&second)
    );
    assert_eq!(without.stdout, first.stdout, "{args:?}: first run differs");
    assert_eq!(
        without.stdout, second.stdout,
        "{args:?}: indexed run differs"
    );
    assert!(leftovers(cache.path()).is_empty());
    saved
}

#[test]
fn every_command_prints_the_same_from_the_index() {
    let node20 = sample("node20");
    let n = node20.to_str().unwrap();
    for format in ["table", "json", "csv"] {
        same_with_and_without_index(&["summary", n, "--format", format]);
    }
    same_with_and_without_index(&["summary", n, "--dominators", "300", "--sort", "count"]);
    same_with_and_without_index(&["retainers", n, "--class", "Object", "--format", "json"]);
    same_with_and_without_index(&["nodes", n, "--format", "csv"]);
    let series: Vec<String> = (1..=3)
        .map(|k| sample(&format!("leak-{k}")).display().to_string())
        .collect();
    let s: Vec<&str> = series.iter().map(String::as_str).collect();
    let saved = same_with_and_without_index(&["diff", s[0], s[1], s[2], "--format", "json"]);
    assert_eq!(saved.len(), 3, "one index per snapshot of the diff");
    same_with_and_without_index(&["diff", s[0], s[1], s[2]]);
    same_with_and_without_index(&["report", s[0], s[1], s[2], "-o", "-"]);
}

#[test]
fn an_index_made_by_a_summary_answers_retainers() {
    // A summary builds no retainer lists, and its index has none: `retainers` finds the
    // object's retainers by a scan of the edges.
    let cache = tempfile::tempdir().unwrap();
    let file = sample("node20");
    run(heapscan(cache.path()).arg("summary").arg(&file));
    let args = ["retainers", "--class", "Object", "--format", "json"];
    let from_summary = run(heapscan(cache.path()).args(args).arg(&file));
    assert!(!parsed(&from_summary), "{}", stderr(&from_summary));
    let plain = run(heapscan(cache.path())
        .args(args)
        .arg("--no-index")
        .arg(&file));
    assert!(!plain.stdout.is_empty());
    assert_eq!(from_summary.stdout, plain.stdout);
}

#[test]
fn a_summary_from_an_index_made_by_a_diff_computes_what_the_diff_did_not() {
    // A diff builds no distances and no summary facts: the summary adds them.
    let cache = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = (1..=2).map(|k| sample(&format!("leak-{k}"))).collect();
    run(heapscan(cache.path()).arg("diff").args(&files));
    let from_diff = run(heapscan(cache.path()).arg("summary").arg(&files[0]));
    assert!(!parsed(&from_diff));
    let plain = run(heapscan(cache.path())
        .args(["summary", "--no-index"])
        .arg(&files[0]));
    assert_eq!(from_diff.stdout, plain.stdout);
}

#[test]
fn an_index_never_answers_for_a_replaced_or_rewritten_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let file = plain_copy("node18", dir.path());
    run(heapscan(&cache).arg("summary").arg(&file));
    // Replaced by another snapshot at the same path.
    let other = plain_copy("node20", dir.path());
    fs::copy(&other, &file).unwrap();
    let replaced = run(heapscan(&cache).arg("summary").arg(&file));
    assert!(
        parsed(&replaced),
        "a replaced file was answered from its old index"
    );
    let expected = run(heapscan(&cache).args(["summary", "--no-index"]).arg(&other));
    let expected = String::from_utf8(expected.stdout).unwrap();
    let got = String::from_utf8(replaced.stdout).unwrap();
    assert_eq!(
        got.lines().skip(1).collect::<Vec<_>>(),
        expected.lines().skip(1).collect::<Vec<_>>(),
        "the summary is not the new file's"
    );
    // Rewritten in place with the same size and modification time: one string's letter
    // changed near the end (where the strings are).
    let mtime = fs::metadata(&file).unwrap().modified().unwrap();
    let mut bytes = fs::read(&file).unwrap();
    let at = bytes.len() - 200
        + bytes[bytes.len() - 200..]
            .iter()
            .position(u8::is_ascii_lowercase)
            .expect("a letter near the end");
    bytes[at] = if bytes[at] == b'a' { b'b' } else { b'a' };
    fs::write(&file, &bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let rewritten = run(heapscan(&cache).arg("summary").arg(&file));
    assert!(
        parsed(&rewritten),
        "a rewritten file was answered from its old index"
    );
    assert_eq!(indexes(&cache).len(), 3);
}

/// Indexes `file` in `cache`, applies `spoil` to its index, then asserts that a summary notes
/// why the index is not used (`why`), prints what a summary without index prints, and leaves
/// a good index that the next run reads.
fn spoiled_index_is_rebuilt(spoil: impl Fn(&Path), why: &str) {
    let cache = tempfile::tempdir().unwrap();
    let file = sample("node20");
    run(heapscan(cache.path()).arg("index").arg(&file));
    let saved = indexes(cache.path());
    assert_eq!(saved.len(), 1);
    spoil(&saved[0]);
    let expected = run(heapscan(cache.path())
        .args(["summary", "--no-index"])
        .arg(&file));
    let out = run(heapscan(cache.path()).arg("summary").arg(&file));
    assert!(
        stderr(&out).contains(why),
        "no note `{why}`: {}",
        stderr(&out)
    );
    assert!(parsed(&out));
    assert_eq!(out.stdout, expected.stdout);
    let again = run(heapscan(cache.path()).arg("summary").arg(&file));
    assert!(
        !parsed(&again),
        "the index was not rebuilt: {}",
        stderr(&again)
    );
    assert_eq!(again.stdout, expected.stdout);
}

#[test]
fn a_truncated_index_is_rebuilt_with_a_note() {
    spoiled_index_is_rebuilt(cut_in_half, "is not used: it is damaged (it is cut short)");
}

#[test]
fn an_index_of_another_format_version_is_rebuilt_with_a_note() {
    spoiled_index_is_rebuilt(claim_format_999, "it has index format 999");
}

#[test]
fn an_index_with_a_damaged_column_is_rebuilt_with_a_note() {
    // A byte in the middle of the first column (node types), which `nodes` reads (a summary
    // from the index reads no column at all).
    let cache = tempfile::tempdir().unwrap();
    let file = sample("node20");
    run(heapscan(cache.path()).arg("index").arg(&file));
    let saved = indexes(cache.path());
    let mut bytes = fs::read(&saved[0]).unwrap();
    bytes[64 + 1000] ^= 0x5a;
    fs::write(&saved[0], bytes).unwrap();
    let args = ["nodes", "--format", "csv"];
    let expected = run(heapscan(cache.path())
        .args(args)
        .arg("--no-index")
        .arg(&file));
    let out = run(heapscan(cache.path()).args(args).arg(&file));
    let note = stderr(&out);
    assert!(
        note.contains("is damaged (its `node_type` column does not match its checksum); it was removed and is rebuilt"),
        "{note}"
    );
    assert!(!note.contains("panicked"), "{note}");
    assert_eq!(out.stdout, expected.stdout);
    let again = run(heapscan(cache.path()).args(args).arg(&file));
    assert!(!parsed(&again));
    assert_eq!(again.stdout, expected.stdout);
}

#[test]
fn concurrent_builders_of_one_index_each_succeed_and_leave_one_whole_index() {
    let cache = tempfile::tempdir().unwrap();
    let file = sample("node22");
    let spawned: Vec<_> = (0..4)
        .map(|_| {
            std::process::Command::new(assert_cmd::cargo::cargo_bin("heapscan"))
                .env("HEAPSCAN_INDEX_DIR", cache.path())
                .args(["summary", "--format", "json"])
                .arg(&file)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    let outputs: Vec<Output> = spawned
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect();
    let expected = run(heapscan(cache.path())
        .args(["summary", "--format", "json", "--no-index"])
        .arg(&file));
    for out in &outputs {
        assert!(out.status.success(), "{}", stderr(out));
        assert_eq!(out.stdout, expected.stdout);
    }
    assert_eq!(indexes(cache.path()).len(), 1);
    assert!(leftovers(cache.path()).is_empty());
    let reread = run(heapscan(cache.path())
        .args(["summary", "--format", "json"])
        .arg(&file));
    assert!(!parsed(&reread));
    assert_eq!(reread.stdout, expected.stdout);
}

#[test]
fn a_cache_that_cannot_be_written_is_noted_and_the_command_goes_on() {
    let file = sample("node20");
    // A directory that cannot be created, whoever runs the test (root included).
    let unwritable = Path::new("/proc/heapscan-index-test");
    let out = run(heapscan(unwritable).arg("summary").arg(&file));
    assert!(
        stderr(&out).contains("cannot save the index of")
            && stderr(&out).contains("going on without it"),
        "{}",
        stderr(&out)
    );
    let expected = run(heapscan(unwritable)
        .args(["summary", "--no-index"])
        .arg(&file));
    assert_eq!(out.stdout, expected.stdout);
}

#[test]
fn a_read_only_cache_is_read_but_not_written() {
    // Root may write anywhere: the read-only part runs heapscan as `nobody` when the test runs
    // as root, and as the test's own user otherwise.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let indexed = plain_copy("node20", dir.path());
    let other = plain_copy("node22", dir.path());
    run(heapscan(&cache).arg("index").arg(&indexed));
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), &cache] {
        fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let digests = cache_files(&cache, "hsdig");
    for p in indexes(&cache)
        .iter()
        .chain(&digests)
        .chain([&indexed, &other])
    {
        fs::set_permissions(p, fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o555)).unwrap();
    let as_other_user = |command: &str, args: &[&Path]| {
        let mut cmd = heapscan(&cache);
        let root = unsafe { libc::geteuid() } == 0;
        if root {
            let bin = assert_cmd::cargo::cargo_bin("heapscan");
            cmd = Command::new("setpriv");
            cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(bin)
                .env("HEAPSCAN_INDEX_DIR", &cache)
                .env("HEAPSCAN_TIMINGS", "1");
        }
        cmd.arg(command).args(args);
        cmd.output().expect("run heapscan")
    };
    let before = indexes(&cache);
    let read = as_other_user("summary", &[&indexed]);
    assert!(read.status.success(), "{}", stderr(&read));
    assert!(
        !parsed(&read),
        "the read-only index was not read: {}",
        stderr(&read)
    );
    let fresh = as_other_user("summary", &[&other]);
    assert!(fresh.status.success(), "{}", stderr(&fresh));
    assert!(parsed(&fresh));
    assert!(
        stderr(&fresh).contains("cannot save the index of")
            && stderr(&fresh).contains("going on without it"),
        "{}",
        stderr(&fresh)
    );
    // A diff reads the kept digest of the indexed file and cannot keep the other one's.
    let diff = as_other_user("diff", &[&indexed, &other]);
    assert!(
        stderr(&diff).contains("timing: load-digest")
            && stderr(&diff).contains("cannot save the diff digest of"),
        "{}",
        stderr(&diff)
    );
    assert_eq!(indexes(&cache), before);
    assert_eq!(cache_files(&cache, "hsdig"), digests);
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o755)).unwrap();
    let expected = run(heapscan(&cache).args(["summary", "--no-index"]).arg(&other));
    assert_eq!(fresh.stdout, expected.stdout);
    let expected = heapscan(&cache)
        .args(["diff", "--no-index"])
        .arg(&indexed)
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(diff.status.code(), expected.status.code());
    assert_eq!(diff.stdout, expected.stdout);
}

#[test]
fn the_cache_stays_under_its_bound_by_removing_the_least_recently_used() {
    let cache = tempfile::tempdir().unwrap();
    let [a, b, c] = ["node16", "node18", "node20"].map(sample);
    run(heapscan(cache.path()).arg("index").arg(&a));
    let one = fs::metadata(&indexes(cache.path())[0]).unwrap().len();
    // Room for two indexes of this size, not three.
    let bound = (one * 5 / 2).to_string();
    let with_bound = |args: &[&Path]| {
        let mut cmd = heapscan(cache.path());
        cmd.env("HEAPSCAN_INDEX_MAX_SIZE", &bound).args(args);
        run(&mut cmd)
    };
    std::thread::sleep(std::time::Duration::from_millis(20));
    with_bound(&[Path::new("index"), &b]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // Using a's index makes b the least recently used.
    let used = with_bound(&[Path::new("summary"), &a]);
    assert!(!parsed(&used));
    std::thread::sleep(std::time::Duration::from_millis(20));
    with_bound(&[Path::new("index"), &c]);
    assert_eq!(indexes(cache.path()).len(), 2);
    assert!(
        !parsed(&with_bound(&[Path::new("summary"), &a])),
        "a was evicted"
    );
    assert!(
        !parsed(&with_bound(&[Path::new("summary"), &c])),
        "c was evicted"
    );
    assert!(
        parsed(&with_bound(&[Path::new("summary"), &b])),
        "b was kept"
    );
}

#[test]
fn cache_list_and_clear_and_index_say_what_they_did() {
    let cache = tempfile::tempdir().unwrap();
    let file = sample("node24");
    let first = run(heapscan(cache.path()).arg("index").arg(&file));
    let said = String::from_utf8(first.stdout).unwrap();
    assert!(said.contains(": indexed in "), "{said}");
    let again = run(heapscan(cache.path()).arg("index").arg(&file));
    assert!(String::from_utf8_lossy(&again.stdout).contains(": already indexed in "));
    assert!(!parsed(&again));
    let list = run(heapscan(cache.path()).args(["cache", "list"]));
    let list = String::from_utf8(list.stdout).unwrap();
    assert!(list.contains("1 index(es)"), "{list}");
    assert!(list.contains(".hsidx") && list.contains("nodes"), "{list}");
    let clear = run(heapscan(cache.path()).args(["cache", "clear"]));
    assert!(String::from_utf8(clear.stdout)
        .unwrap()
        .contains("removed 1 index(es)"));
    assert!(indexes(cache.path()).is_empty());
    let missing = heapscan(cache.path())
        .args(["cache", "list", "--no-index"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn standard_input_is_never_indexed() {
    let cache = tempfile::tempdir().unwrap();
    let bytes = fs::read(sample("node20")).unwrap();
    let out = heapscan(cache.path())
        .args(["summary", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(indexes(cache.path()).is_empty());
}

mod damage {
    //! Random damage to a real index, through the library: whatever byte is changed, the
    //! answers are the ones a read without the index gives (the damage is noticed and the
    //! index rebuilt, or the byte was padding), and nothing panics.

    use std::fs;
    use std::path::{Path, PathBuf};

    use heapscan::graph::HeapGraph;
    use heapscan::index::{recover, IndexCache};
    use heapscan::nodes::{rows, NodeFilter};
    use heapscan::observe::Quiet;
    use heapscan::report::nodes::write_csv;
    use heapscan::report::{summary::render, Format};
    use heapscan::summary::{summarize, SortKey, SummaryOptions};
    use proptest::prelude::*;

    /// What `summary` and `nodes` print of `file`, read through `cache` (or parsed).
    fn answers(file: &Path, cache: Option<&IndexCache>) -> Vec<u8> {
        recover(cache, &Quiet, |cache| {
            let mut graph = HeapGraph::open(file, heapscan::graph::Columns::ALL, cache, &Quiet)
                .expect("a readable snapshot");
            let options = SummaryOptions {
                top: None,
                sort: SortKey::Retained,
                class_filter: None,
                dominators: 20,
            };
            let mut out = Vec::new();
            render(&summarize(&graph, "f", &options), Format::Json, &mut out).unwrap();
            graph.check_columns();
            let filter = NodeFilter {
                class: None,
                min_retained: 0,
            };
            write_csv(rows(&graph, &filter), &mut out).unwrap();
            if let Some(mut saving) = graph.take_saving() {
                saving.seal(&graph);
                saving.wait().unwrap();
            }
            out
        })
    }

    struct Pristine {
        file: PathBuf,
        index: Vec<u8>,
        name: String,
        expected: Vec<u8>,
        _dir: tempfile::TempDir,
    }

    fn pristine() -> &'static Pristine {
        static ONCE: std::sync::OnceLock<Pristine> = std::sync::OnceLock::new();
        ONCE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let file = super::sample("leak-1");
            let cache = IndexCache::new(dir.path().join("cache"), u64::MAX);
            let expected = answers(&file, None);
            assert_eq!(answers(&file, Some(&cache)), expected, "first indexed run");
            let saved = super::indexes(cache.dir());
            assert_eq!(saved.len(), 1);
            Pristine {
                file,
                index: fs::read(&saved[0]).unwrap(),
                name: saved[0].file_name().unwrap().to_string_lossy().into_owned(),
                expected,
                _dir: dir,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        #[test]
        fn a_changed_byte_anywhere_never_changes_an_answer(at in 0.0f64..1.0, flip in 1u8..=255) {
            let p = pristine();
            let dir = tempfile::tempdir().unwrap();
            let cache = IndexCache::new(dir.path(), u64::MAX);
            let mut bytes = p.index.clone();
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] ^= flip;
            fs::write(dir.path().join(&p.name), &bytes).unwrap();
            prop_assert_eq!(answers(&p.file, Some(&cache)), p.expected.clone());
        }
    }
}

mod digest_damage {
    //! Random damage to the digests a real diff kept, through the library: whatever byte of
    //! whichever digest is changed, the diff says what a diff without the cache says, and
    //! nothing panics.

    use std::fs;
    use std::path::PathBuf;

    use heapscan::diff::{compare, DiffOptions};
    use heapscan::index::{recover, IndexCache};
    use heapscan::observe::Quiet;
    use proptest::prelude::*;

    fn answer(files: &[PathBuf], cache: Option<&IndexCache>) -> String {
        recover(cache, &Quiet, |cache| {
            let report = compare(files, &DiffOptions::default(), cache, &Quiet).expect("a diff");
            serde_json::to_string(&report).unwrap()
        })
    }

    struct Pristine {
        files: Vec<PathBuf>,
        digests: Vec<(String, Vec<u8>)>,
        expected: String,
        _dir: tempfile::TempDir,
    }

    fn pristine() -> &'static Pristine {
        static ONCE: std::sync::OnceLock<Pristine> = std::sync::OnceLock::new();
        ONCE.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            let files: Vec<PathBuf> = (1..=3)
                .map(|k| super::sample(&format!("leak-{k}")))
                .collect();
            let cache = IndexCache::new(dir.path().join("cache"), u64::MAX);
            let expected = answer(&files, None);
            assert_eq!(
                answer(&files, Some(&cache)),
                expected,
                "first run with the cache"
            );
            let digests: Vec<(String, Vec<u8>)> = super::cache_files(cache.dir(), "hsdig")
                .iter()
                .map(|p| {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    (name, fs::read(p).unwrap())
                })
                .collect();
            assert_eq!(digests.len(), 3);
            Pristine {
                files,
                digests,
                expected,
                _dir: dir,
            }
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

        #[test]
        fn a_changed_byte_anywhere_in_a_digest_never_changes_a_diff(
            which in 0usize..3, in_manifest in any::<bool>(), at in 0.0f64..1.0, flip in 1u8..=255,
        ) {
            let p = pristine();
            let dir = tempfile::tempdir().unwrap();
            let cache = IndexCache::new(dir.path(), u64::MAX);
            for (k, (name, bytes)) in p.digests.iter().enumerate() {
                let mut bytes = bytes.clone();
                if k == which {
                    // Half the time in the manifest (numbers and names as text), a small part
                    // of the file that random places would seldom hit.
                    let (start, len) = match heapscan::index::format::manifest_place(&bytes) {
                        Some((start, len, _)) if in_manifest => (start, len),
                        _ => (0, bytes.len()),
                    };
                    let i = start + ((len - 1) as f64 * at) as usize;
                    bytes[i] ^= flip;
                }
                fs::write(dir.path().join(name), &bytes).unwrap();
            }
            prop_assert_eq!(answer(&p.files, Some(&cache)), p.expected.clone());
        }
    }
}

/// Writes the index of every synthetic sample and of every seed of the snapshot fuzzer
/// (`fuzz/corpus/parse`, when it was made) to `fuzz/corpus/index`, as seeds for the index
/// fuzzer: `cargo test --release --test index -- --ignored write_index_fuzz_seeds`.
#[test]
#[ignore]
fn write_index_fuzz_seeds() {
    use heapscan::graph::HeapGraph;
    use heapscan::index::{format, FileIdentity};
    use heapscan::snapshot::Snapshot;
    let out = root().join("fuzz/corpus/index");
    fs::create_dir_all(&out).unwrap();
    let mut inputs: Vec<PathBuf> = fs::read_dir(root().join("samples/synthetic"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    if let Ok(seeds) = fs::read_dir(root().join("fuzz/corpus/parse")) {
        inputs.extend(seeds.flatten().map(|e| e.path()));
    }
    let identity = FileIdentity {
        size: 1,
        mtime_ns: 1,
        inode: 1,
        device: 1,
        ends_hash: 1,
    };
    let mut written = 0;
    for input in inputs {
        let Ok(snapshot) = Snapshot::open(&input) else {
            continue;
        };
        let graph = HeapGraph::build(snapshot, &|_| {});
        heapscan::summary::summary_facts(&graph, 10);
        let mut bytes = Vec::new();
        format::write(&graph, &identity, "fuzz", &mut bytes).unwrap();
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        // The fuzz target's first byte picks its mode: as is (0) or with the manifest's
        // checksum rewritten (1).
        for mode in [0u8, 1] {
            let seed: Vec<u8> = std::iter::once(mode).chain(bytes.iter().copied()).collect();
            fs::write(out.join(format!("{name}.{mode}.hsidx")), seed).unwrap();
        }
        written += 1;
    }
    assert!(written >= 4, "only {written} seeds");
}

#[test]
fn a_write_interrupted_by_a_killed_process_is_cleaned_up_by_the_next_save() {
    let cache = tempfile::tempdir().unwrap();
    // A writer that ended (killed half-way: its file will never be finished) and one that
    // still runs (this test).
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let dead = cache.path().join(format!(".abc.{}.1.tmp", gone.id()));
    let alive = cache
        .path()
        .join(format!(".abc.{}.1.tmp", std::process::id()));
    fs::write(&dead, vec![0u8; 4096]).unwrap();
    fs::write(&alive, vec![0u8; 4096]).unwrap();
    run(heapscan(cache.path()).arg("summary").arg(sample("node20")));
    assert!(!dead.exists(), "the dead writer's file was left");
    assert!(alive.exists(), "a running writer's file was removed");
    assert_eq!(indexes(cache.path()).len(), 1);
}

/// `heapscan index` of a 220 MB snapshot (replicated from a sample: its index takes long
/// enough to write to be caught half-way), sent SIGINT once its partial file appears in the
/// cache; `ignoring` starts it ignoring SIGINT, as a script's background job is. Returns its
/// output, the cache and the partial files seen.
fn index_interrupted_half_way(ignoring: bool) -> (Output, tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let base = plain_copy("node20", dir.path());
    let big = dir.path().join("x40.heapsnapshot");
    replicate(&[&base, &big], "40", &[]);
    let heapscan = assert_cmd::cargo::cargo_bin("heapscan");
    let mut cmd = std::process::Command::new("sh");
    let trap = if ignoring { "trap '' INT; " } else { "" };
    cmd.arg("-c")
        .arg(format!("{trap}exec \"$0\" index \"$1\""))
        .arg(&heapscan)
        .arg(&big)
        .env("HEAPSCAN_INDEX_DIR", cache.path())
        .env_remove("HEAPSCAN_NO_INDEX")
        .env_remove("HEAPSCAN_INDEX_MAX_SIZE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("spawn heapscan index");
    let started = std::time::Instant::now();
    let partial = loop {
        let found = leftovers(cache.path());
        if !found.is_empty() {
            break found;
        }
        assert!(
            child.try_wait().expect("poll").is_none(),
            "heapscan index ended before its index file appeared"
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no index file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    // SAFETY: sends SIGINT to the child this test started and has not reaped (the shell
    // replaced itself with heapscan).
    assert_eq!(
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let out = child.wait_with_output().expect("wait");
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    (out, cache, partial)
}

/// Ctrl-C while `heapscan index` writes: the partial index goes with the process, which ends
/// as Ctrl-C ends a process; nothing is left for a later command to clean up.
#[test]
fn ctrl_c_while_an_index_is_written_leaves_no_partial_file() {
    use std::os::unix::process::ExitStatusExt;
    let (out, cache, partial) = index_interrupted_half_way(false);
    assert_eq!(
        out.status.signal(),
        Some(libc::SIGINT),
        "{:?}: {}",
        out.status,
        stderr(&out)
    );
    assert!(partial.iter().all(|p| !p.exists()), "{partial:?} was left");
    assert!(leftovers(cache.path()).is_empty());
    assert!(indexes(cache.path()).is_empty());
    assert!(cache_files(cache.path(), "hsdig").is_empty());
}

/// A `heapscan index` started ignoring Ctrl-C keeps ignoring it and finishes its index.
#[test]
fn an_index_started_ignoring_ctrl_c_is_finished_after_one() {
    let (out, cache, _) = index_interrupted_half_way(true);
    assert!(out.status.success(), "{:?}: {}", out.status, stderr(&out));
    assert_eq!(indexes(cache.path()).len(), 1);
    assert!(leftovers(cache.path()).is_empty());
}

#[test]
fn a_cache_on_tmpfs_where_direct_io_is_refused_still_works() {
    let shm = Path::new("/dev/shm");
    assert!(shm.is_dir(), "this Linux test needs /dev/shm");
    let cache = tempfile::tempdir_in(shm).unwrap();
    let file = sample("node20");
    let first = run(heapscan(cache.path()).arg("summary").arg(&file));
    assert!(parsed(&first));
    assert!(
        !stderr(&first).contains("cannot save"),
        "{}",
        stderr(&first)
    );
    assert_eq!(indexes(cache.path()).len(), 1);
    let second = run(heapscan(cache.path()).arg("summary").arg(&file));
    assert!(!parsed(&second));
    assert_eq!(first.stdout, second.stdout);
}

#[test]
fn heapscan_no_index_in_the_environment_turns_the_index_off() {
    let file = sample("node20");
    for (value, saved) in [("1", 0), ("true", 0), ("0", 1), ("false", 1)] {
        let cache = tempfile::tempdir().unwrap();
        run(heapscan(cache.path())
            .env("HEAPSCAN_NO_INDEX", value)
            .arg("summary")
            .arg(&file));
        assert_eq!(
            indexes(cache.path()).len(),
            saved,
            "HEAPSCAN_NO_INDEX={value}"
        );
    }
}

#[test]
fn indexes_are_private_to_their_user() {
    use std::os::unix::fs::PermissionsExt;
    // A snapshot holds whatever the process held: its index is as private as can be.
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("made").join("by-heapscan");
    run(heapscan(&cache).arg("summary").arg(sample("node20")));
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    let saved = indexes(&cache);
    assert_eq!(saved.len(), 1);
    assert_eq!(mode(&saved[0]), 0o600);
}

/// A build told that nothing reads the retainer lists lets them go after the dominators; a
/// reader that asks for them anyway gets the same lists, rebuilt, and every number a summary
/// shows is the same as with the lists kept.
#[test]
fn retainer_lists_let_go_are_rebuilt_the_same() {
    use heapscan::graph::{Columns, HeapGraph};
    use heapscan::observe::Quiet;
    let file = sample("node20");
    let kept = HeapGraph::open(&file, Columns::ALL, None, &Quiet).unwrap();
    let let_go = HeapGraph::open(&file, Columns::NO_RETAINERS_AFTER, None, &Quiet).unwrap();
    assert!(kept.retainer_lists_kept().is_some());
    assert!(let_go.retainer_lists_kept().is_none());
    assert_eq!(
        heapscan::summary::statistics(&kept),
        heapscan::summary::statistics(&let_go)
    );
    assert!(
        let_go.retainer_lists_kept().is_none(),
        "statistics read no list"
    );
    assert_eq!(*kept.dominators.idom, *let_go.dominators.idom);
    assert_eq!(
        *kept.dominators.retained_size,
        *let_go.dominators.retained_size
    );
    assert_eq!(**kept.first_retainer(), **let_go.first_retainer());
    assert_eq!(**kept.retainer_edge(), **let_go.retainer_edge());
    assert!(let_go.retainer_lists_kept().is_some(), "rebuilt when read");
}

/// The files of `cache` that end in `extension`, sorted.
fn cache_files(cache: &Path, extension: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(cache)
        .map(|r| r.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    found.retain(|p| p.extension().is_some_and(|e| e == extension));
    found.sort();
    found
}

/// How many snapshots the run parsed.
fn parses(out: &Output) -> usize {
    stderr(out).matches("timing: read+parse").count()
}

/// The leak series copied as plain files into `dir` (so they can be replaced).
fn leak_series(dir: &Path) -> Vec<PathBuf> {
    (1..=3)
        .map(|k| plain_copy(&format!("leak-{k}"), dir))
        .collect()
}

/// An index saved by a build that makes no retainer lists (a summary's) stores none and reads
/// back without them (asked for, they are built, the same as a parse's); one saved by a build
/// that keeps them stores them. A diff of snapshots indexed by `summary` builds the lists it
/// reads from the indexed edges, parses nothing and says what a diff without indexes says.
#[test]
fn an_index_saved_without_retainer_lists_serves_a_diff_that_needs_them() {
    use heapscan::graph::{Columns, HeapGraph};
    use heapscan::index::IndexCache;
    use heapscan::observe::Quiet;
    let dir = tempfile::tempdir().unwrap();
    let files = leak_series(dir.path());
    let parsed = HeapGraph::open(&files[2], Columns::ALL, None, &Quiet).unwrap();
    // Indexes are only read by the build that wrote them: these are this test's own.
    let saved_then_read = |columns: Columns, cache: &Path| {
        let cache = IndexCache::new(cache, u64::MAX);
        let mut built = HeapGraph::open(&files[2], columns, Some(&cache), &Quiet).unwrap();
        let mut saving = built.take_saving().expect("an index being saved");
        saving.seal(&built);
        saving.wait().unwrap();
        let mut indexed = HeapGraph::open(&files[2], Columns::ALL, Some(&cache), &Quiet).unwrap();
        assert!(
            indexed.take_saving().is_none(),
            "read from the index, not built"
        );
        indexed
    };
    let without = saved_then_read(Columns::NO_RETAINERS_AFTER, &dir.path().join("a"));
    assert!(
        without.retainer_lists_kept().is_none(),
        "an index saved by a summary's build has no retainer lists"
    );
    assert_eq!(**without.first_retainer(), **parsed.first_retainer());
    assert_eq!(**without.retainer_edge(), **parsed.retainer_edge());
    let with = saved_then_read(Columns::ALL, &dir.path().join("b"));
    assert!(with.retainer_lists_kept().is_some());
    assert_eq!(**with.first_retainer(), **parsed.first_retainer());
    assert_eq!(**with.retainer_edge(), **parsed.retainer_edge());

    let cache = dir.path().join("cache");
    for file in &files {
        run(heapscan(&cache).arg("summary").arg(file));
    }
    let args = ["diff", "--format", "json"];
    let plain = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let from_summaries = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&from_summaries), 0, "{}", stderr(&from_summaries));
    assert_eq!(from_summaries.stdout, plain.stdout);
}

#[test]
fn a_diff_reads_what_an_earlier_diff_kept_of_each_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    let args = ["diff", "--format", "json"];
    let plain = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let first = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&first), 3);
    assert_eq!(cache_files(&cache, "hsdig").len(), 3, "one digest per file");
    // The last snapshot's digest keeps its id index and shortest paths too.
    let with_last_parts = cache_files(&cache, "hsdig")
        .iter()
        .filter(|d| {
            let bytes = fs::read(d).unwrap();
            bytes.windows(17).any(|w| w == b"\"last_parts\":true")
        })
        .count();
    assert_eq!(with_last_parts, 1);
    // Without the indexes, the earlier snapshots are not read at all: their digests answer.
    for index in indexes(&cache) {
        fs::remove_file(index).unwrap();
    }
    let second = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&second), 1, "{}", stderr(&second));
    assert!(stderr(&second).contains("timing: load-digest"));
    assert_eq!(second.stdout, plain.stdout);
    // With the last one's index back (the second run saved it), nothing is parsed.
    let third = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&third), 0, "{}", stderr(&third));
    assert_eq!(third.stdout, plain.stdout);
    // A gate and a report read them too, and say the same.
    let gate_args = ["gate", "--format", "json"];
    let gate_plain = heapscan(&cache)
        .args(gate_args)
        .arg("--no-index")
        .args(&files)
        .output()
        .unwrap();
    let gate = heapscan(&cache)
        .args(gate_args)
        .args(&files)
        .output()
        .unwrap();
    assert_eq!(parses(&gate), 0, "{}", stderr(&gate));
    assert_eq!(gate.status.code(), gate_plain.status.code());
    assert_eq!(gate.stdout, gate_plain.stdout);
    let list = run(heapscan(&cache).args(["cache", "list"]));
    let list = String::from_utf8(list.stdout).unwrap();
    // The earlier snapshots were never read again, so only the last one is indexed.
    assert!(list.contains("1 index(es), 3 diff digest(s)"), "{list}");
    assert!(list.contains(".hsdig") && list.contains("diff digest of a snapshot"));
    let clear = run(heapscan(&cache).args(["cache", "clear"]));
    let said = String::from_utf8(clear.stdout).unwrap();
    assert!(
        said.contains("removed 1 index(es), 3 diff digest(s)"),
        "{said}"
    );
    assert!(cache_files(&cache, "hsdig").is_empty());
}

#[test]
fn a_kept_digest_never_answers_for_a_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    let args = ["diff", "--format", "json"];
    let original = run(heapscan(&cache).args(args).args(&files));
    // The first snapshot replaced by the second one's bytes: the diff must see two equal
    // snapshots first, not the kept digest of the old first file.
    fs::copy(&files[1], &files[0]).unwrap();
    let expected = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let got = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(
        parses(&got),
        1,
        "only the replaced file is read: {}",
        stderr(&got)
    );
    assert_eq!(got.stdout, expected.stdout);
    assert_ne!(
        got.stdout, original.stdout,
        "the replaced file changed nothing"
    );
}

/// Diffs the leak series in a fresh cache, applies `spoil` to every digest it kept, then
/// asserts that the next diff prints what a diff without the cache prints (saying `why` when
/// given) and leaves good digests that the run after reads.
fn spoiled_digest_is_made_again(spoil: impl Fn(&Path), why: Option<&str>) {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    let args = ["diff", "--format", "json"];
    run(heapscan(&cache).args(args).args(&files));
    let digests = cache_files(&cache, "hsdig");
    assert_eq!(digests.len(), 3);
    digests.iter().for_each(|d| spoil(d));
    let expected = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let out = run(heapscan(&cache).args(args).args(&files));
    if let Some(why) = why {
        assert!(
            stderr(&out).contains(why),
            "no note `{why}`: {}",
            stderr(&out)
        );
    }
    assert_eq!(out.stdout, expected.stdout);
    let again = run(heapscan(&cache).args(args).args(&files));
    assert!(
        !stderr(&again).contains("is not used"),
        "the digests were not made again: {}",
        stderr(&again)
    );
    assert_eq!(again.stdout, expected.stdout);
    assert_eq!(cache_files(&cache, "hsdig").len(), 3);
}

#[test]
fn a_truncated_digest_is_made_again_with_a_note() {
    spoiled_digest_is_made_again(
        cut_in_half,
        Some("is not used: it is damaged (it is cut short); it is made again"),
    );
}

#[test]
fn a_digest_with_a_damaged_column_is_made_again_with_a_note() {
    spoiled_digest_is_made_again(
        |digest| {
            let mut bytes = fs::read(digest).unwrap();
            // Inside the first column (the counted objects' ids).
            bytes[64 + 100] ^= 0x5a;
            fs::write(digest, bytes).unwrap();
        },
        Some("does not match its checksum"),
    );
}

#[test]
fn a_digest_of_another_format_version_is_made_again() {
    spoiled_digest_is_made_again(claim_format_999, None);
}

#[test]
fn files_indexed_ahead_are_diffed_from_their_digests() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    // One file indexed by a summary first (no digest), then all three by `index`.
    run(heapscan(&cache).arg("summary").arg(&files[0]));
    assert!(cache_files(&cache, "hsdig").is_empty());
    let indexed = run(heapscan(&cache).arg("index").args(&files));
    let said = String::from_utf8(indexed.stdout).unwrap();
    assert!(
        said.contains(": already indexed in ") && said.contains(": indexed in "),
        "{said}"
    );
    assert_eq!(cache_files(&cache, "hsdig").len(), 3, "one digest per file");
    let args = ["diff", "--format", "json"];
    let plain = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let diff = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&diff), 0, "{}", stderr(&diff));
    assert_eq!(stderr(&diff).matches("timing: load-digest").count(), 3);
    assert_eq!(diff.stdout, plain.stdout);
    // Nothing was made again, so nothing was saved again.
    let before: Vec<_> = cache_files(&cache, "hsdig")
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    run(heapscan(&cache).args(args).args(&files));
    let after: Vec<_> = cache_files(&cache, "hsdig")
        .iter()
        .map(|p| fs::read(p).unwrap())
        .collect();
    assert!(before == after);
}

/// `heapscan index` measures the diff digest after the build, as a summary's, and keeps the
/// retainer lists it builds for the measurement in the index: with memory for that (here just
/// above its estimate, 1.7 times the text) it makes the digests with no note; a diff of the
/// files then reads their digests and the last one's lists from the cache, parses nothing and
/// says what a diff without the cache says, and so does `retainers`. Just below the estimate,
/// the indexes are made alone.
#[test]
fn indexing_ahead_measures_the_digest_after_the_build_and_keeps_the_lists() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    let largest = files
        .iter()
        .map(|f| fs::metadata(f).unwrap().len())
        .max()
        .unwrap();
    let room = format!("{}", largest * 175 / 100);
    let indexed = run(heapscan(&cache)
        .args(["index", "--max-memory", &room])
        .args(&files));
    let said = String::from_utf8(indexed.stdout.clone()).unwrap();
    assert_eq!(said.matches(": indexed in ").count(), 3, "{said}");
    assert!(!said.contains("without a diff digest"), "{said}");
    assert!(!stderr(&indexed).contains("without its diff digest"));
    assert_eq!(cache_files(&cache, "hsdig").len(), 3);
    for index in indexes(&cache) {
        let bytes = fs::read(&index).unwrap();
        let has = |text: &[u8]| bytes.windows(text.len()).any(|w| w == text);
        assert!(has(b"\"has_retainer_lists\":true"), "{}", index.display());
    }
    let args = ["diff", "--format", "json"];
    let plain = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let diff = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(parses(&diff), 0, "{}", stderr(&diff));
    assert!(stderr(&diff).contains("timing: load-digest"));
    assert_eq!(diff.stdout, plain.stdout);
    let retainers = ["retainers", "--class", "Array", "--format", "json"];
    let plain = run(heapscan(&cache)
        .args(retainers)
        .arg("--no-index")
        .arg(&files[2]));
    let indexed = run(heapscan(&cache).args(retainers).arg(&files[2]));
    assert!(!parsed(&indexed), "{}", stderr(&indexed));
    assert_eq!(indexed.stdout, plain.stdout);

    let short = dir.path().join("short");
    let room = format!("{}", fs::metadata(&files[0]).unwrap().len() * 165 / 100);
    let indexed = run(heapscan(&short)
        .args(["index", "--max-memory", &room])
        .arg(&files[0]));
    assert!(stderr(&indexed).contains("indexed without its diff digest"));
    assert_eq!(indexes(&short).len(), 1);
    assert!(cache_files(&short, "hsdig").is_empty());
}

/// `heapscan index` short of the memory a diff digest needs makes the index alone and says
/// so; a diff then makes the digest, with the same report as without the cache.
#[test]
fn indexing_short_of_memory_makes_the_index_without_the_digest() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let files = leak_series(dir.path());
    let indexed = run(heapscan(&cache)
        .args(["index", "--max-memory", "1M"])
        .args(&files));
    let said = String::from_utf8(indexed.stdout.clone()).unwrap();
    assert_eq!(
        said.matches(": indexed in ").count(),
        3,
        "{said}\n{}",
        stderr(&indexed)
    );
    assert_eq!(said.matches("without a diff digest").count(), 3, "{said}");
    assert_eq!(
        stderr(&indexed)
            .matches("indexed without its diff digest: making it too would take about")
            .count(),
        3,
        "{}",
        stderr(&indexed)
    );
    assert_eq!(indexes(&cache).len(), 3);
    assert!(cache_files(&cache, "hsdig").is_empty());
    // The indexes answer a summary without a parse.
    let summary = run(heapscan(&cache).arg("summary").arg(&files[0]));
    assert!(!parsed(&summary), "{}", stderr(&summary));
    // A diff reads the indexes, makes the digests, and reports as without the cache.
    let args = ["diff", "--format", "json"];
    let plain = run(heapscan(&cache).args(args).arg("--no-index").args(&files));
    let diff = run(heapscan(&cache).args(args).args(&files));
    assert_eq!(diff.stdout, plain.stdout);
    assert_eq!(cache_files(&cache, "hsdig").len(), 3, "{}", stderr(&diff));
    // With the memory (here: the default, what the machine has), `index` adds nothing more.
    let again = run(heapscan(&cache).arg("index").args(&files));
    let said = String::from_utf8(again.stdout).unwrap();
    assert_eq!(said.matches(": already indexed in ").count(), 3, "{said}");
    assert!(!said.contains("without a diff digest"), "{said}");
}
