//! `heapscan nodes FILE`.

use heapscan::graph::Columns;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};

use heapscan::nodes::{rows, NodeFilter};
use heapscan::report::nodes::{write_csv, write_jsonl};

use super::{open_output, progress::with_graph, Outcome};

#[derive(Args)]
pub struct NodesArgs {
    /// The heap snapshot (.heapsnapshot, .gz or .zst; `-` reads standard input).
    pub file: PathBuf,
    /// Keep only objects whose class matches this regular expression.
    #[arg(long = "class", value_name = "PATTERN")]
    pub class: Option<String>,
    /// Keep only objects retaining at least this much (e.g. 1MB, 64KiB).
    #[arg(long, value_name = "SIZE", value_parser = heapscan::units::parse_size, default_value = "0")]
    pub min_retained: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = NodesFormat::Csv)]
    pub format: NodesFormat,
    /// Write to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum NodesFormat {
    Csv,
    Jsonl,
}

pub fn run(args: NodesArgs) -> Outcome {
    let filter = NodeFilter {
        class: args
            .class
            .as_deref()
            .map(regex::Regex::new)
            .transpose()
            .context("--class is not a valid regular expression")?,
        min_retained: args.min_retained,
    };
    with_graph(
        &args.file,
        Columns::NO_RETAINERS_AFTER,
        &args.index,
        |graph| {
            // Rows stream out as they are made: every checksum is checked before the first.
            graph.check_columns();
            let mut out = open_output(args.output.as_deref())?;
            let rows = rows(graph, &filter);
            match args.format {
                NodesFormat::Csv => write_csv(rows, &mut out)?,
                NodesFormat::Jsonl => write_jsonl(rows, &mut out)?,
            };
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        },
    )
}
