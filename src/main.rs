//! The `heapscan` binary: parses arguments with clap, calls the library, and maps the outcome
//! to exit codes. No analysis lives here.
//!
//! Exit codes: 0 ok, 1 a verdict failed (leak found, gate failed), 2 error (bad input, I/O).
//! A closed stdout (`heapscan … | head`) is not an error.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Find Node.js memory leaks in V8 heap snapshots.
#[derive(Parser)]
#[command(name = "heapscan", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compare snapshots of one process and name what leaks: kind, owner, path, source line.
    Diff(cli::diff::DiffArgs),
    /// CI leak-regression gate: fail (exit 1) on new leak suspects or too much growth.
    Gate(cli::gate::GateArgs),
    /// One self-contained HTML report (overview, leak suspects with charts, classes, strings).
    Report(cli::report::ReportArgs),
    /// Per-class summary of one snapshot (DevTools' Summary view), statistics and top dominators.
    Summary(cli::summary::SummaryArgs),
    /// One row per heap object (CSV or JSON lines): id, type, class, name, sizes, distance, dominator.
    Nodes(cli::nodes::NodesArgs),
    /// Shortest paths from the GC roots to an object: who keeps it alive.
    Retainers(cli::retainers::RetainersArgs),
    /// Report GC pauses and heap-after-GC growth from `node --trace-gc` logs.
    Gc(cli::gc::GcArgs),
    /// Run a Node.js app under supervision, recording GC trace, memory and heap snapshots.
    Record(cli::record::RecordArgs),
    /// Take a heap snapshot of a running Node.js process (by pid or PM2 name).
    Snap(cli::snap::SnapArgs),
    /// Analyse snapshots now and save their indexes, so later commands on them start at once.
    Index(cli::index::IndexFilesArgs),
    /// List or clear the saved snapshot indexes.
    Cache(cli::index::CacheArgs),
}

impl Command {
    /// Whether the command may write index or digest files into the cache. The capturing
    /// commands handle their own signals (`record` passes Ctrl-C to the app it runs).
    fn may_save_indexes(&self) -> bool {
        match self {
            Command::Diff(_)
            | Command::Gate(_)
            | Command::Report(_)
            | Command::Summary(_)
            | Command::Nodes(_)
            | Command::Retainers(_)
            | Command::Index(_) => true,
            Command::Gc(_) | Command::Record(_) | Command::Snap(_) | Command::Cache(_) => false,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.command.may_save_indexes() {
        cli::remove_unfinished_indexes_on_signal();
    }
    let outcome = match cli.command {
        Command::Diff(args) => cli::diff::run(args),
        Command::Gate(args) => cli::gate::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Summary(args) => cli::summary::run(args),
        Command::Nodes(args) => cli::nodes::run(args),
        Command::Retainers(args) => cli::retainers::run(args),
        Command::Gc(args) => cli::gc::run(args),
        Command::Record(args) => cli::record::run(args),
        Command::Snap(args) => cli::snap::run(args),
        Command::Index(args) => cli::index::run_index(args),
        Command::Cache(args) => cli::index::run_cache(args),
    };
    cli::finish(outcome)
}
