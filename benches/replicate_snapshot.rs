//! Writes a heap snapshot larger than V8 can write on the benchmark machine: `COPIES` copies of
//! a real snapshot side by side in one file, for the scale benchmarks
//! (`benches/make-huge-snapshot.sh`).
//!
//! ```text
//! cargo run --release --example replicate-snapshot -- BASE COPIES OUT [--ids-from FILE,FILE…]
//! ```
//!
//! Ids are renumbered densely: V8's ids are spread over most of the 32-bit range, so copies
//! cannot keep them with an offset. Copy `k` of the node whose id has rank `r` among the ids
//! of the `--ids-from` snapshots (default: the base alone) gets the id `2 * (k * U + r)`, plus
//! 1 where V8's id was odd, `U` being how many distinct ids those snapshots have: give two
//! snapshots of one process the same `--ids-from` and an object keeps one id in all their
//! copies, so a diff of two replicated files is a diff of one process. A node's edges point
//! into its own copy. The base's root stays the only root: it gets an element edge to each
//! later copy's root node, so every copy hangs off it as the base did off its own root. The
//! string table, trace data and samples are the base's; the locations are copied with the
//! nodes. Numbers are written as V8 writes them (a node per line).
//!
//! A benchmark input maker, not part of heapscan: it trusts the base (a snapshot V8 wrote) and
//! stops with a message on anything it does not expect.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::{bail, Context, Result};

/// A number array of the base: the byte range of its body (between `[` and `]`).
struct Array {
    body: std::ops::Range<usize>,
}

fn find(text: &[u8], from: usize, what: &str) -> Result<usize> {
    memchr::memmem::find(&text[from..], what.as_bytes())
        .map(|p| from + p)
        .with_context(|| format!("the base has no {what}"))
}

/// The number array that follows `"key":[` at or after `from`.
fn array(text: &[u8], from: usize, key: &str) -> Result<Array> {
    let open = find(text, from, &format!("\"{key}\":["))? + key.len() + 4;
    let close = open + memchr::memchr(b']', &text[open..]).context("an array without its end")?;
    Ok(Array { body: open..close })
}

/// The non-negative integers of `bytes` (separated by commas and whitespace), one by one.
fn numbers(bytes: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < bytes.len() && !bytes[i].is_ascii_digit() {
            i += 1;
        }
        if i == bytes.len() {
            return None;
        }
        let mut value = 0u64;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            value = value * 10 + u64::from(bytes[i] - b'0');
            i += 1;
        }
        Some(value)
    })
}

/// Writes records of `width` numbers as V8 does: comma-separated, a record per line.
struct RecordWriter<W: Write> {
    out: W,
    first: bool,
    buffer: itoa::Buffer,
}

impl<W: Write> RecordWriter<W> {
    fn record(&mut self, values: &[u64]) -> Result<()> {
        if !self.first {
            self.out.write_all(b"\n,")?;
        }
        self.first = false;
        for (k, &v) in values.iter().enumerate() {
            if k > 0 {
                self.out.write_all(b",")?;
            }
            self.out.write_all(self.buffer.format(v).as_bytes())?;
        }
        Ok(())
    }
}

fn field(fields: &serde_json::Value, name: &str) -> Result<usize> {
    fields
        .as_array()
        .and_then(|a| a.iter().position(|f| f == name))
        .with_context(|| format!("the base's meta has no field {name}"))
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: replicate-snapshot BASE COPIES OUT [--ids-from FILE,FILE...]";
    let base = PathBuf::from(args.next().context(usage)?);
    let copies: u64 = args.next().context(usage)?.parse().context(usage)?;
    let out_path = PathBuf::from(args.next().context(usage)?);
    let ids_from: Vec<PathBuf> = match (args.next().as_deref(), args.next()) {
        (Some("--ids-from"), Some(list)) => list.split(',').map(PathBuf::from).collect(),
        (None, _) => vec![base.clone()],
        _ => bail!(usage),
    };
    if copies == 0 {
        bail!("COPIES must be at least 1");
    }
    let file = File::open(&base).with_context(|| format!("{}", base.display()))?;
    // SAFETY: the base is a benchmark input nothing else writes while this runs.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let text: &[u8] = &map;

    let nodes = array(text, 0, "nodes")?;
    // Everything before `"nodes":[` is `{"snapshot":{…},` and a newline.
    let head_end = find(text, 0, "\"nodes\":[")?;
    let head = std::str::from_utf8(&text[..head_end])?.trim_end();
    let head_json: serde_json::Value =
        serde_json::from_str(&format!("{}}}", head.trim_end_matches(',')))
            .context("the base's header does not parse")?;
    let snapshot = &head_json["snapshot"];
    let meta = &snapshot["meta"];
    let node_count = snapshot["node_count"].as_u64().context("no node_count")?;
    let edge_count = snapshot["edge_count"].as_u64().context("no edge_count")?;
    let node_fields = &meta["node_fields"];
    let node_width = node_fields.as_array().map_or(0, Vec::len);
    let edge_width = meta["edge_fields"].as_array().map_or(0, Vec::len);
    let location_width = meta["location_fields"].as_array().map_or(0, Vec::len);
    let id_field = field(node_fields, "id")?;
    let edge_count_field = field(node_fields, "edge_count")?;
    let to_field = field(&meta["edge_fields"], "to_node")?;
    let object_field = field(&meta["location_fields"], "object_index").unwrap_or(0);
    let element_type = field(&meta["edge_types"][0], "element")? as u64;
    let type_field = field(&meta["edge_fields"], "type")?;
    let name_field = field(&meta["edge_fields"], "name_or_index")?;
    let edges = array(text, nodes.body.end, "edges")?;
    let locations = if location_width > 0 {
        Some(array(text, edges.body.end, "locations")?)
    } else {
        None
    };

    // Every id of the `--ids-from` snapshots, sorted: an id's rank is its dense number.
    let mut all_ids = Vec::new();
    for path in &ids_from {
        let file = File::open(path).with_context(|| format!("{}", path.display()))?;
        // SAFETY: as for the base.
        let other = unsafe { memmap2::Mmap::map(&file)? };
        let body = array(&other, 0, "nodes")?.body;
        all_ids.extend(numbers(&other[body]).skip(id_field).step_by(node_width));
    }
    all_ids.sort_unstable();
    all_ids.dedup();
    let distinct = all_ids.len() as u64;
    if 2 * copies * distinct + 1 > u64::from(u32::MAX) {
        bail!("{copies} copies of {distinct} ids give ids past 2^32");
    }
    // Per base node: its id's rank; and the root's edge count (the root is node 0).
    let mut rank = Vec::with_capacity(node_count as usize);
    let mut root_edges = 0u64;
    let mut record = vec![0u64; node_width];
    for (k, v) in numbers(&text[nodes.body.clone()]).enumerate() {
        record[k % node_width] = v;
        if k % node_width == node_width - 1 {
            let id = record[id_field];
            let r = all_ids
                .binary_search(&id)
                .ok()
                .with_context(|| format!("id {id} of the base is not in --ids-from"))?;
            rank.push(r as u64);
            if k / node_width == 0 {
                root_edges = record[edge_count_field];
            }
        }
    }
    drop(all_ids);
    let node_offset_step = node_count * node_width as u64;

    let mut out = BufWriter::with_capacity(1 << 22, File::create(&out_path)?);
    let counts = format!("\"node_count\":{node_count},\"edge_count\":{edge_count}");
    if !head.contains(&counts) {
        bail!("the base's header does not read {counts}");
    }
    let new_counts = format!(
        "\"node_count\":{},\"edge_count\":{}",
        node_count * copies,
        edge_count * copies + (copies - 1)
    );
    out.write_all(head.replacen(&counts, &new_counts, 1).as_bytes())?;
    out.write_all(b"\n\"nodes\":[")?;
    let mut w = RecordWriter {
        out,
        first: true,
        buffer: itoa::Buffer::new(),
    };
    for copy in 0..copies {
        for (k, v) in numbers(&text[nodes.body.clone()]).enumerate() {
            record[k % node_width] = v;
            if k % node_width == node_width - 1 {
                let parity = record[id_field] & 1;
                record[id_field] = 2 * (copy * distinct + rank[k / node_width]) + parity;
                if copy == 0 && k / node_width == 0 {
                    record[edge_count_field] += copies - 1;
                }
                w.record(&record)?;
            }
        }
    }
    w.out.write_all(&text[nodes.body.end..edges.body.start])?;
    w.first = true;
    let mut edge = vec![0u64; edge_width];
    let mut roots_joined = false;
    for copy in 0..copies {
        for (k, v) in numbers(&text[edges.body.clone()]).enumerate() {
            if (copy == 1 && !roots_joined) || (copy == 0 && k == root_edges as usize * edge_width)
            {
                // The root's edges to the later copies' roots, after its own.
                let mut extra = vec![0u64; edge_width];
                for later in 1..copies {
                    extra[type_field] = element_type;
                    extra[name_field] = later;
                    extra[to_field] = later * node_offset_step;
                    w.record(&extra)?;
                }
                roots_joined = true;
            }
            edge[k % edge_width] = v;
            if k % edge_width == edge_width - 1 {
                edge[to_field] += copy * node_offset_step;
                w.record(&edge)?;
            }
        }
    }
    let rest = match &locations {
        Some(locations) => {
            w.out
                .write_all(&text[edges.body.end..locations.body.start])?;
            w.first = true;
            let mut location = vec![0u64; location_width];
            for copy in 0..copies {
                for (k, v) in numbers(&text[locations.body.clone()]).enumerate() {
                    location[k % location_width] = v;
                    if k % location_width == location_width - 1 {
                        location[object_field] += copy * node_offset_step;
                        w.record(&location)?;
                    }
                }
            }
            locations.body.end
        }
        None => edges.body.end,
    };
    w.out.write_all(&text[rest..])?;
    w.out.flush()?;
    eprintln!(
        "{}: {} copies of {}: {} nodes, {} edges, {distinct} ids a copy",
        out_path.display(),
        copies,
        base.display(),
        node_count * copies,
        edge_count * copies + (copies - 1)
    );
    Ok(())
}
