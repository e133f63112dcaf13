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
