//! heapscan: find Node.js memory leaks in V8 heap snapshots.
//!
//! Data flows one way: [`snapshot`] reads and parses a file into flat columns, [`graph`] builds
//! the retainer graph, dominators, retained sizes and distances with Chrome DevTools' rules,
//! analysis modules turn graphs into report models, and [`report`] renders those models.
//! Analysis never prints; renderers never compute.

// Heap data lives in parallel columns indexed by node ordinal; a loop over ordinals that reads
// several columns is the clearest form, so this lint's advice does not fit here.
#![allow(clippy::needless_range_loop)]

pub mod error;

pub use error::Error;
pub mod diff;
pub mod gate;
pub mod graph;
pub mod paths;
pub mod report;
pub mod report_builder;
pub mod snapshot;
pub mod strings;
pub mod summary;
pub mod units;
