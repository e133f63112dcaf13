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
            let broken_pipe = err.chain().any(|cause| {
                cause
                    .downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            });
            if broken_pipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("heapscan: error: {err:#}");
            ExitCode::from(2)
        }
    }
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
