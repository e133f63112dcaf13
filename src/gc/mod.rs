//! `heapscan gc`: V8 `--trace-gc` / `--trace-gc-nvp` logs → GC events ([`parse`]) → statistics
//! and a growth verdict ([`analysis`]) → table/JSON/CSV ([`render`]) and an SVG chart
//! ([`plot`]). Reading the files is [`read_logs`]' only job; everything after is pure.

pub mod analysis;
pub mod parse;
pub mod plot;
pub mod render;

use std::path::Path;

use crate::error::Error;

/// Reads and parses each log. A folder means the `gc.log` of a `heapscan record` session in
/// it. A file that cannot be read is an error naming it.
pub fn read_logs(paths: &[impl AsRef<Path>]) -> Result<Vec<parse::ParsedLog>, Error> {
    paths
        .iter()
        .map(|p| {
            let given = p.as_ref();
            let session_log = given.join("gc.log");
            let p = if given.is_dir() {
                session_log.as_path()
            } else {
                given
            };
            let bytes = std::fs::read(p).map_err(|source| Error::Io {
                path: p.to_path_buf(),
                source,
            })?;
            Ok(parse::parse_log(&bytes, &p.display().to_string()))
        })
        .collect()
}

/// Reads the logs ([`read_logs`]) and analyses them together under `rule`: what `heapscan gc`
/// and the GC section of `heapscan report` show.
pub fn analyse_logs(
    paths: &[impl AsRef<Path>],
    rule: &analysis::GrowthRule,
) -> Result<analysis::GcReport, Error> {
    Ok(analysis::analyse(&read_logs(paths)?, rule))
}
