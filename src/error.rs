//! The library's error type. Every message names the file, says what is wrong, and where there
//! is one, what the user can do about it; the binary maps every error to exit code 2.

use std::path::PathBuf;

/// Result alias for the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading or analysing a snapshot.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file is not a heap snapshot we can read; `problem` says why and what to do.
    #[error("{}: {problem}", path.display())]
    BadSnapshot { path: PathBuf, problem: String },
    /// A request made of a valid snapshot cannot be answered (e.g. an unknown node id).
    #[error("{0}")]
    Query(String),
}

impl Error {
    pub(crate) fn bad(path: impl Into<PathBuf>, problem: impl Into<String>) -> Self {
        Error::BadSnapshot {
            path: path.into(),
            problem: problem.into(),
        }
    }
}
