//! `heapscan report SNAPSHOT… [-o report.html]`: one self-contained HTML page with the overview,
//! top classes and dominators, leak suspects with growth charts (2+ snapshots), the class
//! comparison and duplicated strings; `--gc FILE` adds a GC trace (as `heapscan gc` reads it).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::Args;

use heapscan::gc::{self, analysis::GrowthRule};
use heapscan::report::html::render;
use heapscan::report_builder::{build, ReportOptions};

use super::diff::ThresholdArgs;
use super::progress::{timing, Shown};
use super::{open_output, Outcome};

#[derive(Args)]
pub struct ReportArgs {
    /// One or more snapshots, oldest first; two or more of one process add leak suspects and
    /// the class comparison.
    #[arg(required_unless_present = "gc", num_args = 1.., value_name = "SNAPSHOT")]
    pub files: Vec<PathBuf>,
    /// Add a GC trace: a log written by `node --trace-gc` (or `--trace-gc-nvp`), or a session
    /// folder of `heapscan record`. Repeat for several logs.
    #[arg(long = "gc", value_name = "FILE")]
    pub gc: Vec<PathBuf>,
    /// Ignore GCs in the first DURATION of each process when judging the trace's growth.
    #[arg(long, value_parser = heapscan::units::parse_duration, default_value = "0s")]
    pub gc_warmup: std::time::Duration,
    /// Write the report to FILE (`-` is standard output).
    #[arg(
        short = 'o',
        long = "output",
        value_name = "FILE",
        default_value = "heapscan-report.html"
    )]
    pub output: PathBuf,
    /// Rows in each table of classes, dominators and the comparison.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub top: usize,
    /// Write when the report was made (UTC; `SOURCE_DATE_EPOCH` is honoured). Without it the
    /// same snapshots always give the same bytes.
    #[arg(long)]
    pub timestamp: bool,
    #[command(flatten)]
    pub thresholds: ThresholdArgs,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
    #[command(flatten)]
    pub memory: super::diff::MemoryArgs,
}

pub fn run(args: ReportArgs) -> Outcome {
    let generated_at = if args.timestamp {
        Some(utc_timestamp(now_seconds()?))
    } else {
        None
    };
    let options = ReportOptions {
        top: args.top,
        thresholds: args.thresholds.thresholds()?,
        generated_at,
        max_memory: args.memory.max_memory,
        ..ReportOptions::default()
    };
    // The GC logs first: they are small, and a bad one should fail before minutes of parsing.
    let gc_trace = if args.gc.is_empty() {
        None
    } else {
        let rule = GrowthRule {
            warmup_ms: args.gc_warmup.as_secs_f64() * 1000.0,
            ..GrowthRule::default()
        };
        Some(gc::analyse_logs(&args.gc, &rule)?)
    };
    let shown = Shown::new();
    let cache = args.index.cache();
    let report = heapscan::index::recover(cache.as_ref(), &shown, |cache| {
        build(&args.files, gc_trace.clone(), &options, cache, &shown)
    })?;
    timing(Some("render"));
    let to_stdout = args.output.as_os_str() == "-";
    let mut out = open_output(Some(&args.output))?;
    render(&report, &mut out)
        .and_then(|()| out.flush())
        .with_context(|| format!("cannot write {}", args.output.display()))?;
    timing(None);
    if !to_stdout {
        let suspects = report.diff.as_ref().map(|d| d.suspects.len());
        eprintln!(
            "heapscan: wrote {} ({} snapshot{}{}{})",
            args.output.display(),
            report.snapshots.len(),
            if report.snapshots.len() == 1 { "" } else { "s" },
            match suspects {
                Some(1) => ", 1 leak suspect".to_string(),
                Some(n) => format!(", {n} leak suspects"),
                None => String::new(),
            },
            match &report.gc_trace {
                Some(t) => format!(", GC trace: {}", t.analysis.verdict.name()),
                None => String::new(),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Seconds since the epoch: `SOURCE_DATE_EPOCH` when set (reproducible builds' convention),
/// else the clock.
fn now_seconds() -> anyhow::Result<u64> {
    if let Some(value) = std::env::var_os("SOURCE_DATE_EPOCH") {
        let text = value.to_string_lossy();
        return text
            .trim()
            .parse()
            .with_context(|| format!("SOURCE_DATE_EPOCH `{text}` is not a number of seconds"));
    }
    Ok(SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

/// `2024-05-01 12:34:56 UTC` for seconds since the Unix epoch.
fn utc_timestamp(secs: u64) -> String {
    let t = UNIX_EPOCH + std::time::Duration::from_secs(secs);
    heapscan::units::utc_rfc3339(t)
        .replace('T', " ")
        .replace('Z', " UTC")
}

#[cfg(test)]
mod tests {
    use super::utc_timestamp;

    #[test]
    fn timestamps_are_utc_calendar_dates() {
        assert_eq!(utc_timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_timestamp(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(utc_timestamp(4_102_444_799), "2099-12-31 23:59:59 UTC");
    }
}
