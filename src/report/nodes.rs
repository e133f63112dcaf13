//! `heapscan nodes`' model and renderers: one row per heap object ([`NodeRow`], made by
//! [`crate::nodes::rows`]), streamed as CSV or JSON lines, for loading a heap into DuckDB or
//! pandas (and for parity checks).

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

/// Node names longer than this are cut (strings can be megabytes long).
pub const MAX_NAME_CHARS: usize = 1024;

/// One heap object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeRow<'a> {
    pub id: u32,
    #[serde(rename = "type")]
    pub node_type: &'a str,
    pub class: &'a str,
    pub name: String,
    pub self_size: u64,
    pub retained_size: u64,
    /// `None` when the graph was built without distances (an empty CSV cell).
    pub distance: Option<i32>,
    pub dominator_id: u32,
}

/// Streams rows as CSV with a header.
pub fn write_csv<'a>(
    rows: impl Iterator<Item = NodeRow<'a>>,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(out);
    w.write_record([
        "id",
        "type",
        "class",
        "name",
        "self_size",
        "retained_size",
        "distance",
        "dominator_id",
    ])?;
    let mut count = 0;
    for row in rows {
        w.serialize(&row)?;
        count += 1;
    }
    w.flush()?;
    Ok(count)
}

/// Streams rows as JSON lines.
pub fn write_jsonl<'a>(
    rows: impl Iterator<Item = NodeRow<'a>>,
    out: &mut dyn Write,
) -> io::Result<u64> {
    let mut count = 0;
    for row in rows {
        serde_json::to_writer(&mut *out, &row).map_err(io::Error::from)?;
        out.write_all(b"\n")?;
        count += 1;
    }
    Ok(count)
}
