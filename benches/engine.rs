//! `cargo bench`: the engine's three stages, with throughput in bytes of snapshot text.
//!
//! - `parse`: [`Snapshot::open`] (map the file, parse the columns, index the strings);
//! - `graph`: [`HeapGraph::build`] (retainers, DevTools' flags, dominators, retained sizes,
//!   distances, class names), from a freshly parsed snapshot each time;
//! - `summary`: [`summarize`] over a built graph.
//!
//! The input is the largest bundled sample (`samples/node24.heapsnapshot.gz`, decompressed once
//! into `bench-data/`), or the file named by `HEAPSCAN_BENCH_FILE` (e.g. the ~700 MB snapshot
//! from `benches/make-big-snapshot.sh`; give plain text, as the binary would mostly see, so
//! decompression is not measured). `cargo bench -- parse` runs one stage.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

use heapscan::graph::HeapGraph;
use heapscan::snapshot::Snapshot;
use heapscan::summary::{summarize, SummaryOptions};

const DEFAULT_SAMPLE: &str = "samples/node24.heapsnapshot.gz";

/// The snapshot to measure, as plain text on disk.
fn input() -> PathBuf {
    if let Some(file) = std::env::var_os("HEAPSCAN_BENCH_FILE") {
        return PathBuf::from(file);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let gz = root.join(DEFAULT_SAMPLE);
    let out = root.join("bench-data").join("node24.heapsnapshot");
    let fresh = match (fs::metadata(&gz), fs::metadata(&out)) {
        (Ok(g), Ok(o)) => o.modified().ok() >= g.modified().ok() && o.len() > 0,
        _ => false,
    };
    if !fresh {
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(fs::File::open(&gz).expect("open the bundled sample"))
            .read_to_end(&mut text)
            .expect("decompress the bundled sample");
        fs::create_dir_all(out.parent().expect("bench-data has a parent"))
            .expect("create bench-data/");
        let tmp = out.with_extension("partial");
        fs::write(&tmp, &text).expect("write the decompressed sample");
        fs::rename(&tmp, &out).expect("rename the decompressed sample");
    }
    out
}

fn engine(c: &mut Criterion) {
    let path = input();
    let bytes = fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .len();
    let name = path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let open = || Snapshot::open(&path).unwrap_or_else(|e| panic!("{e}"));

    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Bytes(bytes));
    // Few samples, short windows: a big snapshot takes seconds per iteration.
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));

    group.bench_function(format!("parse/{name}"), |b| b.iter(open));
    group.bench_function(format!("graph/{name}"), |b| {
        b.iter_batched(
            open,
            |snapshot| HeapGraph::build(snapshot, &|_| {}),
            BatchSize::PerIteration,
        )
    });
    let graph = HeapGraph::build(open(), &|_| {});
    let options = SummaryOptions {
        dominators: 10,
        ..SummaryOptions::default()
    };
    group.bench_function(format!("summary/{name}"), |b| {
        b.iter(|| summarize(&graph, &name, &options))
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
