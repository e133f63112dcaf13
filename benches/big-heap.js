'use strict';
// Builds a large, random object graph (random-heap.js) and writes one V8 heap snapshot of it.
//
//   node --max-old-space-size=8192 benches/big-heap.js OUT.heapsnapshot [OBJECTS]
//
// OBJECTS (default 1,870,000) records of random-heap.js's seeded random graph.
// The default is tuned so that Node 20 writes the snapshot of issue 3's benchmark: ~700 MB,
// ~8.4 M nodes, ~27.5 M edges (each record costs ~4.5 nodes, ~14.7 edges, ~363 bytes).

const v8 = require('v8');

const out = process.argv[2];
const total = Number(process.argv[3] || process.env.HEAPSCAN_BENCH_OBJECTS || 1870000);
if (!out || !Number.isInteger(total) || total < 1) {
  console.error('usage: node big-heap.js OUT.heapsnapshot [OBJECTS]');
  process.exit(2);
}

const { buildRandomHeap } = require('./random-heap.js');

buildRandomHeap(total);

const used = process.memoryUsage().heapUsed;
console.error(`big-heap: ${total} records, heap used ${(used / 1048576).toFixed(0)} MB; writing ${out}`);
const started = Date.now();
v8.writeHeapSnapshot(out);
console.error(`big-heap: snapshot written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
