//! `heapscan gate SNAPSHOT…`: the CI leak-regression gate. Settings come from flags, then from
//! `heapscan.toml` in the working directory (or `--config FILE`), then from the defaults.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use serde::Deserialize;

use heapscan::diff::DiffOptions;
use heapscan::gate::{evaluate, Baseline, GateConfig, GateReport, GateStatus};
use heapscan::report::diff::{Judgement, Thresholds};
use heapscan::report::gate::{github_annotations, junit, markdown, write_summary};
use heapscan::units::parse_size;

use super::Outcome;

#[derive(Args)]
pub struct GateArgs {
    /// Snapshots taken at checkpoints of a test run, oldest first (two or more).
    #[arg(required = true, num_args = 1.., value_name = "SNAPSHOT")]
    pub files: Vec<PathBuf>,
    /// Accept the suspects listed in FILE (matched by kind, class and source location).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Write the current suspects to FILE as a baseline (the gate still reports them).
    #[arg(long, value_name = "FILE")]
    pub write_baseline: Option<PathBuf>,
    /// Fail when the total retained size grows by more than SIZE (e.g. 10MB).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_growth: Option<u64>,
    /// Fail when any class's retained size grows by more than SIZE.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub max_class_growth: Option<u64>,
    /// Read settings from FILE instead of ./heapscan.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Write JUnit XML (one test case per check) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the verdict and the whole diff as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a Markdown summary to FILE (e.g. "$GITHUB_STEP_SUMMARY").
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// A class is a suspect when it gains at least N objects per step.
    #[arg(long, value_name = "N")]
    pub min_class_growth: Option<u64>,
    /// A collection is a suspect when it gains at least N entries per step.
    #[arg(long, value_name = "N")]
    pub min_entry_growth: Option<u64>,
    /// An event is a suspect when it gains at least N listeners per step.
    #[arg(long, value_name = "N")]
    pub min_listener_growth: Option<u64>,
    /// A timer callback is a suspect when it gains at least N live timers per step.
    #[arg(long, value_name = "N")]
    pub min_timer_growth: Option<u64>,
    /// A closure chain is a suspect when it gets at least N longer per step.
    #[arg(long, value_name = "N")]
    pub min_chain_growth: Option<u64>,
    /// …and only when what it retains grows by at least SIZE from first to last.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_retained_growth: Option<u64>,
    /// Share of steps that must grow (the last always must).
    #[arg(long, value_name = "FRACTION")]
    pub steady: Option<f64>,
    /// A step with fewer than N new objects is idle (and, when the snapshots have side files,
    /// less CPU time than --idle-cpu-below): it neither confirms nor refutes growth (default 300).
    #[arg(long, value_name = "N")]
    pub idle_below: Option<u64>,
    /// With side files: a step with less than MS of CPU time (and few new objects) is idle
    /// (default 50).
    #[arg(long, value_name = "MS")]
    pub idle_cpu_below: Option<u64>,
    /// A step with less than this share of the busiest step's activity is idle (default 0.1).
    #[arg(long, value_name = "FRACTION")]
    pub idle_fraction: Option<f64>,
    #[command(flatten)]
    pub index: super::index::IndexArgs,
    #[command(flatten)]
    pub memory: super::diff::MemoryArgs,
}

/// `heapscan.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    gate: GateSection,
    #[serde(default)]
    thresholds: ThresholdSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GateSection {
    max_growth: Option<Size>,
    max_class_growth: Option<Size>,
    baseline: Option<PathBuf>,
    junit: Option<PathBuf>,
    json: Option<PathBuf>,
    markdown: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThresholdSection {
    class_count_growth: Option<u64>,
    collection_entry_growth: Option<u64>,
    listener_growth: Option<u64>,
    timer_growth: Option<u64>,
    closure_chain_growth: Option<u64>,
    retained_growth: Option<Size>,
    steady_fraction: Option<f64>,
    idle_step_objects: Option<u64>,
    idle_step_cpu_ms: Option<u64>,
    idle_step_fraction: Option<f64>,
}

/// A size in the config: a number of bytes or text such as "10MB".
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Size {
    Bytes(u64),
    Text(String),
}

impl Size {
    fn bytes(&self, key: &str) -> anyhow::Result<u64> {
        match self {
            Size::Bytes(b) => Ok(*b),
            Size::Text(t) => parse_size(t).map_err(|e| anyhow::anyhow!("{key}: {e}")),
        }
    }
}

fn read_config(explicit: Option<&Path>) -> anyhow::Result<ConfigFile> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from("heapscan.toml");
            if !default.exists() {
                return Ok(ConfigFile::default());
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("{}: not a valid heapscan.toml", path.display()))
}

fn write_file(path: &Path, contents: &str) -> anyhow::Result<()> {
    if path == Path::new("-") {
        std::io::stdout().write_all(contents.as_bytes())?;
        return Ok(());
    }
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(args: GateArgs) -> Outcome {
    let config = read_config(args.config.as_deref())?;
    let options = DiffOptions {
        thresholds: thresholds(&args, &config.thresholds)?,
        top: None,
        max_suspects: None,
        max_memory: args.memory.max_memory,
    };
    let g = &config.gate;
    let max_growth = size_setting(args.max_growth, g.max_growth.as_ref(), "gate.max_growth")?;
    let max_class_growth = size_setting(
        args.max_class_growth,
        g.max_class_growth.as_ref(),
        "gate.max_class_growth",
    )?;
    let baseline = match args.baseline.as_ref().or(g.baseline.as_ref()) {
        Some(path) => read_baseline(path)?,
        None => Baseline::default(),
    };
    let root = std::env::current_dir().ok();

    let diff = super::diff::analyse(&args.files, &options, &args.index)?;
    if let Some(path) = &args.write_baseline {
        let baseline = Baseline::from_diff(&diff, root.as_deref());
        write_file(path, &(serde_json::to_string_pretty(&baseline)? + "\n"))?;
    }
    let report = evaluate(
        diff,
        &GateConfig {
            max_growth,
            max_class_growth,
            baseline,
            root,
        },
    );
    write_outputs(&report, &args, g)?;
    Ok(match report.status {
        GateStatus::Passed => ExitCode::SUCCESS,
        GateStatus::Failed => ExitCode::from(1),
        GateStatus::CannotJudge => {
            if let Judgement::CannotJudge {
                message, advice, ..
            } = &report.diff.judgement
            {
                eprintln!("heapscan: cannot judge: {message}; {advice}");
            }
            ExitCode::from(2)
        }
    })
}

/// The thresholds: each from its flag, else from heapscan.toml, else the default.
fn thresholds(args: &GateArgs, t: &ThresholdSection) -> anyhow::Result<Thresholds> {
    let d = Thresholds::default();
    let thresholds = Thresholds {
        class_count_growth: args
            .min_class_growth
            .or(t.class_count_growth)
            .unwrap_or(d.class_count_growth),
        collection_entry_growth: args
            .min_entry_growth
            .or(t.collection_entry_growth)
            .unwrap_or(d.collection_entry_growth),
        listener_growth: args
            .min_listener_growth
            .or(t.listener_growth)
            .unwrap_or(d.listener_growth),
        timer_growth: args
            .min_timer_growth
            .or(t.timer_growth)
            .unwrap_or(d.timer_growth),
        closure_chain_growth: args
            .min_chain_growth
            .or(t.closure_chain_growth)
            .unwrap_or(d.closure_chain_growth),
        retained_growth: size_setting(
            args.min_retained_growth,
            t.retained_growth.as_ref(),
            "thresholds.retained_growth",
        )?
        .unwrap_or(d.retained_growth),
        steady_fraction: args
            .steady
            .or(t.steady_fraction)
            .unwrap_or(d.steady_fraction),
        idle_step_objects: args
            .idle_below
            .or(t.idle_step_objects)
            .unwrap_or(d.idle_step_objects),
        idle_step_cpu_ms: args
            .idle_cpu_below
            .or(t.idle_step_cpu_ms)
            .unwrap_or(d.idle_step_cpu_ms),
        idle_step_fraction: args
            .idle_fraction
            .or(t.idle_step_fraction)
            .unwrap_or(d.idle_step_fraction),
    };
    if !(0.0..=1.0).contains(&thresholds.idle_step_fraction) {
        bail!(
            "the idle fraction must be between 0 and 1, not {}",
            thresholds.idle_step_fraction
        );
    }
    if !(0.0..=1.0).contains(&thresholds.steady_fraction) {
        bail!(
            "the steady fraction must be between 0 and 1, not {}",
            thresholds.steady_fraction
        );
    }
    Ok(thresholds)
}

/// A size from its flag, else from heapscan.toml (`key` names it in errors).
fn size_setting(flag: Option<u64>, file: Option<&Size>, key: &str) -> anyhow::Result<Option<u64>> {
    match (flag, file) {
        (Some(v), _) => Ok(Some(v)),
        (None, Some(s)) => s.bytes(key).map(Some),
        (None, None) => Ok(None),
    }
}

fn read_baseline(path: &Path) -> anyhow::Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the baseline {}", path.display()))?;
    let baseline: Baseline = serde_json::from_str(&text).with_context(|| {
        format!(
            "{}: not a heapscan baseline (make one with --write-baseline)",
            path.display()
        )
    })?;
    if baseline.version != 1 {
        bail!(
            "{}: baseline version {} is not supported (expected 1)",
            path.display(),
            baseline.version
        );
    }
    Ok(baseline)
}

/// The summary on stdout (with GitHub annotations on GitHub Actions), then the JUnit, JSON and
/// Markdown files asked for by flag or heapscan.toml.
fn write_outputs(report: &GateReport, args: &GateArgs, g: &GateSection) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    write_summary(report, &mut stdout)?;
    if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
        github_annotations(report, &mut stdout)?;
    }
    stdout.flush()?;
    drop(stdout);
    if let Some(path) = args.junit.as_ref().or(g.junit.as_ref()) {
        write_file(path, &junit(report)?)?;
    }
    if let Some(path) = args.json.as_ref().or(g.json.as_ref()) {
        write_file(path, &(serde_json::to_string_pretty(report)? + "\n"))?;
    }
    if let Some(path) = args.markdown.as_ref().or(g.markdown.as_ref()) {
        write_file(path, &markdown(report))?;
    }
    Ok(())
}
