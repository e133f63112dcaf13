//! `heapscan snap --pid PID | --pm2 NAME [-o FILE]`: snapshot a running Node.js process
//! without restarting it. Prints the snapshot's path (and, with `--format json`, how it was
//! taken) on stdout; progress on stderr when it is a terminal.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, ValueEnum};

use heapscan::collect::snap::{self, Method, SeriesPlan, SeriesTarget, SnapResult, Via};
use heapscan::report::human_bytes as format_bytes;
use heapscan::units::parse_duration;

use super::progress::Progress;
use super::Outcome;

/// How to reach the process (`auto`: the snapshot hook if installed, else its
/// `--heapsnapshot-signal`, else the inspector, which installs the hook).
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ViaArg {
    Auto,
    Signal,
    Hook,
}

impl From<ViaArg> for Via {
    fn from(v: ViaArg) -> Via {
        match v {
            ViaArg::Auto => Via::Auto,
            ViaArg::Signal => Via::Signal,
            ViaArg::Hook => Via::Hook,
        }
    }
}

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
    /// several PM2 instances, `.<pm_id>` is added before the extension; with `--count`, the
    /// snapshot's number `-001`, `-002`, …).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Take this many snapshots of each process, `--every` apart, numbered
    /// (`NAME-001.heapsnapshot`, …). Ctrl-C ends the series with what it has.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub count: u32,
    /// The time between the starts of two snapshots of a series (`2s`, `5m`).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, default_value = "30s")]
    pub every: Duration,
    /// Give up on one snapshot after this long.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub timeout: Duration,
    /// How to take it: `signal` only through the process's `--heapsnapshot-signal`, `hook`
    /// through heapscan's snapshot hook (installed over the inspector) even when a signal is
    /// configured. Every way keeps the process's object ids, so they can be mixed.
    #[arg(long, value_enum, default_value_t = ViaArg::Auto)]
    pub via: ViaArg,
    /// Turn allocation tracking on in the process first (through heapscan's snapshot hook,
    /// as `node --track-heap-objects` would have): from then on every snapshot carries the
    /// stacks that allocated its objects, and `heapscan diff` shows them for each suspect.
    /// It slows allocation and keeps the process from exiting by itself (see the README): a
    /// series (`--count` 2 or more) stops it after its last snapshot; single snapshots leave
    /// it on until `--stop-tracking`. Objects allocated before it started have no stack.
    #[arg(long)]
    pub track_allocations: bool,
    /// After this run's snapshots, stop the allocation tracking an earlier
    /// `--track-allocations` started.
    #[arg(long)]
    pub stop_tracking: bool,
    #[arg(long, value_enum, default_value_t = SnapFormat::Table)]
    pub format: SnapFormat,
}

/// The processes to snapshot, with where their files go.
fn targets(args: &SnapArgs) -> anyhow::Result<Vec<SeriesTarget>> {
    if let Some(pid) = args.pid {
        return Ok(vec![SeriesTarget {
            pid,
            out: args.output.clone(),
        }]);
    }
    let Some(name) = &args.pm2 else {
        return Ok(Vec::new());
    };
    let apps = snap::pm2_instances(&args.pm2_bin, name)?;
    let several = apps.len() > 1;
    Ok(apps
        .into_iter()
        .map(|app| {
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
                Some(o) if several => Some(snap::with_stem_suffix(o, &format!(".{}", app.pm_id))),
                None if several && args.count > 1 => Some(PathBuf::from(format!(
                    "{}.{}.heapsnapshot",
                    app.name, app.pm_id
                ))),
                other => other.clone(),
            };
            SeriesTarget { pid: app.pid, out }
        })
        .collect())
}

fn method_name(method: &Method) -> String {
    serde_json::to_value(method)
        .ok()
        .and_then(|v| v["method"].as_str().map(str::to_string))
        .unwrap_or_default()
}

pub fn run(args: SnapArgs) -> Outcome {
    if args.count == 0 {
        anyhow::bail!("--count must be at least 1");
    }
    let targets = targets(&args)?;
    let stop = Arc::new(AtomicBool::new(false));
    if args.count > 1 {
        // The first Ctrl-C ends the series with what it has, once the snapshot being written
        // (by the process, not heapscan) is finished; a second one ends heapscan at once.
        for sig in [libc::SIGINT, libc::SIGTERM] {
            signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&stop))?;
            signal_hook::flag::register(sig, Arc::clone(&stop))?;
        }
    }
    let progress = Progress::new();
    let mut results: Vec<SnapResult> = Vec::new();
    let mut stdout = std::io::stdout().lock();
    let table = matches!(args.format, SnapFormat::Table);
    let outcome = snap::series(
        SeriesPlan {
            targets,
            count: args.count,
            every: args.every,
            timeout: args.timeout,
            via: args.via.into(),
            track_allocations: args.track_allocations,
            stop: &stop,
        },
        &mut |round, r| {
            progress.suspend(|| {
                if table {
                    let _ = writeln!(stdout, "{}", r.path.display());
                    let _ = stdout.flush();
                    let of = if args.count > 1 {
                        format!(" ({round}/{})", args.count)
                    } else {
                        String::new()
                    };
                    eprintln!(
                        "heapscan: pid {}{of}: {} in {:.1} s via {}",
                        r.pid,
                        format_bytes(r.size),
                        r.duration_ms as f64 / 1000.0,
                        method_name(&r.method)
                    );
                }
                if let Some(w) = &r.warning {
                    eprintln!("heapscan: warning: {w}");
                }
            });
            results.push(r.clone());
        },
        &mut |pid, bytes| {
            progress.phase(format!(
                "snapshot of pid {pid}: {} written",
                format_bytes(bytes)
            ))
        },
    );
    progress.finish();
    if !table {
        serde_json::to_writer_pretty(&mut stdout, &results)?;
        writeln!(stdout)?;
    }
    // A series that tracked stops tracking at its end, as does --stop-tracking, even when
    // the series failed or was cut short.
    let stop = args.stop_tracking || (args.track_allocations && args.count > 1);
    if stop {
        let mut pids: Vec<u32> = results.iter().map(|r| r.pid).collect();
        if let Some(pid) = args.pid {
            pids.push(pid);
        }
        pids.sort_unstable();
        pids.dedup();
        for pid in pids {
            match snap::stop_tracking(pid) {
                Ok(true) => eprintln!("heapscan: pid {pid}: allocation tracking stopped"),
                Ok(false) => eprintln!(
                    "heapscan: pid {pid}: no snapshot hook, so no tracking of heapscan's to stop"
                ),
                Err(e) => eprintln!("heapscan: pid {pid}: {e}"),
            }
        }
    }
    let rounds = outcome?;
    if args.track_allocations && !stop && rounds > 0 {
        eprintln!(
            "heapscan: allocation tracking is on in the process until `heapscan snap --pid PID --stop-tracking` (or it exits): it slows allocation and keeps the process from exiting by itself; objects allocated from the first snapshot on have their stacks"
        );
    }
    if args.count > 1 {
        if rounds < args.count {
            eprintln!("heapscan: stopped after {rounds} of {} rounds", args.count);
        }
        print_next_step(&results);
    }
    Ok(ExitCode::SUCCESS)
}

/// The command to run next on a series: one `heapscan diff` per process.
fn print_next_step(results: &[SnapResult]) {
    let mut pids: Vec<u32> = results.iter().map(|r| r.pid).collect();
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let files: Vec<String> = results
            .iter()
            .filter(|r| r.pid == pid)
            .map(|r| shell_word(&r.path.display().to_string()))
            .collect();
        if files.len() >= 2 {
            eprintln!("heapscan: next: heapscan diff {}", files.join(" "));
        } else {
            eprintln!("heapscan: pid {pid}: only one snapshot, nothing to compare yet");
        }
    }
}

/// `word` quoted for a POSIX shell when it needs it.
fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%=,".contains(c))
    {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}
