// An ES module that snapshots itself right away: `node esm-early.mjs DIR` writes
// DIR/early-1.heapsnapshot before it allocates anything, then twice keeps 2,000 more
// `EsmRecord`s and writes DIR/early-2 and early-3, and exits. Taken this early (before a
// scavenge has replaced the module URL's flattened cons string by its flat content), Node 16
// writes the Script's `name` edge to a `(concatenated string)` node: heapscan must still name
// this file.
import v8 from 'v8';
import path from 'path';

const dir = process.argv[2];
const kept = [];

class EsmRecord {
  constructor(i) { // heapscan-expect: class esm
    this.id = i;
    this.samples = new Array(64).fill(i);
  }
}

function keepMore(n) {
  for (let i = 0; i < n; i++) kept.push(new EsmRecord(kept.length));
}

v8.writeHeapSnapshot(path.join(dir, 'early-1.heapsnapshot'));
keepMore(2000);
v8.writeHeapSnapshot(path.join(dir, 'early-2.heapsnapshot'));
keepMore(2000);
v8.writeHeapSnapshot(path.join(dir, 'early-3.heapsnapshot'));
globalThis.kept = kept;
