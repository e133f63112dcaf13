//! What long library work tells the program running it: the stage it is in (for a progress
//! display and phase timings), warnings and progress lines a person should read. The library never prints;
//! the binary passes an [`Observer`] that does, and tests pass [`Quiet`].

use std::path::Path;

/// A stage of reading or analysing snapshots, announced as it starts.
#[derive(Debug, Clone, Copy)]
pub enum Stage<'a> {
    /// Reading and parsing a snapshot file.
    Reading(&'a Path),
    /// Building a snapshot's graph: one of [`crate::graph::PHASES`].
    Building(&'a Path, &'a str),
    /// Reading a snapshot's analysis from its persisted index.
    LoadingIndex(&'a Path),
    /// Reading what an earlier diff remembered of a snapshot (its digest) from the index
    /// cache.
    LoadingDigest(&'a Path),
    /// Saving a snapshot's analysis as an index.
    SavingIndex(&'a Path),
    /// Comparing digested snapshots and describing the leak suspects.
    Comparing,
}

/// Told of a library call's progress. Every method has a default that ignores it.
pub trait Observer: Sync {
    /// `stage` starts (the previous one, if any, has ended).
    fn stage(&self, _stage: Stage<'_>) {}
    /// Something the user should know that does not stop the work.
    fn warning(&self, _message: &str) {}
    /// A line of progress a person watching wants to read as it happens (a snapshot written).
    fn note(&self, _message: &str) {}
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {}
