//! `heapscan retainers FILE @ID` (or `--class NAME`).

use heapscan::graph::Columns;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};

use heapscan::paths::{node_ref, path_retainers, retainer_paths, ShortestPaths};
use heapscan::report::retainers::{render, RetainersReport};
use heapscan::report::Format;

use super::{open_output, progress::with_graph, Outcome};

#[derive(Args)]
pub struct RetainersArgs {
    /// The heap snapshot (.heapsnapshot, .gz or .zst; `-` reads standard input).
    pub file: PathBuf,
    /// The object, by its snapshot id (`@1234` or `1234`).
    #[arg(value_name = "@ID", required_unless_present = "class")]
    pub id: Option<String>,
    /// Instead of an id: the largest object (by retained size) of this exact class name.
    #[arg(long = "class", value_name = "NAME", conflicts_with = "id")]
    pub class: Option<String>,
    /// How many paths to show (one through each of the object's nearest retainers).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub paths: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RetainersFormat::Table)]
    pub format: RetainersFormat,
    /// Write to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum RetainersFormat {
    Table,
    Json,
}

pub fn run(args: RetainersArgs) -> Outcome {
    let wanted_id = match &args.id {
        Some(text) => Some(
            text.trim_start_matches('@')
                .parse::<u32>()
                .with_context(|| format!("`{text}` is not a node id (write it as @1234)"))?,
        ),
        None => None,
    };
    let report = with_graph(
        &args.file,
        Columns::NO_RETAINERS_AFTER,
        &args.index,
        |graph| {
            let s = &graph.snapshot;
            let (target, class_members) = match (wanted_id, &args.class) {
                (Some(id), _) => match s.find_node_by_id(id) {
                    Some(n) => (n, None),
                    None => bail!("{}: no object has id @{id}", args.file.display()),
                },
                (None, Some(class)) => {
                    // Class ids first: comparing ids, not every node's class name.
                    let ids: Vec<u32> = (0..graph.classes.names.len() as u32)
                        .filter(|&c| graph.classes.names[c as usize] == class.as_str())
                        .collect();
                    let class_of = &graph.classes.class_of;
                    let members: Vec<u32> = (0..s.node_count() as u32)
                        .filter(|&n| ids.contains(&class_of[n as usize]))
                        .collect();
                    let Some(&largest) = members.iter().max_by(|&&a, &&b| {
                        graph
                            .retained_size(a)
                            .cmp(&graph.retained_size(b))
                            .then(s.node_id[b as usize].cmp(&s.node_id[a as usize]))
                    }) else {
                        bail!(
                            "{}: no object has class `{class}` (see `heapscan summary`)",
                            args.file.display()
                        );
                    };
                    (largest, Some(members.len() as u64))
                }
                (None, None) => bail!("give an object id (@1234) or --class NAME"),
            };
            // The walk stops once it has reached the object and its retainers.
            let retainers = path_retainers(graph, target);
            let mut wanted: Vec<u32> = retainers.iter().map(|&(from, _)| from).collect();
            wanted.push(target);
            let tree = ShortestPaths::compute_reaching(graph, &wanted);
            Ok(RetainersReport {
                file: args.file.display().to_string(),
                target: node_ref(graph, target),
                class_members,
                distance: tree.hops(target),
                paths: retainer_paths(graph, &tree, &retainers, args.paths),
            })
        },
    )?;
    let format = match args.format {
        RetainersFormat::Table => Format::Table,
        RetainersFormat::Json => Format::Json,
    };
    let mut out = open_output(args.output.as_deref())?;
    render(&report, format, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
