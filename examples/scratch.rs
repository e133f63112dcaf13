fn main() {
    for p in std::env::args().skip(1) {
        let t = std::time::Instant::now();
        match heapscan::snapshot::Snapshot::open(std::path::Path::new(&p)) {
            Ok(s) => println!("{p}: {} nodes {} edges {} strings {} locations, {:?}; types {:?}", s.node_count(), s.edge_count(), s.strings.len(), s.locations.len(), t.elapsed(), s.layout.node_type_names),
            Err(e) => println!("ERR {e}"),
        }
    }
}
