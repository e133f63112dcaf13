//! The index file: an analysed snapshot's columns as raw little-endian arrays, each aligned to
//! 64 bytes so it can be used in place from a memory map, followed by a JSON manifest that
//! names every section with its place, size and xxh3 checksum.
//!
//! ```text
//! "HEAPSCAN-INDEX\0\0"  format version (u32)  padding to 64
//! section … section                             (each 64-aligned)
//! manifest (JSON)
//! footer: manifest offset (u64), manifest length (u64), manifest xxh3 (u64), "HSIXEND\0"
//! ```
//!
//! The reader trusts nothing it has not checked: the magic and version first (an index of
//! another format is "old", not corrupt), then the footer and the manifest's checksum, then
//! every section's bounds and alignment, then that the columns' lengths agree with the counts.
//! Each column's checksum is checked when the column is first read ([`crate::column`]), so a
//! command reads only what it uses, and a torn, truncated or altered file gives a reason to
//! rebuild, never a wrong answer.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use bytemuck::Pod;
use memmap2::Mmap;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::identity::FileIdentity;
use crate::column::{Column, MappedSection};
use crate::graph::bits::BitSet;
use crate::graph::classes::ClassLocation;
use crate::graph::{Classes, DominatorTree, HeapGraph, RetainerGraph, RetainerLists};
use crate::snapshot::trace::TraceTree;
use crate::snapshot::TextPart;
use crate::snapshot::{Layout, Location, Snapshot, Strings};
use crate::summary::SummaryFacts;

/// Bumped whenever the layout of the file or the meaning of a section changes.
pub const FORMAT_VERSION: u32 = 4;

/// What a file of the cache holds, told by its first 16 bytes. Both kinds share the
/// container: sections, manifest, footer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// An analysed graph: a snapshot's index.
    Index,
    /// What a diff remembers of one snapshot ([`crate::diff`]'s digest), so that a later diff
    /// of the same file reads neither the file nor its index.
    Digest,
}

impl FileKind {
    fn magic(self) -> &'static [u8; 16] {
        match self {
            FileKind::Index => b"HEAPSCAN-INDEX\0\0",
            FileKind::Digest => b"HEAPSCAN-DIGEST\0",
        }
    }

    /// The kind whose magic `bytes` start with.
    fn of(bytes: &[u8]) -> Option<FileKind> {
        [FileKind::Index, FileKind::Digest]
            .into_iter()
            .find(|k| bytes.starts_with(k.magic()))
    }
}

const END_MAGIC: &[u8; 8] = b"HSIXEND\0";
const ALIGN: usize = 64;
const FOOTER: usize = 32;
/// How much of a section is hashed, then written, at a time: small enough to stay in the
/// processor's cache between the two.
const HASHED_PIECE: usize = 256 << 10;

/// Why an index file cannot answer. Each says what the user sees in the note.
#[derive(Debug)]
pub enum Unusable {
    /// Written by another format version of heapscan.
    OtherFormat { found: u32 },
    /// Written by another heapscan build, whose analysis may differ.
    OtherBuild { found: String },
    /// Made for another version of the snapshot file.
    OtherFile,
    /// Damaged: cut short, altered, or not an index at all.
    Corrupt(String),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::OtherFormat { found } => write!(
                f,
                "it has index format {found}, this heapscan reads format {FORMAT_VERSION}"
            ),
            Unusable::OtherBuild { found } => {
                write!(f, "it was made by another heapscan build ({found})")
            }
            Unusable::OtherFile => write!(f, "it was made for another version of the file"),
            Unusable::Corrupt(why) => write!(f, "it is damaged ({why})"),
        }
    }
}

fn corrupt(why: impl Into<String>) -> Unusable {
    Unusable::Corrupt(why.into())
}

#[derive(Serialize, Deserialize)]
struct Manifest<F> {
    producer: String,
    identity: FileIdentity,
    #[serde(flatten)]
    facts: F,
    sections: Vec<Section>,
}

/// The counts every kind of file's facts record, for listing the cache.
#[derive(Deserialize)]
struct Counts {
    node_count: u64,
    edge_count: u64,
}

/// What the manifest records of the graph besides its sections.
#[derive(Serialize, Deserialize)]
pub(crate) struct Facts {
    layout: Layout,
    node_count: u64,
    edge_count: u64,
    root: u32,
    has_user_roots: bool,
    unreachable_count: u64,
    extra_native_bytes: u64,
    file_size: u64,
    compressed_size: Option<u64>,
    class_names: Vec<String>,
    class_locations: Vec<Option<ClassLocation>>,
    has_distances: bool,
    /// Whether the retainer lists are stored: a build that needed none (a summary's) made
    /// none, and a reader builds them if it asks for them.
    pub(crate) has_retainer_lists: bool,
    /// Where the stored string text starts in the numbering of the string spans.
    strings_base: u64,
    /// The summary facts, when the command that made the index computed them.
    pub(crate) summary: Option<SummaryFacts>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Section {
    name: String,
    offset: u64,
    bytes: u64,
    hash: u64,
    /// Every byte is zero: nothing is stored (columns V8 leaves empty, such as trace ids of a
    /// process that did not track allocations).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    zeros: bool,
    /// The same bytes as the section of that name (a column the graph shares with the
    /// snapshot, such as self sizes without the pre-pass): stored once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    same_as: Option<String>,
}

/// Bytes that can be handed to the writing thread: a column (shared, not copied) or a
/// vector.
pub(crate) trait AsBytes: Send {
    fn bytes(&self) -> &[u8];
}

impl<T: Pod + Send + Sync> AsBytes for Column<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self)
    }
}

impl<T: Pod + Send> AsBytes for Vec<T> {
    fn bytes(&self) -> &[u8] {
        bytemuck::cast_slice(self)
    }
}

impl AsBytes for TextPart {
    fn bytes(&self) -> &[u8] {
        TextPart::bytes(self)
    }
}

/// One section to write: its name and what owns its bytes.
pub(crate) type OutSection = (&'static str, Box<dyn AsBytes>);

fn shared<T: Pod + Send + Sync>(name: &'static str, column: &Column<T>) -> OutSection {
    (name, Box::new(column.clone()))
}

fn owned<T: Pod + Send>(name: &'static str, values: Vec<T>) -> OutSection {
    (name, Box::new(values))
}

/// The sections a parsed snapshot has before its graph is built: they can be written while
/// the graph is built. The strings' text is shared with the snapshot (in the mapped file, or
/// the copy of its strings section), not copied.
pub(crate) fn snapshot_sections(s: &Snapshot) -> Vec<OutSection> {
    let (text, starts, ends, _) = s.strings.parts();
    vec![
        shared("node_type", &s.node_type),
        shared("node_name", &s.node_name),
        shared("node_id", &s.node_id),
        shared("node_self_size", &s.node_self_size),
        shared("node_trace_id", &s.node_trace_id),
        shared("node_detachedness", &s.node_detachedness),
        shared("first_edge", &s.first_edge),
        shared("edge_type", &s.edge_type),
        shared("edge_name", &s.edge_name),
        shared("edge_to", &s.edge_to),
        shared("locations", &s.locations),
        shared("trace_function_infos", &s.trace_function_infos),
        owned("trace_id", s.trace_tree.id.clone()),
        owned("trace_function_info", s.trace_tree.function_info.clone()),
        owned("trace_parent", s.trace_tree.parent.clone()),
        ("strings_text", Box::new(text)),
        shared("strings_start", &starts),
        shared("strings_end", &ends),
    ]
}

/// The retainer lists' sections: written as soon as the lists are built (a build that needs
/// none builds none, and its index has none: `has_retainer_lists`).
pub(crate) fn list_sections(lists: &RetainerLists) -> Vec<OutSection> {
    vec![
        shared("first_retainer", &lists.first_retainer),
        shared("retainer_edge", &lists.retainer_edge),
    ]
}

/// The other sections of a retainer graph (the first stage of a build): they can be written
/// while the dominators are computed.
pub(crate) fn retainer_sections(graph: &RetainerGraph) -> Vec<OutSection> {
    vec![
        owned("essential", graph.essential.words().to_vec()),
        shared("self_size", &graph.self_size),
        owned("detached", graph.detached.words().to_vec()),
        shared("class_of", &graph.classes.class_of),
    ]
}

/// The sections of a built graph that [`snapshot_sections`] and [`retainer_sections`] leave
/// out, and the facts its manifest records.
pub(crate) fn graph_sections(graph: &HeapGraph) -> (Vec<OutSection>, Facts) {
    let s = &graph.snapshot;
    let strings_base = s.strings.text_start();
    let dom = &graph.dominators;
    let mut sections = vec![
        shared("idom", &dom.idom),
        shared("order", &dom.order),
        shared("order_idom", &dom.order_idom),
        shared("retained_size", &dom.retained_size),
    ];
    if let Some(distance) = &graph.distance {
        sections.push(shared("distance", distance));
    }
    let facts = Facts {
        layout: s.layout.clone(),
        node_count: s.node_count() as u64,
        edge_count: s.edge_count() as u64,
        root: graph.root,
        has_user_roots: graph.has_user_roots,
        unreachable_count: dom.unreachable_count as u64,
        extra_native_bytes: s.extra_native_bytes,
        file_size: s.file_size,
        compressed_size: s.compressed_size,
        class_names: graph.classes.names.clone(),
        class_locations: graph.classes.locations.clone(),
        has_distances: graph.distance.is_some(),
        has_retainer_lists: graph.retainer_lists_kept().is_some(),
        strings_base,
        summary: graph.summary_facts().map(|f| (*f).clone()),
    };
    (sections, facts)
}

/// Writes an index file section by section: the header, then each section aligned and with
/// its checksum noted, then the manifest and footer.
pub(crate) struct IndexWriter<W: Write> {
    to: W,
    at: u64,
    sections: Vec<Section>,
    /// Where each written section's bytes were in memory (address, length), with its index in
    /// `sections`, to store shared columns once.
    sources: Vec<((usize, usize), usize)>,
}

impl<W: Write> IndexWriter<W> {
    /// Starts a file of `kind` on `to` with its header.
    pub(crate) fn begin(to: W, kind: FileKind) -> io::Result<IndexWriter<W>> {
        let mut writer = IndexWriter {
            to,
            at: 0,
            sections: Vec::new(),
            sources: Vec::new(),
        };
        writer.put(kind.magic())?;
        writer.put(&FORMAT_VERSION.to_le_bytes())?;
        Ok(writer)
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.to.write_all(bytes)?;
        self.at += bytes.len() as u64;
        Ok(())
    }

    /// Writes one section.
    pub(crate) fn section(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let source = (bytes.as_ptr() as usize, bytes.len());
        let bare = |zeros, same_as| Section {
            name: name.to_string(),
            offset: 0,
            bytes: bytes.len() as u64,
            hash: 0,
            zeros,
            same_as,
        };
        let earlier = self.sources.iter().rev().find(|&&(s, _)| s == source);
        if let Some(&(_, first)) = earlier {
            // The same memory holds the same column only while that column lives: one let go
            // once written may have its memory reused by a later column of the same length,
            // so the bytes must hash the same too.
            let first = &self.sections[first];
            if first.hash == xxhash_rust::xxh3::xxh3_64(bytes) {
                let same_as = first.name.clone();
                self.sections.push(bare(false, Some(same_as)));
                return Ok(());
            }
        }
        if bytes.iter().all(|&b| b == 0) {
            self.sections.push(bare(true, None));
            return Ok(());
        }
        self.sources.push((source, self.sections.len()));
        let pad = (self.at.next_multiple_of(ALIGN as u64) - self.at) as usize;
        self.put(&[0u8; ALIGN][..pad])?;
        let offset = self.at;
        // Hashed piece by piece as it is written: each piece is read from memory once, for
        // the hash, and copied from the processor's cache (a column is larger than any cache).
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        for piece in bytes.chunks(HASHED_PIECE) {
            hasher.update(piece);
            self.put(piece)?;
        }
        self.sections.push(Section {
            name: name.to_string(),
            offset,
            bytes: bytes.len() as u64,
            hash: hasher.digest(),
            zeros: false,
            same_as: None,
        });
        Ok(())
    }

    /// Writes the manifest and footer; returns the sink and the file's length.
    pub(crate) fn finish<F: Serialize>(
        mut self,
        producer: &str,
        identity: &FileIdentity,
        facts: F,
    ) -> io::Result<(W, u64)> {
        let manifest = Manifest {
            producer: producer.to_string(),
            identity: *identity,
            facts,
            sections: std::mem::take(&mut self.sections),
        };
        let json = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
        let manifest_at = self.at;
        self.put(&json)?;
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(&manifest_at.to_le_bytes());
        footer.extend_from_slice(&(json.len() as u64).to_le_bytes());
        footer.extend_from_slice(&xxhash_rust::xxh3::xxh3_64(&json).to_le_bytes());
        footer.extend_from_slice(END_MAGIC);
        self.put(&footer)?;
        Ok((self.to, self.at))
    }
}

/// Writes `graph`, made from the file with `identity` by the build `producer`, as a whole
/// index to `to`, on this thread. Returns the number of bytes written.
pub fn write(
    graph: &HeapGraph,
    identity: &FileIdentity,
    producer: &str,
    to: &mut impl Write,
) -> io::Result<u64> {
    let mut writer = IndexWriter::begin(to, FileKind::Index)?;
    let (rest, facts) = graph_sections(graph);
    let lists = graph
        .retainer_lists_kept()
        .map(list_sections)
        .unwrap_or_default();
    let retainers = retainer_sections(graph);
    for (name, bytes) in snapshot_sections(&graph.snapshot)
        .iter()
        .chain(&lists)
        .chain(&retainers)
        .chain(&rest)
    {
        writer.section(name, bytes.bytes())?;
    }
    Ok(writer.finish(producer, identity, facts)?.1)
}

/// A checked file of the cache, ready to hand out its facts and columns.
pub(crate) struct Reader<F> {
    map: Arc<Mmap>,
    path: PathBuf,
    manifest: Manifest<F>,
}

impl<F> Reader<F> {
    /// What the manifest records besides its sections.
    pub(crate) fn facts(&self) -> &F {
        &self.manifest.facts
    }

    /// The section `name` as a column of `T`, or why it cannot be.
    fn column<T: Pod>(&self, name: &str) -> Result<Column<T>, Unusable> {
        let find = |name: &str| {
            self.manifest
                .sections
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| corrupt(format!("no `{name}` section")))
        };
        let mut section = find(name)?;
        if let Some(first) = &section.same_as {
            section = find(first)?;
            if section.same_as.is_some() {
                return Err(corrupt(format!("`{name}` is the same as a copy")));
            }
        }
        if section.zeros {
            let zeros =
                MappedSection::zeros(self.path.clone(), name.to_string(), section.bytes as usize)
                    .map_err(|e| corrupt(format!("no memory for `{name}`: {e}")))?;
            return Column::mapped(Arc::new(zeros))
                .ok_or_else(|| corrupt(format!("`{name}` is not whole values")));
        }
        let mapped = MappedSection::new(
            &self.map,
            self.path.clone(),
            name.to_string(),
            section.offset as usize,
            section.bytes as usize,
            section.hash,
        )
        .ok_or_else(|| corrupt(format!("`{name}` lies outside the file")))?;
        Column::mapped(Arc::new(mapped))
            .ok_or_else(|| corrupt(format!("`{name}` is not whole, aligned values")))
    }

    /// The section `name` as a column of `len` values.
    fn column_of<T: Pod>(&self, name: &str, len: usize) -> Result<Column<T>, Unusable> {
        let column = self.column(name)?;
        if column.len() != len {
            return Err(corrupt(format!(
                "`{name}` has {} values where {len} belong",
                column.len()
            )));
        }
        Ok(column)
    }

    /// The section `name` in place, checked now (not on first read).
    pub(crate) fn checked<T: Pod>(&self, name: &str) -> Result<Column<T>, Unusable> {
        let column: Column<T> = self.column(name)?;
        if !column.is_intact() {
            return Err(corrupt(format!(
                "its `{name}` column does not match its checksum"
            )));
        }
        Ok(column)
    }

    /// The section `name` copied out of the map (small sections the reader keeps as vectors),
    /// checked now.
    pub(crate) fn copied<T: Pod>(&self, name: &str) -> Result<Vec<T>, Unusable> {
        let column: Column<T> = self.column(name)?;
        if !column.is_intact() {
            return Err(corrupt(format!(
                "its `{name}` column does not match its checksum"
            )));
        }
        Ok(column.into_vec())
    }

    fn bits(&self, name: &str, len: usize) -> Result<BitSet, Unusable> {
        BitSet::from_words(self.copied(name)?, len)
            .ok_or_else(|| corrupt(format!("`{name}` has the wrong number of bits")))
    }
}

/// Checks the file of `kind` in `map` as far as the manifest: magic, version, footer, manifest
/// checksum, identity and producer.
fn open_manifest<F: DeserializeOwned>(
    map: &[u8],
    kind: FileKind,
    origin: Option<(&FileIdentity, &str)>,
) -> Result<Manifest<F>, Unusable> {
    if map.len() < ALIGN + FOOTER || FileKind::of(map) != Some(kind) {
        return Err(corrupt(match kind {
            FileKind::Index => "not a heapscan index",
            FileKind::Digest => "not a heapscan digest",
        }));
    }
    let version = u32::from_le_bytes(map[16..20].try_into().map_err(|_| corrupt("short"))?);
    if version != FORMAT_VERSION {
        return Err(Unusable::OtherFormat { found: version });
    }
    let footer = &map[map.len() - FOOTER..];
    if &footer[24..] != END_MAGIC {
        return Err(corrupt("it is cut short"));
    }
    let word = |i: usize| {
        u64::from_le_bytes(
            footer[i * 8..i * 8 + 8]
                .try_into()
                .expect("an 8-byte slice"),
        )
    };
    let (at, len, hash) = (word(0), word(1), word(2));
    let end = at
        .checked_add(len)
        .filter(|&e| e == (map.len() - FOOTER) as u64)
        .ok_or_else(|| corrupt("its footer points outside the file"))?;
    let json = &map[at as usize..end as usize];
    if xxhash_rust::xxh3::xxh3_64(json) != hash {
        return Err(corrupt("its manifest does not match its checksum"));
    }
    let manifest: Manifest<F> = serde_json::from_slice(json)
        .map_err(|e| corrupt(format!("its manifest does not read: {e}")))?;
    if let Some((identity, producer)) = origin {
        if manifest.producer != producer {
            return Err(Unusable::OtherBuild {
                found: manifest.producer,
            });
        }
        if manifest.identity != *identity {
            return Err(Unusable::OtherFile);
        }
    }
    let data_end = at;
    for s in manifest
        .sections
        .iter()
        .filter(|s| !s.zeros && s.same_as.is_none())
    {
        let fits = s.offset % ALIGN as u64 == 0
            && s.offset >= ALIGN as u64
            && s.offset.checked_add(s.bytes).is_some_and(|e| e <= data_end);
        if !fits {
            return Err(corrupt(format!(
                "section `{}` lies outside the data",
                s.name
            )));
        }
    }
    Ok(manifest)
}

/// Reads the index in `map` (the file at `path`), made for the file with `identity` by
/// `producer`, back into an analysed graph whose columns point into the map.
pub fn read(
    map: Arc<Mmap>,
    path: &Path,
    identity: &FileIdentity,
    producer: &str,
) -> Result<HeapGraph, Unusable> {
    let manifest = open_manifest(&map, FileKind::Index, Some((identity, producer)))?;
    let reader = Reader {
        map,
        path: path.to_path_buf(),
        manifest,
    };
    assemble(&reader)
}

/// Reads the file of `kind` in `map` (at `path`), made for the file with `identity` by
/// `producer`, as far as its checked manifest: its columns are read on demand.
pub(crate) fn open<F: DeserializeOwned>(
    map: Arc<Mmap>,
    path: &Path,
    kind: FileKind,
    identity: &FileIdentity,
    producer: &str,
) -> Result<Reader<F>, Unusable> {
    let manifest = open_manifest(&map, kind, Some((identity, producer)))?;
    Ok(Reader {
        map,
        path: path.to_path_buf(),
        manifest,
    })
}

fn assemble(r: &Reader<Facts>) -> Result<HeapGraph, Unusable> {
    let m = &r.manifest.facts;
    let nodes = usize::try_from(m.node_count).map_err(|_| corrupt("node count"))?;
    let edges = usize::try_from(m.edge_count).map_err(|_| corrupt("edge count"))?;
    if nodes == 0 || m.root as usize >= nodes || m.class_names.len() != m.class_locations.len() {
        return Err(corrupt("its counts disagree"));
    }
    let strings = Strings::from_columns(
        r.column("strings_text")?,
        r.column("strings_start")?,
        r.column("strings_end")?,
        m.strings_base,
    );
    let trace_tree = TraceTree::from_columns(
        r.copied("trace_id")?,
        r.copied("trace_function_info")?,
        r.copied("trace_parent")?,
    )
    .ok_or_else(|| corrupt("the allocation-trace tree is inconsistent"))?;
    let snapshot = Snapshot {
        layout: m.layout.clone(),
        node_type: r.column_of("node_type", nodes)?,
        node_name: r.column_of("node_name", nodes)?,
        node_id: r.column_of("node_id", nodes)?,
        node_self_size: r.column_of("node_self_size", nodes)?,
        node_trace_id: r.column_of("node_trace_id", nodes)?,
        node_detachedness: r.column_of("node_detachedness", nodes)?,
        first_edge: r.column_of("first_edge", nodes + 1)?,
        edge_type: r.column_of("edge_type", edges)?,
        edge_name: r.column_of("edge_name", edges)?,
        edge_to: r.column_of("edge_to", edges)?,
        strings,
        locations: r.column::<Location>("locations")?,
        trace_function_infos: r.column("trace_function_infos")?,
        trace_tree,
        extra_native_bytes: m.extra_native_bytes,
        file_size: m.file_size,
        compressed_size: m.compressed_size,
        edge_block_owner: Default::default(),
    };
    let classes = Classes {
        class_of: r.column_of("class_of", nodes)?,
        names: m.class_names.clone(),
        locations: m.class_locations.clone(),
    };
    let retainers = RetainerGraph {
        root: m.root,
        lists: if m.has_retainer_lists {
            RetainerLists {
                first_retainer: r.column_of("first_retainer", nodes + 1)?,
                retainer_edge: r.column_of("retainer_edge", edges)?,
            }
            .into()
        } else {
            OnceLock::new()
        },
        essential: r.bits("essential", edges)?,
        self_size: r.column_of("self_size", nodes)?,
        detached: r.bits("detached", nodes)?,
        classes,
        has_user_roots: m.has_user_roots,
        snapshot,
    };
    let dominators = DominatorTree {
        idom: r.column_of("idom", nodes)?,
        order: r.column_of("order", nodes)?,
        order_idom: r.column_of("order_idom", nodes)?,
        retained_size: r.column_of("retained_size", nodes)?,
        unreachable_count: m.unreachable_count as usize,
    };
    let distance = if m.has_distances {
        Some(r.column_of("distance", nodes)?)
    } else {
        None
    };
    let graph = HeapGraph::from_parts(retainers, dominators, distance);
    if let Some(summary) = &m.summary {
        let classes = graph.classes.len();
        let fits = summary.count.len() == classes
            && summary.self_size.len() == classes
            && summary.retained_size.len() == classes
            && summary.class_locations.len() == classes
            && summary.distance.as_ref().is_none_or(|d| d.len() == classes);
        if !fits {
            return Err(corrupt("its summary does not fit its classes"));
        }
        graph.keep_summary_facts(Arc::new(summary.clone()));
    }
    Ok(graph)
}

/// [`read`] whatever file and heapscan build the index says it was made for: for fuzzing the
/// reader and for tests, never for answering about a file.
pub fn read_any_origin(map: Arc<Mmap>, path: &Path) -> Result<HeapGraph, Unusable> {
    let manifest = open_manifest(&map, FileKind::Index, None)?;
    assemble(&Reader {
        map,
        path: path.to_path_buf(),
        manifest,
    })
}

/// Where an index's manifest is and the checksum its footer gives it: (offset, length,
/// checksum), or `None` when the file is too short to have a footer. For the fuzzer, which
/// rewrites the checksum so that mutated manifests reach the parser.
pub fn manifest_place(bytes: &[u8]) -> Option<(usize, usize, usize)> {
    let footer = bytes.len().checked_sub(FOOTER)?;
    let word = |i: usize| {
        u64::from_le_bytes(bytes[footer + i * 8..footer + i * 8 + 8].try_into().ok()?)
            .try_into()
            .ok()
    };
    Some((word(0)?, word(1)?, footer + 16))
}

/// Reads just enough of a file of the cache to say what it is and what it was made for: its
/// kind, the manifest's identity and producer, and the snapshot's node and edge counts, or
/// `None` when the file is not readable.
pub fn describe(map: &[u8]) -> Option<(FileKind, FileIdentity, String, u64, u64)> {
    let kind = FileKind::of(map).filter(|_| map.len() >= ALIGN + FOOTER)?;
    let footer = &map[map.len() - FOOTER..];
    let at = u64::from_le_bytes(footer[0..8].try_into().ok()?) as usize;
    let len = u64::from_le_bytes(footer[8..16].try_into().ok()?) as usize;
    let json = map.get(at..at.checked_add(len)?)?;
    let m: Manifest<Counts> = serde_json::from_slice(json).ok()?;
    Some((
        kind,
        m.identity,
        m.producer,
        m.facts.node_count,
        m.facts.edge_count,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_identity() -> FileIdentity {
        FileIdentity {
            size: 1,
            mtime_ns: 2,
            inode: 3,
            device: 4,
            ends_hash: 5,
        }
    }

    fn graph_of(sample: &str) -> HeapGraph {
        let text = std::fs::read(sample).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&text[..]), &mut raw).unwrap();
        let snapshot = Snapshot::from_bytes(Path::new(sample), raw).unwrap();
        HeapGraph::build(snapshot, &|_| {})
    }

    #[test]
    fn shared_and_empty_columns_are_stored_once_or_not_at_all() {
        for (sample, user_roots) in [
            ("samples/node20.heapsnapshot.gz", true),
            (
                "samples/synthetic/legacy-no-user-roots.heapsnapshot.gz",
                false,
            ),
        ] {
            let graph = graph_of(sample);
            assert_eq!(graph.has_user_roots, user_roots, "{sample}");
            let shared = graph.self_size.as_ptr() == graph.snapshot.node_self_size.as_ptr();
            // Self sizes are the snapshot's own unless the pre-pass moved some (user roots).
            assert_eq!(shared, !user_roots, "{sample}");
            let identity = test_identity();
            let mut out = Vec::new();
            write(&graph, &identity, "test", &mut out).unwrap();
            let manifest: Manifest<Facts> =
                open_manifest(&out, FileKind::Index, Some((&identity, "test")))
                    .ok()
                    .unwrap();
            let section = |name: &str| manifest.sections.iter().find(|s| s.name == name).unwrap();
            let expected = shared.then_some("node_self_size");
            assert_eq!(
                section("self_size").same_as.as_deref(),
                expected,
                "{sample}"
            );
            assert!(section("node_trace_id").zeros, "{sample}");
            assert!(!section("edge_to").zeros && section("edge_to").same_as.is_none());
        }
    }

    #[test]
    fn memory_written_once_and_reused_by_another_column_is_stored_again() {
        // A column let go once written may have its memory taken by a later column of the
        // same length: only the same bytes make a section a copy of an earlier one.
        let mut column: Vec<u32> = (0..4096).collect();
        let mut out = Vec::new();
        let mut writer = IndexWriter::begin(&mut out, FileKind::Digest).unwrap();
        for (name, changed_in_place) in [
            ("first", false),
            ("same", false),
            ("reused", true),
            ("reused_again", false),
        ] {
            if changed_in_place {
                column.iter_mut().for_each(|v| *v = v.wrapping_mul(7) + 1);
            }
            writer.section(name, bytemuck::cast_slice(&column)).unwrap();
        }
        let identity = test_identity();
        writer.finish("test", &identity, ()).unwrap();
        let manifest: Manifest<()> =
            open_manifest(&out, FileKind::Digest, Some((&identity, "test")))
                .ok()
                .unwrap();
        let section = |name: &str| manifest.sections.iter().find(|s| s.name == name).unwrap();
        assert_eq!(section("same").same_as.as_deref(), Some("first"));
        let reused = section("reused");
        assert!(reused.same_as.is_none() && !reused.zeros);
        assert_ne!(reused.offset, section("first").offset);
        assert_eq!(
            reused.hash,
            xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(&column))
        );
        assert_eq!(section("reused_again").same_as.as_deref(), Some("reused"));
    }
}
