//! `heapscan record [OPTIONS] -- COMMAND…`: supervise a Node.js app and write a session
//! folder (gc.log, memory.csv, events.jsonl, session.json, snapshots). Exits with the app's
//! exit code; the app's stdout passes through, heapscan's own messages go to stderr.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, ValueEnum};

use heapscan::collect::record::{self, RecordConfig, RestartPolicy};
use heapscan::units::{parse_duration, parse_size};

use super::Outcome;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RestartArg {
    OnCrash,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Session folder to write (default: ./heapscan-YYYYMMDD-HHMMSS).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// How often to sample memory into memory.csv (e.g. 1s, 200ms).
    #[arg(long, value_parser = parse_duration, default_value = "1s")]
    pub sample_interval: Duration,
    /// Take a snapshot every DURATION (e.g. 30s, 5m).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub snapshot_every: Option<Duration>,
    /// Take a snapshot each time the app's RSS rises above SIZE (e.g. 512MB).
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub snapshot_at_rss: Option<u64>,
    /// When to restart the app after it exits.
    #[arg(long, value_enum, default_value_t = RestartArg::Never)]
    pub restart: RestartArg,
    /// Give up after this many restarts.
    #[arg(long, value_name = "N")]
    pub max_restarts: Option<u32>,
    /// Restart the app when its RSS exceeds SIZE, taking a snapshot first (like PM2's
    /// max_memory_restart, but the evidence survives).
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub max_memory_restart: Option<u64>,
    /// Keep at most N snapshots in the session.
    #[arg(long, value_name = "N")]
    pub max_snapshots: Option<usize>,
    /// Keep at most SIZE of snapshots in the session (e.g. 2GB).
    #[arg(long, value_parser = parse_size, value_name = "SIZE")]
    pub max_disk: Option<u64>,
    /// How long the app gets to exit after SIGINT (memory restart) before SIGKILL.
    #[arg(long, value_parser = parse_duration, default_value = "5s")]
    pub kill_timeout: Duration,
    /// Give up on a snapshot that takes longer than this.
    #[arg(long, value_parser = parse_duration, default_value = "10m")]
    pub snapshot_timeout: Duration,
    /// Record allocation stacks (Node's --track-heap-objects): every suspect of a diff then
    /// shows the code that allocated what accumulates. Costs the app time and memory: for
    /// reproducing a leak, not for production.
    #[arg(long)]
    pub track_allocations: bool,
    /// The command to run, after `--` (e.g. `-- node server.js`, `-- npm start`).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

pub fn run(args: RecordArgs) -> Outcome {
    let out_dir = args.out.unwrap_or_else(record::default_session_dir);
    let cfg = RecordConfig {
        command: args.command,
        out_dir,
        sample_interval: args.sample_interval.max(Duration::from_millis(10)),
        snapshot_every: args.snapshot_every.filter(|d| !d.is_zero()),
        snapshot_at_rss: args.snapshot_at_rss,
        restart: match args.restart {
            RestartArg::OnCrash => RestartPolicy::OnCrash,
            RestartArg::Always => RestartPolicy::Always,
            RestartArg::Never => RestartPolicy::Never,
        },
        max_restarts: args.max_restarts,
        max_memory_restart: args.max_memory_restart,
        max_snapshots: args.max_snapshots,
        max_disk: args.max_disk,
        kill_timeout: args.kill_timeout,
        snapshot_timeout: args.snapshot_timeout,
        track_allocations: args.track_allocations,
    };
    let outcome = record::record(cfg, std::sync::Arc::new(super::progress::Lines))?;
    let dir = outcome.session.display();
    eprintln!(
        "heapscan: session {dir}: {} snapshot(s), gc.log, memory.csv, events.jsonl; {} restart(s), app exit code {}",
        outcome.snapshots, outcome.restarts, outcome.exit_code
    );
    if outcome.snapshots >= 2 {
        eprintln!("heapscan: next: heapscan diff {dir}/snapshot-*.heapsnapshot");
    } else {
        eprintln!(
            "heapscan: {} snapshot(s): a diff needs two or more (--snapshot-every 30s, or `heapscan snap --pid <app pid>` while it runs)",
            outcome.snapshots
        );
    }
    eprintln!("heapscan: next: heapscan gc {dir}");
    Ok(ExitCode::from(outcome.exit_code.clamp(0, 255) as u8))
}
