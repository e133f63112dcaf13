//! Progress on stderr for long work: an indicatif spinner naming the current phase, shown only
//! when stderr is a terminal (so logs and CI output stay clean).

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use heapscan::graph::HeapGraph;
use heapscan::snapshot::Snapshot;

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

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// Reads and analyses one snapshot with progress shown.
pub fn load_graph(path: &Path) -> heapscan::error::Result<HeapGraph> {
    let progress = Progress::new();
    let name = path.display().to_string();
    progress.phase(format!("{name}: reading"));
    let snapshot = Snapshot::open(path)?;
    let graph = HeapGraph::build(snapshot, &|phase| {
        progress.phase(format!("{name}: {phase}"))
    });
    progress.finish();
    Ok(graph)
}
