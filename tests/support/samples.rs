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

/// `COPIES` copies of the snapshot `args[0]` side by side in `args[1]` (with `extra`
/// arguments), by the scale benchmark's input maker: the example binary, beside this test's
/// own executable (`target/<profile>/examples`).
pub fn replicate(args: &[&Path], copies: &str, extra: &[&str]) {
    let deps = std::env::current_exe().unwrap();
    let exe = deps
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .join("examples")
        .join("replicate-snapshot");
    assert!(
        exe.exists(),
        "{} was not built: `cargo test` builds it, `cargo test --test replicate` does not (build it with `cargo build --example replicate-snapshot` and the same profile)",
        exe.display()
    );
    let out = std::process::Command::new(&exe)
        .arg(args[0])
        .arg(copies)
        .arg(args[1])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
