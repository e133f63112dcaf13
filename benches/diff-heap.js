'use strict';
// One process, three heap snapshots, growing in between: the input of the `heapscan diff`
// benchmark (issue 4, item 5).
//
//   node --max-old-space-size=8192 benches/diff-heap.js OUT_PREFIX [OBJECTS] [GROWTH]
//
// Builds the same kind of random object graph as big-heap.js (OBJECTS records, default
// 1,870,000: 735 MB on Node 20), writes OUT_PREFIX-1.heapsnapshot, then twice adds
// GROWTH records (default 60,000, ~22 MB of snapshot each) to a module-level Map that is never
// evicted (a real leak for `heapscan diff` to find) and writes OUT_PREFIX-2 and -3. All three
// snapshots come from this one process, so their object ids carry over (same_process: true).
// Each file is written as OUT.partial and renamed when complete.

const fs = require('fs');
const v8 = require('v8');

const prefix = process.argv[2];
const total = Number(process.argv[3] || process.env.HEAPSCAN_BENCH_OBJECTS || 1870000);
const growth = Number(process.argv[4] || process.env.HEAPSCAN_BENCH_GROWTH || 60000);
if (!prefix || !Number.isInteger(total) || total < 1 || !Number.isInteger(growth) || growth < 0) {
  console.error('usage: node diff-heap.js OUT_PREFIX [OBJECTS] [GROWTH]');
  process.exit(2);
}

const { buildRandomHeap, pick } = require('./random-heap.js');

const roots = buildRandomHeap(total);

// The leak: entries made per "request" and kept forever.
const requestCache = new Map();
let seq = 0;
function makeEntry(n) {
  return { id: n, url: '/req/' + n, owner: roots[pick(roots.length)], tags: ['t' + (n % 13), n] };
}
function grow(n) {
  for (let i = 0; i < n; i++) {
    seq += 1;
    requestCache.set('req-' + seq, makeEntry(seq));
  }
}

function snapshot(k) {
  const out = `${prefix}-${k}.heapsnapshot`;
  const tmp = `${out}.partial`;
  const used = process.memoryUsage().heapUsed;
  const started = Date.now();
  v8.writeHeapSnapshot(tmp);
  fs.renameSync(tmp, out);
  console.error(`diff-heap: ${out}: heap used ${(used / 1048576).toFixed(0)} MB, ` +
    `${requestCache.size} cached entries, written in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

grow(growth); // warm-up: the leak is already there at the first snapshot
snapshot(1);
grow(growth);
snapshot(2);
grow(growth);
snapshot(3);
