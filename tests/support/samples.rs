//! The bundled sample snapshots (`samples/*.heapsnapshot.gz`, real Node.js snapshots).

use std::fs;
use std::path::{Path, PathBuf};

/// `samples/<name>.heapsnapshot.gz`.
pub fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(format!("{name}.heapsnapshot.gz"))
}

/// A plain (uncompressed) copy of a sample in `dir`: `<dir>/<name>.heapsnapshot`.
pub fn plain_copy(name: &str, dir: &Path) -> PathBuf {
    let mut raw = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(fs::File::open(sample(name)).unwrap()),
        &mut raw,
    )
    .unwrap();
    let path = dir.join(format!("{name}.heapsnapshot"));
    fs::write(&path, raw).unwrap();
    path
}
