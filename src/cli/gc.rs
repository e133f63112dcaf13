//! `heapscan gc FILE…`: parse `--trace-gc` logs and report pauses, mutator utilisation and
//! the growth of heap-after-GC. Exit code 1 when the verdict is `growing`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use heapscan::gc::{self, analysis::GrowthRule, analysis::Verdict};

use super::{open_output, Outcome};

/// Output formats of the collector's reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GcFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// GC logs written by `node --trace-gc` (or `--trace-gc-nvp`), or session folders of
    /// `heapscan record` (their gc.log is read).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Output format (csv: one row per GC, the heap-after-GC series).
    #[arg(long, value_enum, default_value_t = GcFormat::Table)]
    pub format: GcFormat,
    /// Write the report here instead of stdout (`-` is stdout).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Also draw heap-after-GC and pauses over time into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
    /// Ignore GCs in the first DURATION of each process (start-up fills the heap), e.g. 30s.
    #[arg(long, value_parser = heapscan::units::parse_duration, default_value = "0s")]
    pub warmup: std::time::Duration,
    /// Heap-after-GC growth (MB over the trace) below which the verdict stays `stable`.
    #[arg(long, default_value_t = 1.0, value_name = "MB")]
    pub min_growth: f64,
}

pub fn run(args: GcArgs) -> Outcome {
    let rule = GrowthRule {
        warmup_ms: args.warmup.as_secs_f64() * 1000.0,
        min_growth_mb: args.min_growth,
        ..GrowthRule::default()
    };
    let report = gc::analyse_logs(&args.files, &rule)?;
    if report.files.iter().all(|f| f.lines.gc == 0) {
        let files: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
        anyhow::bail!(
            "{}: not a --trace-gc log (no GC records in {} lines); capture one with `node --trace-gc app.js > gc.log` or `heapscan record -- node app.js`",
            files.join(", "),
            report.files.iter().map(|f| f.lines.total).sum::<usize>()
        );
    }
    if let Some(path) = &args.plot {
        gc::plot::plot_svg(&report, path)?;
    }
    let mut out = open_output(args.output.as_deref())?;
    match args.format {
        GcFormat::Table => gc::render::table(&report, &mut out)?,
        GcFormat::Json => gc::render::json(&report, &mut out)?,
        GcFormat::Csv => gc::render::csv(&report, &mut out)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(match report.verdict {
        Verdict::Growing => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
