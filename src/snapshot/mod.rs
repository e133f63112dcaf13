//! Reading a V8 heap snapshot into flat columns.
//!
//! [`Snapshot::open`] maps (or decompresses) the file, walks the top-level JSON object, reads
//! the header through serde, parses `nodes` and `edges` in parallel straight into columns
//! (checking every index on the way), and indexes the `strings` array for lazy decoding.
//! Node and edge records become dense `u32` ordinals: node `n`'s outgoing edges are
//! `first_edge[n]..first_edge[n+1]`, and an edge's target is a node ordinal, not a raw offset.

pub mod header;
mod numbers;
mod read_ahead;
mod source;
mod strings;
pub mod trace;

use std::ops::Range;
use std::path::Path;
use std::sync::OnceLock;

use rayon::prelude::*;
use serde::de::IgnoredAny;

pub use header::{EdgeTypes, Layout, NodeTypes};
pub(crate) use read_ahead::ReadAhead;
pub use source::{text_size_estimate, Source};
pub(crate) use strings::TextPart;
pub use strings::{decode_json_string, Strings};

use crate::column::Column;
use crate::error::{Error, Result};
use header::RawHeader;
pub(crate) use numbers::split_lengths;
use numbers::{parse_chunk, split_records, Chunk, NumberError};
use strings::StringText;
use trace::TraceTree;

/// One parsed snapshot: node and edge columns, the string table, and what the header said.
pub struct Snapshot {
    pub layout: Layout,
    /// Per node: type index into `layout.node_type_names`.
    pub node_type: Column<u8>,
    /// Per node: string index of its name.
    pub node_name: Column<u32>,
    /// Per node: V8's object id (stable within one process).
    pub node_id: Column<u32>,
    /// Per node: shallow size in bytes.
    pub node_self_size: Column<u64>,
    /// Per node: allocation trace node id (0 when absent or not tracked).
    pub node_trace_id: Column<u32>,
    /// Per node: detachedness (0 unknown, 1 attached, 2 detached).
    pub node_detachedness: Column<u8>,
    /// `first_edge[n]..first_edge[n + 1]` are node `n`'s outgoing edges; length `node_count + 1`.
    pub first_edge: Column<u32>,
    /// Per edge: type index into `layout.edge_type_names`.
    pub edge_type: Column<u8>,
    /// Per edge: string index of its name, or the element/hidden index.
    pub edge_name: Column<u32>,
    /// Per edge: ordinal of the target node.
    pub edge_to: Column<u32>,
    pub strings: Strings,
    /// `locations` records: (node ordinal, script id, line, column), lines and columns 0-based.
    pub locations: Column<Location>,
    /// `trace_function_infos` as flat numbers (width `layout.trace_function_info_width`).
    pub trace_function_infos: Column<u64>,
    /// The allocation-trace tree (empty when allocations were not tracked).
    pub trace_tree: TraceTree,
    /// `extra_native_bytes` from the header (Chrome only), counted in the total size.
    pub extra_native_bytes: u64,
    /// Size of the decompressed snapshot text in bytes.
    pub file_size: u64,
    /// Size of the file on disk when it was compressed.
    pub compressed_size: Option<u64>,
    /// Per block of [`EDGES_PER_BLOCK`] edges: the owner of its first edge, built when
    /// [`edge_owner`](Self::edge_owner) is first asked.
    pub(crate) edge_block_owner: OnceLock<Box<[u32]>>,
}

/// Edges per block of [`Snapshot::edge_block_owner`]: a block's owners span a few cache lines
/// of `first_edge`, and the table a few hundred KB for tens of millions of edges.
const EDGES_PER_BLOCK: usize = 256;

/// Where an object or function was created in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
#[repr(C)]
pub struct Location {
    pub node: u32,
    pub script_id: u32,
    pub line: u32,
    pub column: u32,
}

/// Byte spans of the top-level sections, found by one walk over the structure.
#[derive(Default)]
struct Sections {
    header: Option<RawHeader>,
    nodes: Option<Range<usize>>,
    edges: Option<Range<usize>>,
    trace_function_infos: Option<Range<usize>>,
    trace_tree: Option<Range<usize>>,
    locations: Option<Range<usize>>,
    strings: Option<(Range<usize>, Vec<Range<u64>>)>,
}

impl Snapshot {
    /// Opens and parses the snapshot at `path` (`-` reads standard input).
    pub fn open(path: &Path) -> Result<Snapshot> {
        let source = Source::open(path)?;
        Self::from_source(source)
    }

    /// Parses bytes already in memory; `path` is only used in messages.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Snapshot> {
        Self::from_source(Source::from_vec(path, bytes)?)
    }

    /// Parses an opened source. One long function on purpose: it is the parser's schedule
    /// (the header, then each section parsed and checked against the header and the sections
    /// before it), which reads best as one sequence of steps and checks.
    pub fn from_source(source: Source) -> Result<Snapshot> {
        let path = source.path().to_path_buf();
        let text = source.bytes();
        let sections = walk(&path, text)?;
        let missing = |what: &str| {
            Error::bad(
                &path,
                format!("is JSON but not a V8 heap snapshot: it has no `{what}` section"),
            )
        };
        let header = sections.header.ok_or_else(|| missing("snapshot"))?;
        let layout = Layout::from_meta(&path, &header.meta)?;
        let nodes_span = sections.nodes.ok_or_else(|| missing("nodes"))?;
        let edges_span = sections.edges.ok_or_else(|| missing("edges"))?;
        let (strings_span, string_spans) = sections.strings.ok_or_else(|| missing("strings"))?;
        let string_count = string_spans.len();
        if string_count == 0 {
            return Err(Error::bad(&path, "the `strings` array is empty"));
        }

        // The number arrays are read twice (commas counted, then parsed); each stretch's pages
        // of a mapped file leave the resident set after each read, so a parse holds about one
        // chunk per thread of the file instead of all of it (a parse beside other work then
        // costs its columns, not the file too). A decompressed buffer gives its pages back
        // after the parse, the second read (the first must leave them).
        let done_with = Releases {
            counted: &|range| source.release(range),
            // Once parsed, a stretch is never read again: a buffer in memory hands it back too.
            parsed: &|range| source.release_consumed(range),
        };
        let nodes = parse_nodes(
            &path,
            text,
            nodes_span.clone(),
            &layout,
            string_count,
            &done_with,
        )?;
        let node_count = nodes.node_type.len();
        if node_count as u64 != header.node_count {
            return Err(Error::bad(
                &path,
                format!(
                    "the header says node_count is {} but the `nodes` array holds {node_count} nodes: the file is inconsistent",
                    header.node_count
                ),
            ));
        }
        if node_count == 0 {
            return Err(Error::bad(&path, "the snapshot has no nodes"));
        }
        if node_count >= u32::MAX as usize {
            return Err(Error::bad(
                &path,
                "more than 4 billion nodes are not supported",
            ));
        }
        let edges = parse_edges(
            &path,
            text,
            edges_span.clone(),
            &layout,
            string_count,
            node_count,
            &done_with,
        )?;
        let edge_count = edges.edge_type.len();
        if edge_count as u64 != header.edge_count {
            return Err(Error::bad(
                &path,
                format!(
                    "the header says edge_count is {} but the `edges` array holds {edge_count} edges: the file is inconsistent",
                    header.edge_count
                ),
            ));
        }
        // Edge counts per node become CSR offsets.
        let mut first_edge = nodes.edge_counts;
        let mut total: u64 = 0;
        for slot in first_edge.iter_mut() {
            let count = u64::from(*slot);
            *slot = total as u32;
            total += count;
            if total > u64::from(u32::MAX) {
                break;
            }
        }
        if total != edge_count as u64 {
            return Err(Error::bad(
                &path,
                format!(
                    "the nodes' edge counts add up to {total} but the `edges` array holds {edge_count} edges: the file is inconsistent"
                ),
            ));
        }
        first_edge.push(total as u32);

        let locations = match (&sections.locations, layout.location_fields) {
            (Some(span), Some(fields)) => {
                parse_locations(&path, text, span.clone(), &layout, fields, node_count)?
            }
            _ => Vec::new(),
        };
        let trace_function_infos = match (
            &sections.trace_function_infos,
            layout.trace_function_info_width,
        ) {
            (Some(span), width) if width > 0 => numbers::parse_flat(text, span.clone(), width)
                .map_err(|e| number_error(&path, "trace_function_infos", text.len(), e))?,
            _ => Vec::new(),
        };

        let trace_tree = match &sections.trace_tree {
            Some(span) => TraceTree::parse(text, span.clone()).map_err(|problem| {
                Error::bad(
                    &path,
                    format!("malformed snapshot: `trace_tree`: {problem}"),
                )
            })?,
            None => TraceTree::default(),
        };

        let file_size = text.len() as u64;
        let compressed_size = source.compressed_len();
        // Keep only what the string table needs: for a mapped file, let the kernel drop every
        // page before the strings (the nodes and edges were released as they were read; this
        // drops the rest: header, locations, trace infos, chunk boundaries); for a buffer in
        // memory (decompressed, or read from a stream), copy out the strings section.
        let strings = match source.is_mapped() {
            true => {
                source.release(0..strings_span.start);
                Strings::new(StringText::Source(source), string_spans)
            }
            false => {
                let base = strings_span.start as u64;
                let owned = text[strings_span].to_vec();
                drop(source);
                let spans = string_spans
                    .into_iter()
                    .map(|r| r.start - base..r.end - base)
                    .collect();
                Strings::new(StringText::Owned(owned), spans)
            }
        };

        Ok(Snapshot {
            layout,
            node_type: nodes.node_type.into(),
            node_name: nodes.node_name.into(),
            node_id: nodes.node_id.into(),
            node_self_size: nodes.node_self_size.into(),
            node_trace_id: Column::zeros_freed(nodes.node_trace_id),
            node_detachedness: Column::zeros_freed(nodes.node_detachedness),
            first_edge: first_edge.into(),
            edge_type: edges.edge_type.into(),
            edge_name: edges.edge_name.into(),
            edge_to: edges.edge_to.into(),
            strings,
            locations: locations.into(),
            trace_function_infos: trace_function_infos.into(),
            trace_tree,
            extra_native_bytes: header.extra_native_bytes.map_or(0, |b| b.max(0.0) as u64),
            file_size,
            compressed_size,
            edge_block_owner: OnceLock::new(),
        })
    }

    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.node_type.len()
    }

    /// Number of edges.
    pub fn edge_count(&self) -> usize {
        self.edge_type.len()
    }

    /// Node `n`'s outgoing edge indexes.
    pub fn edges_of(&self, n: u32) -> Range<usize> {
        self.first_edge[n as usize] as usize..self.first_edge[n as usize + 1] as usize
    }

    /// The node whose outgoing edge `e` is (the retainer lists store the edge alone; its
    /// source follows from it): a search of `first_edge` between the owners of `e`'s block
    /// and of the next, millions of times in a diff's measurement.
    pub fn edge_owner(&self, e: u32) -> u32 {
        let blocks = self
            .edge_block_owner
            .get_or_init(|| self.edge_block_owners());
        let block = e as usize / EDGES_PER_BLOCK;
        let low = blocks[block] as usize;
        let high = blocks
            .get(block + 1)
            .map_or(self.node_count(), |&owner| owner as usize);
        // The last node whose edges start at or before `e`: nodes without edges before it
        // share its start and come first.
        let later = self.first_edge[low + 1..=high].partition_point(|&first| first <= e);
        (low + later) as u32
    }

    /// The owner of each block's first edge, in one pass over the nodes.
    fn edge_block_owners(&self) -> Box<[u32]> {
        let mut owners = Vec::with_capacity(self.edge_count().div_ceil(EDGES_PER_BLOCK));
        for n in 0..self.node_count() {
            let edges = self.edges_of(n as u32);
            while owners.len() * EDGES_PER_BLOCK < edges.end {
                owners.push(n as u32);
            }
        }
        owners.into_boxed_slice()
    }

    /// Node `n`'s name.
    pub fn node_name_str(&self, n: u32) -> std::borrow::Cow<'_, str> {
        self.strings.get(self.node_name[n as usize])
    }

    /// Node `n`'s edges with a string name equal to `name` (never element or hidden edges,
    /// whose names are indexes), in edge order.
    pub fn edges_named<'a>(&'a self, n: u32, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.edges_of(n).filter(move |&e| {
            !self.layout.edge_name_is_index(self.edge_type[e])
                && self.strings.get(self.edge_name[e]) == name
        })
    }

    /// Edge `e`'s name as DevTools shows it: the property name, or the index for element and
    /// hidden edges.
    pub fn edge_name_str(&self, e: usize) -> std::borrow::Cow<'_, str> {
        let t = self.edge_type[e];
        if self.layout.edge_name_is_index(t) {
            std::borrow::Cow::Owned(self.edge_name[e].to_string())
        } else {
            self.strings.get(self.edge_name[e])
        }
    }

    /// The ordinal of the node with V8 id `id`, by a linear scan (for one-off lookups).
    pub fn find_node_by_id(&self, id: u32) -> Option<u32> {
        self.node_id
            .par_iter()
            .position_first(|&x| x == id)
            .map(|p| p as u32)
    }
}

struct NodeColumns {
    node_type: Vec<u8>,
    node_name: Vec<u32>,
    node_id: Vec<u32>,
    node_self_size: Vec<u64>,
    edge_counts: Vec<u32>,
    node_trace_id: Vec<u32>,
    node_detachedness: Vec<u8>,
}

struct EdgeColumns {
    edge_type: Vec<u8>,
    edge_name: Vec<u32>,
    edge_to: Vec<u32>,
}

fn number_error(path: &Path, section: &str, len: usize, e: NumberError) -> Error {
    Error::bad(
        path,
        format!(
            "bad `{section}` array at byte {} of {len}: {}",
            e.offset, e.problem
        ),
    )
}

/// Runs `parse` over every chunk in parallel and reports the first error in file order.
fn first_error(results: Vec<Result<(), NumberError>>) -> Result<(), NumberError> {
    results.into_iter().find(Result::is_err).unwrap_or(Ok(()))
}

fn u32_field(value: u64, what: &str) -> std::result::Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("{what} {value} does not fit in 32 bits"))
}

/// What the parse of a number array tells the source of each stretch it is done with.
struct Releases<'a> {
    /// Commas counted: the stretch is read again (parsed).
    counted: &'a (dyn Fn(Range<usize>) + Sync),
    /// Parsed: the stretch is never read again.
    parsed: &'a (dyn Fn(Range<usize>) + Sync),
}

fn parse_nodes(
    path: &Path,
    text: &[u8],
    span: Range<usize>,
    layout: &Layout,
    string_count: usize,
    done_with: &Releases<'_>,
) -> Result<NodeColumns> {
    let width = layout.node_width;
    let (chunks, count) = split_records(text, span, width, done_with.counted)
        .map_err(|e| number_error(path, "nodes", text.len(), e))?;
    let mut cols = NodeColumns {
        node_type: vec![0; count],
        node_name: vec![0; count],
        node_id: vec![0; count],
        node_self_size: vec![0; count],
        edge_counts: vec![0; count],
        node_trace_id: vec![0; count],
        node_detachedness: vec![0; count],
    };
    let lens = || chunks.iter().map(|c| c.records);
    let parts: Vec<_> = chunks
        .iter()
        .zip(split_lengths(&mut cols.node_type, lens()))
        .zip(split_lengths(&mut cols.node_name, lens()))
        .zip(split_lengths(&mut cols.node_id, lens()))
        .zip(split_lengths(&mut cols.node_self_size, lens()))
        .zip(split_lengths(&mut cols.edge_counts, lens()))
        .zip(split_lengths(&mut cols.node_trace_id, lens()))
        .zip(split_lengths(&mut cols.node_detachedness, lens()))
        .collect();
    let type_count = layout.node_type_names.len() as u64;
    let results: Vec<_> = parts
        .into_par_iter()
        .map(
            |(((((((chunk, ty), name), id), size), edges), trace), detached)| {
                let chunk: &Chunk = chunk;
                let result = parse_chunk(text, chunk, width, |i, rec| {
                    let t = rec[layout.node_type_field];
                    if t >= type_count {
                        return Err(format!(
                            "node type {t} is not one of the {type_count} types in meta"
                        ));
                    }
                    let n = rec[layout.node_name_field];
                    if n >= string_count as u64 {
                        return Err(format!(
                        "node name index {n} is out of range (there are {string_count} strings)"
                    ));
                    }
                    ty[i] = t as u8;
                    name[i] = n as u32;
                    id[i] = u32_field(rec[layout.node_id_field], "node id")?;
                    size[i] = rec[layout.node_self_size_field];
                    edges[i] = u32_field(rec[layout.node_edge_count_field], "edge count")?;
                    // These two are zero in nearly every record (no allocation tracking, no
                    // DOM): storing only the others leaves the zeroed columns' pages untouched,
                    // so they take no memory.
                    if let Some(f) = layout.node_trace_id_field.filter(|&f| rec[f] != 0) {
                        trace[i] = u32_field(rec[f], "trace node id")?;
                    }
                    if let Some(f) = layout.node_detachedness_field.filter(|&f| rec[f] != 0) {
                        detached[i] = u8::try_from(rec[f]).map_err(|_| {
                            format!("detachedness {} is not a small number", rec[f])
                        })?;
                    }
                    Ok(())
                });
                (done_with.parsed)(chunk.bytes.clone());
                result
            },
        )
        .collect();
    first_error(results).map_err(|e| number_error(path, "nodes", text.len(), e))?;
    Ok(cols)
}

fn parse_edges(
    path: &Path,
    text: &[u8],
    span: Range<usize>,
    layout: &Layout,
    string_count: usize,
    node_count: usize,
    done_with: &Releases<'_>,
) -> Result<EdgeColumns> {
    let width = layout.edge_width;
    let node_width = layout.node_width as u64;
    let (chunks, count) = split_records(text, span, width, done_with.counted)
        .map_err(|e| number_error(path, "edges", text.len(), e))?;
    let mut cols = EdgeColumns {
        edge_type: vec![0; count],
        edge_name: vec![0; count],
        edge_to: vec![0; count],
    };
    let lens = || chunks.iter().map(|c| c.records);
    let parts: Vec<_> = chunks
        .iter()
        .zip(split_lengths(&mut cols.edge_type, lens()))
        .zip(split_lengths(&mut cols.edge_name, lens()))
        .zip(split_lengths(&mut cols.edge_to, lens()))
        .collect();
    let type_count = layout.edge_type_names.len() as u64;
    let node_limit = node_count as u64 * node_width;
    let results: Vec<_> = parts
        .into_par_iter()
        .map(|(((chunk, ty), name), to)| {
            let result = parse_chunk(text, chunk, width, |i, rec| {
                let t = rec[layout.edge_type_field];
                if t >= type_count {
                    return Err(format!("edge type {t} is not one of the {type_count} types in meta"));
                }
                let n = rec[layout.edge_name_field];
                if !layout.edge_name_is_index(t as u8) && n >= string_count as u64 {
                    return Err(format!(
                        "edge name index {n} is out of range (there are {string_count} strings)"
                    ));
                }
                let target = rec[layout.edge_to_field];
                if target >= node_limit || target % node_width != 0 {
                    return Err(format!(
                        "edge target {target} is not the start of a node (nodes are {node_width} numbers each, {node_count} nodes)"
                    ));
                }
                ty[i] = t as u8;
                name[i] = u32_field(n, "edge name or index")?;
                to[i] = (target / node_width) as u32;
                Ok(())
            });
            (done_with.parsed)(chunk.bytes.clone());
            result
        })
        .collect();
    first_error(results).map_err(|e| number_error(path, "edges", text.len(), e))?;
    Ok(cols)
}

fn parse_locations(
    path: &Path,
    text: &[u8],
    span: Range<usize>,
    layout: &Layout,
    fields: [usize; 4],
    node_count: usize,
) -> Result<Vec<Location>> {
    let width = layout.location_width;
    let bad = |e| number_error(path, "locations", text.len(), e);
    let (chunks, count) = split_records(text, span, width, &|_| {}).map_err(bad)?;
    let node_width = layout.node_width as u64;
    let mut out: Vec<Location> = bytemuck::zeroed_vec(count);
    let parts: Vec<_> = chunks
        .iter()
        .zip(split_lengths(&mut out, chunks.iter().map(|c| c.records)))
        .collect();
    // In parallel like the nodes and edges: a sequential parse here kept one core idle.
    let results: Vec<_> = parts
        .into_par_iter()
        .map(|(chunk, part)| {
            parse_chunk(text, chunk, width, |i, rec| {
                let index = rec[fields[0]];
                if index % node_width != 0 || index / node_width >= node_count as u64 {
                    return Err(format!(
                        "a location points at {index}, which is not the start of a node"
                    ));
                }
                let small = |v: u64| u32::try_from(v).unwrap_or(u32::MAX);
                part[i] = Location {
                    node: (index / node_width) as u32,
                    script_id: small(rec[fields[1]]),
                    line: small(rec[fields[2]]),
                    column: small(rec[fields[3]]),
                };
                Ok(())
            })
        })
        .collect();
    first_error(results).map_err(bad)?;
    Ok(out)
}

/// A byte cursor over the top-level object, with errors that say where the file ended.
struct Cursor<'a> {
    path: &'a Path,
    text: &'a [u8],
    pos: usize,
    /// The last top-level section read whole, to say where a file cut between sections ends.
    last: Option<&'a str>,
}

impl<'a> Cursor<'a> {
    fn skip_ws(&mut self) {
        while self
            .text
            .get(self.pos)
            .is_some_and(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        {
            self.pos += 1;
        }
    }

    fn truncated(&self, section: &str) -> Error {
        self.truncated_at(&format!("inside the `{section}` section"))
    }

    /// Truncation between sections (or inside a key, before we know which section it starts).
    fn truncated_between(&self) -> Error {
        match self.last {
            Some(last) => self.truncated_at(&format!("after the `{last}` section")),
            None => self.truncated_at("before the `snapshot` section"),
        }
    }

    fn truncated_at(&self, place: &str) -> Error {
        Error::bad(
            self.path,
            format!(
                "the file ends {place} (at byte {}): the snapshot is truncated, probably because \
                 its writer was killed or the disk filled; take it again",
                self.text.len()
            ),
        )
    }

    /// The next byte between top-level sections.
    fn peek_between(&mut self) -> Result<u8> {
        self.skip_ws();
        self.text
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.truncated_between())
    }

    fn peek(&self, section: &str) -> Result<u8> {
        self.text
            .get(self.pos)
            .copied()
            .ok_or_else(|| self.truncated(section))
    }

    fn expect(&mut self, byte: u8, section: &str) -> Result<()> {
        self.skip_ws();
        let found = self.peek(section)?;
        if found != byte {
            return Err(Error::bad(
                self.path,
                format!(
                    "malformed snapshot: expected {:?} but found {:?} at byte {} (in `{section}`)",
                    char::from(byte),
                    char::from(found),
                    self.pos
                ),
            ));
        }
        self.pos += 1;
        Ok(())
    }

    /// Reads a key: a JSON string without escapes (V8's keys have none).
    fn key(&mut self) -> Result<&'a str> {
        self.peek_between()?;
        self.expect(b'"', "top level")?;
        let start = self.pos;
        let len = self.text[start..]
            .iter()
            .position(|&b| b == b'"')
            .ok_or_else(|| self.truncated_between())?;
        self.pos = start + len + 1;
        let key = &self.text[start..start + len];
        // V8's section names are short identifiers. Refusing anything else keeps a mangled
        // file's bytes (newlines, megabytes of numbers) out of the messages that name the key.
        if key.is_empty()
            || key.len() > 64
            || !key.iter().all(|&b| b.is_ascii_graphic() && b != b'\\')
        {
            return Err(Error::bad(
                self.path,
                format!("malformed snapshot: the key at byte {start} is not a section name"),
            ));
        }
        std::str::from_utf8(key).map_err(|_| {
            Error::bad(
                self.path,
                format!("malformed snapshot: a key at byte {start} is not text"),
            )
        })
    }

    /// The body of a flat array of numbers (no nested brackets), from `[` to its `]`.
    fn flat_array(&mut self, section: &str) -> Result<Range<usize>> {
        self.expect(b'[', section)?;
        let start = self.pos;
        let len = first_bracket(&self.text[start..]).ok_or_else(|| self.truncated(section))?;
        if self.text[start + len] == b'[' {
            return Err(Error::bad(
                self.path,
                format!("malformed snapshot: `{section}` should be a flat list of numbers but holds a nested list at byte {}", start + len),
            ));
        }
        self.pos = start + len + 1;
        Ok(start..start + len)
    }

    /// Skips a nested array of numbers (`trace_tree`) by counting brackets; returns its span,
    /// brackets included.
    fn nested_array(&mut self, section: &str) -> Result<Range<usize>> {
        let start = self.pos;
        self.expect(b'[', section)?;
        let mut depth = 1usize;
        while depth > 0 {
            let rel = self.text[self.pos..]
                .iter()
                .position(|&b| b == b'[' || b == b']' || b == b'"' || b == b'{')
                .ok_or_else(|| self.truncated(section))?;
            self.pos += rel;
            match self.text[self.pos] {
                b'[' => depth += 1,
                b']' => depth -= 1,
                _ => return self.skip_value_at_cursor(section).map(|_| start..start),
            }
            self.pos += 1;
        }
        Ok(start..self.pos)
    }

    fn skip_value_at_cursor(&mut self, section: &str) -> Result<()> {
        Err(Error::bad(
            self.path,
            format!(
                "malformed snapshot: unexpected value at byte {} in `{section}`",
                self.pos
            ),
        ))
    }

    /// The `strings` array: the span of every string between its quotes.
    fn string_array(&mut self) -> Result<(Range<usize>, Vec<Range<u64>>)> {
        const SECTION: &str = "strings";
        self.expect(b'[', SECTION)?;
        let start = self.pos;
        let mut spans = Vec::new();
        self.skip_ws();
        if self.peek(SECTION)? == b']' {
            self.pos += 1;
            return Ok((start..self.pos - 1, spans));
        }
        loop {
            self.expect(b'"', SECTION)?;
            let open = self.pos;
            let mut i = open;
            loop {
                let rel = memchr::memchr2(b'"', b'\\', &self.text[i..])
                    .ok_or_else(|| self.truncated(SECTION))?;
                i += rel;
                if self.text[i] == b'\\' {
                    i += 2;
                    if i > self.text.len() {
                        return Err(self.truncated(SECTION));
                    }
                } else {
                    break;
                }
            }
            spans.push(open as u64..i as u64);
            self.pos = i + 1;
            self.skip_ws();
            match self.peek(SECTION)? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok((start..self.pos - 1, spans));
                }
                other => {
                    return Err(Error::bad(
                        self.path,
                        format!(
                            "malformed snapshot: unexpected {:?} between strings at byte {}",
                            char::from(other),
                            self.pos
                        ),
                    ))
                }
            }
        }
    }

    /// Any other JSON value, skipped with serde (unknown sections of newer versions).
    fn skip_value(&mut self, section: &str) -> Result<()> {
        let mut stream =
            serde_json::Deserializer::from_slice(&self.text[self.pos..]).into_iter::<IgnoredAny>();
        match stream.next() {
            Some(Ok(_)) => {
                self.pos += stream.byte_offset();
                Ok(())
            }
            Some(Err(e)) if e.is_eof() => Err(self.truncated(section)),
            Some(Err(e)) => Err(Error::bad(
                self.path,
                format!("malformed snapshot: bad JSON in `{section}`: {e}"),
            )),
            None => Err(self.truncated(section)),
        }
    }

    fn header(&mut self) -> Result<RawHeader> {
        self.skip_ws();
        // Read as a JSON value first (it is a few KB) so a wrong field can be named.
        let mut stream = serde_json::Deserializer::from_slice(&self.text[self.pos..])
            .into_iter::<serde_json::Value>();
        match stream.next() {
            Some(Ok(value)) => {
                self.pos += stream.byte_offset();
                RawHeader::from_value(self.path, value)
            }
            Some(Err(e)) if e.is_eof() => Err(self.truncated("snapshot")),
            Some(Err(e)) => Err(Error::bad(
                self.path,
                format!("malformed snapshot: bad JSON in the `snapshot` header ({e})"),
            )),
            None => Err(self.truncated("snapshot")),
        }
    }
}

fn not_json(path: &Path) -> Error {
    Error::bad(
        path,
        "is not a heap snapshot: it is not JSON (give a .heapsnapshot file, optionally .gz or .zst)",
    )
}

/// Walks the top-level object once, recording where each section is.
fn walk(path: &Path, text: &[u8]) -> Result<Sections> {
    let mut cur = Cursor {
        path,
        text,
        pos: 0,
        last: None,
    };
    cur.skip_ws();
    if text.get(cur.pos) != Some(&b'{') {
        // Another JSON value (its first value parses, or is cut short), or not JSON at all.
        let mut stream =
            serde_json::Deserializer::from_slice(&text[cur.pos..]).into_iter::<IgnoredAny>();
        return Err(match stream.next() {
            Some(Ok(_)) => Error::bad(
                path,
                "is JSON but not a V8 heap snapshot (a snapshot is a JSON object starting with {\"snapshot\":…)",
            ),
            Some(Err(e)) if e.is_eof() && cur.pos < text.len() => Error::bad(
                path,
                "is not a V8 heap snapshot: it holds a cut-off JSON value that is not an object (a snapshot is a JSON object starting with {\"snapshot\":…)",
            ),
            _ => not_json(path),
        });
    }
    cur.pos += 1;
    let mut sections = Sections::default();
    match cur.peek_between()? {
        b'}' => return Ok(sections),
        b'"' => {}
        _ => return Err(not_json(path)),
    }
    loop {
        let key = cur.key()?;
        if sections.header.is_none() && key != "snapshot" {
            // Every V8 snapshot starts with its header; anything else is another JSON file.
            return Err(Error::bad(
                path,
                format!(
                    "is JSON but not a V8 heap snapshot: its first key is `{key}`, not `snapshot`"
                ),
            ));
        }
        cur.expect(b':', key)?;
        cur.skip_ws();
        match key {
            "snapshot" => sections.header = Some(cur.header()?),
            "nodes" => sections.nodes = Some(cur.flat_array(key)?),
            "edges" => sections.edges = Some(cur.flat_array(key)?),
            "trace_function_infos" => sections.trace_function_infos = Some(cur.flat_array(key)?),
            "locations" => sections.locations = Some(cur.flat_array(key)?),
            "samples" => {
                cur.flat_array(key)?;
            }
            "trace_tree" => sections.trace_tree = Some(cur.nested_array(key)?),
            "strings" => sections.strings = Some(cur.string_array()?),
            _ => cur.skip_value(key)?,
        }
        cur.last = Some(key);
        match cur.peek_between()? {
            b',' => cur.pos += 1,
            b'}' => break,
            other => {
                return Err(Error::bad(
                    path,
                    format!(
                        "malformed snapshot: expected ',' or '}}' after `{key}` but found {:?} at byte {}",
                        char::from(other),
                        cur.pos
                    ),
                ))
            }
        }
    }
    Ok(sections)
}

/// The first `[` or `]` in `text`. The walk that finds the sections reads the `nodes` and
/// `edges` arrays (most of the file) before the parse can start, so it searches one piece
/// per core at a time, in file order, and stops at the first round that finds one.
fn first_bracket(text: &[u8]) -> Option<usize> {
    const PIECE: usize = 8 << 20;
    let search = |piece: &[u8]| memchr::memchr2(b']', b'[', piece);
    let threads = rayon::current_num_threads().max(1);
    if threads == 1 || text.len() <= PIECE {
        return search(text);
    }
    let round = PIECE * threads;
    let mut offset = 0;
    while offset < text.len() {
        let pieces = &text[offset..text.len().min(offset + round)];
        let found = pieces
            .par_chunks(PIECE)
            .enumerate()
            .find_map_first(|(k, piece)| search(piece).map(|at| k * PIECE + at));
        if let Some(at) = found {
            return Some(offset + at);
        }
        offset += round;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::first_bracket;

    /// The parallel search finds what a plain search finds: the first bracket, wherever it
    /// falls against the pieces and rounds, or none.
    #[test]
    fn the_first_bracket_is_found_wherever_it_falls() {
        const PIECE: usize = 8 << 20;
        let len = 5 * PIECE + 12_345;
        let mut text: Vec<u8> = b"12,345,\n6789,0,"
            .iter()
            .copied()
            .cycle()
            .take(len)
            .collect();
        assert_eq!(first_bracket(&text), None);
        let places = [
            len - 1,
            4 * PIECE + 7,
            2 * PIECE,
            2 * PIECE - 1,
            PIECE + 1,
            PIECE,
            3,
            0,
        ];
        for (k, &at) in places.iter().enumerate() {
            text[at] = if k % 2 == 0 { b']' } else { b'[' };
            assert_eq!(first_bracket(&text), memchr::memchr2(b']', b'[', &text));
            assert_eq!(first_bracket(&text), Some(at));
        }
        assert_eq!(first_bracket(b"1,2]"), Some(3));
        assert_eq!(first_bracket(b""), None);
    }
}
