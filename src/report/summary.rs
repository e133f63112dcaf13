//! The `summary` report model and its table, JSON and CSV renderers.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::{align_right, distance_cell, grouped, human_bytes, new_table, write_json, Format};

/// The whole summary of one snapshot.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummaryReport {
    pub snapshot: SnapshotInfo,
    /// Number of classes with at least one counted object.
    pub class_count: usize,
    /// Number of classes left after `--class`, before `--top`.
    pub matching_classes: usize,
    pub classes: Vec<ClassRow>,
    pub statistics: Statistics,
    pub dominators: Vec<DominatorRow>,
}

/// What was read.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnapshotInfo {
    pub file: String,
    /// Bytes of snapshot text (after decompression).
    pub file_size: u64,
    /// Bytes on disk when the file was compressed.
    pub compressed_size: Option<u64>,
    pub node_count: u64,
    pub edge_count: u64,
    /// DevTools' total: the root's retained size.
    pub total_size: u64,
    /// Nodes the root cannot reach through retaining edges (attached to the root, as DevTools).
    pub unreachable_nodes: u64,
}

/// One row of the Summary view.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassRow {
    pub class: String,
    /// `file:line:column` of the constructor, for classes DevTools keys by location.
    pub location: Option<String>,
    pub count: u64,
    /// Shortest distance of a member from the roots (DevTools' value: -5 when unreachable,
    /// 100000000 and up when reachable only through system roots; absent when the graph was
    /// built without distances).
    pub distance: Option<i32>,
    pub self_size: u64,
    pub retained_size: u64,
    pub self_percent: f64,
    pub retained_percent: f64,
}

/// DevTools' Statistics, in bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Statistics {
    pub total: u64,
    pub v8heap: u64,
    pub native: u64,
    pub code: u64,
    pub strings: u64,
    pub js_arrays: u64,
    pub typed_arrays: u64,
    pub system: u64,
    pub other: u64,
}

/// One of the objects that retain the most.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DominatorRow {
    pub id: u32,
    pub class: String,
    pub name: String,
    pub node_type: String,
    pub self_size: u64,
    pub retained_size: u64,
    pub retained_percent: f64,
    pub distance: Option<i32>,
}

/// Renders the report in `format` (`jsonl` is not offered for summaries).
pub fn render(report: &SummaryReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Json | Format::Jsonl => write_json(out, report),
        Format::Csv => render_csv(report, out),
        Format::Table => render_table(report, out),
    }
}

fn render_table(r: &SummaryReport, out: &mut dyn Write) -> io::Result<()> {
    let s = &r.snapshot;
    writeln!(
        out,
        "{}: {} nodes, {} edges, total {} ({} of snapshot text)",
        s.file,
        grouped(s.node_count),
        grouped(s.edge_count),
        human_bytes(s.total_size),
        human_bytes(s.file_size),
    )?;
    writeln!(out)?;
    let mut table = new_table(&[
        "Class", "Count", "Distance", "Shallow", "%", "Retained", "%",
    ]);
    for row in &r.classes {
        table.add_row(vec![
            super::class_cell(&row.class, row.location.as_ref()),
            grouped(row.count),
            distance_cell(row.distance),
            human_bytes(row.self_size),
            format!("{:.1}", row.self_percent),
            human_bytes(row.retained_size),
            format!("{:.1}", row.retained_percent),
        ]);
    }
    align_right(&mut table, &[1, 2, 3, 4, 5, 6]);
    writeln!(out, "{table}")?;
    if r.classes.len() < r.matching_classes {
        writeln!(
            out,
            "({} of {} classes shown; --top to see more)",
            r.classes.len(),
            r.matching_classes
        )?;
    }
    writeln!(out)?;
    let st = &r.statistics;
    let mut stats = new_table(&["Statistics", "Size", "%"]);
    for (label, value) in [
        ("Code", st.code),
        ("Strings", st.strings),
        ("JS arrays", st.js_arrays),
        ("Typed arrays", st.typed_arrays),
        ("System objects", st.system),
        ("Other JS objects", st.other),
        (
            "Native (outside V8 heap)",
            st.native.saturating_sub(st.typed_arrays),
        ),
        ("Total", st.total),
    ] {
        let pct = if st.total == 0 {
            0.0
        } else {
            value as f64 * 100.0 / st.total as f64
        };
        stats.add_row(vec![
            label.to_string(),
            human_bytes(value),
            format!("{pct:.1}"),
        ]);
    }
    align_right(&mut stats, &[1, 2]);
    writeln!(out, "{stats}")?;
    if !r.dominators.is_empty() {
        writeln!(out)?;
        let mut doms = new_table(&["Top dominators", "Id", "Name", "Shallow", "Retained", "%"]);
        for d in &r.dominators {
            doms.add_row(vec![
                d.class.clone(),
                format!("@{}", d.id),
                d.name.clone(),
                human_bytes(d.self_size),
                human_bytes(d.retained_size),
                format!("{:.1}", d.retained_percent),
            ]);
        }
        align_right(&mut doms, &[1, 3, 4, 5]);
        writeln!(out, "{doms}")?;
    }
    Ok(())
}

fn render_csv(r: &SummaryReport, out: &mut dyn Write) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record([
        "class",
        "location",
        "count",
        "distance",
        "self_size",
        "retained_size",
        "self_percent",
        "retained_percent",
    ])?;
    for row in &r.classes {
        w.write_record([
            row.class.clone(),
            row.location.clone().unwrap_or_default(),
            row.count.to_string(),
            row.distance.map_or(String::new(), |d| d.to_string()),
            row.self_size.to_string(),
            row.retained_size.to_string(),
            row.self_percent.to_string(),
            row.retained_percent.to_string(),
        ])?;
    }
    w.flush()
}
