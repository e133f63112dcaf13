//! The persisted-index options every analysing command takes (`--no-index`, `--index-dir`,
//! `--index-max-size`), `heapscan index FILE…` (build ahead) and `heapscan cache list|clear`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use heapscan::index::{FileIdentity, FileKind, IndexCache, DEFAULT_MAX_BYTES};
use heapscan::units::parse_size;

use super::progress::{timing, Shown};
use super::Outcome;

/// Where analysed snapshots are saved so that the next command on the same file is instant.
#[derive(Args, Clone, Debug)]
pub struct IndexArgs {
    /// Neither read nor save persisted indexes: parse and analyse every file.
    #[arg(
        long,
        env = "HEAPSCAN_NO_INDEX",
        action = clap::ArgAction::SetTrue,
        value_parser = clap::builder::FalseyValueParser::new()
    )]
    pub no_index: bool,
    /// Directory of persisted indexes [default: the platform's cache directory, e.g.
    /// ~/.cache/heapscan/index].
    #[arg(long, env = "HEAPSCAN_INDEX_DIR", value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// Size bound of the index directory: the least recently used indexes are removed beyond
    /// it (e.g. 10G, 500M).
    #[arg(long, env = "HEAPSCAN_INDEX_MAX_SIZE", value_name = "SIZE", value_parser = parse_size)]
    pub index_max_size: Option<u64>,
}

impl IndexArgs {
    /// The cache these options name, or `None` with `--no-index` (or when the platform has
    /// no cache directory and none was given).
    pub fn cache(&self) -> Option<IndexCache> {
        if self.no_index {
            return None;
        }
        let dir = self.index_dir.clone().or_else(IndexCache::default_dir)?;
        Some(IndexCache::new(
            dir,
            self.index_max_size.unwrap_or(DEFAULT_MAX_BYTES),
        ))
    }

    /// The cache for commands that only manage it (`cache`, `index`): `--no-index` makes no
    /// sense there.
    fn required_cache(&self) -> anyhow::Result<IndexCache> {
        if self.no_index {
            bail!("--no-index (or HEAPSCAN_NO_INDEX) leaves no index cache to work on");
        }
        self.cache()
            .context("this platform has no cache directory: give one with --index-dir DIR")
    }
}

#[derive(Args)]
pub struct IndexFilesArgs {
    /// Snapshots to analyse and index now (.heapsnapshot, .gz or .zst).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub index: IndexArgs,
    #[command(flatten)]
    pub memory: super::diff::MemoryArgs,
}

/// `heapscan index FILE…`: analyses each file not yet indexed and saves its index, so later
/// commands (in CI, right after capture) start at once.
pub fn run_index(args: IndexFilesArgs) -> Outcome {
    let cache = args.index.required_cache()?;
    for file in &args.files {
        let identity = FileIdentity::of(file)
            .with_context(|| format!("{}: cannot read the file", file.display()))?;
        let was_there = cache.has(&identity);
        let observer = Shown::new();
        // An index there already is checked whole (and rebuilt when damaged).
        // A damaged index or digest is removed and made again; without a cache left (one
        // that cannot be removed), there is nothing to keep.
        heapscan::index::recover(Some(&cache), &observer, |cache| match cache {
            Some(cache) => {
                heapscan::diff::index_ahead(file, cache, args.memory.max_memory, &observer)
            }
            None => Ok(()),
        })?;
        drop(observer);
        let state = if was_there && cache.has(&identity) {
            "already indexed"
        } else if cache.has(&identity) {
            "indexed"
        } else {
            "not indexed (see the note above)"
        };
        let digest = if cache.has(&identity) && !cache.has_digest(&identity) {
            " (without a diff digest: see the note above)"
        } else {
            ""
        };
        println!(
            "{}: {state} in {}{digest}",
            file.display(),
            cache.dir().display()
        );
    }
    timing(None);
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct CacheArgs {
    #[command(subcommand)]
    pub action: CacheAction,
    #[command(flatten)]
    pub index: IndexArgs,
}

#[derive(Subcommand)]
pub enum CacheAction {
    /// List the indexes in the cache: size, last use, the snapshot each was made for.
    List,
    /// Remove every index from the cache.
    Clear,
}

/// `heapscan cache list|clear`.
pub fn run_cache(args: CacheArgs) -> Outcome {
    let cache = args.index.required_cache()?;
    let dir = cache.dir().display().to_string();
    match args.action {
        CacheAction::List => {
            let entries = cache
                .entries()
                .with_context(|| format!("cannot list the index cache {dir}"))?;
            let total: u64 = entries.iter().map(|e| e.bytes).sum();
            let digests = entries
                .iter()
                .filter(|e| e.kind == FileKind::Digest)
                .count();
            println!(
                "{dir}: {} index(es), {digests} diff digest(s), {} MB",
                entries.len() - digests,
                total.div_ceil(1 << 20)
            );
            for e in entries {
                let name = e
                    .path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let used = heapscan::units::utc_rfc3339(e.used);
                let what = match e.described {
                    Some((size, nodes, edges)) => format!(
                        "{} of a snapshot of {} MB, {nodes} nodes, {edges} edges",
                        match e.kind {
                            FileKind::Index => "index",
                            FileKind::Digest => "diff digest",
                        },
                        size.div_ceil(1 << 20)
                    ),
                    None => "not a readable index".to_string(),
                };
                println!(
                    "  {name}  {:>7} MB  used {used}  {what}",
                    e.bytes.div_ceil(1 << 20)
                );
            }
        }
        CacheAction::Clear => {
            let (indexes, digests, bytes) = cache
                .clear()
                .with_context(|| format!("cannot clear the index cache {dir}"))?;
            println!(
                "{dir}: removed {indexes} index(es), {digests} diff digest(s), {} MB",
                bytes.div_ceil(1 << 20)
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
