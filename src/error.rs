//! The library's error type. Every message names the file, says what is wrong, and where there
//! is one, what the user can do about it; the binary maps every error to exit code 2.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or analysing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read. The message leaves the OS error to `source`, so
    /// that printing the chain (`{:#}`) says it once.
    #[error("{}: {}", path.display(), io_problem(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a heap snapshot we can read; `problem` says why and what to do.
    #[error("{}: {problem}", path.display())]
    BadSnapshot { path: PathBuf, problem: String },
    /// An input other than a snapshot (a GC log, an option's value) is unusable; says why.
    #[error("{}: {problem}", path.display())]
    BadInput { path: PathBuf, problem: String },
    /// A comparison was given fewer than two snapshots.
    #[error("a comparison needs two or more snapshots of one process, oldest first (got {got}); take a series with `heapscan snap --pid PID --count 3 --every 30s`, with the app under load in between")]
    TooFewSnapshots { got: usize },
    /// A request made of a valid snapshot cannot be answered (e.g. an unknown node id).
    #[error("{0}")]
    Query(String),
}

impl Error {
    pub(crate) fn bad_input(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadInput {
            path: path.into(),
            problem: problem.into(),
        }
    }

    pub(crate) fn bad(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadSnapshot {
            path: path.into(),
            problem: problem.into(),
        }
    }
}

/// What went wrong opening or reading a file, and what to do, without the OS error's own text.
fn io_problem(error: &std::io::Error) -> &'static str {
    match error.kind() {
        std::io::ErrorKind::NotFound => "cannot open the file (check the path)",
        std::io::ErrorKind::PermissionDenied => {
            "cannot read the file: permission denied (run heapscan as a user who may read it, or change its permissions)"
        }
        _ => "cannot read the file",
    }
}
