//! `heapscan summary FILE`.

use heapscan::graph::Columns;
use std::path::PathBuf;
use std::process::ExitCode;

use std::io::Write;

use anyhow::Context;
use clap::{Args, ValueEnum};

use heapscan::report::{summary::render, Format};
use heapscan::summary::{summarize, SortKey, SummaryOptions};

use super::progress::{timing, with_graph};
use super::{open_output, Outcome};

#[derive(Args)]
pub struct SummaryArgs {
    /// The heap snapshot (.heapsnapshot, .gz or .zst; `-` reads standard input).
    pub file: PathBuf,
    /// Show only the first N classes (all with --format json/csv unless given).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Order of the class rows.
    #[arg(long, value_enum, default_value_t = SortArg::Retained)]
    pub sort: SortArg,
    /// Keep only classes whose name matches this regular expression.
    #[arg(long = "class", value_name = "PATTERN")]
    pub class: Option<String>,
    /// How many top dominators to list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub dominators: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SummaryFormat::Table)]
    pub format: SummaryFormat,
    /// Write to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SortArg {
    Retained,
    #[value(name = "self")]
    SelfSize,
    Count,
    Distance,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum SummaryFormat {
    Table,
    Json,
    Csv,
}

pub fn run(args: SummaryArgs) -> Outcome {
    let class_filter = args
        .class
        .as_deref()
        .map(regex::Regex::new)
        .transpose()
        .context("--class is not a valid regular expression")?;
    let format = match args.format {
        SummaryFormat::Table => Format::Table,
        SummaryFormat::Json => Format::Json,
        SummaryFormat::Csv => Format::Csv,
    };
    let top = args.top.or((format == Format::Table).then_some(30));
    let options = SummaryOptions {
        top,
        sort: match args.sort {
            SortArg::Retained => SortKey::Retained,
            SortArg::SelfSize => SortKey::SelfSize,
            SortArg::Count => SortKey::Count,
            SortArg::Distance => SortKey::Distance,
        },
        class_filter,
        dominators: args.dominators,
    };
    let report = with_graph(
        &args.file,
        Columns::NO_RETAINERS_AFTER,
        &args.index,
        |graph| {
            timing(Some("summary"));
            Ok(summarize(graph, &args.file.display().to_string(), &options))
        },
    )?;
    timing(Some("render"));
    let mut out = open_output(args.output.as_deref())?;
    render(&report, format, &mut out)?;
    out.flush()?;
    timing(None);
    Ok(ExitCode::SUCCESS)
}
