//! Command implementations for the binary: each submodule turns its clap arguments into library
//! calls and hands the resulting report model to a renderer. Shared helpers for output files
//! and exit codes live here.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

pub mod diff;
pub mod gate;
pub mod gc;
pub mod index;
pub mod nodes;
pub mod progress;
pub mod record;
pub mod report;
pub mod retainers;
pub mod snap;
pub mod summary;

/// The result of a command: the exit code it wants (0 ok, 1 verdict failed) or an error (2).
pub type Outcome = anyhow::Result<ExitCode>;

/// For the commands that may save an index or a digest: on Ctrl-C (SIGINT), SIGTERM or
/// SIGHUP, the files this process began in the cache are removed, then the signal ends the
/// process as it would have (its exit status says which signal), rather than leaving a
/// partial file of up to the snapshot's size until a later command's save removes it.
/// A signal the process was started ignoring (a background job of a non-interactive shell
/// ignores Ctrl-C; `nohup` ignores SIGHUP) stays ignored.
pub fn remove_unfinished_indexes_on_signal() {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let watched = [SIGINT, SIGTERM, SIGHUP]
        .into_iter()
        .filter(|&s| !ignored(s));
    let Ok(mut signals) = signal_hook::iterator::Signals::new(watched) else {
        // Without the handler, a later save still removes what an interrupted one left.
        return;
    };
    let spawned = std::thread::Builder::new()
        .name("heapscan-signals".into())
        .spawn(move || {
            if let Some(signal) = signals.forever().next() {
                heapscan::index::remove_unfinished();
                let _ = signal_hook::low_level::emulate_default_handler(signal);
                signal_hook::low_level::exit(128 + signal);
            }
        });
    drop(spawned);
}

/// Whether `signal` is ignored (its disposition is `SIG_IGN`).
fn ignored(signal: libc::c_int) -> bool {
    // SAFETY: a null new action only reads the current one into `current`, a plain struct
    // that all zeroes initialise.
    unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    }
}

/// Maps a command's outcome to the process exit code, printing the error chain on one line.
/// A broken pipe on stdout (the reader went away) ends the program quietly with 0.
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(code) => code,
        Err(err) => {
            if err.chain().any(is_broken_pipe) {
                return ExitCode::SUCCESS;
            }
            eprintln!("heapscan: error: {err:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether `error` is, or wraps, a broken pipe. Writers that wrap I/O errors in their own
/// (the csv crate's) hide it inside an `io::Error` of another kind, so wrapped errors are
/// looked into too.
fn is_broken_pipe(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            if io.kind() == io::ErrorKind::BrokenPipe {
                return true;
            }
            if let Some(inner) = io.get_ref() {
                if is_broken_pipe(inner) {
                    return true;
                }
            }
        }
        if let Some(csv) = e.downcast_ref::<csv::Error>() {
            if let csv::ErrorKind::Io(io) = csv.kind() {
                if io.kind() == io::ErrorKind::BrokenPipe {
                    return true;
                }
            }
        }
        next = e.source();
    }
    false
}

/// Opens the destination named by `-o`: `None` or `-` is stdout, anything else a file created
/// (or truncated) at that path.
pub fn open_output(path: Option<&Path>) -> anyhow::Result<Box<dyn Write>> {
    match path {
        None => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        Some(p) if p == Path::new("-") => Ok(Box::new(BufWriter::new(io::stdout().lock()))),
        Some(p) => {
            let file = File::create(p)
                .with_context(|| format!("cannot create output file {}", p.display()))?;
            Ok(Box::new(BufWriter::new(file)))
        }
    }
}
