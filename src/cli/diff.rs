//! `heapscan diff A B [C …]`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use heapscan::diff::{compare, DiffOptions};
use heapscan::report::diff::{render, Judgement, Thresholds};
use heapscan::report::Format;
use heapscan::units::parse_size;

use super::progress::{timing, Shown};
use super::{open_output, Outcome};

#[derive(Args)]
pub struct DiffArgs {
    /// Two or more snapshots of one process, oldest first.
    #[arg(required = true, num_args = 1.., value_name = "SNAPSHOT")]
    pub files: Vec<PathBuf>,
    /// Show only the first N classes of the comparison (default 20 in the table, all in JSON).
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Exit with code 1 when there is a leak suspect.
    #[arg(long)]
    pub fail_on_leak: bool,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DiffFormat::Table)]
    pub format: DiffFormat,
    /// Write to FILE instead of standard output (`-` is standard output).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
    #[command(flatten)]
    pub memory: MemoryArgs,
}

/// How much memory a comparison of snapshots may take.
#[derive(Args, Clone, Debug)]
pub struct MemoryArgs {
    /// Memory heapscan may take (e.g. 8G): a comparison with less than it needs to overlap
    /// two snapshots' work reads one at a time, slower, with the same result; `index` with
    /// less than a diff digest needs makes the index alone [default: half of what the
    /// machine, or the container's memory limit, has available].
    #[arg(long, env = "HEAPSCAN_MAX_MEMORY", value_name = "SIZE", value_parser = parse_size)]
    pub max_memory: Option<u64>,
}

/// The leak thresholds (growth is per step between consecutive snapshots).
#[derive(Args, Clone)]
pub struct ThresholdArgs {
    /// A class is a suspect when it gains at least N objects per step.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().class_count_growth)]
    pub min_class_growth: u64,
    /// A Map/Set/Array/object is a suspect when it gains at least N entries per step.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().collection_entry_growth)]
    pub min_entry_growth: u64,
    /// An event is a suspect when it gains at least N listeners per step.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().listener_growth)]
    pub min_listener_growth: u64,
    /// A timer callback is a suspect when it gains at least N live timers per step.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().timer_growth)]
    pub min_timer_growth: u64,
    /// A closure chain is a suspect when it gets at least N longer per step.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().closure_chain_growth)]
    pub min_chain_growth: u64,
    /// …and only when what it retains grows by at least SIZE from first to last.
    #[arg(long, value_name = "SIZE", value_parser = heapscan::units::parse_size, default_value = "50kB")]
    pub min_retained_growth: u64,
    /// Share of steps that must grow (the last always must); 1 = every step.
    #[arg(long, value_name = "FRACTION", default_value_t = Thresholds::default().steady_fraction)]
    pub steady: f64,
    /// A step with fewer than N new objects is idle (and, when the snapshots have side files,
    /// less CPU time than --idle-cpu-below): it neither confirms nor refutes growth.
    #[arg(long, value_name = "N", default_value_t = Thresholds::default().idle_step_objects)]
    pub idle_below: u64,
    /// With side files: a step with less than MS of CPU time (and few new objects) is idle.
    #[arg(long, value_name = "MS", default_value_t = Thresholds::default().idle_step_cpu_ms)]
    pub idle_cpu_below: u64,
    /// A step with less than this share of the busiest step's activity is idle.
    #[arg(long, value_name = "FRACTION", default_value_t = Thresholds::default().idle_step_fraction)]
    pub idle_fraction: f64,
}

impl ThresholdArgs {
    pub fn thresholds(&self) -> anyhow::Result<Thresholds> {
        if !(0.0..=1.0).contains(&self.steady) {
            anyhow::bail!("--steady must be between 0 and 1, not {}", self.steady);
        }
        if !(0.0..=1.0).contains(&self.idle_fraction) {
            anyhow::bail!(
                "--idle-fraction must be between 0 and 1, not {}",
                self.idle_fraction
            );
        }
        Ok(Thresholds {
            class_count_growth: self.min_class_growth,
            collection_entry_growth: self.min_entry_growth,
            listener_growth: self.min_listener_growth,
            timer_growth: self.min_timer_growth,
            closure_chain_growth: self.min_chain_growth,
            retained_growth: self.min_retained_growth,
            steady_fraction: self.steady,
            idle_step_objects: self.idle_below,
            idle_step_cpu_ms: self.idle_cpu_below,
            idle_step_fraction: self.idle_fraction,
        })
    }
}

#[derive(Clone, Copy, ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
}

/// Compares `files` with progress shown; the spinner is gone when this returns.
pub fn analyse(
    files: &[PathBuf],
    options: &DiffOptions,
    index: &super::index::IndexArgs,
) -> heapscan::error::Result<heapscan::report::diff::DiffReport> {
    let shown = Shown::new();
    let cache = index.cache();
    let report = heapscan::index::recover(cache.as_ref(), &shown, |cache| {
        compare(files, options, cache, &shown)
    });
    timing(None);
    report
}

pub fn run(args: DiffArgs) -> Outcome {
    let format = match args.format {
        DiffFormat::Table => Format::Table,
        DiffFormat::Json => Format::Json,
    };
    let options = DiffOptions {
        thresholds: args.thresholds.thresholds()?,
        top: args.top.or((format == Format::Table).then_some(20)),
        max_suspects: None,
        max_memory: args.memory.max_memory,
    };
    let report = analyse(&args.files, &options, &args.index)?;
    let mut out = open_output(args.output.as_deref())?;
    render(&report, format, &mut out)?;
    out.flush()?;
    if !args.fail_on_leak {
        return Ok(ExitCode::SUCCESS);
    }
    if !report.suspects.is_empty() {
        return Ok(ExitCode::from(1));
    }
    match &report.judgement {
        Judgement::Judged => Ok(ExitCode::SUCCESS),
        Judgement::CannotJudge {
            message, advice, ..
        } => {
            eprintln!("heapscan: cannot judge: {message}; {advice}");
            Ok(ExitCode::from(2))
        }
    }
}
