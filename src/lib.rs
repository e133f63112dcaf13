//! heapscan: find Node.js memory leaks in V8 heap snapshots.
//!
//! Data flows one way: [`snapshot`] reads and parses a file into flat columns, [`graph`] builds
//! the retainer graph, dominators, retained sizes and distances with Chrome DevTools' rules,
//! analysis modules turn graphs into report models, and [`report`] renders those models.
//! Analysis never prints (long work reports its stages and warnings to an [`observe::Observer`]
//! the binary passes); renderers never compute. [`diff::compare`] is the one way snapshots are
//! compared, for `diff`, `gate` and `report`. Beside that pipeline, [`collect`] supervises
//! or attaches to Node.js processes to capture snapshots and GC traces (with a side file per
//! snapshot, [`provenance`], that a diff reads), and [`gc`] analyses those traces.

// Heap data lives in parallel columns indexed by node ordinal; a loop over ordinals that reads
// several columns is the clearest form, so this lint's advice does not fit here.
#![allow(clippy::needless_range_loop)]

pub mod collect;
pub mod column;
pub mod diff;
pub mod error;
pub mod gate;
pub mod gc;
pub mod graph;
pub mod index;
pub mod memory;
pub mod nodes;
pub mod observe;
pub mod paths;
pub mod provenance;
pub mod report;
pub mod report_builder;
pub mod snapshot;
pub mod strings;
pub mod summary;
pub mod units;

pub use error::Error;
