//! Bad input is never a panic or a hang (issue 3). Every broken file here is derived from the
//! real samples by byte surgery (cut, edited header, rewritten numbers, corrupted compression)
//! and run through the real binary, which must exit with code 2 and print exactly one line on
//! stderr: `heapscan: error: FILE: what is wrong (and what to do)`.
//!
//! Then, in process: a truncation sweep through the library (every cut of a real snapshot that
//! removes more than whitespace is an error naming the file and the section), property tests
//! that random mutations never panic, and the inputs the fuzzer (`fuzz/`) found.
//!
//! `cargo test --test bad_input -- --ignored write_fuzz_seeds` writes the fuzzer's seed corpus.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsStr;
use std::io::{Read, Write};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use assert_cmd::Command;
use heapscan::graph::HeapGraph;
use heapscan::snapshot::Snapshot;
use proptest::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_heapscan");

// ---------------------------------------------------------------------------------------------
// Samples and byte surgery

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sample_gz(name: &str) -> PathBuf {
    repo()
        .join("samples")
        .join(format!("{name}.heapsnapshot.gz"))
}

fn gunzip(path: &Path) -> Vec<u8> {
    let raw = std::fs::read(path).expect("read sample");
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .expect("decompress sample");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// Node 24 (6 node fields, `extra_native_bytes` in the header), decompressed.
fn node24() -> &'static [u8] {
    static TEXT: OnceLock<Vec<u8>> = OnceLock::new();
    TEXT.get_or_init(|| gunzip(&sample_gz("node24")))
}

/// Node 20 with `--track-heap-objects`: the one sample with every section filled.
fn traced() -> &'static [u8] {
    static TEXT: OnceLock<Vec<u8>> = OnceLock::new();
    TEXT.get_or_init(|| gunzip(&sample_gz("node20-traced")))
}

/// Facts about the Node 24 sample, read with the library.
struct Facts {
    node_width: usize,
    node_count: usize,
    edge_count: usize,
    string_count: usize,
    /// Index of the first `property` edge (its name is a string index).
    property_edge: usize,
}

fn node24_facts() -> &'static Facts {
    static FACTS: OnceLock<Facts> = OnceLock::new();
    FACTS.get_or_init(|| {
        let s = Snapshot::from_bytes(Path::new("node24"), node24().to_vec()).expect("sample");
        let property = s.layout.edge_types.property;
        Facts {
            node_width: s.layout.node_width,
            node_count: s.node_count(),
            edge_count: s.edge_count(),
            string_count: s.strings.len(),
            property_edge: s
                .edge_type
                .iter()
                .position(|&t| t == property)
                .expect("a property edge"),
        }
    })
}

fn find(text: &[u8], needle: &[u8]) -> Option<usize> {
    text.windows(needle.len()).position(|w| w == needle)
}

/// Byte position of the opening quote of top-level key `key`.
fn key_pos(text: &[u8], key: &str) -> usize {
    find(text, format!("\n\"{key}\":").as_bytes()).expect("section key") + 1
}

/// The body (between the brackets) of the flat top-level array `key`.
fn array_body(text: &[u8], key: &str) -> Range<usize> {
    let start = key_pos(text, key) + key.len() + 4;
    assert_eq!(text[start - 1], b'[');
    let end = start + text[start..].iter().position(|&b| b == b']').expect("]");
    start..end
}

/// Byte range of the `index`-th number of the flat array `key`.
fn number_at(text: &[u8], key: &str, index: usize) -> Range<usize> {
    let body = array_body(text, key);
    let mut start = body.start;
    for _ in 0..index {
        start += text[start..body.end]
            .iter()
            .position(|&b| b == b',')
            .expect("enough numbers")
            + 1;
    }
    while text[start].is_ascii_whitespace() {
        start += 1;
    }
    let len = text[start..]
        .iter()
        .position(|b| !b.is_ascii_digit())
        .expect("number end");
    start..start + len
}

fn splice(text: &[u8], range: Range<usize>, with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + with.len());
    out.extend_from_slice(&text[..range.start]);
    out.extend_from_slice(with);
    out.extend_from_slice(&text[range.end..]);
    out
}

/// Rewrites the `index`-th number of array `key`.
fn set_number(text: &[u8], key: &str, index: usize, value: &str) -> Vec<u8> {
    splice(text, number_at(text, key, index), value.as_bytes())
}

fn number(text: &[u8], key: &str, index: usize) -> u64 {
    let r = number_at(text, key, index);
    std::str::from_utf8(&text[r]).unwrap().parse().unwrap()
}

/// Replaces `from` (which must occur exactly once in the header) by `to`.
fn edit_header(text: &[u8], from: &str, to: &str) -> Vec<u8> {
    let header = &text[..key_pos(text, "nodes")];
    let at = find(header, from.as_bytes()).unwrap_or_else(|| panic!("{from} not in header"));
    assert!(
        find(&header[at + 1..], from.as_bytes()).is_none(),
        "{from} twice"
    );
    splice(text, at..at + from.len(), to.as_bytes())
}

/// A smaller snapshot cut consistently out of a real one: about `keep` of its nodes (the first
/// ones, from the root, then objects with source locations and what they point to), the edges
/// between them, their locations, and only the strings they use (raw bytes kept as V8 wrote
/// them). The header, records and ids are the real ones; allocation traces are dropped.
fn shrink(text: &[u8], keep: usize) -> Vec<u8> {
    let s = Snapshot::from_bytes(Path::new("sample"), text.to_vec()).expect("sample parses");
    let l = &s.layout;
    let keep = keep.min(s.node_count());
    let mut chosen: BTreeSet<u32> = (0..(keep / 2).max(1) as u32).collect();
    'more: for loc in &s.locations {
        for n in std::iter::once(loc.node).chain(s.edges_of(loc.node).map(|e| s.edge_to[e])) {
            if chosen.len() >= keep {
                break 'more;
            }
            chosen.insert(n);
        }
    }
    let ordinal: HashMap<u32, u64> = chosen
        .iter()
        .enumerate()
        .map(|(new, &old)| (old, new as u64))
        .collect();
    let mut order: Vec<u32> = vec![0];
    let mut remap: HashMap<u32, u32> = HashMap::from([(0, 0)]);
    let mut intern = |old: u32| -> u64 {
        let next = order.len() as u32;
        let new = *remap.entry(old).or_insert(next);
        if new == next {
            order.push(old);
        }
        u64::from(new)
    };
    let record = |out: &mut String, rec: &[u64]| {
        if !out.is_empty() {
            out.push_str("\n,");
        }
        let parts: Vec<String> = rec.iter().map(u64::to_string).collect();
        out.push_str(&parts.join(","));
    };
    let (mut nodes, mut edges, mut locations) = (String::new(), String::new(), String::new());
    let mut edge_total = 0;
    let width = l.node_width as u64;
    for &n in &chosen {
        let kept: Vec<usize> = s
            .edges_of(n)
            .filter(|&e| ordinal.contains_key(&s.edge_to[e]))
            .collect();
        let n = n as usize;
        let mut rec = vec![0u64; l.node_width];
        rec[l.node_type_field] = u64::from(s.node_type[n]);
        rec[l.node_name_field] = intern(s.node_name[n]);
        rec[l.node_id_field] = u64::from(s.node_id[n]);
        rec[l.node_self_size_field] = s.node_self_size[n];
        rec[l.node_edge_count_field] = kept.len() as u64;
        if let Some(f) = l.node_trace_id_field {
            rec[f] = u64::from(s.node_trace_id[n]);
        }
        if let Some(f) = l.node_detachedness_field {
            rec[f] = u64::from(s.node_detachedness[n]);
        }
        record(&mut nodes, &rec);
        for e in kept {
            let mut rec = vec![0u64; l.edge_width];
            let t = s.edge_type[e];
            rec[l.edge_type_field] = u64::from(t);
            rec[l.edge_name_field] = if l.edge_name_is_index(t) {
                u64::from(s.edge_name[e])
            } else {
                intern(s.edge_name[e])
            };
            rec[l.edge_to_field] = ordinal[&s.edge_to[e]] * width;
            record(&mut edges, &rec);
            edge_total += 1;
        }
    }
    if let Some(fields) = l.location_fields {
        for loc in &s.locations {
            let Some(&node) = ordinal.get(&loc.node) else {
                continue;
            };
            let mut rec = vec![0u64; l.location_width];
            rec[fields[0]] = node * width;
            rec[fields[1]] = u64::from(loc.script_id);
            rec[fields[2]] = u64::from(loc.line);
            rec[fields[3]] = u64::from(loc.column);
            record(&mut locations, &rec);
        }
    }
    let keep = chosen.len();
    let header = String::from_utf8_lossy(&text[..key_pos(text, "nodes")]).into_owned();
    let set = |header: String, field: &str, value: usize| {
        let re = regex::Regex::new(&format!("\"{field}\":\\d+")).unwrap();
        re.replace(&header, format!("\"{field}\":{value}").as_str())
            .into_owned()
    };
    let header = set(header, "node_count", keep);
    let header = set(header, "edge_count", edge_total);
    let header = set(header, "trace_function_count", 0);
    let mut out = header.into_bytes();
    out.extend_from_slice(
        format!(
            "\"nodes\":[{nodes}],\n\"edges\":[{edges}],\n\"trace_function_infos\":[],\n\
             \"trace_tree\":[],\n\"samples\":[],\n\"locations\":[{locations}],\n\"strings\":["
        )
        .as_bytes(),
    );
    for (i, &old) in order.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b",\n");
        }
        out.push(b'"');
        out.extend_from_slice(s.strings.raw(old));
        out.push(b'"');
    }
    out.extend_from_slice(b"]}");
    out
}

/// A few hundred nodes of the Node 22 sample: small enough for many property-test cases.
fn small_real() -> &'static [u8] {
    static TEXT: OnceLock<Vec<u8>> = OnceLock::new();
    TEXT.get_or_init(|| shrink(&gunzip(&sample_gz("node22")), 300))
}

// ---------------------------------------------------------------------------------------------
// Running the binary

struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }
}

/// Checks the bad-input contract for one run and returns the error line: exit code 2, nothing
/// on stdout, exactly one line on stderr starting `heapscan: error:`, naming `file`, with every
/// keyword (case-insensitive), and no panic.
fn check_bad(output: std::process::Output, file: &str, keywords: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit code; stderr:\n{stderr}"
    );
    assert!(output.stdout.is_empty(), "stdout should be empty");
    assert!(
        stderr.ends_with('\n') && stderr.lines().count() == 1,
        "stderr should be exactly one line:\n{stderr}"
    );
    let line = stderr.trim_end().to_string();
    assert!(line.starts_with("heapscan: error: "), "{line}");
    assert!(line.contains(file), "should name {file}: {line}");
    let lower = line.to_lowercase();
    for k in keywords {
        assert!(
            lower.contains(&k.to_lowercase()),
            "should say {k:?}: {line}"
        );
    }
    line
}

fn heapscan(args: &[&OsStr]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env("RUST_BACKTRACE", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// `heapscan summary FILE` must fail cleanly, saying each of `keywords`.
fn expect_bad(path: &Path, keywords: &[&str]) -> String {
    let output = heapscan(&[OsStr::new("summary"), path.as_os_str()])
        .output()
        .expect("run heapscan");
    check_bad(output, &path.display().to_string(), keywords)
}

/// Writes `bytes` to a scratch file and expects `summary` to fail with `keywords`.
fn bad_bytes(name: &str, bytes: &[u8], keywords: &[&str]) -> String {
    let scratch = Scratch::new();
    let path = scratch.write(name, bytes);
    expect_bad(&path, keywords)
}

// ---------------------------------------------------------------------------------------------
// Files that are not snapshots at all

#[test]
fn empty_file() {
    bad_bytes("empty.heapsnapshot", b"", &["empty", "0 bytes"]);
}

#[test]
fn empty_gzip() {
    bad_bytes("empty.heapsnapshot.gz", &gzip(b""), &["empty"]);
}

#[test]
fn whitespace_only() {
    bad_bytes("blank.heapsnapshot", b" \n\n\t ", &["not JSON"]);
}

#[test]
fn directory() {
    let scratch = Scratch::new();
    let dir = scratch.dir.path().join("snapshots.heapsnapshot");
    std::fs::create_dir(&dir).unwrap();
    expect_bad(&dir, &["is a directory"]);
}

/// Regression: the OS error used to be printed twice (`…: No such file or directory (os error
/// 2): No such file or directory (os error 2)`).
#[test]
fn missing_file() {
    let scratch = Scratch::new();
    let path = scratch.dir.path().join("gone.heapsnapshot");
    let line = expect_bad(&path, &["cannot open", "check the path"]);
    assert_eq!(line.matches("os error").count(), 1, "{line}");
}

#[test]
fn stdin_empty() {
    let output = heapscan(&[OsStr::new("summary"), OsStr::new("-")])
        .write_stdin(Vec::<u8>::new())
        .output()
        .unwrap();
    check_bad(output, "-: ", &["empty"]);
}

#[test]
fn stdin_truncated() {
    let text = node24();
    let output = heapscan(&[OsStr::new("summary"), OsStr::new("-")])
        .write_stdin(text[..text.len() / 2].to_vec())
        .output()
        .unwrap();
    check_bad(output, "-: ", &["truncated", "`edges`"]);
}

/// No read permission. Tests usually run as root, for whom mode 000 means nothing, so then the
/// binary is run as `nobody` through `setpriv` (from a copy it may execute).
#[cfg(unix)]
#[test]
fn no_read_permission() {
    use std::os::unix::fs::PermissionsExt;

    let scratch = Scratch::new();
    std::fs::set_permissions(scratch.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = scratch.write("secret.heapsnapshot", &node24()[..4096]);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let args = [OsStr::new("summary"), path.as_os_str()];
    let euid = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id -u");
    let root = String::from_utf8_lossy(&euid.stdout).trim() == "0";
    let output = if root {
        let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .expect(
                "running as root, where mode 000 does not stop reads: this test needs setpriv \
                 (util-linux) to run heapscan as an unprivileged user",
            );
        // `nobody` may not be able to reach the target dir: run a world-executable copy.
        let bin = scratch.dir.path().join("heapscan");
        std::fs::copy(BIN, &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new(setpriv);
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin)
            .args(args)
            .timeout(Duration::from_secs(60));
        let output = cmd.output().unwrap();
        assert!(
            !String::from_utf8_lossy(&output.stderr).contains("setpriv:"),
            "setpriv failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    } else {
        heapscan(&args).output().unwrap()
    };
    check_bad(
        output,
        &path.display().to_string(),
        &["permission denied", "change its permissions"],
    );
}

#[test]
fn not_json_source_file() {
    // A real file that is not JSON: the script that made the samples.
    expect_bad(&repo().join("samples/app.js"), &["not JSON"]);
}

/// Regression: text starting with `n`, `t`, `f`, a digit or `"` used to be called JSON.
#[test]
fn not_json_text() {
    bad_bytes("log.txt", b"node: out of memory\n", &["not JSON"]);
    bad_bytes("digits.txt", b"2024-01-01 crash\n", &["not JSON"]);
    bad_bytes("brace.txt", b"{ this is not json }", &["not JSON"]);
}

#[test]
fn not_json_binary() {
    // The compressed sample with its gzip magic broken: binary junk.
    let mut raw = std::fs::read(sample_gz("node24")).unwrap();
    raw[0] = b'P';
    raw.truncate(64 * 1024);
    bad_bytes("junk.heapsnapshot", &raw, &["not JSON"]);
}

#[test]
fn json_but_not_a_snapshot() {
    // A real JSON file: a DevTools golden (an object whose first key is not `snapshot`).
    let golden = gunzip(&repo().join("tests/golden/node24.json.gz"));
    bad_bytes(
        "golden.json",
        &golden,
        &["JSON but not a V8 heap snapshot", "first key"],
    );
    bad_bytes(
        "array.json",
        b"[1, 2, 3]\n",
        &["JSON but not a V8 heap snapshot"],
    );
    bad_bytes("cut-array.json", b"[1, 2, 3", &["not a V8 heap snapshot"]);
}

#[test]
fn header_without_arrays() {
    // The real header, closed right after it: JSON, but no `nodes`.
    let text = node24();
    let end = find(text, b"},\n\"nodes\"").unwrap() + 1;
    let mut only = text[..end].to_vec();
    only.push(b'}');
    bad_bytes("header.heapsnapshot", &only, &["no `nodes` section"]);
}

// ---------------------------------------------------------------------------------------------
// Unknown layouts

#[test]
fn meta_without_id() {
    let text = edit_header(
        node24(),
        r#""node_fields":["type","name","id","#,
        r#""node_fields":["type","name","#,
    );
    bad_bytes(
        "no-id.heapsnapshot",
        &text,
        &[
            "unknown snapshot layout",
            "node_fields has no `id`",
            "report",
        ],
    );
}

#[test]
fn meta_without_to_node() {
    let text = edit_header(node24(), r#""to_node"]"#, r#""target"]"#);
    bad_bytes(
        "no-to-node.heapsnapshot",
        &text,
        &["unknown snapshot layout", "edge_fields has no `to_node`"],
    );
}

#[test]
fn meta_node_types_not_a_list() {
    let text = edit_header(node24(), r#""node_types":[["#, r#""node_types":[7,["#);
    bad_bytes(
        "types.heapsnapshot",
        &text,
        &["unknown snapshot layout", "node_types"],
    );
}

#[test]
fn meta_missing_object_type() {
    let text = edit_header(node24(), r#","object","#, r#","thing","#);
    bad_bytes(
        "no-object.heapsnapshot",
        &text,
        &["unknown snapshot layout", "no `object` type"],
    );
}

#[test]
fn header_field_of_wrong_type() {
    let count = node24_facts().node_count;
    let text = edit_header(
        node24(),
        &format!("\"node_count\":{count},"),
        &format!("\"node_count\":\"{count}\","),
    );
    bad_bytes(
        "string-count.heapsnapshot",
        &text,
        &[
            "unknown snapshot layout",
            "`node_count` is \"83209\", not a count",
        ],
    );
}

#[test]
fn header_without_meta() {
    let text = edit_header(
        node24(),
        r#"{"snapshot":{"meta":"#,
        r#"{"snapshot":{"info":"#,
    );
    bad_bytes(
        "no-meta.heapsnapshot",
        &text,
        &["unknown snapshot layout", "meta"],
    );
}

/// Regression: `location_fields` (or `trace_function_info_fields`) with more than 16 fields
/// indexed past the parser's fixed record array (panic in `numbers::parse_chunk`). 61 fields
/// divide the real `locations` array evenly, so the parser did reach its records.
#[test]
fn wide_location_records() {
    let text = edit_header(
        node24(),
        r#""location_fields":["object_index","script_id","line","column"]"#,
        &format!(
            r#""location_fields":["object_index","script_id","line","column"{}]"#,
            r#","x""#.repeat(57)
        ),
    );
    let locations = array_body(&text, "locations");
    let count = text[locations].iter().filter(|&&b| b == b',').count() + 1;
    assert_eq!(
        count % 61,
        0,
        "the sample's locations no longer divide by 61"
    );
    bad_bytes(
        "wide.heapsnapshot",
        &text,
        &["unknown snapshot layout", "location_fields has 61 fields"],
    );
}

// ---------------------------------------------------------------------------------------------
// Truncated files (through the binary; the library sweep is below)

#[test]
fn truncated_in_each_section() {
    let text = traced();
    let scratch = Scratch::new();
    let cuts: Vec<(usize, &str)> = vec![
        (300, "`snapshot`"),
        (key_pos(text, "nodes") + 3, "after the `snapshot`"),
        (key_pos(text, "nodes") + 5000, "inside the `nodes`"),
        (key_pos(text, "edges") + 90_000, "inside the `edges`"),
        (
            key_pos(text, "trace_function_infos") + 100,
            "`trace_function_infos`",
        ),
        (key_pos(text, "trace_tree") + 100, "`trace_tree`"),
        (key_pos(text, "locations") + 100, "`locations`"),
        (key_pos(text, "strings") + 100_000, "inside the `strings`"),
        (text.len() - 1, "after the `strings`"),
    ];
    for (at, section) in cuts {
        let path = scratch.write(&format!("cut-{at}.heapsnapshot"), &text[..at]);
        let line = expect_bad(&path, &["truncated", section, "take it again"]);
        assert!(line.contains(&format!("at byte {at}")), "{line}");
    }
}

#[test]
fn truncated_with_every_command() {
    let text = node24();
    let scratch = Scratch::new();
    let path = scratch.write("cut.heapsnapshot", &text[..text.len() * 2 / 3]);
    let good = sample_gz("node24");
    let html = scratch.dir.path().join("report.html");
    let runs: [&[&OsStr]; 7] = [
        &[OsStr::new("summary"), path.as_os_str()],
        &[OsStr::new("nodes"), path.as_os_str()],
        &[OsStr::new("retainers"), path.as_os_str(), OsStr::new("@1")],
        &[OsStr::new("diff"), good.as_os_str(), path.as_os_str()],
        &[OsStr::new("diff"), path.as_os_str(), good.as_os_str()],
        &[OsStr::new("gate"), good.as_os_str(), path.as_os_str()],
        &[
            OsStr::new("report"),
            path.as_os_str(),
            OsStr::new("-o"),
            html.as_os_str(),
        ],
    ];
    for args in runs {
        let output = heapscan(args).output().unwrap();
        check_bad(output, &path.display().to_string(), &["truncated"]);
    }
}

#[test]
fn truncated_snapshot_inside_gzip() {
    // A cut snapshot that was compressed afterwards: the gzip is fine, the snapshot is not.
    let text = node24();
    bad_bytes(
        "cut.heapsnapshot.gz",
        &gzip(&text[..text.len() - 5000]),
        &["truncated", "`strings`"],
    );
}

// ---------------------------------------------------------------------------------------------
// Corrupt compression

#[test]
fn gzip_truncated() {
    let raw = std::fs::read(sample_gz("node24")).unwrap();
    for at in [10, 5000, raw.len() / 2, raw.len() - 4] {
        bad_bytes(
            "cut.heapsnapshot.gz",
            &raw[..at],
            &["gzip", "truncated", "re-copy"],
        );
    }
}

#[test]
fn gzip_flipped_bytes() {
    let mut raw = std::fs::read(sample_gz("node24")).unwrap();
    let mid = raw.len() / 2;
    for b in &mut raw[mid..mid + 16] {
        *b ^= 0x5a;
    }
    bad_bytes("flipped.heapsnapshot.gz", &raw, &["corrupt", "gzip"]);
}

#[test]
fn gzip_bad_crc() {
    // Only the CRC in the trailer changed: every byte decompresses, the checksum disagrees.
    let mut raw = std::fs::read(sample_gz("node24")).unwrap();
    let crc = raw.len() - 8;
    raw[crc] ^= 0xff;
    bad_bytes("crc.heapsnapshot.gz", &raw, &["gzip"]);
}

fn zstd_node24() -> &'static [u8] {
    static RAW: OnceLock<Vec<u8>> = OnceLock::new();
    RAW.get_or_init(|| zstd::stream::encode_all(node24(), 1).unwrap())
}

#[test]
fn zstd_truncated() {
    let raw = zstd_node24();
    for at in [4, 100, raw.len() / 2, raw.len() - 1] {
        bad_bytes("cut.heapsnapshot.zst", &raw[..at], &["zstd", "truncated"]);
    }
}

#[test]
fn zstd_flipped_bytes() {
    let mut raw = zstd_node24().to_vec();
    let mid = raw.len() / 2;
    for b in &mut raw[mid..mid + 16] {
        *b ^= 0x5a;
    }
    bad_bytes("flipped.heapsnapshot.zst", &raw, &["corrupt", "zstd"]);
}

/// `summary --no-index FILE` (standard input for `-`, fed `stdin`): its standard output but
/// the first line (which names the file).
fn summary_tables(file: &Path, stdin: &[u8]) -> String {
    let output = heapscan(&[
        OsStr::new("summary"),
        OsStr::new("--no-index"),
        file.as_os_str(),
    ])
    .write_stdin(stdin)
    .output()
    .expect("run heapscan");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{}: {stderr}", file.display());
    assert!(stderr.is_empty(), "{}: {stderr}", file.display());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let (first, rest) = stdout.split_once('\n').unwrap();
    assert!(first.contains("83,209 nodes"), "{first}");
    rest.to_string()
}

/// Compressed snapshots are decompressed into memory, and the parser hands each stretch of
/// their number arrays back once parsed (what a re-read would then see is zeros): gzip and
/// zstd, from a file or standard input, give exactly the plain file's answer.
#[test]
fn compressed_snapshots_read_exactly_like_the_plain_file() {
    let scratch = Scratch::new();
    let plain = scratch.write("node24.heapsnapshot", node24());
    let gz = sample_gz("node24");
    let zst = scratch.write("node24.heapsnapshot.zst", zstd_node24());
    let expected = summary_tables(&plain, b"");
    assert!(expected.contains("Retained"), "{expected}");
    for file in [&gz, &zst] {
        assert_eq!(summary_tables(file, b""), expected, "{}", file.display());
        let piped = std::fs::read(file).unwrap();
        assert_eq!(
            summary_tables(Path::new("-"), &piped),
            expected,
            "{} on standard input",
            file.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Header and arrays that disagree

#[test]
fn node_count_disagrees() {
    let f = node24_facts();
    let n = f.node_count;
    let text = edit_header(
        node24(),
        &format!("\"node_count\":{n},"),
        &format!("\"node_count\":{},", n + 1),
    );
    bad_bytes(
        "nc.heapsnapshot",
        &text,
        &[
            &format!("node_count is {}", n + 1),
            &format!("holds {n} nodes"),
            "inconsistent",
        ],
    );
}

#[test]
fn edge_count_disagrees() {
    let m = node24_facts().edge_count;
    let text = edit_header(
        node24(),
        &format!("\"edge_count\":{m},"),
        &format!("\"edge_count\":{},", m - 7),
    );
    bad_bytes(
        "ec.heapsnapshot",
        &text,
        &[
            &format!("edge_count is {}", m - 7),
            &format!("holds {m} edges"),
        ],
    );
}

#[test]
fn node_edge_counts_disagree() {
    // The root claims one more edge than it has: the per-node counts no longer add up.
    let text = node24();
    let f = node24_facts();
    let root_edges = number(text, "nodes", 4);
    let text = set_number(text, "nodes", 4, &(root_edges + 1).to_string());
    bad_bytes(
        "sum.heapsnapshot",
        &text,
        &[&format!("edge counts add up to {}", f.edge_count + 1)],
    );
}

#[test]
fn nodes_not_whole_records() {
    let text = node24();
    let first = number_at(text, "nodes", 0);
    let text = splice(text, first.end..first.end, b",0");
    bad_bytes(
        "extra.heapsnapshot",
        &text,
        &["`nodes`", "not a whole number of records of 6"],
    );
}

#[test]
fn edge_to_node_not_a_boundary() {
    let f = node24_facts();
    let text = set_number(
        node24(),
        "edges",
        3 * 5 + 2,
        &(f.node_width * 10 + 1).to_string(),
    );
    bad_bytes(
        "mid.heapsnapshot",
        &text,
        &["`edges`", "edge target 61 is not the start of a node"],
    );
}

#[test]
fn edge_to_node_past_the_end() {
    let f = node24_facts();
    let past = f.node_count * f.node_width;
    let last_edge = f.edge_count - 1;
    let text = set_number(node24(), "edges", last_edge * 3 + 2, &past.to_string());
    bad_bytes(
        "past.heapsnapshot",
        &text,
        &[
            "`edges`",
            &format!("edge target {past} is not the start of a node"),
        ],
    );
}

#[test]
fn node_name_out_of_range() {
    let f = node24_facts();
    let index = 1000 * f.node_width + 1;
    let text = set_number(node24(), "nodes", index, &f.string_count.to_string());
    bad_bytes(
        "name.heapsnapshot",
        &text,
        &[
            "`nodes`",
            &format!("node name index {} is out of range", f.string_count),
        ],
    );
}

#[test]
fn edge_name_out_of_range() {
    let f = node24_facts();
    let text = set_number(
        node24(),
        "edges",
        f.property_edge * 3 + 1,
        &(f.string_count + 5).to_string(),
    );
    bad_bytes(
        "ename.heapsnapshot",
        &text,
        &["`edges`", "edge name index", "out of range"],
    );
}

#[test]
fn node_type_out_of_range() {
    let text = set_number(node24(), "nodes", 6 * 7, "99");
    bad_bytes("type.heapsnapshot", &text, &["node type 99"]);
}

#[test]
fn negative_and_non_numbers() {
    let text = set_number(node24(), "edges", 2, "-6");
    bad_bytes("neg.heapsnapshot", &text, &["`edges`", "negative number"]);
    let text = set_number(node24(), "nodes", 3, "1e3");
    bad_bytes(
        "exp.heapsnapshot",
        &text,
        &["`nodes`", "unexpected character"],
    );
    let text = set_number(node24(), "nodes", 3, "99999999999999999999999");
    bad_bytes("huge.heapsnapshot", &text, &["`nodes`", "too large"]);
}

#[test]
fn location_not_at_a_node() {
    let text = set_number(node24(), "locations", 0, "7");
    bad_bytes(
        "loc.heapsnapshot",
        &text,
        &["location points at 7", "not the start of a node"],
    );
}

/// Regression (found by the property test): a key whose closing quote is lost ran on for
/// megabytes, and every message that names the key printed all of it, newlines included.
#[test]
fn key_without_closing_quote() {
    let text = node24();
    let at = key_pos(text, "edges");
    let text = splice(text, at..at + 8, b"\"edges:[");
    let line = bad_bytes(
        "key.heapsnapshot",
        &text,
        &["malformed snapshot", "not a section name"],
    );
    assert!(line.len() < 300, "{line}");
}

/// The big arrays are parsed in parallel chunks of whole records (1 MB and up). A number lost
/// in one chunk and one gained in a later one keeps the total a whole number of records but
/// shifts every record in between: that must still be an error or a valid parse, never a panic.
#[test]
fn records_shifted_across_parallel_chunks() {
    let text = node24();
    for key in ["nodes", "edges"] {
        let body = array_body(text, key);
        let values = text[body.clone()].iter().filter(|&&b| b == b',').count() + 1;
        for (lose, gain) in [(1, values - 2), (values / 3, values * 2 / 3), (5, 9)] {
            let gained = number_at(text, key, gain);
            let shifted = splice(text, gained.end..gained.end, b",0");
            let lost = number_at(&shifted, key, lose);
            let shifted = splice(&shifted, lost.start..lost.end + 1, b"");
            parse_never_panics(shifted).unwrap();
        }
    }
}

#[test]
fn strings_empty() {
    let text = traced();
    let at = key_pos(text, "strings");
    let mut cut = text[..at].to_vec();
    cut.extend_from_slice(b"\"strings\":[]}");
    bad_bytes(
        "nostrings.heapsnapshot",
        &cut,
        &["`strings` array is empty"],
    );
}

#[test]
fn trace_tree_malformed() {
    // A trace node with three numbers before its children, and one with too many: the
    // allocation traces are read, so a broken tree is an error that names it.
    let text = traced();
    let body = array_body(text, "trace_tree");
    let tree = &text[body.clone()];
    let first_children = tree.iter().position(|&b| b == b'[').expect("children") + body.start;
    // `1,0,0,0,[` becomes `1,0,0,[`: drop the number before the children list.
    let comma = text[..first_children - 1]
        .iter()
        .rposition(|&b| b == b',')
        .expect("a comma");
    let short = splice(text, comma..first_children - 1, b"");
    bad_bytes(
        "short-trace.heapsnapshot",
        &short,
        &["trace_tree", "numbers before its children"],
    );
    let long = splice(text, first_children..first_children, b"7,");
    let long = splice(&long, first_children - 1..first_children - 1, b",9");
    bad_bytes("long-trace.heapsnapshot", &long, &["trace_tree"]);
}

// ---------------------------------------------------------------------------------------------
// Truncation sweep through the library

/// The section a file cut at `at` ends in (or after), as the error must name it: the last
/// top-level key whose closing quote is before the cut, or `snapshot` before any.
fn section_at(keys: &[(usize, &'static str)], at: usize) -> &'static str {
    keys.iter()
        .take_while(|(pos, key)| pos + key.len() + 2 <= at)
        .last()
        .map_or("snapshot", |&(_, key)| key)
}

#[test]
fn truncation_sweep() {
    let text = traced();
    let len = text.len();
    let keys: Vec<(usize, &'static str)> = [
        "snapshot",
        "nodes",
        "edges",
        "trace_function_infos",
        "trace_tree",
        "samples",
        "locations",
        "strings",
    ]
    .into_iter()
    .map(|k| {
        let pos = if k == "snapshot" { 1 } else { key_pos(text, k) };
        (pos, k)
    })
    .collect();
    let path = Path::new("/snapshots/cut.heapsnapshot");

    // Every byte of the start, a few hundred points spread through the file (every section),
    // a few around each section boundary, and every byte of the end.
    let mut cuts: Vec<usize> = (0..2048).collect();
    cuts.extend((1..400).map(|k| len / 400 * k));
    for &(pos, _) in &keys {
        cuts.extend(pos.saturating_sub(4)..pos + 24);
    }
    cuts.extend(len - 200..len);
    cuts.sort_unstable();
    cuts.dedup();

    for at in cuts {
        let result = Snapshot::from_bytes(path, text[..at].to_vec());
        if text[at..].iter().all(u8::is_ascii_whitespace) {
            assert!(result.is_ok(), "cut at {at} removes only whitespace");
            continue;
        }
        let message = match result {
            Ok(_) => panic!("cut at {at} of {len} parsed without error"),
            Err(e) => e.to_string(),
        };
        assert!(
            message.starts_with("/snapshots/cut.heapsnapshot: "),
            "cut at {at}: {message}"
        );
        if at == 0 {
            assert!(message.contains("empty"), "cut at 0: {message}");
            continue;
        }
        let section = section_at(&keys, at);
        assert!(
            message.contains("truncated") && message.contains(&format!("`{section}`")),
            "cut at {at} (in or after `{section}`): {message}"
        );
    }
    assert!(Snapshot::from_bytes(path, text.to_vec()).is_ok());
}

#[test]
fn truncation_sweep_small_sample() {
    // Every single cut of a small real-derived snapshot, header to final brace.
    let text = small_real();
    let path = Path::new("small.heapsnapshot");
    for at in 1..text.len() {
        match Snapshot::from_bytes(path, text[..at].to_vec()) {
            Ok(_) => panic!("cut at {at} parsed"),
            Err(e) => {
                let message = e.to_string();
                assert!(
                    message.starts_with("small.heapsnapshot: ") && message.contains("truncated"),
                    "cut at {at}: {message}"
                );
            }
        }
    }
    assert!(Snapshot::from_bytes(path, text.to_vec()).is_ok());
}

#[test]
fn shrunk_sample_is_a_real_snapshot() {
    // The property tests and fuzz seeds rely on the shrunk sample being valid and non-trivial.
    let s = Snapshot::from_bytes(Path::new("small"), small_real().to_vec()).unwrap();
    assert_eq!(s.node_count(), 300);
    assert!(s.edge_count() > 300);
    assert!(!s.locations.is_empty());
    let graph = HeapGraph::build(s, &|_| {});
    assert!(graph.total_size() > 0);
}

// ---------------------------------------------------------------------------------------------
// Random mutations never panic

#[derive(Debug, Clone)]
enum Mutation {
    /// Overwrite the byte at (position fraction) with a byte.
    Set(f64, u8),
    /// Insert bytes.
    Insert(f64, Vec<u8>),
    /// Delete up to n bytes.
    Delete(f64, usize),
    /// Copy a run of bytes from one place to another (duplicated records, sections).
    Copy(f64, f64, usize),
}

/// Bytes biased towards the snapshot's own syntax so mutations get past the first check.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        3 => prop::sample::select(b"0123456789,[]{}\":-\\ \nue".to_vec()),
        1 => any::<u8>(),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Positions are fractions so one strategy fits any input; half of them land in the first
    // few percent (the header and the start of `nodes`), where structure is densest.
    let pos = prop_oneof![0.0..1.0f64, 0.0..0.05f64];
    prop_oneof![
        (pos.clone(), interesting_byte()).prop_map(|(p, b)| Mutation::Set(p, b)),
        (pos.clone(), prop::collection::vec(interesting_byte(), 1..8))
            .prop_map(|(p, b)| Mutation::Insert(p, b)),
        (pos.clone(), 1..64usize).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (pos.clone(), pos, 1..200usize).prop_map(|(a, b, n)| Mutation::Copy(a, b, n)),
    ]
}

fn apply(text: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut out = text.to_vec();
    let at = |out: &Vec<u8>, p: f64| ((out.len() as f64 * p) as usize).min(out.len());
    for m in mutations {
        match m {
            Mutation::Set(p, b) => {
                let i = at(&out, *p);
                if i < out.len() {
                    out[i] = *b;
                }
            }
            Mutation::Insert(p, bytes) => {
                let i = at(&out, *p);
                out.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(&out, *p);
                let end = (i + n).min(out.len());
                out.drain(i..end);
            }
            Mutation::Copy(from, to, n) => {
                let i = at(&out, *from);
                let end = (i + n).min(out.len());
                let run = out[i..end].to_vec();
                let j = at(&out, *to);
                out.splice(j..j, run);
            }
        }
    }
    out
}

/// Parses `bytes`; an error must name the file, a success must survive the graph build.
fn parse_never_panics(bytes: Vec<u8>) -> Result<(), TestCaseError> {
    match Snapshot::from_bytes(Path::new("mutant.heapsnapshot"), bytes) {
        Ok(snapshot) => {
            let graph = HeapGraph::build(snapshot, &|_| {});
            prop_assert!(graph.node_count() > 0);
        }
        Err(e) => {
            let message = e.to_string();
            prop_assert!(
                message.starts_with("mutant.heapsnapshot: ") && !message.contains('\n'),
                "{}",
                message
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn mutations_of_a_small_real_snapshot(mutations in prop::collection::vec(mutation(), 1..6)) {
        parse_never_panics(apply(small_real(), &mutations))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn mutations_of_a_full_sample(mutations in prop::collection::vec(mutation(), 1..3)) {
        parse_never_panics(apply(node24(), &mutations))?;
    }
}

// ---------------------------------------------------------------------------------------------
// Inputs found by the fuzzer (`fuzz/`), kept as regression tests

#[test]
fn fuzz_regressions() {
    let dir = repo().join("tests/fuzz_regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/fuzz_regressions") {
        let path = entry.unwrap().path();
        if path.extension() == Some(OsStr::new("md")) {
            continue;
        }
        let bytes = std::fs::read(&path).unwrap();
        let name = path.display().to_string();
        let result =
            std::panic::catch_unwind(|| parse_never_panics(bytes).map_err(|e| e.to_string()));
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => panic!("{name}: {e}"),
            Err(_) => panic!("{name}: panicked"),
        }
        count += 1;
    }
    assert!(count >= 2, "the regression inputs are missing");
}

// ---------------------------------------------------------------------------------------------
// Seeds for the fuzzer

/// Writes small real-derived snapshots (plain, gzip, zstd) as the fuzzer's seed corpus into
/// `$HEAPSCAN_FUZZ_SEEDS` (default `fuzz/corpus/parse`).
#[test]
#[ignore = "writes the fuzz seed corpus; run by hand (see fuzz/README.md)"]
fn write_fuzz_seeds() {
    let dir = std::env::var_os("HEAPSCAN_FUZZ_SEEDS")
        .map_or_else(|| repo().join("fuzz/corpus/parse"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "node16",
        "node18",
        "node20",
        "node20-traced",
        "node22",
        "node24",
    ] {
        let text = gunzip(&sample_gz(name));
        for keep in [8, 40, 120] {
            let small = shrink(&text, keep);
            Snapshot::from_bytes(Path::new(name), small.clone()).expect("seed parses");
            std::fs::write(dir.join(format!("{name}-{keep}.heapsnapshot")), &small).unwrap();
        }
    }
    // The hand-made corner cases of `samples/synthetic` (DOM names, WeakMaps, orphans).
    for entry in std::fs::read_dir(repo().join("samples/synthetic")).unwrap() {
        let path = entry.unwrap().path();
        let name = path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .replace(".gz", "");
        std::fs::write(dir.join(name), gunzip(&path)).unwrap();
    }
    let small = shrink(traced(), 30);
    std::fs::write(dir.join("traced-30.heapsnapshot.gz"), gzip(&small)).unwrap();
    std::fs::write(
        dir.join("traced-30.heapsnapshot.zst"),
        zstd::stream::encode_all(&small[..], 3).unwrap(),
    )
    .unwrap();
    // The shrunk files drop allocation traces; keep one with a real trace tree and infos.
    let text = traced();
    let infos = array_body(text, "trace_function_infos");
    let first_infos: Vec<&str> = std::str::from_utf8(&text[infos])
        .unwrap()
        .split(',')
        .take(12)
        .collect();
    let with_traces = String::from_utf8(small)
        .unwrap()
        .replace(
            "\"trace_function_infos\":[]",
            &format!("\"trace_function_infos\":[{}]", first_infos.join(",")),
        )
        // The first nodes of the sample's own trace tree.
        .replace(
            "\"trace_tree\":[]",
            "\"trace_tree\":[1,0,0,0,[2,1,15353,1335744,[],3,2,36,8360,[]]]",
        );
    std::fs::write(dir.join("traced-30-trees.heapsnapshot"), with_traces).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Streams: pipes, FIFOs and devices have no length to trust

/// A device that never ends is refused from its first bytes instead of being read until
/// memory runs out (the command's 60 s timeout would catch a hang).
#[test]
fn endless_device() {
    expect_bad(Path::new("/dev/zero"), &["not a heap snapshot", "`{`"]);
}

#[test]
fn stdin_long_garbage() {
    let output = heapscan(&[OsStr::new("summary"), OsStr::new("-")])
        .write_stdin(vec![0xffu8; 1 << 20])
        .output()
        .unwrap();
    check_bad(output, "-: ", &["not a heap snapshot"]);
}

/// A FIFO (as `<(zcat snapshot.gz)` makes) is read as a stream, not refused as "empty"
/// because its length is 0.
#[test]
fn fifo_is_read_as_a_stream() {
    let scratch = Scratch::new();
    let fifo = scratch.dir.path().join("snapshot.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    let text = node24().to_vec();
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, text).expect("write"));
    let output = heapscan(&[
        OsStr::new("summary"),
        fifo.as_os_str(),
        OsStr::new("--format"),
        OsStr::new("json"),
    ])
    .output()
    .unwrap();
    writer.join().expect("writer");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).expect("json");
    assert_eq!(
        json["snapshot"]["node_count"].as_u64(),
        Some(node24_facts().node_count as u64)
    );
}
