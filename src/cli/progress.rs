//! Progress on stderr for long work: an indicatif spinner naming the current phase, shown only
//! when stderr is a terminal (so logs and CI output stay clean). With `HEAPSCAN_TIMINGS=1`,
//! each phase's wall time and the process's memory are also printed on stderr as it ends
//! (for benchmarks: `benches/compare.sh`).

use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use heapscan::graph::{Columns, HeapGraph};
use heapscan::observe::{Observer, Stage};

/// A spinner that is hidden when stderr is not a terminal.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    pub fn new() -> Progress {
        let bar = if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed:>3} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress { bar }
    }

    pub fn phase(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// Runs `f` (which prints) with the spinner hidden, so lines do not mix with it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// The binary's [`Observer`]: a spinner naming the stage, the stage's `HEAPSCAN_TIMINGS`
/// phase, and warnings on stderr (with the spinner out of the way).
pub struct Shown {
    progress: Progress,
}

impl Shown {
    pub fn new() -> Shown {
        Shown {
            progress: Progress::new(),
        }
    }
}

impl Observer for Shown {
    fn stage(&self, stage: Stage<'_>) {
        match stage {
            Stage::Reading(path) => {
                timing(Some("read+parse"));
                self.progress.phase(format!("{}: reading", path.display()));
            }
            Stage::Building(path, phase) => {
                timing(Some(phase));
                self.progress.phase(format!("{}: {phase}", path.display()));
            }
            Stage::LoadingIndex(path) => {
                timing(Some("load-index"));
                self.progress
                    .phase(format!("{}: reading its index", path.display()));
            }
            Stage::LoadingDigest(path) => {
                timing(Some("load-digest"));
                self.progress
                    .phase(format!("{}: reading its diff digest", path.display()));
            }
            Stage::SavingIndex(path) => {
                timing(Some("save-index"));
                self.progress
                    .phase(format!("{}: saving its index", path.display()));
            }
            Stage::Comparing => {
                timing(Some("digest+suspects"));
                self.progress.phase("comparing");
            }
        }
    }

    fn warning(&self, message: &str) {
        self.progress
            .suspend(|| eprintln!("heapscan: warning: {message}"));
    }

    fn note(&self, message: &str) {
        self.progress.suspend(|| eprintln!("heapscan: {message}"));
    }
}

/// An [`Observer`] for commands that print as they go (no spinner): warnings and progress
/// lines on stderr.
pub struct Lines;

impl Observer for Lines {
    fn warning(&self, message: &str) {
        eprintln!("heapscan: warning: {message}");
    }

    fn note(&self, message: &str) {
        eprintln!("heapscan: {message}");
    }
}

/// Reads and analyses one snapshot with progress shown (from its index when it has one), and
/// runs `work` on it. A damaged index is removed and the snapshot read again
/// ([`heapscan::index::recover`]), so `work` may run twice: it computes, it does not print.
pub fn with_graph<T>(
    path: &Path,
    columns: Columns,
    index: &super::index::IndexArgs,
    mut work: impl FnMut(&HeapGraph) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let shown = Shown::new();
    let cache = index.cache();
    heapscan::index::recover(cache.as_ref(), &shown, |cache| {
        let mut graph = HeapGraph::open(path, columns, cache, &shown)?;
        let saving = graph.take_saving();
        let answer = work(&graph);
        if let Some(mut saving) = saving {
            saving.seal(&graph);
            shown.stage(Stage::SavingIndex(path));
            saving.wait_noting(&shown);
        }
        answer
    })
}

/// The running phase of `HEAPSCAN_TIMINGS`: when the command started, when the phase did.
struct Clock {
    start: Instant,
    phase_start: Instant,
    phase: String,
}

static CLOCK: Mutex<Option<Clock>> = Mutex::new(None);

/// `HEAPSCAN_TIMINGS=1`: ends the current phase (printing its wall time, the resident set and
/// its peak so far) and starts `next`; `None` ends the last phase and prints the total.
pub fn timing(next: Option<&str>) {
    static ON: OnceLock<bool> = OnceLock::new();
    if !*ON.get_or_init(|| std::env::var_os("HEAPSCAN_TIMINGS").is_some_and(|v| v != "0")) {
        return;
    }
    let now = Instant::now();
    let mut clock = CLOCK.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(c) = clock.as_mut() {
        let Memory {
            rss,
            peak,
            file_pages,
        } = memory_mb();
        eprintln!(
            "timing: {:<12} {:>8.3} s   rss {rss:>6} MB   peak {peak:>6} MB   file {file_pages:>5} MB",
            c.phase,
            (now - c.phase_start).as_secs_f64()
        );
        c.phase_start = now;
        if next.is_none() {
            eprintln!(
                "timing: {:<12} {:>8.3} s",
                "total",
                (now - c.start).as_secs_f64()
            );
        }
    }
    *clock = match (next, clock.take()) {
        (None, _) => None,
        (Some(phase), Some(c)) => Some(Clock {
            phase: phase.to_owned(),
            ..c
        }),
        (Some(phase), None) => Some(Clock {
            start: now,
            phase_start: now,
            phase: phase.to_owned(),
        }),
    };
}

/// The resident set in MiB, from /proc (0 where it is missing).
struct Memory {
    /// `VmRSS`: resident now.
    rss: u64,
    /// `VmHWM`: the peak so far.
    peak: u64,
    /// `RssFile`: of `rss`, pages of mapped files (the snapshot's text still resident).
    file_pages: u64,
}

/// Current and peak resident set, and the mapped files' share of it.
fn memory_mb() -> Memory {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb / 1024)
    };
    Memory {
        rss: field("VmRSS:"),
        peak: field("VmHWM:"),
        file_pages: field("RssFile:"),
    }
}
