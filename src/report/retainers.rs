//! The `retainers` report model (also used for paths in other reports) and its renderers.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use super::{human_bytes, write_json, Format};

/// One heap object as reports name it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct NodeRef {
    pub id: u32,
    pub node_type: String,
    pub class: String,
    pub name: String,
    pub self_size: u64,
    pub retained_size: u64,
}

/// One step of a path: the edge taken and the node it leads to.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PathStep {
    pub edge_type: String,
    pub edge_name: String,
    pub node: NodeRef,
}

/// A path from the GC roots (the root's child first) to an object.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetainerPath {
    pub steps: Vec<PathStep>,
}

/// `heapscan retainers` output.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetainersReport {
    pub file: String,
    pub target: NodeRef,
    /// When chosen by `--class`: how many objects the class has (the largest is shown).
    pub class_members: Option<u64>,
    /// Hops from the root on the shortest path, or `None` when only weak edges reach it.
    pub distance: Option<u32>,
    pub paths: Vec<RetainerPath>,
}

/// How an edge reads in a path: `.prop`, `[3]`, `context var`, `(internal name)`.
pub fn edge_label(step: &PathStep) -> String {
    match step.edge_type.as_str() {
        "property" => format!(".{}", step.edge_name),
        "element" => format!("[{}]", step.edge_name),
        "context" => format!("context {}", step.edge_name),
        "shortcut" => format!("shortcut {}", step.edge_name),
        other => format!("({other} {})", step.edge_name),
    }
}

/// How a node reads in a path: `Class @id` plus its name when that says more.
pub fn node_label(node: &NodeRef) -> String {
    if node.name.is_empty() || node.name == node.class {
        format!("{} @{}", node.class, node.id)
    } else {
        format!("{} @{} \"{}\"", node.class, node.id, node.name)
    }
}

/// Writes one path as indented lines, the root side first.
pub fn write_path(out: &mut dyn Write, path: &RetainerPath, indent: &str) -> io::Result<()> {
    writeln!(out, "{indent}(GC roots)")?;
    for (i, step) in path.steps.iter().enumerate() {
        writeln!(
            out,
            "{indent}{}└─ {} → {}",
            "   ".repeat(i.min(12)),
            edge_label(step),
            node_label(&step.node)
        )?;
    }
    Ok(())
}

/// Renders the report (`table` or `json`).
pub fn render(report: &RetainersReport, format: Format, out: &mut dyn Write) -> io::Result<()> {
    if matches!(format, Format::Json | Format::Jsonl | Format::Csv) {
        return write_json(out, report);
    }
    let t = &report.target;
    writeln!(
        out,
        "{}: {} ({}), shallow {}, retained {}",
        report.file,
        node_label(t),
        t.node_type,
        human_bytes(t.self_size),
        human_bytes(t.retained_size)
    )?;
    if let Some(members) = report.class_members {
        writeln!(out, "the largest of {members} objects of class {}", t.class)?;
    }
    match report.distance {
        None => writeln!(
            out,
            "no path from the GC roots: only weak references (or none) reach it"
        )?,
        Some(d) => writeln!(
            out,
            "shortest path: {d} steps; {} path(s) shown",
            report.paths.len()
        )?,
    }
    for (i, path) in report.paths.iter().enumerate() {
        writeln!(out)?;
        writeln!(out, "Path {}:", i + 1)?;
        write_path(out, path, "  ")?;
    }
    Ok(())
}
