//! `heapscan snap --pid PID | --pm2 NAME [-o FILE]`: snapshot a running Node.js process
//! without restarting it. Prints the snapshot's path (and, with `--format json`, how it was
//! taken) on stdout; progress on stderr when it is a terminal.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};

use heapscan::collect::snap::{self, SnapOptions, SnapResult};
use heapscan::report::human_bytes as format_bytes;
use heapscan::units::parse_duration;

use super::Outcome;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SnapFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["pid", "pm2"])))]
pub struct SnapArgs {
    /// The Node.js process to snapshot.
    #[arg(long)]
    pub pid: Option<u32>,
    /// A PM2 app name (or pm_id): every online instance is snapshotted.
    #[arg(long, value_name = "NAME")]
    pub pm2: Option<String>,
    /// The pm2 executable.
    #[arg(long, value_name = "PATH", default_value = "pm2")]
    pub pm2_bin: PathBuf,
    /// Where to write the snapshot (default: ./<pid>-<unix-seconds>.heapsnapshot; with
    /// several PM2 instances, `.<pm_id>` is added before the extension).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Give up after this long.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub timeout: Duration,
    #[arg(long, value_enum, default_value_t = SnapFormat::Table)]
    pub format: SnapFormat,
}

fn with_suffix(path: &Path, id: u64) -> PathBuf {
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("snapshot");
    let ext = path
        .extension()
        .and_then(|s| s.to_str())
        .unwrap_or("heapsnapshot");
    path.with_file_name(format!("{stem}.{id}.{ext}"))
}

fn one(pid: u32, out: Option<PathBuf>, timeout: Duration) -> anyhow::Result<SnapResult> {
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{spinner} snapshot of {msg} [{bar:30}] {pos}/{len}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(pid.to_string());
        bar
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = snap::snapshot_pid(
        pid,
        SnapOptions {
            out,
            timeout,
            progress: &mut progress,
        },
    );
    bar.finish_and_clear();
    Ok(result?)
}

pub fn run(args: SnapArgs) -> Outcome {
    let mut results = Vec::new();
    if let Some(pid) = args.pid {
        results.push(one(pid, args.output.clone(), args.timeout)?);
    } else if let Some(name) = &args.pm2 {
        let apps = snap::pm2_instances(&args.pm2_bin, name)?;
        let several = apps.len() > 1;
        for app in apps {
            if let Some(limit) = app.max_memory_restart {
                let rss = heapscan::collect::procfs::status(app.pid).map_or(0, |s| s.vm_rss);
                if rss.saturating_mul(2) > limit {
                    eprintln!(
                        "heapscan: warning: PM2 restarts '{}' above {} and it uses {}: a snapshot raises RSS, so PM2 may kill it mid-snapshot",
                        app.name,
                        format_bytes(limit),
                        format_bytes(rss)
                    );
                }
            }
            let out = match &args.output {
                Some(o) if several => Some(with_suffix(o, app.pm_id)),
                other => other.clone(),
            };
            results.push(one(app.pid, out, args.timeout)?);
        }
    }
    let mut stdout = std::io::stdout().lock();
    match args.format {
        SnapFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &results)?;
            writeln!(stdout)?;
        }
        SnapFormat::Table => {
            for r in &results {
                writeln!(stdout, "{}", r.path.display())?;
                eprintln!(
                    "heapscan: pid {}: {} in {:.1} s via {}",
                    r.pid,
                    format_bytes(r.size),
                    r.duration_ms as f64 / 1000.0,
                    serde_json::to_value(&r.method)
                        .ok()
                        .and_then(|v| v["method"].as_str().map(str::to_string))
                        .unwrap_or_default()
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
