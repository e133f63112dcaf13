//! The `heapscan report` model ([`HtmlReport`]) and its renderer: one self-contained HTML page
//! that works offline in any browser and can be shared as a single file.
//!
//! The page holds everything it shows: the stylesheet and script (`assets/report.css`,
//! `assets/report.js`, embedded with `include_str!`), charts drawn with plotters as inline SVG,
//! and the model itself as JSON (`<script type="application/json" id="heapscan-data">`). It
//! loads nothing: a `Content-Security-Policy` forbids every request, and only the page's own
//! style sheet and script (by SHA-256 hash) may run.
//!
//! Every string that comes from a snapshot (class, property, edge and file names, string
//! contents) is untrusted: the analysed program chose it. The page is built with maud's
//! `html!`, which escapes every value spliced into it; untrusted text goes in as
//! `(Escaped(…))`, which also escapes `'`. Markup that is not escaped has a type of its own
//! (`PreEscaped`) and there are three: the page's own style sheet and script, the embedded
//! JSON ([`json_for_script`], which cannot close its script), and plotters' charts (numbers and
//! fixed words only, never snapshot data). The script reads the data back only as text. The same model always gives the same bytes: nothing here reads a clock or a random
//! number; the time appears only when the model carries one (`--timestamp`).
//!
//! Sections are built by `sections`, one function each; a new optional section is one more
//! field of [`HtmlReport`] and one more entry there (the GC trace's lives in `gc`).

use std::io::{self, Write};

use maud::{html, Markup, PreEscaped, Render, DOCTYPE};
use plotters::coord::ranged1d::{IntoSegmentedCoord, SegmentValue};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

mod gc;

use super::diff::{
    idle_step_labels, restart_step_labels, ClassChange, DiffReport, Judgement, LocationBasis,
    Suspect,
};
use super::retainers::{edge_label, node_label};
use super::strings::DuplicateStrings;
use super::summary::{Statistics, SummaryReport};
use super::{distance_cell, grouped, human_bytes, series};
use crate::gc::analysis::GcReport;
use crate::gc::parse::GcKind;

/// The page's style sheet.
pub const CSS: &str = include_str!("../assets/report.css");
/// The page's script: table sorting and filtering, and error/violation recording.
pub const JS: &str = include_str!("../assets/report.js");

/// Everything `heapscan report` shows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HtmlReport {
    /// The heapscan version that made the report.
    pub heapscan_version: String,
    /// When the report was made (`--timestamp`); `None` keeps the output identical for
    /// identical input.
    pub generated_at: Option<String>,
    /// One Summary per snapshot, in the order given (oldest first).
    pub snapshots: Vec<SummaryReport>,
    /// With two or more snapshots: leak suspects and the class comparison.
    pub diff: Option<DiffReport>,
    /// The largest duplicated strings of the last snapshot.
    pub duplicate_strings: Option<DuplicateStrings>,
    /// `--gc FILE…`: the GC trace, analysed as `heapscan gc` does, with its longest pauses.
    #[serde(default)]
    pub gc_trace: Option<GcTrace>,
}

/// The GC-trace part of the report: `heapscan gc`'s analysis plus the pauses worth a look.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcTrace {
    pub analysis: GcReport,
    /// The longest pauses over all processes, longest first (ties: earliest first).
    pub longest_pauses: Vec<GcPause>,
}

/// One GC of the trace, for the longest-pauses table.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GcPause {
    pub pid: u32,
    pub isolate: String,
    /// Seconds since the isolate started.
    pub time_s: f64,
    pub kind: GcKind,
    pub pause_ms: f64,
    pub heap_after_mb: f64,
}

/// Text as the page shows it, whatever it holds: `&`, `<`, `>`, `"` and `'` are written as
/// character references, for element content and quoted attribute values alike. Every string
/// from a snapshot or a log is spliced in as `(Escaped(…))` (maud escapes a plain `&str` too, but
/// not `'`).
struct Escaped<'a>(&'a str);

impl Render for Escaped<'_> {
    fn render_to(&self, out: &mut String) {
        for c in self.0.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                '"' => out.push_str("&quot;"),
                '\'' => out.push_str("&#39;"),
                c => out.push(c),
            }
        }
    }
}

/// JSON for a `<script type="application/json">` block: `<`, `>`, `&` and `'` (and the JS line
/// separators U+2028/U+2029) are written as `\uXXXX` escapes, so no `</script`, `<!--` or
/// markup can appear in the block, and `JSON.parse` still reads the same value.
pub fn json_for_script<T: Serialize>(value: &T) -> io::Result<String> {
    let json = serde_json::to_string(value).map_err(io::Error::other)?;
    let mut out = String::with_capacity(json.len() + 64);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\'' => out.push_str("\\u0027"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `'sha256-…'`: a CSP source that allows exactly this inline script or style.
fn csp_hash(content: &str) -> String {
    use base64::Engine;
    let digest = Sha256::digest(content.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The page's Content-Security-Policy: no requests of any kind; only the embedded style
/// sheet and script, by hash (so markup that slipped through escaping could still not run).
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; script-src {}; img-src data:; base-uri 'none'; form-action 'none'",
        csp_hash(CSS),
        csp_hash(JS)
    )
}

/// Renders the whole page.
pub fn render(report: &HtmlReport, out: &mut dyn Write) -> io::Result<()> {
    let sections = sections(report)?;
    let data = json_for_script(report)?;
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta http-equiv="Content-Security-Policy" content=(Escaped(&content_security_policy()));
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="generator" content="heapscan";
                link rel="icon" href="data:,";
                title { (Escaped(&page_title(report))) }
                // The page's own assets and the model as JSON: the only text that is not
                // escaped (the assets are ours, the JSON cannot close its script).
                style { (PreEscaped(CSS)) }
                script { (PreEscaped(JS)) }
            }
            body {
                (header(report))
                nav class="toc" aria-label="Sections" {
                    @for s in &sections {
                        a href={ "#" (s.id) } { (Escaped(&s.title)) }
                    }
                }
                main {
                    @for s in &sections {
                        section id=(s.id) {
                            h2 { (Escaped(&s.title)) }
                            (s.body)
                        }
                    }
                }
                (footer(report))
                script type="application/json" id="heapscan-data" { (PreEscaped(data)) }
            }
        }
    };
    out.write_all(page.into_string().as_bytes())
}

/// One `<section>` of the page.
struct Section {
    /// Anchor (fixed words).
    id: &'static str,
    title: String,
    body: Markup,
}

/// The page's sections in order; each is there when the model has its data.
fn sections(r: &HtmlReport) -> io::Result<Vec<Section>> {
    let mut out = Vec::new();
    if !r.snapshots.is_empty() {
        out.push(overview(r)?);
    }
    if let Some(diff) = &r.diff {
        out.push(suspects(diff)?);
        out.push(comparison(diff));
    }
    if !r.snapshots.is_empty() {
        out.push(top_classes(r));
        out.push(top_dominators(r));
    }
    if let Some(strings) = &r.duplicate_strings {
        out.push(duplicate_strings(strings));
    }
    if let Some(trace) = &r.gc_trace {
        out.push(gc::section(trace)?);
    }
    Ok(out)
}

fn page_title(r: &HtmlReport) -> String {
    match r.snapshots.last() {
        Some(last) if r.snapshots.len() > 1 => format!(
            "heapscan report: {} snapshots, last {}",
            r.snapshots.len(),
            last.snapshot.file
        ),
        Some(last) => format!("heapscan report: {}", last.snapshot.file),
        None => "heapscan report".to_string(),
    }
}

/// The page's verdict: CSS class and text.
fn verdict(r: &HtmlReport) -> (&'static str, String) {
    match &r.diff {
        Some(DiffReport {
            judgement: Judgement::CannotJudge { message, .. },
            suspects,
            ..
        }) if suspects.is_empty() => ("bad", format!("Cannot judge these snapshots: {message}")),
        Some(d) if d.suspects.is_empty() => (
            "good",
            "No leak suspects: nothing grows steadily across these snapshots".to_string(),
        ),
        Some(d) => (
            "bad",
            format!(
                "{} leak suspect{}",
                d.suspects.len(),
                if d.suspects.len() == 1 { "" } else { "s" }
            ),
        ),
        None if r.snapshots.is_empty() => (
            "info",
            "GC trace only: add heap snapshots to see what the heap holds".to_string(),
        ),
        None => (
            "info",
            "One snapshot: take two or more of one process to find leaks".to_string(),
        ),
    }
}

fn header(r: &HtmlReport) -> Markup {
    let (class, text) = verdict(r);
    html! {
        header class="top" {
            h1 { "heapscan report" }
            p class="files" {
                @for (i, s) in r.snapshots.iter().enumerate() {
                    @if i > 0 { " · " }
                    "#" (i + 1) " " (Escaped(&s.snapshot.file))
                }
            }
            p class={ "verdict " (class) } id="verdict" { (Escaped(&text)) }
            @if let Some(trace) = &r.gc_trace {
                @let (class, text) = gc::verdict(&trace.analysis);
                p class={ "verdict " (class) } id="gc-verdict" { (Escaped(&text)) }
            }
        }
    }
}

fn footer(r: &HtmlReport) -> Markup {
    html! {
        footer {
            "Made by heapscan " (Escaped(&r.heapscan_version))
            @if let Some(at) = &r.generated_at { " on " (Escaped(at)) }
            ". Sizes in powers of 1000 (kB, MB), as DevTools shows them. The report's data is \
             embedded as JSON in "
            code { "#heapscan-data" }
            "."
        }
    }
}

// ── Tables ──────────────────────────────────────────────────────────────────────────────────

/// One table cell.
enum Cell {
    /// Untrusted or plain text.
    Text(String),
    /// Text in `<code>`.
    Code(String),
    /// A class name with its source location under it.
    Class(String, Option<String>),
    /// A number: the value the script sorts by, and how it reads.
    Num(f64, String),
    /// A fixed label after a colour swatch (CSS class suffix, label).
    Swatch(&'static str, &'static str),
}

impl Render for Cell {
    fn render(&self) -> Markup {
        match self {
            Cell::Text(t) => html! { td { (Escaped(t)) } },
            Cell::Code(t) => html! { td { code { (Escaped(t)) } } },
            Cell::Class(name, location) => html! {
                td {
                    (Escaped(name))
                    @if let Some(loc) = location { span class="loc" { (Escaped(loc)) } }
                }
            },
            Cell::Swatch(css, label) => html! {
                td { span class={ "swatch sw-" (css) } {} (label) }
            },
            Cell::Num(v, text) => html! {
                td class="n" data-v=(sort_value(*v)) { (Escaped(text)) }
            },
        }
    }
}

/// Tables longer than this get a filter box (every table can be sorted).
const FILTER_FROM_ROWS: usize = 10;

/// A sortable, filterable table.
struct Table {
    /// Element id (fixed words and numbers).
    id: String,
    /// What the rows are, for the filter box's label.
    what: &'static str,
    /// Column headings (fixed words) and whether the column is numeric.
    columns: Vec<(String, bool)>,
    rows: Vec<Vec<Cell>>,
}

fn num(v: u64) -> Cell {
    Cell::Num(v as f64, grouped(v))
}

fn bytes(v: u64) -> Cell {
    Cell::Num(v as f64, human_bytes(v))
}

fn signed(v: i64) -> Cell {
    Cell::Num(v as f64, format!("{v:+}"))
}

fn signed_bytes(v: i64) -> Cell {
    Cell::Num(v as f64, super::signed_bytes(v))
}

/// Megabytes as V8's GC trace prints them (MiB, one decimal).
fn bytes_mb(v: f64) -> Cell {
    Cell::Num(v, format!("{v:.1}"))
}

fn percent(v: f64) -> Cell {
    Cell::Num(v, format!("{v:.1}"))
}

impl Table {
    fn new(id: impl Into<String>, what: &'static str, columns: &[(&str, bool)]) -> Table {
        Table {
            id: id.into(),
            what,
            columns: columns.iter().map(|&(c, n)| (c.to_string(), n)).collect(),
            rows: Vec::new(),
        }
    }
}

impl Render for Table {
    fn render(&self) -> Markup {
        // Table ids start with `t-`, so they never clash with a section's id.
        let id = format!("t-{}", self.id);
        html! {
            @if self.rows.len() > FILTER_FROM_ROWS {
                div class="table-tools" {
                    input type="search" class="filter" data-table=(id)
                        placeholder={ "Filter " (self.what) "…" } aria-label={ "Filter " (self.what) };
                    span class="count" id={ (id) "-count" } { (self.rows.len()) " rows" }
                }
            }
            div class="table-wrap" {
                table class="data" id=(id) {
                    thead {
                        tr {
                            @for (name, numeric) in &self.columns {
                                th class=[numeric.then_some("n")] scope="col" { (Escaped(name)) }
                            }
                        }
                    }
                    tbody {
                        @for row in &self.rows {
                            tr { @for cell in row { (cell) } }
                        }
                    }
                }
            }
        }
    }
}

/// A number as the script parses it (`parseFloat`); never `NaN` or `inf`.
fn sort_value(v: f64) -> String {
    if v.is_finite() {
        format!("{v}")
    } else {
        "0".to_string()
    }
}

// ── Sections ────────────────────────────────────────────────────────────────────────────────

/// One part of DevTools' Statistics in the overview chart and table.
struct Bucket {
    label: &'static str,
    /// Suffix of the swatch's CSS class (`sw-…`).
    css: &'static str,
    color: RGBColor,
    value: u64,
}

/// The Statistics buckets that add up to the total, in DevTools' order.
fn buckets(s: &Statistics) -> [Bucket; 7] {
    let b = |label, css, color, value| Bucket {
        label,
        css,
        color,
        value,
    };
    [
        b("Code", "code", RGBColor(0x8b, 0x5c, 0xf6), s.code),
        b("Strings", "strings", RGBColor(0xf5, 0x9e, 0x0b), s.strings),
        b(
            "JS arrays",
            "arrays",
            RGBColor(0x10, 0xb9, 0x81),
            s.js_arrays,
        ),
        b(
            "Typed arrays",
            "typed",
            RGBColor(0x06, 0xb6, 0xd4),
            s.typed_arrays,
        ),
        b(
            "System objects",
            "system",
            RGBColor(0x64, 0x74, 0x8b),
            s.system,
        ),
        b(
            "Other JS objects",
            "other",
            RGBColor(0x3b, 0x82, 0xf6),
            s.other,
        ),
        b(
            "Native (outside V8 heap)",
            "native",
            RGBColor(0xef, 0x44, 0x44),
            s.native.saturating_sub(s.typed_arrays),
        ),
    ]
}

fn overview(r: &HtmlReport) -> io::Result<Section> {
    let mut files = Table::new(
        "snapshots",
        "snapshots",
        &[
            ("#", true),
            ("File", false),
            ("On disk", true),
            ("Snapshot text", true),
            ("Nodes", true),
            ("Edges", true),
            ("Total heap", true),
            ("Unreachable", true),
        ],
    );
    for (i, s) in r.snapshots.iter().enumerate() {
        let info = &s.snapshot;
        files.rows.push(vec![
            num(i as u64 + 1),
            Cell::Code(info.file.clone()),
            bytes(info.compressed_size.unwrap_or(info.file_size)),
            bytes(info.file_size),
            num(info.node_count),
            num(info.edge_count),
            bytes(info.total_size),
            num(info.unreachable_nodes),
        ]);
    }
    let statistics = if r.snapshots.is_empty() {
        None
    } else {
        let chart = figure(
            &statistics_chart(&r.snapshots)?,
            "statistics-chart",
            "Heap composition per snapshot (DevTools' Statistics)",
        );
        let mut columns: Vec<(String, bool)> = vec![("Statistics".to_string(), false)];
        for i in 0..r.snapshots.len() {
            columns.push((format!("#{}", i + 1), true));
        }
        let mut table = Table {
            id: "statistics".to_string(),
            what: "statistics",
            columns,
            rows: Vec::new(),
        };
        let per_snapshot: Vec<[Bucket; 7]> =
            r.snapshots.iter().map(|s| buckets(&s.statistics)).collect();
        for b in 0..7 {
            let first = &per_snapshot[0][b];
            let mut row = vec![Cell::Swatch(first.css, first.label)];
            for buckets in &per_snapshot {
                row.push(bytes(buckets[b].value));
            }
            table.rows.push(row);
        }
        let mut total = vec![Cell::Text("Total".to_string())];
        for s in &r.snapshots {
            total.push(bytes(s.statistics.total));
        }
        table.rows.push(total);
        Some((chart, table))
    };
    let restarts = r.diff.as_ref().map(restart_step_labels).unwrap_or_default();
    let body = html! {
        (files)
        @if let Some(d) = &r.diff {
            @if !d.same_process {
                p class="note" id="not-one-process" {
                    strong { "Not one process:" } " " (Escaped(&d.same_process_reason))
                }
            }
            @if !restarts.is_empty() && d.judgement.is_judged() {
                p class="note" id="restart-steps" {
                    "Step(s) " (Escaped(&restarts.join(", "))) " go to a restarted process (it had \
                     done less CPU work and run for less time than the one before): growth across them is \
                     not judged."
                }
            }
        }
        @if let Some((chart, table)) = &statistics {
            h3 { "Statistics" }
            (chart)
            (table)
        }
    };
    Ok(Section {
        id: "overview",
        title: "Overview".to_string(),
        body,
    })
}

fn suspects(d: &DiffReport) -> io::Result<Section> {
    let articles = d
        .suspects
        .iter()
        .enumerate()
        .map(|(i, s)| suspect(i + 1, s, &d.judged_snapshots))
        .collect::<io::Result<Vec<Markup>>>()?;
    let idle = idle_step_labels(d);
    let judged: Vec<String> = d
        .judged_snapshots
        .iter()
        .map(|i| format!("#{}", i + 1))
        .collect();
    let t = &d.thresholds;
    let body = html! {
        @if let Judgement::CannotJudge { message, advice, .. } = &d.judgement {
            p class="bad" id="cannot-judge" {
                strong { "Cannot judge these snapshots:" } " " (Escaped(message)) ". " (Escaped(advice)) "."
            }
        } @else if d.suspects.is_empty() {
            p class="good" id="no-suspects" {
                "No leak suspects: nothing grows steadily across these snapshots."
            }
        } @else {
            p class="note" {
                "Most important first. Each grew in count and retained size across the "
                (d.snapshots.len())
                " snapshots. \"Held in\" is where to look in the code: the scope (or class \
                 instance) that holds it and the names down to it; the shortest chain of \
                 references from the GC roots is folded under each."
            }
        }
        @if !idle.is_empty() && d.judgement.is_judged() {
            p class="note" id="idle-steps" {
                "Idle step(s) " (Escaped(&idle.join(", "))) ": the process did (almost) nothing, so \
                 they neither confirm nor refute growth; growth is judged over snapshots "
                (judged.join(" ")) "."
            }
        }
        @for article in &articles { (article) }
        (near_misses(d))
        p class="note" {
            "Thresholds per step: " (t.class_count_growth) " objects of a class, "
            (t.collection_entry_growth) " collection entries, " (t.listener_growth)
            " listeners, " (t.timer_growth) " timers, " (t.closure_chain_growth)
            " closure-chain links; at least " (human_bytes(t.retained_growth))
            " more retained from first to last; " (format!("{:.0}", t.steady_fraction * 100.0))
            "% of steps growing."
        }
    };
    Ok(Section {
        id: "suspects",
        title: "Leak suspects".to_string(),
        body,
    })
}

/// What grew short of a verdict, as a small table.
fn near_misses(d: &DiffReport) -> Markup {
    let mut table = Table::new(
        "near-misses",
        "near misses",
        &[
            ("Kind", false),
            ("What grew", false),
            ("Count", false),
            ("Retained", false),
            ("Why not a suspect", false),
        ],
    );
    for m in &d.near_misses {
        table.rows.push(vec![
            Cell::Text(m.kind.to_string()),
            Cell::Class(
                m.subject.clone(),
                m.location.as_ref().map(ToString::to_string),
            ),
            Cell::Text(series(&m.counts, false)),
            Cell::Text(series(&m.retained_sizes, true)),
            Cell::Text(m.reason.to_string()),
        ]);
    }
    html! {
        @if !d.near_misses.is_empty() {
            h3 id="near-misses" { "Near misses" }
            p class="note" {
                "These grew, but not the way a leak does (not steadily, or by too little); they \
                 fail no gate."
            }
            (table)
        }
    }
}

fn suspect(rank: usize, s: &Suspect, judged: &[usize]) -> io::Result<Markup> {
    let chart = figure(
        &growth_chart(s, judged)?,
        &format!("suspect-{rank}-chart"),
        "Count (bars, left axis) and retained size (line, right axis) per snapshot",
    );
    let last = s.path.len().saturating_sub(1);
    Ok(html! {
        article class="suspect" id={ "suspect-" (rank) } {
            h3 { span class="kind" { (s.kind.name()) } " " (rank) ". " (Escaped(&s.title)) }
            div class="suspect-grid" {
                dl class="facts" {
                    dt { "Accumulates" } dd { (Escaped(&s.class)) }
                    dt { "Owner" }
                    dd {
                        (Escaped(&s.owner.description)) " "
                        span class="muted" {
                            "(" (Escaped(&s.owner.class)) " @" (s.owner.id) ", via "
                            code { (Escaped(&s.owner.via)) } ")"
                        }
                    }
                    @if let Some(key) = &s.held_in {
                        dt { "Held in" }
                        dd { code class="held-in" { (Escaped(&key.from_the_outside())) } }
                    }
                    dt { "Source" }
                    dd {
                        @match &s.location {
                            Some(loc) => {
                                code class="location" { (Escaped(&loc.to_string())) }
                                @if let Some(package) = &s.package {
                                    " " span class="muted" { "(package " code { (Escaped(package)) } ")" }
                                }
                                @if let Some(caveat) = s.location_basis.caveat() {
                                    br; span class="muted caveat" { (Escaped(caveat)) }
                                }
                            },
                            None => span class="muted" { "unknown: " (Escaped(LocationBasis::UNKNOWN_REASON)) },
                        }
                    }
                    @if let Some(app) = &s.app_location {
                        dt { "From the app" }
                        dd { code class="app-location" { (Escaped(&app.to_string())) } }
                    }
                    @if !s.allocation_stacks.is_empty() {
                        dt { "Allocated by" }
                        dd {
                            @for stack in &s.allocation_stacks {
                                @let (frames, more) = stack.shown_frames();
                                div class="stack" {
                                    (grouped(stack.count)) " ×"
                                    ol class="stack" {
                                        @for frame in frames {
                                            li class=[frame.app.then_some("app")] {
                                                (Escaped(&frame.to_string()))
                                            }
                                        }
                                        @if more > 0 {
                                            li class="more" { "+" (more) " calls outside the app" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    dt { "Count" } dd { (Escaped(&series(&s.counts, false))) }
                    dt { "Retained" } dd { (Escaped(&series(&s.retained_sizes, true))) }
                    dt { "Fix" } dd { (Escaped(&s.hint)) }
                }
                (chart)
            }
            details class="root-path" {
                summary { "Shortest path from the GC roots (" (s.path.len()) " steps)" }
                ol class="path" id={ "suspect-" (rank) "-path" } {
                li { "(GC roots)" }
                @for (i, step) in s.path.iter().enumerate() {
                    @if s.path_elided > 0 && i as u64 == s.path_elided_after {
                        li class="elided" { "… " (grouped(s.path_elided)) " more steps …" }
                    }
                    li class=[(i == last).then_some("owner")] {
                        "↳ " span class="edge" { (Escaped(&edge_label(step))) }
                        " → " (Escaped(&node_label(&step.node)))
                    }
                }
                }
            }
        }
    })
}

fn comparison(d: &DiffReport) -> Section {
    let k = d.snapshots.len();
    let survivors = d.classes.iter().any(|c| c.survivors.is_some());
    let mut columns: Vec<(String, bool)> = vec![("Class".to_string(), false)];
    for i in 0..k {
        columns.push((format!("Count #{}", i + 1), true));
    }
    for c in [
        "New",
        "Deleted",
        "Δ count",
        "Alloc",
        "Freed",
        "Δ size",
        "Δ retained",
    ] {
        columns.push((c.to_string(), true));
    }
    if survivors {
        columns.push(("Survivors".to_string(), true));
    }
    let mut table = Table {
        id: "comparison".to_string(),
        what: "classes",
        columns,
        rows: Vec::new(),
    };
    for c in &d.classes {
        table.rows.push(comparison_row(c, k, survivors));
    }
    let body = html! {
        p class="note" {
            "DevTools' Comparison view: snapshot #1 against #" (k) ", biggest growth in shallow \
             size first, with each class's count in every snapshot"
            @if d.classes.len() < d.class_count {
                "; the first " (d.classes.len()) " of " (d.class_count)
                " classes that changed (--top)"
            }
            "."
        }
        (table)
    };
    Section {
        id: "comparison",
        title: "Class comparison".to_string(),
        body,
    }
}

fn comparison_row(c: &ClassChange, k: usize, survivors: bool) -> Vec<Cell> {
    let location = c.location.as_ref().map(ToString::to_string);
    let mut row = vec![Cell::Class(c.class.clone(), location)];
    for i in 0..k {
        row.push(num(c.counts.get(i).copied().unwrap_or(0)));
    }
    row.extend([
        num(c.new),
        num(c.deleted),
        signed(c.delta),
        bytes(c.alloc_size),
        bytes(c.freed_size),
        signed_bytes(c.size_delta),
        signed_bytes(c.retained_delta),
    ]);
    if survivors {
        row.push(num(c.survivors.unwrap_or(0)));
    }
    row
}

/// A `<details>` per snapshot (the last one open), each holding `body` of that snapshot
/// (numbered from 1).
fn per_snapshot(r: &HtmlReport, body: impl Fn(usize, &SummaryReport) -> Markup) -> Markup {
    let k = r.snapshots.len();
    html! {
        @for (i, s) in r.snapshots.iter().enumerate() {
            details class="snapshot" open[i + 1 == k] {
                summary { "#" (i + 1) " " (Escaped(&s.snapshot.file)) }
                (body(i + 1, s))
            }
        }
    }
}

fn top_classes(r: &HtmlReport) -> Section {
    let body = html! {
        p class="note" {
            "DevTools' Summary view by retained size (an object dominated by another of its \
             class is counted once)."
        }
        (per_snapshot(r, |n, s| {
            let mut t = Table::new(
                format!("classes-{n}"),
                "classes",
                &[
                    ("Class", false),
                    ("Count", true),
                    ("Distance", true),
                    ("Shallow", true),
                    ("Shallow %", true),
                    ("Retained", true),
                    ("Retained %", true),
                ],
            );
            for c in &s.classes {
                t.rows.push(vec![
                    Cell::Class(c.class.clone(), c.location.clone()),
                    num(c.count),
                    Cell::Num(
                        c.distance.map_or(f64::NAN, f64::from),
                        distance_cell(c.distance),
                    ),
                    bytes(c.self_size),
                    percent(c.self_percent),
                    bytes(c.retained_size),
                    percent(c.retained_percent),
                ]);
            }
            html! {
                @if s.classes.len() < s.matching_classes {
                    p class="note" {
                        "The " (s.classes.len()) " largest of "
                        (grouped(s.matching_classes as u64)) " classes (--top)."
                    }
                }
                (t)
            }
        }))
    };
    Section {
        id: "classes",
        title: "Top classes by retained size".to_string(),
        body,
    }
}

fn top_dominators(r: &HtmlReport) -> Section {
    let body = html! {
        p class="note" {
            "The objects that keep the most memory alive: nothing else holds what they retain."
        }
        (per_snapshot(r, |n, s| {
            let mut t = Table::new(
                format!("dominators-{n}"),
                "objects",
                &[
                    ("Object", false),
                    ("Name", false),
                    ("Id", true),
                    ("Type", false),
                    ("Shallow", true),
                    ("Retained", true),
                    ("Retained %", true),
                    ("Distance", true),
                ],
            );
            for d in &s.dominators {
                t.rows.push(vec![
                    Cell::Text(d.class.clone()),
                    Cell::Code(d.name.clone()),
                    Cell::Num(f64::from(d.id), format!("@{}", d.id)),
                    Cell::Text(d.node_type.clone()),
                    bytes(d.self_size),
                    bytes(d.retained_size),
                    percent(d.retained_percent),
                    Cell::Num(
                        d.distance.map_or(f64::NAN, f64::from),
                        distance_cell(d.distance),
                    ),
                ]);
            }
            t.render()
        }))
    };
    Section {
        id: "dominators",
        title: "Top dominators".to_string(),
        body,
    }
}

fn duplicate_strings(d: &DuplicateStrings) -> Section {
    let mut t = Table::new(
        "strings",
        "strings",
        &[
            ("String", false),
            ("Length", true),
            ("Copies", true),
            ("Each", true),
            ("Wasted", true),
            ("Example ids", false),
        ],
    );
    for s in &d.top {
        let ids: Vec<String> = s.example_ids.iter().map(|id| format!("@{id}")).collect();
        t.rows.push(vec![
            Cell::Code(s.preview.clone()),
            num(s.length),
            num(s.count),
            bytes(s.self_size),
            bytes(s.wasted),
            Cell::Text(ids.join(" ")),
        ]);
    }
    let body = html! {
        p class="note" {
            "In " code { (Escaped(&d.file)) } ": " (grouped(d.string_count)) " strings take "
            (human_bytes(d.string_bytes)) "; " (grouped(d.duplicated_contents))
            " contents are stored more than once, and the extra copies waste "
            (human_bytes(d.wasted)) " in all. The largest wastes:"
        }
        (t)
    };
    Section {
        id: "strings",
        title: "Duplicated strings".to_string(),
        body,
    }
}

// ── Charts ──────────────────────────────────────────────────────────────────────────────────

fn chart_error(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("cannot draw a chart: {e}"))
}

/// An inline SVG chart in a `<figure>`. The SVG is plotters' and holds only numbers and fixed
/// words (never snapshot data), so it is written as it is; `id` and `label` are escaped into
/// its opening tag.
fn figure(svg: &str, id: &str, label: &str) -> Markup {
    let opening = format!(
        "<svg id=\"{}\" class=\"chart\" role=\"img\" aria-label=\"{}\" ",
        Escaped(id).render().into_string(),
        Escaped(label).render().into_string()
    );
    let svg = svg.trim_start().replacen("<svg ", &opening, 1);
    html! {
        figure class="chart" {
            (PreEscaped(svg))
            figcaption { (Escaped(label)) }
        }
    }
}

const BLUE_BAR: RGBColor = RGBColor(0x93, 0xb4, 0xf5);
const RED_LINE: RGBColor = RGBColor(0xdc, 0x26, 0x26);
const GRID: RGBColor = RGBColor(0xe5, 0xe7, 0xeb);
/// Axis labels and legends: 15 px in plotters' units (about 12 px in the SVG).
const LABELS: (&str, u32) = ("sans-serif", 15);

/// One horizontal bar per snapshot, split into the Statistics buckets.
fn statistics_chart(snapshots: &[SummaryReport]) -> io::Result<String> {
    let k = snapshots.len();
    let height = 64 + 40 * k as u32;
    let max = snapshots
        .iter()
        .map(|s| {
            buckets(&s.statistics)
                .iter()
                .map(|b| b.value)
                .sum::<u64>()
                .max(s.statistics.total)
        })
        .max()
        .unwrap_or(0)
        .max(1) as f64
        * 1.03;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, height)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .margin_right(36)
            .x_label_area_size(28)
            .y_label_area_size(48)
            .build_cartesian_2d(0f64..max, 0f64..k as f64)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(LABELS)
            .x_labels(6)
            .x_label_formatter(&|v| human_bytes(v.max(0.0) as u64))
            .y_labels(0)
            .draw()
            .map_err(chart_error)?;
        // Snapshot #1 on top; each bar is the middle 70% of its row.
        let label_style =
            TextStyle::from(LABELS.into_font()).pos(Pos::new(HPos::Right, VPos::Center));
        for (i, s) in snapshots.iter().enumerate() {
            let row = (k - 1 - i) as f64;
            let mut x = 0f64;
            for b in buckets(&s.statistics) {
                if b.value == 0 {
                    continue;
                }
                let w = b.value as f64;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(x, row + 0.15), (x + w, row + 0.85)],
                        b.color.filled(),
                    )))
                    .map_err(chart_error)?;
                x += w;
            }
            let (px, py) = chart.backend_coord(&(0.0, row + 0.5));
            root.draw(&Text::new(
                format!("#{}", i + 1),
                (px - 8, py),
                &label_style,
            ))
            .map_err(chart_error)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A suspect's count (bars, left axis) and retained size (line, right axis) per snapshot.
/// `judged[i]` is the index of the snapshot `s.counts[i]` was counted in.
fn growth_chart(s: &Suspect, judged: &[usize]) -> io::Result<String> {
    // Two segments at least: a range of one value gives plotters nothing to draw.
    let k = s.counts.len().max(s.retained_sizes.len()).max(2) as i32;
    let max_count = s.counts.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.15;
    let max_bytes = s.retained_sizes.iter().copied().max().unwrap_or(0).max(1) as f64 * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 280)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .margin(14)
            .x_label_area_size(32)
            .y_label_area_size(70)
            .right_y_label_area_size(80)
            .build_cartesian_2d((1..k).into_segmented(), 0f64..max_count)
            .map_err(chart_error)?
            .set_secondary_coord((1..k).into_segmented(), 0f64..max_bytes);
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .label_style(LABELS)
            .axis_desc_style(LABELS)
            .x_labels(k as usize + 1)
            .x_label_formatter(&|v| match v {
                SegmentValue::CenterOf(i) if (1..=k).contains(i) => judged
                    .get(*i as usize - 1)
                    .map_or(String::new(), |n| format!("#{}", n + 1)),
                _ => String::new(),
            })
            .y_labels(6)
            .y_label_formatter(&|v| grouped(v.max(0.0).round() as u64))
            .y_desc("count")
            .draw()
            .map_err(chart_error)?;
        chart
            .configure_secondary_axes()
            .label_style(LABELS)
            .axis_desc_style(LABELS)
            .y_labels(6)
            .y_label_formatter(&|v| human_bytes(v.max(0.0) as u64))
            .y_desc("retained")
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(s.counts.iter().enumerate().map(|(i, &c)| {
                let i = i as i32 + 1;
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 0.0),
                        (SegmentValue::Exact(i + 1), c as f64),
                    ],
                    BLUE_BAR.filled(),
                );
                bar.set_margin(0, 0, 22, 22);
                bar
            }))
            .map_err(chart_error)?
            .label("count")
            .legend(|(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], BLUE_BAR.filled()));
        chart
            .draw_secondary_series(
                LineSeries::new(
                    s.retained_sizes
                        .iter()
                        .enumerate()
                        .map(|(i, &r)| (SegmentValue::CenterOf(i as i32 + 1), r as f64)),
                    RED_LINE.stroke_width(3),
                )
                .point_size(5),
            )
            .map_err(chart_error)?
            .label("retained size")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED_LINE.stroke_width(3)));
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(LABELS)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_text_and_attributes() {
        let escape = |text: &str| Escaped(text).render().into_string();
        assert_eq!(escape("plain"), "plain");
        assert_eq!(
            escape(r#"<script>alert('x')</script> & "q""#),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
        assert_eq!(
            escape("\"><img src=x onerror=alert(1)>"),
            "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"
        );
        // In markup, attribute values included.
        let hostile = "\"><img src=x onerror='alert(1)'>";
        let markup = html! { p title=(Escaped(hostile)) { (Escaped(hostile)) } }.into_string();
        assert_eq!(
            markup,
            "<p title=\"&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;\">&quot;&gt;&lt;img src=x onerror=&#39;alert(1)&#39;&gt;</p>"
        );
    }

    #[test]
    fn embedded_json_cannot_close_its_script() {
        let hostile = vec![
            "</script><script>alert(1)</script>",
            "<!-- x -->",
            "a'b&c\u{2028}",
        ];
        let json = json_for_script(&hostile).expect("json");
        for bad in ["<", ">", "&", "'", "\u{2028}"] {
            assert!(!json.contains(bad), "{bad:?} in {json}");
        }
        let back: Vec<String> = serde_json::from_str(&json).expect("still JSON");
        assert_eq!(back, hostile);
    }

    #[test]
    fn csp_hashes() {
        // sha256("") in base64, as browsers compute it for an empty inline script.
        assert_eq!(
            csp_hash(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
        let csp = content_security_policy();
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn assets_cannot_end_their_own_elements() {
        assert!(!JS.to_ascii_lowercase().contains("</script"));
        assert!(!CSS.to_ascii_lowercase().contains("</style"));
        assert!(!JS.contains("innerHTML") && !JS.contains("outerHTML"));
        assert!(!JS.contains("insertAdjacentHTML") && !JS.contains("document.write"));
        assert!(!JS.contains("eval("));
    }
}
