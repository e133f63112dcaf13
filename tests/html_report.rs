//! `heapscan report`: the HTML report from real snapshots — the bundled Node 20 sample and a
//! three-snapshot capture of a leaking app — has its sections, the leak with its chart, path and
//! source line, and the same bytes on every run; snapshot strings are escaped everywhere
//! (including a snapshot rewritten to hold markup in class, edge, file and string names); and a
//! real browser (headless Chromium, which scripts/test.sh installs)
//! opens each report without a script error, without a single request leaving the page, and
//! without running any of the hostile markup. Screenshots and the reports are kept in
//! `<target>/test-artifacts/`.

mod support;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use heapscan::report::html::HtmlReport;

const SAMPLE: &str = "samples/node20.heapsnapshot.gz";

/// Markup a snapshot can carry in its names: each payload would mark the page if it ran.
const SCRIPT_CLASS: &str = "<script>document.body.dataset.pwned='class'</script>";
const ATTR_CLASS: &str = "\"><img src=x onerror=\"document.body.dataset.pwned='attr'\">";
const SCRIPT_FILE: &str =
    "/srv/</script><script>document.body.dataset.pwned='file'</script><!--/app.js";
const IMG_STRING: &str = "<img src=x onerror=document.body.dataset.pwned='string'>";
const SVG_NAME: &str = "'><svg onload=document.body.dataset.pwned='name'>";
const EDGE_NAME: &str = "</script><script>document.body.dataset.pwned='edge'</script>";
const SUSPECT_VAR: &str = "<script>document.body.dataset.pwned='suspect'</script>";
const PATH_EDGE: &str = "'><svg/onload=document.body.dataset.pwned='path'>";
const ENTRY_PROP: &str = "\"><img src=x onerror=document.body.dataset.pwned='entry'>";
const LEAK_FILE: &str = "/srv/<!--<script>document.body.dataset.pwned='loc'</script>/leak-cache.js";

fn sample() -> PathBuf {
    support::repo_root().join(SAMPLE)
}

/// `<target>/test-artifacts/`, created on first use.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("target dir")
        .join("test-artifacts");
    fs::create_dir_all(&dir).expect("create test-artifacts");
    dir
}

/// Runs `heapscan report FILES -o OUT EXTRA…` and returns the page.
fn report(files: &[PathBuf], out: &Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .arg("report")
        .args(files)
        .arg("-o")
        .arg(out)
        .args(extra)
        .env_remove("SOURCE_DATE_EPOCH")
        .stdin(Stdio::null())
        .output()
        .expect("run heapscan");
    assert!(
        output.status.success(),
        "heapscan report failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    fs::read_to_string(out).expect("read the report")
}

/// The model embedded in the page, read back through the documented types.
fn embedded_model(html: &str) -> HtmlReport {
    let open = "<script type=\"application/json\" id=\"heapscan-data\">";
    let start = html.find(open).expect("embedded data") + open.len();
    let end = start
        + html[start..]
            .find("</script>")
            .expect("end of embedded data");
    serde_json::from_str(&html[start..end]).expect("the embedded JSON is the HtmlReport model")
}

/// HTML escaping written out independently of the library's.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The page's own markup only: two scripts (the code and the JSON data), one style sheet, only
/// our own SVG charts, no images or frames, and no event-handler attribute on any tag.
fn assert_only_own_markup(html: &str) {
    let lower = html.to_ascii_lowercase();
    assert_eq!(lower.matches("<script").count(), 2, "script tags");
    assert_eq!(lower.matches("</script").count(), 2, "script end tags");
    assert_eq!(lower.matches("<style").count(), 1, "style tags");
    assert_eq!(lower.matches("<!--").count(), 0, "comments");
    for tag in [
        "<img",
        "<iframe",
        "<object",
        "<embed",
        "<link rel=\"stylesheet",
        "<base",
    ] {
        assert!(!lower.contains(tag), "{tag} in the page");
    }
    for (at, _) in lower.match_indices("<svg") {
        assert!(
            lower[at..].starts_with("<svg id=\""),
            "an SVG that is not one of the charts: {}",
            &html[at..(at + 80).min(html.len())]
        );
    }
    // Every tag outside the two scripts is ours; none may carry an on… attribute.
    let mut rest = &lower[..];
    while let Some(at) = rest.find('<') {
        let tail = &rest[at..];
        let end = tail.find('>').unwrap_or(tail.len());
        let tag = &tail[..end];
        if tag.starts_with("<script") {
            let close = tail.find("</script").unwrap_or(tail.len());
            rest = &tail[close.min(tail.len())..];
            rest = &rest[rest.find('>').map_or(rest.len(), |p| p + 1)..];
            continue;
        }
        if tag.starts_with("<style") {
            let close = tail.find("</style").unwrap_or(tail.len());
            rest = &tail[close..];
            rest = &rest[rest.find('>').map_or(rest.len(), |p| p + 1)..];
            continue;
        }
        assert!(
            !tag.split_whitespace()
                .any(|attr| attr.starts_with("on") && attr.contains('=')),
            "event handler in {tag}"
        );
        rest = &tail[end.min(tail.len())..];
        if rest.is_empty() {
            break;
        }
        rest = &rest[1..];
    }
}

/// Each hostile string reached the page only escaped: never verbatim, and its escaped form is
/// shown (so the test does see it).
fn assert_escaped(html: &str, payloads: &[&str]) {
    for p in payloads {
        assert!(!html.contains(p), "raw {p:?} in the page");
        assert!(
            html.contains(&escaped(p)),
            "{p:?} is not shown (escaped) anywhere in the page"
        );
    }
    assert_only_own_markup(html);
}

fn section_ids(html: &str, ids: &[&str]) {
    for id in ids {
        assert!(
            html.contains(&format!("<section id=\"{id}\">")),
            "section {id} missing"
        );
    }
}

// ── Hostile snapshots ───────────────────────────────────────────────────────────────────────

fn read_snapshot(path: &Path) -> Vec<u8> {
    let raw = fs::read(path).expect("read snapshot");
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut text)
            .expect("gunzip snapshot");
        text
    } else {
        raw
    }
}

/// Rewrites whole elements of the snapshot's `strings` array: every `"old"` that is an element
/// (not part of a longer string) becomes `new`, JSON-encoded. Each `old` must occur.
fn rewrite_strings(text: &[u8], replacements: &[(&str, &str)]) -> Vec<u8> {
    let marker = b"\"strings\":[";
    let start = text
        .windows(marker.len())
        .rposition(|w| w == marker)
        .expect("a strings section")
        + marker.len();
    let (head, strings) = text.split_at(start);
    let mut strings = strings.to_vec();
    for (old, new) in replacements {
        let needle = serde_json::to_string(old).expect("json").into_bytes();
        let with = serde_json::to_string(new).expect("json").into_bytes();
        let mut out = Vec::with_capacity(strings.len() + 1024);
        let mut i = 0;
        let mut hits = 0;
        while i < strings.len() {
            if strings[i..].starts_with(&needle) {
                let before = strings[..i]
                    .iter()
                    .rposition(|b| !b.is_ascii_whitespace())
                    .map(|p| strings[p]);
                let after = strings[i + needle.len()..]
                    .iter()
                    .find(|b| !b.is_ascii_whitespace())
                    .copied();
                let element =
                    matches!(before, None | Some(b',')) && matches!(after, Some(b',' | b']'));
                if element {
                    out.extend_from_slice(&with);
                    i += needle.len();
                    hits += 1;
                    continue;
                }
            }
            out.push(strings[i]);
            i += 1;
        }
        assert!(hits > 0, "{old:?} is not an element of the strings array");
        strings = out;
    }
    let mut result = head.to_vec();
    result.extend_from_slice(&strings);
    result
}

// ── Headless Chromium ───────────────────────────────────────────────────────────────────────

/// The Chromium binary: `HEAPSCAN_CHROMIUM`, else `chromium` (or `chromium-browser`,
/// `google-chrome`) on PATH, which `scripts/test.sh` installs. Never skips: without a browser
/// the test fails and says why.
fn chromium() -> PathBuf {
    if let Some(path) = std::env::var_os("HEAPSCAN_CHROMIUM") {
        return PathBuf::from(path);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| on_path(name))
        .expect(
            "the browser test needs Chromium: bash scripts/test.sh installs it (Debian's package \
             chromium), or set HEAPSCAN_CHROMIUM to a Chromium binary",
        )
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// What the browser saw of one page.
struct Page {
    /// The DOM after the load event (`--dump-dom`).
    dom: String,
    /// The `<body>` start tag of that DOM, with the attributes the page's script set.
    body: String,
    /// URLs the page asked the network for (from Chromium's net log).
    page_requests: Vec<String>,
}

impl Page {
    fn attr(&self, name: &str) -> Option<String> {
        let key = format!(" {name}=\"");
        let at = self.body.find(&key)? + key.len();
        let end = self.body[at..].find('"')? + at;
        Some(self.body[at..end].to_string())
    }
}

/// Opens `page` in headless Chromium (file://), dumps its DOM, writes a screenshot, and reads
/// the net log for requests the page made.
fn open_in_chromium(page: &Path, screenshot: &Path) -> Page {
    let browser = chromium();
    let profile = tempfile::Builder::new()
        .prefix("heapscan-chromium-")
        .tempdir()
        .expect("profile dir");
    let netlog = profile.path().join("netlog.json");
    let url = format!(
        "file://{}",
        page.canonicalize().expect("absolute page path").display()
    );
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1280,2400",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg(format!("--log-net-log={}", netlog.display()))
        .arg(format!("--screenshot={}", screenshot.display()))
        .arg("--dump-dom")
        .arg(&url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", browser.display()));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish {url} within 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let dom = reader.join().unwrap_or_default();
    let log = err_reader.join().unwrap_or_default();
    assert!(
        status.success() && !dom.is_empty(),
        "chromium failed on {url} ({status}):\n{log}"
    );
    let body_at = dom.find("<body").expect("a body in the DOM");
    let body = dom[body_at..body_at + dom[body_at..].find('>').expect("body tag end")].to_string();
    let netlog_text = fs::read_to_string(&netlog).expect("chromium wrote a net log");
    Page {
        dom,
        body,
        page_requests: page_requests(&netlog_text),
    }
}

/// Requests made on behalf of a `file://` page, from a Chromium net log (one event per line):
/// every event whose network isolation key or site-for-cookies is the file origin. Chromium's
/// own background requests (component updates and the like) carry other keys.
fn page_requests(netlog: &str) -> Vec<String> {
    let mut urls = Vec::new();
    for line in netlog.lines() {
        let line = line.trim().trim_end_matches(',');
        if !line.starts_with("{\"params\"") {
            continue;
        }
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let params = &event["params"];
        let field = |k: &str| params[k].as_str().unwrap_or("").to_string();
        let from_page = field("network_isolation_key").contains("file://")
            || field("site_for_cookies").contains("site=file://");
        if from_page {
            urls.push(field("url"));
        }
    }
    urls
}

/// The page loaded, its script ran to the end without an error or a CSP violation, nothing
/// was requested, no hostile markup became an element or ran, and the sections are there.
fn assert_clean_page(page: &Page, sections: &[&str], what: &str) {
    assert_eq!(
        page.attr("data-ready").as_deref(),
        Some("1"),
        "{what}: {}",
        page.body
    );
    assert_eq!(
        page.attr("data-loaded").as_deref(),
        Some("1"),
        "{what}: {}",
        page.body
    );
    assert_eq!(
        page.attr("data-error-count").as_deref(),
        Some("0"),
        "{what}: script errors or CSP violations: {:?}",
        page.attr("data-errors")
    );
    assert_eq!(
        page.attr("data-model").as_deref(),
        Some("ok"),
        "{what}: embedded JSON"
    );
    assert_eq!(
        page.attr("data-resources").as_deref(),
        Some("0"),
        "{what}: resources loaded"
    );
    assert!(
        page.page_requests.is_empty(),
        "{what}: requests left the page: {:?}",
        page.page_requests
    );
    assert!(
        page.attr("data-pwned").is_none(),
        "{what}: hostile script ran: {}",
        page.body
    );
    let lower = page.dom.to_ascii_lowercase();
    assert!(
        !lower.contains("<img"),
        "{what}: an <img> element in the DOM"
    );
    assert_eq!(
        lower.matches("<script").count(),
        2,
        "{what}: script elements in the DOM"
    );
    let tables: usize = page
        .attr("data-tables")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    assert!(tables >= 4, "{what}: tables made sortable: {tables}");
    assert!(
        page.dom.contains("<button type=\"button\""),
        "{what}: sort buttons"
    );
    for id in sections {
        assert!(
            page.dom.contains(&format!("<section id=\"{id}\">")),
            "{what}: section {id}"
        );
    }
}

// ── Tests ───────────────────────────────────────────────────────────────────────────────────

#[test]
fn the_net_log_check_sees_requests_from_a_page() {
    // Control for `page_requests`: a page without the report's CSP that does request something.
    let dir = tempfile::tempdir().expect("tmp");
    let page = dir.path().join("control.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/heapscan-canary.png\"></body></html>",
    )
    .expect("write control page");
    let seen = open_in_chromium(&page, &dir.path().join("control.png"));
    assert!(
        seen.page_requests
            .iter()
            .any(|u| u.contains("heapscan-canary")),
        "the net log check missed a request: {:?}",
        seen.page_requests
    );
}

#[test]
fn sample_report_is_complete_deterministic_and_opens_cleanly() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sample.html");
    let html = report(&[sample()], &out, &[]);
    section_ids(&html, &["overview", "classes", "dominators", "strings"]);
    assert!(
        !html.contains("<section id=\"suspects\">"),
        "no suspects from one snapshot"
    );
    for needle in [
        "65,390",  // nodes
        "260,179", // edges
        "4.18 MB", // total heap
        "id=\"statistics-chart\"",
        "Other JS objects",
        "LinkedList<span class=\"loc\">",
        "samples/app.js:33:14",
        "get [kIsNodeError]", // the most wasteful duplicated string
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(html.contains("Content-Security-Policy\" content=\"default-src &#39;none&#39;;"));
    let model = embedded_model(&html);
    assert_eq!(model.snapshots.len(), 1);
    assert!(model.diff.is_none());
    assert_eq!(model.generated_at, None);
    let strings = model
        .duplicate_strings
        .as_ref()
        .expect("duplicated strings");
    assert_eq!(strings.top.len(), 20);
    assert!(strings.top.windows(2).all(|w| w[0].wasted >= w[1].wasted));
    // The sample holds `<script>alert(1)</script>` and a property `<img src=x onerror=…>`: with
    // every class listed, neither appears raw.
    let all = report(
        &[sample()],
        &dir.path().join("all.html"),
        &["--top", "100000"],
    );
    for raw in ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"] {
        assert!(!html.contains(raw) && !all.contains(raw), "raw {raw}");
    }
    assert_only_own_markup(&html);
    assert_only_own_markup(&all);

    // The same input gives the same bytes; -o - writes the same page to stdout.
    let again = report(&[sample()], &dir.path().join("again.html"), &[]);
    assert!(again == html, "a second run differs");
    let stdout = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .args(["report", SAMPLE, "-o", "-"])
        .current_dir(support::repo_root())
        .output()
        .expect("run");
    assert!(stdout.status.success());
    let relative = String::from_utf8(stdout.stdout).expect("utf-8");
    assert_eq!(
        relative.replace(SAMPLE, "F"),
        html.replace(&sample().display().to_string(), "F"),
        "stdout and file output differ"
    );
    // --timestamp (SOURCE_DATE_EPOCH for a fixed value) is the only difference.
    let stamped = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .args(["report", SAMPLE, "-o", "-", "--timestamp"])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .current_dir(support::repo_root())
        .output()
        .expect("run");
    let stamped = String::from_utf8(stamped.stdout).expect("utf-8");
    assert!(stamped.contains(" on 2023-11-14 22:13:20 UTC"), "timestamp");
    assert!(stamped.contains("\"generated_at\":\"2023-11-14 22:13:20 UTC\""));

    fs::copy(&out, artifacts().join("report-sample.html")).expect("keep report");
    let page = open_in_chromium(&out, &artifacts().join("report-sample.png"));
    assert_clean_page(
        &page,
        &["overview", "classes", "dominators", "strings"],
        "sample",
    );
    assert_eq!(page.attr("data-snapshots").as_deref(), Some("1"));
}

#[test]
fn hostile_names_in_a_snapshot_are_escaped_and_never_run() {
    let text = read_snapshot(&sample());
    let hostile = rewrite_strings(
        &text,
        &[
            ("ListNode", SCRIPT_CLASS),                 // a class (constructor) name
            ("LinkedList", ATTR_CLASS),                 // another, breaking out of an attribute
            ("/work/main/samples/app.js", SCRIPT_FILE), // a script's file name
            ("get [kIsNodeError]", IMG_STRING),         // string contents (duplicated 276 times)
            ("hardenRegExp", SVG_NAME),                 // a top dominator's name
            ("label", EDGE_NAME),                       // a property (edge) name: class `{label}`
        ],
    );
    let dir = tempfile::tempdir().expect("tmp");
    let snapshot = dir.path().join("hostile.heapsnapshot");
    fs::write(&snapshot, &hostile).expect("write hostile snapshot");
    let out = dir.path().join("hostile.html");
    let html = report(&[snapshot], &out, &[]);
    assert_escaped(
        &html,
        &[
            SCRIPT_CLASS,
            ATTR_CLASS,
            SCRIPT_FILE,
            IMG_STRING,
            SVG_NAME,
            EDGE_NAME,
        ],
    );
    // The data survives the escaping: the embedded JSON reads back to the hostile strings.
    let model = embedded_model(&html);
    let classes = &model.snapshots[0].classes;
    assert!(classes.iter().any(|c| c.class == SCRIPT_CLASS));
    // An interface name: DevTools quotes property names that are not identifiers.
    assert!(classes
        .iter()
        .any(|c| c.class.starts_with('{') && c.class.contains(EDGE_NAME)));
    assert!(classes.iter().any(|c| c
        .location
        .as_deref()
        .is_some_and(|l| l.starts_with(SCRIPT_FILE))));
    let strings = model.duplicate_strings.expect("strings");
    assert_eq!(strings.top[0].preview, IMG_STRING);

    fs::copy(&out, artifacts().join("report-hostile.html")).expect("keep report");
    let page = open_in_chromium(&out, &artifacts().join("report-hostile.png"));
    assert_clean_page(
        &page,
        &["overview", "classes", "dominators", "strings"],
        "hostile",
    );
}

#[test]
fn leak_report_shows_the_suspect_with_chart_path_and_line() {
    let node = support::node_binary(Some(20));
    let cap = support::capture("leak-cache.js", &["map"], &node, 3, 200);
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("leak.html");
    let html = report(&cap.snapshots, &out, &[]);
    let sections = [
        "overview",
        "suspects",
        "comparison",
        "classes",
        "dominators",
        "strings",
    ];
    section_ids(&html, &sections);
    assert!(html.contains("<p class=\"verdict bad\" id=\"verdict\">1 leak suspect</p>"));

    // The suspect: title, owner, its chart, the path to the Map and the line that makes entries.
    let model = embedded_model(&html);
    let diff = model.diff.as_ref().expect("a diff with 3 snapshots");
    assert_eq!(diff.suspects.len(), 1, "{:?}", diff.suspects);
    let s = &diff.suspects[0];
    assert_eq!(
        (s.kind.name(), s.owner.via.as_str()),
        ("collection", "sessionCache")
    );
    // The report compares as `heapscan diff` does: the same suspects, field for field.
    let diff_json = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .arg("diff")
        .args(&cap.snapshots)
        .args(["--format", "json"])
        .output()
        .expect("run heapscan diff");
    assert!(diff_json.status.success(), "{diff_json:?}");
    let from_diff: serde_json::Value = serde_json::from_slice(&diff_json.stdout).expect("json");
    assert_eq!(
        serde_json::to_value(&diff.suspects).expect("suspects"),
        from_diff["suspects"],
        "the report's suspects differ from diff --format json's"
    );
    assert_eq!(
        serde_json::to_value(&diff.steps).expect("steps"),
        from_diff["steps"]
    );
    let start = html
        .find("<article class=\"suspect\" id=\"suspect-1\">")
        .expect("suspect");
    let article = &html[start..start + html[start..].find("</article>").expect("end")];
    assert!(
        article.contains("Map `sessionCache` keeps growing"),
        "{article}"
    );
    assert!(article.contains(&escaped(&s.owner.description)));
    let line = {
        let text = fs::read_to_string(support::app_path("leak-cache.js")).expect("app");
        text.lines()
            .position(|l| l.contains("function makeEntry("))
            .expect("makeEntry")
            + 1
    };
    assert!(
        article.contains(&format!("tests/apps/leak-cache.js:{line}:")),
        "source line {line} in {article}"
    );
    let chart_at = article
        .find("<svg id=\"suspect-1-chart\"")
        .expect("growth chart");
    let chart = &article[chart_at..chart_at + article[chart_at..].find("</svg>").expect("svg end")];
    assert_eq!(chart.matches("<circle").count(), 3, "a point per snapshot");
    assert!(chart.contains("<polyline"), "the retained-size line");
    assert!(
        chart.matches("<rect").count() >= 3,
        "a count bar per snapshot"
    );
    for label in ["#1", "#2", "#3"] {
        assert!(
            chart.contains(&format!("{label}\n</text>")),
            "x label {label}"
        );
    }
    // Where to look in the code, from the outside in; the path from the GC roots folded.
    assert!(
        article.contains("<dt>Held in</dt>")
            && article
                .contains("tests/apps/leak-cache.js (module scope) → sessionCache → Map</code>"),
        "{article}"
    );
    let folded_at = article
        .find("<details class=\"root-path\"><summary>Shortest path from the GC roots (")
        .expect("the path from the GC roots, folded");
    assert!(
        article[folded_at..].find("<ol class=\"path\"") < article[folded_at..].find("</details>"),
        "the path is inside the fold"
    );
    let path_at = article
        .find("<ol class=\"path\" id=\"suspect-1-path\">")
        .expect("path");
    let path = &article[path_at..];
    assert!(path.contains("(GC roots)"));
    assert!(path.contains(&format!(
        "<span class=\"edge\">context sessionCache</span> → Map @{}",
        s.owner.id
    )));
    assert_eq!(
        path.matches("<li").count(),
        s.path.len() + 1 + usize::from(s.path_elided > 0),
        "(GC roots) and every step"
    );
    // The comparison lists the entries' class with a count per snapshot.
    assert!(html.contains("{url, data}"));
    assert!(html.contains("<th class=\"n\" scope=\"col\">Count #3</th>"));

    let again = report(&cap.snapshots, &dir.path().join("again.html"), &[]);
    assert!(again == html, "a second run differs");

    fs::copy(&out, artifacts().join("report-leak.html")).expect("keep report");
    let page = open_in_chromium(&out, &artifacts().join("report-leak.png"));
    assert_clean_page(&page, &sections, "leak");
    assert_eq!(page.attr("data-snapshots").as_deref(), Some("3"));
    assert!(page.dom.contains("id=\"suspect-1-chart\""));

    // The same capture with hostile names where the suspect shows them: the variable, an edge
    // on its path, the entries' property and the script's file name.
    let hostile_dir = tempfile::tempdir().expect("tmp");
    let app = support::app_path("leak-cache.js").display().to_string();
    // A named edge on the suspect's path other than the variable itself (`handler` in the
    // closure that serves requests, as a rule), taken from the report so the test does not
    // depend on which route the shortest path takes.
    let path_edge = s
        .path
        .iter()
        .rev()
        .skip(1)
        .find(|step| {
            matches!(step.edge_type.as_str(), "context" | "property")
                && step.edge_name.len() >= 3
                && step
                    .edge_name
                    .chars()
                    .all(|c| c.is_ascii_alphabetic() || c == '_')
        })
        .map(|step| step.edge_name.clone())
        .expect("a named edge on the path");
    let hostile: Vec<PathBuf> = cap
        .snapshots
        .iter()
        .enumerate()
        .map(|(i, snap)| {
            let text = rewrite_strings(
                &read_snapshot(snap),
                &[
                    ("sessionCache", SUSPECT_VAR),
                    (path_edge.as_str(), PATH_EDGE),
                    ("url", ENTRY_PROP),
                    (app.as_str(), LEAK_FILE),
                ],
            );
            let path = hostile_dir
                .path()
                .join(format!("hostile-{}.heapsnapshot", i + 1));
            fs::write(&path, text).expect("write");
            path
        })
        .collect();
    let out = hostile_dir.path().join("hostile-leak.html");
    let html = report(&hostile, &out, &[]);
    assert_escaped(&html, &[SUSPECT_VAR, PATH_EDGE, ENTRY_PROP, LEAK_FILE]);
    let model = embedded_model(&html);
    let s = &model.diff.as_ref().expect("diff").suspects[0];
    assert_eq!(s.owner.via, SUSPECT_VAR, "the suspect is still found");
    assert!(s
        .location
        .as_ref()
        .is_some_and(|l| l.file.starts_with(LEAK_FILE)));
    assert!(s.path.iter().any(|step| step.edge_name == PATH_EDGE));
    fs::copy(&out, artifacts().join("report-hostile-leak.html")).expect("keep report");
    let page = open_in_chromium(&out, &artifacts().join("report-hostile-leak.png"));
    assert_clean_page(&page, &sections, "hostile leak");
}

/// Lines a program may print into its GC log (the app's own output interleaves with V8's).
const GC_LOG_SCRIPT: &str = "<script>document.body.dataset.pwned='gclog'</script>";
const GC_LOG_ATTR: &str = "\"><img src=x onerror=document.body.dataset.pwned='gcattr'>";

#[test]
fn gc_trace_section_shows_growth_chart_and_pauses_and_escapes_log_lines() {
    let root = support::repo_root();
    let node20 = root.join("samples/gc/node20.trace-gc.log");
    let node24 = root.join("samples/gc/node24.trace-gc.log");
    let dir = tempfile::tempdir().expect("tmp");
    // A real Node 20 trace with the app's hostile output in between its records.
    let mut hostile = fs::read_to_string(&node20).expect("gc log");
    let middle = hostile.len() / 2;
    let cut = hostile[middle..].find('\n').expect("a line end") + middle + 1;
    hostile.insert_str(cut, &format!("{GC_LOG_SCRIPT}\n{GC_LOG_ATTR}\n"));
    let hostile_log = dir.path().join("app-gc.log");
    fs::write(&hostile_log, hostile).expect("write log");

    let out = dir.path().join("gc.html");
    let gc_args = [
        "--gc",
        hostile_log.to_str().expect("utf-8 path"),
        "--gc",
        node24.to_str().expect("utf-8 path"),
    ];
    let html = report(&[sample()], &out, &gc_args);
    let sections = ["overview", "classes", "dominators", "strings", "gc"];
    section_ids(&html, &sections);
    assert_escaped(&html, &[GC_LOG_SCRIPT, GC_LOG_ATTR]);

    // The section holds what `heapscan gc` says of the same logs.
    let gc_json = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .args(["gc", "--format", "json"])
        .arg(&hostile_log)
        .arg(&node24)
        .output()
        .expect("run heapscan gc");
    assert_eq!(gc_json.status.code(), Some(1), "both traces grow");
    let expected: serde_json::Value = serde_json::from_slice(&gc_json.stdout).expect("gc json");
    let model = embedded_model(&html);
    let trace = model.gc_trace.as_ref().expect("a GC trace in the model");
    assert_eq!(
        serde_json::to_value(&trace.analysis).expect("json"),
        expected,
        "the report's GC analysis is heapscan gc's"
    );
    let processes = &trace.analysis.processes;
    assert_eq!(processes.len(), 2);
    let lines = &trace.analysis.files[0].lines;
    assert_eq!(
        lines.other, 3,
        "the two hostile lines and the app's last line"
    );
    assert_eq!(
        lines.total,
        lines.gc + lines.other + lines.blank + lines.malformed
    );
    // Longest pauses: longest first, and the first is the longest of every process.
    let pauses = &trace.longest_pauses;
    assert_eq!(pauses.len(), 30);
    assert!(pauses.windows(2).all(|w| w[0].pause_ms >= w[1].pause_ms));
    let longest = processes
        .iter()
        .map(|p| p.pauses.max_ms)
        .fold(0.0, f64::max);
    assert_eq!(pauses[0].pause_ms, longest);

    // On the page: both verdicts, the chart with a line per process, every table.
    assert!(html.contains(
        "<p class=\"verdict bad\" id=\"gc-verdict\">GC trace: heap after GC keeps growing in 2 of 2 processes</p>"
    ));
    let chart_at = html.find("<svg id=\"gc-chart\"").expect("GC chart");
    let chart = &html[chart_at..chart_at + html[chart_at..].find("</svg>").expect("svg end")];
    assert!(
        chart.matches("<polyline").count() >= 2,
        "a line per process"
    );
    for p in processes {
        assert!(
            chart.contains(&format!("pid {} {}", p.pid, p.isolate)),
            "legend for {}",
            p.pid
        );
        assert!(html.contains(&format!("<code>{}</code>", p.isolate)));
    }
    for table in [
        "t-gc-processes",
        "t-gc-collectors",
        "t-gc-pauses",
        "t-gc-lines",
    ] {
        assert!(html.contains(&format!("id=\"{table}\"")), "{table}");
    }
    assert!(html.contains("mark-compact"));

    let again = report(&[sample()], &dir.path().join("again.html"), &gc_args);
    assert!(again == html, "a second run differs");

    fs::copy(&out, artifacts().join("report-gc.html")).expect("keep report");
    let page = open_in_chromium(&out, &artifacts().join("report-gc.png"));
    assert_clean_page(&page, &sections, "gc");
    assert!(page.dom.contains("id=\"gc-chart\""));

    // A GC trace alone is a report too: no snapshot sections, the trace's verdict on top.
    let only = dir.path().join("gc-only.html");
    let html = report(&[], &only, &["--gc", node24.to_str().expect("utf-8 path")]);
    section_ids(&html, &["gc"]);
    assert!(!html.contains("<section id=\"overview\">"));
    assert!(html.contains("GC trace only"));
    assert!(embedded_model(&html).snapshots.is_empty());

    // A GC log that is not there is an error, before any snapshot is read.
    let missing = Command::new(env!("CARGO_BIN_EXE_heapscan"))
        .args(["report", SAMPLE, "-o", "-", "--gc", "no-such-gc.log"])
        .current_dir(&root)
        .output()
        .expect("run");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no-such-gc.log"));
}

/// Bursty load: the last step idle. The page says which steps were idle and over which
/// snapshots growth was judged, and the suspect's chart labels its points with those
/// snapshots; the same snapshots newest first make a page that says it cannot judge them.
#[test]
fn idle_steps_and_snapshots_that_cannot_be_judged_are_shown() {
    let node = support::node_binary(Some(20));
    let mut opts = support::CaptureOptions::new(3, 0);
    opts.requests_before = Some(vec![200, 200, 0]);
    let cap = support::capture_with("leak-listener.js", &[], &node, &opts);
    let dir = tempfile::tempdir().expect("tmp");

    let out = dir.path().join("idle.html");
    let html = report(&cap.snapshots, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("idle-steps.png"));
    assert_clean_page(&page, &["overview", "suspects"], "idle steps");
    assert!(
        page.dom.contains("id=\"idle-steps\"")
            && page.dom.contains("Idle step(s) #2→#3")
            && page.dom.contains("growth is judged over snapshots #1 #3"),
        "{html}"
    );
    let chart_at = html
        .find("<svg id=\"suspect-1-chart\"")
        .expect("growth chart");
    let chart = &html[chart_at..chart_at + html[chart_at..].find("</svg>").expect("svg end")];
    let label = |n: u32| format!(">\n#{n}\n<");
    assert!(
        chart.contains(&label(1)) && chart.contains(&label(3)) && !chart.contains(&label(2)),
        "{chart}"
    );

    let reversed: Vec<PathBuf> = cap.snapshots.iter().rev().cloned().collect();
    let out = dir.path().join("reversed.html");
    report(&reversed, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("cannot-judge.png"));
    assert_clean_page(&page, &["overview", "suspects"], "reversed");
    assert!(
        page.dom
            .contains("<p class=\"verdict bad\" id=\"verdict\">Cannot judge these snapshots:"),
        "{}",
        page.dom
    );
    assert!(
        page.dom.contains("id=\"cannot-judge\"") && page.dom.contains("out of order"),
        "{}",
        page.dom
    );
    assert!(!page.dom.contains("No leak suspects"));
}

#[test]
fn near_misses_are_a_table_under_the_suspects() {
    // A bounded LRU (200 entries) that fills up over the first two bursts and then stops.
    let node = support::node_binary(Some(20));
    let mut opts = support::CaptureOptions::new(3, 0);
    opts.warmup = 0;
    opts.requests_before = Some(vec![150, 150, 150]);
    let cap = support::capture_with("ok-lru.js", &[], &node, &opts);
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("near.html");
    let html = report(&cap.snapshots, &out, &[]);
    let model = embedded_model(&html);
    let diff = model.diff.as_ref().expect("a diff");
    assert!(diff.suspects.is_empty(), "{:#?}", diff.suspects);
    assert!(!diff.near_misses.is_empty());
    let page = open_in_chromium(&out, &artifacts().join("near-misses.png"));
    assert_clean_page(&page, &["overview", "suspects"], "near misses");
    let table_at = page
        .dom
        .find("id=\"t-near-misses\"")
        .unwrap_or_else(|| panic!("no near-miss table: {}", page.dom));
    let table = &page.dom[table_at..table_at + page.dom[table_at..].find("</table>").unwrap()];
    assert!(
        page.dom.contains("id=\"no-suspects\"")
            && table.contains("Map `lruCache` (entries of")
            && table.contains("150 → 200 → 200")
            && table.contains("grew in 1 of 2 steps, not in the last"),
        "{table}"
    );
}

#[test]
fn snapshots_of_different_processes_say_they_were_matched_by_structure() {
    // Three processes of one leaking app, each snapshotted once, after more requests.
    let node = support::node_binary(Some(20));
    let caps: Vec<support::Capture> = [300, 700, 1100]
        .iter()
        .map(|&n| {
            let mut opts = support::CaptureOptions::new(1, 0);
            opts.warmup = 0;
            opts.requests_before = Some(vec![n]);
            support::capture_with("leak-cache.js", &["map"], &node, &opts)
        })
        .collect();
    let files: Vec<PathBuf> = caps.iter().map(|c| c.snapshots[0].clone()).collect();
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("processes.html");
    report(&files, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("processes.png"));
    assert_clean_page(&page, &["overview", "suspects"], "processes");
    let note_at = page
        .dom
        .find("id=\"not-one-process\"")
        .unwrap_or_else(|| panic!("no note: {}", page.dom));
    let note = &page.dom[note_at..note_at + page.dom[note_at..].find("</p>").unwrap()];
    assert!(note.contains("matched by structure"), "{note}");
    assert!(
        page.dom.contains("id=\"suspect-1\"")
            && page.dom.contains("Map `sessionCache` keeps growing"),
        "{}",
        page.dom
    );
}

#[test]
fn allocation_stacks_are_listed_with_the_apps_frames_marked() {
    let node = support::node_binary(Some(20));
    let mut opts = support::CaptureOptions::new(3, 200);
    opts.node_flags = vec!["--track-heap-objects".to_string()];
    let cap = support::capture_with("leak-cache.js", &["map"], &node, &opts);
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("stacks.html");
    report(&cap.snapshots, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("allocation-stacks.png"));
    assert_clean_page(&page, &["overview", "suspects"], "allocation stacks");
    let at = page
        .dom
        .find("<dt>Allocated by</dt>")
        .unwrap_or_else(|| panic!("no allocation stacks: {}", page.dom));
    let stacks = &page.dom[at..at + page.dom[at..].find("</dd>").expect("end")];
    assert!(
        stacks.contains("<li class=\"app\">makeEntry ")
            && stacks.contains("tests/apps/leak-cache.js:")
            && stacks.contains("calls outside the app"),
        "{stacks}"
    );
}

/// A leak through a package: the Source names the package, the app's function registered
/// per call is shown under "From the app", and a location chosen as a function of the holding
/// scope says so (the sliced strings of leak-view.js).
#[test]
fn package_locations_and_their_app_frame_are_shown() {
    let node = support::node_binary(Some(20));
    let dir = tempfile::tempdir().expect("tmp");
    let cap = support::capture(
        "packages/leak-interceptors.js",
        &["per-call"],
        &node,
        3,
        200,
    );
    let out = dir.path().join("package.html");
    report(&cap.snapshots, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("package-location.png"));
    assert_clean_page(&page, &["overview", "suspects"], "package location");
    assert!(
        page.dom.contains("(package <code>axios</code>)"),
        "no package: {}",
        page.dom
    );
    let at = page
        .dom
        .find("<dt>From the app</dt>")
        .unwrap_or_else(|| panic!("no app frame: {}", page.dom));
    let app = &page.dom[at..at + page.dom[at..].find("</dd>").expect("end")];
    assert!(
        app.contains("tests/apps/packages/leak-interceptors.js:"),
        "{app}"
    );

    let cap = support::capture("leak-view.js", &["string"], &node, 3, 200);
    let out = dir.path().join("scope.html");
    report(&cap.snapshots, &out, &[]);
    let page = open_in_chromium(&out, &artifacts().join("holding-scope.png"));
    assert!(
        page.dom
            .contains("a function of the scope that holds it: the snapshot does not say which function adds the entries"),
        "no caveat: {}",
        page.dom
    );
}
